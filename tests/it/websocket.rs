//! GraphQL over WebSocket at `/graphql`, with a real WebSocket client: both subprotocols,
//! authentication in `connection_init`, and revocation taking effect on an open connection.

use async_graphql::futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::{
    support::TestDb,
    support::{Api, token},
};

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(api: &Api, protocol: &str) -> Socket {
    let mut request = format!("ws://{}/graphql", api.address)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(protocol).expect("header"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("connect");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(protocol)
    );
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).await.expect("send");
}

/// The next message: a JSON text frame, or the close frame's code.
pub async fn receive(socket: &mut Socket) -> Result<Value, u16> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).expect("json")),
            Some(Ok(Message::Close(frame))) => return Err(frame.map_or(1005, |f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(1006),
        }
    }
}

pub async fn init(socket: &mut Socket, payload: Value) -> Result<Value, u16> {
    send(socket, json!({ "type": "connection_init", "payload": payload })).await;
    receive(socket).await
}

async fn viewer(socket: &mut Socket, id: &str) -> Value {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": "{ viewer { email } }" } }),
    )
    .await;
    let next = receive(socket).await.expect("next");
    assert_eq!(
        (next["type"].as_str(), next["id"].as_str()),
        (Some("next"), Some(id)),
        "{next}"
    );
    assert_eq!(receive(socket).await.expect("complete")["type"], "complete");
    next["payload"].clone()
}

#[tokio::test]
async fn websocket_clients_authenticate_in_connection_init() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let signed_up = api.sign_up("ws@example.com").await;
    let access = token(&signed_up, "accessToken");

    // graphql-transport-ws with the token: the operation runs as the user.
    let mut socket = connect(&api, "graphql-transport-ws").await;
    let ack = init(&mut socket, json!({ "Authorization": format!("Bearer {access}") })).await;
    assert_eq!(ack.expect("ack")["type"], "connection_ack");
    assert_eq!(
        viewer(&mut socket, "1").await["data"]["viewer"]["email"],
        "ws@example.com"
    );

    // Without a token: anonymous.
    let mut anonymous = connect(&api, "graphql-transport-ws").await;
    assert_eq!(
        init(&mut anonymous, json!({})).await.expect("ack")["type"],
        "connection_ack"
    );
    assert_eq!(viewer(&mut anonymous, "1").await["data"]["viewer"], Value::Null);

    // A bad token: the connection is refused, never acknowledged.
    let mut refused = connect(&api, "graphql-transport-ws").await;
    let answer = init(&mut refused, json!({ "Authorization": "Bearer not-a-token" })).await;
    assert!(matches!(answer, Err(code) if code != 1000), "{answer:?}");

    // Signing out ends what the open connection may do at its next operation.
    api.run(Some(&access), "mutation { signOut { revokedSessions } }", json!({}))
        .await;
    // The operation cannot run: the protocol's `error` message, nothing after it.
    send(
        &mut socket,
        json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ viewer { email } }" } }),
    )
    .await;
    let after = receive(&mut socket).await.expect("error");
    assert_eq!(
        (after["type"].as_str(), after["id"].as_str()),
        (Some("error"), Some("2")),
        "{after}"
    );
    assert_eq!(after["payload"][0]["extensions"]["code"], "UNAUTHENTICATED", "{after}");

    // The legacy graphql-ws subprotocol (subscriptions-transport-ws) works too.
    let fresh = api.sign_in("ws@example.com", crate::support::PASSWORD).await;
    let mut legacy = connect(&api, "graphql-ws").await;
    let ack = init(
        &mut legacy,
        json!({ "authToken": "ignored", "token": token(&fresh, "accessToken") }),
    )
    .await;
    assert_eq!(ack.expect("ack")["type"], "connection_ack");
    send(
        &mut legacy,
        json!({ "id": "1", "type": "start", "payload": { "query": "{ viewer { email } }" } }),
    )
    .await;
    let data = receive(&mut legacy).await.expect("data");
    assert_eq!(data["type"], "data");
    assert_eq!(data["payload"]["data"]["viewer"]["email"], "ws@example.com");
}

/// The close code the server ends the connection with (after `messages` are sent).
async fn closed_with(api: &Api, messages: &[Value]) -> u16 {
    let mut socket = connect(api, "graphql-transport-ws").await;
    for message in messages {
        send(&mut socket, message.clone()).await;
    }
    tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let Err(code) = receive(&mut socket).await {
                return code;
            }
        }
    })
    .await
    .expect("closed")
}

#[tokio::test]
async fn graphql_transport_ws_follows_every_must_of_the_protocol() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let init = json!({ "type": "connection_init" });
    let subscribe = |id: &str, query: &str| json!({ "id": id, "type": "subscribe", "payload": { "query": query } });

    // Not JSON, or not a message of the protocol: 4400.
    let mut socket = connect(&api, "graphql-transport-ws").await;
    socket.send(Message::text("not json")).await.expect("send");
    assert_eq!(receive(&mut socket).await, Err(4400));
    assert_eq!(closed_with(&api, &[json!({ "type": "shout" })]).await, 4400);
    assert_eq!(
        closed_with(&api, &[json!({ "type": "subscribe", "id": "1" })]).await,
        4400
    );
    // Subscribe before the acknowledgement: 4401.
    assert_eq!(closed_with(&api, &[subscribe("1", "{ apiVersion }")]).await, 4401);
    // A refused init payload: 4403.
    assert_eq!(
        closed_with(
            &api,
            &[json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nope" } })]
        )
        .await,
        4403
    );
    // Two inits: 4429.
    assert_eq!(closed_with(&api, &[init.clone(), init.clone()]).await, 4429);
    // No init within the timeout: 4408 (ten seconds).
    assert_eq!(closed_with(&api, &[]).await, 4408);

    let mut socket = connect(&api, "graphql-transport-ws").await;
    send(&mut socket, init.clone()).await;
    assert_eq!(receive(&mut socket).await.expect("ack")["type"], "connection_ack");
    // ping gets pong (with the payload).
    send(&mut socket, json!({ "type": "ping", "payload": { "n": 1 } })).await;
    assert_eq!(
        receive(&mut socket).await.expect("pong"),
        json!({ "type": "pong", "payload": { "n": 1 } })
    );
    // An operation that cannot run: `error`, not `next` with errors.
    send(&mut socket, subscribe("bad", "{ noSuchField }")).await;
    let error = receive(&mut socket).await.expect("error");
    assert_eq!(
        (error["type"].as_str(), error["id"].as_str()),
        (Some("error"), Some("bad")),
        "{error}"
    );
    assert!(error["payload"][0]["message"].is_string());
    // A result: `next`, then `complete`.
    send(&mut socket, subscribe("ok", "{ apiVersion }")).await;
    assert_eq!(receive(&mut socket).await.expect("next")["type"], "next");
    assert_eq!(
        receive(&mut socket).await.expect("complete"),
        json!({ "id": "ok", "type": "complete" })
    );
    // `complete` from the client stops an operation; its id may then be used again, but an id
    // in use closes the connection with 4409.
    let signed_up = api.sign_up("protocol@example.com").await;
    let (_, body) = api
        .run(
            Some(&token(&signed_up, "accessToken")),
            "{ viewer { chats(first: 1) { nodes { id } } } }",
            json!({}),
        )
        .await;
    let chat = body["data"]["viewer"]["chats"]["nodes"][0]["id"].clone();
    assert!(chat.is_string(), "{body}");
    let mut socket = connect(&api, "graphql-transport-ws").await;
    let ack = init_with(&mut socket, &token(&signed_up, "accessToken")).await;
    assert_eq!(ack["type"], "connection_ack");
    let follow = json!({ "id": "chat", "type": "subscribe", "payload": {
        "query": "subscription($id: ID!) { chatEvents(chatId: $id) { kind } }", "variables": { "id": chat } } });
    send(&mut socket, follow.clone()).await;
    send(&mut socket, json!({ "id": "chat", "type": "complete" })).await;
    send(&mut socket, follow.clone()).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(receive(&mut socket).await.expect("pong")["type"], "pong");
    send(&mut socket, follow).await;
    assert_eq!(receive(&mut socket).await, Err(4409));
}

async fn init_with(socket: &mut Socket, access: &str) -> Value {
    init(socket, json!({ "Authorization": format!("Bearer {access}") }))
        .await
        .expect("ack")
}
