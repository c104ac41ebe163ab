//! The graphql-transport-ws protocol (what graphql-ws, Apollo and Relay clients speak),
//! following every MUST of its specification: `connection_init` within 10 seconds (else
//! close 4408) and only once (4429); a refused init payload closes with 4403; `subscribe`
//! before the acknowledgement closes with 4401; an id already in use closes with 4409; a
//! message that is not JSON or not of the protocol closes with 4400. An operation that cannot
//! run (a syntax or validation error) gets an `error` message, results get `next` and the
//! end `complete`; the client's `complete` stops an operation; `ping` gets `pong`. At most
//! [`MAX_OPERATIONS`] operations run at once per connection.

use std::{collections::HashMap, time::Duration};

use async_graphql::futures_util::{
    SinkExt, StreamExt,
    stream::{self, AbortHandle, BoxStream, SelectAll, SplitSink, SplitStream},
};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AppState,
    websocket::{Connection, accept, operation},
};
use crate::{
    graphql::{AppSchema, fanout::Outcome},
    services::auth::ClientInfo,
};

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Operations one connection may run at once.
pub const MAX_OPERATIONS: usize = 100;
/// How often the server pings an idle connection.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// A message from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Incoming {
    ConnectionInit {
        payload: Option<Value>,
    },
    Ping {
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
}

/// A message of an operation, serialised; `ends` names the operation when it is its last.
struct Frame {
    text: String,
    ends: Option<String>,
}

/// What a connection reacts to.
enum Event {
    /// A message from the client (None: the client went away).
    Received(Option<Result<Message, axum::Error>>),
    /// A message of one of the connection's operations.
    Frame(Frame),
    /// Time to ping the client.
    Ping,
    /// The time for `connection_init` is up.
    InitDeadline,
}

type Sender = SplitSink<WebSocket, Message>;

/// Serves one connection until either side closes it.
pub async fn serve(socket: WebSocket, state: AppState, client: ClientInfo) {
    let (mut sender, received) = socket.split();
    let code = run(&mut sender, received, state, client).await;
    if let Some((code, reason)) = code {
        let _ = sender
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
}

/// The protocol loop; the close code and reason when the server closes.
async fn run(
    sender: &mut Sender,
    received: SplitStream<WebSocket>,
    state: AppState,
    client: ClientInfo,
) -> Option<(u16, String)> {
    let mut connection: Option<Connection> = None;
    let mut client = Some(client);
    // Everything the connection waits for is one stream of events, and the operations run
    // inside this task: an event of a subscription is one wake-up and one write, with no task
    // or channel between them, and it polls neither the socket nor the other operations
    // (`SelectAll` polls only the sources that woke it; a thousand followers of one answer
    // each pay this per event).
    let mut events: SelectAll<BoxStream<'static, Event>> = SelectAll::new();
    events.push(
        received
            .map(Some)
            .chain(stream::once(async { None }))
            .map(Event::Received)
            .boxed(),
    );
    events.push(
        stream::once(tokio::time::sleep(INIT_TIMEOUT))
            .map(|()| Event::InitDeadline)
            .boxed(),
    );
    let pings = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    events.push(
        stream::unfold(pings, |mut pings| async move {
            pings.tick().await;
            Some((Event::Ping, pings))
        })
        .boxed(),
    );
    let mut operations: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        let incoming = match events.next().await? {
            Event::Received(incoming) => incoming,
            Event::InitDeadline if connection.is_none() => {
                break Some((4408, "Connection initialisation timeout".to_owned()));
            }
            Event::InitDeadline => continue,
            Event::Frame(frame) => {
                if let Some(id) = &frame.ends {
                    operations.remove(id);
                }
                if sender.send(Message::text(frame.text)).await.is_err() {
                    break None;
                }
                continue;
            }
            Event::Ping => {
                if connection.is_some()
                    && sender
                        .send(Message::text(json!({ "type": "ping" }).to_string()))
                        .await
                        .is_err()
                {
                    break None;
                }
                continue;
            }
        };
        let text = match incoming {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => break Some((4400, "Binary messages are not supported".to_owned())),
            Some(Ok(_)) => continue,
        };
        let message: Incoming = match serde_json::from_str(text.as_str()) {
            Ok(message) => message,
            Err(_) => break Some((4400, "Invalid message received".to_owned())),
        };
        match message {
            Incoming::ConnectionInit { payload } => {
                if connection.is_some() {
                    break Some((4429, "Too many initialisation requests".to_owned()));
                }
                let payload = payload.unwrap_or(Value::Null);
                match accept(&state, &payload, client.take().unwrap_or_default()).await {
                    Ok(accepted) => connection = Some(accepted),
                    Err(reason) => break Some((4403, format!("Forbidden: {reason}"))),
                }
                if sender
                    .send(Message::text(json!({ "type": "connection_ack" }).to_string()))
                    .await
                    .is_err()
                {
                    break None;
                }
            }
            Incoming::Ping { payload } => {
                let pong = match payload {
                    Some(payload) => json!({ "type": "pong", "payload": payload }),
                    None => json!({ "type": "pong" }),
                };
                if sender.send(Message::text(pong.to_string())).await.is_err() {
                    break None;
                }
            }
            Incoming::Pong {} => {}
            Incoming::Subscribe { id, payload } => {
                let Some(connection) = &connection else {
                    break Some((4401, "Unauthorized".to_owned()));
                };
                if operations.contains_key(&id) {
                    break Some((4409, format!("Subscriber for {id} already exists")));
                }
                if operations.len() >= MAX_OPERATIONS {
                    let refusal = json!({ "id": id, "type": "error", "payload": [{
                        "message": format!("at most {MAX_OPERATIONS} operations may run at once on one connection"),
                        "extensions": { "code": "TOO_MANY_OPERATIONS" },
                    }] });
                    if sender.send(Message::text(refusal.to_string())).await.is_err() {
                        break None;
                    }
                    continue;
                }
                let results = operation(
                    state.clone(),
                    Some(connection.clone()),
                    *payload,
                    AppSchema::execute_stream_shared,
                );
                let (frames, stop) = stream::abortable(frames(id.clone(), results));
                events.push(frames.map(Event::Frame).boxed());
                operations.insert(id, stop);
            }
            Incoming::Complete { id } => {
                if let Some(stop) = operations.remove(&id) {
                    stop.abort();
                }
            }
        }
    }
}

/// The messages of operation `id`: an `error` message when it could not run at all, else
/// `next` for each result and then `complete`.
fn frames(
    id: String,
    results: BoxStream<'static, Outcome>,
) -> impl async_graphql::futures_util::Stream<Item = Frame> + Send + use<> {
    stream::unfold(Some((id, results, true)), |state| async move {
        let (id, mut results, first) = state?;
        let Some(response) = results.next().await else {
            let text = json!({ "id": id, "type": "complete" }).to_string();
            return Some((Frame { text, ends: Some(id) }, None));
        };
        // A request error (nothing ran: syntax, validation, a refused token) has errors
        // without a path and no data: the protocol says `error`, and nothing after it.
        if let Outcome::Response(response) = &response {
            let refused = first
                && response.data == async_graphql::Value::Null
                && !response.errors.is_empty()
                && response.errors.iter().all(|e| e.path.is_empty());
            if refused {
                let text = message(&id, "error", &response.errors);
                return Some((Frame { text, ends: Some(id) }, None));
            }
        }
        // Serialised once, straight from the response.
        let text = message(&id, "next", &response);
        Some((Frame { text, ends: None }, Some((id, results, false))))
    })
}

/// The message `{"id", "type", "payload"}`, serialised.
fn message(id: &str, kind: &str, payload: &impl serde::Serialize) -> String {
    #[derive(serde::Serialize)]
    struct Message<'a, P> {
        id: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        payload: &'a P,
    }
    serde_json::to_string(&Message { id, kind, payload }).unwrap_or_default()
}
