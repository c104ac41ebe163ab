//! Writing chats: create (with a [`Grant`] of `chat.write` in the project), change and delete
//! (with a [`ChatAccess`]: `chat.write` in the chat's project, and `project.update` for
//! someone else's chat).

use anyhow::anyhow;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    auth::{Caller, ClientInfo},
};
use crate::{
    auth::{
        authz::Scope,
        grant::{self, Grant, Permission, Place},
    },
    db::{enums::ChatVisibility, new_id},
    error::{AppError, AppResult, FieldError},
    models::chat::{ChatPatch, ChatRow, NewChat},
};

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

/// Creates a chat of the granted project, owned by the caller.
pub async fn create(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    title: Option<&str>,
    visibility: Option<ChatVisibility>,
) -> AppResult<ChatRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a chat is created with a project grant")))?;
    let title = match title {
        Some(title) => valid_title(title)?,
        None => "New chat".to_owned(),
    };
    let new = NewChat {
        id: new_id(),
        project_id,
        user_id: grant.caller().user.id,
        assistant_id: None,
        title,
        model: None,
        visibility: visibility.unwrap_or(ChatVisibility::Private),
        is_default: false,
        external_id: None,
    };
    conn.transaction::<_, AppError, _>(async |conn| {
        let chat = new.insert(conn).await?;
        AuditEvent::new("chat.create")
            .by(grant.caller())
            .within(Some(grant.organization_id()), Some(project_id))
            .on("chat", chat.id)
            .details(json!({ "visibility": chat.visibility.as_str() }))
            .record(conn, client)
            .await?;
        Ok(chat)
    })
    .await
}

/// A chat the caller may change: made only by [`authorize_change`], after the grant check.
pub struct ChatAccess {
    chat: ChatRow,
    caller: Caller,
    organization_id: Uuid,
}

impl ChatAccess {
    /// The chat as checked.
    pub fn chat(&self) -> &ChatRow {
        &self.chat
    }

    /// Who may change it.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// An audit event of `action` on this chat by the caller.
    pub fn audit(&self, action: &str) -> AuditEvent {
        AuditEvent::new(action)
            .by(&self.caller)
            .within(Some(self.organization_id), Some(self.chat.project_id))
            .on("chat", self.chat.id)
    }
}

/// The chat `id` and the right to change it: the caller must see the chat (else NOT_FOUND),
/// hold `chat.write` in its project, and own the chat or hold `project.update` (else
/// FORBIDDEN; a public chat of a project the caller is not in is read-only).
pub async fn authorize_change(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    scope: &Scope,
    id: Uuid,
) -> AppResult<ChatAccess> {
    let chat = ChatRow::find(conn, id).await?.ok_or(AppError::NotFound("chat"))?;
    if !scope.sees_chat(conn, &chat).await? {
        return Err(AppError::NotFound("chat"));
    }
    let grant = match grant::authorize(
        conn,
        caller,
        scope,
        Place::Project(chat.project_id),
        Permission::ChatWrite,
    )
    .await
    {
        Err(AppError::NotFound(_)) => return Err(AppError::Forbidden),
        other => other?,
    };
    if chat.user_id != grant.caller().user.id && !grant.allows(Permission::ProjectUpdate) {
        return Err(AppError::Forbidden);
    }
    super::rate_limits::check(conn, grant.caller().user.id, super::rate_limits::WRITES).await?;
    Ok(ChatAccess {
        organization_id: grant.organization_id(),
        caller: grant.caller().clone(),
        chat,
    })
}

/// Applies `changes` to a chat checked by [`authorize_change`].
pub async fn update(
    conn: &mut AsyncPgConnection,
    access: &ChatAccess,
    client: &ClientInfo,
    changes: ChatChanges,
) -> AppResult<ChatRow> {
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
    conn.transaction::<_, AppError, _>(async |conn| {
        let chat = patch.apply(conn, access.chat.id).await?;
        access
            .audit("chat.update")
            .details(details)
            .record(conn, client)
            .await?;
        Ok(chat)
    })
    .await
}

/// Deletes a chat checked by [`authorize_change`] with its messages.
pub async fn delete(conn: &mut AsyncPgConnection, access: ChatAccess, client: &ClientInfo) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        access.audit("chat.delete").record(conn, client).await?;
        ChatRow::delete(conn, access.chat.id).await?;
        Ok(())
    })
    .await
}

fn valid_title(title: &str) -> AppResult<String> {
    let title = title.trim();
    match FieldError::check_length("title", title, MAX_TITLE) {
        Some(error) => Err(error.into()),
        None => Ok(title.to_owned()),
    }
}
