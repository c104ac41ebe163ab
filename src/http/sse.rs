//! GraphQL over server-sent events: the graphql-sse protocol's "distinct connections" mode.
//! A request to `/graphql` (POST, or GET for `EventSource`) that accepts
//! `text/event-stream` is answered with a stream of `next` events (one per result) and one
//! `complete` event. A `messageStream` event carries `id: <seq>`, and a reconnection that
//! sends `Last-Event-ID` resumes exactly after it (as `afterSeq` would).

use std::convert::Infallible;

use async_graphql::futures_util::{StreamExt, stream};
use axum::{
    http::{HeaderMap, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};

use super::AppState;
use crate::{
    graphql::{RequestContext, fanout::Outcome, subscription::LastEventId},
    services::auth::{Caller, ClientInfo},
};

/// True when the client asks for an event stream.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/event-stream"))
}

/// The `Last-Event-ID` a reconnecting client sent.
fn last_event_id(headers: &HeaderMap) -> Option<i32> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `seq` of a result whose one root field has one (a `messageStream` event).
fn seq_of(outcome: &Outcome) -> Option<i64> {
    let response = match outcome {
        Outcome::Shared(rendered) => return Some(rendered.seq.into()),
        Outcome::Response(response) => response,
    };
    let async_graphql::Value::Object(data) = &response.data else {
        return None;
    };
    let (_, async_graphql::Value::Object(field)) = data.iter().next()? else {
        return None;
    };
    match field.get("seq")? {
        async_graphql::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Runs `request` and streams its results as server-sent events.
pub fn respond(
    state: &AppState,
    headers: &HeaderMap,
    request: async_graphql::Request,
    caller: Option<Caller>,
    client: ClientInfo,
    request_id: String,
) -> Response {
    let context = RequestContext::new(state, request_id, caller, client);
    let mut request = request.data(context);
    if let Some(seq) = last_event_id(headers) {
        request = request.data(LastEventId(seq));
    }
    let results = state.schema.execute_stream_shared(request).map(|response| {
        let mut event = Event::default().event("next");
        if let Some(seq) = seq_of(&response) {
            event = event.id(seq.to_string());
        }
        let data =
            serde_json::to_string(&response).unwrap_or_else(|_| r#"{"errors":[{"message":"internal error"}]}"#.into());
        Ok::<_, Infallible>(event.data(data))
    });
    let events = results.chain(stream::once(async { Ok(Event::default().event("complete").data("")) }));
    let mut response = Sse::new(events).keep_alive(KeepAlive::default()).into_response();
    // Proxies such as nginx buffer responses unless told not to.
    response
        .headers_mut()
        .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    response
}
