-- Documents are indexed by a job (src/services/ingestion.rs, docs/jobs.md): `processing`
-- while it runs, and why it failed when it did.
ALTER TABLE documents
    DROP CONSTRAINT documents_status_check,
    ADD CONSTRAINT documents_status_check CHECK (status IN ('pending', 'processing', 'indexed', 'failed')),
    ADD COLUMN index_error text;
