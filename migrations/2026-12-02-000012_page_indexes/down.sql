DROP INDEX organizations_page_idx, projects_organization_page_idx, organization_members_page_idx,
    organization_invitations_page_idx, project_members_page_idx, chats_project_activity_page_idx,
    chats_user_activity_page_idx, chats_project_created_page_idx, messages_chat_page_idx,
    message_feedback_message_page_idx, assistants_project_page_idx, datasources_project_page_idx,
    documents_project_page_idx, document_chunks_document_page_idx, files_project_page_idx,
    artifacts_project_page_idx, artifacts_chat_page_idx, artifact_suggestions_artifact_page_idx,
    repositories_user_page_idx, usage_events_organization_page_idx, usage_events_project_page_idx,
    audit_logs_organization_page_idx, audit_logs_project_page_idx, analytics_events_project_page_idx,
    webhook_subscriptions_project_page_idx, jobs_project_page_idx;

CREATE INDEX chats_project_id_last_message_at_idx ON chats (project_id, last_message_at DESC);
CREATE INDEX messages_chat_id_created_at_idx ON messages (chat_id, created_at);
