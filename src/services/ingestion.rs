//! Indexing a document: the `document.index` job. The document's text is cut into chunks
//! sized in tokens (markdown-aware: headings, paragraphs and sentences are kept whole where
//! they fit, with an overlap between neighbours), each chunk is embedded by the model of its
//! datasource (or the server's default, see [`super::embeddings`]), and the chunks replace
//! the old ones in one transaction: `pending → processing → indexed`, or `failed` with the
//! reason once no attempt is left. No database connection is held while the embedding
//! provider answers.
//!
//! The job is queued in the transaction that creates the document or changes its content,
//! once per content (its unique key holds the content hash). A run that finds the content
//! changed meanwhile stores nothing: the change queued its own run.

use std::{ops::Range, sync::Arc};

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};
use uuid::Uuid;

use crate::{
    db::{
        enums::DocumentStatus,
        new_id,
        schema::{document_chunks, documents},
    },
    error::AppError,
    jobs::{Enqueue, JobContext, JobError},
    models::{
        datasource::DatasourceRow,
        document::{DocumentPatch, DocumentRow, NewDocumentChunk},
        job::JobRow,
        project::ProjectRow,
    },
    providers::{ProviderError, openai::embeddings::BATCH, registry::Providers, tokens},
    services::{auth::Authenticator, embeddings},
};

/// What indexing needs besides the database: the configured providers (the platform's are
/// read at each run) and the keyring that opens an organization's own key.
#[derive(Clone)]
pub struct Indexer {
    /// The configured providers and default embedding model.
    pub providers: Providers,
    /// The keyring's holder.
    pub auth: Arc<Authenticator>,
}

/// The kind of the indexing job.
pub const KIND: &str = "document.index";

/// How many tokens a chunk holds (it is filled up to the end of the range where the text's
/// structure allows).
const CHUNK_TOKENS: Range<usize> = 200..400;
/// How many tokens neighbouring chunks share, so that a sentence cut at a boundary is found
/// from both sides.
const OVERLAP_TOKENS: usize = 40;
/// The tokenizer that sizes chunks (the embedding models' own, `cl100k_base`).
const TOKENIZER_MODEL: &str = "text-embedding-3-small";

/// Queues the indexing of `document` on `conn` (the transaction that created it or changed
/// its content); nothing when the same content is already waiting.
pub async fn queue(conn: &mut AsyncPgConnection, document: &DocumentRow) -> diesel::QueryResult<()> {
    Enqueue::new(KIND, json!({ "documentId": document.id }))
        .in_project(document.project_id)
        .unique(format!(
            "{KIND}:{}:{}",
            document.id,
            document.content_hash.as_deref().unwrap_or_default()
        ))
        .queue(conn)
        .await?;
    Ok(())
}

/// Runs one indexing job.
pub async fn run(job: JobRow, ctx: JobContext, indexer: Indexer) -> Result<Value, JobError> {
    let document_id = job
        .payload
        .get("documentId")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<Uuid>().ok())
        .ok_or_else(|| JobError::permanent("the job's payload names no document"))?;
    let last_attempt = job.attempts >= job.max_attempts;
    let indexed = index(&ctx, &indexer, document_id).await;
    if let Err(error) = &indexed
        && (!error.retry || last_attempt)
    {
        mark_failed(&ctx, document_id, &error.message).await;
    }
    indexed
}

/// A chunk of text and where it starts in the document (bytes).
struct Piece {
    start: usize,
    text: String,
}

async fn index(ctx: &JobContext, indexer: &Indexer, document_id: Uuid) -> Result<Value, JobError> {
    let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
    let Some(document) = DocumentRow::find(&mut conn, document_id).await? else {
        return Ok(json!({ "skipped": "the document was deleted" }));
    };
    let providers = embeddings::with_platform(&mut conn, &indexer.providers).await?;
    let model_name = match document.datasource_id {
        Some(id) => DatasourceRow::find(&mut conn, id).await?.map(|d| d.embedding_model),
        None => None,
    }
    .unwrap_or_else(|| providers.default_embedding().name());
    let model = providers
        .find_embedding(&model_name)
        .ok_or_else(|| JobError::permanent(format!("the embedding model {model_name} is not configured")))?;
    let organization_id = ProjectRow::find(&mut conn, document.project_id)
        .await?
        .map(|p| p.organization_id)
        .ok_or_else(|| JobError::permanent("the document's project was deleted"))?;
    let embedder = embeddings::embedder(&mut conn, &indexer.auth.keyring, organization_id, &model).await?;
    DocumentPatch {
        status: Some(DocumentStatus::Processing),
        ..DocumentPatch::default()
    }
    .apply(&mut conn, document_id)
    .await?;
    // The provider may take seconds: no pooled connection waits for it.
    drop(conn);
    let markdown = document
        .mime_type
        .as_deref()
        .is_none_or(|mime| mime.starts_with("text/markdown") || mime.starts_with("text/x-markdown"));
    let content = document.content.clone();
    let pieces = tokio::task::spawn_blocking(move || split(&content, markdown))
        .await
        .map_err(|_| JobError::transient("cutting the document into chunks failed"))?;
    let total = pieces.len();
    ctx.report(&json!({ "done": 0, "total": total })).await?;
    let mut vectors = Vec::with_capacity(total);
    for batch in pieces.chunks(BATCH) {
        let texts = batch.iter().map(|p| p.text.clone()).collect();
        let embedded = embedder.embed(texts).await.map_err(embedding_failed)?;
        vectors.extend(embedded.vectors);
        ctx.report(&json!({ "done": vectors.len(), "total": total })).await?;
    }
    let model_name = model.name();
    let chunks: Vec<NewDocumentChunk> = pieces
        .into_iter()
        .zip(vectors)
        .enumerate()
        .map(|(index, (piece, vector))| NewDocumentChunk {
            id: new_id(),
            document_id,
            project_id: document.project_id,
            chunk_index: i32::try_from(index).unwrap_or(i32::MAX),
            token_count: i32::try_from(tokens::count(TOKENIZER_MODEL, &piece.text)).unwrap_or(i32::MAX),
            embedding: Some(vector),
            embedding_model: Some(model_name.clone()),
            metadata: json!({ "start": piece.start, "end": piece.start + piece.text.len() }),
            content: piece.text,
        })
        .collect();
    let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
    let hash = document.content_hash.clone();
    let stored = conn
        .transaction::<_, diesel::result::Error, _>(async |tx| {
            let current: Option<Option<String>> = documents::table
                .find(document_id)
                .select(documents::content_hash)
                .for_update()
                .first(tx)
                .await
                .optional()?;
            if current != Some(hash) {
                return Ok(false);
            }
            diesel::delete(document_chunks::table.filter(document_chunks::document_id.eq(document_id)))
                .execute(tx)
                .await?;
            for batch in chunks.chunks(100) {
                diesel::insert_into(document_chunks::table)
                    .values(batch)
                    .execute(tx)
                    .await?;
            }
            DocumentPatch {
                status: Some(DocumentStatus::Indexed),
                indexed_at: Some(Some(Utc::now())),
                index_error: Some(None),
                ..DocumentPatch::default()
            }
            .apply(tx, document_id)
            .await?;
            let data = json!({ "documentId": document_id, "projectId": document.project_id, "chunks": total });
            super::deliveries::emit(tx, document.project_id, "document.indexed", data).await?;
            Ok(true)
        })
        .await?;
    if !stored {
        return Ok(json!({ "skipped": "the content changed while it was indexed" }));
    }
    ctx.report(&json!({ "done": total, "total": total })).await?;
    Ok(json!({ "chunks": total, "embeddingModel": model_name }))
}

/// A provider's failure as the job's: retried when asking again may help. Its message is the
/// document's `indexError`, so it says what to fix and holds no key.
fn embedding_failed(error: ProviderError) -> JobError {
    let message = format!("embedding failed: {error}");
    if error.is_transient() {
        JobError::transient(message)
    } else {
        JobError::permanent(message)
    }
}

async fn mark_failed(ctx: &JobContext, document_id: Uuid, reason: &str) {
    let marked = async {
        let mut conn = ctx.pool().get().await?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| {
            let document = DocumentPatch {
                status: Some(DocumentStatus::Failed),
                index_error: Some(Some(reason.to_owned())),
                ..DocumentPatch::default()
            }
            .apply(tx, document_id)
            .await?;
            let data = json!({ "documentId": document_id, "projectId": document.project_id, "error": reason });
            super::deliveries::emit(tx, document.project_id, "document.failed", data).await?;
            Ok(())
        })
        .await?;
        anyhow::Ok(())
    };
    if let Err(error) = marked.await {
        tracing::warn!(document.id = %document_id, error = %error, "marking a document failed failed");
    }
}

/// Sizes chunks in tokens.
struct Tokens;

impl ChunkSizer for Tokens {
    fn size(&self, chunk: &str) -> usize {
        usize::try_from(tokens::count(TOKENIZER_MODEL, chunk)).unwrap_or(usize::MAX)
    }
}

/// Cuts `text` into chunks (markdown-aware when `markdown`).
fn split(text: &str, markdown: bool) -> Vec<Piece> {
    let config = ChunkConfig::new(CHUNK_TOKENS)
        .with_sizer(Tokens)
        .with_overlap(OVERLAP_TOKENS)
        .expect("the overlap is smaller than the chunk");
    let pieces: Vec<(usize, &str)> = if markdown {
        MarkdownSplitter::new(config).chunk_indices(text).collect()
    } else {
        TextSplitter::new(config).chunk_indices(text).collect()
    };
    pieces
        .into_iter()
        .map(|(start, text)| Piece {
            start,
            text: text.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_sized_in_tokens_overlap_and_point_back_into_the_text() {
        let paragraph = "Chatgraph keeps every answer. ".repeat(40);
        let text = format!("# Title\n\n{paragraph}\n\n## Part two\n\n{paragraph}\n\n## Part three\n\n{paragraph}");
        let pieces = split(&text, true);
        assert!(pieces.len() >= 3, "{} pieces", pieces.len());
        for piece in &pieces {
            let size = Tokens.size(&piece.text);
            assert!(size <= CHUNK_TOKENS.end, "a chunk of {size} tokens");
            assert_eq!(&text[piece.start..piece.start + piece.text.len()], piece.text);
        }
        assert!(pieces.windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn an_empty_document_has_no_chunks() {
        assert!(split("", true).is_empty());
        assert!(split("   \n\n ", false).is_empty());
    }
}
