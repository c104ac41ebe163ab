-- Who may read which project and organization, as views that read statements join by key
-- (`EXISTS (… WHERE r.project_id = … AND r.user_id = …)`: a few primary-key probes), so that
-- no request ships the list of everything its caller may see, and its cost does not grow with
-- the number of projects the caller works in. The rules of src/auth/authz.rs: a user reads the
-- live projects (of live organizations) they are a member of, and every live project of a
-- live organization where their organization role grants `project.read`; they see the
-- organizations they belong to and those of the projects they read.

CREATE VIEW chatgraph_project_readers AS
    SELECT p.id AS project_id, p.organization_id, pm.user_id
    FROM project_members pm
    JOIN projects p ON p.id = pm.project_id AND p.deleted_at IS NULL
    JOIN organizations o ON o.id = p.organization_id AND o.deleted_at IS NULL
    UNION ALL
    SELECT p.id, p.organization_id, m.user_id
    FROM organization_members m
    JOIN organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL
    JOIN projects p ON p.organization_id = m.organization_id AND p.deleted_at IS NULL
    WHERE EXISTS (
        SELECT 1 FROM role_permissions rp JOIN permissions x ON x.id = rp.permission_id
        WHERE rp.role_id = m.role_id AND x.name = 'project.read'
    );

CREATE VIEW chatgraph_organization_readers AS
    SELECT m.organization_id, m.user_id
    FROM organization_members m
    JOIN organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL
    UNION ALL
    SELECT p.organization_id, pm.user_id
    FROM project_members pm
    JOIN projects p ON p.id = pm.project_id AND p.deleted_at IS NULL
    JOIN organizations o ON o.id = p.organization_id AND o.deleted_at IS NULL;

-- Which permissions a user holds where (the union of their organization and project roles,
-- as src/auth/grant.rs computes for writes), for reads that need more than seeing the place:
-- usage (`usage.read`), audit logs (`audit.read`), webhooks and jobs (`project.update`),
-- invitations (`members.manage`).
CREATE VIEW chatgraph_project_permissions AS
    SELECT p.id AS project_id, m.user_id, x.name AS permission
    FROM organization_members m
    JOIN projects p ON p.organization_id = m.organization_id AND p.deleted_at IS NULL
    JOIN role_permissions rp ON rp.role_id = m.role_id
    JOIN permissions x ON x.id = rp.permission_id
    UNION ALL
    SELECT pm.project_id, pm.user_id, x.name
    FROM project_members pm
    JOIN role_permissions rp ON rp.role_id = pm.role_id
    JOIN permissions x ON x.id = rp.permission_id;

CREATE VIEW chatgraph_organization_permissions AS
    SELECT m.organization_id, m.user_id, x.name AS permission
    FROM organization_members m
    JOIN role_permissions rp ON rp.role_id = m.role_id
    JOIN permissions x ON x.id = rp.permission_id;
