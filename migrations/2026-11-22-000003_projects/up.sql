-- Projects (workspaces inside an organization), their members, settings, quotas, and per-user rate limits.

CREATE TABLE projects (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                 text NOT NULL CONSTRAINT projects_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    description          text NOT NULL DEFAULT '' CONSTRAINT projects_description_length CHECK (char_length(description) <= 10000),
    icon_url             text,
    is_default           boolean NOT NULL DEFAULT false,
    status               text NOT NULL DEFAULT 'active' CONSTRAINT projects_status_check CHECK (status IN ('active', 'archived', 'deleted')),
    language             text CONSTRAINT projects_language_format CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
    is_published         boolean NOT NULL DEFAULT false,
    confidence_threshold double precision CONSTRAINT projects_confidence_threshold_range CHECK (confidence_threshold BETWEEN 0 AND 1),
    created_by           uuid REFERENCES users (id) ON DELETE SET NULL,
    deleted_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- Names are unique per organization among live projects, ignoring case.
CREATE UNIQUE INDEX projects_organization_id_name_key ON projects (organization_id, lower(name)) WHERE deleted_at IS NULL;
-- At most one live default project per organization.
CREATE UNIQUE INDEX projects_organization_id_default_key ON projects (organization_id) WHERE is_default AND deleted_at IS NULL;
CREATE INDEX projects_organization_id_idx ON projects (organization_id);
CREATE INDEX projects_created_by_idx ON projects (created_by);

CREATE TABLE project_members (
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    uuid NOT NULL,
    role_scope text NOT NULL DEFAULT 'project' CONSTRAINT project_members_role_scope_check CHECK (role_scope = 'project'),
    added_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id),
    CONSTRAINT project_members_role_fkey FOREIGN KEY (role_id, role_scope) REFERENCES roles (id, scope)
);
CREATE INDEX project_members_user_id_idx ON project_members (user_id);
CREATE INDEX project_members_role_idx ON project_members (role_id, role_scope);
CREATE INDEX project_members_added_by_idx ON project_members (added_by);

CREATE TABLE project_settings (
    project_id      uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    default_model   text,
    enabled_models  text[] NOT NULL DEFAULT '{}' CONSTRAINT project_settings_enabled_models_no_nulls CHECK (array_position(enabled_models, NULL) IS NULL),
    enabled_tools   text[] NOT NULL DEFAULT '{}' CONSTRAINT project_settings_enabled_tools_no_nulls CHECK (array_position(enabled_tools, NULL) IS NULL),
    temperature     double precision CONSTRAINT project_settings_temperature_range CHECK (temperature BETWEEN 0 AND 2),
    max_tokens      integer CONSTRAINT project_settings_max_tokens_positive CHECK (max_tokens > 0),
    top_p           double precision CONSTRAINT project_settings_top_p_range CHECK (top_p BETWEEN 0 AND 1),
    tone            text,
    welcome_message text,
    brand_color     text CONSTRAINT project_settings_brand_color_format CHECK (brand_color ~ '^#[0-9A-Fa-f]{6}$'),
    logo_url        text,
    custom          jsonb NOT NULL DEFAULT '{}' CONSTRAINT project_settings_custom_object CHECK (jsonb_typeof(custom) = 'object'),
    updated_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_settings_updated_by_idx ON project_settings (updated_by);

-- Limits are NULL for "unlimited"; usage never goes negative and never past its limit.
CREATE TABLE project_quotas (
    project_id          uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    tokens_limit        bigint CONSTRAINT project_quotas_tokens_limit_nonnegative CHECK (tokens_limit >= 0),
    tokens_used         bigint NOT NULL DEFAULT 0 CONSTRAINT project_quotas_tokens_used_nonnegative CHECK (tokens_used >= 0),
    requests_limit      bigint CONSTRAINT project_quotas_requests_limit_nonnegative CHECK (requests_limit >= 0),
    requests_used       bigint NOT NULL DEFAULT 0 CONSTRAINT project_quotas_requests_used_nonnegative CHECK (requests_used >= 0),
    storage_limit_bytes bigint CONSTRAINT project_quotas_storage_limit_nonnegative CHECK (storage_limit_bytes >= 0),
    storage_used_bytes  bigint NOT NULL DEFAULT 0 CONSTRAINT project_quotas_storage_used_nonnegative CHECK (storage_used_bytes >= 0),
    period              text NOT NULL DEFAULT 'monthly' CONSTRAINT project_quotas_period_check CHECK (period IN ('daily', 'weekly', 'monthly', 'yearly')),
    reset_at            timestamptz NOT NULL DEFAULT (date_trunc('month', now()) + interval '1 month'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Per-user request counters per scope (the agent: chat, routing, artifact, ...) and window.
-- The column is window_kind because WINDOW is a reserved word in SQL.
CREATE TABLE rate_limit_counters (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope         text NOT NULL CONSTRAINT rate_limit_counters_scope_format CHECK (scope ~ '^[a-z][a-z0-9_.:-]{0,63}$'),
    window_kind   text NOT NULL CONSTRAINT rate_limit_counters_window_kind_check CHECK (window_kind IN ('hourly', 'daily')),
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    request_count integer NOT NULL DEFAULT 0 CONSTRAINT rate_limit_counters_request_count_nonnegative CHECK (request_count >= 0),
    limit_value   integer NOT NULL CONSTRAINT rate_limit_counters_limit_value_positive CHECK (limit_value > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rate_limit_counters_window_order CHECK (window_end > window_start),
    CONSTRAINT rate_limit_counters_user_scope_window_key UNIQUE (user_id, scope, window_kind, window_start)
);
CREATE INDEX rate_limit_counters_user_scope_start_idx ON rate_limit_counters (user_id, scope, window_start);

SELECT chatgraph_manage_updated_at(t)
FROM unnest(ARRAY['projects', 'project_members', 'project_settings', 'project_quotas', 'rate_limit_counters']::regclass[]) AS t;
