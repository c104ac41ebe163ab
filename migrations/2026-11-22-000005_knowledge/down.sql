DROP TABLE document_chunks;
DROP TABLE documents;
DROP TABLE datasources;
