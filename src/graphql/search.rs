//! `semanticSearch`: search a project's documents by meaning, by words, or both.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject};
use serde_json::Value;

use super::{
    context::ContextExt,
    document::{Document, DocumentChunk},
    loaders::{DocumentById, ProjectById, load},
    node::input_id,
};
use crate::{
    error::AppError,
    models::search::ChunkFilter,
    services::search::{self, Embedding, Hit, Mode, Question},
};

/// How `semanticSearch` finds chunks.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Nearest embeddings (cosine similarity) to the query's embedding or the given vector.
    Vector,
    /// Full-text match of the query's words, with highlights.
    Keyword,
    /// Both, ranked by reciprocal rank fusion (k = 60).
    Hybrid,
}

/// Which chunks may match. All conditions must hold.
#[derive(InputObject, Default)]
pub struct SearchFilter {
    /// Only chunks of documents of these datasources.
    pub datasource_ids: Option<Vec<ID>>,
    /// Only chunks of these documents.
    pub document_ids: Option<Vec<ID>>,
    /// Only chunks of documents whose metadata contains this JSON object.
    pub metadata: Option<Json<Value>>,
}

/// One chunk found by `semanticSearch`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SearchHit {
    /// What the hits are ordered by: cosine similarity (VECTOR), full-text rank (KEYWORD) or
    /// the fused score (HYBRID).
    pub score: f64,
    /// Cosine similarity to the query, when the vector search found the chunk.
    pub vector_score: Option<f64>,
    /// Its place (1 first) in the keyword results, when the keyword search found it.
    pub keyword_rank: Option<i32>,
    /// The chunk's text around the matching words, which are wrapped in `<mark>`, when the
    /// keyword search found it.
    pub highlight: Option<String>,
    #[graphql(skip)]
    hit: Hit,
}

#[async_graphql::ComplexObject]
impl SearchHit {
    /// The chunk.
    async fn chunk(&self) -> DocumentChunk {
        DocumentChunk(self.hit.chunk.clone())
    }

    /// The document the chunk belongs to.
    async fn document(&self, ctx: &Context<'_>) -> Result<Option<Document>> {
        Ok(load(ctx, DocumentById(self.hit.chunk.document_id)).await?.map(Document))
    }
}

impl From<Hit> for SearchHit {
    fn from(hit: Hit) -> Self {
        SearchHit {
            score: hit.score,
            vector_score: hit.vector_score,
            keyword_rank: hit.keyword_rank,
            highlight: hit.highlight.clone(),
            hit,
        }
    }
}

/// The search root field.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Searches the documents of a project the caller may read: by meaning (`VECTOR`), by
    /// words (`KEYWORD`) or both (`HYBRID`, the default), best first. Returns at most `first`
    /// hits (1 to 50), all of them when that many chunks match, none of another project.
    #[graphql(complexity = "1 + first.unwrap_or(10).clamp(0, 50) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)] // The arguments of the design's field.
    async fn semantic_search(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project whose documents are searched.")] project_id: ID,
        #[graphql(desc = "What to look for, in words (at most 1,000 characters).")] query: Option<String>,
        #[graphql(desc = "A query vector from the model the chunks were embedded with, instead of embedding `query`.")]
        vector: Option<Vec<f32>>,
        #[graphql(desc = "How many hits (1 to 50; 10 when not given).")] first: Option<i32>,
        #[graphql(desc = "Which chunks may match.")] filter: Option<SearchFilter>,
        #[graphql(desc = "Leave out hits scoring below this.")] min_score: Option<f64>,
        #[graphql(desc = "How to search (HYBRID when not given).")] mode: Option<SearchMode>,
        #[graphql(
            desc = "Search by vector only among chunks of this embedding model (`provider/model`); needed with `vector` when several models in use have its dimension."
        )]
        embedding_model: Option<String>,
    ) -> Result<Vec<SearchHit>> {
        let project = input_id(&project_id, "Project", "projectId").map_err(|e| ctx.error(e))?;
        // The caller's read rules: a project they may not read is not found.
        let Some(project) = load(ctx, ProjectById(project)).await? else {
            return Err(ctx.error(AppError::NotFound("project")));
        };
        let filter = filter.unwrap_or_default();
        let ids = |ids: Option<Vec<ID>>, kind: &str, field: &str| {
            ids.map(|ids| {
                ids.iter()
                    .map(|id| input_id(id, kind, field))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
        };
        let chunks = ChunkFilter {
            document_ids: ids(filter.document_ids, "Document", "documentIds").map_err(|e| ctx.error(e))?,
            datasource_ids: ids(filter.datasource_ids, "Datasource", "datasourceIds").map_err(|e| ctx.error(e))?,
            metadata: filter.metadata.map(|m| m.0),
        };
        let mode = match mode.unwrap_or(SearchMode::Hybrid) {
            SearchMode::Vector => Mode::Vector,
            SearchMode::Keyword => Mode::Keyword,
            SearchMode::Hybrid => Mode::Hybrid,
        };
        let question = Question {
            text: query,
            vector,
            embedding_model,
        };
        let request = ctx.request();
        let providers = request.generations().providers();
        let embedding = Embedding {
            providers: &providers,
            keyring: &request.authenticator().keyring,
            organization_id: project.organization_id,
        };
        let mut conn = ctx.conn().await?;
        let hits = search::search(
            &mut conn,
            (project.id, &embedding),
            mode,
            question,
            &chunks,
            i64::from(first.unwrap_or(10)),
            min_score,
        )
        .await
        .map_err(|e| ctx.error(e))?;
        Ok(hits.into_iter().map(SearchHit::from).collect())
    }
}
