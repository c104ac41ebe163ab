//! GraphQL over WebSocket at `/graphql`: the `graphql-transport-ws` protocol (graphql-ws,
//! Apollo, Relay) and the legacy `graphql-ws` subprotocol, for subscriptions and for queries
//! and mutations too.
//!
//! The client authenticates in the `connection_init` payload with the same bearer token as
//! over HTTP: `{"Authorization": "Bearer <token>"}` (also `authorization`, `headers.Authorization`,
//! `token` or `accessToken`). A bad token refuses the connection; no token means anonymous.
//! Every operation gets its own context (loaders, scope) and checks the token again, so a
//! revoked session or token stops working on a connection that is already open.

use std::sync::Arc;

use async_graphql::{
    Data, Executor, Request, Response,
    futures_util::{StreamExt, stream, stream::BoxStream},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{FromRequestParts, WebSocketUpgrade, ws::WebSocket},
    http::{HeaderMap, header},
    response::{IntoResponse, Response as HttpResponse},
};
use serde_json::Value;

use super::AppState;
use crate::{
    error::AppError,
    graphql::{AppSchema, RequestContext},
    services::auth::{self, ClientInfo},
};

/// The read buffer of a connection (it grows for a larger message, up to the cap).
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Largest message a client may send (a GraphQL operation with its variables).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// What a connection keeps from its `connection_init`: the bearer token (checked again for
/// every operation) and where the client is.
#[derive(Clone)]
pub(super) struct Connection {
    bearer: Option<String>,
    client: ClientInfo,
}

/// Runs each operation of a connection with a fresh request context.
#[derive(Clone)]
struct OperationExecutor {
    state: AppState,
}

impl Executor for OperationExecutor {
    async fn execute(&self, request: Request) -> Response {
        // Not used by the WebSocket transport (it streams every operation).
        self.state.schema.execute(request).await
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let connection = session_data
            .as_ref()
            .and_then(|data| data.get(&std::any::TypeId::of::<Connection>()))
            .and_then(|any| any.downcast_ref::<Connection>())
            .cloned();
        operation(self.state.clone(), connection, request, AppSchema::execute_stream)
    }
}

/// The results of one operation of a connection, run by `run` with a fresh request context
/// (loaders, scope) after checking the connection's token again.
pub(super) fn operation<T: From<Response> + Send + 'static>(
    state: AppState,
    connection: Option<Connection>,
    mut request: Request,
    run: fn(&AppSchema, Request) -> BoxStream<'static, T>,
) -> BoxStream<'static, T> {
    stream::once(async move {
        let Some(connection) = connection else {
            return stream::once(async { error_response(AppError::Unauthenticated, "").into() }).boxed();
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let caller = match &connection.bearer {
            None => None,
            Some(bearer) => match authenticate(&state, bearer).await {
                Ok(caller) => Some(caller),
                Err(error) => return stream::once(async move { error_response(error, &request_id).into() }).boxed(),
            },
        };
        let subscription = super::graphql::operation_type(&mut request)
            == Some(async_graphql::parser::types::OperationType::Subscription);
        let context = RequestContext::new(&state, request_id, caller, connection.client);
        let request_id = context.request_id().to_owned();
        let results = run(&state.schema, request.data(context));
        if subscription {
            return results.boxed();
        }
        // A query or mutation has one result, due within the operation timeout.
        let limit = state.operation_timeout;
        stream::once(async move {
            let mut results = std::pin::pin!(results);
            match tokio::time::timeout(limit, results.next()).await {
                Ok(Some(response)) => response,
                Ok(None) => Response::default().into(),
                Err(_) => timed_out(limit, &request_id).into(),
            }
        })
        .boxed()
    })
    .flatten()
    .boxed()
}

async fn authenticate(state: &AppState, bearer: &str) -> Result<auth::Caller, AppError> {
    let mut conn = state.pool.get().await?;
    auth::authenticate(&mut conn, &state.authenticator, bearer).await
}

/// The answer to an operation that ran past `limit` (it was stopped).
fn timed_out(limit: std::time::Duration, request_id: &str) -> Response {
    let mut error = async_graphql::ServerError::new(
        format!(
            "the operation took longer than {} seconds and was stopped",
            limit.as_secs_f64()
        ),
        None,
    );
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "TIMEOUT");
    extensions.set("requestId", request_id);
    error.extensions = Some(extensions);
    Response::from_errors(vec![error])
}

fn error_response(error: AppError, request_id: &str) -> Response {
    let error = error.into_graphql(Some(request_id).filter(|id| !id.is_empty()));
    Response::from_errors(vec![error.into_server_error(async_graphql::Pos::default())])
}

/// The bearer token in a `connection_init` payload, if any.
fn bearer_of(payload: &Value) -> Result<Option<String>, &'static str> {
    let value = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| {
            payload
                .get(key)
                .or_else(|| payload.get("headers").and_then(|h| h.get(key)))
        })
        .or_else(|| payload.get("token"))
        .or_else(|| payload.get("accessToken"));
    let Some(value) = value else {
        return Ok(None);
    };
    let text = value.as_str().ok_or("the token must be a string")?.trim();
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        Some(_) => return Err("the Authorization value must be `Bearer <token>`"),
        None => text,
    };
    Ok(Some(token.to_owned()))
}

/// `GET /graphql`: a WebSocket upgrade, or a query over HTTP.
pub async fn get(
    axum::extract::State(state): axum::extract::State<AppState>,
    super::graphql::PeerAddr(peer): super::graphql::PeerAddr,
    request: axum::extract::Request,
) -> HttpResponse {
    let upgrading = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrading {
        upgrade(state, peer, request).await
    } else {
        axum::handler::Handler::call(super::graphql::execute, request, state).await
    }
}

/// Upgrades `GET /graphql` to a GraphQL WebSocket connection.
pub async fn upgrade(state: AppState, peer: Option<std::net::IpAddr>, request: axum::extract::Request) -> HttpResponse {
    let (mut parts, _body) = request.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(protocol) => protocol,
        Err(rejection) => return rejection.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let client = client_info(peer, &parts.headers);
    // The subprotocol chosen as `GraphQLProtocol` chooses it: the client's first known one.
    let transport_ws = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .map(str::trim)
                .find(|p| *p == "graphql-transport-ws" || *p == "graphql-ws")
        })
        == Some("graphql-transport-ws");
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // An idle connection should cost little: tungstenite's default read buffer alone is
        // 128 KiB. Messages are small GraphQL operations; a larger one closes the connection.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket: WebSocket| async move {
            if transport_ws {
                // graphql-transport-ws: our own handler, which follows every MUST of the protocol.
                return super::transport_ws::serve(socket, state, client).await;
            }
            let auth_state = state.clone();
            GraphQLWebSocket::new(socket, OperationExecutor { state }, protocol)
                .on_connection_init(move |payload| async move {
                    let connection = accept(&auth_state, &payload, client)
                        .await
                        .map_err(async_graphql::Error::new)?;
                    let mut data = Data::default();
                    data.insert(connection);
                    Ok(data)
                })
                .serve()
                .await
        })
}

/// The connection a `connection_init` payload opens, or why it is refused (a bad token).
pub(super) async fn accept(state: &AppState, payload: &Value, client: ClientInfo) -> Result<Connection, &'static str> {
    let bearer = bearer_of(payload)?;
    if let Some(token) = &bearer {
        authenticate(state, token).await.map_err(|error| match error {
            AppError::Unauthenticated => "invalid or expired access token",
            other => {
                tracing::error!(error = ?other, "WebSocket authentication failed");
                "internal error"
            }
        })?;
    }
    Ok(Connection { bearer, client })
}

/// Where a request comes from: the peer address and the `User-Agent` (at most 512 characters).
pub fn client_info(peer: Option<std::net::IpAddr>, headers: &HeaderMap) -> ClientInfo {
    ClientInfo {
        ip_address: peer.map(ipnet::IpNet::from),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::bearer_of;

    #[test]
    fn connection_init_payloads_name_their_token_in_the_usual_ways() {
        for payload in [
            json!({ "Authorization": "Bearer abc" }),
            json!({ "authorization": "bearer abc" }),
            json!({ "headers": { "Authorization": "Bearer abc" } }),
            json!({ "token": "abc" }),
            json!({ "accessToken": "abc" }),
        ] {
            assert_eq!(bearer_of(&payload), Ok(Some("abc".to_owned())), "{payload}");
        }
        assert_eq!(bearer_of(&json!({})), Ok(None));
        assert!(bearer_of(&json!({ "Authorization": "Basic abc" })).is_err());
        assert!(bearer_of(&json!({ "token": 42 })).is_err());
    }
}
