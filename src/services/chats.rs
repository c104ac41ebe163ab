//! Writing chats: create (with a [`Grant`] of `chat.write` in the project), change and delete
//! (a [`Granted`] chat: the right to write to it, see `auth/placed.rs`).

use anyhow::anyhow;
use serde_json::json;

use super::{
    audit::AuditEvent,
    write::{RecordIn, Tx},
};
use uuid::Uuid;

use crate::{
    auth::grant::{Grant, Granted},
    db::{enums::ChatVisibility, new_id},
    error::{AppError, AppResult, FieldError},
    models::{
        assistant::AssistantRow,
        chat::{ChatPatch, ChatRow, NewChat},
    },
    pubsub::{self, ChatChange},
};

/// The title of a chat created without one (answers title it after the first exchange).
pub const DEFAULT_TITLE: &str = "New chat";

/// Longest chat title.
pub const MAX_TITLE: usize = 500;

/// What a chat's owner may change.
#[derive(Debug, Default)]
pub struct ChatChanges {
    /// New title (1 to 500 characters after trimming).
    pub title: Option<String>,
    /// New visibility.
    pub visibility: Option<ChatVisibility>,
    /// Starred or not.
    pub is_starred: Option<bool>,
}

/// What a new chat starts with; all optional.
#[derive(Debug, Default)]
pub struct ChatStart<'a> {
    /// Its title; [`DEFAULT_TITLE`] (renamed after the first answer) when omitted.
    pub title: Option<&'a str>,
    /// Who may read it; private when omitted.
    pub visibility: Option<ChatVisibility>,
    /// The assistant that answers in it: an active one of the project, of its organization,
    /// or of the platform.
    pub assistant_id: Option<Uuid>,
}

/// Creates a chat of the granted project, owned by the caller.
pub async fn create(tx: &mut Tx, grant: &Grant, start: ChatStart<'_>) -> AppResult<ChatRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a chat is created with a project grant")))?;
    let title = match start.title {
        Some(title) => valid_title(title)?,
        None => DEFAULT_TITLE.to_owned(),
    };
    let visibility = start.visibility;
    if let Some(id) = start.assistant_id {
        let usable = AssistantRow::find(tx.conn(), id).await?.is_some_and(|a| {
            a.is_active
                && match (a.project_id, a.organization_id) {
                    (Some(project), _) => project == project_id,
                    (None, Some(organization)) => organization == grant.organization_id(),
                    (None, None) => true,
                }
        });
        if !usable {
            return Err(FieldError::input(
                "assistantId",
                "NOT_FOUND",
                "assistantId is not an active assistant of this project",
            )
            .into());
        }
    }
    let new = NewChat {
        id: new_id(),
        project_id,
        user_id: grant.caller().user.id,
        assistant_id: start.assistant_id,
        title,
        model: None,
        visibility: visibility.unwrap_or(ChatVisibility::Private),
        is_default: false,
        external_id: None,
    };
    let chat = new.insert(tx.conn()).await?;
    tx.event()
        .by(grant.caller())
        .within(Some(grant.organization_id()), Some(project_id))
        .on("chat", chat.id)
        .details(json!({ "visibility": chat.visibility.as_str() }))
        .record_in(tx)
        .await?;
    if chat.visibility != ChatVisibility::Private {
        let data = json!({ "chatId": chat.id, "projectId": project_id, "title": chat.title, "visibility": chat.visibility.as_str() });
        super::deliveries::emit(tx.conn(), project_id, "chat.created", data).await?;
    }
    Ok(chat)
}

/// Applies `changes` to a chat the caller may write to.
pub async fn update(tx: &mut Tx, chat: &Granted<ChatRow>, changes: ChatChanges) -> AppResult<ChatRow> {
    let title = changes.title.as_deref().map(valid_title).transpose()?;
    let details = json!({
        "title": title.is_some(),
        "visibility": changes.visibility.map(|v| v.as_str()),
        "isStarred": changes.is_starred,
    });
    let patch = ChatPatch {
        title,
        visibility: changes.visibility,
        is_starred: changes.is_starred,
        ..Default::default()
    };
    let renamed = patch.title.is_some();
    let row = patch.apply(tx.conn(), chat.id).await?;
    audit(tx, chat).details(details).record_in(tx).await?;
    if renamed {
        pubsub::chat_changed(tx.conn(), chat.id, ChatChange::ChatRenamed, None).await?;
    }
    Ok(row)
}

/// Deletes a chat the caller may write to, with its messages.
pub async fn delete(tx: &mut Tx, store: &crate::storage::FileStore, chat: &Granted<ChatRow>) -> AppResult<()> {
    audit(tx, chat).record_in(tx).await?;
    super::files::delete_of_chat(tx, store, chat).await?;
    ChatRow::delete(tx.conn(), chat.id).await?;
    Ok(())
}

/// An audit event of this write on `chat`.
pub fn audit(tx: &Tx, chat: &Granted<ChatRow>) -> AuditEvent {
    tx.audit(chat.grant()).on("chat", chat.id)
}

fn valid_title(title: &str) -> AppResult<String> {
    let title = title.trim();
    match FieldError::check_length("title", title, MAX_TITLE) {
        Some(error) => Err(error.into()),
        None => Ok(title.to_owned()),
    }
}
