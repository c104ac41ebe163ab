-- Where a user holds a permission, for read conditions that depend on more than visibility
-- (usage needs `usage.read`, audit logs `audit.read`, webhooks `project.update`). The same
-- rule as the application's write checks: the union of the permissions of the user's
-- organization role and project role. Platform roles are checked by the caller (a platform
-- admin sees everything). Used as `x IN (SELECT ...)`, so PostgreSQL evaluates it once per
-- statement, not per row.

CREATE FUNCTION chatgraph_projects_permitting(p_user uuid, p_permission text) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT p.id
    FROM organization_members m
    JOIN role_permissions rp ON rp.role_id = m.role_id
    JOIN permissions x ON x.id = rp.permission_id AND x.name = p_permission
    JOIN projects p ON p.organization_id = m.organization_id AND p.deleted_at IS NULL
    WHERE m.user_id = p_user
    UNION
    SELECT m.project_id
    FROM project_members m
    JOIN role_permissions rp ON rp.role_id = m.role_id
    JOIN permissions x ON x.id = rp.permission_id AND x.name = p_permission
    WHERE m.user_id = p_user
$$;

CREATE FUNCTION chatgraph_organizations_permitting(p_user uuid, p_permission text) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT m.organization_id
    FROM organization_members m
    JOIN role_permissions rp ON rp.role_id = m.role_id
    JOIN permissions x ON x.id = rp.permission_id AND x.name = p_permission
    WHERE m.user_id = p_user
$$;
