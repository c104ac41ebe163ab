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
//!
//! A document read from an uploaded file or a URL gets its text here first
//! ([`super::extraction`]; pages fetched under the outbound policy, [`crate::outbound`]):
//! when the text is what was indexed before, nothing is embedded again. Chunks of markdown
//! (and HTML) record the headings above them, chunks of a PDF their page.

use std::{ops::Range, sync::Arc};

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};
use uuid::Uuid;

use crate::{
    db::{
        enums::{DocumentOrigin, DocumentStatus},
        new_id,
        schema::{document_chunks, documents},
    },
    error::AppError,
    jobs::{Enqueue, JobContext, JobError},
    models::{
        datasource::DatasourceRow,
        document::{DocumentPatch, DocumentRow, NewDocumentChunk},
        file::FileRow,
        job::JobRow,
        project::ProjectRow,
    },
    outbound,
    providers::{ProviderError, openai::embeddings::BATCH, registry::Providers, tokens},
    services::{
        auth::Authenticator,
        embeddings,
        extraction::{self, Format},
    },
    storage::FileStore,
};

/// What indexing needs besides the database: the configured providers (the platform's are
/// read at each run), the keyring that opens an organization's own key and the outbound
/// policy (in [`Authenticator`]), and the uploaded files.
#[derive(Clone)]
pub struct Indexer {
    /// The configured providers and default embedding model.
    pub providers: Providers,
    /// The keyring's and the outbound policy's holder.
    pub auth: Arc<Authenticator>,
    /// Uploaded files' bytes.
    pub files: FileStore,
}

/// Largest page fetched for a URL document.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
/// Longest wait for a URL document's page.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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

/// Queues reading a file or URL document's source again (its page may have changed): once
/// while one such run waits.
pub async fn queue_refresh(conn: &mut AsyncPgConnection, document: &DocumentRow) -> diesel::QueryResult<()> {
    Enqueue::new(KIND, json!({ "documentId": document.id }))
        .in_project(document.project_id)
        .unique(format!("{KIND}:{}:refresh", document.id))
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
    let (content, format, hash) = match document.origin {
        DocumentOrigin::Text => {
            let markdown = document
                .mime_type
                .as_deref()
                .is_none_or(|mime| mime.starts_with("text/markdown") || mime.starts_with("text/x-markdown"));
            let format = if markdown { Format::Markdown } else { Format::Text };
            (document.content.clone(), format, document.content_hash.clone())
        }
        DocumentOrigin::File | DocumentOrigin::Url => {
            let (text, format) = read_source(ctx, indexer, &document).await?;
            let hash = super::knowledge::content_hash(&text);
            if document.content_hash.as_deref() == Some(hash.as_str()) && document.indexed_at.is_some() {
                let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
                DocumentPatch {
                    status: Some(DocumentStatus::Indexed),
                    index_error: Some(None),
                    ..DocumentPatch::default()
                }
                .apply(&mut conn, document_id)
                .await?;
                return Ok(json!({ "skipped": "the source's text is unchanged" }));
            }
            let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
            DocumentPatch {
                content: Some(text.clone()),
                content_hash: Some(Some(hash.clone())),
                ..DocumentPatch::default()
            }
            .apply(&mut conn, document_id)
            .await?;
            (text, format, Some(hash))
        }
    };
    let text = content.clone();
    let pieces = tokio::task::spawn_blocking(move || split(&text, format.is_markdown()))
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
    let headings = if format.is_markdown() {
        extraction::headings(&content)
    } else {
        Vec::new()
    };
    let place = |start: usize| {
        let mut metadata = json!({});
        if format == Format::Pdf {
            metadata["page"] = json!(extraction::page_at(&content, start));
        }
        let path = extraction::heading_path(&headings, start);
        if !path.is_empty() {
            metadata["headings"] = json!(path);
        }
        metadata
    };
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
            metadata: {
                let mut metadata = place(piece.start + extraction::body_offset(&piece.text));
                metadata["start"] = json!(piece.start);
                metadata["end"] = json!(piece.start + piece.text.len());
                metadata
            },
            content: piece.text,
        })
        .collect();
    let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
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

/// The text of a file or URL document's source, and its format.
async fn read_source(
    ctx: &JobContext,
    indexer: &Indexer,
    document: &DocumentRow,
) -> Result<(String, Format), JobError> {
    let (bytes, content_type, name) = match document.origin {
        DocumentOrigin::File => {
            let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
            let file = match document.file_id {
                Some(id) => FileRow::find(&mut conn, id).await?,
                None => None,
            };
            drop(conn);
            let file = file.ok_or_else(|| JobError::permanent("the file it was read from was deleted"))?;
            let bytes = indexer
                .files
                .get(&file.storage_key)
                .await
                .map_err(|_| JobError::transient("the file could not be read from storage"))?;
            (bytes, Some(file.content_type), file.filename)
        }
        _ => {
            let url = document
                .source_url
                .as_deref()
                .and_then(|u| reqwest::Url::parse(u).ok())
                .ok_or_else(|| JobError::permanent("the document has no valid URL"))?;
            let policy = indexer.auth.outbound.for_pages();
            let page = outbound::fetch(&policy, url.clone(), MAX_PAGE_BYTES, FETCH_TIMEOUT)
                .await
                .map_err(|why| JobError::transient(format!("the page could not be fetched: {why}")))?;
            (page.bytes, page.content_type, page.url.to_string())
        }
    };
    let format = Format::of(content_type.as_deref(), &name).ok_or_else(|| {
        JobError::permanent(format!(
            "its type ({}) cannot be read; documents are {}",
            content_type.as_deref().unwrap_or("unknown"),
            extraction::SUPPORTED
        ))
    })?;
    let text = extraction::extract(format, bytes)
        .await
        .map_err(|why| JobError::permanent(format!("the source could not be read: {why}")))?;
    Ok((text, format))
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
