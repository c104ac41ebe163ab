DROP INDEX document_chunks_embedding_256_idx, document_chunks_embedding_384_idx,
    document_chunks_embedding_512_idx, document_chunks_embedding_768_idx,
    document_chunks_embedding_1024_idx, document_chunks_embedding_1536_idx,
    document_chunks_embedding_3072_idx, document_chunks_project_id_embedding_model_idx;
DELETE FROM document_chunks WHERE embedding IS NOT NULL AND vector_dims(embedding) <> 1536;
ALTER TABLE document_chunks
    DROP CONSTRAINT document_chunks_embedding_dimensions,
    DROP CONSTRAINT document_chunks_embedding_model_named,
    ALTER COLUMN embedding TYPE vector(1536);
CREATE INDEX document_chunks_project_id_idx ON document_chunks (project_id);
CREATE INDEX document_chunks_embedding_idx ON document_chunks USING hnsw (embedding vector_cosine_ops);
UPDATE document_chunks SET embedding_model = 'chatgraph-offline-hashing-v1'
WHERE embedding_model = 'offline/chatgraph-offline-hashing-v1';
ALTER TABLE datasources DROP COLUMN embedding_model;
