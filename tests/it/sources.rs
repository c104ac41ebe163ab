//! Documents read from sources (`services::extraction`, `createDocumentFromFile`,
//! `createDocumentFromUrl`, `refreshDocument`): uploaded markdown, HTML, PDF (a real one, and
//! a damaged one that fails cleanly), JSON and CSV become text with headings or pages in
//! their chunks' metadata; a page on a loopback server is fetched through a redirect, read
//! again only to be re-indexed when it changed; internal addresses, redirect loops, chat files
//! and unreadable types are refused with a reason.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use chatgraph::{
    jobs::Workers,
    providers::registry::Providers,
    services::{auth::Authenticator, ingestion::Indexer},
};
use serde_json::{Value, json};

use crate::{
    support::{
        Api, Team, TestDb, app_state, authenticator, authenticator_allowing_private_webhooks, file_store, files_dir,
        http_settings, names, serve_loopback, serve_state, user_errors, workers_on,
    },
    uploads::{upload, upload_with},
};

const FROM_FILE: &str = "mutation($input: CreateDocumentFromFileInput!) { createDocumentFromFile(input: $input) { \
    document { id uuid title origin mimeType file { filename } } userErrors { field code message } } }";
const FROM_URL: &str = "mutation($input: CreateDocumentFromUrlInput!) { createDocumentFromUrl(input: $input) { \
    document { id uuid title sourceUrl origin } userErrors { field code message } } }";
const REFRESH: &str = "mutation($input: RefreshDocumentInput!) { refreshDocument(input: $input) { \
    document { id status } userErrors { field code } } }";
const CREATE_DATASOURCE: &str = "mutation($input: CreateDatasourceInput!) { createDatasource(input: $input) { \
    datasource { id } userErrors { field code } } }";
const DOCUMENT: &str =
    "query($id: ID!) { node(id: $id) { ... on Document { status indexError content contentHash } } }";

/// A server and workers sharing one file directory, with these settings.
async fn setup(db: &TestDb, auth: Arc<Authenticator>) -> (Team, Workers, PathBuf) {
    let dir = files_dir();
    let state = app_state(db.pool(), auth.clone(), file_store(&dir));
    let api = Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    };
    let workers = workers_on(
        db,
        Indexer {
            providers: Providers::offline(0.0),
            auth,
            files: file_store(&dir),
        },
    );
    (Team::on(api).await, workers, dir)
}

/// Uploads `bytes` as a project file; its id.
async fn file(team: &Team, name: &str, mime: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = upload(&team.api, &team.owner, &team.project, name, mime, bytes).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["uploadFile"]["file"]["id"].clone()
}

async fn from_file(team: &Team, file: &Value) -> Value {
    let input = json!({ "projectId": team.project, "fileId": file });
    team.mutate(&team.owner, "createDocumentFromFile", FROM_FILE, input)
        .await
        .0
}

/// The document once indexing ended (30 s at most).
async fn settled(team: &Team, id: &Value) -> Value {
    team.indexed_document(DOCUMENT, id).await
}

/// Each chunk's metadata (without offsets) and id, in order.
async fn chunk_metadata(db: &TestDb, document: &Value) -> Vec<String> {
    names(
        &mut db.conn().await,
        &format!(
            "SELECT (metadata - 'start' - 'end')::text AS name FROM document_chunks \
             WHERE document_id = '{}' ORDER BY chunk_index",
            document.as_str().expect("uuid")
        ),
    )
    .await
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("fixture")
}

#[tokio::test]
async fn uploaded_files_of_every_format_become_indexed_text() {
    let db = TestDb::migrated().await;
    let (team, _workers, _dir) = setup(&db, authenticator()).await;
    let cases = [
        (
            "guide.md",
            "text/markdown",
            b"# Guide\n\nIntro.\n\n## Install\n\nRun the installer.".to_vec(),
            "Run the installer.",
            r#"{"headings": ["Guide"]}"#,
        ),
        (
            "page.html",
            "text/html",
            b"<html><head><script>steal()</script></head><body><h1>Pricing</h1><p>Plans start at <b>ten</b> euros.</p></body></html>"
                .to_vec(),
            "Plans start at **ten** euros.",
            r#"{"headings": ["Pricing"]}"#,
        ),
        ("report.pdf", "application/pdf", fixture("two-pages.pdf"), "The warranty covers parts for two years.", r#"{"page": 1}"#),
        ("data.json", "application/json", br#"{"city":"Lyon","zip":69001}"#.to_vec(), "\"city\": \"Lyon\"", "{}"),
        ("people.csv", "text/csv", b"name,team\nAda,core\n".to_vec(), "Ada,core", "{}"),
    ];
    for (name, mime, bytes, expected, metadata) in cases {
        let id = file(&team, name, mime, bytes).await;
        let payload = from_file(&team, &id).await;
        assert_eq!(payload["userErrors"], json!([]), "{name}: {payload}");
        let document = &payload["document"];
        assert_eq!(
            (&document["title"], &document["origin"], &document["file"]["filename"]),
            (&json!(name), &json!("FILE"), &json!(name)),
            "{name}"
        );
        let indexed = settled(&team, &document["id"]).await;
        assert_eq!(indexed["status"], "INDEXED", "{name}: {indexed}");
        let content = indexed["content"].as_str().expect("content");
        assert!(content.contains(expected), "{name}: {content}");
        assert!(!content.contains("steal"), "{name}: scripts are dropped");
        let chunks = chunk_metadata(&db, &document["uuid"]).await;
        assert_eq!(chunks.first().map(String::as_str), Some(metadata), "{name}: {chunks:?}");
    }

    // Every page of a PDF is read; the form feed between them gives each chunk its page.
    let id = file(&team, "long.pdf", "application/pdf", fixture("two-pages.pdf")).await;
    let document = from_file(&team, &id).await["document"].clone();
    let indexed = settled(&team, &document["id"]).await;
    assert!(
        indexed["content"]
            .as_str()
            .is_some_and(|c| c.contains("Quarterly report") && c.contains('\u{c}')),
        "{indexed}"
    );
}

#[tokio::test]
async fn unreadable_sources_fail_cleanly_or_are_refused() {
    let db = TestDb::migrated().await;
    let (team, _workers, _dir) = setup(&db, authenticator()).await;

    // A damaged PDF fails the document with a reason; the worker goes on.
    let id = file(&team, "damaged.pdf", "application/pdf", fixture("damaged.pdf")).await;
    let document = from_file(&team, &id).await["document"].clone();
    let failed = settled(&team, &document["id"]).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(
        failed["indexError"],
        "the source could not be read: the PDF could not be read (it may be damaged or encrypted)"
    );
    let id = file(&team, "ok.md", "text/markdown", b"# Fine\n\nStill working.".to_vec()).await;
    let document = from_file(&team, &id).await["document"].clone();
    assert_eq!(settled(&team, &document["id"]).await["status"], "INDEXED");

    // Types without text, and files uploaded for a chat, are refused at once.
    let png = [&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..], &[0; 64][..]].concat();
    let id = file(&team, "cat.png", "image/png", png).await;
    assert_eq!(
        user_errors(&from_file(&team, &id).await),
        ["input.fileId:UNSUPPORTED_TYPE"]
    );
    let (_, body) = team
        .mutate(
            &team.owner,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
            json!({ "projectId": team.project, "title": "Mine" }),
        )
        .await;
    let chat = body["data"]["createChat"]["chat"]["id"].clone();
    let (_, body) = upload_with(
        &team.api,
        &team.owner,
        json!({ "projectId": team.project, "chatId": chat }),
        "note.md",
        "text/markdown",
        b"# Private".to_vec(),
    )
    .await;
    let chat_file = body["data"]["uploadFile"]["file"]["id"].clone();
    assert_eq!(
        user_errors(&from_file(&team, &chat_file).await),
        ["input.fileId:NOT_FOUND"]
    );

    // A document read from a source takes no text of its own.
    let (payload, _) = team
        .mutate(
            &team.owner,
            "updateDocument",
            "mutation($input: UpdateDocumentInput!) { updateDocument(input: $input) { userErrors { field code } } }",
            json!({ "id": document["id"], "content": "overwritten" }),
        )
        .await;
    assert_eq!(user_errors(&payload), ["input.content:FROM_A_SOURCE"]);
}

/// A loopback web server: `/page` (its body can be changed), `/moved` (redirects to
/// `/page`), `/loop` (redirects to itself).
async fn website() -> (String, Arc<Mutex<String>>) {
    use axum::{http::StatusCode, response::IntoResponse, routing::get};
    let page = Arc::new(Mutex::new(String::new()));
    let app = axum::Router::new()
        .route(
            "/page",
            get(
                |axum::extract::State(page): axum::extract::State<Arc<Mutex<String>>>| async move {
                    let html = page.lock().expect("page").clone();
                    ([("content-type", "text/html; charset=utf-8")], html).into_response()
                },
            ),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [("location", "/page")]).into_response() }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [("location", "/loop")]).into_response() }),
        )
        .with_state(page.clone());
    let address = serve_loopback(app).await;
    (format!("http://{address}"), page)
}

async fn web_datasource(team: &Team, kind: &str) -> Value {
    let input = json!({ "projectId": team.project, "name": kind, "kind": kind });
    let (payload, body) = team
        .mutate(&team.owner, "createDatasource", CREATE_DATASOURCE, input)
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["datasource"]["id"].clone()
}

async fn from_url(team: &Team, datasource: &Value, url: &str) -> Value {
    let input = json!({ "datasourceId": datasource, "url": url });
    team.mutate(&team.owner, "createDocumentFromUrl", FROM_URL, input)
        .await
        .0
}

/// Ids of the document's chunks, in order.
async fn chunk_ids(db: &TestDb, document: &Value) -> Vec<String> {
    names(
        &mut db.conn().await,
        &format!(
            "SELECT id::text AS name FROM document_chunks WHERE document_id = '{}' ORDER BY chunk_index",
            document.as_str().expect("uuid")
        ),
    )
    .await
}

#[tokio::test]
async fn a_page_is_fetched_through_redirects_and_reindexed_only_when_it_changed() {
    let (site, page) = website().await;
    *page.lock().expect("page") = "<h1>Opening hours</h1><p>We open at nine.</p>".to_owned();
    let db = TestDb::migrated().await;
    let (team, _workers, _dir) = setup(&db, authenticator_allowing_private_webhooks()).await;
    let web = web_datasource(&team, "WEB").await;

    let payload = from_url(&team, &web, &format!("{site}/moved")).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let document = payload["document"].clone();
    assert_eq!(document["origin"], "URL");
    let indexed = settled(&team, &document["id"]).await;
    assert_eq!(indexed["status"], "INDEXED", "{indexed}");
    assert!(
        indexed["content"]
            .as_str()
            .is_some_and(|c| c.contains("We open at nine.")),
        "{indexed}"
    );
    let first = chunk_ids(&db, &document["uuid"]).await;
    assert!(!first.is_empty());
    // The same page twice in a datasource is refused.
    assert_eq!(
        user_errors(&from_url(&team, &web, &format!("{site}/moved")).await),
        ["input.externalId:EXTERNAL_ID_TAKEN"]
    );

    // Unchanged: read again, nothing re-embedded.
    let refresh = |id: Value| {
        let team = &team;
        async move {
            let (payload, body) = team
                .mutate(&team.owner, "refreshDocument", REFRESH, json!({ "id": id }))
                .await;
            assert_eq!(payload["userErrors"], json!([]), "{body}");
        }
    };
    refresh(document["id"].clone()).await;
    assert_eq!(settled(&team, &document["id"]).await["status"], "INDEXED");
    assert_eq!(chunk_ids(&db, &document["uuid"]).await, first);

    // Changed: new text, new chunks.
    *page.lock().expect("page") = "<h1>Opening hours</h1><p>We now open at ten.</p>".to_owned();
    refresh(document["id"].clone()).await;
    let changed = settled(&team, &document["id"]).await;
    assert!(
        changed["content"].as_str().is_some_and(|c| c.contains("ten")),
        "{changed}"
    );
    assert_ne!(changed["contentHash"], indexed["contentHash"]);
    assert_ne!(chunk_ids(&db, &document["uuid"]).await, first);

    // A redirect loop fails with the reason once the attempts are spent.
    let looping = from_url(&team, &web, &format!("{site}/loop")).await["document"].clone();
    let failed = settled(&team, &looping["id"]).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(
        failed["indexError"],
        "the page could not be fetched: more than 5 redirects"
    );

    // Only WEB datasources fetch pages.
    let manual = web_datasource(&team, "MANUAL").await;
    assert_eq!(
        user_errors(&from_url(&team, &manual, &format!("{site}/page")).await),
        ["input.datasourceId:NOT_WEB"]
    );
}

#[tokio::test]
async fn internal_addresses_are_refused_by_default() {
    let db = TestDb::migrated().await;
    let (team, _workers, _dir) = setup(&db, authenticator()).await;
    let web = web_datasource(&team, "WEB").await;
    for url in [
        "http://127.0.0.1:9/page",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/",
        "file:///etc/passwd",
    ] {
        let payload = from_url(&team, &web, url).await;
        assert_eq!(user_errors(&payload), ["input.url:URL_REFUSED"], "{url}: {payload}");
    }
    assert_eq!(
        user_errors(&from_url(&team, &web, "not a url").await),
        ["input.url:INVALID_URL"]
    );
}
