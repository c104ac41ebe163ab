//! HTTP: the axum router with the GraphQL endpoint (HTTP and WebSocket), GraphiQL, the SDL, health checks, and
//! the middleware every request passes (request id, tracing, body limit, timeout, panics).

pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod mcp;
pub mod sse;
pub mod transport_ws;
pub mod websocket;

use std::{path::PathBuf, sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, StatusCode},
    response::{Html, IntoResponse},
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    db::Pool, graphql::AppSchema, services::auth::Authenticator, services::generation::Generations, storage::FileStore,
};

/// Shared, immutable state of the server.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub pool: Pool,
    /// The executable schema.
    pub schema: AppSchema,
    /// Token settings.
    pub authenticator: Arc<Authenticator>,
    /// How long a DataLoader waits for more keys before it runs a batch (see
    /// `ServeConfig::loader_delay_ms`).
    pub loader_delay: Duration,
    /// Where uploaded files are kept.
    pub files: FileStore,
    /// Longest a query or mutation over a WebSocket may run (HTTP requests have the
    /// request timeout; subscriptions run as long as they follow something).
    pub operation_timeout: Duration,
    /// Model answers being generated and followed.
    pub generations: Generations,
}

/// The header carrying each request's id (set if the client did not send one).
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes (multipart uploads excepted).
    pub max_body_bytes: usize,
    /// Largest file a multipart upload may carry; its request may be this plus
    /// [`MULTIPART_OVERHEAD_BYTES`].
    pub max_upload_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Directory with the GraphiQL page's scripts; the CDN is used when they are not there.
    pub graphiql_assets: PathBuf,
    /// Proxies whose `X-Forwarded-For` names the client (none: the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Room for the other parts of a multipart upload request (the operations, the map).
pub const MULTIPART_OVERHEAD_BYTES: usize = 256 * 1024;

/// Longest request id taken from a client.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Removes a client's `x-request-id` that is too long or holds characters other than
/// letters, digits, `-`, `_`, `.` and `:`, so that a fresh one is generated: the id goes into
/// logs and error messages, and must not carry anything a client smuggles in.
fn drop_unusable_request_id<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let usable = request.headers().get(REQUEST_ID_HEADER).is_none_or(|value| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// The largest bodies accepted: multipart uploads (the GraphQL multipart request spec) may
/// carry files; everything else is bounded by the plain limit. The middleware hands them to
/// the request reader as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Any body, and the operation part of a multipart one.
    pub plain: usize,
    /// A multipart body.
    pub multipart: usize,
    /// One file of a multipart body.
    pub file: usize,
}

/// Most files one multipart request may carry.
pub const MAX_FILES_PER_REQUEST: usize = 10;

/// Refuses a body over its limit with 413: at once when `Content-Length` says so, else as
/// soon as the streamed body passes it.
async fn limit_body(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let multipart = graphql::is_multipart(request.headers());
    let limit = if multipart { limits.multipart } else { limits.plain };
    let mut request = request;
    request.extensions_mut().insert(limits);
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
            .into_response();
    }
    // A streamed body that passes the limit fails inside whichever extractor reads it; the
    // flag lets the answer say why (413) instead of the extractor's generic 400.
    let exceeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = exceeded.clone();
    let request = request.map(|body| {
        use http_body_util::BodyExt;
        axum::body::Body::new(http_body_util::Limited::new(body, limit).map_err(move |error| {
            if error.is::<http_body_util::LengthLimitError>() {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            error
        }))
    });
    let response = next.run(request).await;
    if exceeded.load(std::sync::atomic::Ordering::Relaxed) && response.status() == StatusCode::BAD_REQUEST {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
            .into_response();
    }
    response
}

/// The connections of `listener` with Nagle's algorithm off: an event of a subscription is a
/// small write that must leave at once, not wait for the client to acknowledge the previous
/// one (up to a round trip, or a delayed acknowledgement's 40 ms).
pub fn accepting(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn no_delay(tcp: &mut tokio::net::TcpStream) {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not turn Nagle's algorithm off");
        }
    }
    listener.tap_io(no_delay)
}

/// Builds the router.
pub fn router(state: AppState, settings: &HttpSettings) -> Router {
    let middleware = ServiceBuilder::new()
        .map_request(drop_unusable_request_id)
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", request.id = %request_id, http.method = %request.method(), http.path = %request.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            BodyLimits {
                plain: settings.max_body_bytes,
                multipart: settings.max_upload_bytes.saturating_add(MULTIPART_OVERHEAD_BYTES),
                file: settings.max_upload_bytes,
            },
            limit_body,
        ))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, settings.request_timeout))
        .layer(axum::Extension(graphql::TrustedProxies(settings.trusted_proxies.clone().into())));

    let local_assets = graphiql::has_local_assets(&settings.graphiql_assets);
    let page = Html(graphiql::page(local_assets));
    let mut router = Router::new()
        .route(
            "/",
            get({
                let page = page.clone();
                async move || page
            }),
        )
        .route(
            "/graphiql",
            get({
                let page = page.clone();
                async move || page
            }),
        );
    if local_assets {
        router = router.nest_service(graphiql::ASSETS_PATH, ServeDir::new(&settings.graphiql_assets));
    }
    let mcp = Router::new()
        .fallback_service(mcp::service(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), mcp::authenticate));
    router = router.nest("/mcp", mcp);
    router
        .route(
            "/graphql",
            get(
                async move |state: axum::extract::State<AppState>,
                            peer: graphql::PeerAddr,
                            request: axum::extract::Request| {
                    // A browser opening the endpoint gets the playground, not a 406.
                    if graphiql::wants_page(request.headers()) {
                        return page.into_response();
                    }
                    websocket::get(state, peer, request).await
                },
            )
            .post(graphql::execute),
        )
        .route("/schema.graphql", get(graphql::sdl))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(middleware)
        .with_state(state)
}
