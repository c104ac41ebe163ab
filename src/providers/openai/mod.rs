//! The OpenAI-compatible provider: `POST {base_url}/chat/completions` with `stream: true` and
//! `stream_options.include_usage`, read as server-sent events. The same wire format is spoken
//! by OpenAI, Azure OpenAI, OpenRouter, vLLM, Ollama, llama.cpp's server and LM Studio.
//!
//! Never a hang: a connect timeout, a first-token timeout (from the request to the first
//! text) and an idle timeout (between chunks). Transient failures (unreachable, 429, 5xx)
//! are retried before anything was received, never after. HTTP statuses become
//! [`ProviderError`]s whose messages hold no key and no provider internals.
//!
//! The same endpoint's `/embeddings` is an [`Embedder`](super::embedding::Embedder) in
//! [`embeddings`].

pub mod embeddings;

use std::time::Duration;

use async_graphql::futures_util::{StreamExt, stream};
use eventsource_stream::Eventsource;
use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ChatModel, Chunk, ChunkStream, CompletionRequest, ProviderError, TokenUsage, ToolCall};

/// How long each phase of a completion may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Connecting to the provider, in milliseconds.
    pub connect_ms: u64,
    /// From sending the request to the first text, in milliseconds.
    pub first_token_ms: u64,
    /// Between two chunks once text flows, in milliseconds.
    pub idle_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect_ms: 10_000,
            first_token_ms: 60_000,
            idle_ms: 30_000,
        }
    }
}

/// Attempts of a request that fails transiently before any text (the first included).
pub const ATTEMPTS: usize = 3;
/// Longest `Retry-After` waited for before a retry; a longer one fails at once.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// An OpenAI-compatible endpoint and its key.
#[derive(Clone)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<SecretString>,
    timeouts: Timeouts,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A provider at `base_url` (for example `https://api.openai.com/v1`).
    pub fn new(base_url: &str, api_key: Option<SecretString>, timeouts: Timeouts) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(timeouts.connect_ms))
            .build()?;
        Ok(OpenAiProvider {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            timeouts,
        })
    }

    /// The same endpoint with another key (an organization's own credential).
    pub fn with_key(&self, api_key: SecretString) -> Self {
        OpenAiProvider {
            api_key: Some(api_key),
            ..self.clone()
        }
    }

    fn body(request: &CompletionRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let mut message = if m.parts.is_empty() {
                    json!({ "role": m.role.as_str(), "content": m.content })
                } else {
                    let parts: Vec<Value> = std::iter::once(&m.content)
                        .chain(&m.parts)
                        .map(|text| json!({ "type": "text", "text": text }))
                        .collect();
                    json!({ "role": m.role.as_str(), "content": parts })
                };
                if !m.tool_calls.is_empty() {
                    message["tool_calls"] = m
                        .tool_calls
                        .iter()
                        .map(|c| {
                            json!({ "id": c.id, "type": "function", "function": { "name": c.name, "arguments": c.arguments } })
                        })
                        .collect();
                    if m.content.is_empty() {
                        message["content"] = Value::Null;
                    }
                }
                if let Some(id) = &m.tool_call_id {
                    message["tool_call_id"] = json!(id);
                }
                message
            })
            .collect();
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|t| json!({ "type": "function", "function": t }))
                .collect();
        }
        for (key, value) in [
            ("temperature", request.temperature.map(Value::from)),
            ("top_p", request.top_p.map(Value::from)),
            ("max_tokens", request.max_tokens.map(Value::from)),
        ] {
            if let Some(value) = value {
                body[key] = value;
            }
        }
        body
    }

    /// Posts `body` to `path` (under the base URL) until it is answered with 200, retrying
    /// transient failures; `accept` is the media type asked for.
    async fn open(&self, path: &str, accept: &str, body: &Value) -> Result<reqwest::Response, ProviderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send(path, accept, body).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let wait = match &failure {
                _ if attempt >= ATTEMPTS || !failure.is_transient() => return Err(failure),
                ProviderError::RateLimited {
                    retry_after: Some(after),
                } if *after > MAX_RETRY_AFTER => return Err(failure),
                ProviderError::RateLimited {
                    retry_after: Some(after),
                } => *after,
                _ => Duration::from_millis(250 * (1 << attempt)),
            };
            tracing::warn!(attempt, error = %failure, "model provider request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(&self, path: &str, accept: &str, body: &Value) -> Result<reqwest::Response, ProviderError> {
        let mut request = self
            .client
            .post(format!("{}/{path}", self.base_url))
            .header(header::ACCEPT, accept)
            .json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let first_token = Duration::from_millis(self.timeouts.first_token_ms);
        let response = match tokio::time::timeout(first_token, request.send()).await {
            Err(_) => return Err(ProviderError::Timeout("first token")),
            Ok(Err(error)) => {
                tracing::warn!(error = %without_url(error), "model provider unreachable");
                return Err(ProviderError::Unreachable);
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = tokio::time::timeout(first_token, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(status_error(status, retry_after, &text))
    }
}

/// A reqwest error without its URL (which may carry a key in a query string).
fn without_url(error: reqwest::Error) -> reqwest::Error {
    error.without_url()
}

/// The error of a non-200 answer.
fn status_error(status: StatusCode, retry_after: Option<Duration>, body: &str) -> ProviderError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ProviderError::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after },
        _ if is_context_length(body) => ProviderError::ContextLength,
        other => ProviderError::Status(other.as_u16()),
    }
}

/// True when an error body says the prompt is too long (OpenAI's code, or the words vLLM and
/// llama.cpp use).
fn is_context_length(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("context_length_exceeded")
        || text.contains("maximum context length")
        || text.contains("exceeds the available context size")
        || text.contains("context window")
}

/// One chunk of the stream, as far as it is read.
#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

/// A piece of a streamed tool call: the first names it, the next ones add to its arguments.
#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: i64,
    #[serde(default)]
    completion_tokens: i64,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: i64,
}

/// Reading the events of one answer.
struct Reading<S> {
    events: S,
    timeouts: Timeouts,
    received_text: bool,
    finish_reason: Option<String>,
    usage: Option<TokenUsage>,
    /// Tool calls being gathered, by their index in the answer.
    calls: std::collections::BTreeMap<usize, ToolCall>,
    /// Chunks to give before reading on (the gathered calls, then the end).
    ready: std::collections::VecDeque<Chunk>,
}

impl<S> Reading<S> {
    fn new(events: S, timeouts: Timeouts) -> Self {
        Reading {
            events,
            timeouts,
            received_text: false,
            finish_reason: None,
            usage: None,
            calls: std::collections::BTreeMap::new(),
            ready: std::collections::VecDeque::new(),
        }
    }

    /// Adds a piece of a tool call.
    fn gather(&mut self, piece: ToolCallDelta) {
        let index = piece.index;
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = piece.id.filter(|id| !id.is_empty()) {
            call.id = id;
        }
        if let Some(function) = piece.function {
            if let Some(name) = function.name {
                call.name.push_str(&name);
            }
            if let Some(arguments) = function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
        if call.id.is_empty() {
            call.id = format!("call_{index}");
        }
    }
}

impl<S, E> Reading<S>
where
    S: async_graphql::futures_util::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Display,
{
    /// The next chunk, or None after the end.
    async fn next(&mut self) -> Option<Result<Chunk, ProviderError>> {
        if let Some(chunk) = self.ready.pop_front() {
            return Some(Ok(chunk));
        }
        loop {
            let (limit, what) = if self.received_text {
                (self.timeouts.idle_ms, "chunk for too long")
            } else {
                (self.timeouts.first_token_ms, "first token")
            };
            let event = match tokio::time::timeout(Duration::from_millis(limit), self.events.next()).await {
                Err(_) => return Some(Err(ProviderError::Timeout(what))),
                Ok(None) => return self.end_of_stream(false),
                Ok(Some(Err(error))) => {
                    tracing::warn!(error = %error, "model provider stream broke");
                    return Some(Err(ProviderError::Unreachable));
                }
                Ok(Some(Ok(event))) => event,
            };
            if event.data.trim() == "[DONE]" {
                return self.end_of_stream(true);
            }
            let chunk: StreamChunk = match serde_json::from_str(&event.data) {
                Ok(chunk) => chunk,
                Err(_) => return Some(Err(ProviderError::Protocol)),
            };
            if let Some(error) = chunk.error {
                return Some(Err(if is_context_length(&error.to_string()) {
                    ProviderError::ContextLength
                } else {
                    ProviderError::Status(502)
                }));
            }
            if let Some(usage) = chunk.usage {
                self.usage = Some(TokenUsage {
                    input: usage.prompt_tokens,
                    output: usage.completion_tokens,
                    cached: usage.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
                });
            }
            let mut text = String::new();
            for choice in chunk.choices {
                if let Some(reason) = choice.finish_reason {
                    self.finish_reason = Some(reason);
                }
                text.push_str(choice.delta.content.as_deref().unwrap_or(""));
                for piece in choice.delta.tool_calls {
                    self.received_text = true;
                    self.gather(piece);
                }
            }
            if !text.is_empty() {
                self.received_text = true;
                return Some(Ok(Chunk::Delta(text)));
            }
        }
    }

    /// The end: after `[DONE]`, or when the connection closes after a finish reason; a
    /// connection that closes before either broke mid-answer.
    fn end_of_stream(&mut self, done: bool) -> Option<Result<Chunk, ProviderError>> {
        if !done && self.finish_reason.is_none() {
            return Some(Err(ProviderError::Unreachable));
        }
        let calls = std::mem::take(&mut self.calls);
        self.ready.extend(calls.into_values().map(Chunk::ToolCall));
        self.ready.push_back(Chunk::End {
            finish_reason: self.finish_reason.take().unwrap_or_else(|| "stop".to_owned()),
            usage: self.usage.take(),
        });
        self.ready.pop_front().map(Ok)
    }
}

impl ChatModel for OpenAiProvider {
    fn complete(&self, request: CompletionRequest) -> ChunkStream {
        let provider = self.clone();
        let body = Self::body(&request);
        stream::once(async move {
            provider
                .open("chat/completions", "text/event-stream", &body)
                .await
                .map(|response| (response, provider.timeouts))
        })
        .flat_map(|opened| match opened {
            Err(error) => stream::iter([Err(error)]).boxed(),
            Ok((response, timeouts)) => {
                let reading = Reading::new(response.bytes_stream().eventsource(), timeouts);
                stream::unfold((reading, false), |(mut reading, ended)| async move {
                    if ended {
                        return None;
                    }
                    let item = reading.next().await?;
                    let ended = !matches!(item, Ok(Chunk::Delta(_) | Chunk::ToolCall(_)));
                    Some((item, (reading, ended)))
                })
                .boxed()
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_become_errors_that_say_what_to_do() {
        assert_eq!(
            status_error(StatusCode::UNAUTHORIZED, None, ""),
            ProviderError::Unauthorized
        );
        let limited = status_error(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(7)), "");
        assert_eq!(
            limited.to_string(),
            "the model provider is rate limiting requests; retry after 7 s"
        );
        assert_eq!(
            status_error(
                StatusCode::BAD_REQUEST,
                None,
                r#"{"error":{"code":"context_length_exceeded"}}"#
            ),
            ProviderError::ContextLength
        );
        assert_eq!(
            status_error(StatusCode::BAD_GATEWAY, None, "secret internals"),
            ProviderError::Status(502)
        );
        assert!(ProviderError::Status(503).is_transient());
        assert!(!ProviderError::Status(400).is_transient());
        assert!(!ProviderError::Unauthorized.is_transient());
    }

    #[test]
    fn the_request_asks_for_a_stream_with_usage_and_sends_attachments_as_text_parts() {
        let body = OpenAiProvider::body(&CompletionRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![
                super::super::PromptMessage::text(super::super::Role::User, "hi"),
                super::super::PromptMessage {
                    parts: vec!["file text".into()],
                    ..super::super::PromptMessage::text(super::super::Role::User, "see the file")
                },
            ],
            temperature: Some(0.5),
            top_p: None,
            max_tokens: Some(10),
            tools: Vec::new(),
        });
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0], json!({ "role": "user", "content": "hi" }));
        assert_eq!(
            body["messages"][1]["content"],
            json!([{ "type": "text", "text": "see the file" }, { "type": "text", "text": "file text" }])
        );
        assert_eq!(body["max_tokens"], 10);
        assert!(body.get("top_p").is_none());
    }
}
