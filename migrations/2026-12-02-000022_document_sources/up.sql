-- Where a document's text comes from (docs/knowledge.md, "Sources"): given as text, read from
-- an uploaded file, or fetched from a URL. The text of a file or URL document is extracted
-- by its indexing job; the file may be deleted later, the document keeps its text.
ALTER TABLE documents
    ADD COLUMN origin text NOT NULL DEFAULT 'text'
        CONSTRAINT documents_origin_check CHECK (origin IN ('text', 'file', 'url')),
    ADD COLUMN file_id uuid REFERENCES files (id) ON DELETE SET NULL;
CREATE INDEX documents_file_id_idx ON documents (file_id);
