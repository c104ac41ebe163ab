-- Knowledge: datasources, documents and their embedded chunks for vector search.

CREATE TABLE datasources (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id     uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name           text NOT NULL CONSTRAINT datasources_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    kind           text NOT NULL CONSTRAINT datasources_kind_check CHECK (kind IN ('manual', 'web', 'api', 'notion', 'slack', 'github', 'file')),
    config         jsonb NOT NULL DEFAULT '{}' CONSTRAINT datasources_config_object CHECK (jsonb_typeof(config) = 'object'),
    credential_id  uuid REFERENCES credentials (id) ON DELETE SET NULL,
    status         text NOT NULL DEFAULT 'idle' CONSTRAINT datasources_status_check CHECK (status IN ('idle', 'syncing', 'failed', 'disabled')),
    last_synced_at timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX datasources_project_id_idx ON datasources (project_id);
CREATE INDEX datasources_credential_id_idx ON datasources (credential_id);

CREATE TABLE documents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    datasource_id uuid REFERENCES datasources (id) ON DELETE CASCADE,
    external_id   text,
    title         text NOT NULL CONSTRAINT documents_title_length CHECK (char_length(title) BETWEEN 1 AND 1000),
    source_url    text,
    content       text NOT NULL DEFAULT '',
    content_hash  text CONSTRAINT documents_content_hash_format CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    mime_type     text,
    metadata      jsonb NOT NULL DEFAULT '{}' CONSTRAINT documents_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    status        text NOT NULL DEFAULT 'pending' CONSTRAINT documents_status_check CHECK (status IN ('pending', 'indexed', 'failed')),
    indexed_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_datasource_id_external_id_key UNIQUE (datasource_id, external_id)
);
CREATE INDEX documents_project_id_idx ON documents (project_id);
CREATE INDEX documents_datasource_id_idx ON documents (datasource_id);

-- project_id is repeated here so nearest-neighbour search can be filtered by tenant.
CREATE TABLE document_chunks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id     uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    project_id      uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    chunk_index     integer NOT NULL CONSTRAINT document_chunks_chunk_index_nonnegative CHECK (chunk_index >= 0),
    content         text NOT NULL,
    token_count     integer NOT NULL DEFAULT 0 CONSTRAINT document_chunks_token_count_nonnegative CHECK (token_count >= 0),
    embedding       vector(1536),
    embedding_model text,
    metadata        jsonb NOT NULL DEFAULT '{}' CONSTRAINT document_chunks_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT document_chunks_document_id_chunk_index_key UNIQUE (document_id, chunk_index)
);
CREATE INDEX document_chunks_project_id_idx ON document_chunks (project_id);
CREATE INDEX document_chunks_embedding_idx ON document_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX document_chunks_content_fts_idx ON document_chunks USING gin (to_tsvector('simple', content));

SELECT chatgraph_manage_updated_at(t)
FROM unnest(ARRAY['datasources', 'documents']::regclass[]) AS t;
