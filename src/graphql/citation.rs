//! `Citation`: a passage of a document an answer was given (`Message.citations`).

use async_graphql::{Context, Json, Object, Result};
use serde_json::Value;

use super::{
    document::{Document, DocumentChunk},
    loaders::{ChunkById, DocumentById, load},
};
use crate::models::citation::CitationRow;

/// A passage of a document an answer was given, by its number in the prompt. Seen as the
/// message is; its document and chunk only by those who may read the document.
pub struct Citation(pub CitationRow);

/// A passage of a document an answer was given, by its number in the prompt.
#[Object]
impl Citation {
    /// Its number (`[1]` first), as the answer refers to it.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// How well it matched the question (the search's fused score).
    async fn score(&self) -> f64 {
        self.0.score
    }

    /// The passage's text as it was given.
    async fn excerpt(&self) -> &str {
        &self.0.excerpt
    }

    /// Where in the document: `headings` (the heading path), `page` (PDF).
    async fn metadata(&self) -> Json<&Value> {
        Json(&self.0.metadata)
    }

    /// The document, if the caller may read it.
    async fn document(&self, ctx: &Context<'_>) -> Result<Option<Document>> {
        Ok(load(ctx, DocumentById(self.0.document_id)).await?.map(Document))
    }

    /// The chunk, while it exists (indexing again replaces chunks) and the caller may read
    /// its document.
    async fn chunk(&self, ctx: &Context<'_>) -> Result<Option<DocumentChunk>> {
        let Some(chunk_id) = self.0.chunk_id else {
            return Ok(None);
        };
        if load(ctx, DocumentById(self.0.document_id)).await?.is_none() {
            return Ok(None);
        }
        Ok(load(ctx, ChunkById(chunk_id)).await?.map(DocumentChunk))
    }
}
