//! Model answers end to end: `sendMessage`, `messageStream` over a real WebSocket (several
//! join points, `afterSeq`, two servers on one database), stop, regenerate, refusals before
//! anything is stored, the reaper, and the OpenAI-compatible provider against a loopback SSE
//! server.

use std::time::Duration;

use chatgraph::{
    providers::registry::Providers,
    pubsub::PubSub,
    services::generation::{Generations, Settings},
};
use serde_json::{Value, json};

use crate::{
    support::{
        Api, Team, TestDb, app_state, authenticator, file_store, files_dir, http_settings, serve_loopback, serve_state,
    },
    websocket::{Socket, connect, init, receive, send},
};

/// A server on `db` with these providers, listening for other servers' notices.
pub async fn server(db: &TestDb, providers: Providers, settings: Settings) -> Api {
    server_with(db, providers, settings, http_settings()).await
}

/// Like [`server`], with these HTTP settings.
pub async fn server_with(
    db: &TestDb,
    providers: Providers,
    settings: Settings,
    http: chatgraph::http::HttpSettings,
) -> Api {
    let pool = db.pool();
    let authenticator = authenticator();
    let mut state = app_state(pool.clone(), authenticator.clone(), file_store(&files_dir()));
    state.generations = Generations::start_service(pool, providers, authenticator, PubSub::listen(&db.url), settings);
    Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http).await,
    }
}

/// A server with a one-second lease, which soon fails answers whose server stopped.
async fn reaper(db: &TestDb) -> Api {
    let lease = Settings {
        lease: Duration::from_secs(1),
        ..Settings::default()
    };
    server(db, offline(0.0), lease).await
}

/// The offline model at `rate` words a second.
fn offline(rate: f64) -> Providers {
    Providers::offline(rate)
}

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { \
    chat { id title } userMessage { id content } assistantMessage { id status } userErrors { code field message } } }";

const STREAM: &str = "subscription($id: ID!, $after: Int) { messageStream(messageId: $id, afterSeq: $after) { \
    seq delta status message { content status finishReason error inputTokens outputTokens cachedInputTokens cost model provider } } }";

/// Sends `content` into a new chat of the team's project; the payload.
async fn send_new(team: &Team, token: &str, content: &str) -> Value {
    let (payload, body) = team
        .mutate(
            token,
            "sendMessage",
            SEND,
            json!({ "projectId": team.project, "content": content }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload
}

/// A signed-in graphql-transport-ws connection.
pub async fn socket(api: &Api, token: &str) -> Socket {
    let mut socket = connect(api, "graphql-transport-ws").await;
    let ack = init(&mut socket, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert_eq!(ack.expect("ack")["type"], "connection_ack");
    socket
}

/// Starts `messageStream` on `socket` as operation `id`.
async fn subscribe(socket: &mut Socket, id: &str, message: &Value, after: Option<i64>) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": STREAM, "variables": { "id": message, "after": after } } }),
    )
    .await;
}

/// The events of operation `id` until it completes (at most 30 s).
pub async fn collect(socket: &mut Socket, id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let message = receive(socket).await.expect("message");
            assert_eq!(message["id"], id, "{message}");
            match message["type"].as_str() {
                Some("next") => {
                    assert!(message["payload"].get("errors").is_none(), "{message}");
                    events.push(message["payload"]["data"]["messageStream"].clone());
                }
                Some("complete") => break,
                _ => panic!("unexpected {message}"),
            }
        }
    })
    .await
    .expect("the stream completes");
    events
}

/// The concatenated deltas of `events`, checking that `seq` grows by each delta's length.
pub fn joined(events: &[Value], after: usize) -> String {
    let mut text = String::new();
    let mut seq = after;
    for event in events {
        let delta = event["delta"].as_str().expect("delta");
        text.push_str(delta);
        seq += delta.len();
        assert_eq!(event["seq"].as_u64(), Some(seq as u64), "{event}");
    }
    text
}

/// The row of message `id` once it is no longer streaming (at most `within`).
async fn ended(
    conn: &mut diesel_async::AsyncPgConnection,
    id: uuid::Uuid,
    within: Duration,
) -> chatgraph::models::message::MessageRow {
    tokio::time::timeout(within, async {
        loop {
            let row = chatgraph::models::message::MessageRow::find(conn, id)
                .await
                .expect("find")
                .expect("row");
            if row.status != chatgraph::db::enums::MessageStatus::Streaming {
                return row;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the answer ends in time")
}

#[tokio::test]
async fn an_answer_streams_over_websocket_and_its_deltas_are_exactly_the_final_text() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(200.0), Settings::default()).await).await;
    let sent = send_new(&team, &team.member, "How do graphs stream?").await;
    assert_eq!(sent["assistantMessage"]["status"], "STREAMING");
    assert_eq!(sent["userMessage"]["content"], "How do graphs stream?");
    let answer = sent["assistantMessage"]["id"].clone();

    let mut socket = socket(&team.api, &team.member).await;
    subscribe(&mut socket, "1", &answer, None).await;
    let events = collect(&mut socket, "1").await;
    assert!(events.len() > 3, "the answer arrives in pieces: {events:?}");
    let last = events.last().expect("last");
    assert_eq!(last["status"], "COMPLETE");
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e["status"] == "STREAMING" && e["message"].is_null())
    );
    let message = &last["message"];
    assert_eq!(joined(&events, 0), message["content"].as_str().expect("content"));
    assert!(
        message["content"]
            .as_str()
            .expect("content")
            .starts_with("Offline model answering \"How do graphs stream?\"")
    );
    assert_eq!(message["status"], "COMPLETE");
    assert_eq!(message["finishReason"], "stop");
    assert_eq!(
        (message["provider"].as_str(), message["model"].as_str()),
        (Some("offline"), Some("offline"))
    );
    assert!(message["inputTokens"].as_i64().expect("input") > 5, "{message}");
    assert!(message["outputTokens"].as_i64().expect("output") > 20, "{message}");

    // Accounting: one usage event, the chat's totals, the project's quota usage.
    let conn = &mut db.conn().await;
    let (events_count, tokens): (i64, i64) = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*)::bigint AS a, coalesce(sum(total_tokens), 0)::bigint AS b FROM usage_events WHERE operation = 'chat'",
        )
        .into_boxed::<diesel::pg::Pg>(),
        conn,
    )
    .await
    .map(|row: Pair| (row.a, row.b))
    .expect("usage");
    assert_eq!(events_count, 1);
    assert_eq!(
        tokens,
        message["inputTokens"].as_i64().expect("in") + message["outputTokens"].as_i64().expect("out")
    );
    let (_, chat) = team
        .api
        .run(
            Some(&team.member),
            "query($id: ID!) { node(id: $id) { ... on Chat { title totalOutputTokens } } }",
            json!({ "id": sent["chat"]["id"] }),
        )
        .await;
    assert_eq!(
        chat["data"]["node"]["totalOutputTokens"]
            .as_str()
            .and_then(|t| t.parse::<i64>().ok()),
        message["outputTokens"].as_i64(),
        "{chat}"
    );

    // Subscribing to a finished answer: one event with the whole text.
    subscribe(&mut socket, "2", &answer, None).await;
    let again = collect(&mut socket, "2").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["delta"], message["content"]);
    assert_eq!(again[0]["status"], "COMPLETE");

    // The chat was titled after its first answer (it had the default title).
    let titled = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (_, body) = team
                .api
                .run(
                    Some(&team.member),
                    "query($id: ID!) { node(id: $id) { ... on Chat { title } } }",
                    json!({ "id": sent["chat"]["id"] }),
                )
                .await;
            let title = body["data"]["node"]["title"].as_str().unwrap_or_default().to_owned();
            if title != "New chat" {
                return title;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a title");
    assert!(title_words(&titled) <= 16, "{titled}");
}

fn title_words(title: &str) -> usize {
    title.split_whitespace().count()
}

#[derive(diesel::QueryableByName)]
struct Pair {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    a: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    b: i64,
}

#[tokio::test]
async fn subscribers_joining_at_any_moment_or_after_a_seq_get_no_gap_and_no_duplicate() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(60.0), Settings::default()).await).await;
    let sent = send_new(&team, &team.owner, "Tell me about replicas").await;
    let answer = sent["assistantMessage"]["id"].clone();

    // One follower from the start; others join every 80 ms, without and with afterSeq.
    let mut first = socket(&team.api, &team.owner).await;
    subscribe(&mut first, "a", &answer, None).await;
    let mut seen = Vec::new();
    let mut joiners = Vec::new();
    for round in 0..6 {
        let message = receive(&mut first).await.expect("event");
        let event = message["payload"]["data"]["messageStream"].clone();
        let done = event["status"] != "STREAMING";
        seen.push(event.clone());
        if done {
            break;
        }
        let seq = event["seq"].as_i64().expect("seq");
        let api = team.api.clone();
        let (token, answer) = (team.owner.clone(), answer.clone());
        // Even rounds resume after the seq just seen; odd ones join with nothing.
        let after = (round % 2 == 0).then_some(seq);
        joiners.push(tokio::spawn(async move {
            let mut socket = socket(&api, &token).await;
            subscribe(&mut socket, "j", &answer, after).await;
            (after, collect(&mut socket, "j").await)
        }));
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    seen.extend(collect(&mut first, "a").await);
    let last = seen.last().expect("last").clone();
    let content = last["message"]["content"].as_str().expect("content").to_owned();
    assert_eq!(joined(&seen, 0), content);
    assert!(!joiners.is_empty());
    for joiner in joiners {
        let (after, events) = joiner.await.expect("joiner");
        let after = after.map_or(0, |a| a as usize);
        assert_eq!(
            format!("{}{}", &content[..after], joined(&events, after)),
            content,
            "joined after {after}"
        );
        assert_eq!(events.last().expect("last")["status"], "COMPLETE");
    }
}

#[tokio::test]
async fn followers_sharing_renderings_each_get_their_own_selection_and_rights() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(100.0), Settings::default()).await).await;
    let sent = send_new(&team, &team.member, "Share the work").await;
    let answer = sent["assistantMessage"]["id"].clone();
    // Three tabs with one document (their events are rendered once for all three), one tab
    // with its own selection, and an outsider with the very same document.
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let mut tab = socket(&team.api, &team.member).await;
        subscribe(&mut tab, "s", &answer, None).await;
        tabs.push(tab);
    }
    let aliased = "subscription($id: ID!) { messageStream(messageId: $id) { at: seq text: delta status } }";
    let mut other = socket(&team.api, &team.member).await;
    let payload = json!({ "query": aliased, "variables": { "id": answer } });
    send(
        &mut other,
        json!({ "id": "a", "type": "subscribe", "payload": payload }),
    )
    .await;
    let mut outsider = socket(&team.api, &team.outsider).await;
    subscribe(&mut outsider, "o", &answer, None).await;

    let refused = receive(&mut outsider).await.expect("refusal");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    assert!(refused["payload"]["data"].is_null(), "{refused}");
    assert_eq!(receive(&mut outsider).await.expect("complete")["type"], "complete");

    let mut content = None;
    for tab in &mut tabs {
        let events = collect(tab, "s").await;
        let last = events.last().expect("last")["message"]["content"].clone();
        let text = last.as_str().expect("content").to_owned();
        assert_eq!(joined(&events, 0), text);
        assert_eq!(*content.get_or_insert_with(|| text.clone()), text);
    }
    let content = content.expect("content");
    let mut text = String::new();
    loop {
        let message = receive(&mut other).await.expect("message");
        if message["type"] == "complete" {
            break;
        }
        let event = message["payload"]["data"]["messageStream"]
            .as_object()
            .expect("event")
            .clone();
        let mut keys: Vec<&str> = event.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["at", "status", "text"], "{message}");
        text.push_str(event["text"].as_str().expect("text"));
        assert_eq!(event["at"].as_u64(), Some(text.len() as u64), "{message}");
    }
    assert_eq!(text, content);
}

#[tokio::test]
async fn a_stream_generated_on_one_server_is_followed_from_another() {
    let db = TestDb::migrated().await;
    let a = server(&db, offline(60.0), Settings::default()).await;
    let b = server(&db, offline(60.0), Settings::default()).await;
    let team = Team::on(a).await;
    let sent = send_new(&team, &team.owner, "Across replicas").await;
    let answer = sent["assistantMessage"]["id"].clone();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut on_b = socket(&b, &team.owner).await;
    subscribe(&mut on_b, "b", &answer, None).await;
    let events = collect(&mut on_b, "b").await;
    let last = events.last().expect("last");
    assert_eq!(last["status"], "COMPLETE");
    assert_eq!(
        joined(&events, 0),
        last["message"]["content"].as_str().expect("content")
    );
    assert!(
        events.len() > 2,
        "live events arrived from the other server: {events:?}"
    );

    // A stop sent to B stops a generation running on A.
    let sent = send_new(&team, &team.owner, "Stop me from elsewhere").await;
    let answer = sent["assistantMessage"]["id"].clone();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, body) = b
        .run(
            Some(&team.owner),
            "mutation($input: AnswerInput!) { stopGeneration(input: $input) { message { status content finishReason } userErrors { code } } }",
            json!({ "input": { "messageId": answer } }),
        )
        .await;
    let stopped = &body["data"]["stopGeneration"]["message"];
    assert_eq!(stopped["status"], "CANCELLED", "{body}");
    assert_eq!(stopped["finishReason"], "cancelled");
    assert!(
        stopped["content"]
            .as_str()
            .expect("content")
            .starts_with("Offline model"),
        "{body}"
    );
}

#[tokio::test]
async fn stop_keeps_the_text_and_regenerate_adds_a_sibling() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(40.0), Settings::default()).await).await;
    let sent = send_new(&team, &team.member, "A long answer please").await;
    let answer = sent["assistantMessage"]["id"].clone();
    let mut socket = socket(&team.api, &team.member).await;
    subscribe(&mut socket, "s", &answer, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (payload, body) = team
        .mutate(
            &team.member,
            "stopGeneration",
            "mutation($input: AnswerInput!) { stopGeneration(input: $input) { message { id status content } userErrors { code } } }",
            json!({ "messageId": answer }),
        )
        .await;
    assert_eq!(payload["message"]["status"], "CANCELLED", "{body}");
    let kept = payload["message"]["content"].as_str().expect("content").to_owned();
    assert!(kept.starts_with("Offline model"), "{kept}");
    let events = collect(&mut socket, "s").await;
    assert_eq!(events.last().expect("last")["status"], "CANCELLED");
    assert_eq!(joined(&events, 0), kept, "the subscriber saw exactly the kept text");

    // Stopping again: the answer is not streaming any more.
    let (payload, _) = team
        .mutate(
            &team.member,
            "stopGeneration",
            "mutation($input: AnswerInput!) { stopGeneration(input: $input) { message { id } userErrors { code } } }",
            json!({ "messageId": answer }),
        )
        .await;
    assert_eq!(payload["userErrors"][0]["code"], "NOT_STREAMING");

    // Regenerate: a sibling of the stopped answer, under the same user message.
    let (payload, body) = team
        .mutate(
            &team.member,
            "regenerateMessage",
            "mutation($input: AnswerInput!) { regenerateMessage(input: $input) { message { id status parent { id } } userErrors { code } } }",
            json!({ "messageId": answer }),
        )
        .await;
    assert_eq!(payload["message"]["status"], "STREAMING", "{body}");
    assert_eq!(payload["message"]["parent"]["id"], sent["userMessage"]["id"], "{body}");
    let sibling = payload["message"]["id"].clone();
    assert_ne!(sibling, answer);
    subscribe(&mut socket, "r", &sibling, None).await;
    let events = collect(&mut socket, "r").await;
    let last = events.last().expect("last");
    assert_eq!(last["status"], "COMPLETE");
    assert_eq!(
        joined(&events, 0),
        last["message"]["content"].as_str().expect("content")
    );

    // Neither a viewer of the project nor an outsider sees the member's private chat: for
    // them the answer does not exist.
    for (token, code) in [(&team.viewer, "NOT_FOUND"), (&team.outsider, "NOT_FOUND")] {
        let (payload, body) = team
            .mutate(
                token,
                "regenerateMessage",
                "mutation($input: AnswerInput!) { regenerateMessage(input: $input) { message { id } userErrors { code } } }",
                json!({ "messageId": sibling }),
            )
            .await;
        let code_seen = payload["userErrors"][0]["code"]
            .as_str()
            .or(body["errors"][0]["extensions"]["code"].as_str());
        assert_eq!(code_seen, Some(code), "{body}");
    }
}

/// Messages stored in the database.
async fn message_count(db: &TestDb) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<Count> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT count(*)::bigint AS n FROM messages"),
        &mut db.conn().await,
    )
    .await
    .expect("count");
    rows[0].n
}

#[tokio::test]
async fn refusals_come_before_anything_is_stored() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(0.0), Settings::default()).await).await;
    let (payload, _) = team
        .mutate(
            &team.member,
            "sendMessage",
            SEND,
            json!({ "projectId": team.project, "content": "hi", "model": "nobody/gpt-9" }),
        )
        .await;
    assert_eq!(payload["userErrors"][0]["code"], "UNKNOWN_MODEL");
    assert_eq!(payload["userErrors"][0]["field"], json!(["input", "model"]));
    assert_eq!(message_count(&db).await, 0);
    // What the project offers instead.
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            "query($id: ID!) { node(id: $id) { ... on Project { models { name provider contextWindow isDefault } } } }",
            json!({ "id": team.project }),
        )
        .await;
    assert_eq!(
        body["data"]["node"]["models"],
        json!([{ "name": "offline/offline", "provider": "offline", "contextWindow": 8192, "isDefault": false }])
    );

    // A viewer may read but not write.
    let (payload, body) = team
        .mutate(
            &team.viewer,
            "sendMessage",
            SEND,
            json!({ "projectId": team.project, "content": "hi" }),
        )
        .await;
    assert!(payload["userMessage"].is_null(), "{body}");
    assert_eq!(message_count(&db).await, 0);

    // One request a period: the second is refused and stores nothing.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "setProjectQuota",
            "mutation($input: SetProjectQuotaInput!) { setProjectQuota(input: $input) { userErrors { code } } }",
            json!({ "projectId": team.project, "requestsLimit": 1 }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    send_new(&team, &team.member, "first").await;
    let stored = message_count(&db).await;
    assert_eq!(stored, 2);
    let (payload, body) = team
        .mutate(
            &team.member,
            "sendMessage",
            SEND,
            json!({ "projectId": team.project, "content": "second" }),
        )
        .await;
    let code = payload["userErrors"][0]["code"]
        .as_str()
        .or(body["errors"][0]["extensions"]["code"].as_str());
    assert_eq!(code, Some("QUOTA_EXCEEDED"), "{body}");
    assert_eq!(message_count(&db).await, stored);
}

#[tokio::test]
async fn an_interrupted_generation_is_failed_by_any_server_with_its_text_kept() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = crate::support::fixtures::tree(conn, "reaped").await;
    // A streaming answer whose server stopped renewing its lease a minute ago.
    let message_id = chatgraph::db::new_id();
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        &format!(
            "INSERT INTO messages (id, chat_id, role, content, status) VALUES ('{message_id}', '{chat}', 'assistant', 'half an ans', 'streaming'); \
             INSERT INTO message_streams (id, chat_id, message_id, updated_at) VALUES (gen_random_uuid(), '{chat}', '{message_id}', now() - interval '1 minute')",
            chat = tree.chat.id
        ),
    )
    .await
    .expect("insert");
    let _server = reaper(&db).await;
    let row = ended(conn, message_id, Duration::from_secs(10)).await;
    assert_eq!(row.status, chatgraph::db::enums::MessageStatus::Failed);
    assert_eq!(row.finish_reason.as_deref(), Some("interrupted"));
    assert_eq!(row.content, "half an ans");
}

/// What the loopback provider saw: the `Authorization` header of each request.
/// The authorization header and body of each request the loopback provider received.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>;

/// An OpenAI-compatible server on loopback whose behaviour is chosen by the model asked for:
/// `normal` (text, a finish reason, a usage chunk, `[DONE]`), `broken` (text, then the
/// connection drops), `limited` (429 with a long Retry-After), `slow` (no first token in
/// time), `stall` (text, then silence) and `context` (the prompt is too long).
async fn loopback_provider() -> (String, Seen) {
    use axum::{body::Body, http::StatusCode, response::IntoResponse, routing::post};
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: axum::http::HeaderMap,
                 axum::Json(body): axum::Json<Value>| async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    seen.lock().expect("seen").push((auth.to_owned(), body.clone()));
                    assert_eq!(body["stream"], true);
                    assert_eq!(body["stream_options"]["include_usage"], true);
                    let chunk = |text: &str| {
                        format!("data: {}\n\n", json!({ "choices": [{ "index": 0, "delta": { "content": text } }] }))
                    };
                    let finish = format!(
                        "data: {}\n\n",
                        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] })
                    );
                    let usage = format!(
                        "data: {}\n\n",
                        json!({ "choices": [], "usage": { "prompt_tokens": 11, "completion_tokens": 7, "prompt_tokens_details": { "cached_tokens": 3 } } })
                    );
                    let sse = |parts: Vec<Result<String, std::io::Error>>, pause: Option<Duration>| {
                        let stream = async_graphql::futures_util::stream::iter(parts.into_iter().enumerate()).then(
                            move |(i, part)| async move {
                                if let (Some(pause), true) = (pause, i == 1) {
                                    tokio::time::sleep(pause).await;
                                }
                                part
                            },
                        );
                        ([("content-type", "text/event-stream")], Body::from_stream(stream)).into_response()
                    };
                    match body["model"].as_str().unwrap_or("") {
                        "normal" => sse(
                            vec![
                                Ok(chunk("Hello")),
                                Ok(chunk(", wörld")),
                                Ok(finish),
                                Ok(usage),
                                Ok("data: [DONE]\n\n".into()),
                            ],
                            None,
                        ),
                        "broken" => sse(
                            vec![Ok(chunk("Half")), Err(std::io::Error::other("cut"))],
                            Some(Duration::from_millis(200)),
                        ),
                        "stall" => sse(vec![Ok(chunk("Hi")), Ok(chunk(" late"))], Some(Duration::from_secs(5))),
                        "slow" => {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                            sse(vec![Ok(chunk("too late"))], None)
                        }
                        "limited" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "60")], "slow down").into_response(),
                        _ => (
                            StatusCode::BAD_REQUEST,
                            r#"{"error":{"code":"context_length_exceeded","message":"internal detail sk-configured"}}"#,
                        )
                            .into_response(),
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let address = serve_loopback(app).await;
    (format!("http://{address}/v1"), seen)
}

use async_graphql::futures_util::StreamExt;

#[tokio::test]
async fn the_openai_compatible_provider_streams_accounts_and_fails_clearly() {
    let (base_url, seen) = loopback_provider().await;
    let model = |id: &str| json!({ "id": id, "context_window": 4096, "input_per_mtok": 1.0, "output_per_mtok": 2.0, "cached_input_per_mtok": 0.5 });
    let models: Vec<Value> = ["normal", "broken", "stall", "slow", "limited", "context"]
        .map(model)
        .into();
    let config = json!([{
        "name": "loop", "kind": "openai", "base_url": base_url, "api_key": "sk-configured",
        "timeouts": { "connect_ms": 1000, "first_token_ms": 700, "idle_ms": 700 },
        "models": models,
    }]);
    let providers = Providers::from_config(Some(&config.to_string()), None).expect("providers");
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, providers, Settings::default()).await).await;
    let mut socket = socket(&team.api, &team.member).await;
    let mut answer = async |model: &str| -> Value {
        let (payload, body) = team
            .mutate(
                &team.member,
                "sendMessage",
                SEND,
                json!({ "projectId": team.project, "content": "hi", "model": format!("loop/{model}") }),
            )
            .await;
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        subscribe(&mut socket, model, &payload["assistantMessage"]["id"], None).await;
        let events = collect(&mut socket, model).await;
        let last = events.last().expect("last").clone();
        assert_eq!(
            joined(&events, 0),
            last["message"]["content"].as_str().expect("content")
        );
        last
    };

    let normal = answer("normal").await;
    assert_eq!(normal["status"], "COMPLETE");
    let message = &normal["message"];
    assert_eq!(message["content"], "Hello, wörld");
    // Tokens from the provider's usage report; the cost from the configured prices:
    // 8 fresh input tokens at $1, 3 cached at $0.50, 7 output at $2 per million: $0.0000235,
    // kept to the column's six decimals.
    assert_eq!(
        (message["inputTokens"].as_i64(), message["outputTokens"].as_i64()),
        (Some(11), Some(7))
    );
    assert_eq!(message["cachedInputTokens"], 3);
    assert_eq!(message["cost"], "0.000024");
    assert_eq!(seen.lock().expect("seen")[0].0, "Bearer sk-configured");

    for (model, error) in [
        ("broken", "the model provider could not be reached"),
        (
            "stall",
            "the model provider did not answer in time (no chunk for too long)",
        ),
        ("slow", "the model provider did not answer in time (no first token)"),
        (
            "limited",
            "the model provider is rate limiting requests; retry after 60 s",
        ),
        ("context", "the conversation is longer than the model's context window"),
    ] {
        let last = answer(model).await;
        assert_eq!(last["status"], "FAILED", "{model}: {last}");
        assert_eq!(last["message"]["error"], error, "{model}");
        assert!(!last.to_string().contains("sk-"), "no key material: {last}");
    }
    // Text received before a failure is kept.
    let broken = answer("broken").await;
    assert_eq!(broken["message"]["content"], "Half");

    // An organization's own OpenAI key replaces the configured one for its requests.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createCredential",
            "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }",
            json!({ "organizationId": team.organization, "name": "Our key", "credentialType": "OPENAI", "secret": "sk-organization" }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    answer("normal").await;
    assert_eq!(
        seen.lock().expect("seen").last().map(|(auth, _)| auth.as_str()),
        Some("Bearer sk-organization")
    );
}

#[tokio::test]
async fn a_follower_who_signs_out_gets_an_error_and_the_end_while_the_answer_goes_on() {
    let db = TestDb::migrated().await;
    let settings = Settings {
        access_check: Duration::from_millis(200),
        ..Settings::default()
    };
    let team = Team::on(server(&db, offline(20.0), settings).await).await;
    let sent = send_new(&team, &team.member, "Keep talking").await;
    let answer = sent["assistantMessage"]["id"].clone();
    let mut socket = socket(&team.api, &team.member).await;
    subscribe(&mut socket, "x", &answer, None).await;
    let first = receive(&mut socket).await.expect("first event");
    assert_eq!(
        first["payload"]["data"]["messageStream"]["status"], "STREAMING",
        "{first}"
    );
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            "mutation { signOut { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // An error event, then the end; long before the answer is done.
    let error = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let message = receive(&mut socket).await.expect("message");
            if message["payload"]["errors"].is_array() {
                return message;
            }
            assert_eq!(message["type"], "next", "{message}");
        }
    })
    .await
    .expect("an error event");
    assert_eq!(
        error["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{error}"
    );
    assert_eq!(receive(&mut socket).await.expect("complete")["type"], "complete");
    // Closing the subscription did not stop the generation: the answer is still saved.
    let mut conn = db.conn().await;
    let id = chatgraph::graphql::node::decode_global_id(&async_graphql::ID(answer.as_str().expect("id").to_owned()))
        .expect("uuid")
        .1;
    let row = ended(&mut conn, id, Duration::from_secs(20)).await;
    assert_eq!(row.status, chatgraph::db::enums::MessageStatus::Complete);
}

#[tokio::test]
async fn chat_events_keep_every_tab_in_sync_across_servers() {
    let db = TestDb::migrated().await;
    let a = server(&db, offline(0.0), Settings::default()).await;
    let b = server(&db, offline(0.0), Settings::default()).await;
    let team = Team::on(a).await;
    let (payload, body) = team
        .mutate(
            &team.member,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } userErrors { code } } }",
            json!({ "projectId": team.project }),
        )
        .await;
    let chat = payload["chat"]["id"].clone();
    assert!(chat.is_string(), "{body}");

    // A tab on server B follows the chat; an outsider may not.
    let mut tab = socket(&b, &team.member).await;
    let query =
        "subscription($id: ID!) { chatEvents(chatId: $id) { kind messageId message { role status } chat { title } } }";
    send(
        &mut tab,
        json!({ "id": "c", "type": "subscribe", "payload": { "query": query, "variables": { "id": chat } } }),
    )
    .await;
    let mut outsider = socket(&b, &team.outsider).await;
    send(
        &mut outsider,
        json!({ "id": "o", "type": "subscribe", "payload": { "query": query, "variables": { "id": chat } } }),
    )
    .await;
    let refused = receive(&mut outsider).await.expect("refusal");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    // On server A: a message and its answer, then a rename.
    let (payload, body) = team
        .mutate(
            &team.member,
            "sendMessage",
            SEND,
            json!({ "chatId": chat, "content": "Sync my tabs" }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let mut kinds = Vec::new();
    let wanted = [
        "MESSAGE_ADDED",
        "MESSAGE_ADDED",
        "STREAM_STARTED",
        "STREAM_FINISHED",
        "CHAT_RENAMED",
    ];
    tokio::time::timeout(Duration::from_secs(15), async {
        while kinds.len() < wanted.len() {
            let message = receive(&mut tab).await.expect("event");
            let event = &message["payload"]["data"]["chatEvents"];
            if event["kind"] == "STREAM_FINISHED" {
                assert_eq!(event["message"]["status"], "COMPLETE", "{event}");
            }
            kinds.push(event["kind"].as_str().expect("kind").to_owned());
        }
    })
    .await
    .expect("every event");
    assert_eq!(kinds, wanted);
}

/// Opens `messageStream` over server-sent events, resuming after `last_event_id` when given.
async fn sse(
    api: &Api,
    token: &str,
    message: &Value,
    last_event_id: Option<&str>,
) -> impl async_graphql::futures_util::Stream<Item = eventsource_stream::Event> {
    use eventsource_stream::Eventsource;
    let mut request = api
        .client
        .post(format!("http://{}/graphql", api.address))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": STREAM, "variables": { "id": message } }));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.expect("sse");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    response.bytes_stream().eventsource().map(|event| event.expect("event"))
}

#[tokio::test]
async fn server_sent_events_stream_an_answer_and_resume_after_last_event_id() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(60.0), Settings::default()).await).await;
    let sent = send_new(&team, &team.member, "Over SSE").await;
    let answer = sent["assistantMessage"]["id"].clone();

    // Read three events, then drop the connection.
    let mut text = String::new();
    let mut last_id = String::new();
    {
        let events = sse(&team.api, &team.member, &answer, None).await;
        let mut events = std::pin::pin!(events);
        for _ in 0..3 {
            let event = events.next().await.expect("event");
            assert_eq!(event.event, "next");
            let data: Value = serde_json::from_str(&event.data).expect("json");
            let stream = &data["data"]["messageStream"];
            assert_eq!(stream["seq"].to_string(), event.id, "the event id is its seq");
            text.push_str(stream["delta"].as_str().expect("delta"));
            last_id = event.id;
        }
    }
    // Reconnect with Last-Event-ID: exactly the rest, then `complete`.
    let events = sse(&team.api, &team.member, &answer, Some(&last_id)).await;
    let mut events = std::pin::pin!(events);
    let mut last = Value::Null;
    while let Some(event) = events.next().await {
        if event.event == "complete" {
            break;
        }
        let data: Value = serde_json::from_str(&event.data).expect("json");
        last = data["data"]["messageStream"].clone();
        text.push_str(last["delta"].as_str().expect("delta"));
    }
    assert_eq!(last["status"], "COMPLETE");
    assert_eq!(text, last["message"]["content"].as_str().expect("content"));
}

#[tokio::test]
async fn after_kill_9_of_the_generating_server_its_answer_fails_with_the_flushed_text_kept() {
    use secrecy::ExposeSecret;
    let db = TestDb::migrated().await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        probe.local_addr().expect("address").port()
    };
    let data_dir = files_dir();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatgraph"))
        .arg("serve")
        .env("DATABASE_URL", db.url.expose_secret())
        .env("CHATGRAPH_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHATGRAPH_DATA_DIR", &data_dir)
        .env("CHATGRAPH_MAIL_OUTBOX", crate::support::mail::outbox())
        .env("CHATGRAPH_OFFLINE_TOKENS_PER_SEC", "8")
        .env("CHATGRAPH_STREAM_LEASE_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chatgraph serve");
    let api = Api {
        client: reqwest::Client::new(),
        address: format!("127.0.0.1:{port}").parse().expect("address"),
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        while !reqwest::get(format!("http://{}/readyz", api.address))
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the server is ready");
    let team = Team::on(api).await;
    let sent = send_new(&team, &team.member, "Survive a crash").await;
    let id = chatgraph::graphql::node::decode_global_id(&async_graphql::ID(
        sent["assistantMessage"]["id"].as_str().expect("id").to_owned(),
    ))
    .expect("uuid")
    .1;
    // Some text is flushed (every 250 ms at 8 words a second), then the process dies.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill -9");
    child.wait().await.expect("reaped");
    let conn = &mut db.conn().await;
    let before = chatgraph::models::message::MessageRow::find(conn, id)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(before.status, chatgraph::db::enums::MessageStatus::Streaming);

    // Another server on the same database fails it once the lease has run out.
    let _other = reaper(&db).await;
    let row = ended(conn, id, Duration::from_secs(10)).await;
    assert_eq!(row.status, chatgraph::db::enums::MessageStatus::Failed);
    assert_eq!(row.finish_reason.as_deref(), Some("interrupted"));
    assert!(
        row.content.starts_with("Offline model answering \"Survive a crash\""),
        "{}",
        row.content
    );
    assert_eq!(row.content, before.content, "the flushed text is kept as it was");
    let _ = std::fs::remove_dir_all(data_dir);
}

/// The models of the team's project, as `provider/model` names, read through `api`.
async fn model_names(api: &Api, token: &str, project: &Value) -> Vec<String> {
    let (_, body) = api
        .run(
            Some(token),
            "query($id: ID!) { node(id: $id) { ... on Project { models { name } } } }",
            json!({ "id": project }),
        )
        .await;
    body["data"]["node"]["models"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|m| m["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn platform_admins_add_providers_at_run_time_on_every_replica() {
    const SET: &str = "mutation($input: SetPlatformConfigInput!) { setPlatformConfig(input: $input) { \
        platformConfig { key } userErrors { field code message } } }";
    let (base_url, _) = loopback_provider().await;
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, offline(0.0), Settings::default()).await).await;
    let replica = server(&db, offline(0.0), Settings::default()).await;
    let admin = crate::support::token(&team.api.sign_up("root@example.com").await, "accessToken");
    crate::support::make_platform_admin(&db, "root@example.com").await;
    assert_eq!(
        model_names(&replica, &team.member, &team.project).await,
        ["offline/offline"]
    );

    // A key in the value would be readable through the API: refused, and not echoed.
    let lab = |key: Option<&str>| {
        let mut provider = json!({ "name": "lab", "kind": "openai", "base_url": base_url,
            "models": [{ "id": "normal", "context_window": 4096 }] });
        if let Some(key) = key {
            provider["api_key"] = json!(key);
        }
        json!({ "key": "providers", "value": [provider] })
    };
    let (payload, body) = team
        .mutate(&admin, "setPlatformConfig", SET, lab(Some("sk-leak")))
        .await;
    assert_eq!(payload["userErrors"][0]["code"], "INVALID_PROVIDERS", "{body}");
    assert!(!body.to_string().contains("sk-leak"), "{body}");
    let (payload, body) = team.mutate(&team.member, "setPlatformConfig", SET, lab(None)).await;
    assert!(payload.is_null() || payload["platformConfig"].is_null(), "{body}");

    let (payload, body) = team.mutate(&admin, "setPlatformConfig", SET, lab(None)).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(
        model_names(&team.api, &team.member, &team.project).await,
        ["offline/offline", "lab/normal"]
    );
    // The other replica reloads when it hears of the change.
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        while model_names(&replica, &team.member, &team.project).await.len() < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(heard.is_ok(), "the replica did not reload its providers");

    let (payload, body) = team
        .mutate(
            &team.member,
            "sendMessage",
            SEND,
            json!({ "projectId": team.project, "content": "hi", "model": "lab/normal" }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let id = payload["assistantMessage"]["id"].as_str().expect("id").to_owned();
    let id = chatgraph::graphql::node::decode_global_id(&async_graphql::ID(id))
        .expect("uuid")
        .1;
    let row = ended(&mut db.conn().await, id, Duration::from_secs(10)).await;
    assert_eq!(
        (row.content.as_str(), row.provider.as_deref()),
        ("Hello, wörld", Some("lab"))
    );
}

#[tokio::test]
async fn attached_files_reach_the_model_as_text_parts_of_their_message() {
    let (base_url, seen) = loopback_provider().await;
    let config = json!([{ "name": "loop", "kind": "openai", "base_url": base_url,
        "models": [{ "id": "normal", "context_window": 100000 }] }]);
    let providers = Providers::from_config(Some(&config.to_string()), Some(0.0)).expect("providers");
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db, providers, Settings::default()).await).await;
    let upload = async |project: &Value, name: &str, mime: &str, bytes: &[u8]| -> Value {
        let (_, body) = crate::uploads::upload(&team.api, &team.owner, project, name, mime, bytes.to_vec()).await;
        body["data"]["uploadFile"]["file"]["id"].clone()
    };
    let notes = upload(
        &team.project,
        "notes.md",
        "text/markdown",
        "# Plan\nShip on Friday.".as_bytes(),
    )
    .await;
    let image = upload(&team.project, "logo.png", "image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").await;
    let (_, body) = team
        .api
        .run(
            Some(&team.owner),
            "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }",
            json!({ "input": { "organizationId": team.organization, "name": "Elsewhere" } }),
        )
        .await;
    let elsewhere = body["data"]["createProject"]["project"]["id"].clone();
    let foreign = upload(&elsewhere, "secret.txt", "text/plain", b"not for this chat").await;

    let send = async |model: &str, files: Value| {
        team.mutate(
            &team.owner,
            "sendMessage",
            SEND,
            json!({ "projectId": team.project, "content": "When do we ship?", "model": model, "fileIds": files }),
        )
        .await
    };
    // Another project's file, a file id that is not one, too many files: refused, nothing stored.
    let many: Vec<Value> = (0..11)
        .map(|_| json!(chatgraph::graphql::node::global_id("File", uuid::Uuid::new_v4()).to_string()))
        .collect();
    for (files, code) in [
        (json!([foreign]), "NOT_FOUND"),
        (json!([team.project]), "INVALID_ID"),
        (json!(many), "TOO_MANY_FILES"),
    ] {
        let (payload, body) = send("offline", files).await;
        assert_eq!(payload["userErrors"][0]["code"], code, "{body}");
        assert!(payload["userMessage"].is_null(), "{body}");
    }
    let requests = seen.lock().expect("seen").len();

    let (payload, body) = send("loop/normal", json!([notes, image])).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let request = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some((_, body)) = seen.lock().expect("seen").get(requests) {
                return body.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the provider was called");
    let messages = request["messages"].as_array().expect("messages");
    let asked = &messages.last().expect("the question")["content"];
    assert_eq!(
        asked[0],
        json!({ "type": "text", "text": "When do we ship?" }),
        "{request}"
    );
    assert_eq!(
        asked[1]["text"], "Attached file \"notes.md\" (text/markdown, 22 bytes):\n# Plan\nShip on Friday.",
        "{request}"
    );
    assert!(
        asked[2]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Attached file \"logo.png\" (image/png")
                && t.ends_with("not a text file; its content is not shown.")),
        "{request}"
    );
    // The message shows its attachments.
    let (_, body) = team
        .api
        .run(
            Some(&team.owner),
            "query($id: ID!) { node(id: $id) { ... on Message { attachments { file { filename } } } } }",
            json!({ "id": payload["userMessage"]["id"] }),
        )
        .await;
    assert_eq!(
        body["data"]["node"]["attachments"],
        json!([{ "file": { "filename": "notes.md" } }, { "file": { "filename": "logo.png" } }]),
        "{body}"
    );

    // The offline model says what it was given; the same file twice is one attachment.
    let sent = send("offline", json!([notes, notes])).await.0;
    let id = sent["assistantMessage"]["id"].as_str().expect("id").to_owned();
    let id = chatgraph::graphql::node::decode_global_id(&async_graphql::ID(id))
        .expect("uuid")
        .1;
    let row = ended(&mut db.conn().await, id, Duration::from_secs(10)).await;
    assert!(
        row.content
            .starts_with("Offline model answering \"When do we ship?\" with 1 attachment:"),
        "{}",
        row.content
    );
}
