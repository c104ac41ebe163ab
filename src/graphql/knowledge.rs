//! Knowledge: `Datasource`, `Document` and `DocumentChunk`, and the document filter.

use async_graphql::{Context, ID, InputObject, Json, Object, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    connection::{DocumentChunkConnection, PageArgs, load_connection},
    loaders::{DatasourceById, DocumentById, load},
    node::{argument_id, global_id},
};
use crate::{
    db::enums::{DatasourceKind, DatasourceStatus, DocumentStatus},
    error::AppResult,
    models::{
        datasource::DatasourceRow,
        document::{DocumentChunkRow, DocumentRow},
        lists,
        page::{Filter, FilterValue},
    },
};

/// Where documents come from: entered by hand, crawled, synced from a service.
pub struct Datasource(pub DatasourceRow);

/// Where documents come from: entered by hand, crawled, synced from a service.
#[Object]
impl Datasource {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Datasource", self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What kind of source it is.
    async fn kind(&self) -> DatasourceKind {
        self.0.kind
    }

    /// Source settings (URLs, schedules; never secrets, which live in credentials).
    async fn config(&self) -> Json<&Value> {
        Json(&self.0.config)
    }

    /// Sync state.
    async fn status(&self) -> DatasourceStatus {
        self.0.status
    }

    /// When the last sync finished.
    async fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_synced_at
    }

    /// Why the last sync failed, if it did.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which documents to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct DocumentFilter {
    /// Only documents of this datasource.
    pub datasource_id: Option<ID>,
    /// Only documents in this state.
    pub status: Option<DocumentStatus>,
    /// Only documents whose title contains this text (case-insensitive).
    pub title_contains: Option<String>,
}

impl DocumentFilter {
    /// The SQL conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        let datasource = self
            .datasource_id
            .map(|id| argument_id(&id, "Datasource", "filter.datasourceId"))
            .transpose()?;
        Ok(Filter::none()
            .with("c.datasource_id = $?", datasource, FilterValue::Uuid)
            .with(
                "c.status = $?",
                self.status.map(|s| s.as_str().to_owned()),
                FilterValue::Text,
            )
            .with(
                "strpos(lower(c.title), lower($?)) > 0",
                self.title_contains,
                FilterValue::Text,
            ))
    }
}

/// A text in a project's knowledge, split into chunks for search.
pub struct Document(pub DocumentRow);

/// A text in a project's knowledge, split into chunks for search.
#[Object]
impl Document {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Document", self.0.id)
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Where it came from, if it has an address.
    async fn source_url(&self) -> Option<&str> {
        self.0.source_url.as_deref()
    }

    /// Its full text.
    async fn content(&self) -> &str {
        &self.0.content
    }

    /// Media type of the original.
    async fn mime_type(&self) -> Option<&str> {
        self.0.mime_type.as_deref()
    }

    /// Free metadata (JSON).
    async fn metadata(&self) -> Json<&Value> {
        Json(&self.0.metadata)
    }

    /// Indexing state.
    async fn status(&self) -> DocumentStatus {
        self.0.status
    }

    /// When it was last chunked and embedded.
    async fn indexed_at(&self) -> Option<DateTime<Utc>> {
        self.0.indexed_at
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The datasource it came from, if any.
    async fn datasource(&self, ctx: &Context<'_>) -> Result<Option<Datasource>> {
        let Some(id) = self.0.datasource_id else {
            return Ok(None);
        };
        Ok(load(ctx, DatasourceById(id)).await?.map(Datasource))
    }

    /// Its chunks, in document order.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn chunks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<DocumentChunkConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::DOCUMENT_CHUNKS,
            self.0.id,
            args,
            Filter::none(),
            DocumentChunk,
        )
        .await
    }
}

/// A piece of a document, embedded for vector search.
pub struct DocumentChunk(pub DocumentChunkRow);

/// A piece of a document, embedded for vector search.
#[Object]
impl DocumentChunk {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("DocumentChunk", self.0.id)
    }

    /// Position in the document (0 first).
    async fn chunk_index(&self) -> i32 {
        self.0.chunk_index
    }

    /// Its text.
    async fn content(&self) -> &str {
        &self.0.content
    }

    /// Its length in tokens.
    async fn token_count(&self) -> i32 {
        self.0.token_count
    }

    /// The model that embedded it.
    async fn embedding_model(&self) -> Option<&str> {
        self.0.embedding_model.as_deref()
    }

    /// The embedding vector; only sent when asked for (it is large).
    async fn embedding(&self) -> Option<Vec<f32>> {
        self.0.embedding.as_ref().map(|v| v.to_vec())
    }

    /// Free metadata (JSON).
    async fn metadata(&self) -> Json<&Value> {
        Json(&self.0.metadata)
    }

    /// The document it belongs to.
    async fn document(&self, ctx: &Context<'_>) -> Result<Option<Document>> {
        Ok(load(ctx, DocumentById(self.0.document_id)).await?.map(Document))
    }
}
