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
