-- MCP servers an organization's answers may call tools of (Streamable HTTP). The secret for
-- their Authorization header is an organization credential (encrypted, rotated and deleted
-- like any other); a project enables a server by its name in `enabledTools`.
CREATE TABLE mcp_servers (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CONSTRAINT mcp_servers_name_format
                        CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    url             text NOT NULL CONSTRAINT mcp_servers_url_length CHECK (length(url) BETWEEN 1 AND 2000),
    credential_id   uuid REFERENCES credentials (id) ON DELETE SET NULL,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mcp_servers_organization_id_name_key UNIQUE (organization_id, name)
);
CREATE INDEX mcp_servers_credential_id_idx ON mcp_servers (credential_id);
CREATE INDEX mcp_servers_created_by_idx ON mcp_servers (created_by);
SELECT chatgraph_manage_updated_at('mcp_servers');
