//! `semanticSearch` (`services::search`): keyword, vector and hybrid search over indexed
//! documents, filters, tenant isolation, and recall against an exact scan when the HNSW index
//! is shared with a larger tenant.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Team, TestDb, code, names, workers};

const CREATE_DOCUMENT: &str = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { \
    document { id uuid } userErrors { field code } } }";
const SEARCH: &str = "query($project: ID!, $query: String, $vector: [Float!], $mode: SearchMode, $first: Int, $filter: SearchFilter) { \
    semanticSearch(projectId: $project, query: $query, vector: $vector, mode: $mode, first: $first, filter: $filter) { \
    score vectorScore keywordRank highlight chunk { id content } document { id title } } }";

const REFUNDS: &str = "Refunds are paid back to the original card within five days of the request.";
const SHIPPING: &str = "Parcels ship from the warehouse every weekday and arrive within a week.";
const ACCOUNTS: &str = "Passwords can be reset from the sign-in page with a link sent by email.";

async fn create(team: &Team, token: &str, project: &Value, title: &str, content: &str) -> (Value, String) {
    let (payload, body) = team
        .mutate(
            token,
            "createDocument",
            CREATE_DOCUMENT,
            json!({ "projectId": project, "title": title, "content": content, "mimeType": "text/plain" }),
        )
        .await;
    let document = &payload["document"];
    assert!(document.is_object(), "{body}");
    (
        document["id"].clone(),
        document["uuid"].as_str().expect("uuid").to_owned(),
    )
}

async fn search(team: &Team, token: &str, variables: Value) -> Value {
    team.api.run(Some(token), SEARCH, variables).await.1
}

async fn index_everything(db: &TestDb) {
    let workers = workers(db);
    for _ in 0..300 {
        let pending = names(
            &mut db.conn().await,
            "SELECT id::text AS name FROM documents WHERE status <> 'indexed'",
        )
        .await;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workers.stop().await;
}

#[tokio::test]
async fn search_finds_a_projects_chunks_by_words_by_meaning_and_both_and_never_another_projects() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (refunds, _) = create(&team, &team.owner, &team.project, "Refunds", REFUNDS).await;
    create(&team, &team.owner, &team.project, "Shipping", SHIPPING).await;
    create(&team, &team.owner, &team.project, "Accounts", ACCOUNTS).await;
    // The outsider's own workspace holds the same words.
    let elsewhere = team.outsiders_project().await;
    create(&team, &team.outsider, &elsewhere, "Their refunds", REFUNDS).await;
    index_everything(&db).await;

    // Words: the one chunk that has them, highlighted.
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "query": "refunds card", "mode": "KEYWORD" }),
    )
    .await;
    let hits = body["data"]["semanticSearch"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(hits.len(), 1, "{body}");
    assert_eq!(hits[0]["document"]["title"], "Refunds");
    assert_eq!(hits[0]["keywordRank"], 1);
    assert!(
        hits[0]["highlight"]
            .as_str()
            .expect("highlight")
            .contains("<mark>card</mark>"),
        "{body}"
    );

    // Meaning: the same text as a chunk is its nearest neighbour (similarity 1).
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "query": SHIPPING, "mode": "VECTOR", "first": 3 }),
    )
    .await;
    let hits = body["data"]["semanticSearch"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        hits.len(),
        3,
        "every chunk of the project, never the outsider's: {body}"
    );
    assert_eq!(hits[0]["document"]["title"], "Shipping");
    assert!(
        (hits[0]["vectorScore"].as_f64().expect("score") - 1.0).abs() < 1e-4,
        "{body}"
    );
    assert!(
        hits.windows(2)
            .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64())
    );

    // Both: the chunk both searches found comes first, with both scores.
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "query": REFUNDS }),
    )
    .await;
    let hits = body["data"]["semanticSearch"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(hits[0]["document"]["title"], "Refunds", "{body}");
    assert!(
        hits[0]["vectorScore"].is_number() && hits[0]["keywordRank"] == 1,
        "{body}"
    );
    assert!(hits.iter().all(|h| h["document"]["title"] != "Their refunds"));

    // Filters.
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "query": SHIPPING, "mode": "VECTOR", "filter": { "documentIds": [refunds] } }),
    )
    .await;
    let hits = body["data"]["semanticSearch"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["document"]["title"], "Refunds");

    // Another tenant's project is not found; bad input is a clear error.
    let body = search(
        &team,
        &team.outsider,
        json!({ "project": team.project, "query": "refunds" }),
    )
    .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "query": "refunds", "first": 51 }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "vector": [0.5, 0.5] }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let body = search(
        &team,
        &team.viewer,
        json!({ "project": team.project, "mode": "KEYWORD" }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn a_small_tenant_gets_its_exact_nearest_chunks_from_the_index_it_shares_with_a_large_one() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let elsewhere = team.outsiders_project().await;
    let (_, small) = create(&team, &team.owner, &team.project, "Small", "").await;
    let (_, large) = create(&team, &team.outsider, &elsewhere, "Large", "").await;
    // 100 random chunks for the small tenant, 1,900 for the large one: a 5 % filter.
    let mut conn = db.conn().await;
    for (document, count) in [(&small, 100), (&large, 1900)] {
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "INSERT INTO document_chunks (document_id, project_id, chunk_index, content, embedding, embedding_model) \
                 SELECT d.id, d.project_id, g, 'chunk ' || g, \
                        (SELECT array_agg(random() - 0.5) FROM generate_series(1, 1536) WHERE g > 0)::vector, \
                        'offline/chatgraph-offline-hashing-v1' \
                 FROM documents d, generate_series(1, {count}) g WHERE d.id = '{document}'"
            )),
            &mut conn,
        )
        .await
        .expect("insert chunks");
    }
    let mut recalled: u32 = 0;
    let mut recalled_by_index: u32 = 0;
    let project: uuid::Uuid = chatgraph::models::document::DocumentRow::find(&mut conn, small.parse().expect("uuid"))
        .await
        .expect("find")
        .expect("document")
        .project_id;
    for probe in 0..5 {
        let query: Vec<f64> = (0..1536)
            .map(|i| (((i * 7919 + probe * 104_729) % 1000) as f64 / 1000.0) - 0.5)
            .collect();
        let literal = format!("[{}]", query.iter().map(f64::to_string).collect::<Vec<_>>().join(","));
        let exact = names(
            &mut conn,
            &format!(
                "SELECT content AS name FROM document_chunks WHERE document_id = '{small}' \
                 ORDER BY (embedding <=> '{literal}'::vector) + 0 LIMIT 10"
            ),
        )
        .await;
        let body = search(
            &team,
            &team.owner,
            json!({ "project": team.project, "vector": query, "mode": "VECTOR", "first": 10 }),
        )
        .await;
        let hits = body["data"]["semanticSearch"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(hits.len(), 10, "a filtered index scan must still fill the page: {body}");
        let found: Vec<&str> = hits.iter().filter_map(|h| h["chunk"]["content"].as_str()).collect();
        recalled += u32::try_from(exact.iter().filter(|c| found.contains(&c.as_str())).count()).expect("count");
        // The same search forced through the shared HNSW index (the API searches a tenant
        // this small exactly): still a full page and the same recall.
        let vector = pgvector::Vector::from(query.iter().map(|v| *v as f32).collect::<Vec<f32>>());
        let through_index = chatgraph::models::search::nearest(
            &mut conn,
            project,
            &chatgraph::models::search::ChunkFilter::default(),
            vector,
            "offline/chatgraph-offline-hashing-v1",
            (10, 0),
        )
        .await
        .expect("index search");
        assert_eq!(
            through_index.len(),
            10,
            "a filtered index scan must still fill the page"
        );
        let found: Vec<&str> = through_index.iter().map(|h| h.chunk.content.as_str()).collect();
        recalled_by_index +=
            u32::try_from(exact.iter().filter(|c| found.contains(&c.as_str())).count()).expect("count");
    }
    let recall = f64::from(recalled) / 50.0;
    assert!(recall >= 0.95, "recall@10 is {recall}");
    let recall = f64::from(recalled_by_index) / 50.0;
    assert!(recall >= 0.95, "recall@10 through the index is {recall}");
}
