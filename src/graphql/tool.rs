//! Tools: what a project's answers may call (`Project.tools`, `Assistant.enabledTools`) and
//! the calls an answer made (`Message.toolCalls`, `MessageStreamEvent.toolCalls`).

use async_graphql::{Context, Enum, Json, Object, Result, SimpleObject};
use serde_json::Value;

use super::{
    loaders::{MessageById, load},
    message::Message,
};
use uuid::Uuid;

use super::context::ContextExt;
use crate::{
    error::AppError,
    models::{mcp_server::McpServerRow, project::ProjectSettingsRow},
    services::{
        generation::{ToolActivity, ToolStatus},
        tools::{
            self, Builtin,
            mcp::{McpServer, McpTool},
        },
    },
};

/// A tool an answer may call.
#[derive(SimpleObject)]
pub struct Tool {
    /// The name the model calls it by, and settings and assistants name it by.
    pub name: String,
    /// What the model is told it does.
    pub description: String,
    /// The JSON Schema of its arguments.
    pub parameters: Json<Value>,
    /// Where it comes from: `builtin` (run by chatgraph) or `mcp:<server>`.
    pub source: String,
    /// Whether the project's settings enable it (`enabledTools`: its name, or its MCP
    /// server's).
    pub enabled: bool,
    /// Why the tools of its MCP server cannot be listed now (this entry then stands for the
    /// whole server, under the server's name).
    pub unavailable: Option<String>,
    /// The name that enables it: its built-in group (`github`) or its MCP server.
    #[graphql(skip)]
    pub group: String,
}

/// Every tool the answers of a project of `organization_id` could call (the built-in ones,
/// and its MCP servers' listed now), `enabled` as `settings` say.
pub async fn catalogue(
    ctx: &Context<'_>,
    organization_id: Option<Uuid>,
    settings: Option<&ProjectSettingsRow>,
) -> Result<Vec<Tool>> {
    let enabled = tools::selected(settings, None);
    let mut listed: Vec<Tool> = Builtin::ALL
        .into_iter()
        .flat_map(|tool| Tool::builtin(tool, enabled.contains(&tool)))
        .collect();
    let Some(organization_id) = organization_id else {
        return Ok(listed);
    };
    let request = ctx.request();
    let mut conn = ctx.conn().await?;
    let servers = async {
        let rows = McpServerRow::for_organization(&mut conn, organization_id).await?;
        McpServer::open_all(&mut conn, &request.authenticator().keyring, rows).await
    }
    .await
    .map_err(|e: AppError| ctx.error(e))?;
    // No connection held while the servers are asked.
    drop(conn);
    let enabled_names = settings.map(|s| s.enabled_tools.as_slice()).unwrap_or_default();
    let hub = request.generations().mcp();
    for server in servers {
        let enabled = enabled_names.contains(&server.name);
        match hub.tools(&server, &request.authenticator().outbound).await {
            Ok(tools) => listed.extend(tools.into_iter().map(|t| Tool::remote(&server.name, t, enabled))),
            Err(why) => listed.push(Tool::of_unavailable_server(&server.name, why, enabled)),
        }
    }
    Ok(listed)
}

impl Tool {
    /// The tools of built-in `tool`, enabled or not.
    pub fn builtin(tool: Builtin, enabled: bool) -> Vec<Self> {
        tool.definitions()
            .into_iter()
            .map(|definition| Tool {
                name: definition.name,
                description: definition.description,
                parameters: Json(definition.parameters),
                source: "builtin".into(),
                enabled,
                unavailable: None,
                group: tool.name().into(),
            })
            .collect()
    }

    /// Tool `tool` of MCP server `server`.
    pub fn remote(server: &str, tool: McpTool, enabled: bool) -> Self {
        Tool {
            name: tool.definition.name,
            description: tool.definition.description,
            parameters: Json(tool.definition.parameters),
            source: format!("mcp:{server}"),
            enabled,
            unavailable: None,
            group: server.into(),
        }
    }

    /// The entry of MCP server `server` whose tools cannot be listed, and why.
    pub fn of_unavailable_server(server: &str, why: String, enabled: bool) -> Self {
        Tool {
            name: server.to_owned(),
            description: format!("The tools of the MCP server {server}."),
            parameters: Json(Value::Object(serde_json::Map::new())),
            source: format!("mcp:{server}"),
            enabled,
            unavailable: Some(why),
            group: server.into(),
        }
    }
}

/// Where a tool call stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ToolCallStatus {
    /// Called, not answered yet.
    Running,
    /// Answered.
    Succeeded,
    /// Failed; the model was told why.
    Failed,
}

/// One call of a tool by an answer.
pub struct ToolCall(pub ToolActivity);

/// One call of a tool by an answer: what was asked, how it went, and the `tool` message that
/// holds its whole result.
#[Object]
impl ToolCall {
    /// The call's id (the model's).
    async fn call_id(&self) -> &str {
        &self.0.id
    }

    /// The tool.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Where the tool comes from (`builtin`).
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// The arguments the model gave (a JSON object; a string when they were not JSON).
    async fn arguments(&self) -> Json<&Value> {
        Json(&self.0.arguments)
    }

    /// Where it stands.
    async fn status(&self) -> ToolCallStatus {
        match self.0.status {
            ToolStatus::Running => ToolCallStatus::Running,
            ToolStatus::Succeeded => ToolCallStatus::Succeeded,
            ToolStatus::Failed => ToolCallStatus::Failed,
        }
    }

    /// The start of its result (at most 160 characters), once answered.
    async fn preview(&self) -> Option<&str> {
        self.0.preview.as_deref()
    }

    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// How long it took, in milliseconds, once answered.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms.and_then(|d| i64::try_from(d).ok())
    }

    /// The model round that called it, from 1.
    async fn round(&self) -> i32 {
        i32::try_from(self.0.round).unwrap_or(i32::MAX)
    }

    /// The `tool` message holding its result (arguments, result, duration and error), once
    /// answered; seen as its chat is.
    async fn result_message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let Some(id) = self.0.message_id else {
            return Ok(None);
        };
        Ok(load(ctx, MessageById(id)).await?.map(Message))
    }
}
