DROP VIEW chatgraph_organization_permissions;
DROP VIEW chatgraph_project_permissions;
DROP VIEW chatgraph_organization_readers;
DROP VIEW chatgraph_project_readers;

DROP TRIGGER projects_organization_moved ON projects;
DROP FUNCTION chatgraph_project_organization_moved();
DROP TRIGGER project_members_organization ON project_members;
DROP FUNCTION chatgraph_project_member_organization();
ALTER TABLE project_members DROP COLUMN organization_id;
