//! Indexing documents (`services::ingestion`, the `document.index` job): created or changed
//! content is queued in the same transaction, chunked and embedded by a worker, and replaces
//! the old chunks; unchanged content is not queued again; a deleted document is skipped.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Team, TestDb, names, workers};

const CREATE_DOCUMENT: &str = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { \
    document { id uuid status } userErrors { field code } } }";
const UPDATE_DOCUMENT: &str = "mutation($input: UpdateDocumentInput!) { updateDocument(input: $input) { \
    document { id status } userErrors { field code } } }";
const DOCUMENT: &str = "query($id: ID!) { node(id: $id) { ... on Document { status indexedAt indexError } } }";

fn guide(topic: &str) -> String {
    let paragraph = format!("{topic} is explained here in plain words, one sentence after another. ").repeat(30);
    format!("# {topic}\n\n{paragraph}\n\n## Details\n\n{paragraph}\n\n## More\n\n{paragraph}")
}

/// Gives document `id` new content; returns its status then.
async fn update(team: &Team, id: &Value, content: &str) -> Value {
    let input = json!({ "id": id, "content": content });
    let (payload, body) = team.mutate(&team.owner, "updateDocument", UPDATE_DOCUMENT, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["document"]["status"].clone()
}

/// The document's status once it is no longer pending or processing (30 s at most).
async fn settled(team: &Team, id: &Value) -> Value {
    team.indexed_document(DOCUMENT, id).await
}

async fn chunks(db: &TestDb, document: &str) -> Vec<String> {
    names(
        &mut db.conn().await,
        &format!(
            "SELECT chunk_index || ':' || (embedding IS NOT NULL) || ':' || embedding_model || ':' || md5(content) AS name \
             FROM document_chunks WHERE document_id = '{document}' ORDER BY chunk_index"
        ),
    )
    .await
}

/// The statuses of the document's jobs once none is queued or running (30 s at most): the
/// worker marks a job done in its own statement after the handler's transaction committed.
async fn finished_jobs_for(db: &TestDb, document: &str) -> Vec<String> {
    for _ in 0..300 {
        let statuses = jobs_for(db, document).await;
        if statuses.iter().all(|s| s != "queued" && s != "running") {
            return statuses;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the jobs of document {document} did not finish in 30 s")
}

async fn jobs_for(db: &TestDb, document: &str) -> Vec<String> {
    names(
        &mut db.conn().await,
        &format!("SELECT status AS name FROM jobs WHERE payload->>'documentId' = '{document}' ORDER BY created_at"),
    )
    .await
}

#[tokio::test]
async fn a_created_document_is_chunked_embedded_and_reindexed_only_when_its_content_changes() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createDocument",
            CREATE_DOCUMENT,
            json!({ "projectId": team.project, "title": "Guide", "content": guide("Billing"), "mimeType": "text/markdown" }),
        )
        .await;
    assert_eq!(payload["document"]["status"], "PENDING");
    let (id, uuid) = (
        payload["document"]["id"].clone(),
        payload["document"]["uuid"].as_str().expect("uuid").to_owned(),
    );
    // Queued in the mutation's transaction, before any worker runs.
    assert_eq!(jobs_for(&db, &uuid).await, vec!["queued"]);

    let workers = workers(&db);
    let document = settled(&team, &id).await;
    assert_eq!(document["status"], "INDEXED", "{document}");
    assert!(document["indexedAt"].is_string() && document["indexError"].is_null());
    let first = chunks(&db, &uuid).await;
    assert!(first.len() >= 3, "{first:?}");
    assert!(
        first
            .iter()
            .all(|c| c.contains(":true:offline/chatgraph-offline-hashing-v1:")),
        "{first:?}"
    );
    assert_eq!(finished_jobs_for(&db, &uuid).await, vec!["succeeded"]);

    // The same content again: nothing to do, nothing queued.
    assert_eq!(update(&team, &id, &guide("Billing")).await, "INDEXED");
    assert_eq!(jobs_for(&db, &uuid).await, vec!["succeeded"]);

    // New content: pending again, re-indexed, the old chunks replaced.
    assert_eq!(update(&team, &id, &guide("Refunds")).await, "PENDING");
    assert_eq!(settled(&team, &id).await["status"], "INDEXED");
    let second = chunks(&db, &uuid).await;
    assert!(
        !second.is_empty() && second.iter().all(|c| !first.contains(c)),
        "{second:?}"
    );
    workers.stop().await;
}

#[tokio::test]
async fn a_document_deleted_before_its_job_ran_is_skipped() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createDocument",
            CREATE_DOCUMENT,
            json!({ "projectId": team.project, "title": "Gone", "content": guide("Gone") }),
        )
        .await;
    let uuid = payload["document"]["uuid"].as_str().expect("uuid").to_owned();
    let (_, body) = team
        .mutate(
            &team.owner,
            "deleteDocument",
            "mutation($input: DeleteKnowledgeInput!) { deleteDocument(input: $input) { userErrors { code } } }",
            json!({ "id": payload["document"]["id"] }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let workers = workers(&db);
    let finished = finished_jobs_for(&db, &uuid).await;
    workers.stop().await;
    assert_eq!(finished, vec!["succeeded"]);
    let result = names(
        &mut db.conn().await,
        &format!("SELECT result->>'skipped' AS name FROM jobs WHERE payload->>'documentId' = '{uuid}'"),
    )
    .await;
    assert_eq!(result, vec!["the document was deleted"]);
}
