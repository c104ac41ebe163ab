// @generated automatically by Diesel CLI.

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    analytics_events (id) {
        id -> Uuid,
        project_id -> Uuid,
        user_id -> Nullable<Uuid>,
        chat_id -> Nullable<Uuid>,
        name -> Text,
        properties -> Jsonb,
        occurred_at -> Timestamptz,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    api_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        organization_id -> Nullable<Uuid>,
        name -> Text,
        token_prefix -> Text,
        token_hash -> Bytea,
        scopes -> Array<Text>,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    artifact_suggestions (id) {
        id -> Uuid,
        artifact_id -> Uuid,
        artifact_created_at -> Timestamptz,
        user_id -> Uuid,
        original_text -> Text,
        suggested_text -> Text,
        description -> Nullable<Text>,
        is_resolved -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    artifacts (id, created_at) {
        id -> Uuid,
        created_at -> Timestamptz,
        project_id -> Uuid,
        chat_id -> Nullable<Uuid>,
        user_id -> Uuid,
        title -> Text,
        kind -> Text,
        content -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    assistant_datasources (assistant_id, datasource_id) {
        assistant_id -> Uuid,
        datasource_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    assistants (id) {
        id -> Uuid,
        organization_id -> Nullable<Uuid>,
        project_id -> Nullable<Uuid>,
        name -> Text,
        description -> Text,
        instructions -> Text,
        provider -> Text,
        model -> Text,
        temperature -> Nullable<Float8>,
        tools -> Jsonb,
        external_id -> Nullable<Text>,
        is_active -> Bool,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    audit_logs (id) {
        id -> Uuid,
        organization_id -> Nullable<Uuid>,
        project_id -> Nullable<Uuid>,
        actor_user_id -> Nullable<Uuid>,
        api_token_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        details -> Jsonb,
        ip_address -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        status -> Text,
        error_message -> Nullable<Text>,
        created_at -> Timestamptz,
        chat_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    chats (id) {
        id -> Uuid,
        project_id -> Uuid,
        user_id -> Uuid,
        assistant_id -> Nullable<Uuid>,
        title -> Text,
        model -> Nullable<Text>,
        visibility -> Text,
        is_starred -> Bool,
        is_default -> Bool,
        external_id -> Nullable<Text>,
        last_context -> Nullable<Jsonb>,
        total_input_tokens -> Int8,
        total_output_tokens -> Int8,
        total_cost -> Numeric,
        last_message_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    credentials (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        credential_type -> Text,
        encrypted_data -> Bytea,
        key_version -> Int4,
        created_by -> Nullable<Uuid>,
        last_used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    datasources (id) {
        id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        kind -> Text,
        config -> Jsonb,
        credential_id -> Nullable<Uuid>,
        status -> Text,
        last_synced_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        embedding_model -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    document_chunks (id) {
        id -> Uuid,
        document_id -> Uuid,
        project_id -> Uuid,
        chunk_index -> Int4,
        content -> Text,
        token_count -> Int4,
        embedding -> Nullable<Vector>,
        embedding_model -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    documents (id) {
        id -> Uuid,
        project_id -> Uuid,
        datasource_id -> Nullable<Uuid>,
        external_id -> Nullable<Text>,
        title -> Text,
        source_url -> Nullable<Text>,
        content -> Text,
        content_hash -> Nullable<Text>,
        mime_type -> Nullable<Text>,
        metadata -> Jsonb,
        status -> Text,
        indexed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        index_error -> Nullable<Text>,
        origin -> Text,
        file_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    email_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        email -> Text,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    error_logs (id) {
        id -> Uuid,
        request_id -> Nullable<Text>,
        user_id -> Nullable<Uuid>,
        operation -> Nullable<Text>,
        path -> Nullable<Text>,
        code -> Text,
        message -> Text,
        details -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    file_attachments (id) {
        id -> Uuid,
        file_id -> Uuid,
        assistant_id -> Nullable<Uuid>,
        chat_id -> Nullable<Uuid>,
        message_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    files (id) {
        id -> Uuid,
        organization_id -> Uuid,
        project_id -> Nullable<Uuid>,
        uploaded_by -> Nullable<Uuid>,
        filename -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        sha256 -> Text,
        storage_key -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        chat_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    jobs (id) {
        id -> Uuid,
        project_id -> Nullable<Uuid>,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        priority -> Int4,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        result -> Nullable<Jsonb>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        unique_key -> Nullable<Text>,
        progress -> Nullable<Jsonb>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    mcp_servers (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        url -> Text,
        credential_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    message_citations (id) {
        id -> Uuid,
        message_id -> Uuid,
        position -> Int4,
        document_id -> Uuid,
        chunk_id -> Nullable<Uuid>,
        score -> Float8,
        excerpt -> Text,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    message_feedback (id) {
        id -> Uuid,
        message_id -> Uuid,
        chat_id -> Uuid,
        user_id -> Uuid,
        is_upvoted -> Nullable<Bool>,
        rating -> Nullable<Int2>,
        comment -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    message_streams (id) {
        id -> Uuid,
        chat_id -> Uuid,
        message_id -> Uuid,
        status -> Text,
        last_seq -> Int4,
        error -> Nullable<Text>,
        finished_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    messages (id) {
        id -> Uuid,
        chat_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        role -> Text,
        content -> Text,
        parts -> Jsonb,
        content_raw -> Nullable<Jsonb>,
        attachments -> Jsonb,
        status -> Text,
        finish_reason -> Nullable<Text>,
        error -> Nullable<Text>,
        model -> Nullable<Text>,
        provider -> Nullable<Text>,
        input_tokens -> Nullable<Int4>,
        output_tokens -> Nullable<Int4>,
        cached_input_tokens -> Nullable<Int4>,
        cost -> Nullable<Numeric>,
        confidence -> Nullable<Float8>,
        is_context_file -> Bool,
        external_id -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    organization_invitations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        email -> Text,
        role_id -> Uuid,
        role_scope -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    organization_members (organization_id, user_id) {
        organization_id -> Uuid,
        user_id -> Uuid,
        role_id -> Uuid,
        role_scope -> Text,
        invited_by -> Nullable<Uuid>,
        joined_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        plan -> Text,
        status -> Text,
        is_personal -> Bool,
        stripe_customer_id -> Nullable<Text>,
        metadata -> Jsonb,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    permissions (id) {
        id -> Uuid,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    platform_configs (id) {
        id -> Uuid,
        key -> Text,
        value -> Jsonb,
        description -> Text,
        updated_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    project_members (project_id, user_id) {
        project_id -> Uuid,
        user_id -> Uuid,
        role_id -> Uuid,
        role_scope -> Text,
        added_by -> Nullable<Uuid>,
        joined_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        organization_id -> Uuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    project_quotas (project_id) {
        project_id -> Uuid,
        tokens_limit -> Nullable<Int8>,
        tokens_used -> Int8,
        requests_limit -> Nullable<Int8>,
        requests_used -> Int8,
        storage_limit_bytes -> Nullable<Int8>,
        storage_used_bytes -> Int8,
        period -> Text,
        reset_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    project_settings (project_id) {
        project_id -> Uuid,
        default_model -> Nullable<Text>,
        enabled_models -> Array<Text>,
        enabled_tools -> Array<Text>,
        temperature -> Nullable<Float8>,
        max_tokens -> Nullable<Int4>,
        top_p -> Nullable<Float8>,
        tone -> Nullable<Text>,
        welcome_message -> Nullable<Text>,
        brand_color -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        custom -> Jsonb,
        updated_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    projects (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        description -> Text,
        icon_url -> Nullable<Text>,
        is_default -> Bool,
        status -> Text,
        language -> Nullable<Text>,
        is_published -> Bool,
        confidence_threshold -> Nullable<Float8>,
        created_by -> Nullable<Uuid>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    rate_limit_counters (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        scope -> Text,
        window_kind -> Text,
        window_start -> Timestamptz,
        window_end -> Timestamptz,
        request_count -> Int4,
        limit_value -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        subject -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        replaced_by_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    repositories (id) {
        id -> Uuid,
        user_id -> Uuid,
        provider -> Text,
        owner -> Text,
        name -> Text,
        url -> Text,
        default_branch -> Text,
        is_active -> Bool,
        last_accessed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    role_permissions (role_id, permission_id) {
        role_id -> Uuid,
        permission_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    roles (id) {
        id -> Uuid,
        scope -> Text,
        name -> Text,
        description -> Text,
        is_system -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        user_agent -> Nullable<Text>,
        ip_address -> Nullable<Inet>,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    usage_events (id) {
        id -> Uuid,
        organization_id -> Uuid,
        project_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        chat_id -> Nullable<Uuid>,
        message_id -> Nullable<Uuid>,
        api_token_id -> Nullable<Uuid>,
        operation -> Text,
        provider -> Text,
        model -> Text,
        input_tokens -> Int8,
        output_tokens -> Int8,
        cached_input_tokens -> Int8,
        total_tokens -> Int8,
        input_cost -> Numeric,
        output_cost -> Numeric,
        total_cost -> Numeric,
        status -> Text,
        requested_at -> Timestamptz,
        responded_at -> Nullable<Timestamptz>,
        duration_ms -> Nullable<Int4>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    user_identities (id) {
        id -> Uuid,
        user_id -> Uuid,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        last_sign_in_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    user_roles (user_id, role_id) {
        user_id -> Uuid,
        role_id -> Uuid,
        role_scope -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        avatar_url -> Nullable<Text>,
        google_sub -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        status -> Text,
        is_platform_admin -> Bool,
        default_organization_id -> Nullable<Uuid>,
        settings -> Jsonb,
        email_confirmed_at -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    webhook_deliveries (id) {
        id -> Uuid,
        subscription_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        response_status -> Nullable<Int4>,
        latency_ms -> Nullable<Int4>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        last_attempt_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    webhook_subscriptions (id) {
        id -> Uuid,
        project_id -> Uuid,
        url -> Text,
        encrypted_secret -> Bytea,
        key_version -> Int4,
        event_types -> Array<Text>,
        is_active -> Bool,
        description -> Text,
        created_by -> Nullable<Uuid>,
        last_success_at -> Nullable<Timestamptz>,
        last_failure_at -> Nullable<Timestamptz>,
        consecutive_failures -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(analytics_events -> chats (chat_id));
diesel::joinable!(analytics_events -> projects (project_id));
diesel::joinable!(analytics_events -> users (user_id));
diesel::joinable!(api_tokens -> organizations (organization_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(artifact_suggestions -> users (user_id));
diesel::joinable!(artifacts -> chats (chat_id));
diesel::joinable!(artifacts -> projects (project_id));
diesel::joinable!(artifacts -> users (user_id));
diesel::joinable!(assistant_datasources -> assistants (assistant_id));
diesel::joinable!(assistant_datasources -> datasources (datasource_id));
diesel::joinable!(assistants -> organizations (organization_id));
diesel::joinable!(assistants -> projects (project_id));
diesel::joinable!(assistants -> users (created_by));
diesel::joinable!(audit_logs -> api_tokens (api_token_id));
diesel::joinable!(audit_logs -> organizations (organization_id));
diesel::joinable!(audit_logs -> projects (project_id));
diesel::joinable!(audit_logs -> users (actor_user_id));
diesel::joinable!(chats -> assistants (assistant_id));
diesel::joinable!(chats -> projects (project_id));
diesel::joinable!(chats -> users (user_id));
diesel::joinable!(credentials -> organizations (organization_id));
diesel::joinable!(credentials -> users (created_by));
diesel::joinable!(datasources -> credentials (credential_id));
diesel::joinable!(datasources -> projects (project_id));
diesel::joinable!(document_chunks -> documents (document_id));
diesel::joinable!(document_chunks -> projects (project_id));
diesel::joinable!(documents -> datasources (datasource_id));
diesel::joinable!(documents -> files (file_id));
diesel::joinable!(documents -> projects (project_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(error_logs -> users (user_id));
diesel::joinable!(file_attachments -> assistants (assistant_id));
diesel::joinable!(file_attachments -> chats (chat_id));
diesel::joinable!(file_attachments -> files (file_id));
diesel::joinable!(file_attachments -> messages (message_id));
diesel::joinable!(files -> chats (chat_id));
diesel::joinable!(files -> organizations (organization_id));
diesel::joinable!(files -> projects (project_id));
diesel::joinable!(files -> users (uploaded_by));
diesel::joinable!(jobs -> projects (project_id));
diesel::joinable!(mcp_servers -> credentials (credential_id));
diesel::joinable!(mcp_servers -> organizations (organization_id));
diesel::joinable!(mcp_servers -> users (created_by));
diesel::joinable!(message_citations -> document_chunks (chunk_id));
diesel::joinable!(message_citations -> documents (document_id));
diesel::joinable!(message_citations -> messages (message_id));
diesel::joinable!(message_feedback -> chats (chat_id));
diesel::joinable!(message_feedback -> messages (message_id));
diesel::joinable!(message_feedback -> users (user_id));
diesel::joinable!(message_streams -> chats (chat_id));
diesel::joinable!(message_streams -> messages (message_id));
diesel::joinable!(messages -> chats (chat_id));
diesel::joinable!(messages -> users (user_id));
diesel::joinable!(organization_invitations -> organizations (organization_id));
diesel::joinable!(organization_members -> organizations (organization_id));
diesel::joinable!(platform_configs -> users (updated_by));
diesel::joinable!(project_members -> organizations (organization_id));
diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_quotas -> projects (project_id));
diesel::joinable!(project_settings -> projects (project_id));
diesel::joinable!(project_settings -> users (updated_by));
diesel::joinable!(projects -> organizations (organization_id));
diesel::joinable!(projects -> users (created_by));
diesel::joinable!(rate_limit_counters -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(repositories -> users (user_id));
diesel::joinable!(role_permissions -> permissions (permission_id));
diesel::joinable!(role_permissions -> roles (role_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(usage_events -> api_tokens (api_token_id));
diesel::joinable!(usage_events -> chats (chat_id));
diesel::joinable!(usage_events -> messages (message_id));
diesel::joinable!(usage_events -> organizations (organization_id));
diesel::joinable!(usage_events -> projects (project_id));
diesel::joinable!(usage_events -> users (user_id));
diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(users -> organizations (default_organization_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_subscriptions -> projects (project_id));
diesel::joinable!(webhook_subscriptions -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    analytics_events,
    api_tokens,
    artifact_suggestions,
    artifacts,
    assistant_datasources,
    assistants,
    audit_logs,
    chats,
    credentials,
    datasources,
    document_chunks,
    documents,
    email_tokens,
    error_logs,
    file_attachments,
    files,
    jobs,
    mcp_servers,
    message_citations,
    message_feedback,
    message_streams,
    messages,
    organization_invitations,
    organization_members,
    organizations,
    permissions,
    platform_configs,
    project_members,
    project_quotas,
    project_settings,
    projects,
    rate_limit_counters,
    refresh_tokens,
    repositories,
    role_permissions,
    roles,
    sessions,
    usage_events,
    user_identities,
    user_roles,
    users,
    webhook_deliveries,
    webhook_subscriptions,
);
