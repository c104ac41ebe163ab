//! `semanticSearch`: vector, keyword or hybrid search over a project's chunks. Hybrid ranks
//! by reciprocal rank fusion (k = 60) of the lists: a chunk's score is the sum of
//! `1 / (60 + rank)` over the lists it appears in, so a chunk found by both outranks one found
//! by a single list at the same place.
//!
//! A project's chunks may come from several embedding models (one per datasource). The query
//! text is embedded once per model in use, each vector compared only with its own model's
//! chunks; when there are several, their lists are fused by rank too (cosine similarities of
//! different models are not comparable).

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use pgvector::Vector;
use uuid::Uuid;

use crate::{
    auth::crypto::Keyring,
    error::{AppError, AppResult, FieldError},
    models::{
        document::DocumentChunkRow,
        search::{self, ChunkFilter, ModelInUse, ScoredChunk},
    },
    providers::registry::Providers,
    services::generation::prompt::organization_key,
};

/// The most hits one search returns.
pub const MAX_HITS: i64 = 50;
/// The longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Reciprocal rank fusion's constant.
const RRF_K: f64 = 60.0;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nearest embeddings.
    Vector,
    /// Full-text match.
    Keyword,
    /// Both, fused by rank.
    Hybrid,
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// Words (embedded for vector search, matched for keyword search).
    pub text: Option<String>,
    /// A query vector (of one of the project's embedding models) instead of embedding `text`.
    pub vector: Option<Vec<f32>>,
    /// The embedding model `vector` comes from (needed when several models in use have its
    /// dimension), or the only model whose chunks are searched by vector.
    pub embedding_model: Option<String>,
}

/// What embeds the question: the providers, and the organization whose own key is used.
pub struct Embedding<'a> {
    /// The configured and platform providers.
    pub providers: &'a Providers,
    /// Opens the organization's own key.
    pub keyring: &'a Keyring,
    /// The project's organization.
    pub organization_id: Uuid,
}

/// One hit: the chunk, its final score, and what each search said of it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The chunk.
    pub chunk: DocumentChunkRow,
    /// The score the hits are ordered by (cosine similarity for VECTOR, full-text rank for
    /// KEYWORD, the fused score for HYBRID).
    pub score: f64,
    /// Cosine similarity to the query vector, when the vector search found it.
    pub vector_score: Option<f64>,
    /// Its place (1 first) in the keyword results, when the keyword search found it.
    pub keyword_rank: Option<i32>,
    /// The matching words highlighted (`<mark>`), when the keyword search found it.
    pub highlight: Option<String>,
}

/// Searches `project`'s chunks (the caller's right to read the project is checked before).
#[allow(clippy::too_many_arguments)] // The arguments of the GraphQL field.
pub async fn search(
    conn: &mut AsyncPgConnection,
    (project, embedding): (Uuid, &Embedding<'_>),
    mode: Mode,
    question: Question,
    filter: &ChunkFilter,
    first: i64,
    min_score: Option<f64>,
) -> AppResult<Vec<Hit>> {
    if !(1..=MAX_HITS).contains(&first) {
        return Err(FieldError::input(
            "first",
            "OUT_OF_RANGE",
            format!("first must be between 1 and {MAX_HITS}"),
        )
        .into());
    }
    let text = question.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS) {
        return Err(AppError::BadUserInput(format!(
            "query is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    match (mode, text, &question.vector) {
        (Mode::Vector, None, None) => {
            return Err(AppError::BadUserInput("VECTOR search needs a query or a vector".into()));
        }
        (Mode::Keyword, None, _) => return Err(AppError::BadUserInput("KEYWORD search needs a query".into())),
        (Mode::Hybrid, None, None) => return Err(AppError::BadUserInput("search needs a query or a vector".into())),
        _ => {}
    }
    // Candidates from each list: more than asked for, so that fusion has something to fuse.
    let candidates = if mode == Mode::Hybrid {
        (first * 4).min(200)
    } else {
        first
    };
    let mut by_vector = Vec::new();
    if mode != Mode::Keyword {
        for (model, vector) in query_vectors(conn, project, embedding, &question, text).await? {
            by_vector.push(
                search::nearest(
                    conn,
                    project,
                    filter,
                    vector,
                    &model,
                    (candidates, search::EXACT_SCAN_MAX),
                )
                .await?,
            );
        }
    }
    let by_keyword = match (mode, text) {
        (Mode::Keyword | Mode::Hybrid, Some(text)) => search::matching(conn, project, filter, text, candidates).await?,
        _ => Vec::new(),
    };
    let mut hits = match (mode, by_vector.len()) {
        (Mode::Vector, 0) => Vec::new(),
        (Mode::Vector, 1) => by_vector.remove(0).into_iter().map(|c| hit(c, true, None)).collect(),
        (Mode::Keyword, _) => by_keyword
            .into_iter()
            .enumerate()
            .map(|(i, c)| hit(c, false, Some(i)))
            .collect(),
        _ => fuse(by_vector, by_keyword),
    };
    if let Some(min) = min_score {
        hits.retain(|h: &Hit| h.score >= min);
    }
    hits.truncate(usize::try_from(first).unwrap_or(0));
    Ok(hits)
}

/// The query vectors and their models: the given vector with the one model in use it fits,
/// or the text embedded by every model in use (of the providers still configured).
async fn query_vectors(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    embedding: &Embedding<'_>,
    question: &Question,
    text: Option<&str>,
) -> AppResult<Vec<(String, Vector)>> {
    let named = question.embedding_model.as_deref().map(str::trim);
    let in_use: Vec<ModelInUse> = search::models_in(conn, project)
        .await?
        .into_iter()
        .filter(|m| named.is_none_or(|name| m.model == name))
        .collect();
    if let Some(values) = &question.vector {
        let fitting: Vec<&ModelInUse> = in_use
            .iter()
            .filter(|m| usize::try_from(m.dimensions).ok() == Some(values.len()))
            .collect();
        return match fitting.as_slice() {
            [model] => Ok(vec![(model.model.clone(), Vector::from(values.clone()))]),
            [] if in_use.is_empty() => Ok(Vec::new()),
            [] => Err(FieldError::input(
                "vector",
                "WRONG_DIMENSIONS",
                format!(
                    "vector has {} dimensions; the project's chunks have {}",
                    values.len(),
                    in_use
                        .iter()
                        .map(|m| format!("{} ({})", m.dimensions, m.model))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into()),
            several => Err(FieldError::input(
                "embeddingModel",
                "AMBIGUOUS_MODEL",
                format!(
                    "several embedding models of the project have {} dimensions ({}); name one with embeddingModel",
                    values.len(),
                    several.iter().map(|m| m.model.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .into()),
        };
    }
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let mut vectors = Vec::new();
    // The organization's own key, read (and decrypted) once for all OpenAI-compatible models.
    let mut own_key = None;
    for model in in_use {
        let Some(resolved) = embedding.providers.find_embedding(&model.model) else {
            tracing::warn!(model = %model.model, "chunks of an embedding model no longer configured are not searched by vector");
            continue;
        };
        let key = match (&own_key, resolved.backend.takes_openai_key()) {
            (_, false) => None,
            (Some(key), true) => Clone::clone(key),
            (None, true) => {
                let key =
                    organization_key(conn, embedding.keyring, embedding.organization_id, &resolved.backend).await?;
                own_key = Some(key.clone());
                key
            }
        };
        let embedder = resolved.embedder(key);
        let embedded = embedder
            .embed(vec![text.to_owned()])
            .await
            .map_err(|error| AppError::Unavailable(format!("the embedding provider failed: {error}")))?;
        if let Some(vector) = embedded.vectors.into_iter().next() {
            vectors.push((model.model, vector));
        }
    }
    Ok(vectors)
}

fn hit(found: ScoredChunk, by_vector: bool, keyword_index: Option<usize>) -> Hit {
    Hit {
        score: found.score,
        vector_score: by_vector.then_some(found.score),
        keyword_rank: keyword_index.map(|i| i32::try_from(i + 1).unwrap_or(i32::MAX)),
        highlight: found.highlight,
        chunk: found.chunk,
    }
}

/// Reciprocal rank fusion of the lists (one per embedding model, and the keyword list), best
/// first (ties: the higher cosine similarity, then the chunk id).
fn fuse(by_vector: Vec<Vec<ScoredChunk>>, by_keyword: Vec<ScoredChunk>) -> Vec<Hit> {
    let mut fused: HashMap<Uuid, Hit> = HashMap::new();
    for (index, found) in by_vector.into_iter().flat_map(|list| list.into_iter().enumerate()) {
        match fused.get_mut(&found.chunk.id) {
            Some(hit) => hit.score += rrf(index),
            None => {
                let mut hit = hit(found, true, None);
                hit.score = rrf(index);
                fused.insert(hit.chunk.id, hit);
            }
        }
    }
    for (index, found) in by_keyword.into_iter().enumerate() {
        let rank = i32::try_from(index + 1).unwrap_or(i32::MAX);
        match fused.get_mut(&found.chunk.id) {
            Some(hit) => {
                hit.score += rrf(index);
                hit.keyword_rank = Some(rank);
                hit.highlight = found.highlight;
            }
            None => {
                let mut hit = hit(found, false, Some(index));
                hit.score = rrf(index);
                fused.insert(hit.chunk.id, hit);
            }
        }
    }
    let mut hits: Vec<Hit> = fused.into_values().collect();
    // Equal fused scores (the first of two models' lists tie) go by similarity, then by id.
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(
                b.vector_score
                    .unwrap_or(-1.0)
                    .total_cmp(&a.vector_score.unwrap_or(-1.0)),
            )
            .then(a.chunk.id.cmp(&b.chunk.id))
    });
    hits
}

/// The fused score of place `index` (0 first) in one list.
fn rrf(index: usize) -> f64 {
    1.0 / (RRF_K + index as f64 + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(n: u128) -> ScoredChunk {
        ScoredChunk {
            chunk: DocumentChunkRow {
                id: Uuid::from_u128(n),
                document_id: Uuid::from_u128(1000),
                project_id: Uuid::from_u128(2000),
                chunk_index: 0,
                content: format!("chunk {n}"),
                token_count: 2,
                embedding: None,
                embedding_model: None,
                metadata: serde_json::json!({}),
                created_at: chrono::Utc::now(),
            },
            score: 0.5,
            highlight: Some(format!("<mark>{n}</mark>")),
        }
    }

    #[test]
    fn hybrid_ranks_by_reciprocal_rank_fusion() {
        // Vector: 1, 2, 3. Keyword: 3, 4. Chunk 3 is in both lists.
        let hits = fuse(vec![vec![chunk(1), chunk(2), chunk(3)]], vec![chunk(3), chunk(4)]);
        let order: Vec<u128> = hits.iter().map(|h| h.chunk.id.as_u128()).collect();
        assert_eq!(order, vec![3, 1, 2, 4]);
        let three = &hits[0];
        assert!((three.score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert_eq!((three.keyword_rank, three.vector_score), (Some(1), Some(0.5)));
        assert_eq!(three.highlight.as_deref(), Some("<mark>3</mark>"));
        // Second places of either list tie; the one with a similarity goes first.
        assert!((hits[2].score - hits[3].score).abs() < 1e-12);
        assert_eq!((hits[2].vector_score, hits[2].keyword_rank), (Some(0.5), None));
        assert_eq!((hits[3].vector_score, hits[3].keyword_rank), (None, Some(2)));
    }
}
