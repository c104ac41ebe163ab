//! `knowledge_search`: the project's documents (the assistant's datasources when it has
//! some) searched like `semanticSearch` in HYBRID mode; the passages found become citations
//! of the answer, numbered after those it already has.

use diesel::{
    QueryableByName,
    sql_types::{Integer, Uuid as SqlUuid},
};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use super::{Toolbox, failure};
use crate::{
    db::cached::cached,
    providers::ToolDefinition,
    services::{
        generation::grounding::{self, Passage},
        search::Embedding,
    },
};

/// Most passages one search returns.
pub const PASSAGES: i64 = 5;

/// What the model is told of the tool.
pub fn definition() -> ToolDefinition {
    ToolDefinition {
        name: "knowledge_search".into(),
        description: "Search the project's documents for passages about a question. Returns numbered sources; cite the ones you use like [1].".into(),
        parameters: json!({
            "type": "object",
            "properties": { "query": { "type": "string", "description": "What to look for, in words." } },
            "required": ["query"],
        }),
    }
}

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = Integer)]
    position: i32,
}

/// Runs a search for `arguments.query`.
pub(super) async fn search(toolbox: &Toolbox, arguments: &Value) -> Result<String, String> {
    let query = arguments
        .get("query")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or("`query` (a non-empty text) is required")?;
    let context = &toolbox.context;
    let mut conn = context.pool.get().await.map_err(|e| failure(e.into()))?;
    let embedding = Embedding {
        providers: &context.providers,
        keyring: &context.authenticator.keyring,
        organization_id: context.organization_id,
    };
    // Parallel searches of one answer number their citations one after the other.
    let _citing = toolbox.citing.lock().await;
    let next: Next =
        cached("SELECT coalesce(max(position), 0) + 1 AS position FROM message_citations WHERE message_id = $1")
            .bind::<SqlUuid, _>(context.message_id)
            .get_result(&mut conn)
            .await
            .map_err(|e| failure(e.into()))?;
    let passages = grounding::search_passages(
        &mut conn,
        (context.project_id, &embedding),
        context.datasources.clone(),
        query,
        next.position,
    )
    .await
    .map_err(failure)?;
    let mut passages: Vec<Passage> = passages.into_iter().take(PASSAGES as usize).collect();
    passages.retain(|p| !p.excerpt.trim().is_empty());
    if passages.is_empty() {
        return Ok(format!("No passage of the project's documents matches {query:?}."));
    }
    grounding::cite(&mut conn, context.message_id, &passages)
        .await
        .map_err(failure)?;
    let rendered: Vec<String> = passages.iter().map(Passage::render).collect();
    Ok(rendered.join("\n\n"))
}
