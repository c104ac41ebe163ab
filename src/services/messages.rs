//! Writing messages and feedback. A user message is posted into a chat the caller may change
//! (see [`chats::authorize_change`]), edited by its author only, and deleted by its author or
//! anyone who may change the chat. Feedback (a vote, a rating with a comment) is one row per
//! user and message, on an answer in a chat the caller may read. Each change and its audit
//! row are one transaction. Model answers are not produced here (see the streaming issue).

use diesel::{
    ExpressionMethods, QueryDsl, SelectableHelper,
    upsert::{excluded, on_constraint},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    auth::{Caller, ClientInfo},
    chats::{self, ChatAccess},
};
use crate::{
    auth::authz::Scope,
    db::{
        enums::{MessageRole, MessageStatus},
        new_id,
        schema::message_feedback,
    },
    error::{AppError, AppResult, FieldError},
    models::{
        chat::{ChatPatch, ChatRow},
        message::{MessageFeedbackRow, MessagePatch, MessageRow, NewMessage, NewMessageFeedback},
    },
};

/// Longest message a user may post, in characters.
pub const MAX_CONTENT: usize = 100_000;
/// Longest feedback comment, in characters.
pub const MAX_COMMENT: usize = 5_000;

fn valid_content(content: &str) -> AppResult<String> {
    if content.trim().is_empty() || content.chars().count() > MAX_CONTENT {
        return Err(FieldError::input(
            "content",
            "INVALID_LENGTH",
            format!("content must be 1 to {MAX_CONTENT} characters (not only spaces)"),
        )
        .into());
    }
    Ok(content.to_owned())
}

/// Posts a user message by the caller into a chat checked by [`chats::authorize_change`];
/// `parent_id`, when given, must be a message of the same chat.
pub async fn post(
    conn: &mut AsyncPgConnection,
    access: &ChatAccess,
    client: &ClientInfo,
    content: &str,
    parent_id: Option<Uuid>,
) -> AppResult<MessageRow> {
    let content = valid_content(content)?;
    let chat_id = access.chat().id;
    if let Some(parent) = parent_id {
        let parent = MessageRow::find(conn, parent).await?;
        if parent.is_none_or(|p| p.chat_id != chat_id) {
            return Err(FieldError::input("parentId", "NOT_FOUND", "parentId is not a message of this chat").into());
        }
    }
    let new = NewMessage {
        parent_id,
        ..NewMessage::text(chat_id, Some(access.caller().user.id), MessageRole::User, &content)
    };
    conn.transaction::<_, AppError, _>(async |conn| {
        let message = new.insert(conn).await?;
        ChatPatch {
            last_message_at: Some(Some(message.created_at)),
            ..Default::default()
        }
        .apply(conn, chat_id)
        .await?;
        access
            .audit("message.post")
            .details(json!({ "messageId": message.id, "length": content.chars().count() }))
            .record(conn, client)
            .await?;
        Ok(message)
    })
    .await
}

/// A message and the right to change it: its chat is one the caller may change, and for an
/// edit the caller wrote it.
pub struct MessageAccess {
    chat: ChatAccess,
    message: MessageRow,
}

/// Checks that the caller may change message `id`: NOT_FOUND when its chat is invisible,
/// FORBIDDEN unless they may change the chat (an edit also needs them to be its author).
pub async fn authorize_change(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    scope: &Scope,
    id: Uuid,
    edit: bool,
) -> AppResult<MessageAccess> {
    let message = MessageRow::find(conn, id).await?.ok_or(AppError::NotFound("message"))?;
    let chat = match chats::authorize_change(conn, caller, scope, message.chat_id).await {
        Err(AppError::NotFound(_)) => return Err(AppError::NotFound("message")),
        other => other?,
    };
    let own = message.user_id == Some(chat.caller().user.id);
    if edit && (!own || message.role != MessageRole::User) {
        return Err(AppError::Forbidden);
    }
    Ok(MessageAccess { chat, message })
}

/// Replaces the text of a message checked for an edit.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    access: &MessageAccess,
    client: &ClientInfo,
    content: &str,
) -> AppResult<MessageRow> {
    let content = valid_content(content)?;
    let patch = MessagePatch {
        parts: Some(json!([{ "type": "text", "text": content }])),
        content: Some(content),
        ..Default::default()
    };
    conn.transaction::<_, AppError, _>(async |conn| {
        let message = patch.apply(conn, access.message.id).await?;
        access
            .chat
            .audit("message.edit")
            .details(json!({ "messageId": message.id }))
            .record(conn, client)
            .await?;
        Ok(message)
    })
    .await
}

/// Deletes a message checked by [`authorize_change`] (answers to it stay, unparented).
pub async fn delete(conn: &mut AsyncPgConnection, access: &MessageAccess, client: &ClientInfo) -> AppResult<()> {
    use crate::db::schema::messages;
    conn.transaction::<_, AppError, _>(async |conn| {
        diesel::delete(messages::table.find(access.message.id))
            .execute(conn)
            .await?;
        access
            .chat
            .audit("message.delete")
            .details(json!({ "messageId": access.message.id, "role": access.message.role.as_str() }))
            .record(conn, client)
            .await?;
        Ok(())
    })
    .await
}

/// What feedback sets.
#[derive(Debug)]
pub enum FeedbackChange {
    /// A vote: up (true) or down (false); a rating stays.
    Vote(bool),
    /// A rating of 1 to 5 with an optional comment (an empty one clears it); a vote stays.
    Rate {
        /// 1 to 5.
        rating: i16,
        /// At most 5,000 characters.
        comment: Option<String>,
    },
}

/// The answer `message_id` as the signed-in caller may give feedback on it: an assistant
/// message in a chat they may read (NOT_FOUND otherwise).
pub async fn feedback_target(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    message_id: Uuid,
) -> AppResult<(MessageRow, ChatRow)> {
    let message = MessageRow::find(conn, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let chat = ChatRow::find(conn, message.chat_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    if !scope.sees_chat(conn, &chat).await? {
        return Err(AppError::NotFound("message"));
    }
    if message.role != MessageRole::Assistant || message.status != MessageStatus::Complete {
        return Err(FieldError::input(
            "messageId",
            "NOT_AN_ANSWER",
            "feedback is given on complete answers of the assistant",
        )
        .into());
    }
    Ok((message, chat))
}

/// Sets the caller's feedback on an answer found by [`feedback_target`] (one row per user and
/// message, created on first use; concurrent calls meet in the unique constraint).
pub async fn give_feedback(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    client: &ClientInfo,
    (message, chat): (MessageRow, ChatRow),
    change: FeedbackChange,
) -> AppResult<MessageFeedbackRow> {
    let (is_upvoted, rating, comment) = match change {
        FeedbackChange::Vote(up) => (Some(up), None, None),
        FeedbackChange::Rate { rating, comment } => {
            if !(1..=5).contains(&rating) {
                return Err(FieldError::input("rating", "OUT_OF_RANGE", "rating must be 1 to 5").into());
            }
            if comment.as_deref().is_some_and(|c| c.chars().count() > MAX_COMMENT) {
                return Err(FieldError::input(
                    "comment",
                    "INVALID_LENGTH",
                    format!("comment must be at most {MAX_COMMENT} characters"),
                )
                .into());
            }
            (
                None,
                Some(rating),
                comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
            )
        }
    };
    let new = NewMessageFeedback {
        id: new_id(),
        message_id: message.id,
        chat_id: chat.id,
        user_id: caller.user.id,
        is_upvoted,
        rating,
        comment,
    };
    let details = json!({ "messageId": message.id, "upvoted": is_upvoted, "rating": rating });
    conn.transaction::<_, AppError, _>(async |conn| {
        use message_feedback::dsl as f;
        let upsert = diesel::insert_into(message_feedback::table)
            .values(&new)
            .on_conflict(on_constraint("message_feedback_message_id_user_id_key"))
            .do_update();
        // A vote leaves the rating as it is, and a rating the vote.
        let row: MessageFeedbackRow = if is_upvoted.is_some() {
            upsert
                .set(f::is_upvoted.eq(excluded(f::is_upvoted)))
                .returning(MessageFeedbackRow::as_returning())
                .get_result(conn)
                .await?
        } else {
            upsert
                .set((f::rating.eq(excluded(f::rating)), f::comment.eq(excluded(f::comment))))
                .returning(MessageFeedbackRow::as_returning())
                .get_result(conn)
                .await?
        };
        AuditEvent::new("message_feedback.set")
            .by(caller)
            .on("message", message.id)
            .details(details)
            .record(conn, client)
            .await?;
        Ok(row)
    })
    .await
}

/// Removes the caller's feedback (vote, rating and comment) on an answer. True when there was
/// some.
pub async fn remove_feedback(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    client: &ClientInfo,
    (message, _): (MessageRow, ChatRow),
) -> AppResult<bool> {
    use message_feedback::dsl as f;
    conn.transaction::<_, AppError, _>(async |conn| {
        let removed = diesel::delete(
            message_feedback::table
                .filter(f::message_id.eq(message.id))
                .filter(f::user_id.eq(caller.user.id)),
        )
        .execute(conn)
        .await?;
        AuditEvent::new("message_feedback.remove")
            .by(caller)
            .on("message", message.id)
            .details(json!({ "removed": removed > 0 }))
            .record(conn, client)
            .await?;
        Ok(removed > 0)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_content_is_one_to_a_hundred_thousand_characters() {
        assert!(valid_content("hi").is_ok());
        assert!(valid_content(&"é".repeat(MAX_CONTENT)).is_ok());
        for bad in [String::new(), " \n ".to_owned(), "x".repeat(MAX_CONTENT + 1)] {
            match valid_content(&bad) {
                Err(AppError::Invalid(errors)) => assert_eq!(errors[0].code, "INVALID_LENGTH"),
                other => panic!("{other:?}"),
            }
        }
    }
}
