//! Embedding models (`providers::embedding`, `services::embeddings`): an OpenAI-compatible
//! `/v1/embeddings` server on loopback embeds a datasource's documents with the datasource's
//! model and dimension (384, and 3,072 through the `halfvec` index), search embeds the question
//! with every model in use and compares each vector only with its own model's chunks, an
//! organization's own key replaces the configured one, a changed model re-indexes, and a
//! provider's refusal fails the document with a clear reason.

use std::sync::{Arc, Mutex};

use chatgraph::{
    providers::registry::Providers,
    services::{generation::Settings, ingestion::Indexer},
};
use serde_json::{Value, json};

use crate::{
    streaming::server,
    support::{
        Team, TestDb, authenticator, code, file_store, files_dir, names, serve_loopback, user_errors, workers_on,
    },
};

/// What the loopback server received: (authorization header, body).
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A vector of `dimensions` for `text`, computed independently of chatgraph: each word adds
/// one to a bucket chosen by its bytes.
fn bag_of_words(text: &str, dimensions: usize) -> Vec<f32> {
    let mut vector = vec![0.0f32; dimensions];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let bucket = word
            .to_lowercase()
            .bytes()
            .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        vector[bucket % dimensions] += 1.0;
    }
    vector[0] += 0.001; // never the zero vector
    vector
}

/// An OpenAI-compatible embeddings endpoint: model `mini` (384 dimensions), `wide` (3,072),
/// `denied` (401).
async fn loopback_embeddings() -> (String, Seen) {
    use axum::{http::StatusCode, response::IntoResponse, routing::post};
    let seen: Seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/v1/embeddings",
            post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: axum::http::HeaderMap,
                 axum::Json(body): axum::Json<Value>| async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    seen.lock().expect("seen").push((auth.to_owned(), body.clone()));
                    let dimensions = match body["model"].as_str().unwrap_or("") {
                        "mini" => 384,
                        "wide" => 3072,
                        _ => return (StatusCode::UNAUTHORIZED, "bad key sk-configured").into_response(),
                    };
                    let inputs = body["input"].as_array().cloned().unwrap_or_default();
                    // Answered in reverse order: the index says which text a vector is of.
                    let data: Vec<Value> = inputs
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(i, text)| {
                            json!({ "object": "embedding", "index": i,
                                    "embedding": bag_of_words(text.as_str().unwrap_or(""), dimensions) })
                        })
                        .collect();
                    axum::Json(json!({ "object": "list", "data": data, "model": body["model"],
                                       "usage": { "prompt_tokens": inputs.len() * 3, "total_tokens": inputs.len() * 3 } }))
                    .into_response()
                },
            ),
        )
        .with_state(seen.clone());
    let address = serve_loopback(app).await;
    (format!("http://{address}/v1"), seen)
}

fn indexer(providers: Providers) -> Indexer {
    Indexer {
        providers,
        auth: authenticator(),
        files: file_store(&files_dir()),
    }
}

fn providers(base_url: &str) -> Providers {
    let config = json!([{
        "name": "loop", "kind": "openai", "base_url": base_url, "api_key": "sk-configured",
        "embedding_models": [
            { "id": "mini", "dimensions": 384, "input_per_mtok": 0.02 },
            { "id": "wide", "dimensions": 3072 },
            { "id": "denied", "dimensions": 384 }
        ],
    }]);
    Providers::from_config(Some(&config.to_string()), Some(0.0)).expect("providers")
}

const CREATE_DATASOURCE: &str = "mutation($input: CreateDatasourceInput!) { createDatasource(input: $input) { \
    datasource { id embeddingModel } userErrors { field code message } } }";
const UPDATE_DATASOURCE: &str = "mutation($input: UpdateDatasourceInput!) { updateDatasource(input: $input) { \
    datasource { id embeddingModel } userErrors { field code message } } }";
const CREATE_DOCUMENT: &str = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { \
    document { id uuid } userErrors { field code } } }";
const DOCUMENT: &str = "query($id: ID!) { node(id: $id) { ... on Document { status indexError } } }";
const SEARCH: &str = "query($project: ID!, $query: String, $vector: [Float!], $mode: SearchMode, $model: String) { \
    semanticSearch(projectId: $project, query: $query, vector: $vector, mode: $mode, embeddingModel: $model) { \
    score vectorScore document { title } } }";

async fn datasource(team: &Team, name: &str, model: &str) -> Value {
    let input = json!({ "projectId": team.project, "name": name, "embeddingModel": model });
    let (payload, body) = team
        .mutate(&team.owner, "createDatasource", CREATE_DATASOURCE, input)
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["datasource"].clone()
}

/// Creates a document (in `datasource` when given); (global id, uuid).
async fn document(team: &Team, datasource: Option<&Value>, title: &str, content: &str) -> (Value, String) {
    let mut input = json!({ "projectId": team.project, "title": title, "content": content });
    if let Some(datasource) = datasource {
        input["datasourceId"] = datasource["id"].clone();
    }
    let (payload, body) = team.mutate(&team.owner, "createDocument", CREATE_DOCUMENT, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let document = &payload["document"];
    (
        document["id"].clone(),
        document["uuid"].as_str().expect("uuid").to_owned(),
    )
}

/// The document once indexing ended (30 s at most).
async fn settled(team: &Team, id: &Value) -> Value {
    team.indexed_document(DOCUMENT, id).await
}

/// `model:dimensions` of each chunk of `document`.
async fn chunk_models(db: &TestDb, document: &str) -> Vec<String> {
    names(
        &mut db.conn().await,
        &format!(
            "SELECT DISTINCT embedding_model || ':' || vector_dims(embedding) AS name \
             FROM document_chunks WHERE document_id = '{document}' ORDER BY 1"
        ),
    )
    .await
}

async fn search(team: &Team, variables: Value) -> Value {
    let (_, body) = team.api.run(Some(&team.owner), SEARCH, variables).await;
    body
}

fn titles(body: &Value) -> Vec<String> {
    body["data"]["semanticSearch"]
        .as_array()
        .unwrap_or_else(|| panic!("hits: {body}"))
        .iter()
        .map(|h| h["document"]["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn each_datasource_embeds_with_its_own_model_and_search_compares_only_like_with_like() {
    let (base_url, seen) = loopback_embeddings().await;
    let providers = providers(&base_url);
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, providers.clone(), Settings::default()).await).await;
    let _workers = workers_on(&db, indexer(providers));

    // The model is checked against the providers, and recorded.
    let input = json!({ "projectId": team.project, "name": "Bad", "embeddingModel": "loop/nope" });
    let (payload, _) = team
        .mutate(&team.owner, "createDatasource", CREATE_DATASOURCE, input)
        .await;
    assert_eq!(user_errors(&payload), ["input.embeddingModel:UNKNOWN_EMBEDDING_MODEL"]);
    let mini = datasource(&team, "Help", "loop/mini").await;
    let wide = datasource(&team, "Billing", "loop/wide").await;
    assert_eq!(
        (&mini["embeddingModel"], &wide["embeddingModel"]),
        (&json!("loop/mini"), &json!("loop/wide"))
    );
    let default = team
        .mutate(
            &team.owner,
            "createDatasource",
            CREATE_DATASOURCE,
            json!({ "projectId": team.project, "name": "Plain" }),
        )
        .await
        .0;
    assert_eq!(
        default["datasource"]["embeddingModel"],
        "offline/chatgraph-offline-hashing-v1"
    );

    let (password, password_id) = document(
        &team,
        Some(&mini),
        "Passwords",
        "To reset a forgotten password open the account settings and choose reset password.",
    )
    .await;
    let (invoices, invoices_id) = document(
        &team,
        Some(&wide),
        "Invoices",
        "Invoices are sent on the first day of every month to the billing address.",
    )
    .await;
    let (holidays, holidays_id) = document(
        &team,
        None,
        "Holidays",
        "The office is closed on public holidays and between the years.",
    )
    .await;
    for id in [&password, &invoices, &holidays] {
        assert_eq!(settled(&team, id).await["status"], "INDEXED");
    }
    assert_eq!(chunk_models(&db, &password_id).await, ["loop/mini:384"]);
    assert_eq!(chunk_models(&db, &invoices_id).await, ["loop/wide:3072"]);
    assert_eq!(
        chunk_models(&db, &holidays_id).await,
        ["offline/chatgraph-offline-hashing-v1:1536"]
    );
    assert!(
        seen.lock()
            .expect("seen")
            .iter()
            .all(|(auth, body)| auth == "Bearer sk-configured"
                && body["encoding_format"] == "float"
                && body.get("dimensions").is_none()),
        "configured key, float vectors, no shortening asked"
    );

    // A question is embedded by every model in use; each list is ranked within its model.
    let before = seen.lock().expect("seen").len();
    let body = search(
        &team,
        json!({ "project": team.project, "query": "reset password", "mode": "VECTOR" }),
    )
    .await;
    assert_eq!(titles(&body).first().map(String::as_str), Some("Passwords"), "{body}");
    let asked: Vec<String> = seen.lock().expect("seen")[before..]
        .iter()
        .map(|(_, b)| format!("{}:{}", b["model"].as_str().unwrap_or(""), b["input"]))
        .collect();
    assert_eq!(asked, [r#"mini:["reset password"]"#, r#"wide:["reset password"]"#]);

    // A vector is compared with the one model of its dimension.
    let vector = bag_of_words("first day of every month billing", 3072);
    let body = search(
        &team,
        json!({ "project": team.project, "vector": vector, "mode": "VECTOR" }),
    )
    .await;
    assert_eq!(titles(&body), ["Invoices"], "{body}");
    let body = search(
        &team,
        json!({ "project": team.project, "vector": vec![0.5; 100], "mode": "VECTOR" }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("vector has 100 dimensions") && message.contains("384 (loop/mini)"),
        "{message}"
    );
    let body = search(
        &team,
        json!({ "project": team.project, "query": "reset password", "mode": "VECTOR", "model": "loop/wide" }),
    )
    .await;
    assert!(!titles(&body).contains(&"Passwords".to_owned()), "{body}");

    // The organization's own key replaces the configured one.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createCredential",
            "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }",
            json!({ "organizationId": team.organization, "name": "Our key", "credentialType": "OPENAI", "secret": "sk-organization" }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");

    // Another model re-indexes the datasource's documents with it.
    let input = json!({ "id": mini["id"], "embeddingModel": "loop/wide" });
    let (payload, body) = team
        .mutate(&team.owner, "updateDatasource", UPDATE_DATASOURCE, input)
        .await;
    assert_eq!(payload["datasource"]["embeddingModel"], "loop/wide", "{body}");
    assert_eq!(settled(&team, &password).await["status"], "INDEXED");
    assert_eq!(chunk_models(&db, &password_id).await, ["loop/wide:3072"]);
    let last = seen.lock().expect("seen").last().cloned().expect("a request");
    assert_eq!(last.0, "Bearer sk-organization");
}

#[tokio::test]
async fn a_provider_that_refuses_fails_the_document_with_a_reason_and_no_key() {
    let (base_url, _) = loopback_embeddings().await;
    let providers = providers(&base_url);
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, providers.clone(), Settings::default()).await).await;
    let _workers = workers_on(&db, indexer(providers));
    let denied = datasource(&team, "Denied", "loop/denied").await;
    let (id, uuid) = document(&team, Some(&denied), "Secret", "Some words to embed.").await;
    let document = settled(&team, &id).await;
    assert_eq!(document["status"], "FAILED");
    assert_eq!(
        document["indexError"],
        "embedding failed: the model provider refused the API key"
    );
    assert!(chunk_models(&db, &uuid).await.is_empty());
}
