-- Who may read which project and organization, as views that read statements join by key
-- (`EXISTS (… WHERE r.project_id = … AND r.user_id = …)`: a few primary-key probes), so that
-- no request ships the list of everything its caller may see, and its cost does not grow with
-- the number of projects the caller works in. The rules of src/auth/authz.rs: a user reads the
-- live projects (of live organizations) they are a member of, and every live project of a
-- live organization where their organization role grants `project.read`; they see the
-- organizations they belong to and those of the projects they read.

-- A project member's organization, kept on the membership (filled and followed by triggers),
-- so that "is this user a member of a project of this organization" is one index probe rather
-- than a walk over the organization's projects or the user's memberships.
ALTER TABLE project_members ADD COLUMN organization_id uuid;
UPDATE project_members pm SET organization_id = p.organization_id FROM projects p WHERE p.id = pm.project_id;
ALTER TABLE project_members ALTER COLUMN organization_id SET NOT NULL,
    ADD CONSTRAINT project_members_organization_id_fkey
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE;
CREATE INDEX project_members_organization_user_idx ON project_members (organization_id, user_id);

CREATE FUNCTION chatgraph_project_member_organization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT organization_id INTO NEW.organization_id FROM projects WHERE id = NEW.project_id;
    RETURN NEW;
END $$;
CREATE TRIGGER project_members_organization BEFORE INSERT OR UPDATE OF project_id, organization_id
    ON project_members FOR EACH ROW EXECUTE FUNCTION chatgraph_project_member_organization();

CREATE FUNCTION chatgraph_project_organization_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE project_members SET organization_id = NEW.organization_id WHERE project_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER projects_organization_moved AFTER UPDATE OF organization_id ON projects
    FOR EACH ROW WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id)
    EXECUTE FUNCTION chatgraph_project_organization_moved();

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
    SELECT pm.organization_id, pm.user_id
    FROM project_members pm
    JOIN projects p ON p.id = pm.project_id AND p.deleted_at IS NULL
    JOIN organizations o ON o.id = pm.organization_id AND o.deleted_at IS NULL;

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
