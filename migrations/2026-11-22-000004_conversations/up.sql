-- Conversations: assistants, chats, messages and what hangs off them; artifacts; files; repositories.

CREATE TABLE assistants (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    project_id      uuid REFERENCES projects (id) ON DELETE CASCADE,
    name            text NOT NULL CONSTRAINT assistants_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '',
    instructions    text NOT NULL DEFAULT '',
    provider        text NOT NULL CONSTRAINT assistants_provider_format CHECK (provider ~ '^[a-z][a-z0-9_-]{0,63}$'),
    model           text NOT NULL CONSTRAINT assistants_model_length CHECK (char_length(model) BETWEEN 1 AND 200),
    temperature     double precision CONSTRAINT assistants_temperature_range CHECK (temperature BETWEEN 0 AND 2),
    tools           jsonb NOT NULL DEFAULT '[]' CONSTRAINT assistants_tools_array CHECK (jsonb_typeof(tools) = 'array'),
    external_id     text CONSTRAINT assistants_external_id_key UNIQUE,
    is_active       boolean NOT NULL DEFAULT true,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A project-scoped assistant also names its organization, so tenant filters need one column.
    CONSTRAINT assistants_project_has_organization CHECK (project_id IS NULL OR organization_id IS NOT NULL)
);
CREATE INDEX assistants_organization_id_idx ON assistants (organization_id);
CREATE INDEX assistants_project_id_idx ON assistants (project_id);
CREATE INDEX assistants_created_by_idx ON assistants (created_by);

CREATE TABLE platform_configs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text NOT NULL CONSTRAINT platform_configs_key_key UNIQUE
                     CONSTRAINT platform_configs_key_format CHECK (key ~ '^[a-z][a-z0-9_.-]{0,127}$'),
    value       jsonb NOT NULL,
    description text NOT NULL DEFAULT '',
    updated_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_configs_updated_by_idx ON platform_configs (updated_by);

CREATE TABLE chats (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id          uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    assistant_id        uuid REFERENCES assistants (id) ON DELETE SET NULL,
    title               text NOT NULL DEFAULT 'New chat' CONSTRAINT chats_title_length CHECK (char_length(title) <= 500),
    model               text,
    visibility          text NOT NULL DEFAULT 'private' CONSTRAINT chats_visibility_check CHECK (visibility IN ('private', 'project', 'public')),
    is_starred          boolean NOT NULL DEFAULT false,
    is_default          boolean NOT NULL DEFAULT false,
    external_id         text CONSTRAINT chats_external_id_key UNIQUE,
    last_context        jsonb,
    total_input_tokens  bigint NOT NULL DEFAULT 0 CONSTRAINT chats_total_input_tokens_nonnegative CHECK (total_input_tokens >= 0),
    total_output_tokens bigint NOT NULL DEFAULT 0 CONSTRAINT chats_total_output_tokens_nonnegative CHECK (total_output_tokens >= 0),
    total_cost          numeric(14, 6) NOT NULL DEFAULT 0 CONSTRAINT chats_total_cost_nonnegative CHECK (total_cost >= 0),
    last_message_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chats_user_id_created_at_idx ON chats (user_id, created_at DESC);
CREATE INDEX chats_project_id_last_message_at_idx ON chats (project_id, last_message_at DESC);
CREATE INDEX chats_assistant_id_idx ON chats (assistant_id);
-- At most one default chat per user and project.
CREATE UNIQUE INDEX chats_project_id_user_id_default_key ON chats (project_id, user_id) WHERE is_default;

CREATE TABLE messages (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    chat_id             uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    -- The message this one answers or branches from; regenerated answers are siblings.
    parent_id           uuid REFERENCES messages (id) ON DELETE SET NULL,
    user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    role                text NOT NULL CONSTRAINT messages_role_check CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content             text NOT NULL DEFAULT '',
    parts               jsonb NOT NULL DEFAULT '[]' CONSTRAINT messages_parts_array CHECK (jsonb_typeof(parts) = 'array'),
    content_raw         jsonb,
    attachments         jsonb NOT NULL DEFAULT '[]' CONSTRAINT messages_attachments_array CHECK (jsonb_typeof(attachments) = 'array'),
    status              text NOT NULL DEFAULT 'complete' CONSTRAINT messages_status_check CHECK (status IN ('complete', 'streaming', 'failed', 'cancelled')),
    finish_reason       text,
    error               text,
    model               text,
    provider            text,
    input_tokens        integer CONSTRAINT messages_input_tokens_nonnegative CHECK (input_tokens >= 0),
    output_tokens       integer CONSTRAINT messages_output_tokens_nonnegative CHECK (output_tokens >= 0),
    cached_input_tokens integer CONSTRAINT messages_cached_input_tokens_nonnegative CHECK (cached_input_tokens >= 0),
    cost                numeric(14, 6) CONSTRAINT messages_cost_nonnegative CHECK (cost >= 0),
    confidence          double precision CONSTRAINT messages_confidence_range CHECK (confidence BETWEEN 0 AND 1),
    is_context_file     boolean NOT NULL DEFAULT false,
    external_id         text CONSTRAINT messages_external_id_key UNIQUE,
    metadata            jsonb NOT NULL DEFAULT '{}' CONSTRAINT messages_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_chat_id_created_at_idx ON messages (chat_id, created_at);
CREATE INDEX messages_parent_id_idx ON messages (parent_id);
CREATE INDEX messages_user_id_idx ON messages (user_id);

CREATE TABLE message_feedback (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    chat_id    uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_upvoted boolean,
    rating     smallint CONSTRAINT message_feedback_rating_range CHECK (rating BETWEEN 1 AND 5),
    comment    text CONSTRAINT message_feedback_comment_length CHECK (char_length(comment) <= 5000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_feedback_message_id_user_id_key UNIQUE (message_id, user_id),
    CONSTRAINT message_feedback_not_empty CHECK (is_upvoted IS NOT NULL OR rating IS NOT NULL OR comment IS NOT NULL)
);
CREATE INDEX message_feedback_chat_id_idx ON message_feedback (chat_id);
CREATE INDEX message_feedback_user_id_idx ON message_feedback (user_id);

-- One row per generation, so a client can find and resume a live stream.
CREATE TABLE message_streams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    chat_id     uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id  uuid NOT NULL CONSTRAINT message_streams_message_id_key UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'active' CONSTRAINT message_streams_status_check CHECK (status IN ('active', 'finished', 'failed', 'cancelled')),
    last_seq    integer NOT NULL DEFAULT 0 CONSTRAINT message_streams_last_seq_nonnegative CHECK (last_seq >= 0),
    error       text,
    finished_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_streams_chat_id_idx ON message_streams (chat_id);

CREATE TABLE files (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id      uuid REFERENCES projects (id) ON DELETE CASCADE,
    uploaded_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    filename        text NOT NULL CONSTRAINT files_filename_length CHECK (char_length(filename) BETWEEN 1 AND 255),
    content_type    text NOT NULL CONSTRAINT files_content_type_format CHECK (content_type ~ '^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$'),
    size_bytes      bigint NOT NULL CONSTRAINT files_size_bytes_nonnegative CHECK (size_bytes >= 0),
    sha256          text NOT NULL CONSTRAINT files_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key     text NOT NULL CONSTRAINT files_storage_key_key UNIQUE,
    external_id     text CONSTRAINT files_external_id_key UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_organization_id_idx ON files (organization_id);
CREATE INDEX files_project_id_idx ON files (project_id);
CREATE INDEX files_uploaded_by_idx ON files (uploaded_by);

-- A file attached to exactly one of an assistant, a chat or a message (real foreign keys
-- instead of seed 001's polymorphic type/id pair), at most once per target.
CREATE TABLE file_attachments (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    file_id      uuid NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    assistant_id uuid REFERENCES assistants (id) ON DELETE CASCADE,
    chat_id      uuid REFERENCES chats (id) ON DELETE CASCADE,
    message_id   uuid REFERENCES messages (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT file_attachments_one_target CHECK (num_nonnulls(assistant_id, chat_id, message_id) = 1),
    CONSTRAINT file_attachments_file_id_assistant_id_key UNIQUE (file_id, assistant_id),
    CONSTRAINT file_attachments_file_id_chat_id_key UNIQUE (file_id, chat_id),
    CONSTRAINT file_attachments_file_id_message_id_key UNIQUE (file_id, message_id)
);
CREATE INDEX file_attachments_assistant_id_idx ON file_attachments (assistant_id);
CREATE INDEX file_attachments_chat_id_idx ON file_attachments (chat_id);
CREATE INDEX file_attachments_message_id_idx ON file_attachments (message_id);

-- Versioned documents made in a chat (seed 002 "Document"): each row is one version,
-- identified by (id, created_at).
CREATE TABLE artifacts (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    chat_id    uuid REFERENCES chats (id) ON DELETE SET NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text NOT NULL CONSTRAINT artifacts_title_length CHECK (char_length(title) BETWEEN 1 AND 500),
    kind       text NOT NULL DEFAULT 'text' CONSTRAINT artifacts_kind_check CHECK (kind IN ('text', 'code', 'image', 'sheet')),
    content    text,
    PRIMARY KEY (id, created_at)
);
CREATE INDEX artifacts_user_id_created_at_idx ON artifacts (user_id, created_at DESC);
CREATE INDEX artifacts_project_id_idx ON artifacts (project_id);
CREATE INDEX artifacts_chat_id_idx ON artifacts (chat_id);

CREATE TABLE artifact_suggestions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    artifact_id         uuid NOT NULL,
    artifact_created_at timestamptz NOT NULL,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    original_text       text NOT NULL,
    suggested_text      text NOT NULL,
    description         text,
    is_resolved         boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT artifact_suggestions_artifact_fkey FOREIGN KEY (artifact_id, artifact_created_at)
        REFERENCES artifacts (id, created_at) ON DELETE CASCADE
);
CREATE INDEX artifact_suggestions_artifact_idx ON artifact_suggestions (artifact_id, artifact_created_at);
CREATE INDEX artifact_suggestions_user_id_idx ON artifact_suggestions (user_id);

CREATE TABLE repositories (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider         text NOT NULL DEFAULT 'github' CONSTRAINT repositories_provider_check CHECK (provider IN ('github')),
    owner            text NOT NULL CONSTRAINT repositories_owner_length CHECK (char_length(owner) BETWEEN 1 AND 100),
    name             text NOT NULL CONSTRAINT repositories_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    url              text NOT NULL CONSTRAINT repositories_url_format CHECK (url ~ '^https?://'),
    default_branch   text NOT NULL DEFAULT 'main',
    is_active        boolean NOT NULL DEFAULT true,
    last_accessed_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT repositories_user_id_provider_owner_name_key UNIQUE (user_id, provider, owner, name)
);
CREATE INDEX repositories_user_id_is_active_idx ON repositories (user_id, is_active);

SELECT chatgraph_manage_updated_at(t)
FROM unnest(ARRAY['assistants', 'platform_configs', 'chats', 'messages', 'message_feedback', 'message_streams',
                  'files', 'artifact_suggestions', 'repositories']::regclass[]) AS t;
