//! The GraphQL endpoint (`GET`/`POST /graphql`), GraphiQL and the SDL.

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::State,
    http::{HeaderMap, header},
    response::IntoResponse,
};

use super::REQUEST_ID_HEADER;
use crate::{app::AppState, graphql::RequestContext};

/// Executes one GraphQL request with its own context (pool, loaders, request id).
pub async fn execute(State(state): State<AppState>, headers: HeaderMap, request: GraphQLRequest) -> GraphQLResponse {
    let request_id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let context = RequestContext::new(state.pool.clone(), request_id);
    state.schema.execute(request.into_inner().data(context)).await.into()
}

/// The schema in SDL.
pub async fn sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.schema.sdl(),
    )
}
