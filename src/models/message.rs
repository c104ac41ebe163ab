//! Messages of a chat, the feedback on them, and their generation streams.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::{chat::ChatRow, find_by_id, insert_returning, update_returning};
use crate::db::{
    enums::{MessageRole, MessageStatus, StreamStatus},
    schema::{message_feedback, message_streams, messages},
};

/// One turn of a conversation. `parent_id` links an answer to the message it answers;
/// regenerated answers are siblings under the same parent.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(ChatRow, foreign_key = chat_id))]
pub struct MessageRow {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub role: MessageRole,
    pub content: String,
    pub parts: Value,
    pub content_raw: Option<Value>,
    pub attachments: Value,
    pub status: MessageStatus,
    pub finish_reason: Option<String>,
    pub error: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub cached_input_tokens: Option<i32>,
    pub cost: Option<BigDecimal>,
    pub confidence: Option<f64>,
    pub is_context_file: bool,
    pub external_id: Option<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new message.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub role: MessageRole,
    pub content: String,
    pub parts: Option<Value>,
    pub content_raw: Option<Value>,
    pub attachments: Option<Value>,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub cached_input_tokens: Option<i32>,
    pub cost: Option<BigDecimal>,
    pub confidence: Option<f64>,
    pub is_context_file: bool,
    pub external_id: Option<String>,
    pub metadata: Option<Value>,
}

/// A change to a message (an edit, or the end of its generation).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = messages)]
pub struct MessagePatch {
    pub content: Option<String>,
    pub parts: Option<Value>,
    pub status: Option<MessageStatus>,
    pub finish_reason: Option<Option<String>>,
    pub error: Option<Option<String>>,
    pub input_tokens: Option<Option<i32>>,
    pub output_tokens: Option<Option<i32>>,
    pub cached_input_tokens: Option<Option<i32>>,
    pub cost: Option<Option<BigDecimal>>,
    pub confidence: Option<Option<f64>>,
    pub metadata: Option<Value>,
}

impl NewMessage {
    /// A complete text message with a new id and nothing else set; adjust the rest with
    /// struct update syntax.
    pub fn text(chat_id: Uuid, user_id: Option<Uuid>, role: MessageRole, content: &str) -> Self {
        NewMessage {
            id: crate::db::new_id(),
            chat_id,
            parent_id: None,
            user_id,
            role,
            content: content.to_owned(),
            parts: Some(serde_json::json!([{ "type": "text", "text": content }])),
            content_raw: None,
            attachments: None,
            status: MessageStatus::Complete,
            error: None,
            model: None,
            provider: None,
            input_tokens: None,
            output_tokens: None,
            cached_input_tokens: None,
            cost: None,
            confidence: None,
            is_context_file: false,
            external_id: None,
            metadata: None,
        }
    }
}

find_by_id!(MessageRow, messages);

/// A message with its chat (whose place and rules are the message's).
#[derive(Debug, Clone)]
pub struct ChatMessage {
    /// The message.
    pub message: MessageRow,
    /// Its chat.
    pub chat: ChatRow,
}

impl ChatMessage {
    /// Message `id` with its chat.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        let Some(message) = MessageRow::find(conn, id).await? else {
            return Ok(None);
        };
        let chat = ChatRow::find(conn, message.chat_id).await?;
        Ok(chat.map(|chat| ChatMessage { message, chat }))
    }
}
insert_returning!(NewMessage => MessageRow, messages);
update_returning!(MessagePatch => MessageRow, messages);

/// A user's vote, rating or comment on a message (at most one per user and message).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = message_feedback, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(MessageRow, foreign_key = message_id))]
pub struct MessageFeedbackRow {
    pub id: Uuid,
    pub message_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: Uuid,
    pub is_upvoted: Option<bool>,
    pub rating: Option<i16>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// New feedback.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = message_feedback)]
pub struct NewMessageFeedback {
    pub id: Uuid,
    pub message_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: Uuid,
    pub is_upvoted: Option<bool>,
    pub rating: Option<i16>,
    pub comment: Option<String>,
}

/// A change to feedback.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = message_feedback)]
pub struct MessageFeedbackPatch {
    pub is_upvoted: Option<Option<bool>>,
    pub rating: Option<Option<i16>>,
    pub comment: Option<Option<String>>,
}

find_by_id!(MessageFeedbackRow, message_feedback);
insert_returning!(NewMessageFeedback => MessageFeedbackRow, message_feedback);
update_returning!(MessageFeedbackPatch => MessageFeedbackRow, message_feedback);

/// One generation of an assistant message, so a client can find and resume a live stream.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = message_streams, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(MessageRow, foreign_key = message_id))]
pub struct MessageStreamRow {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub message_id: Uuid,
    pub status: StreamStatus,
    pub last_seq: i32,
    pub error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new stream.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = message_streams)]
pub struct NewMessageStream {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub message_id: Uuid,
}

/// A change to a stream.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = message_streams)]
pub struct MessageStreamPatch {
    pub status: Option<StreamStatus>,
    pub last_seq: Option<i32>,
    pub error: Option<Option<String>>,
    pub finished_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(MessageStreamRow, message_streams);
insert_returning!(NewMessageStream => MessageStreamRow, message_streams);
update_returning!(MessageStreamPatch => MessageStreamRow, message_streams);
