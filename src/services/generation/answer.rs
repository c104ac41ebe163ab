//! Starting answers: `sendMessage` (a user message and the answer to it) and
//! `regenerateMessage` (another answer to the same message, a sibling). Everything is checked
//! and stored in the write's transaction (the model, the quota, the passages of the
//! assistant's documents and their citations, the prompt's fit, the rows), and the
//! generation starts only once that commits.

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use super::{Generations, Job, grounding, prompt::Framing};
use crate::{
    auth::grant::Granted,
    db::{
        enums::{MessageRole, MessageStatus},
        new_id,
        schema::messages as message_rows,
    },
    error::{AppResult, FieldError},
    models::{
        assistant::AssistantRow,
        chat::ChatRow,
        file::{FileRow, NewFileAttachment},
        mcp_server::McpServerRow,
        message::{ChatMessage, MessageRow, NewMessage, NewMessageStream},
    },
    pubsub::{self, ChatChange},
    services::{
        chats::DEFAULT_TITLE,
        messages,
        quotas::{self, Usage},
        search::Embedding,
        tools::{self, ToolContext, Toolbox, mcp::McpServer},
        write::{RecordIn, Tx},
    },
    storage::FileStore,
};

/// Most files one message may carry.
pub const MAX_FILES: usize = 10;

/// What a person sends.
#[derive(Debug, Default)]
pub struct Question<'a> {
    /// The text.
    pub content: &'a str,
    /// The message it follows; by default the chat's latest.
    pub parent_id: Option<Uuid>,
    /// The model asked for, `provider/model` or an id.
    pub model: Option<&'a str>,
    /// Files of the chat's project to attach (their text goes to the model).
    pub file_ids: Vec<Uuid>,
}

/// Posts the question into the chat, attaches its files and starts the answer; (user
/// message, assistant message).
pub async fn send(
    tx: &mut Tx,
    (generations, files): (&Generations, &FileStore),
    chat: &Granted<ChatRow>,
    question: Question<'_>,
) -> AppResult<(MessageRow, MessageRow)> {
    let framing = Framing::of(tx.conn(), chat).await?;
    let model = framing.choose(&generations.providers(), chat, question.model)?;
    let attached = attachable(tx, chat.project_id, &question.file_ids).await?;
    let parent_id = match question.parent_id {
        Some(id) => Some(id),
        None => latest(tx, chat.id).await?,
    };
    let posted = messages::post(tx, chat, question.content, parent_id).await?;
    for file_id in attached {
        NewFileAttachment {
            id: new_id(),
            file_id,
            assistant_id: None,
            chat_id: None,
            message_id: Some(posted.id),
        }
        .insert(tx.conn())
        .await?;
    }
    let organization_id = chat.grant().organization_id();
    let answer = start(
        tx,
        (generations, files),
        (chat.row(), organization_id),
        &framing,
        model,
        &posted,
    )
    .await?;
    Ok((posted, answer))
}

/// The distinct `file_ids`, each a file of project `project_id` (any other id, visible
/// elsewhere or not at all, is the same NOT_FOUND).
async fn attachable(tx: &mut Tx, project_id: Uuid, file_ids: &[Uuid]) -> AppResult<Vec<Uuid>> {
    let mut ids: Vec<Uuid> = Vec::new();
    for id in file_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.len() > MAX_FILES {
        return Err(FieldError::input(
            "fileIds",
            "TOO_MANY_FILES",
            format!("a message may carry at most {MAX_FILES} files"),
        )
        .into());
    }
    for id in &ids {
        let file = FileRow::find(tx.conn(), *id).await?;
        if file.is_none_or(|f| f.project_id != Some(project_id)) {
            return Err(FieldError::input("fileIds", "NOT_FOUND", "file not found in this chat's project").into());
        }
    }
    Ok(ids)
}

/// Starts another answer to the message `answer` answered (a sibling of it).
pub async fn regenerate(
    tx: &mut Tx,
    (generations, files): (&Generations, &FileStore),
    answer: &Granted<ChatMessage>,
) -> AppResult<MessageRow> {
    let (old, chat) = (&answer.message, &answer.chat);
    let question = match old.parent_id {
        Some(parent) if old.role == MessageRole::Assistant && old.status != MessageStatus::Streaming => {
            MessageRow::find(tx.conn(), parent).await?
        }
        _ => None,
    };
    let Some(question) = question else {
        return Err(FieldError::input(
            "messageId",
            "NOT_AN_ANSWER",
            "only a finished answer to a message can be regenerated",
        )
        .into());
    };
    let framing = Framing::of(tx.conn(), chat).await?;
    let requested = old
        .provider
        .as_ref()
        .zip(old.model.as_ref())
        .map(|(p, m)| format!("{p}/{m}"));
    let model = match requested.as_deref().and_then(|name| generations.providers().find(name)) {
        Some(model) if framing.allows(&model) => model,
        _ => framing.choose(&generations.providers(), chat, None)?,
    };
    let organization_id = answer.grant().organization_id();
    let new = start(
        tx,
        (generations, files),
        (chat, organization_id),
        &framing,
        model,
        &question,
    )
    .await?;
    tx.audit(answer.grant())
        .on("chat", chat.id)
        .details(json!({ "messageId": new.id, "regenerates": old.id }))
        .record_in(tx)
        .await?;
    Ok(new)
}

/// The chat's latest message (a tool's result aside), which a new message follows by
/// default.
async fn latest(tx: &mut Tx, chat_id: Uuid) -> AppResult<Option<Uuid>> {
    use message_rows::dsl as m;
    Ok(message_rows::table
        .filter(m::chat_id.eq(chat_id))
        .filter(m::role.ne(MessageRole::Tool))
        .order((m::created_at.desc(), m::id.desc()))
        .select(m::id)
        .first(tx.conn())
        .await
        .optional()?)
}

/// Stores a `streaming` answer to `question` and its stream row, and starts generating it
/// once the transaction commits.
async fn start(
    tx: &mut Tx,
    (generations, files): (&Generations, &FileStore),
    (chat, organization_id): (&ChatRow, Uuid),
    framing: &Framing,
    model: crate::providers::registry::ResolvedModel,
    question: &MessageRow,
) -> AppResult<MessageRow> {
    // One model request of the project's quota, refused before anything more is stored.
    let one = Usage {
        requests: 1,
        ..Usage::default()
    };
    quotas::debit(tx.conn(), chat.project_id, one).await?;
    let providers = generations.providers();
    let embedding = Embedding {
        providers: &providers,
        keyring: &generations.authenticator().keyring,
        organization_id,
    };
    // The assistant's datasources: its grounding, and what its knowledge_search reads.
    let datasources = match &framing.assistant {
        Some(assistant) => AssistantRow::datasource_ids(tx.conn(), assistant.id).await?,
        None => Vec::new(),
    };
    let mut passages = grounding::passages(tx, &datasources, (chat.project_id, &embedding), &question.content).await?;
    let sources = grounding::sources_text(&model, &mut passages);
    let request = framing
        .request(tx.conn(), (files, sources), &model, question.id)
        .await?;
    let api_key = super::prompt::organization_key(
        tx.conn(),
        &generations.authenticator().keyring,
        organization_id,
        &model.backend,
    )
    .await?;
    let answer = NewMessage {
        parent_id: Some(question.id),
        status: MessageStatus::Streaming,
        parts: Some(json!([])),
        model: Some(model.config.id.clone()),
        provider: Some(model.provider.clone()),
        ..NewMessage::text(chat.id, None, MessageRole::Assistant, "")
    }
    .insert(tx.conn())
    .await?;
    NewMessageStream {
        id: new_id(),
        chat_id: chat.id,
        message_id: answer.id,
    }
    .insert(tx.conn())
    .await?;
    grounding::cite(tx.conn(), answer.id, &passages).await?;
    pubsub::chat_changed(tx.conn(), chat.id, ChatChange::MessageAdded, Some(answer.id)).await?;
    pubsub::chat_changed(tx.conn(), chat.id, ChatChange::StreamStarted, Some(answer.id)).await?;
    let caller = tx.caller()?;
    let answering = Answering {
        chat,
        organization_id,
        answer_id: answer.id,
        caller: caller.clone(),
        datasources,
    };
    let tools = toolbox(tx, generations, framing, answering).await?;
    let job = Job {
        message_id: answer.id,
        chat_id: chat.id,
        project_id: chat.project_id,
        organization_id,
        user_id: Some(caller.user.id),
        api_token_id: caller.api_token_id,
        model,
        api_key,
        request,
        tools,
        retitle: chat.title == DEFAULT_TITLE,
    };
    let generations = generations.clone();
    tx.after_commit(async move { generations.start(job) });
    Ok(answer)
}

/// The answer a toolbox is for.
struct Answering<'a> {
    chat: &'a ChatRow,
    organization_id: Uuid,
    answer_id: Uuid,
    /// Who asked: tools act with their rights.
    caller: std::sync::Arc<crate::auth::caller::Caller>,
    /// The assistant's datasources (empty: none, or no assistant).
    datasources: Vec<Uuid>,
}

/// The tools of an answer: the built-in ones and MCP servers its project enables (and its
/// assistant names), the servers' secrets opened; None when there are none.
async fn toolbox(
    tx: &mut Tx,
    generations: &Generations,
    framing: &Framing,
    answering: Answering<'_>,
) -> AppResult<Option<Toolbox>> {
    let (settings, assistant) = (framing.settings.as_ref(), framing.assistant.as_ref());
    if settings.is_none_or(|s| s.enabled_tools.is_empty()) {
        // Nothing enabled: no statement spent on MCP servers.
        return Ok(None);
    }
    let Answering {
        chat,
        organization_id,
        answer_id,
        caller,
        datasources,
    } = answering;
    let builtins = tools::selected(settings, assistant);
    let rows = McpServerRow::for_organization(tx.conn(), organization_id).await?;
    let rows = tools::selected_servers(settings, assistant, rows, |s| s.name.as_str());
    if builtins.is_empty() && rows.is_empty() {
        return Ok(None);
    }
    let servers = McpServer::open_all(tx.conn(), &generations.authenticator().keyring, rows).await?;
    let context = ToolContext {
        pool: generations.pool().clone(),
        caller,
        project_id: chat.project_id,
        organization_id,
        datasources: Some(datasources).filter(|d| !d.is_empty()),
        message_id: answer_id,
        providers: generations.providers(),
        authenticator: generations.shared_authenticator(),
        call_timeout: generations.settings().tool_call_timeout,
        github_api: generations.settings().github_api,
    };
    let only = assistant.map(|a| tools::names(&a.tools).map(str::to_owned).collect());
    Ok(Some(Toolbox::new(
        (builtins, servers),
        only,
        generations.mcp(),
        context,
    )))
}

/// The answer `message_id` as a `streaming` message the caller may stop.
pub fn stoppable(message: &Granted<ChatMessage>) -> AppResult<()> {
    if message.message.status != MessageStatus::Streaming {
        return Err(FieldError::input("messageId", "NOT_STREAMING", "the message is not being generated").into());
    }
    Ok(())
}
