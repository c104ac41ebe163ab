//! Writing messages and feedback. A user message is posted into a chat the caller may write
//! to (a [`Granted`] chat), edited by its author only, and deleted by anyone who may write to
//! the chat. Feedback (a vote, a rating with a comment) is one row per
//! user and message, on an answer in a chat the caller may read. Model answers are started in
//! `services::generation`.

use diesel::{
    ExpressionMethods, QueryDsl, SelectableHelper,
    upsert::{excluded, on_constraint},
};
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    chats,
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::Granted,
    db::{
        enums::{MessageRole, MessageStatus},
        new_id,
        schema::message_feedback,
    },
    error::{AppError, AppResult, FieldError},
    models::{
        chat::{ChatPatch, ChatRow},
        message::{ChatMessage, MessageFeedbackRow, MessagePatch, MessageRow, NewMessage, NewMessageFeedback},
    },
    pubsub::{self, ChatChange},
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
    tx: &mut Tx,
    chat: &Granted<ChatRow>,
    content: &str,
    parent_id: Option<Uuid>,
) -> AppResult<MessageRow> {
    let content = valid_content(content)?;
    let chat_id = chat.id;
    if let Some(parent) = parent_id {
        let parent = MessageRow::find(tx.conn(), parent).await?;
        if parent.is_none_or(|p| p.chat_id != chat_id) {
            return Err(FieldError::input("parentId", "NOT_FOUND", "parentId is not a message of this chat").into());
        }
    }
    let new = NewMessage {
        parent_id,
        ..NewMessage::text(
            chat_id,
            Some(chat.grant().caller().user.id),
            MessageRole::User,
            &content,
        )
    };
    let message = new.insert(tx.conn()).await?;
    ChatPatch {
        last_message_at: Some(Some(message.created_at)),
        ..Default::default()
    }
    .apply(tx.conn(), chat_id)
    .await?;
    chats::audit(tx, chat)
        .details(json!({ "messageId": message.id, "length": content.chars().count() }))
        .record_in(tx)
        .await?;
    pubsub::chat_changed(tx.conn(), chat_id, ChatChange::MessageAdded, Some(message.id)).await?;
    Ok(message)
}

/// Replaces the text of a message (checked as [`Granted::authored`]).
pub async fn edit(tx: &mut Tx, message: &Granted<ChatMessage>, content: &str) -> AppResult<MessageRow> {
    let content = valid_content(content)?;
    let patch = MessagePatch {
        parts: Some(json!([{ "type": "text", "text": content }])),
        content: Some(content),
        ..Default::default()
    };
    let row = patch.apply(tx.conn(), message.message.id).await?;
    audit(tx, message).record_in(tx).await?;
    pubsub::chat_changed(tx.conn(), row.chat_id, ChatChange::MessageUpdated, Some(row.id)).await?;
    Ok(row)
}

/// Deletes a message of a chat the caller may write to (answers to it stay, unparented).
pub async fn delete(tx: &mut Tx, message: &Granted<ChatMessage>) -> AppResult<()> {
    use crate::db::schema::messages;
    diesel::delete(messages::table.find(message.message.id))
        .execute(tx.conn())
        .await?;
    audit(tx, message)
        .details(json!({ "messageId": message.message.id, "role": message.message.role.as_str() }))
        .record_in(tx)
        .await?;
    pubsub::chat_changed(
        tx.conn(),
        message.chat.id,
        ChatChange::MessageDeleted,
        Some(message.message.id),
    )
    .await?;
    Ok(())
}

/// An audit event of this write on `message`'s chat.
fn audit(tx: &Tx, message: &Granted<ChatMessage>) -> AuditEvent {
    tx.audit(message.grant())
        .on("chat", message.chat.id)
        .details(json!({ "messageId": message.message.id }))
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
pub async fn feedback_target(tx: &mut Tx, message_id: Uuid) -> AppResult<ChatMessage> {
    let found = ChatMessage::find(tx.conn(), message_id).await?;
    let scope = tx.scope();
    let target = match found {
        Some(target) if scope.sees_chat(tx.conn(), &target.chat).await? => target,
        _ => return Err(AppError::NotFound("message")),
    };
    let project = crate::models::project::ProjectRow::find(tx.conn(), target.chat.project_id).await?;
    if let Some(project) = project {
        let caller = tx.caller()?;
        crate::auth::grant::writable(tx.conn(), &caller, project.organization_id, Some(project.id)).await?;
    }
    let message = &target.message;
    if message.role != MessageRole::Assistant || message.status != MessageStatus::Complete {
        return Err(FieldError::input(
            "messageId",
            "NOT_AN_ANSWER",
            "feedback is given on complete answers of the assistant",
        )
        .into());
    }
    Ok(target)
}

/// Sets the caller's feedback on an answer found by [`feedback_target`] (one row per user and
/// message, created on first use; concurrent calls meet in the unique constraint).
pub async fn give_feedback(
    tx: &mut Tx,
    ChatMessage { message, chat }: &ChatMessage,
    change: FeedbackChange,
) -> AppResult<MessageFeedbackRow> {
    let caller = tx.caller()?;
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
            .get_result(tx.conn())
            .await?
    } else {
        upsert
            .set((f::rating.eq(excluded(f::rating)), f::comment.eq(excluded(f::comment))))
            .returning(MessageFeedbackRow::as_returning())
            .get_result(tx.conn())
            .await?
    };
    tx.event()
        .on("message", message.id)
        .in_chat(Some(chat.id))
        .details(details)
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Removes the caller's feedback (vote, rating and comment) on an answer. True when there was
/// some.
pub async fn remove_feedback(tx: &mut Tx, target: &ChatMessage) -> AppResult<bool> {
    let (caller, message) = (tx.caller()?, &target.message);
    use message_feedback::dsl as f;
    let removed = diesel::delete(
        message_feedback::table
            .filter(f::message_id.eq(message.id))
            .filter(f::user_id.eq(caller.user.id)),
    )
    .execute(tx.conn())
    .await?;
    tx.event()
        .on("message", message.id)
        .in_chat(Some(target.chat.id))
        .details(json!({ "removed": removed > 0 }))
        .record_in(tx)
        .await?;
    Ok(removed > 0)
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
