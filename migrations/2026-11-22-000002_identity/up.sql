-- Identity and access: tenants, users, roles and permissions, sessions and tokens, credentials.

CREATE TABLE organizations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text NOT NULL CONSTRAINT organizations_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    slug               text NOT NULL CONSTRAINT organizations_slug_key UNIQUE
                            CONSTRAINT organizations_slug_format CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    plan               text NOT NULL DEFAULT 'free' CONSTRAINT organizations_plan_check CHECK (plan IN ('free', 'pro', 'enterprise')),
    status             text NOT NULL DEFAULT 'active' CONSTRAINT organizations_status_check CHECK (status IN ('active', 'suspended', 'deleted')),
    is_personal        boolean NOT NULL DEFAULT false,
    stripe_customer_id text CONSTRAINT organizations_stripe_customer_id_key UNIQUE,
    metadata           jsonb NOT NULL DEFAULT '{}' CONSTRAINT organizations_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                   text NOT NULL CONSTRAINT users_email_format CHECK (char_length(email) <= 320 AND email ~ '^[^@\s]+@[^@\s]+$'),
    name                    text NOT NULL DEFAULT '' CONSTRAINT users_name_length CHECK (char_length(name) <= 200),
    avatar_url              text,
    google_sub              text CONSTRAINT users_google_sub_key UNIQUE,
    password_hash           text CONSTRAINT users_password_hash_phc CHECK (password_hash LIKE '$argon2id$%'),
    status                  text NOT NULL DEFAULT 'active' CONSTRAINT users_status_check CHECK (status IN ('active', 'suspended', 'deleted')),
    is_platform_admin       boolean NOT NULL DEFAULT false,
    default_organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    settings                jsonb NOT NULL DEFAULT '{}' CONSTRAINT users_settings_object CHECK (jsonb_typeof(settings) = 'object'),
    email_confirmed_at      timestamptz,
    last_login_at           timestamptz,
    deleted_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_default_organization_id_idx ON users (default_organization_id);

CREATE TABLE roles (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scope       text NOT NULL CONSTRAINT roles_scope_check CHECK (scope IN ('platform', 'organization', 'project')),
    name        text NOT NULL CONSTRAINT roles_name_format CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    description text NOT NULL DEFAULT '',
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_scope_name_key UNIQUE (scope, name),
    -- Target of the (role_id, role_scope) foreign keys: a membership can only hold a role of its own scope.
    CONSTRAINT roles_id_scope_key UNIQUE (id, scope)
);

CREATE TABLE permissions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CONSTRAINT permissions_name_key UNIQUE
                     CONSTRAINT permissions_name_format CHECK (name ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE role_permissions (
    role_id       uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_permission_id_idx ON role_permissions (permission_id);

CREATE TABLE user_roles (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    uuid NOT NULL,
    role_scope text NOT NULL DEFAULT 'platform' CONSTRAINT user_roles_role_scope_check CHECK (role_scope = 'platform'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id),
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (role_id, role_scope) REFERENCES roles (id, scope) ON DELETE CASCADE
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id, role_scope);

CREATE TABLE organization_members (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id         uuid NOT NULL,
    role_scope      text NOT NULL DEFAULT 'organization' CONSTRAINT organization_members_role_scope_check CHECK (role_scope = 'organization'),
    invited_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id),
    CONSTRAINT organization_members_role_fkey FOREIGN KEY (role_id, role_scope) REFERENCES roles (id, scope)
);
CREATE INDEX organization_members_user_id_idx ON organization_members (user_id);
CREATE INDEX organization_members_role_idx ON organization_members (role_id, role_scope);
CREATE INDEX organization_members_invited_by_idx ON organization_members (invited_by);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE
                       CONSTRAINT sessions_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    user_agent   text,
    ip_address   inet,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id     uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash     bytea NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE
                         CONSTRAINT refresh_tokens_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    revoked_at     timestamptz,
    replaced_by_id uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_replaced_by_id_idx ON refresh_tokens (replaced_by_id);

CREATE TABLE api_tokens (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CONSTRAINT api_tokens_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    token_prefix    text NOT NULL CONSTRAINT api_tokens_token_prefix_length CHECK (char_length(token_prefix) BETWEEN 4 AND 32),
    token_hash      bytea NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE
                          CONSTRAINT api_tokens_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    scopes          text[] NOT NULL DEFAULT '{}' CONSTRAINT api_tokens_scopes_no_nulls CHECK (array_position(scopes, NULL) IS NULL),
    last_used_at    timestamptz,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);
CREATE INDEX api_tokens_organization_id_idx ON api_tokens (organization_id);

CREATE TABLE credentials (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CONSTRAINT credentials_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    credential_type text NOT NULL CONSTRAINT credentials_credential_type_check
                          CHECK (credential_type IN ('openai', 'anthropic', 'google', 'azure_openai', 'github', 'custom')),
    encrypted_data  bytea NOT NULL,
    key_version     integer NOT NULL DEFAULT 1 CONSTRAINT credentials_key_version_positive CHECK (key_version > 0),
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    last_used_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credentials_organization_id_name_key UNIQUE (organization_id, name)
);
CREATE INDEX credentials_created_by_idx ON credentials (created_by);

SELECT chatgraph_manage_updated_at(t)
FROM unnest(ARRAY['organizations', 'users', 'roles', 'organization_members', 'sessions', 'api_tokens', 'credentials']::regclass[]) AS t;

-- Built-in roles and permissions. A caller's rights in a place are the union of the
-- permissions of their platform roles, their organization role there and their project role there.
INSERT INTO permissions (name, description) VALUES
    ('platform.configure',     'Read and change platform-wide configuration'),
    ('users.manage',           'Manage user accounts across the platform'),
    ('organization.read',      'See an organization and its members'),
    ('organization.update',    'Rename an organization and change its settings'),
    ('organization.delete',    'Delete an organization'),
    ('members.manage',         'Add, remove and change the roles of organization members'),
    ('billing.manage',         'Change plan and billing details'),
    ('credentials.manage',     'Create, rotate and delete provider credentials'),
    ('project.create',         'Create projects'),
    ('project.read',           'See a project, its settings and its members'),
    ('project.update',         'Change a project, its settings and quota'),
    ('project.delete',         'Archive and delete a project'),
    ('project.members.manage', 'Add, remove and change the roles of project members'),
    ('chat.read',              'Read chats and messages shared with the project'),
    ('chat.write',             'Create chats and post messages'),
    ('ai.use',                 'Ask models for answers and embeddings'),
    ('documents.read',         'Read datasources, documents and search them'),
    ('documents.write',        'Create and change datasources and documents'),
    ('usage.read',             'Read usage and cost records'),
    ('audit.read',             'Read audit logs');

INSERT INTO roles (scope, name, description, is_system) VALUES
    ('platform',     'admin',           'Platform administrator: every right everywhere', true),
    ('platform',     'user',            'A regular user of the platform', true),
    ('platform',     'project_manager', 'A user who creates and runs projects', true),
    ('organization', 'owner',           'Owns the organization', true),
    ('organization', 'admin',           'Administers the organization', true),
    ('organization', 'member',          'Belongs to the organization', true),
    ('project',      'owner',           'Owns the project', true),
    ('project',      'admin',           'Administers the project', true),
    ('project',      'member',          'Works in the project', true),
    ('project',      'viewer',          'Reads the project and never writes', true);

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id
FROM (VALUES
    ('platform', 'admin', ARRAY['platform.configure', 'users.manage', 'organization.read', 'organization.update',
        'organization.delete', 'members.manage', 'billing.manage', 'credentials.manage', 'project.create',
        'project.read', 'project.update', 'project.delete', 'project.members.manage', 'chat.read', 'chat.write',
        'ai.use', 'documents.read', 'documents.write', 'usage.read', 'audit.read']),
    ('platform', 'user', ARRAY['project.create', 'ai.use']),
    ('platform', 'project_manager', ARRAY['project.create', 'ai.use', 'project.members.manage']),
    ('organization', 'owner', ARRAY['organization.read', 'organization.update', 'organization.delete',
        'members.manage', 'billing.manage', 'credentials.manage', 'project.create', 'project.read',
        'project.update', 'project.delete', 'project.members.manage', 'chat.read', 'chat.write', 'ai.use',
        'documents.read', 'documents.write', 'usage.read', 'audit.read']),
    ('organization', 'admin', ARRAY['organization.read', 'organization.update', 'members.manage',
        'credentials.manage', 'project.create', 'project.read', 'project.update', 'project.delete',
        'project.members.manage', 'chat.read', 'chat.write', 'ai.use', 'documents.read', 'documents.write',
        'usage.read', 'audit.read']),
    ('organization', 'member', ARRAY['organization.read', 'project.create', 'ai.use']),
    ('project', 'owner', ARRAY['project.read', 'project.update', 'project.delete', 'project.members.manage',
        'chat.read', 'chat.write', 'ai.use', 'documents.read', 'documents.write', 'usage.read', 'audit.read']),
    ('project', 'admin', ARRAY['project.read', 'project.update', 'project.members.manage', 'chat.read',
        'chat.write', 'ai.use', 'documents.read', 'documents.write', 'usage.read', 'audit.read']),
    ('project', 'member', ARRAY['project.read', 'chat.read', 'chat.write', 'ai.use', 'documents.read',
        'documents.write', 'usage.read']),
    ('project', 'viewer', ARRAY['project.read', 'chat.read', 'documents.read'])
) AS grants (scope, role_name, permission_names)
JOIN roles r ON r.scope = grants.scope AND r.name = grants.role_name
JOIN permissions p ON p.name = ANY (grants.permission_names);
