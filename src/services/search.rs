//! `semanticSearch`: vector, keyword or hybrid search over a project's chunks. Hybrid ranks
//! by reciprocal rank fusion (k = 60) of the two lists: a chunk's score is the sum of
//! `1 / (60 + rank)` over the lists it appears in, so a chunk found by both outranks one found
//! by a single list at the same place.

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use pgvector::Vector;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult, FieldError},
    models::{
        document::{DocumentChunkRow, EMBEDDING_DIMENSION},
        search::{self, ChunkFilter, ScoredChunk},
    },
    providers::embedding::OfflineHashingEmbedder,
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
    /// A query vector (of the project's embedding model) instead of embedding `text`.
    pub vector: Option<Vec<f32>>,
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
pub async fn search(
    conn: &mut AsyncPgConnection,
    project: Uuid,
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
    let embedder = OfflineHashingEmbedder;
    let vector = match (&question.vector, text) {
        (Some(values), _) if values.len() != EMBEDDING_DIMENSION => {
            return Err(AppError::BadUserInput(format!(
                "vector has {} dimensions; the project's chunks have {EMBEDDING_DIMENSION}",
                values.len()
            )));
        }
        (Some(values), _) => Some(Vector::from(values.clone())),
        (None, Some(text)) => Some(embedder.embed(text)),
        (None, None) => None,
    };
    // Candidates from each list: more than asked for, so that fusion has something to fuse.
    let candidates = if mode == Mode::Hybrid {
        (first * 4).min(200)
    } else {
        first
    };
    let by_vector = match (mode, vector) {
        (Mode::Vector | Mode::Hybrid, Some(vector)) => {
            search::nearest(conn, project, filter, vector, embedder.model(), candidates).await?
        }
        (Mode::Vector, None) => return Err(AppError::BadUserInput("VECTOR search needs a query or a vector".into())),
        _ => Vec::new(),
    };
    let by_keyword = match (mode, text) {
        (Mode::Keyword | Mode::Hybrid, Some(text)) => search::matching(conn, project, filter, text, candidates).await?,
        (Mode::Keyword, None) => return Err(AppError::BadUserInput("KEYWORD search needs a query".into())),
        (Mode::Hybrid, None) if by_vector.is_empty() && question.vector.is_none() => {
            return Err(AppError::BadUserInput("search needs a query or a vector".into()));
        }
        _ => Vec::new(),
    };
    let mut hits = match mode {
        Mode::Vector => by_vector.into_iter().map(|c| hit(c, true, None)).collect(),
        Mode::Keyword => by_keyword
            .into_iter()
            .enumerate()
            .map(|(i, c)| hit(c, false, Some(i)))
            .collect(),
        Mode::Hybrid => fuse(by_vector, by_keyword),
    };
    if let Some(min) = min_score {
        hits.retain(|h: &Hit| h.score >= min);
    }
    hits.truncate(usize::try_from(first).unwrap_or(0));
    Ok(hits)
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

/// Reciprocal rank fusion of the two lists, best first (ties: the chunk id).
fn fuse(by_vector: Vec<ScoredChunk>, by_keyword: Vec<ScoredChunk>) -> Vec<Hit> {
    let mut fused: HashMap<Uuid, Hit> = HashMap::new();
    for (index, found) in by_vector.into_iter().enumerate() {
        let mut hit = hit(found, true, None);
        hit.score = rrf(index);
        fused.insert(hit.chunk.id, hit);
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
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk.id.cmp(&b.chunk.id)));
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
        let hits = fuse(vec![chunk(1), chunk(2), chunk(3)], vec![chunk(3), chunk(4)]);
        let order: Vec<u128> = hits.iter().map(|h| h.chunk.id.as_u128()).collect();
        assert_eq!(order, vec![3, 1, 2, 4]);
        let three = &hits[0];
        assert!((three.score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert_eq!((three.keyword_rank, three.vector_score), (Some(1), Some(0.5)));
        assert_eq!(three.highlight.as_deref(), Some("<mark>3</mark>"));
        // Second places of either list tie; the id decides.
        assert!((hits[2].score - hits[3].score).abs() < 1e-12);
        assert_eq!((hits[2].vector_score, hits[2].keyword_rank), (Some(0.5), None));
        assert_eq!((hits[3].vector_score, hits[3].keyword_rank), (None, Some(2)));
    }
}
