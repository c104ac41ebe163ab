//! The built-in offline model (`offline/offline`): a real, deterministic text generator that
//! needs no key and no network, so the demo, the tests and the benchmarks stream answers
//! anywhere. Its answer is derived from the prompt (the same prompt gives the same text),
//! emitted word by word at a configured rate. It is not a language model and says so.
//!
//! Given tools, it calls them when the last message asks in so many words
//! ([`OfflineModel::calls`]), and once their results are back it answers quoting them.

use std::time::Duration;

use async_graphql::futures_util::{StreamExt, stream};
use sha2::{Digest, Sha256};

use super::{ChatModel, Chunk, ChunkStream, CompletionRequest, Role, ToolCall};

/// The provider and model name.
pub const NAME: &str = "offline";

/// Words the generator draws from.
const WORDS: &[&str] = &[
    "context",
    "stream",
    "token",
    "answer",
    "project",
    "model",
    "offline",
    "graph",
    "query",
    "chat",
    "message",
    "document",
    "search",
    "vector",
    "latency",
    "quota",
    "replica",
    "resume",
    "delta",
    "provider",
    "prompt",
    "workspace",
    "team",
    "schema",
    "cursor",
    "signal",
    "memory",
    "summary",
    "detail",
    "example",
];

/// The offline model, emitting `tokens_per_sec` words a second (0: as fast as it can).
#[derive(Debug, Clone, Copy)]
pub struct OfflineModel {
    /// Words per second.
    pub tokens_per_sec: f64,
}

impl OfflineModel {
    /// The words of the answer to `request`, each with its leading space: a first sentence
    /// quoting the last user message (counting its attached parts, and naming the sources
    /// the instructions give, `Source [n]: Title` lines), then 20 to 59 words chosen by a
    /// hash of the prompt.
    pub fn answer(request: &CompletionRequest) -> Vec<String> {
        let last = request.messages.iter().rev().find(|m| m.role == Role::User);
        let quoted: String = last
            .map_or("", |m| m.content.as_str())
            .split_whitespace()
            .take(12)
            .collect::<Vec<_>>()
            .join(" ");
        let attached = match last.map_or(0, |m| m.parts.len()) {
            0 => String::new(),
            1 => " with 1 attachment".to_owned(),
            n => format!(" with {n} attachments"),
        };
        let cited: Vec<String> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .flat_map(|m| m.content.lines())
            .filter_map(|line| line.strip_prefix("Source ["))
            .filter_map(|rest| rest.split_once("]: "))
            .map(|(n, title)| format!("[{n}] {}", title.split(" (").next().unwrap_or(title)))
            .collect();
        let attached = if cited.is_empty() {
            attached
        } else {
            format!("{attached}, citing {}", cited.join(", "))
        };
        let used: Vec<String> = tool_results(request)
            .map(|(name, result)| {
                let words: Vec<&str> = result.split_whitespace().take(8).collect();
                format!("{name} said \"{}\"", words.join(" "))
            })
            .collect();
        let attached = if used.is_empty() {
            attached
        } else {
            format!("{attached}, after {}", used.join(" and "))
        };
        let unavailable = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .flat_map(|m| m.content.lines())
            .filter(|line| line.starts_with("The tools of the MCP server "))
            .count();
        let attached = match unavailable {
            0 => attached,
            1 => format!("{attached}, told that 1 tool server is unavailable"),
            n => format!("{attached}, told that {n} tool servers are unavailable"),
        };
        let mut hasher = Sha256::new();
        for message in &request.messages {
            hasher.update(message.role.as_str());
            hasher.update([0]);
            for text in std::iter::once(&message.content).chain(&message.parts) {
                hasher.update(text);
                hasher.update([0]);
            }
        }
        let seed = hasher.finalize();
        let mut words: Vec<String> = format!("Offline model answering \"{quoted}\"{attached}:")
            .split(' ')
            .enumerate()
            .map(|(i, w)| if i == 0 { w.to_owned() } else { format!(" {w}") })
            .collect();
        let count = 20 + usize::from(seed[0]) % 40;
        let mut state = u64::from_le_bytes(seed[1..9].try_into().unwrap_or_default());
        for _ in 0..count {
            // A linear congruential step (Knuth's MMIX constants) per word.
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let index = usize::try_from(state >> 33).unwrap_or_default() % WORDS.len();
            words.push(format!(" {}", WORDS[index]));
        }
        if let Some(last) = words.last_mut() {
            last.push('.');
        }
        if let Some(max) = request.max_tokens {
            words.truncate(usize::try_from(max).unwrap_or(usize::MAX).max(1));
        }
        words
    }
}

impl OfflineModel {
    /// The tools the last message asks for, when it is the person's (not yet answered by
    /// tools) and the tools are offered: "search the knowledge for X" (and "and for Y": two
    /// calls at once) calls `knowledge_search`; "fetch https://…" calls `fetch_url`; "call
    /// NAME {json}" calls any offered tool with those arguments (one per line).
    pub fn calls(request: &CompletionRequest) -> Vec<ToolCall> {
        let Some(last) = request.messages.last().filter(|m| m.role == Role::User) else {
            return Vec::new();
        };
        let offered = |name: &str| request.tools.iter().any(|t| t.name == name);
        let mut calls: Vec<(String, serde_json::Value)> = Vec::new();
        for line in last.content.lines() {
            let lower = line.to_lowercase();
            if let Some(at) = lower.find("search the knowledge for ")
                && offered("knowledge_search")
            {
                let asked = &line[at + "search the knowledge for ".len()..];
                for query in asked.split(" and for ") {
                    let query = query.trim().trim_end_matches(['.', '?', '!']).trim_matches('"');
                    calls.push(("knowledge_search".into(), serde_json::json!({ "query": query })));
                }
            } else if let Some(at) = lower.find("fetch http")
                && offered("fetch_url")
            {
                let url = line[at + "fetch ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default();
                calls.push(("fetch_url".into(), serde_json::json!({ "url": url })));
            } else if let Some(rest) = line.trim().strip_prefix("call ")
                && let Some((name, arguments)) = rest.split_once(' ')
                && offered(name)
            {
                let arguments = serde_json::from_str(arguments.trim())
                    .unwrap_or(serde_json::Value::String(arguments.trim().into()));
                calls.push((name.into(), arguments));
            }
        }
        calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, arguments))| ToolCall {
                id: format!("offline_call_{}", i + 1),
                name,
                arguments: match arguments {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                },
            })
            .collect()
    }
}

/// The tool results after the last message of the person, each with its tool's name.
fn tool_results(request: &CompletionRequest) -> impl Iterator<Item = (&str, &str)> {
    let start = request
        .messages
        .iter()
        .rposition(|m| m.role == Role::User)
        .map_or(0, |i| i + 1);
    let messages = &request.messages[start..];
    messages.iter().filter(|m| m.role == Role::Tool).map(move |result| {
        let name = messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .find(|c| Some(&c.id) == result.tool_call_id.as_ref())
            .map_or("a tool", |c| c.name.as_str());
        (name, result.content.as_str())
    })
}

impl ChatModel for OfflineModel {
    fn complete(&self, request: CompletionRequest) -> ChunkStream {
        let calls = Self::calls(&request);
        if !calls.is_empty() {
            let end = Chunk::End {
                finish_reason: "tool_calls".to_owned(),
                usage: None,
            };
            return stream::iter(calls.into_iter().map(Chunk::ToolCall).chain([end]).map(Ok)).boxed();
        }
        let words = Self::answer(&request);
        let truncated = request
            .max_tokens
            .is_some_and(|max| usize::try_from(max).is_ok_and(|max| words.len() >= max));
        let pause = (self.tokens_per_sec > 0.0).then(|| Duration::from_secs_f64(1.0 / self.tokens_per_sec));
        let end = Chunk::End {
            finish_reason: if truncated { "length" } else { "stop" }.to_owned(),
            usage: None,
        };
        stream::iter(words.into_iter().map(Chunk::Delta).chain([end]))
            .then(move |chunk| async move {
                if let (Some(pause), Chunk::Delta(_)) = (pause, &chunk) {
                    tokio::time::sleep(pause).await;
                }
                Ok(chunk)
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::PromptMessage;

    fn request(text: &str) -> CompletionRequest {
        CompletionRequest {
            model: NAME.into(),
            messages: vec![PromptMessage::text(Role::User, text)],
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_offline_answer_is_derived_from_the_prompt_and_streamed_word_by_word() {
        let model = OfflineModel { tokens_per_sec: 0.0 };
        let chunks: Vec<_> = model.complete(request("What is a graph?")).collect().await;
        let text: String = chunks
            .iter()
            .filter_map(|c| match c {
                Ok(Chunk::Delta(d)) => Some(d.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            text.starts_with("Offline model answering \"What is a graph?\":"),
            "{text}"
        );
        assert!(chunks.len() > 20);
        assert!(matches!(chunks.last(), Some(Ok(Chunk::End { finish_reason, .. })) if finish_reason == "stop"));
        assert_eq!(OfflineModel::answer(&request("What is a graph?")).concat(), text);
        assert_ne!(OfflineModel::answer(&request("Another question")).concat(), text);
        let short = OfflineModel::answer(&CompletionRequest {
            max_tokens: Some(3),
            ..request("x")
        });
        assert_eq!(short.len(), 3);
    }

    #[tokio::test]
    async fn the_offline_model_calls_the_tools_asked_for_then_quotes_their_results() {
        let mut asked = request("Please search the knowledge for warranty and for refunds.");
        assert!(OfflineModel::calls(&asked).is_empty(), "no tools offered, none called");
        asked.tools = vec![crate::providers::ToolDefinition {
            name: "knowledge_search".into(),
            description: String::new(),
            parameters: serde_json::json!({}),
        }];
        let model = OfflineModel { tokens_per_sec: 0.0 };
        let chunks: Vec<_> = model.complete(asked.clone()).collect().await;
        let calls: Vec<_> = chunks
            .iter()
            .filter_map(|c| match c {
                Ok(Chunk::ToolCall(call)) => Some((call.name.as_str(), call.arguments.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                ("knowledge_search", r#"{"query":"warranty"}"#),
                ("knowledge_search", r#"{"query":"refunds"}"#)
            ]
        );
        assert!(matches!(chunks.last(), Some(Ok(Chunk::End { finish_reason, .. })) if finish_reason == "tool_calls"));
        let called = OfflineModel::calls(&asked);
        asked.messages.push(PromptMessage::calls("", called.clone()));
        asked.messages.push(PromptMessage::tool_result(
            called[0].id.clone(),
            "Source [1]: Warranty\nTwo years.",
        ));
        asked
            .messages
            .push(PromptMessage::tool_result(called[1].id.clone(), "No passage matches."));
        assert!(
            OfflineModel::calls(&asked).is_empty(),
            "results are answered, not called again"
        );
        let text = OfflineModel::answer(&asked).concat();
        assert!(
            text.contains(r#"after knowledge_search said "Source [1]: Warranty Two years." and knowledge_search said "No passage matches.""#),
            "{text}"
        );
    }

    #[test]
    fn the_offline_answer_names_the_sources_it_was_given() {
        let mut grounded = request("How long is the warranty?");
        grounded.messages.insert(
            0,
            PromptMessage::text(
                Role::System,
                "Be brief.\n\nAnswer from the sources.\n\nSource [1]: Warranty (Terms, page 2)\nTwo years.\n\nSource [2]: FAQ\nAsk us.",
            ),
        );
        let text = OfflineModel::answer(&grounded).concat();
        assert!(
            text.starts_with("Offline model answering \"How long is the warranty?\", citing [1] Warranty, [2] FAQ:"),
            "{text}"
        );
    }
}
