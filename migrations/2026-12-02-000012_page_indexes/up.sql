-- One index per paginated list (src/models/lists.rs): the parent column, the sort key, then
-- the id column, so that each parent's page is an index range scan of `size + 1` rows in
-- either direction, whatever the list's length. Indexes these replace (same leading columns,
-- without the id) are dropped.

DROP INDEX chats_project_id_last_message_at_idx;
DROP INDEX messages_chat_id_created_at_idx;

CREATE INDEX organizations_page_idx ON organizations (created_at, id);
CREATE INDEX projects_organization_page_idx ON projects (organization_id, created_at, id);
CREATE INDEX organization_members_page_idx ON organization_members (organization_id, joined_at, user_id);
CREATE INDEX organization_invitations_page_idx ON organization_invitations (organization_id, created_at, id);
CREATE INDEX project_members_page_idx ON project_members (project_id, joined_at, user_id);

-- Chats by last activity (the default order) and by creation, per project and per owner.
CREATE INDEX chats_project_activity_page_idx ON chats (project_id, (coalesce(last_message_at, created_at)), id);
CREATE INDEX chats_user_activity_page_idx ON chats (user_id, (coalesce(last_message_at, created_at)), id);
CREATE INDEX chats_project_created_page_idx ON chats (project_id, created_at, id);

CREATE INDEX messages_chat_page_idx ON messages (chat_id, created_at, id);
CREATE INDEX message_feedback_message_page_idx ON message_feedback (message_id, created_at, id);
CREATE INDEX assistants_project_page_idx ON assistants (project_id, created_at, id);
CREATE INDEX datasources_project_page_idx ON datasources (project_id, created_at, id);
CREATE INDEX documents_project_page_idx ON documents (project_id, created_at, id);
CREATE INDEX document_chunks_document_page_idx ON document_chunks (document_id, chunk_index, id);
CREATE INDEX files_project_page_idx ON files (project_id, created_at, id);
CREATE INDEX artifacts_project_page_idx ON artifacts (project_id, created_at, id);
CREATE INDEX artifacts_chat_page_idx ON artifacts (chat_id, created_at, id);
CREATE INDEX artifact_suggestions_artifact_page_idx ON artifact_suggestions (artifact_id, created_at, id);
CREATE INDEX repositories_user_page_idx ON repositories (user_id, created_at, id);
CREATE INDEX usage_events_organization_page_idx ON usage_events (organization_id, requested_at, id);
CREATE INDEX usage_events_project_page_idx ON usage_events (project_id, requested_at, id);
CREATE INDEX audit_logs_organization_page_idx ON audit_logs (organization_id, created_at, id);
CREATE INDEX audit_logs_project_page_idx ON audit_logs (project_id, created_at, id);
CREATE INDEX analytics_events_project_page_idx ON analytics_events (project_id, occurred_at, id);
CREATE INDEX webhook_subscriptions_project_page_idx ON webhook_subscriptions (project_id, created_at, id);
CREATE INDEX jobs_project_page_idx ON jobs (project_id, created_at, id);
