//! Citations: the passages of documents an answer was given, by their number in its prompt.
//! A citation keeps its excerpt when re-indexing replaces the chunk (`chunk_id` becomes null).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::insert_returning;
use crate::db::schema::message_citations;

/// One passage an answer was given.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = message_citations, check_for_backend(diesel::pg::Pg))]
pub struct CitationRow {
    pub id: Uuid,
    pub message_id: Uuid,
    /// Its number in the prompt (`[1]` first).
    pub position: i32,
    pub document_id: Uuid,
    pub chunk_id: Option<Uuid>,
    pub score: f64,
    pub excerpt: String,
    /// Where in the document: `headings`, `page`.
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

/// A new citation.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = message_citations)]
pub struct NewCitation {
    pub id: Uuid,
    pub message_id: Uuid,
    pub position: i32,
    pub document_id: Uuid,
    pub chunk_id: Option<Uuid>,
    pub score: f64,
    pub excerpt: String,
    pub metadata: Value,
}

insert_returning!(NewCitation => CitationRow, message_citations);
