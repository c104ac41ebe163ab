-- Records and operations: usage and cost, audit, errors, analytics, webhooks, background jobs.

CREATE TABLE usage_events (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id          uuid REFERENCES projects (id) ON DELETE CASCADE,
    user_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    chat_id             uuid REFERENCES chats (id) ON DELETE SET NULL,
    message_id          uuid REFERENCES messages (id) ON DELETE SET NULL,
    api_token_id        uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
    operation           text NOT NULL CONSTRAINT usage_events_operation_check CHECK (operation IN ('chat', 'embedding', 'routing', 'artifact', 'tool')),
    provider            text NOT NULL,
    model               text NOT NULL,
    input_tokens        bigint NOT NULL DEFAULT 0 CONSTRAINT usage_events_input_tokens_nonnegative CHECK (input_tokens >= 0),
    output_tokens       bigint NOT NULL DEFAULT 0 CONSTRAINT usage_events_output_tokens_nonnegative CHECK (output_tokens >= 0),
    cached_input_tokens bigint NOT NULL DEFAULT 0 CONSTRAINT usage_events_cached_input_tokens_nonnegative CHECK (cached_input_tokens >= 0),
    total_tokens        bigint NOT NULL DEFAULT 0 CONSTRAINT usage_events_total_tokens_nonnegative CHECK (total_tokens >= 0),
    input_cost          numeric(14, 6) NOT NULL DEFAULT 0 CONSTRAINT usage_events_input_cost_nonnegative CHECK (input_cost >= 0),
    output_cost         numeric(14, 6) NOT NULL DEFAULT 0 CONSTRAINT usage_events_output_cost_nonnegative CHECK (output_cost >= 0),
    total_cost          numeric(14, 6) NOT NULL DEFAULT 0 CONSTRAINT usage_events_total_cost_nonnegative CHECK (total_cost >= 0),
    status              text NOT NULL DEFAULT 'success' CONSTRAINT usage_events_status_check CHECK (status IN ('success', 'failed')),
    requested_at        timestamptz NOT NULL DEFAULT now(),
    responded_at        timestamptz,
    duration_ms         integer CONSTRAINT usage_events_duration_ms_nonnegative CHECK (duration_ms >= 0),
    metadata            jsonb NOT NULL DEFAULT '{}' CONSTRAINT usage_events_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_user_id_requested_at_idx ON usage_events (user_id, requested_at DESC);
CREATE INDEX usage_events_operation_requested_at_idx ON usage_events (operation, requested_at DESC);
CREATE INDEX usage_events_organization_id_requested_at_idx ON usage_events (organization_id, requested_at);
CREATE INDEX usage_events_project_id_idx ON usage_events (project_id);
CREATE INDEX usage_events_chat_id_idx ON usage_events (chat_id);
CREATE INDEX usage_events_message_id_idx ON usage_events (message_id);
CREATE INDEX usage_events_api_token_id_idx ON usage_events (api_token_id);

-- Append-only. Rows outlive the objects they mention (SET NULL), so the trail stays.
CREATE TABLE audit_logs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    project_id      uuid REFERENCES projects (id) ON DELETE SET NULL,
    actor_user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    api_token_id    uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
    action          text NOT NULL CONSTRAINT audit_logs_action_format CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    resource_type   text,
    resource_id     text,
    details         jsonb NOT NULL DEFAULT '{}' CONSTRAINT audit_logs_details_object CHECK (jsonb_typeof(details) = 'object'),
    ip_address      inet,
    user_agent      text,
    status          text NOT NULL DEFAULT 'success' CONSTRAINT audit_logs_status_check CHECK (status IN ('success', 'failed')),
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_organization_id_created_at_idx ON audit_logs (organization_id, created_at DESC);
CREATE INDEX audit_logs_project_id_idx ON audit_logs (project_id);
CREATE INDEX audit_logs_actor_user_id_idx ON audit_logs (actor_user_id);
CREATE INDEX audit_logs_api_token_id_idx ON audit_logs (api_token_id);

CREATE TABLE error_logs (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id text,
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    operation  text,
    path       text,
    code       text NOT NULL,
    message    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}' CONSTRAINT error_logs_details_object CHECK (jsonb_typeof(details) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX error_logs_user_id_idx ON error_logs (user_id);
CREATE INDEX error_logs_created_at_idx ON error_logs (created_at DESC);

CREATE TABLE analytics_events (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    chat_id     uuid REFERENCES chats (id) ON DELETE SET NULL,
    name        text NOT NULL CONSTRAINT analytics_events_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    properties  jsonb NOT NULL DEFAULT '{}' CONSTRAINT analytics_events_properties_object CHECK (jsonb_typeof(properties) = 'object'),
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_events_project_id_occurred_at_idx ON analytics_events (project_id, occurred_at DESC);
CREATE INDEX analytics_events_user_id_idx ON analytics_events (user_id);
CREATE INDEX analytics_events_chat_id_idx ON analytics_events (chat_id);

CREATE TABLE webhook_subscriptions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id           uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url                  text NOT NULL CONSTRAINT webhook_subscriptions_url_format CHECK (url ~ '^https?://' AND char_length(url) <= 2048),
    encrypted_secret     bytea NOT NULL,
    key_version          integer NOT NULL DEFAULT 1 CONSTRAINT webhook_subscriptions_key_version_positive CHECK (key_version > 0),
    event_types          text[] NOT NULL DEFAULT '{}' CONSTRAINT webhook_subscriptions_event_types_no_nulls CHECK (array_position(event_types, NULL) IS NULL),
    is_active            boolean NOT NULL DEFAULT true,
    description          text NOT NULL DEFAULT '',
    created_by           uuid REFERENCES users (id) ON DELETE SET NULL,
    last_success_at      timestamptz,
    last_failure_at      timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0 CONSTRAINT webhook_subscriptions_consecutive_failures_nonnegative CHECK (consecutive_failures >= 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_project_id_idx ON webhook_subscriptions (project_id);
CREATE INDEX webhook_subscriptions_created_by_idx ON webhook_subscriptions (created_by);

-- Background work, taken with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id   uuid REFERENCES projects (id) ON DELETE CASCADE,
    kind         text NOT NULL CONSTRAINT jobs_kind_format CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued' CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority     integer NOT NULL DEFAULT 0,
    attempts     integer NOT NULL DEFAULT 0 CONSTRAINT jobs_attempts_nonnegative CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 3 CONSTRAINT jobs_max_attempts_positive CHECK (max_attempts > 0),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_by    text,
    locked_until timestamptz,
    last_error   text,
    result       jsonb,
    started_at   timestamptz,
    finished_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_project_id_idx ON jobs (project_id);
CREATE INDEX jobs_ready_idx ON jobs (priority DESC, run_at) WHERE status = 'queued';

SELECT chatgraph_manage_updated_at(t)
FROM unnest(ARRAY['webhook_subscriptions', 'jobs']::regclass[]) AS t;
