//! What a model is asked: the model chosen for a chat, and the prompt (instructions, then the
//! conversation along the `parent` chain, trimmed from the oldest to fit the context window).

use diesel::sql_types::{Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    auth::crypto::Keyring,
    db::{
        cached::cached,
        enums::{CredentialType, MessageRole, MessageStatus},
    },
    error::{AppResult, FieldError},
    models::{
        assistant::AssistantRow, chat::ChatRow, credential::CredentialRow, file::FileRow, message::MessageRow,
        project::ProjectSettingsRow,
    },
    providers::{
        CompletionRequest, PromptMessage, Role,
        registry::{Backend, Providers, ResolvedModel},
        tokens,
    },
    services::credentials,
    storage::FileStore,
};

/// Most messages of a conversation followed back from the newest.
pub const MAX_HISTORY: i32 = 1_000;

/// Tokens kept free for the answer when the project sets no `max_tokens`: a quarter of the
/// window, at most this.
pub const ANSWER_RESERVE: i64 = 1_024;

/// What frames a chat's answers: its assistant (if any) and its project's settings.
pub struct Framing {
    /// The chat's assistant, when active.
    pub assistant: Option<AssistantRow>,
    /// The project's settings.
    pub settings: Option<ProjectSettingsRow>,
}

impl Framing {
    /// The framing of `chat`.
    pub async fn of(conn: &mut AsyncPgConnection, chat: &ChatRow) -> AppResult<Self> {
        let assistant = match chat.assistant_id {
            Some(id) => AssistantRow::find(conn, id).await?.filter(|a| a.is_active),
            None => None,
        };
        let settings = ProjectSettingsRow::find(conn, chat.project_id).await?;
        Ok(Framing { assistant, settings })
    }

    /// The assistant's model as `provider/model`.
    fn assistant_model(&self) -> Option<String> {
        self.assistant.as_ref().map(|a| format!("{}/{}", a.provider, a.model))
    }

    /// True when the project's settings allow `model` (no list: every configured model).
    pub fn allows(&self, model: &ResolvedModel) -> bool {
        let enabled = self
            .settings
            .as_ref()
            .map(|s| s.enabled_models.as_slice())
            .unwrap_or_default();
        enabled.is_empty()
            || enabled.iter().any(|e| *e == model.name() || *e == model.config.id)
            || self.assistant_model().is_some_and(|a| a == model.name())
    }

    /// The model for an answer: the one asked for, else the chat's, the assistant's, the
    /// project's default, the offline model, or the first configured. Unknown or disabled
    /// models are user errors on `model`.
    pub fn choose(&self, providers: &Providers, chat: &ChatRow, requested: Option<&str>) -> AppResult<ResolvedModel> {
        let named = requested
            .map(str::to_owned)
            .or_else(|| chat.model.clone())
            .or_else(|| self.assistant_model())
            .or_else(|| self.settings.as_ref().and_then(|s| s.default_model.clone()));
        let model = match named {
            Some(name) => providers.find(&name).ok_or_else(|| {
                FieldError::input(
                    "model",
                    "UNKNOWN_MODEL",
                    format!("no configured provider offers the model {name:?}"),
                )
            })?,
            None => providers
                .find(crate::providers::offline::NAME)
                .or_else(|| {
                    let provider = <[_]>::first(providers.all())?;
                    let model = <[_]>::first(&provider.models)?;
                    providers.find(&format!("{}/{}", provider.name, model.id))
                })
                .ok_or_else(|| FieldError::input("model", "UNKNOWN_MODEL", "no model provider is configured"))?,
        };
        if !self.allows(&model) {
            return Err(FieldError::input(
                "model",
                "MODEL_DISABLED",
                format!("the model {} is not enabled in this project", model.name()),
            )
            .into());
        }
        Ok(model)
    }

    /// The instructions: the assistant's, the project's system prompt (`custom.systemPrompt`)
    /// and tone.
    fn instructions(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(assistant) = &self.assistant
            && !assistant.instructions.trim().is_empty()
        {
            parts.push(assistant.instructions.trim().to_owned());
        }
        if let Some(settings) = &self.settings {
            if let Some(prompt) = settings.custom.get("systemPrompt").and_then(|v| v.as_str())
                && !prompt.trim().is_empty()
            {
                parts.push(prompt.trim().to_owned());
            }
            if let Some(tone) = settings.tone.as_deref().filter(|t| !t.trim().is_empty()) {
                parts.push(format!("Answer in a {} tone.", tone.trim()));
            }
        }
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The completion request for an answer to `leaf` (the user's message), with the
    /// conversation up to it trimmed to the model's window; files attached to its messages
    /// (read from `files`) are text parts of them; `sources` (documents' passages) follow the
    /// instructions.
    pub async fn request(
        &self,
        conn: &mut AsyncPgConnection,
        (files, sources): (&FileStore, Option<String>),
        model: &ResolvedModel,
        leaf: Uuid,
    ) -> AppResult<CompletionRequest> {
        let chain: Vec<MessageRow> = cached(
            "WITH RECURSIVE chain AS ( \
               SELECT m.*, 1 AS depth FROM messages m WHERE m.id = $1 \
               UNION ALL \
               SELECT p.*, c.depth + 1 FROM messages p JOIN chain c ON p.id = c.parent_id AND p.chat_id = c.chat_id \
               WHERE c.depth < $2) \
             SELECT * FROM chain ORDER BY depth",
        )
        .bind::<SqlUuid, _>(leaf)
        .bind::<Integer, _>(MAX_HISTORY)
        .load(conn)
        .await?;
        let settings = self.settings.as_ref();
        let max_tokens = settings.and_then(|s| s.max_tokens).and_then(|t| u32::try_from(t).ok());
        let window = model.config.context_window;
        let reserve = max_tokens.map_or((window / 4).min(ANSWER_RESERVE), i64::from);
        let instructions: Vec<String> = self.instructions().into_iter().chain(sources).collect();
        let system = (!instructions.is_empty()).then(|| PromptMessage::text(Role::System, instructions.join("\n\n")));
        let ids: Vec<Uuid> = chain.iter().map(|m| m.id).collect();
        let mut attached = FileRow::attached_to_messages(conn, &ids).await?;
        let mut budget = window
            - reserve
            - system
                .as_ref()
                .map_or(0, |m| tokens::count_message(&model.config.id, m));
        let mut kept = Vec::new();
        // Newest first: the user's message must fit; older ones while they do.
        for row in chain {
            if row.content.is_empty() || row.status == MessageStatus::Streaming {
                continue;
            }
            let mut parts = Vec::new();
            for (_, file) in attached.extract_if(.., |(message_id, _)| *message_id == Some(row.id)) {
                parts.push(attachment_text(files, &file).await);
            }
            let role = match row.role {
                MessageRole::System => Role::System,
                MessageRole::User => Role::User,
                MessageRole::Assistant => Role::Assistant,
                // A tool's result belongs to the round that called it, not to later prompts.
                MessageRole::Tool => continue,
            };
            let message = PromptMessage {
                parts,
                ..PromptMessage::text(role, row.content)
            };
            let cost = tokens::count_message(&model.config.id, &message);
            if cost > budget {
                if kept.is_empty() {
                    return Err(FieldError::input(
                        "content",
                        "CONTEXT_TOO_LONG",
                        format!("the message does not fit the context window of {}", model.name()),
                    )
                    .into());
                }
                break;
            }
            budget -= cost;
            kept.push(message);
        }
        kept.extend(system);
        kept.reverse();
        Ok(CompletionRequest {
            model: model.config.id.clone(),
            messages: kept,
            temperature: self
                .assistant
                .as_ref()
                .and_then(|a| a.temperature)
                .or(settings.and_then(|s| s.temperature)),
            top_p: settings.and_then(|s| s.top_p),
            max_tokens,
            tools: Vec::new(),
        })
    }
}

/// Most bytes of one attached file's text given to a model.
pub const MAX_ATTACHMENT_BYTES: usize = 64 * 1024;

/// True for content types whose bytes are text a model can read as they are.
fn is_text(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || [
            "application/json",
            "application/x-ndjson",
            "application/xml",
            "application/yaml",
            "application/x-yaml",
            "application/csv",
            "application/javascript",
            "application/sql",
            "application/toml",
        ]
        .contains(&essence)
}

/// The text part of an attached file: its name and type, then its text (at most
/// [`MAX_ATTACHMENT_BYTES`]), or a line saying why its content is not given.
async fn attachment_text(files: &FileStore, file: &FileRow) -> String {
    let header = format!(
        "Attached file \"{}\" ({}, {} bytes)",
        file.filename, file.content_type, file.size_bytes
    );
    if !is_text(&file.content_type) {
        return format!("{header}: not a text file; its content is not shown.");
    }
    match files.get(&file.storage_key).await {
        Ok(bytes) => {
            let shown = &bytes[..bytes.len().min(MAX_ATTACHMENT_BYTES)];
            let cut = if shown.len() < bytes.len() {
                format!("\n[cut after {MAX_ATTACHMENT_BYTES} bytes]")
            } else {
                String::new()
            };
            format!("{header}:\n{}{cut}", String::from_utf8_lossy(shown))
        }
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), file.id = %file.id, "cannot read an attached file");
            format!("{header}: it could not be read.")
        }
    }
}

/// The organization's own key for a model of `backend` (its first `openai` credential), when
/// the backend is OpenAI-compatible and the organization has one.
pub async fn organization_key(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    organization_id: Uuid,
    backend: &Backend,
) -> AppResult<Option<SecretString>> {
    if !backend.takes_openai_key() {
        return Ok(None);
    }
    let found = CredentialRow::for_organization(conn, organization_id)
        .await?
        .into_iter()
        .find(|c| c.credential_type == CredentialType::Openai);
    found.map(|row| credentials::reveal(keyring, &row)).transpose()
}
