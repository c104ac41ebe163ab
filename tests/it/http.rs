//! The server over real HTTP: the `chatgraph` binary seeds, serves the nested demo query,
//! GraphiQL and the SDL, reports health, and stops cleanly on SIGTERM; the committed
//! `schema.graphql` is current; limits and errors behave.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use chatgraph::{graphql, http::HttpSettings};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

use crate::support::{TestDb, http_settings, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_chatgraph");

const NESTED_QUERY: &str = "{ apiVersion organizations { nodes { name slug projects { nodes { name organization { slug } \
    chats(first: 10) { totalCount edges { cursor node { title visibility \
    messages(first: 10) { nodes { role content chat { title } } } } } } } } } } }";

async fn post(
    client: &reqwest::Client,
    address: SocketAddr,
    body: Value,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let response = client
        .post(format!("http://{address}/graphql"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.expect("json body"))
}

#[tokio::test]
async fn the_binary_seeds_serves_the_demo_and_stops_on_sigterm() {
    let db = TestDb::empty().await;
    let seeded = Command::new(BIN)
        .args(["seed", "--demo"])
        .env("DATABASE_URL", db.url.expose_secret())
        .env_remove("CHATGRAPH_ADMIN_EMAIL")
        .output()
        .await
        .expect("run seed");
    assert!(
        seeded.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    let mut server = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", db.url.expose_secret())
        .env("CHATGRAPH_LISTEN", "127.0.0.1:0")
        .env("CHATGRAPH_JWT_SECRET", "test secret of at least thirty-two bytes")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start server");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let banner = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("server announces itself")
        .expect("read stdout")
        .expect("a line");
    let address: SocketAddr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));

    let client = reqwest::Client::new();
    // Anonymous callers see no organization; the demo's project manager sees the demo.
    let (_, _, anonymous) = post(&client, address, json!({ "query": NESTED_QUERY })).await;
    assert_eq!(anonymous["data"]["organizations"]["nodes"], json!([]));
    let sign_in = "mutation { signIn(input: { email: \"pm@example.com\", password: \"ChangeMe123!\" }) { session { accessToken } } }";
    let (_, _, signed_in) = post(&client, address, json!({ "query": sign_in })).await;
    let token = signed_in["data"]["signIn"]["session"]["accessToken"]
        .as_str()
        .expect("demo sign-in")
        .to_owned();
    let response = client
        .post(format!("http://{address}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": NESTED_QUERY }))
        .send()
        .await
        .expect("request");
    let (status, headers) = (response.status(), response.headers().clone());
    let body: Value = response.json().await.expect("json body");
    assert_eq!(status, 200);
    assert!(headers.contains_key("x-request-id"));
    assert!(body.get("errors").is_none(), "{body}");
    let organizations = body["data"]["organizations"]["nodes"]
        .as_array()
        .expect("organizations");
    assert_eq!(organizations.len(), 1);
    let project = &organizations[0]["projects"]["nodes"][0];
    assert_eq!(project["name"], "Support Assistant");
    assert_eq!(project["organization"]["slug"], "acme");
    let chats = project["chats"]["edges"].as_array().expect("chats");
    assert_eq!((chats.len(), project["chats"]["totalCount"].as_u64()), (2, Some(2)));
    assert!(chats.iter().all(|edge| edge["cursor"].is_string()));
    let getting_started = &chats
        .iter()
        .find(|c| c["node"]["title"] == "Getting started")
        .expect("demo chat")["node"];
    let messages = getting_started["messages"]["nodes"].as_array().expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0]["role"], "USER");
    assert_eq!(messages[1]["role"], "ASSISTANT");
    assert_eq!(messages[3]["chat"]["title"], "Getting started");

    let get = |path: &str| client.get(format!("http://{address}{path}")).send();
    let health = get("/healthz").await.expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = get("/readyz").await.expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.expect("json")["status"], "ready");
    let graphiql = get("/").await.expect("graphiql").text().await.expect("html");
    assert!(graphiql.to_lowercase().contains("graphiql") && graphiql.contains("/graphql"));
    let sdl = get("/schema.graphql").await.expect("sdl").text().await.expect("text");
    assert_eq!(sdl, graphql::sdl());
    let by_get: Value = get("/graphql?query=%7BapiVersion%7D")
        .await
        .expect("GET query")
        .json()
        .await
        .expect("json");
    assert_eq!(by_get["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));

    let pid = nix::unistd::Pid::from_raw(server.id().expect("pid") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("stops in time")
        .expect("wait");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn schema_graphql_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).expect("schema.graphql");
    assert!(
        committed == graphql::sdl(),
        "schema.graphql is stale: run `make schema`"
    );
}

const MAX_BODY_BYTES: usize = 64 * 1024;

#[tokio::test]
async fn readyz_reports_pending_migrations() {
    let db = TestDb::empty().await;
    let address = spawn_app(db.pool(), http_settings()).await;
    let response = reqwest::get(format!("http://{address}/readyz")).await.expect("readyz");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.expect("json")["reason"],
        "migrations pending"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_errors_carry_codes_and_request_ids() {
    let db = TestDb::migrated().await;
    let address = spawn_app(db.pool(), http_settings()).await;
    let client = reqwest::Client::new();

    let huge = "x".repeat(MAX_BODY_BYTES + 1);
    let response = client
        .post(format!("http://{address}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": format!("{{ apiVersion }} # {huge}") }).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);

    // Without a Content-Length (chunked), the body is cut off as it streams in: 413 as well.
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let chunk = format!("{{\"query\": \"{{ apiVersion }} # {huge}\"}}");
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The server may answer before it has read everything: a failed write is no failure here.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    let (_, headers, body) = post(&client, address, json!({ "query": "{ node(id: \"garbage\") { id } }" })).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        error["extensions"]["requestId"],
        headers["x-request-id"].to_str().expect("header")
    );

    // A client's request id is kept when it is a plain token, replaced when it is not.
    let with_id = |id: &str| {
        client
            .post(format!("http://{address}/graphql"))
            .header("x-request-id", id)
            .json(&json!({ "query": "{ apiVersion }" }))
            .send()
    };
    let kept = with_id("trace-42.a:b_c").await.expect("request");
    assert_eq!(kept.headers()["x-request-id"], "trace-42.a:b_c");
    for bad in ["has spaces and \"quotes\"", &"x".repeat(65), "line\tbreak"] {
        let replaced = with_id(bad).await.expect("request");
        let id = replaced.headers()["x-request-id"].to_str().expect("header").to_owned();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id replaces {bad:?}: {id}");
    }

    let (_, _, body) = post(
        &client,
        address,
        json!({ "query": "{ organizations(first: 101) { totalCount } }" }),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let deep = format!(
        "{{ organizations(first: 1) {{ nodes {{ {} }} }} }}",
        "projects(first: 1) { nodes { organization { ".repeat(6) + "id" + &" } } }".repeat(6)
    );
    let (_, _, body) = post(&client, address, json!({ "query": deep })).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nested deeper than"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Page sizes multiply: a hundred of a hundred of a hundred is refused before it runs.
    let wide = "{ organizations(first: 100) { nodes { projects(first: 100) { nodes { chats(first: 100) { nodes { title } } } } } } }";
    let (_, _, body) = post(&client, address, json!({ "query": wide })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too complex"),
        "{body}"
    );
    let narrow = "{ organizations(first: 10) { nodes { projects(first: 10) { nodes { chats(first: 100) { nodes { title } } } } } } }";
    let (_, _, body) = post(&client, address, json!({ "query": narrow })).await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn graphiql_uses_local_assets_when_present_and_the_cdn_otherwise() {
    let db = TestDb::migrated().await;
    let without = spawn_app(db.pool(), http_settings()).await;
    let page = reqwest::get(format!("http://{without}/"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("https://unpkg.com/graphiql@3.8.3/graphiql.min.js"),
        "{page}"
    );
    // Subscriptions run from the page over graphql-ws, and it signs in by itself.
    assert!(page.contains("graphqlWs.createClient") && page.contains("signIn(input: $input)"));
    // A browser opening the endpoint itself gets the page; API clients still get GraphQL.
    let client = reqwest::Client::new();
    let opened = client
        .get(format!("http://{without}/graphql"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("page");
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.expect("html").contains("graphqlWs.createClient"));
    let api = client
        .get(format!("http://{without}/graphql?query=%7B__typename%7D"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("query");
    assert_eq!(api.json::<Value>().await.expect("json")["data"]["__typename"], "Query");

    let assets = std::env::temp_dir().join(format!("graphiql-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&assets).expect("dir");
    for file in [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "graphql-ws.min.js",
    ] {
        std::fs::write(assets.join(file), format!("/* {file} */")).expect("asset");
    }
    let with = spawn_app(
        db.pool(),
        HttpSettings {
            graphiql_assets: assets.clone(),
            ..http_settings()
        },
    )
    .await;
    let page = reqwest::get(format!("http://{with}/graphiql"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("/graphiql/assets/graphiql.min.js") && !page.contains("unpkg.com"),
        "{page}"
    );
    let script = reqwest::get(format!("http://{with}/graphiql/assets/graphiql.min.js"))
        .await
        .expect("asset");
    assert_eq!(script.status(), 200);
    assert_eq!(script.text().await.expect("body"), "/* graphiql.min.js */");
    std::fs::remove_dir_all(assets).expect("clean up");
}

/// The introspection query of graphql-js (with the deeper type references newer tools send),
/// as GraphiQL and code generators run it.
const INTROSPECTION_QUERY: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } \
    subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } } \
    fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description \
    args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } \
    interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } \
    possibleTypes { ...TypeRef } } \
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } \
    fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name \
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } }";

#[tokio::test]
async fn the_introspection_query_of_graphiql_and_codegen_tools_passes_the_limits() {
    let response = graphql::schema().execute(INTROSPECTION_QUERY).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let types = response.data.into_json().expect("json");
    assert!(
        types["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "Chat"))
    );
}

#[tokio::test]
async fn responses_follow_graphql_over_http() {
    let db = TestDb::migrated().await;
    let address = spawn_app(db.pool(), http_settings()).await;
    let client = reqwest::Client::new();
    let send = |accept: &'static str, query: &'static str| {
        client
            .post(format!("http://{address}/graphql"))
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let content_type = |r: &reqwest::Response| r.headers()["content-type"].to_str().expect("header").to_owned();

    let ok = send("application/graphql-response+json", "{ apiVersion }")
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    assert!(content_type(&ok).starts_with("application/graphql-response+json"));

    let legacy = send("application/json", "{ apiVersion }").await.expect("request");
    assert_eq!(legacy.status(), 200);
    assert!(content_type(&legacy).starts_with("application/json"));

    // A parse error is a request error: 400 with the new media type, 200 with the legacy one.
    let bad = send("application/graphql-response+json", "{ apiVersion ")
        .await
        .expect("request");
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.expect("json")["errors"][0]["message"].is_string());
    let legacy_bad = send("application/json", "{ noSuchField }").await.expect("request");
    assert_eq!(legacy_bad.status(), 200);

    // A field error happened during execution: 200 either way, with the error's path.
    let field_error = send(
        "application/graphql-response+json",
        "{ organizations(first: 0) { totalCount } }",
    )
    .await
    .expect("request");
    assert_eq!(field_error.status(), 200);
    assert_eq!(
        field_error.json::<Value>().await.expect("json")["errors"][0]["path"][0],
        "organizations"
    );

    assert_eq!(
        send("text/html", "{ apiVersion }").await.expect("request").status(),
        406
    );
}

#[tokio::test]
async fn an_unreadable_body_is_a_graphql_error_with_a_code_not_debug_text() {
    let db = TestDb::migrated().await;
    let address = spawn_app(db.pool(), http_settings()).await;
    let client = reqwest::Client::new();
    for (body, expected) in [
        (
            r#"{"query": "{ __typename }", "variables": "\q"}"#,
            "the body is not a GraphQL request",
        ),
        (
            r#"[{"query": "{ __typename }"}, {"query": "{ __typename }"}]"#,
            "batched requests are not supported",
        ),
        ("not json at all", "the body is not a GraphQL request"),
    ] {
        let response = client
            .post(format!("http://{address}/graphql"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let answer: Value = response.json().await.expect("a JSON answer");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(expected), "{message}");
        assert!(
            !message.contains("Error(") && !message.contains("InvalidRequest"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn bodies_a_cross_site_form_could_send_are_refused() {
    // As Apollo's CSRF prevention: a browser sends text/plain, form encodings and multipart
    // cross-site without a preflight, so they must not execute; JSON is preflighted.
    let db = TestDb::migrated().await;
    let address = spawn_app(db.pool(), http_settings()).await;
    let client = reqwest::Client::new();
    let url = format!("http://{address}/graphql");
    let body = r#"{"query": "{ __typename }"}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = client.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 415, "{content_type:?}");
        let answer: Value = response.json().await.expect("a JSON answer");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
        assert_eq!(answer["data"], Value::Null, "nothing ran: {answer}");
    }
    // Multipart needs a header a form cannot set.
    let form = || {
        reqwest::multipart::Form::new()
            .text("operations", body)
            .text("map", "{}")
    };
    let response = client.post(&url).multipart(form()).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.expect("a JSON answer");
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Apollo-Require-Preflight"), "{answer}");
    let response = client
        .post(&url)
        .header("apollo-require-preflight", "true")
        .multipart(form())
        .send()
        .await
        .expect("request");
    let answer: Value = response.json().await.expect("a JSON answer");
    assert_eq!(answer["data"]["__typename"], "Query", "{answer}");
    // JSON runs, with or without parameters on its media type.
    let response = client
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .expect("request");
    let answer: Value = response.json().await.expect("a JSON answer");
    assert_eq!(answer["data"]["__typename"], "Query", "{answer}");
}
