DROP INDEX documents_file_id_idx;
ALTER TABLE documents DROP COLUMN file_id, DROP COLUMN origin;
