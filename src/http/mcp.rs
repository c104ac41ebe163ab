//! `/mcp`: chatgraph as an MCP server (Model Context Protocol over Streamable HTTP, with the
//! official SDK `rmcp`), so that an agent (Claude Desktop, an IDE) works with a workspace's
//! projects, chats and knowledge.
//!
//! Every request carries a bearer token, as for GraphQL (a request without a valid one is
//! answered 401 before MCP sees it). Each tool runs one fixed GraphQL document on the same
//! schema with the caller's context, so an agent reads and writes exactly what a GraphQL
//! client with that token could: the same rules, limits, write path and audit. The server is
//! stateless (no MCP session), so any replica answers any request.

use std::time::Duration;

use async_graphql::Variables;
use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use rmcp::{
    ErrorData, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    },
    service::{RequestContext, RoleServer},
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde_json::{Value, json};

use crate::{
    app::AppState,
    auth::caller::{Caller, ClientInfo},
    graphql::context::RequestContext as GraphqlContext,
};

/// Largest MCP request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Longest wait of `post_message` for the answer, in seconds.
pub const MAX_WAIT_SECS: u64 = 120;

/// The `/mcp` service.
pub fn service(state: AppState) -> StreamableHttpService<Workspace, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        // Stateless: every request stands alone, on any replica.
        .with_legacy_session_mode(false)
        // The router's body limit applies first; this is the SDK's own.
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        // Host checks guard servers that trust whoever reaches them (DNS rebinding); this one
        // trusts only bearer tokens, which a browser never attaches on its own.
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || Ok(Workspace { state: state.clone() }),
        Default::default(),
        config,
    )
}

/// Answers 401 to a request without a valid bearer token; puts the caller in the request's
/// extensions for the tools.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match super::graphql::caller(&state, request.headers()).await {
        Ok(Some(caller)) => {
            let client = super::websocket::client_info(None, request.headers());
            request.extensions_mut().insert(caller);
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the MCP endpoint needs `Authorization: Bearer <token>`",
        )
            .into_response(),
        Err((status, message)) => (status, [(header::WWW_AUTHENTICATE, "Bearer")], message).into_response(),
    }
}

/// The workspace, as MCP tools.
#[derive(Clone)]
pub struct Workspace {
    state: AppState,
}

/// The tools: name, description, JSON Schema of the arguments.
fn tools() -> Vec<Tool> {
    let schema = |properties: Value, required: &[&str]| {
        let Value::Object(schema) = json!({ "type": "object", "properties": properties, "required": required }) else {
            return JsonObject::new();
        };
        schema
    };
    let id = |what: &str| json!({ "type": "string", "description": format!("The {what}'s id (as the other tools return it).") });
    let first =
        json!({ "type": "integer", "minimum": 1, "maximum": 50, "description": "How many (20 when not given)." });
    vec![
        Tool::new(
            "list_projects",
            "The projects you may read, with their organizations.",
            schema(json!({}), &[]),
        ),
        Tool::new(
            "search_knowledge",
            "Search a project's documents for passages about a question (by meaning and by words).",
            schema(
                json!({ "projectId": id("project"), "query": { "type": "string" }, "first": first }),
                &["projectId", "query"],
            ),
        ),
        Tool::new(
            "list_chats",
            "A project's chats you may read, most recent first.",
            schema(json!({ "projectId": id("project"), "first": first }), &["projectId"]),
        ),
        Tool::new(
            "read_chat",
            "A chat's latest messages, oldest first.",
            schema(json!({ "chatId": id("chat"), "first": first }), &["chatId"]),
        ),
        Tool::new(
            "post_message",
            "Post a message in a chat (or in a new chat of a project) and wait for the model's answer.",
            schema(
                json!({
                    "chatId": id("chat"),
                    "projectId": id("project"),
                    "content": { "type": "string" },
                    "waitSeconds": { "type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECS,
                                     "description": "How long to wait for the answer (60 when not given)." },
                }),
                &["content"],
            ),
        ),
    ]
}

const LIST_PROJECTS: &str = "{ viewer { projects(first: 50) { nodes { id name organization { id name } } } } }";
const SEARCH: &str = "query($projectId: ID!, $query: String!, $first: Int) { \
    semanticSearch(projectId: $projectId, query: $query, first: $first) { \
      score document { id title } chunk { content metadata } } }";
const LIST_CHATS: &str = "query($projectId: ID!, $first: Int) { node(id: $projectId) { ... on Project { \
    chats(first: $first) { nodes { id title lastMessageAt createdAt } } } } }";
const READ_CHAT: &str = "query($chatId: ID!, $first: Int) { node(id: $chatId) { ... on Chat { id title \
    messages(last: $first) { nodes { id role status content createdAt } } } } }";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { \
    chat { id } userMessage { id } assistantMessage { id uuid } userErrors { field code message } } }";
const ANSWER: &str = "query($id: ID!) { node(id: $id) { ... on Message { id status content error \
    citations { position document { title } } toolCalls { name status } } } }";

impl Workspace {
    /// Runs `document` with `variables` as `caller`: its data, or its errors as a tool error.
    async fn run(
        &self,
        caller: &Caller,
        client: &ClientInfo,
        document: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let request_id = crate::db::new_id().to_string();
        let context = GraphqlContext::new(&self.state, request_id.clone(), Some(caller.clone()), client.clone());
        let request = async_graphql::Request::new(document)
            .variables(Variables::from_json(variables))
            .data(context);
        let response = self.state.schema.execute(request).await;
        if !response.errors.is_empty() {
            let messages: Vec<String> = response.errors.iter().map(|e| e.message.clone()).collect();
            return Err(messages.join("; "));
        }
        response
            .data
            .into_json()
            .map_err(|_| "the result could not be read".to_owned())
    }

    /// `post_message`: sends, waits for the answer (at most `waitSeconds`), reads it.
    async fn post(&self, caller: &Caller, client: &ClientInfo, arguments: &JsonObject) -> Result<Value, String> {
        let mut input = json!({ "content": arguments.get("content").cloned().unwrap_or(Value::Null) });
        for key in ["chatId", "projectId"] {
            if let Some(value) = arguments.get(key) {
                input[key] = value.clone();
            }
        }
        let sent = self.run(caller, client, SEND, json!({ "input": input })).await?;
        let payload = &sent["sendMessage"];
        if let Some(errors) = payload["userErrors"].as_array().filter(|e| !e.is_empty()) {
            return Err(errors
                .iter()
                .map(|e| e["message"].as_str().unwrap_or("invalid input").to_owned())
                .collect::<Vec<_>>()
                .join("; "));
        }
        let wait = arguments
            .get("waitSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(60)
            .min(MAX_WAIT_SECS);
        if let Some(uuid) = payload["assistantMessage"]["uuid"]
            .as_str()
            .and_then(|u| u.parse().ok())
        {
            self.state
                .generations
                .settled(uuid, Duration::from_secs(wait))
                .await
                .map_err(|e| e.message())?;
        }
        let answer = self
            .run(
                caller,
                client,
                ANSWER,
                json!({ "id": payload["assistantMessage"]["id"] }),
            )
            .await?;
        Ok(json!({ "chat": payload["chat"], "userMessage": payload["userMessage"], "answer": answer["node"] }))
    }
}

/// Why a request reached a tool without a caller (the middleware puts one in).
fn unauthenticated() -> ErrorData {
    ErrorData::invalid_request("the MCP endpoint needs `Authorization: Bearer <token>`", None)
}

impl ServerHandler for Workspace {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.server_info = Implementation::new("chatgraph", env!("CARGO_PKG_VERSION"));
        config.instructions = Some(
            "chatgraph's workspace: list your projects, search their documents, read chats and post messages. \
             Everything runs with the rights of your token."
                .into(),
        );
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let parts = context
            .extensions
            .get::<axum::http::request::Parts>()
            .ok_or_else(unauthenticated)?;
        let caller = parts.extensions.get::<Caller>().ok_or_else(unauthenticated)?;
        let client = parts.extensions.get::<ClientInfo>().cloned().unwrap_or_default();
        let arguments = request.arguments.unwrap_or_default();
        let first = arguments
            .get("first")
            .and_then(Value::as_i64)
            .unwrap_or(20)
            .clamp(1, 50);
        let argument = |key: &str| arguments.get(key).cloned().unwrap_or(Value::Null);
        let result = match request.name.as_ref() {
            "list_projects" => self
                .run(caller, &client, LIST_PROJECTS, json!({}))
                .await
                .map(|d| d["viewer"]["projects"]["nodes"].clone()),
            "search_knowledge" => {
                let variables =
                    json!({ "projectId": argument("projectId"), "query": argument("query"), "first": first });
                self.run(caller, &client, SEARCH, variables)
                    .await
                    .map(|d| d["semanticSearch"].clone())
            }
            "list_chats" => self
                .run(
                    caller,
                    &client,
                    LIST_CHATS,
                    json!({ "projectId": argument("projectId"), "first": first }),
                )
                .await
                .and_then(|d| found(&d["node"], "project").map(|p| p["chats"]["nodes"].clone())),
            "read_chat" => self
                .run(
                    caller,
                    &client,
                    READ_CHAT,
                    json!({ "chatId": argument("chatId"), "first": first }),
                )
                .await
                .and_then(|d| found(&d["node"], "chat").cloned()),
            "post_message" => self.post(caller, &client, &arguments).await,
            other => {
                return Err(ErrorData::invalid_params(
                    format!("there is no tool named {other:?}"),
                    None,
                ));
            }
        };
        let result = match result {
            Ok(value) => {
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                CallToolResult::success(vec![ContentBlock::text(text)])
            }
            Err(why) => CallToolResult::error(vec![ContentBlock::text(why)]),
        };
        Ok(result.into())
    }
}

/// `node` when the caller may read it (an id of another kind, or of nothing the caller may
/// read, is "not found").
fn found<'a>(node: &'a Value, what: &str) -> Result<&'a Value, String> {
    if node.is_object() && node.as_object().is_some_and(|o| !o.is_empty()) {
        Ok(node)
    } else {
        Err(format!("{what} not found"))
    }
}
