//! Writing chats: create (with a [`Grant`] of `chat.write` in the project), change and delete
//! (with a [`ChatAccess`]: `chat.write` in the chat's project, and `project.update` for
//! someone else's chat).

use anyhow::anyhow;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::auth::Caller;
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
    Ok(NewChat {
        id: new_id(),
        project_id,
        user_id: grant.caller().user.id,
        assistant_id: None,
        title,
        model: None,
        visibility: visibility.unwrap_or(ChatVisibility::Private),
        is_default: false,
        external_id: None,
    }
    .insert(conn)
    .await?)
}

/// A chat the caller may change: made only by [`authorize_change`], after the grant check.
pub struct ChatAccess {
    chat: ChatRow,
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
    let chat = ChatRow::find(conn, id)
        .await?
        .filter(|chat| scope.sees_chat(chat))
        .ok_or(AppError::NotFound("chat"))?;
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
    Ok(ChatAccess { chat })
}

/// Applies `changes` to a chat checked by [`authorize_change`].
pub async fn update(conn: &mut AsyncPgConnection, access: &ChatAccess, changes: ChatChanges) -> AppResult<ChatRow> {
    let title = changes.title.as_deref().map(valid_title).transpose()?;
    Ok(ChatPatch {
        title,
        visibility: changes.visibility,
        is_starred: changes.is_starred,
        ..Default::default()
    }
    .apply(conn, access.chat.id)
    .await?)
}

/// Deletes a chat checked by [`authorize_change`] with its messages.
pub async fn delete(conn: &mut AsyncPgConnection, access: ChatAccess) -> AppResult<()> {
    ChatRow::delete(conn, access.chat.id).await?;
    Ok(())
}

fn valid_title(title: &str) -> AppResult<String> {
    let title = title.trim();
    match FieldError::check_length("title", title, MAX_TITLE) {
        Some(error) => Err(error.into()),
        None => Ok(title.to_owned()),
    }
}
