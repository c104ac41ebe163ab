-- Vectors stay in the table's own pages (storage MAIN) instead of the TOAST table: a
-- 1,536-dimension vector is 6 KB, above the 2 KB at which PostgreSQL moves a value out of
-- line, so an exact search of a project's chunks read every vector through a TOAST lookup
-- (about 2.5 times slower, docs/benchmarks.md). Rows that do not fit a page (3,072
-- dimensions) still go out of line. Applies to rows written from now on; indexing a document
-- again rewrites its chunks.
ALTER TABLE document_chunks ALTER COLUMN embedding SET STORAGE MAIN;
