//! The `Message` type.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{chat::Chat, context::ContextExt, loaders::ChatById, node::global_id};
use crate::{
    db::enums::{MessageRole, MessageStatus},
    error::AppError,
    models::message::MessageRow,
};

/// One turn of a conversation.
pub struct Message(pub MessageRow);

#[Object]
impl Message {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Message", self.0.id)
    }

    /// The raw UUID of this message.
    async fn uuid(&self) -> Uuid {
        self.0.id
    }

    /// Who wrote it.
    async fn role(&self) -> MessageRole {
        self.0.role
    }

    /// Its text.
    async fn content(&self) -> &str {
        &self.0.content
    }

    /// Whether it is finished.
    async fn status(&self) -> MessageStatus {
        self.0.status
    }

    /// The model that wrote it (assistant messages).
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }

    /// Tokens read to produce it (assistant messages).
    async fn input_tokens(&self) -> Option<i32> {
        self.0.input_tokens
    }

    /// Tokens it consists of (assistant messages).
    async fn output_tokens(&self) -> Option<i32> {
        self.0.output_tokens
    }

    /// When it was posted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The chat it belongs to.
    async fn chat(&self, ctx: &Context<'_>) -> Result<Chat> {
        ctx.loader()
            .load_one(ChatById(self.0.chat_id))
            .await
            .map_err(|e| ctx.error(e))?
            .map(Chat)
            .ok_or_else(|| ctx.error(AppError::NotFound("chat")))
    }
}
