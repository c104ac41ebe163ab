//! `Document` and its `DocumentChunk`s (one model file, `models/document.rs`), the document
//! filter, and the document mutations.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::datasource::{Datasource, DeleteKnowledgeInput, DeleteKnowledgePayload};
use super::{
    connection::{DocumentChunkConnection, PageArgs, load_connection},
    context::ContextExt,
    file::File,
    loaders::{DatasourceById, DocumentById, FileById, load},
    mutation::{UserError, change, write},
    node::{global_id, input_id, optional_argument_id, optional_id},
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::{DocumentOrigin, DocumentStatus},
    error::AppResult,
    models::{
        document::{DocumentChunkRow, DocumentRow},
        filters::DocumentConditions,
        lists,
        page::Filter,
    },
    services::{
        audit::Action,
        knowledge::{self, DocumentFields},
    },
};

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
    /// The conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        Ok(DocumentConditions {
            datasource_id: optional_argument_id(self.datasource_id.as_ref(), "Datasource", "filter.datasourceId")?,
            status: self.status,
            title_contains: self.title_contains,
        }
        .into())
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

    /// The raw UUID of this document.
    async fn uuid(&self) -> uuid::Uuid {
        self.0.id
    }

    /// SHA-256 of its content (hex): unchanged content has the same hash.
    async fn content_hash(&self) -> Option<&str> {
        self.0.content_hash.as_deref()
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

    /// Why indexing failed (status `FAILED`): null otherwise.
    async fn index_error(&self) -> Option<&str> {
        self.0.index_error.as_deref()
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Where its text comes from: given (TEXT), an uploaded file (FILE) or a URL (URL).
    async fn origin(&self) -> DocumentOrigin {
        self.0.origin
    }

    /// The uploaded file its text was read from (origin FILE), while the file exists.
    async fn file(&self, ctx: &Context<'_>) -> Result<Option<File>> {
        let Some(id) = self.0.file_id else {
            return Ok(None);
        };
        Ok(load(ctx, FileById(id)).await?.map(File))
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

/// Input of `createDocument`.
#[derive(InputObject)]
pub struct CreateDocumentInput {
    /// The project (needs `documents.write` there).
    pub project_id: ID,
    /// The datasource it belongs to, one of the same project.
    pub datasource_id: Option<ID>,
    /// Its id in the datasource's system, unique per datasource (1 to 500 characters).
    pub external_id: Option<String>,
    /// Title (1 to 1,000 characters).
    pub title: String,
    /// The text (at most 1,000,000 characters); it waits for ingestion as PENDING.
    pub content: Option<String>,
    /// Where it comes from (http or https URL).
    pub source_url: Option<String>,
    /// Its media type, such as `text/markdown`.
    pub mime_type: Option<String>,
    /// Free metadata, a JSON object of at most 64 KiB.
    pub metadata: Option<Json<Value>>,
}

/// Input of `updateDocument`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateDocumentInput {
    /// The document to change.
    pub id: ID,
    /// Title (1 to 1,000 characters).
    pub title: Option<String>,
    /// New text: the document becomes PENDING again and its old chunks are dropped.
    pub content: Option<String>,
    /// Where it comes from; null clears it.
    pub source_url: MaybeUndefined<String>,
    /// Its media type; null clears it.
    pub mime_type: MaybeUndefined<String>,
    /// Free metadata (replaces it).
    pub metadata: Option<Json<Value>>,
}

/// Input of `createDocumentFromFile`.
#[derive(InputObject)]
pub struct CreateDocumentFromFileInput {
    /// The project (needs `documents.write` there).
    pub project_id: ID,
    /// An uploaded file of the project (`uploadFile` without a chat): plain text, markdown,
    /// HTML, PDF, JSON or CSV.
    pub file_id: ID,
    /// The datasource it belongs to, one of the same project.
    pub datasource_id: Option<ID>,
    /// Title (1 to 1,000 characters); the file's name when omitted.
    pub title: Option<String>,
    /// Free metadata, a JSON object of at most 64 KiB.
    pub metadata: Option<Json<Value>>,
}

/// Input of `createDocumentFromUrl`.
#[derive(InputObject)]
pub struct CreateDocumentFromUrlInput {
    /// A WEB datasource (needs `documents.write` in its project).
    pub datasource_id: ID,
    /// The page: an http or https URL on a public address.
    pub url: String,
    /// Title (1 to 1,000 characters); the URL when omitted.
    pub title: Option<String>,
    /// Free metadata, a JSON object of at most 64 KiB.
    pub metadata: Option<Json<Value>>,
}

/// Input of `refreshDocument`.
#[derive(InputObject)]
pub struct RefreshDocumentInput {
    /// A document read from a file or a URL.
    pub id: ID,
}

/// The result of `createDocument` and `updateDocument`.
#[derive(SimpleObject)]
pub struct DocumentPayload {
    /// The document as it is now, unless there were user errors.
    pub document: Option<Document>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}
/// Document mutations.
#[derive(Default)]
pub struct DocumentMutation;

#[Object]
impl DocumentMutation {
    /// Creates a document whose text is read from an uploaded file (PDF, HTML, markdown,
    /// text, JSON, CSV) when it is indexed: PENDING, then INDEXED or FAILED with the reason.
    async fn create_document_from_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateDocumentFromFileInput,
    ) -> Result<DocumentPayload> {
        let (document, user_errors) = write(ctx, Action::DocumentCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let file_id = input_id(&input.file_id, "File", "fileId")?;
            let datasource_id = optional_id(input.datasource_id.as_ref(), "Datasource", "datasourceId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::DocumentsWrite).await?;
            let fields = DocumentFields {
                datasource_id,
                title: input.title,
                metadata: input.metadata.map(|m| m.0),
                ..DocumentFields::default()
            };
            knowledge::create_document_from_file(tx, &grant, file_id, fields).await
        })
        .await?;
        Ok(DocumentPayload {
            document: document.map(Document),
            user_errors,
        })
    }

    /// Creates a document in a WEB datasource whose text is fetched from a URL when it is
    /// indexed (size, time and redirect limits; internal addresses refused).
    async fn create_document_from_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateDocumentFromUrlInput,
    ) -> Result<DocumentPayload> {
        let policy = ctx.request().authenticator().outbound;
        let (document, user_errors) = write(ctx, Action::DocumentCreate, async |tx| {
            let id = input_id(&input.datasource_id, "Datasource", "datasourceId")?;
            let datasource = tx.granted(id, Permission::DocumentsWrite).await?;
            let fields = DocumentFields {
                title: input.title,
                metadata: input.metadata.map(|m| m.0),
                ..DocumentFields::default()
            };
            knowledge::create_document_from_url(tx, (&datasource, &policy), &input.url, fields).await
        })
        .await?;
        Ok(DocumentPayload {
            document: document.map(Document),
            user_errors,
        })
    }

    /// Reads a file or URL document's source again; it is indexed again only if its text
    /// changed.
    async fn refresh_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RefreshDocumentInput,
    ) -> Result<DocumentPayload> {
        let (document, user_errors) = write(ctx, Action::DocumentRefresh, async |tx| {
            let id = input_id(&input.id, "Document", "id")?;
            let document = tx.granted(id, Permission::DocumentsWrite).await?;
            knowledge::refresh_document(tx, &document).await
        })
        .await?;
        Ok(DocumentPayload {
            document: document.map(Document),
            user_errors,
        })
    }

    /// Creates a document, PENDING until ingestion.
    async fn create_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateDocumentInput,
    ) -> Result<DocumentPayload> {
        let (document, user_errors) = write(ctx, Action::DocumentCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let datasource_id = optional_id(input.datasource_id.as_ref(), "Datasource", "datasourceId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::DocumentsWrite).await?;
            let fields = DocumentFields {
                datasource_id,
                external_id: input.external_id,
                title: Some(input.title),
                source_url: Some(input.source_url),
                content: input.content,
                mime_type: Some(input.mime_type),
                metadata: input.metadata.map(|m| m.0),
            };
            knowledge::create_document(tx, &grant, fields).await
        })
        .await?;
        Ok(DocumentPayload {
            document: document.map(Document),
            user_errors,
        })
    }

    /// Changes a document; new content makes it PENDING again.
    async fn update_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateDocumentInput,
    ) -> Result<DocumentPayload> {
        let (document, user_errors) = write(ctx, Action::DocumentUpdate, async |tx| {
            let document = tx
                .granted(input_id(&input.id, "Document", "id")?, Permission::DocumentsWrite)
                .await?;
            let fields = DocumentFields {
                title: input.title,
                source_url: change(input.source_url),
                content: input.content,
                mime_type: change(input.mime_type),
                metadata: input.metadata.map(|m| m.0),
                ..Default::default()
            };
            knowledge::update_document(tx, &document, fields).await
        })
        .await?;
        Ok(DocumentPayload {
            document: document.map(Document),
            user_errors,
        })
    }

    /// Deletes a document with its chunks.
    async fn delete_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteKnowledgeInput,
    ) -> Result<DeleteKnowledgePayload> {
        let (deleted_id, user_errors) = write(ctx, Action::DocumentDelete, async |tx| {
            let document = tx
                .granted(input_id(&input.id, "Document", "id")?, Permission::DocumentsWrite)
                .await?;
            knowledge::delete_document(tx, &document).await?;
            Ok(global_id("Document", document.id))
        })
        .await?;
        Ok(DeleteKnowledgePayload {
            deleted_id,
            user_errors,
        })
    }
}
