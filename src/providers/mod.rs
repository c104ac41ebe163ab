//! Model and embedding providers: the [`ChatModel`] trait that streams a completion, the
//! OpenAI-compatible HTTP provider, the built-in offline model and embedder, token counting,
//! and the registry built from `CHATGRAPH_PROVIDERS` ([`registry`]).

pub mod embedding;
pub mod offline;
pub mod openai;
pub mod registry;
pub mod tokens;

use std::time::Duration;

use async_graphql::futures_util::stream::BoxStream;

/// Who says a message of a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

impl Role {
    /// The name in the OpenAI chat format.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of a prompt: its text, then further text parts (attached files, rendered).
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
    /// Text parts after `content`, such as attached files.
    pub parts: Vec<String>,
    /// The tools an assistant message called (its round ended with them).
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    pub tool_call_id: Option<String>,
}

impl PromptMessage {
    /// A message of text alone.
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        PromptMessage {
            role,
            content: content.into(),
            parts: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// The model's message of a round that called tools: its text and its calls.
    pub fn calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        PromptMessage {
            tool_calls: calls,
            ..PromptMessage::text(Role::Assistant, content)
        }
    }

    /// A tool's result, answering the call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        PromptMessage {
            tool_call_id: Some(call_id.into()),
            ..PromptMessage::text(Role::Tool, content)
        }
    }
}

/// A tool a model may call: its name, what it does, and the JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ToolDefinition {
    /// The name the model calls it by (`knowledge_search`, `server.tool`).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON Schema of its arguments (an object).
    pub parameters: serde_json::Value,
}

/// A model's call of a tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The call's id (the provider's, or one made up when it gives none).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as the model wrote them (JSON text, possibly invalid).
    pub arguments: String,
}

/// What a completion is asked for.
#[derive(Debug, Clone, Default)]
pub struct CompletionRequest {
    /// The model id as the provider knows it.
    pub model: String,
    /// The conversation, oldest first, instructions first of all.
    pub messages: Vec<PromptMessage>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Longest answer, in tokens.
    pub max_tokens: Option<u32>,
    /// The tools the model may call (none: it answers in text).
    pub tools: Vec<ToolDefinition>,
}

/// Tokens a completion used, as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Prompt tokens (cached ones included).
    pub input: i64,
    /// Answer tokens.
    pub output: i64,
    /// Prompt tokens served from the provider's cache.
    pub cached: i64,
}

/// One piece of a streamed completion.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// More text of the answer.
    Delta(String),
    /// A complete tool call (its arguments gathered); the round then ends with finish reason
    /// `tool_calls`.
    ToolCall(ToolCall),
    /// The end: why it stopped (`stop`, `length`, ...) and the usage, when reported.
    End {
        /// The provider's finish reason.
        finish_reason: String,
        /// Tokens used, when the provider said.
        usage: Option<TokenUsage>,
    },
}

/// Why a completion failed. The messages are shown to users (stored on the failed message):
/// they never carry key material or a provider's internals.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// 401 or 403.
    #[error("the model provider refused the API key")]
    Unauthorized,
    /// 429.
    #[error("the model provider is rate limiting requests{}", retry_after.map(|d| format!("; retry after {} s", d.as_secs().max(1))).unwrap_or_default())]
    RateLimited {
        /// From the `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// The prompt does not fit the model.
    #[error("the conversation is longer than the model's context window")]
    ContextLength,
    /// No answer in time.
    #[error("the model provider did not answer in time (no {0})")]
    Timeout(&'static str),
    /// Another HTTP status.
    #[error("the model provider failed (HTTP {0})")]
    Status(u16),
    /// A connection failure.
    #[error("the model provider could not be reached")]
    Unreachable,
    /// A stream that is not the expected format.
    #[error("the model provider's answer could not be read")]
    Protocol,
}

impl ProviderError {
    /// True when asking again may succeed (before any token was received).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. } | ProviderError::Unreachable | ProviderError::Status(500..)
        )
    }
}

/// A stream of chunks; dropping it cancels the completion.
pub type ChunkStream = BoxStream<'static, Result<Chunk, ProviderError>>;

/// A model that streams completions.
pub trait ChatModel: Send + Sync {
    /// Starts a completion of `request`. The stream ends after [`Chunk::End`] or an error.
    fn complete(&self, request: CompletionRequest) -> ChunkStream;
}
