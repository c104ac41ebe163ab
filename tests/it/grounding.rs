//! Answers grounded in documents (`services::generation::grounding`): an assistant with
//! datasources gets the best passages of their documents in its prompt, the answer records
//! them as `Message.citations`, and the offline model names them; documents outside the
//! assistant's datasources are never given; an assistant without datasources cites nothing.

use std::time::Duration;

use chatgraph::{providers::registry::Providers, services::generation::Settings};
use serde_json::{Value, json};

use crate::{
    streaming::server,
    support::{Team, TestDb, user_errors, workers},
};

const CREATE_DATASOURCE: &str = "mutation($input: CreateDatasourceInput!) { createDatasource(input: $input) { \
    datasource { id } userErrors { field code } } }";
const CREATE_DOCUMENT: &str = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { \
    document { id } userErrors { field code } } }";
const CREATE_ASSISTANT: &str = "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { \
    assistant { id datasources { name } } userErrors { field code } } }";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { \
    chat { id } assistantMessage { id } userErrors { field code message } } }";
const ANSWER: &str = "query($id: ID!) { node(id: $id) { ... on Message { status content \
    citations { position score excerpt metadata document { title } chunk { chunkIndex } } } } }";

pub async fn datasource(team: &Team, name: &str) -> Value {
    let input = json!({ "projectId": team.project, "name": name });
    let (payload, body) = team
        .mutate(&team.owner, "createDatasource", CREATE_DATASOURCE, input)
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["datasource"]["id"].clone()
}

pub async fn document(team: &Team, datasource: &Value, title: &str, content: &str) -> Value {
    let input = json!({ "projectId": team.project, "datasourceId": datasource, "title": title,
                        "content": content, "mimeType": "text/markdown" });
    let (payload, body) = team.mutate(&team.owner, "createDocument", CREATE_DOCUMENT, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["document"]["id"].clone()
}

async fn assistant(team: &Team, name: &str, datasources: Value) -> Value {
    let input = json!({ "projectId": team.project, "name": name, "provider": "offline", "model": "offline",
                        "datasourceIds": datasources });
    team.mutate(&team.owner, "createAssistant", CREATE_ASSISTANT, input)
        .await
        .0
}

/// Asks `content` in a new chat with `assistant`; the finished answer.
async fn ask(team: &Team, assistant: &Value, content: &str) -> Value {
    let input = json!({ "projectId": team.project, "assistantId": assistant, "content": content });
    let (payload, body) = team.mutate(&team.owner, "sendMessage", SEND, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let id = payload["assistantMessage"]["id"].clone();
    for _ in 0..200 {
        let (_, body) = team.api.run(Some(&team.owner), ANSWER, json!({ "id": id })).await;
        let message = body["data"]["node"].clone();
        if message["status"] != "STREAMING" {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the answer never finished");
}

/// Waits until no document of the project waits for indexing.
pub async fn indexed(team: &Team) {
    let query = "query($id: ID!) { node(id: $id) { ... on Project { documents(first: 50) { nodes { status } } } } }";
    for _ in 0..300 {
        let (_, body) = team
            .api
            .run(Some(&team.owner), query, json!({ "id": team.project }))
            .await;
        let statuses = body["data"]["node"]["documents"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !statuses.is_empty() && statuses.iter().all(|d| d["status"] == "INDEXED") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("documents were never indexed");
}

#[tokio::test]
async fn an_assistant_with_datasources_answers_from_them_and_cites_them() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, Providers::offline(0.0), Settings::default()).await).await;
    let _workers = workers(&db);
    let handbook = datasource(&team, "Handbook").await;
    let other = datasource(&team, "Board").await;
    document(
        &team,
        &handbook,
        "Warranty",
        "# Terms\n\n## Warranty\n\nThe warranty covers parts and repairs for two years after purchase.",
    )
    .await;
    document(&team, &handbook, "Holidays", "The office is closed on public holidays.").await;
    document(
        &team,
        &other,
        "Warranty plans",
        "Secret: the warranty covers parts for ten years soon.",
    )
    .await;
    indexed(&team).await;

    let created = assistant(&team, "Support", json!([handbook])).await;
    assert_eq!(created["userErrors"], json!([]), "{created}");
    assert_eq!(created["assistant"]["datasources"], json!([{ "name": "Handbook" }]));
    let answer = ask(
        &team,
        &created["assistant"]["id"],
        "How long does the warranty cover parts?",
    )
    .await;
    assert_eq!(answer["status"], "COMPLETE", "{answer}");
    let citations = answer["citations"].as_array().expect("citations");
    assert!(!citations.is_empty(), "{answer}");
    let first = &citations[0];
    assert_eq!(first["position"], 1);
    assert_eq!(first["document"]["title"], "Warranty");
    assert!(
        first["excerpt"].as_str().is_some_and(|e| e.contains("two years")),
        "{first}"
    );
    assert_eq!(first["metadata"]["headings"], json!(["Terms", "Warranty"]));
    assert_eq!(first["chunk"]["chunkIndex"], 0);
    // Never a document outside the assistant's datasources.
    assert!(
        citations.iter().all(|c| c["document"]["title"] != "Warranty plans"),
        "{citations:?}"
    );
    // The offline model names what it was given.
    let content = answer["content"].as_str().expect("content");
    assert!(
        content.starts_with("Offline model answering \"How long does the warranty cover parts?\", citing [1] Warranty"),
        "{content}"
    );

    // Without datasources, no sources.
    let plain = assistant(&team, "Plain", json!([])).await;
    let answer = ask(
        &team,
        &plain["assistant"]["id"],
        "How long does the warranty cover parts?",
    )
    .await;
    assert_eq!(answer["citations"], json!([]));
    assert!(!answer["content"].as_str().unwrap_or("").contains("citing"), "{answer}");

    // Only datasources of the assistant's project.
    let elsewhere = team.outsiders_project().await;
    let input = json!({ "projectId": elsewhere, "name": "Theirs" });
    let (payload, _) = team
        .mutate(&team.outsider, "createDatasource", CREATE_DATASOURCE, input)
        .await;
    let theirs = payload["datasource"]["id"].clone();
    let refused = assistant(&team, "Nosy", json!([theirs])).await;
    assert_eq!(user_errors(&refused), ["input.datasourceIds:NOT_FOUND"]);
}
