//! Tools of MCP servers (Model Context Protocol, with the official SDK `rmcp`, over Streamable
//! HTTP). An organization configures its servers (name, URL, optional credential for the
//! `Authorization` header: `models::mcp_server`); a project enables one by its name in
//! `enabledTools`; the model sees its tools as `server__tool` (OpenAI-compatible APIs accept
//! only letters, digits, `_` and `-` in a function's name, so not `server.tool`).
//!
//! This process keeps one connection per server ([`McpHub`]) and its tool list, listed again
//! after [`LIST_TTL`] or as soon as the server says the list changed. A server that cannot be
//! reached makes its tools unavailable for that answer: the model is told so in a note, and
//! the answer goes on.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use rmcp::{
    ClientHandler, ServiceExt,
    model::{CallToolRequestParams, ContentBlock},
    service::{NotificationContext, RoleClient, RunningService},
    transport::{StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig},
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use uuid::Uuid;

use diesel_async::AsyncPgConnection;

use crate::{
    auth::crypto::Keyring,
    error::AppResult,
    models::{credential::CredentialRow, mcp_server::McpServerRow},
    outbound::Policy,
    providers::ToolDefinition,
    services::credentials,
};

/// How long a listed tool list is used before the server is asked again.
pub const LIST_TTL: Duration = Duration::from_secs(300);
/// How long connecting to a server and listing its tools may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most tools taken from one server.
pub const MAX_TOOLS_PER_SERVER: usize = 64;
/// The separator of a server's name and its tool's name, as models see them.
pub const SEPARATOR: &str = "__";

/// A server as an answer uses it: where, and the secret of its `Authorization` header.
#[derive(Clone)]
pub struct McpServer {
    /// The row's id.
    pub id: Uuid,
    /// Its name in the organization (the prefix of its tools).
    pub name: String,
    /// Its Streamable HTTP endpoint.
    pub url: String,
    /// The bearer token, when it needs one.
    pub authorization: Option<SecretString>,
}

impl McpServer {
    /// The servers of `rows` as answers use them, their credentials' secrets opened.
    pub async fn open_all(
        conn: &mut AsyncPgConnection,
        keyring: &Keyring,
        rows: Vec<McpServerRow>,
    ) -> AppResult<Vec<Self>> {
        let mut servers = Vec::new();
        for row in rows {
            let credential = match row.credential_id {
                Some(id) => CredentialRow::find(conn, id).await?,
                None => None,
            };
            servers.push(McpServer {
                id: row.id,
                name: row.name,
                url: row.url,
                authorization: credential.map(|c| credentials::reveal(keyring, &c)).transpose()?,
            });
        }
        Ok(servers)
    }
}

/// A tool of an MCP server.
#[derive(Debug, Clone)]
pub struct McpTool {
    /// The tool's name on its server.
    pub name: String,
    /// What the model is told, under the namespaced name.
    pub definition: ToolDefinition,
}

/// The name a model calls tool `tool` of server `server` by.
pub fn namespaced(server: &str, tool: &str) -> String {
    format!("{server}{SEPARATOR}{tool}")
}

/// Marks the tool list stale when the server says it changed.
#[derive(Clone, Default)]
struct Listener {
    stale: Arc<AtomicBool>,
}

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.stale.store(true, Ordering::SeqCst);
    }
}

/// One open connection and what it listed.
struct Connection {
    /// What it was opened with: a changed URL or secret opens another.
    opened_with: (String, Option<String>),
    client: RunningService<RoleClient, Listener>,
    stale: Arc<AtomicBool>,
    listed: tokio::sync::Mutex<Option<(Instant, Vec<McpTool>)>>,
}

/// One server's connection, opened by one caller at a time (others wait for it, not for
/// other servers).
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

/// The connections of this process to MCP servers, by server id.
#[derive(Clone, Default)]
pub struct McpHub {
    connections: Arc<std::sync::Mutex<HashMap<Uuid, Slot>>>,
}

impl McpHub {
    /// The tools of `server` (listed at most [`LIST_TTL`] ago and not changed since), or why
    /// they are unavailable.
    pub async fn tools(&self, server: &McpServer, policy: &Policy) -> Result<Vec<McpTool>, String> {
        let connection = self.connection(server, policy).await?;
        let mut listed = connection.listed.lock().await;
        let stale = connection.stale.swap(false, Ordering::SeqCst);
        if let Some((at, tools)) = listed.as_ref()
            && !stale
            && at.elapsed() < LIST_TTL
        {
            return Ok(tools.clone());
        }
        let tools = match tokio::time::timeout(CONNECT_TIMEOUT, connection.client.peer().list_all_tools()).await {
            Ok(Ok(tools)) => tools,
            Ok(Err(error)) => {
                drop(listed);
                self.forget(server.id);
                tracing::warn!(error = %error, mcp.server = %server.name, "cannot list an MCP server's tools");
                return Err("its tools could not be listed".into());
            }
            Err(_) => {
                drop(listed);
                self.forget(server.id);
                return Err(format!(
                    "it did not list its tools within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ));
            }
        };
        let tools: Vec<McpTool> = tools
            .into_iter()
            .filter_map(|tool| {
                let name = namespaced(&server.name, &tool.name);
                let usable = name.len() <= 64
                    && tool
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                usable.then(|| McpTool {
                    definition: ToolDefinition {
                        name,
                        description: tool.description.as_deref().unwrap_or_default().to_owned(),
                        parameters: Value::Object((*tool.input_schema).clone()),
                    },
                    name: tool.name.into_owned(),
                })
            })
            .take(MAX_TOOLS_PER_SERVER)
            .collect();
        *listed = Some((Instant::now(), tools.clone()));
        Ok(tools)
    }

    /// Calls tool `tool` of `server` with `arguments`: the text of its result, or why it failed.
    pub async fn call(
        &self,
        server: &McpServer,
        policy: &Policy,
        tool: &str,
        arguments: serde_json::Map<String, Value>,
    ) -> Result<String, String> {
        let connection = self.connection(server, policy).await?;
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let result = match connection.client.peer().call_tool(params).await {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(error = %error, mcp.server = %server.name, "an MCP tool call failed");
                if connection.client.is_closed() {
                    self.forget(server.id);
                }
                return Err(format!("the MCP server {} did not answer the call", server.name));
            }
        };
        let mut text: Vec<String> = result
            .content
            .iter()
            .map(|block| match block {
                ContentBlock::Text(text) => text.text.clone(),
                ContentBlock::Image(_) => "[an image]".to_owned(),
                ContentBlock::Audio(_) => "[an audio clip]".to_owned(),
                ContentBlock::Resource(_) | ContentBlock::ResourceLink(_) => "[a resource]".to_owned(),
                _ => "[content]".to_owned(),
            })
            .collect();
        if text.is_empty()
            && let Some(structured) = &result.structured_content
        {
            text.push(structured.to_string());
        }
        let text = text.join("\n");
        if result.is_error == Some(true) {
            return Err(if text.is_empty() {
                "the tool reported an error".into()
            } else {
                text
            });
        }
        Ok(text)
    }

    /// The open connection to `server`, opened (or opened again) when needed.
    async fn connection(&self, server: &McpServer, policy: &Policy) -> Result<Arc<Connection>, String> {
        let opened_with = (
            server.url.clone(),
            server.authorization.as_ref().map(|s| s.expose_secret().to_owned()),
        );
        let slot = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(server.id)
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        if let Some(connection) = slot.as_ref()
            && connection.opened_with == opened_with
            && !connection.client.is_closed()
        {
            return Ok(connection.clone());
        }
        let url = reqwest::Url::parse(&server.url).map_err(|_| "its URL is not valid".to_owned())?;
        policy.resolve(&url).await?;
        // rmcp's HTTP client uses rustls with the process's crypto provider: ring, as the rest.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = StreamableHttpClientTransportConfig::with_uri(server.url.clone());
        if let Some(secret) = &opened_with.1 {
            config = config.auth_header(secret.clone());
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let listener = Listener::default();
        let stale = listener.stale.clone();
        let client = match tokio::time::timeout(CONNECT_TIMEOUT, listener.serve(transport)).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => {
                tracing::warn!(error = %error, mcp.server = %server.name, "cannot connect to an MCP server");
                return Err("it could not be reached".into());
            }
            Err(_) => return Err(format!("it did not answer within {} s", CONNECT_TIMEOUT.as_secs())),
        };
        let connection = Arc::new(Connection {
            opened_with,
            client,
            stale,
            listed: tokio::sync::Mutex::new(None),
        });
        *slot = Some(connection.clone());
        Ok(connection)
    }

    fn forget(&self, id: Uuid) {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }
}
