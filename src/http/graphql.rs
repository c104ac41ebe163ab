//! The GraphQL endpoint (`GET`/`POST /graphql`) and the SDL, following the GraphQL-over-HTTP
//! spec: the response media type is negotiated from `Accept`
//! (`application/graphql-response+json` or `application/json`, 406 when neither is
//! acceptable), and with `application/graphql-response+json` a request that could not be
//! executed at all (parse or validation errors) is answered with 400.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use ipnet::IpNet;

use async_graphql::{ParseRequestError, http::MultipartOptions};
use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{AppState, BodyLimits, MAX_FILES_PER_REQUEST, REQUEST_ID_HEADER};
use crate::{
    graphql::RequestContext,
    services::auth::{self, Caller},
};

/// The client's address: the TCP peer (when the server runs with connect info, as
/// `chatgraph serve` does), or, when the peer is a trusted proxy, the address it forwarded
/// (see [`client_address`]).
pub struct PeerAddr(pub Option<IpAddr>);

/// The proxies whose `X-Forwarded-For` is believed (`CHATGRAPH_TRUSTED_PROXIES`), a request
/// extension set by the router.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let trusted = parts.extensions.get::<TrustedProxies>().cloned().unwrap_or_default();
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(PeerAddr(client_address(peer, &forwarded, &trusted.0)))
    }
}

/// The client's address behind trusted proxies: from the peer, walk `X-Forwarded-For` (its
/// header lines in order, each a comma-separated list) from the right while the address at
/// hand is a trusted proxy; the first untrusted one is the client. An entry that is not an
/// address stops the walk at the proxy that added it. With no trusted proxy the header is
/// ignored: anyone can write it.
pub fn client_address(peer: Option<IpAddr>, forwarded: &[&str], trusted: &[IpNet]) -> Option<IpAddr> {
    let mut client = peer?;
    let hops = forwarded.iter().flat_map(|line| line.split(',')).rev();
    for hop in hops {
        if !trusted.iter().any(|net| net.contains(&client)) {
            break;
        }
        match hop.trim().parse::<IpAddr>() {
            Ok(address) => client = address,
            Err(_) => break,
        }
    }
    Some(client)
}

/// The GraphQL request of an HTTP request: from the query string of a GET, else from the
/// body (JSON, or the GraphQL multipart request spec with each file streamed to a temporary
/// file, at most [`BodyLimits::file`] bytes each).
pub struct ReadRequest(pub Result<async_graphql::Request, ParseRequestError>);

impl<S: Send + Sync> FromRequest<S> for ReadRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<Self, Self::Rejection> {
        use async_graphql::futures_util::TryStreamExt;
        use tokio_util::compat::TokioAsyncReadCompatExt;
        if request.method() == Method::GET {
            let query = request.uri().query().unwrap_or_default();
            return Ok(ReadRequest(async_graphql::http::parse_query_string(query).map_err(
                |_| ParseRequestError::Io(std::io::Error::other("the query string is not a GraphQL request")),
            )));
        }
        // One byte more than a file may hold still reaches the upload, which refuses it with
        // a user error (FILE_TOO_LARGE, audited); a larger part ends the request with 413.
        let file = request
            .extensions()
            .get::<BodyLimits>()
            .map_or(usize::MAX, |limits| limits.file.saturating_add(1));
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = request.into_body().into_data_stream().map_err(std::io::Error::other);
        let options = MultipartOptions::default()
            .max_file_size(file)
            .max_num_files(MAX_FILES_PER_REQUEST);
        let read = async_graphql::http::receive_batch_body(
            content_type,
            tokio_util::io::StreamReader::new(body).compat(),
            options,
        )
        .await
        .and_then(async_graphql::BatchRequest::into_single);
        Ok(ReadRequest(read))
    }
}

/// Why a multipart request is refused once read: the plain body limit applies to all but
/// its files (so multipart is no way around it), and it carries at most
/// [`MAX_FILES_PER_REQUEST`] files.
fn refused_multipart(request: &async_graphql::Request, limits: Option<&BodyLimits>) -> Option<(StatusCode, String)> {
    if request.uploads.len() > MAX_FILES_PER_REQUEST {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a request may carry at most {MAX_FILES_PER_REQUEST} files"),
        ));
    }
    let plain = limits.map_or(usize::MAX, |l| l.plain);
    let operation = request.query.len() + serde_json::to_vec(&request.variables).map_or(0, |v| v.len());
    (operation > plain).then(|| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the operation of a multipart request may be at most {plain} bytes (its files excepted)"),
        )
    })
}

/// The response media types of GraphQL over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes tell request errors apart.
    GraphqlResponseJson,
    /// `application/json`: the legacy type, always 200 for a well-formed request.
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response media type from an `Accept` header: the acceptable type with the
/// highest quality, the first listed on a tie; wildcards and a missing header mean
/// `application/json` (what clients older than the spec expect). `None`: nothing acceptable.
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(MediaType, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = match parts.next().unwrap_or_default().to_ascii_lowercase().as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        let quality = parts
            .filter_map(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
            .next()
            .unwrap_or(1.0);
        if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
            best = Some((media, quality));
        }
    }
    best.map(|(media, _)| media)
}

/// Executes one GraphQL request with its own context (pool, loaders, request id).
pub async fn execute(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    method: Method,
    headers: HeaderMap,
    limits: Option<axum::Extension<BodyLimits>>,
    ReadRequest(request): ReadRequest,
) -> Response {
    // Too large first (whatever the media type), then the media type, then the body itself.
    if let Err(ParseRequestError::PayloadTooLarge) = request {
        let request_id = request_id_of(&headers);
        let message = "the request body, or one of its files, is larger than this server accepts";
        let content_type = MediaType::Json.content_type();
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_USER_INPUT",
            message,
            request_id,
            content_type,
        );
    }
    if method == Method::POST
        && let Some(refusal) = refused_content_type(&headers)
    {
        return refusal;
    }
    let mut request = match request {
        Ok(request) => request,
        Err(error) => return unreadable(&error, &headers),
    };
    if is_multipart(&headers)
        && let Some((status, message)) = refused_multipart(&request, limits.as_deref())
    {
        let request_id = request_id_of(&headers);
        return error_response(
            status,
            "BAD_USER_INPUT",
            &message,
            request_id,
            MediaType::Json.content_type(),
        );
    }
    if method == Method::GET && changes_state(&mut request) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "mutations must be sent with POST",
        )
            .into_response();
    }
    let request_id = request_id_of(&headers).to_owned();
    if super::sse::wanted(&headers) {
        let caller = match caller(&state, &headers).await {
            Ok(caller) => caller,
            Err(refusal) => return refusal.into_response(),
        };
        let client = super::websocket::client_info(peer, &headers);
        return super::sse::respond(&state, &headers, request, caller, client, request_id);
    }
    let Some(media) = negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let caller = match caller(&state, &headers).await {
        Ok(caller) => caller,
        Err(response) => return with_media_type(response, media, &request_id),
    };
    let client = super::websocket::client_info(peer, &headers);
    let context = RequestContext::new(&state, request_id, caller, client);
    let mut response = state.schema.execute(request.data(context)).await;

    // A request error (nothing executed) has errors without a path; field errors have one.
    let request_error = response.is_err() && response.errors.iter().all(|e| e.path.is_empty());
    if request_error {
        explain_request_errors(&mut response.errors);
    }
    let status = match media {
        MediaType::GraphqlResponseJson if request_error => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "serialising a GraphQL response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut http = (status, body).into_response();
    http.headers_mut().extend(response.http_headers);
    http.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    http
}

/// Gives request errors (parse, validation, limits) the BAD_USER_INPUT code every error
/// carries, and says what the depth and complexity limits are.
fn explain_request_errors(errors: &mut [async_graphql::ServerError]) {
    use crate::graphql::{MAX_COMPLEXITY, MAX_DEPTH};
    for error in errors {
        if error.message == "Query is too complex." {
            error.message = format!(
                "query is too complex: it could return more than {MAX_COMPLEXITY} fields (a connection \
                 counts its page size times its items); ask for smaller pages"
            );
        } else if error.message == "Query is nested too deep." {
            error.message = format!("query is nested deeper than {MAX_DEPTH} levels");
        }
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
}

/// Whether the operation a request would run is a mutation or subscription (GET may only run
/// queries). A document that does not parse, or that the document limits refuse, is left to
/// the executor, which reports it.
fn changes_state(request: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    operation_type(request).is_some_and(|ty| matches!(ty, OperationType::Mutation | OperationType::Subscription))
}

/// The type of the operation a request runs; None when its document is refused by the
/// limits or does not parse, or names no single operation (execution then reports why). The
/// document stays parsed in the request, for its execution.
pub(super) fn operation_type(
    request: &mut async_graphql::Request,
) -> Option<async_graphql::parser::types::OperationType> {
    use async_graphql::parser::types::DocumentOperations;
    // The parser must not see a document the limits refuse (its recursion is unbounded).
    crate::graphql::document_limits::check(&request.query).ok()?;
    let operation_name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let operation = match (&document.operations, operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.map(|op| op.ty)
}

/// The caller named by `Authorization: Bearer <access token>`; None without the header. A
/// header that does not name a live session is refused (401), so a client knows to refresh
/// instead of silently seeing anonymous results.
pub(super) async fn caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, (StatusCode, &'static str)> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or((
            StatusCode::UNAUTHORIZED,
            "the Authorization header must be `Bearer <token>`",
        ))?;
    let mut conn = state.pool.get().await.map_err(|error| {
        tracing::error!(error = %error, "authentication: database unavailable");
        (StatusCode::SERVICE_UNAVAILABLE, "service unavailable")
    })?;
    match auth::authenticate(&mut conn, &state.authenticator, token).await {
        Ok(caller) => Ok(Some(caller)),
        Err(crate::error::AppError::Unauthenticated) => {
            Err((StatusCode::UNAUTHORIZED, "invalid or expired access token"))
        }
        Err(error) => {
            tracing::error!(error = ?error, "authentication failed");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }
    }
}

/// The request id the middleware set (empty without it).
fn request_id_of(headers: &HeaderMap) -> &str {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// True for a `multipart/form-data` body.
pub(super) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Headers that a browser form cannot send without a CORS preflight; a multipart request must
/// carry one (as Apollo's CSRF prevention asks), so a cross-site form cannot run a mutation.
const PREFLIGHT_HEADERS: [&str; 2] = ["apollo-require-preflight", "x-apollo-operation-name"];

/// Refuses a POST whose body a cross-site page could send without a preflight: `text/plain`,
/// form encodings or no content type (415), and multipart without a preflight header (400).
/// JSON (`application/json`, `application/graphql+json`) needs no header: browsers preflight it.
fn refused_content_type(headers: &HeaderMap) -> Option<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (status, message) = match essence.as_str() {
        "application/json" | "application/graphql+json" => return None,
        "multipart/form-data" if PREFLIGHT_HEADERS.iter().any(|h| headers.contains_key(*h)) => return None,
        "multipart/form-data" => (
            StatusCode::BAD_REQUEST,
            "a multipart request must carry an `Apollo-Require-Preflight: true` header (protection against cross-site request forgery)",
        ),
        _ => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as `Content-Type: application/json` (or GraphQL multipart for uploads)",
        ),
    };
    let request_id = request_id_of(headers);
    Some(error_response(
        status,
        "BAD_USER_INPUT",
        message,
        request_id,
        MediaType::Json.content_type(),
    ))
}

/// A GraphQL error response outside execution: `status`, one error with `message`, `code`
/// and the request id, as `content_type`.
fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
    content_type: &'static str,
) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code, "requestId": request_id } }] });
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body.to_string(),
    )
        .into_response()
}

/// A body that is not a GraphQL request: 400 with a GraphQL error that says what was expected
/// (never the parser's debug text).
fn unreadable(error: &ParseRequestError, headers: &HeaderMap) -> Response {
    let message = match error {
        ParseRequestError::UnsupportedBatch => "batched requests are not supported: send one operation per request",
        ParseRequestError::InvalidFilesMap(_)
        | ParseRequestError::InvalidMultipart(_)
        | ParseRequestError::MissingOperatorsPart
        | ParseRequestError::MissingMapPart
        | ParseRequestError::NotUpload
        | ParseRequestError::MissingFiles => {
            "the multipart body does not follow the GraphQL multipart request specification"
        }
        _ => "the body is not a GraphQL request: send JSON with a `query` string (and `variables`, `operationName`)",
    };
    let request_id = request_id_of(headers);
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT", "requestId": request_id } }] });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

/// A GraphQL-shaped error response outside execution (authentication).
fn with_media_type((status, message): (StatusCode, &'static str), media: MediaType, request_id: &str) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        _ => "INTERNAL",
    };
    let mut response = error_response(status, code, message, request_id, media.content_type());
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The schema in SDL.
pub async fn sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.schema.sdl(),
    )
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use ipnet::IpNet;

    use super::{MediaType::*, client_address, negotiate};

    #[test]
    fn the_client_address_is_forwarded_only_by_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net"), "192.0.2.1/32".parse().expect("net")];
        let peer = Some(ip("10.1.2.3"));
        // No trusted proxies: the header is anyone's to write.
        assert_eq!(client_address(peer, &["203.0.113.9"], &[]), peer);
        // A trusted peer forwards; a spoofed entry left of the real client is ignored.
        assert_eq!(
            client_address(peer, &["6.6.6.6, 203.0.113.9"], &trusted),
            Some(ip("203.0.113.9"))
        );
        // Two trusted hops, over two header lines.
        assert_eq!(
            client_address(peer, &["203.0.113.9", "192.0.2.1"], &trusted),
            Some(ip("203.0.113.9"))
        );
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_address(Some(ip("198.51.100.7")), &["203.0.113.9"], &trusted),
            Some(ip("198.51.100.7"))
        );
        // Garbage stops at the proxy that passed it on.
        assert_eq!(client_address(peer, &["nonsense"], &trusted), peer);
        assert_eq!(client_address(None, &["203.0.113.9"], &trusted), None);
    }

    #[test]
    fn accept_headers_pick_the_media_type() {
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("*/*")), Some(Json));
        assert_eq!(negotiate(Some("application/json")), Some(Json));
        assert_eq!(
            negotiate(Some("application/graphql-response+json")),
            Some(GraphqlResponseJson)
        );
        assert_eq!(
            negotiate(Some("application/graphql-response+json, application/json;q=0.9")),
            Some(GraphqlResponseJson)
        );
        assert_eq!(
            negotiate(Some("application/json, application/graphql-response+json")),
            Some(Json)
        );
        assert_eq!(
            negotiate(Some("application/json;q=0.5, application/graphql-response+json")),
            Some(GraphqlResponseJson)
        );
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
    }
}
