//! Attacks from the outside review (issue 14), each performed against a real server: the
//! server refuses them with a clear error and keeps serving.

use serde_json::{Value, json};

use crate::{
    support::Api,
    support::{TestDb, code},
    websocket::{connect, init, receive, send},
};

/// `{ nodes(ids: [[[ … "x" … ]]]) { id } }`: 3,000 nested lists, 18 KB, no token.
fn deeply_nested_document() -> String {
    format!(
        "{{ nodes(ids: {}\"x\"{}) {{ id }} }}",
        "[".repeat(3_000),
        "]".repeat(3_000)
    )
}

#[tokio::test]
async fn a_deeply_nested_document_is_refused_before_parsing_and_the_server_keeps_serving() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let document = deeply_nested_document();

    let (status, body) = api.run(None, &document, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("deeper than 64 levels"), "{message}");

    // GET looks at the operation type before executing: it must not parse it either.
    let response = api
        .client
        .get(format!("http://{}/graphql", api.address))
        .query(&[("query", document.as_str())])
        .send()
        .await
        .expect("request");
    let got: Value = response.json().await.expect("json");
    assert_eq!(code(&got), "BAD_USER_INPUT", "{got}");

    // Over WebSocket too: an error for the operation, and the socket stays open.
    let mut socket = connect(&api, "graphql-transport-ws").await;
    assert_eq!(
        init(&mut socket, json!({})).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": document } }),
    )
    .await;
    let answer = receive(&mut socket).await.expect("an answer");
    assert!(answer.to_string().contains("deeper than 64 levels"), "{answer}");

    // The process is alive: the same server answers a plain query.
    let (status, body) = api.run(None, "{ apiVersion }", json!({})).await;
    assert_eq!((status, body["errors"].is_null()), (200, true), "{body}");
    assert!(body["data"]["apiVersion"].is_string(), "{body}");
}

#[tokio::test]
async fn a_nul_character_anywhere_in_the_input_is_bad_input_not_an_internal_error() {
    // PostgreSQL stores no U+0000 in text or JSON; the review found eleven mutations and a
    // filter answering INTERNAL for one. It is refused at the edge, for everyone alike.
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let sign_in = "mutation($input: SignInInput!) { signIn(input: $input) { userErrors { code } } }";
    let cases = [
        (
            sign_in,
            json!({ "input": { "email": "a\u{0}@example.com", "password": "whatever" } }),
        ),
        (
            "mutation($input: TrackEventsInput!) { trackEvents(input: $input) { accepted } }",
            json!({ "input": { "projectId": "x", "events": [{ "name": "a", "properties": { "k": "v\u{0}" } }] } }),
        ),
        (
            r#"{ viewer { chats(filter: { titleContains: "a\u0000" }) { totalCount } } }"#,
            json!({}),
        ),
    ];
    for (query, variables) in cases {
        let (status, body) = api.run(None, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(
            body["errors"][0]["message"],
            "text may not contain the NUL character (U+0000)"
        );
    }
    // The same input without the NUL goes through to the resolver as usual.
    let (_, body) = api
        .run(
            None,
            sign_in,
            json!({ "input": { "email": "a@example.com", "password": "whatever" } }),
        )
        .await;
    assert_eq!(
        body["data"]["signIn"]["userErrors"][0]["code"], "INVALID_CREDENTIALS",
        "{body}"
    );
}

#[tokio::test]
async fn times_postgresql_cannot_store_select_as_the_earliest_time_does() {
    // The review sent dates before 4713 BC (which PostgreSQL cannot store) to filters and a
    // forged cursor; they came back INTERNAL. A bound before every row selects every row.
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let access = crate::support::token(&api.sign_up("dates@example.com").await, "accessToken");
    let ancient = "-5000-01-01T00:00:00Z";
    let (_, body) = api
        .run(
            Some(&access),
            "query($t: DateTime!) { viewer { projects(first: 1) { nodes { \
               after: chats(filter: { createdAfter: $t }) { totalCount } \
               before: chats(filter: { createdBefore: $t }) { totalCount } } } \
               usageSummary(filter: { to: $t }) { totals { requests } } } }",
            json!({ "t": ancient }),
        )
        .await;
    assert_eq!(body["errors"], Value::Null, "{body}");
    let viewer = &body["data"]["viewer"];
    let project = &viewer["projects"]["nodes"][0];
    assert_eq!(project["after"]["totalCount"], json!(1), "the default chat: {body}");
    assert_eq!(project["before"]["totalCount"], json!(0), "{body}");
    assert_eq!(viewer["usageSummary"]["totals"]["requests"], json!("0"), "{body}");
}
