//! Tools (`services::tools`, the rounds of `services::generation::run`): a project enables
//! tools, an answer calls them (the offline model when asked in words, an OpenAI-compatible
//! provider through streamed `tool_calls`), their calls stream to subscribers and are stored
//! as `tool` messages, accounted, bounded, and run with the sender's rights only.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chatgraph::{
    providers::registry::Providers,
    pubsub::PubSub,
    services::{
        generation::{Generations, Settings},
        tools::{MAX_RESULT_BYTES, MAX_ROUNDS},
    },
};
use serde_json::{Value, json};

use crate::{
    grounding::{datasource, document, indexed},
    streaming::{collect, joined, socket},
    support::{
        Api, Team, TestDb, app_state, authenticator, authenticator_allowing_private_webhooks, file_store, files_dir,
        http_settings, names, serve_loopback, serve_state, user_errors, workers,
    },
    websocket::send,
};

const SETTINGS: &str = "mutation($input: UpdateProjectSettingsInput!) { updateProjectSettings(input: $input) { \
    userErrors { field code message } } }";
const TOOLS: &str = "query($id: ID!) { node(id: $id) { ... on Project { tools { name source enabled parameters } } } }";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { \
    chat { id } userMessage { id parent { id } } assistantMessage { id } userErrors { field code message } } }";
const STREAM: &str = "subscription($id: ID!) { messageStream(messageId: $id) { seq delta status \
    toolCalls { callId name source status arguments preview error round } \
    message { id content status inputTokens outputTokens \
      citations { position document { title } } \
      toolCalls { callId name status arguments preview durationMs round \
        resultMessage { role status content error parent { id } } } } } }";

/// A server on `db` with these providers; `private`: tools may read loopback addresses.
async fn tool_server(db: &TestDb, providers: Providers, private: bool) -> Api {
    tool_server_with(db, providers, private, Settings::default()).await
}

/// [`tool_server`] with these generation settings.
async fn tool_server_with(db: &TestDb, providers: Providers, private: bool, settings: Settings) -> Api {
    let pool = db.pool();
    let authenticator = if private {
        authenticator_allowing_private_webhooks()
    } else {
        authenticator()
    };
    let mut state = app_state(pool.clone(), authenticator.clone(), file_store(&files_dir()));
    state.generations = Generations::start_service(pool, providers, authenticator, PubSub::listen(&db.url), settings);
    Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    }
}

/// Enables `tools` in the team's project; the user errors.
async fn enable(team: &Team, tools: Value) -> Vec<String> {
    let input = json!({ "projectId": team.project, "enabledTools": tools });
    let (payload, body) = team.mutate(&team.owner, "updateProjectSettings", SETTINGS, input).await;
    assert!(body["errors"].is_null(), "{body}");
    user_errors(&payload)
}

/// Sends `content` as `token` (into `chat`, or a new chat); the payload.
async fn ask(team: &Team, token: &str, chat: Option<&Value>, content: &str) -> Value {
    let input = match chat {
        Some(chat) => json!({ "chatId": chat, "content": content }),
        None => json!({ "projectId": team.project, "content": content }),
    };
    let (payload, body) = team.mutate(token, "sendMessage", SEND, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload
}

/// The events of the answer `message` followed over a WebSocket as `token`.
async fn follow(team: &Team, token: &str, message: &Value) -> Vec<Value> {
    let mut socket = socket(&team.api, token).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": STREAM, "variables": { "id": message } } }),
    )
    .await;
    collect(&mut socket, "1").await
}

/// Every tool call change the events carried, as `callId:STATUS`.
fn changes(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| e["toolCalls"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            format!(
                "{}:{}",
                c["callId"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[tokio::test]
async fn an_answer_searches_the_knowledge_and_its_calls_stream_are_stored_and_accounted() {
    let db = TestDb::migrated().await;
    let team = Team::on(tool_server(&db, Providers::offline(0.0), false).await).await;
    let _workers = workers(&db);

    // Tools are opt-in per project, by known names only.
    let (_, body) = team
        .api
        .run(Some(&team.owner), TOOLS, json!({ "id": team.project }))
        .await;
    let tools = body["data"]["node"]["tools"].as_array().cloned().expect("tools");
    assert_eq!(
        tools
            .iter()
            .map(|t| (t["name"].clone(), t["enabled"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (json!("knowledge_search"), json!(false)),
            (json!("fetch_url"), json!(false)),
            (json!("github_list_files"), json!(false)),
            (json!("github_read_file"), json!(false)),
            (json!("github_search_code"), json!(false)),
        ]
    );
    assert_eq!(tools[0]["parameters"]["required"], json!(["query"]));
    assert_eq!(
        enable(&team, json!(["knowledge_search", "google_search"])).await,
        ["input.enabledTools:UNKNOWN_TOOL"]
    );
    assert!(enable(&team, json!(["knowledge_search"])).await.is_empty());
    let (_, body) = team
        .api
        .run(Some(&team.owner), TOOLS, json!({ "id": team.project }))
        .await;
    assert_eq!(body["data"]["node"]["tools"][0]["enabled"], true);

    let handbook = datasource(&team, "Handbook").await;
    document(
        &team,
        &handbook,
        "Warranty",
        "# Warranty\n\nThe warranty covers parts and repairs for two years.",
    )
    .await;
    indexed(&team).await;
    // Another tenant's document on the same subject, never reachable from this project.
    let elsewhere = team.outsiders_project().await;
    let input = json!({ "projectId": elsewhere, "name": "Theirs" });
    let (payload, _) = team
        .mutate(
            &team.outsider,
            "createDatasource",
            "mutation($input: CreateDatasourceInput!) { createDatasource(input: $input) { datasource { id } } }",
            input,
        )
        .await;
    let input = json!({ "projectId": elsewhere, "datasourceId": payload["datasource"]["id"], "title": "Warranty secrets",
                        "content": "Secret: the warranty covers parts for ten years." });
    let (_, body) = team
        .mutate(
            &team.outsider,
            "createDocument",
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { document { id } } }",
            input,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let sent = ask(&team, &team.member, None, "Please search the knowledge for warranty").await;
    let answer_id = sent["assistantMessage"]["id"].clone();
    let events = follow(&team, &team.member, &answer_id).await;
    let last = events.last().expect("events");
    let message = &last["message"];
    assert_eq!(message["status"], "COMPLETE", "{last}");
    // The stream contract holds across rounds; the call is seen starting, then ending.
    assert_eq!(joined(&events, 0), message["content"].as_str().expect("content"));
    assert_eq!(changes(&events), ["offline_call_1:RUNNING", "offline_call_1:SUCCEEDED"]);
    let started = events
        .iter()
        .flat_map(|e| e["toolCalls"].as_array().cloned().unwrap_or_default())
        .next()
        .expect("a call");
    assert_eq!(started["name"], "knowledge_search");
    assert_eq!(started["source"], "builtin");
    assert_eq!(started["arguments"], json!({ "query": "warranty" }));
    assert_eq!(started["round"], 1);

    // Stored: the answer lists its call, a tool message under it holds the result.
    let call = &message["toolCalls"][0];
    assert_eq!(call["status"], "SUCCEEDED", "{call}");
    assert!(call["durationMs"].is_number());
    let result = &call["resultMessage"];
    assert_eq!(result["role"], "TOOL");
    assert_eq!(result["parent"]["id"], answer_id);
    let text = result["content"].as_str().expect("result");
    assert!(text.starts_with("Source [1]: Warranty (Warranty)\n"), "{text}");
    assert!(text.contains("two years") && !text.contains("ten years"), "{text}");
    assert!(
        call["preview"]
            .as_str()
            .is_some_and(|p| p.starts_with("Source [1]: Warranty")),
        "{call}"
    );
    // The model read the result, and the passages are the answer's citations.
    let content = message["content"].as_str().expect("content");
    assert!(
        content.contains("after knowledge_search said \"Source [1]: Warranty (Warranty)"),
        "{content}"
    );
    assert_eq!(
        message["citations"],
        json!([{ "position": 1, "document": { "title": "Warranty" } }])
    );

    // Accounted: one chat usage row for both rounds, one tool row.
    let usage = names(
        &mut db.conn().await,
        "SELECT operation || ':' || model || ':' || coalesce(metadata->>'rounds', '-') AS name FROM usage_events \
         ORDER BY operation, model",
    )
    .await;
    assert_eq!(usage, ["chat:offline:2", "tool:knowledge_search:-"]);

    // The next message follows the answer, not its tool result, and its prompt leaves the
    // result out.
    let next = ask(&team, &team.member, Some(&sent["chat"]["id"]), "Thanks").await;
    assert_eq!(next["userMessage"]["parent"]["id"], answer_id);
    let events = follow(&team, &team.member, &next["assistantMessage"]["id"]).await;
    let content = events.last().expect("events")["message"]["content"].clone();
    assert!(
        content
            .as_str()
            .is_some_and(|c| c.starts_with("Offline model answering \"Thanks\":")),
        "{content}"
    );
    assert_eq!(changes(&events), Vec::<String>::new());
}

/// A loopback server for `fetch_url`: `/big` is a page larger than a tool result may be.
async fn pages() -> String {
    let app = axum::Router::new().route(
        "/big",
        axum::routing::get(|| async { ([("content-type", "text/plain")], "word ".repeat(20_000)) }),
    );
    let address = serve_loopback(app).await;
    format!("http://{address}")
}

#[tokio::test]
async fn tool_failures_and_huge_results_reach_the_model_and_never_fail_the_answer() {
    let db = TestDb::migrated().await;
    let pages = pages().await;
    // Tools on this server may read loopback pages; on the other, internal addresses are refused.
    let open = Team::on(tool_server(&db, Providers::offline(0.0), true).await).await;
    assert!(enable(&open, json!(["fetch_url"])).await.is_empty());
    let guarded = Api {
        client: reqwest::Client::new(),
        address: tool_server(&db, Providers::offline(0.0), false).await.address,
    };

    let sent = ask(
        &open,
        &open.member,
        None,
        &format!("Please fetch {pages}/big and\ncall fetch_url not json"),
    )
    .await;
    let events = follow(&open, &open.member, &sent["assistantMessage"]["id"]).await;
    let message = &events.last().expect("events")["message"];
    assert_eq!(message["status"], "COMPLETE", "{message}");
    let calls = message["toolCalls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2, "{message}");
    // Two calls of one round run side by side.
    assert_eq!(
        changes(&events).iter().filter(|c| c.ends_with(":RUNNING")).count(),
        2,
        "{events:?}"
    );
    let big = calls[0]["resultMessage"]["content"].as_str().expect("result");
    assert!(big.len() < MAX_RESULT_BYTES + 200, "{}", big.len());
    assert!(big.starts_with(&format!("{pages}/big\n\nword word")), "{}", &big[..100]);
    assert!(
        big.contains(&format!("[the result was cut: {MAX_RESULT_BYTES} of its ")) && big.ends_with(" bytes are shown]"),
        "{}",
        &big[big.len() - 100..]
    );
    assert_eq!(calls[1]["status"], "FAILED");
    assert_eq!(calls[1]["resultMessage"]["status"], "FAILED");
    let error = calls[1]["resultMessage"]["error"].as_str().expect("error");
    assert!(error.starts_with("the arguments are not valid JSON"), "{error}");
    assert!(
        message["content"]
            .as_str()
            .is_some_and(|c| c.contains("fetch_url said \"error: the arguments are not valid JSON")),
        "{message}"
    );

    // The outbound guard: an internal address is refused, and the model is told.
    let team = Team { api: guarded, ..open };
    let sent = ask(&team, &team.member, None, &format!("Please fetch {pages}/big")).await;
    let events = follow(&team, &team.member, &sent["assistantMessage"]["id"]).await;
    let call = &events.last().expect("events")["message"]["toolCalls"][0];
    assert_eq!(call["status"], "FAILED");
    assert!(
        call["resultMessage"]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("the URL is refused")),
        "{call}"
    );
}

/// The requests the loopback provider received.
type Seen = Arc<Mutex<Vec<Value>>>;

/// An OpenAI-compatible server on loopback that calls tools, by model: `parallel` streams two
/// calls in pieces (arguments split, the second call between pieces of the first), then answers
/// once both results are back; `forever` calls a tool whenever tools are offered; `late`
/// calls a tool after a second.
async fn tool_provider() -> (String, Seen) {
    use axum::{body::Body, response::IntoResponse, routing::post};
    let seen: Seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(
                |axum::extract::State(seen): axum::extract::State<Seen>, axum::Json(body): axum::Json<Value>| async move {
                    seen.lock().expect("seen").push(body.clone());
                    let data = |value: Value| format!("data: {value}\n\n");
                    let calls = |pieces: Value| data(json!({ "choices": [{ "index": 0, "delta": { "tool_calls": pieces } }] }));
                    let finish = |reason: &str, input: i64, output: i64| {
                        vec![
                            data(json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }] })),
                            data(json!({ "choices": [], "usage": { "prompt_tokens": input, "completion_tokens": output } })),
                            "data: [DONE]\n\n".to_owned(),
                        ]
                    };
                    let text = |text: &str| data(json!({ "choices": [{ "index": 0, "delta": { "content": text } }] }));
                    let answered = body["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
                    let offered = body.get("tools").is_some();
                    let mut parts = match (body["model"].as_str().unwrap_or(""), answered, offered) {
                        ("parallel", false, _) => vec![
                            calls(json!([{ "index": 0, "id": "call_a", "type": "function", "function": { "name": "knowledge_search", "arguments": "" } }])),
                            calls(json!([{ "index": 0, "function": { "arguments": "{\"que" } }])),
                            calls(json!([{ "index": 1, "id": "call_b", "type": "function", "function": { "name": "knowledge_search", "arguments": "{\"query\":\"refunds\"}" } }])),
                            calls(json!([{ "index": 0, "function": { "arguments": "ry\":\"warranty\"}" } }])),
                        ],
                        ("parallel", true, _) => vec![text("Both done.")],
                        ("forever", _, true) | ("late", false, true) => {
                            if body["model"] == "late" {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                            let round = body["messages"].as_array().map_or(0, |m| m.iter().filter(|m| m["role"] == "tool").count());
                            vec![calls(json!([{ "index": 0, "id": format!("call_{round}"), "type": "function",
                                                "function": { "name": "knowledge_search", "arguments": "{\"query\":\"again\"}" } }]))]
                        }
                        _ => vec![text("Out of rounds.")],
                    };
                    let reason = if parts[0].contains("tool_calls") { "tool_calls" } else { "stop" };
                    parts.extend(finish(reason, 10, 4));
                    let stream = async_graphql::futures_util::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>));
                    ([("content-type", "text/event-stream")], Body::from_stream(stream)).into_response()
                },
            ),
        )
        .with_state(seen.clone());
    let address = serve_loopback(app).await;
    (format!("http://{address}/v1"), seen)
}

fn loopback(base_url: &str) -> Providers {
    let model = |id: &str| json!({ "id": id, "context_window": 8192, "input_per_mtok": 1.0, "output_per_mtok": 2.0 });
    let config = json!([{ "name": "loop", "kind": "openai", "base_url": base_url, "api_key": "sk-test",
                          "models": [model("parallel"), model("forever"), model("late")] }]);
    Providers::from_config(Some(&config.to_string()), None).expect("providers")
}

#[tokio::test]
async fn an_openai_compatible_model_calls_tools_in_parallel_within_bounded_rounds() {
    let (base_url, seen) = tool_provider().await;
    let db = TestDb::migrated().await;
    let team = Team::on(tool_server(&db, loopback(&base_url), false).await).await;
    assert!(enable(&team, json!(["knowledge_search"])).await.is_empty());

    let input = json!({ "projectId": team.project, "content": "Warranty and refunds?", "model": "loop/parallel" });
    let (sent, body) = team.mutate(&team.member, "sendMessage", SEND, input).await;
    assert_eq!(sent["userErrors"], json!([]), "{body}");
    let events = follow(&team, &team.member, &sent["assistantMessage"]["id"]).await;
    let message = &events.last().expect("events")["message"];
    assert_eq!(message["status"], "COMPLETE", "{message}");
    assert_eq!(message["content"], "Both done.");
    let calls: Vec<(Value, Value, Value)> = message["toolCalls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| (c["callId"].clone(), c["arguments"].clone(), c["status"].clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (json!("call_a"), json!({ "query": "warranty" }), json!("SUCCEEDED")),
            (json!("call_b"), json!({ "query": "refunds" }), json!("SUCCEEDED")),
        ]
    );
    // Tokens of both rounds, as the provider reported them.
    assert_eq!(
        (message["inputTokens"].clone(), message["outputTokens"].clone()),
        (json!(20), json!(8))
    );
    // The second request carried the calls and their results, in the provider's format.
    let second = seen.lock().expect("seen")[1].clone();
    assert_eq!(second["tools"][0]["function"]["name"], "knowledge_search");
    let messages = second["messages"].as_array().expect("messages");
    let called = messages.iter().find(|m| m["role"] == "assistant").expect("calls");
    assert_eq!(called["content"], Value::Null);
    assert_eq!(
        called["tool_calls"][0]["function"]["arguments"],
        "{\"query\":\"warranty\"}"
    );
    let results: Vec<&Value> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| &m["tool_call_id"])
        .collect();
    assert_eq!(results, [&json!("call_a"), &json!("call_b")]);

    // A model that never stops calling gets MAX_ROUNDS rounds of tools, then one without.
    seen.lock().expect("seen").clear();
    let input = json!({ "projectId": team.project, "content": "Loop", "model": "loop/forever" });
    let (sent, _) = team.mutate(&team.member, "sendMessage", SEND, input).await;
    let events = follow(&team, &team.member, &sent["assistantMessage"]["id"]).await;
    let message = &events.last().expect("events")["message"];
    assert_eq!(message["content"], "Out of rounds.", "{message}");
    assert_eq!(message["toolCalls"].as_array().map(Vec::len), Some(MAX_ROUNDS));
    // (Titling the chats asks the model too, apart.)
    let mut requests = seen.lock().expect("seen").clone();
    requests.retain(|r| {
        r["messages"][0]["content"]
            .as_str()
            .is_none_or(|c| !c.starts_with("Write a title"))
    });
    assert_eq!(requests.len(), MAX_ROUNDS + 1);
    assert!(requests[..MAX_ROUNDS].iter().all(|r| r.get("tools").is_some()));
    assert!(requests[MAX_ROUNDS].get("tools").is_none());
    let rounds: Vec<i64> = message["toolCalls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["round"].as_i64())
        .collect();
    assert_eq!(rounds, (1..=MAX_ROUNDS as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_tool_runs_with_the_senders_rights_at_the_time_it_runs() {
    let (base_url, _) = tool_provider().await;
    let db = TestDb::migrated().await;
    let team = Team::on(tool_server(&db, loopback(&base_url), false).await).await;
    assert!(enable(&team, json!(["knowledge_search"])).await.is_empty());
    let input = json!({ "projectId": team.project, "content": "Search, slowly", "model": "loop/late" });
    let (sent, body) = team.mutate(&team.member, "sendMessage", SEND, input).await;
    assert_eq!(sent["userErrors"], json!([]), "{body}");
    // The sender signs out before the model calls its first tool.
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            "mutation { signOut { revokedSessions } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["signOut"]["revokedSessions"], 1, "{body}");
    // Read from the table: the sender can no longer read anything.
    let mut answer = Vec::new();
    for _ in 0..200 {
        answer = names(
            &mut db.conn().await,
            "SELECT status || ':' || content AS name FROM messages WHERE role = 'assistant'",
        )
        .await;
        if answer.iter().all(|a| !a.starts_with("streaming:")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, ["complete:Out of rounds."]);
    let results = names(
        &mut db.conn().await,
        "SELECT status || ':' || coalesce(error, '-') AS name FROM messages WHERE role = 'tool'",
    )
    .await;
    assert_eq!(results, ["failed:the person who asked is no longer signed in"]);
}

#[tokio::test]
async fn an_assistant_sees_the_enabled_tools_it_names() {
    let db = TestDb::migrated().await;
    let team = Team::on(tool_server(&db, Providers::offline(0.0), false).await).await;
    assert!(enable(&team, json!(["knowledge_search"])).await.is_empty());
    let create = "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { \
        assistant { tools enabledTools { name enabled } } userErrors { field code } } }";
    let input = json!({ "projectId": team.project, "name": "Reader", "provider": "offline", "model": "offline",
                        "tools": ["knowledge_search", "fetch_url"] });
    let (payload, body) = team.mutate(&team.owner, "createAssistant", create, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["assistant"]["tools"], json!(["knowledge_search", "fetch_url"]));
    // fetch_url is named but not enabled in the project.
    assert_eq!(
        payload["assistant"]["enabledTools"],
        json!([{ "name": "knowledge_search", "enabled": true }])
    );
    let input = json!({ "projectId": team.project, "name": "Talker", "provider": "offline", "model": "offline" });
    let (payload, _) = team.mutate(&team.owner, "createAssistant", create, input).await;
    assert_eq!(payload["assistant"]["enabledTools"], json!([]));

    // A chat with the assistant that names no tool calls none.
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createAssistant",
            create,
            json!({ "projectId": team.project, "name": "Quiet",
            "provider": "offline", "model": "offline" }),
        )
        .await;
    assert!(payload["userErrors"].as_array().is_some_and(Vec::is_empty));
    let id = "query($id: ID!) { node(id: $id) { ... on Project { assistants(first: 5) { nodes { id name } } } } }";
    let (_, body) = team.api.run(Some(&team.owner), id, json!({ "id": team.project })).await;
    let quiet = body["data"]["node"]["assistants"]["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "Quiet"))
        .map(|a| a["id"].clone())
        .expect("assistant");
    let input = json!({ "projectId": team.project, "assistantId": quiet, "content": "Please search the knowledge for warranty" });
    let (sent, body) = team.mutate(&team.member, "sendMessage", SEND, input).await;
    assert_eq!(sent["userErrors"], json!([]), "{body}");
    let events = follow(&team, &team.member, &sent["assistantMessage"]["id"]).await;
    let message = &events.last().expect("events")["message"];
    assert_eq!(message["toolCalls"], json!([]), "{message}");
    assert!(
        message["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("Offline model answering \"Please search the knowledge for warranty\":")),
        "{message}"
    );
}

/// A stand-in of the GitHub REST API on loopback for repository `acme/widgets`, answering
/// only requests with the token `ghp-test`.
async fn github() -> String {
    use axum::{
        extract::{Path, Query},
        http::{HeaderMap, StatusCode},
        response::IntoResponse,
        routing::get,
    };
    let authorized = |headers: &HeaderMap| headers.get("authorization").is_some_and(|v| v == "Bearer ghp-test");
    let app = axum::Router::new()
        .route(
            "/repos/{owner}/{name}/contents/{*path}",
            get(
                move |Path((owner, name, path)): Path<(String, String, String)>, headers: HeaderMap| async move {
                    if !authorized(&headers) || (owner.as_str(), name.as_str()) != ("acme", "widgets") {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    match path.as_str() {
                        "src/lib.rs" if headers.get("accept").is_some_and(|a| a == "application/vnd.github.raw") => {
                            "pub fn widget() -> u32 { 42 }\n".into_response()
                        }
                        _ => StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
        )
        .route(
            "/repos/{owner}/{name}/contents/",
            get(move |headers: HeaderMap| async move {
                if !authorized(&headers) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                axum::Json(json!([
                    { "path": "README.md", "type": "file", "size": 120 },
                    { "path": "src", "type": "dir", "size": 0 },
                ]))
                .into_response()
            }),
        )
        .route(
            "/search/code",
            get(
                move |Query(query): Query<std::collections::HashMap<String, String>>, headers: HeaderMap| async move {
                    if !authorized(&headers) || query.get("q").map(String::as_str) != Some("widget repo:acme/widgets") {
                        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
                    }
                    axum::Json(json!({ "items": [{ "path": "src/lib.rs" }] })).into_response()
                },
            ),
        );
    let address = serve_loopback(app).await;
    format!("http://{address}")
}

#[tokio::test]
async fn github_tools_read_only_the_repositories_the_asker_connected() {
    let db = TestDb::migrated().await;
    let settings = Settings {
        github_api: github().await.as_str().into(),
        ..Settings::default()
    };
    let team = Team::on(tool_server_with(&db, Providers::offline(0.0), false, settings).await).await;
    assert!(enable(&team, json!(["github"])).await.is_empty());
    let (_, body) = team
        .mutate(
            &team.owner,
            "createCredential",
            "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } } }",
            json!({ "organizationId": team.organization, "name": "GitHub", "credentialType": "GITHUB", "secret": "ghp-test" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (payload, body) = team
        .mutate(
            &team.member,
            "connectRepository",
            "mutation($input: ConnectRepositoryInput!) { connectRepository(input: $input) { userErrors { code } } }",
            json!({ "owner": "acme", "name": "widgets" }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");

    let asked = [
        r#"call github_list_files {"repository":"acme/widgets"}"#,
        r#"call github_read_file {"repository":"ACME/widgets","path":"src/lib.rs"}"#,
        r#"call github_search_code {"repository":"acme/widgets","query":"widget"}"#,
        r#"call github_read_file {"repository":"acme/secrets","path":"keys.txt"}"#,
        r#"call github_read_file {"repository":"acme/widgets","path":"../../etc/passwd"}"#,
    ]
    .join("\n");
    let sent = ask(&team, &team.member, None, &asked).await;
    let events = follow(&team, &team.member, &sent["assistantMessage"]["id"]).await;
    let message = &events.last().expect("events")["message"];
    assert_eq!(message["status"], "COMPLETE", "{message}");
    let results: Vec<(String, String)> = message["toolCalls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            let text = c["resultMessage"]["content"].as_str().unwrap_or("").to_owned();
            (c["status"].as_str().unwrap_or("").to_owned(), text)
        })
        .collect();
    assert_eq!(
        results,
        [
            (
                "SUCCEEDED".to_owned(),
                "README.md (file, 120 bytes)\nsrc (folder, 0 bytes)".to_owned()
            ),
            ("SUCCEEDED".to_owned(), "pub fn widget() -> u32 { 42 }\n".to_owned()),
            ("SUCCEEDED".to_owned(), "src/lib.rs".to_owned()),
            (
                "FAILED".to_owned(),
                "error: \"acme/secrets\" is not one of the GitHub repositories the person who asked has connected"
                    .to_owned()
            ),
            ("FAILED".to_owned(), "error: `path` may not go up a folder".to_owned()),
        ]
    );
}
