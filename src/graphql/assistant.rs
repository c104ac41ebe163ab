//! The `Assistant` type: a configured model persona with instructions and tools.

use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    file::FileAttachment,
    loaders::{AttachmentsByAssistant, FeedbackOf, load},
    message::FeedbackSummary,
    node::global_id,
};
use crate::models::{assistant::AssistantRow, summary::FeedbackOwner};

/// A model with instructions, tools and files, that chats can be started with.
pub struct Assistant(pub AssistantRow);

/// A model with instructions, tools and files, that chats can be started with.
#[Object]
impl Assistant {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Assistant", self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The system instructions it answers with.
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }

    /// Provider of its model (`openai`, `anthropic`, `offline`, ...).
    async fn provider(&self) -> &str {
        &self.0.provider
    }

    /// Its model.
    async fn model(&self) -> &str {
        &self.0.model
    }

    /// Sampling temperature (0 to 2), when set.
    async fn temperature(&self) -> Option<f64> {
        self.0.temperature
    }

    /// Tools it may call (JSON, as the provider expects them).
    async fn tools(&self) -> Json<&Value> {
        Json(&self.0.tools)
    }

    /// Whether new chats may use it.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Files given to it as knowledge.
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<FileAttachment>> {
        let rows = load(ctx, AttachmentsByAssistant(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(FileAttachment).collect())
    }

    /// Votes and ratings on its answers, in the chats the caller may read.
    async fn feedback_summary(&self, ctx: &Context<'_>) -> Result<FeedbackSummary> {
        let key = FeedbackOf {
            owner: FeedbackOwner::Assistant,
            parent: self.0.id,
        };
        Ok(FeedbackSummary(load(ctx, key).await?.unwrap_or_default()))
    }
}
