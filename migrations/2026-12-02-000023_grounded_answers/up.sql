-- Answers grounded in documents (docs/knowledge.md, "Grounded answers"). An assistant's
-- knowledge is a set of datasources of its project; each answer records the passages it was
-- given (its citations). A citation keeps its excerpt when re-indexing replaces the chunk.
CREATE TABLE assistant_datasources (
    assistant_id  uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    datasource_id uuid NOT NULL REFERENCES datasources (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assistant_id, datasource_id)
);
CREATE INDEX assistant_datasources_datasource_id_idx ON assistant_datasources (datasource_id);

CREATE TABLE message_citations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position    integer NOT NULL CONSTRAINT message_citations_position_positive CHECK (position >= 1),
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_id    uuid REFERENCES document_chunks (id) ON DELETE SET NULL,
    score       double precision NOT NULL,
    excerpt     text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}' CONSTRAINT message_citations_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_citations_message_id_position_key UNIQUE (message_id, position)
);
CREATE INDEX message_citations_document_id_idx ON message_citations (document_id);
CREATE INDEX message_citations_chunk_id_idx ON message_citations (chunk_id);
