-- Embeddings of several models and dimensions (docs/knowledge.md, "Embedding models").
--
-- Each datasource records the embedding model of its documents (`provider/model`); each chunk
-- records the model its vector was made by, and search compares a query vector only with
-- chunks of the same model. The vector column has no fixed dimension; one partial HNSW
-- index per supported dimension indexes the vectors of that dimension (cast to it), so a
-- search names the dimension and uses its index. Dimensions above pgvector's 2,000 for
-- `vector` are indexed as `halfvec`.
-- (chatgraph always names the model; the default is for rows written by hand.)
ALTER TABLE datasources
    ADD COLUMN embedding_model text NOT NULL DEFAULT 'offline/chatgraph-offline-hashing-v1'
        CONSTRAINT datasources_embedding_model_format CHECK (embedding_model ~ '^[^/]+/.+$');

UPDATE document_chunks SET embedding_model = 'offline/' || embedding_model
WHERE embedding_model = 'chatgraph-offline-hashing-v1';

DROP INDEX document_chunks_embedding_idx;
DROP INDEX document_chunks_project_id_idx;
ALTER TABLE document_chunks
    ALTER COLUMN embedding TYPE vector,
    ADD CONSTRAINT document_chunks_embedding_dimensions
        CHECK (embedding IS NULL OR vector_dims(embedding) IN (256, 384, 512, 768, 1024, 1536, 3072)),
    ADD CONSTRAINT document_chunks_embedding_model_named
        CHECK (embedding IS NULL OR embedding_model IS NOT NULL);
-- The project's chunks by model: which models a project's search must embed the query with.
CREATE INDEX document_chunks_project_id_embedding_model_idx ON document_chunks (project_id, embedding_model);
CREATE INDEX document_chunks_embedding_256_idx ON document_chunks
    USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE vector_dims(embedding) = 256;
CREATE INDEX document_chunks_embedding_384_idx ON document_chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX document_chunks_embedding_512_idx ON document_chunks
    USING hnsw ((embedding::vector(512)) vector_cosine_ops) WHERE vector_dims(embedding) = 512;
CREATE INDEX document_chunks_embedding_768_idx ON document_chunks
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE vector_dims(embedding) = 768;
CREATE INDEX document_chunks_embedding_1024_idx ON document_chunks
    USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE vector_dims(embedding) = 1024;
CREATE INDEX document_chunks_embedding_1536_idx ON document_chunks
    USING hnsw ((embedding::vector(1536)) vector_cosine_ops) WHERE vector_dims(embedding) = 1536;
CREATE INDEX document_chunks_embedding_3072_idx ON document_chunks
    USING hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops) WHERE vector_dims(embedding) = 3072;
