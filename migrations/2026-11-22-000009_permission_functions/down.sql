DROP FUNCTION chatgraph_organizations_permitting(uuid, text);
DROP FUNCTION chatgraph_projects_permitting(uuid, text);
