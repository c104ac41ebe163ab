//! Documents and their chunks with embeddings (of any [`EMBEDDING_DIMENSIONS`]), searched by
//! similarity.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pgvector::Vector;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, project::ProjectRow, update_returning};
use crate::db::{
    enums::{DocumentOrigin, DocumentStatus},
    schema::{document_chunks, documents},
};

/// The dimensions a stored embedding may have: each has its own HNSW index (migration 21).
pub const EMBEDDING_DIMENSIONS: [usize; 7] = [256, 384, 512, 768, 1024, 1536, 3072];

/// The type a vector of `dimensions` is indexed and compared as (`vector(n)`, or `halfvec(n)`
/// above pgvector's 2,000 dimensions for `vector` indexes); None for an unsupported dimension.
pub fn indexed_type(dimensions: usize) -> Option<String> {
    match dimensions {
        d if !EMBEDDING_DIMENSIONS.contains(&d) => None,
        d if d > 2_000 => Some(format!("halfvec({d})")),
        d => Some(format!("vector({d})")),
    }
}

/// A document of a project, from a datasource or added directly.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = documents, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct DocumentRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub datasource_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub title: String,
    pub source_url: Option<String>,
    pub content: String,
    pub content_hash: Option<String>,
    pub mime_type: Option<String>,
    pub metadata: Value,
    pub status: DocumentStatus,
    pub indexed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why the last indexing failed (status `failed`).
    pub index_error: Option<String>,
    /// Where its text comes from.
    pub origin: DocumentOrigin,
    /// The uploaded file it was read from (origin `file`), while the file exists.
    pub file_id: Option<Uuid>,
}

/// A new document.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = documents)]
pub struct NewDocument {
    pub id: Uuid,
    pub project_id: Uuid,
    pub datasource_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub title: String,
    pub source_url: Option<String>,
    pub content: String,
    pub content_hash: Option<String>,
    pub mime_type: Option<String>,
    pub metadata: Value,
    pub status: DocumentStatus,
    pub indexed_at: Option<DateTime<Utc>>,
    pub origin: DocumentOrigin,
    pub file_id: Option<Uuid>,
}

/// A change to a document.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = documents)]
pub struct DocumentPatch {
    pub title: Option<String>,
    pub source_url: Option<Option<String>>,
    pub content: Option<String>,
    pub content_hash: Option<Option<String>>,
    pub mime_type: Option<Option<String>>,
    pub metadata: Option<Value>,
    pub status: Option<DocumentStatus>,
    pub indexed_at: Option<Option<DateTime<Utc>>>,
    pub index_error: Option<Option<String>>,
}

find_by_id!(DocumentRow, documents);
insert_returning!(NewDocument => DocumentRow, documents);
update_returning!(DocumentPatch => DocumentRow, documents);

/// A piece of a document with its embedding.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = document_chunks, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(DocumentRow, foreign_key = document_id))]
pub struct DocumentChunkRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub project_id: Uuid,
    pub chunk_index: i32,
    pub content: String,
    pub token_count: i32,
    pub embedding: Option<Vector>,
    pub embedding_model: Option<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

/// A new chunk.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = document_chunks)]
pub struct NewDocumentChunk {
    pub id: Uuid,
    pub document_id: Uuid,
    pub project_id: Uuid,
    pub chunk_index: i32,
    pub content: String,
    pub token_count: i32,
    pub embedding: Option<Vector>,
    pub embedding_model: Option<String>,
    pub metadata: Value,
}

find_by_id!(DocumentChunkRow, document_chunks);
insert_returning!(NewDocumentChunk => DocumentChunkRow, document_chunks);
