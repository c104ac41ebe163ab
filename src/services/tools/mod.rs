//! Tools an answer may call while it is generated ([`crate::services::generation`] runs the
//! rounds): which tools a chat's model sees, and running one call under the limits and with
//! the rights of the person who sent the message.
//!
//! Built-in tools ([`Builtin`]): `knowledge_search` ([`knowledge`]) and `fetch_url`
//! ([`web`]); and the tools of the organization's MCP servers ([`mcp`]). A project enables
//! tools by name in its settings (`enabledTools`: a built-in tool's name, or an MCP server's
//! for all its tools); a chat with an assistant gets those of them the assistant names
//! (`Assistant.tools`: a tool's name, a server's, or one `server__tool`), a chat without one
//! gets them all. A tool is bound to the answer's project when the answer starts: no argument
//! can point it at another project, and the sender's right to read the project is checked
//! again at every call.

pub mod github;
pub mod knowledge;
pub mod mcp;
pub mod web;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::{authz::Scope, caller::Caller},
    db::Pool,
    error::AppError,
    models::{assistant::AssistantRow, project::ProjectSettingsRow},
    providers::{ToolCall, ToolDefinition, registry::Providers},
    services::auth::{self, Authenticator},
};

/// Most rounds of tool calls in one answer; the model is then asked once more without tools.
pub const MAX_ROUNDS: usize = 5;
/// Most calls a model may make in one round (more are answered with an error).
pub const MAX_CALLS_PER_ROUND: usize = 8;
/// How long one call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the tool rounds of one answer may take together; the model is then asked for
/// its answer without tools.
pub const TOOLS_TIME: Duration = Duration::from_secs(120);
/// Most bytes of a tool's result given to the model (and stored); more are cut with a note.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;
/// Characters of a result shown in stream events.
pub const PREVIEW_CHARS: usize = 160;

/// The tools chatgraph runs itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Searches the project's documents (the assistant's datasources when it has some).
    KnowledgeSearch,
    /// Reads a public web page as text.
    FetchUrl,
    /// Reads the GitHub repositories the asker connected (three tools).
    GitHub,
}

impl Builtin {
    /// Every built-in tool.
    pub const ALL: [Builtin; 3] = [Builtin::KnowledgeSearch, Builtin::FetchUrl, Builtin::GitHub];

    /// The name settings and assistants enable it by.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::KnowledgeSearch => "knowledge_search",
            Builtin::FetchUrl => "fetch_url",
            Builtin::GitHub => "github",
        }
    }

    /// The built-in tool called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// What the model is told of it: its tools.
    pub fn definitions(self) -> Vec<ToolDefinition> {
        match self {
            Builtin::KnowledgeSearch => vec![knowledge::definition()],
            Builtin::FetchUrl => vec![web::definition()],
            Builtin::GitHub => github::definitions(),
        }
    }

    /// The built-in tool a model calls as `tool`.
    fn calling(tool: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|b| b.definitions().iter().any(|d| d.name == tool))
    }
}

/// The built-in tools a chat's model sees: those enabled in the project's settings and,
/// when the chat has an assistant, named by it.
pub fn selected(settings: Option<&ProjectSettingsRow>, assistant: Option<&AssistantRow>) -> Vec<Builtin> {
    selected_servers(settings, assistant, Builtin::ALL.to_vec(), |tool| tool.name())
}

/// The tool names an assistant's `tools` holds (its other entries are ignored).
pub fn names(tools: &Value) -> impl Iterator<Item = &str> {
    tools.as_array().into_iter().flatten().filter_map(Value::as_str)
}

/// The tool sources among `servers` (MCP servers, or built-in tools) a chat's model may use:
/// those enabled in the project's settings and, when the chat has an assistant, named by it
/// (the source, or one of an MCP server's tools).
pub fn selected_servers<S>(
    settings: Option<&ProjectSettingsRow>,
    assistant: Option<&AssistantRow>,
    servers: Vec<S>,
    name: impl Fn(&S) -> &str,
) -> Vec<S> {
    let enabled = settings.map(|s| s.enabled_tools.as_slice()).unwrap_or_default();
    servers
        .into_iter()
        .filter(|server| enabled.iter().any(|e| e == name(server)))
        .filter(|server| {
            assistant.is_none_or(|a| {
                names(&a.tools).any(|n| n == name(server) || n.starts_with(&mcp::namespaced(name(server), "")))
            })
        })
        .collect()
}

/// Why a name may not be enabled in a project, if it may not: it must be a built-in tool's
/// or one of the organization's MCP `servers`'.
pub fn refuses(name: &str, servers: &[String]) -> Option<String> {
    (Builtin::named(name).is_none() && !servers.iter().any(|s| s == name)).then(|| {
        let known: Vec<&str> = Builtin::ALL
            .iter()
            .map(|t| t.name())
            .chain(servers.iter().map(String::as_str))
            .collect();
        format!("unknown tool {name:?}; the tools are {}", known.join(", "))
    })
}

/// What the tools of one answer run with: the answer, its project and the rights of the
/// person who asked.
pub struct ToolContext {
    /// The pool.
    pub pool: Pool,
    /// Who sent the message: tools act with their rights.
    pub caller: Arc<Caller>,
    /// The answer's project: the only place tools read.
    pub project_id: Uuid,
    /// Its organization (whose own provider keys are used).
    pub organization_id: Uuid,
    /// The chat's assistant's datasources, when it has some: `knowledge_search` reads only those.
    pub datasources: Option<Vec<Uuid>>,
    /// The answer being generated (its citations).
    pub message_id: Uuid,
    /// The providers (embedding the search).
    pub providers: Arc<Providers>,
    /// The keyring and the outbound policy.
    pub authenticator: Arc<Authenticator>,
    /// How long one call may take ([`CALL_TIMEOUT`] unless configured otherwise).
    pub call_timeout: Duration,
    /// The GitHub REST API.
    pub github_api: Arc<str>,
}

/// The tools of one answer and what they run with.
pub struct Toolbox {
    tools: Vec<Builtin>,
    servers: Vec<mcp::McpServer>,
    /// The names the chat's assistant gives (None: no assistant, every enabled tool).
    only: Option<Vec<String>>,
    hub: mcp::McpHub,
    /// The MCP tools, listed by [`Toolbox::prepare`] (with the index of their server).
    listed: std::sync::OnceLock<Vec<(usize, mcp::McpTool)>>,
    context: ToolContext,
    /// Serialises the citations parallel searches add to the answer.
    citing: tokio::sync::Mutex<()>,
}

/// What one call gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The result given to the model (the error's text when it failed), at most
    /// [`MAX_RESULT_BYTES`].
    pub result: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

impl Toolbox {
    /// Built-in `tools` and the tools of MCP `servers` (those the assistant names, when
    /// `only` is given), run with `context`.
    pub fn new(
        (tools, servers): (Vec<Builtin>, Vec<mcp::McpServer>),
        only: Option<Vec<String>>,
        hub: mcp::McpHub,
        context: ToolContext,
    ) -> Self {
        Toolbox {
            tools,
            servers,
            only,
            hub,
            listed: std::sync::OnceLock::new(),
            context,
            citing: tokio::sync::Mutex::new(()),
        }
    }

    /// Lists the MCP servers' tools (once); a note for the model naming the servers whose
    /// tools are unavailable, and why, if any.
    pub async fn prepare(&self) -> Option<String> {
        let policy = self.context.authenticator.outbound;
        let mut listed = Vec::new();
        let mut notes = Vec::new();
        for (index, server) in self.servers.iter().enumerate() {
            match self.hub.tools(server, &policy).await {
                Ok(tools) => listed.extend(
                    tools
                        .into_iter()
                        .filter(|tool| {
                            self.only.as_ref().is_none_or(|names| {
                                names.iter().any(|n| *n == server.name || *n == tool.definition.name)
                            })
                        })
                        .map(|tool| (index, tool)),
                ),
                Err(why) => notes.push(format!(
                    "The tools of the MCP server {} are unavailable for this answer: {why}.",
                    server.name
                )),
            }
        }
        let _ = self.listed.set(listed);
        (!notes.is_empty()).then(|| notes.join("\n"))
    }

    fn mcp_tools(&self) -> &[(usize, mcp::McpTool)] {
        self.listed.get().map_or(&[], Vec::as_slice)
    }

    /// True when the model has no tool (before [`Toolbox::prepare`]: none configured).
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.servers.is_empty()
    }

    /// What the model is told of its tools.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools
            .iter()
            .flat_map(|t| t.definitions())
            .chain(self.mcp_tools().iter().map(|(_, t)| t.definition.clone()))
            .collect()
    }

    /// Where a tool comes from, for events and records: `builtin`, or `mcp:<server>`.
    pub fn source(&self, name: &str) -> String {
        match self.mcp_tools().iter().find(|(_, t)| t.definition.name == name) {
            Some((index, _)) => format!("mcp:{}", self.servers[*index].name),
            None => "builtin".to_owned(),
        }
    }

    /// Runs `call` within the call timeout, its result cut to [`MAX_RESULT_BYTES`].
    pub async fn call(&self, call: &ToolCall) -> Outcome {
        let started = Instant::now();
        let limit = self.context.call_timeout;
        let result = match tokio::time::timeout(limit, self.run(call)).await {
            Ok(result) => result,
            Err(_) => Err(format!("the tool did not answer within {} s", limit.as_secs_f64())),
        };
        let duration = started.elapsed();
        match result {
            Ok(text) => Outcome {
                result: cap(text),
                error: None,
                duration,
            },
            Err(why) => Outcome {
                result: cap(format!("error: {why}")),
                error: Some(why),
                duration,
            },
        }
    }

    async fn run(&self, call: &ToolCall) -> Result<String, String> {
        let builtin = Builtin::calling(&call.name).filter(|b| self.tools.contains(b));
        let remote = self.mcp_tools().iter().find(|(_, t)| t.definition.name == call.name);
        if builtin.is_none() && remote.is_none() {
            return Err(format!("there is no tool named {:?} here", call.name));
        }
        let arguments = if call.arguments.trim().is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str::<Value>(&call.arguments)
                .map_err(|error| format!("the arguments are not valid JSON ({error})"))?
        };
        if !arguments.is_object() {
            return Err("the arguments must be a JSON object".into());
        }
        self.allowed().await?;
        match (builtin, remote) {
            (Some(Builtin::KnowledgeSearch), _) => knowledge::search(self, &arguments).await,
            (Some(Builtin::FetchUrl), _) => web::fetch(self, &arguments).await,
            (Some(Builtin::GitHub), _) => github::run(self, &call.name, &arguments).await,
            (None, Some((index, tool))) => {
                let Value::Object(arguments) = arguments else {
                    return Err("the arguments must be a JSON object".into());
                };
                let policy = self.context.authenticator.outbound;
                self.hub
                    .call(&self.servers[*index], &policy, &tool.name, arguments)
                    .await
            }
            (None, None) => Err(format!("there is no tool named {:?} here", call.name)),
        }
    }

    /// The sender still signed in and still reading the project.
    async fn allowed(&self) -> Result<(), String> {
        let context = &self.context;
        let mut conn = context.pool.get().await.map_err(|e| failure(e.into()))?;
        if !auth::still_signed_in(&mut conn, &context.caller)
            .await
            .map_err(failure)?
        {
            return Err("the person who asked is no longer signed in".into());
        }
        let scope = Scope::of(Some(&context.caller));
        if !scope
            .sees_project(&mut conn, context.project_id)
            .await
            .map_err(|e| failure(e.into()))?
        {
            return Err("the person who asked may no longer read this project".into());
        }
        Ok(())
    }
}

/// What the model reads of an error: the client's message (internal ones logged, never
/// described).
fn failure(error: AppError) -> String {
    if let AppError::Internal(source) = &error {
        tracing::error!(error = ?source, "a tool failed");
    }
    format!("the tool failed: {}", error.message())
}

/// `text` cut to [`MAX_RESULT_BYTES`] (at a character boundary) with a note saying so.
pub fn cap(text: String) -> String {
    if text.len() <= MAX_RESULT_BYTES {
        return text;
    }
    let mut end = MAX_RESULT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[the result was cut: {end} of its {} bytes are shown]",
        &text[..end],
        text.len()
    )
}

/// The start of `text` on one line, at most [`PREVIEW_CHARS`] characters.
pub fn preview(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut preview: String = line.chars().take(PREVIEW_CHARS).collect();
    if line.chars().count() > PREVIEW_CHARS {
        preview.push('…');
    }
    preview
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_result_is_cut_at_a_character_with_a_note() {
        let text = "é".repeat(MAX_RESULT_BYTES);
        let cut = cap(text.clone());
        assert!(cut.starts_with(&"é".repeat(MAX_RESULT_BYTES / 2)));
        assert!(cut.ends_with(&format!(
            "[the result was cut: {MAX_RESULT_BYTES} of its {} bytes are shown]",
            text.len()
        )));
        assert_eq!(cap("short".into()), "short");
        assert_eq!(preview("a\n  b"), "a b");
        assert_eq!(preview(&"x".repeat(500)).chars().count(), PREVIEW_CHARS + 1);
    }

    #[test]
    fn unknown_tool_names_are_refused_and_provider_format_entries_ignored() {
        let servers = ["search-engine".to_owned()];
        let refused = refuses("google_search", &servers).expect("refused");
        assert!(
            refused.contains("knowledge_search, fetch_url, github, search-engine"),
            "{refused}"
        );
        assert!(refuses("fetch_url", &servers).is_none());
        assert!(refuses("search-engine", &servers).is_none());
        let tools = serde_json::json!(["fetch_url", { "type": "function" }]);
        assert_eq!(names(&tools).collect::<Vec<_>>(), vec!["fetch_url"]);
    }
}
