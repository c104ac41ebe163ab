//! Answers grounded in documents: when a chat's assistant has datasources, the question is
//! searched in them (hybrid: vector and keyword, fused by rank), the best passages are put
//! in the prompt's instructions as numbered sources within a token budget, and the answer
//! records the passages it was given as its citations.

use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    db::new_id,
    error::AppResult,
    models::{citation::NewCitation, document::DocumentRow, search::ChunkFilter},
    providers::{registry::ResolvedModel, tokens},
    services::{
        search::{self, Embedding, Mode, Question},
        write::Tx,
    },
};

/// Most passages searched for one answer.
pub const MAX_PASSAGES: i64 = 5;
/// The share of the model's context window the sources may take, at most.
pub const SOURCES_SHARE: i64 = 4;

/// The line before the sources in the instructions.
pub const SOURCES_HEADER: &str =
    "Answer from the sources below when they are relevant, and cite each one you use by its number, like [1].";

/// A passage given to the model: its number, where it comes from, its text.
#[derive(Debug, Clone)]
pub struct Passage {
    /// Its number in the prompt, from 1.
    pub position: i32,
    /// The document.
    pub document_id: Uuid,
    /// The document's title.
    pub title: String,
    /// The chunk.
    pub chunk_id: Uuid,
    /// The search's score (fused rank).
    pub score: f64,
    /// The chunk's text.
    pub excerpt: String,
    /// Where in the document (`headings`, `page`).
    pub metadata: Value,
}

impl Passage {
    /// How the passage reads in the prompt: `Source [1]: Title (Guide › Install)` then its text.
    pub fn render(&self) -> String {
        let mut place = Vec::new();
        if let Some(headings) = self.metadata.get("headings").and_then(Value::as_array) {
            let path: Vec<&str> = headings.iter().filter_map(Value::as_str).collect();
            if !path.is_empty() {
                place.push(path.join(" › "));
            }
        }
        if let Some(page) = self.metadata.get("page").and_then(Value::as_i64) {
            place.push(format!("page {page}"));
        }
        let place = if place.is_empty() {
            String::new()
        } else {
            format!(" ({})", place.join(", "))
        };
        format!(
            "Source [{}]: {}{place}\n{}",
            self.position,
            self.title,
            self.excerpt.trim()
        )
    }
}

/// The passages of the assistant's `datasources` that best answer `question` (none when it
/// has none or the question is empty), searched in `project` only.
pub async fn passages(
    tx: &mut Tx,
    datasources: &[Uuid],
    (project, embedding): (Uuid, &Embedding<'_>),
    question: &str,
) -> AppResult<Vec<Passage>> {
    if datasources.is_empty() {
        return Ok(Vec::new());
    }
    search_passages(tx.conn(), (project, embedding), Some(datasources.to_vec()), question, 1).await
}

/// The passages of `project` (of `datasources` only, when given) that best answer `question`,
/// numbered from `first_position`; none when the question is empty.
pub async fn search_passages(
    conn: &mut AsyncPgConnection,
    (project, embedding): (Uuid, &Embedding<'_>),
    datasources: Option<Vec<Uuid>>,
    question: &str,
    first_position: i32,
) -> AppResult<Vec<Passage>> {
    let text: String = question.chars().take(search::MAX_QUERY_CHARS).collect();
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let filter = ChunkFilter {
        datasource_ids: datasources,
        ..ChunkFilter::default()
    };
    let question = Question {
        text: Some(text),
        ..Question::default()
    };
    let hits = search::search(
        conn,
        (project, embedding),
        Mode::Hybrid,
        question,
        &filter,
        MAX_PASSAGES,
        None,
    )
    .await?;
    let ids: Vec<Uuid> = hits.iter().map(|h| h.chunk.document_id).collect();
    let documents = DocumentRow::find_many(conn, &ids).await?;
    let title = |id: Uuid| {
        documents
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| "Untitled".to_owned(), |d| d.title.clone())
    };
    Ok(hits
        .into_iter()
        .zip(first_position..)
        .map(|(hit, position)| {
            let mut metadata = hit.chunk.metadata.clone();
            if let Some(object) = metadata.as_object_mut() {
                object.remove("start");
                object.remove("end");
            }
            Passage {
                position,
                document_id: hit.chunk.document_id,
                title: title(hit.chunk.document_id),
                chunk_id: hit.chunk.id,
                score: hit.score,
                excerpt: hit.chunk.content,
                metadata,
            }
        })
        .collect())
}

/// The sources part of the instructions for `passages`, keeping the best ones that fit a
/// [`SOURCES_SHARE`]th of the model's window (the others are dropped from `passages`).
pub fn sources_text(model: &ResolvedModel, passages: &mut Vec<Passage>) -> Option<String> {
    let budget = model.config.context_window / SOURCES_SHARE;
    let mut used = tokens::count(&model.config.id, SOURCES_HEADER);
    let mut kept = 0;
    for passage in passages.iter() {
        let cost = tokens::count(&model.config.id, &passage.render()) + 2;
        if used + cost > budget {
            break;
        }
        used += cost;
        kept += 1;
    }
    passages.truncate(kept);
    if passages.is_empty() {
        return None;
    }
    let rendered: Vec<String> = passages.iter().map(Passage::render).collect();
    Some(format!("{SOURCES_HEADER}\n\n{}", rendered.join("\n\n")))
}

/// Stores `passages` as the citations of `message_id`.
pub async fn cite(conn: &mut AsyncPgConnection, message_id: Uuid, passages: &[Passage]) -> AppResult<()> {
    for passage in passages {
        NewCitation {
            id: new_id(),
            message_id,
            position: passage.position,
            document_id: passage.document_id,
            chunk_id: Some(passage.chunk_id),
            score: passage.score,
            excerpt: passage.excerpt.clone(),
            metadata: if passage.metadata.is_object() {
                passage.metadata.clone()
            } else {
                json!({})
            },
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}
