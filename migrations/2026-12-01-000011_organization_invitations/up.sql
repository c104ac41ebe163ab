-- Invitations to an organization for people who may not have an account yet (the writes
-- issue: "members: add by email (an existing user) or invite"). The invitee receives a token
-- (shown once to whoever invites, stored only as its SHA-256) and accepts it signed in with
-- the invited address. At most one open invitation per organization and address.
CREATE TABLE organization_invitations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text NOT NULL CONSTRAINT organization_invitations_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND char_length(email) <= 320),
    role_id         uuid NOT NULL,
    role_scope      text NOT NULL DEFAULT 'organization' CONSTRAINT organization_invitations_role_scope_check CHECK (role_scope = 'organization'),
    token_hash      bytea NOT NULL CONSTRAINT organization_invitations_token_hash_key UNIQUE
                          CONSTRAINT organization_invitations_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    invited_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organization_invitations_role_fkey FOREIGN KEY (role_id, role_scope) REFERENCES roles (id, scope),
    CONSTRAINT organization_invitations_closed_once CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX organization_invitations_open_key ON organization_invitations (organization_id, lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX organization_invitations_role_idx ON organization_invitations (role_id, role_scope);
CREATE INDEX organization_invitations_invited_by_idx ON organization_invitations (invited_by);
CREATE INDEX organization_invitations_accepted_by_idx ON organization_invitations (accepted_by);

SELECT chatgraph_manage_updated_at('organization_invitations'::regclass);
