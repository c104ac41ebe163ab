UPDATE documents SET status = 'pending' WHERE status = 'processing';
ALTER TABLE documents
    DROP COLUMN index_error,
    DROP CONSTRAINT documents_status_check,
    ADD CONSTRAINT documents_status_check CHECK (status IN ('pending', 'indexed', 'failed'));
