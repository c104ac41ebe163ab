//! The `Chat` type.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    context::ContextExt,
    loaders::{MessagesByChat, ProjectById},
    message::Message,
    node::{global_id, page_size},
    project::Project,
};
use crate::{db::enums::ChatVisibility, error::AppError, models::chat::ChatRow};

/// A conversation inside a project.
pub struct Chat(pub ChatRow);

#[Object]
impl Chat {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Chat", self.0.id)
    }

    /// The raw UUID of this chat.
    async fn uuid(&self) -> Uuid {
        self.0.id
    }

    /// Title shown in the sidebar.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The model answering in this chat, when one is pinned.
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }

    /// Who may read this chat.
    async fn visibility(&self) -> ChatVisibility {
        self.0.visibility
    }

    /// Whether its owner starred it.
    async fn is_starred(&self) -> bool {
        self.0.is_starred
    }

    /// True for the default chat created with a project.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// When the last message was posted, if any.
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_message_at
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The project this chat belongs to.
    async fn project(&self, ctx: &Context<'_>) -> Result<Project> {
        ctx.loader()
            .load_one(ProjectById(self.0.project_id))
            .await
            .map_err(|e| ctx.error(e))?
            .map(Project)
            .ok_or_else(|| ctx.error(AppError::NotFound("project")))
    }

    /// Messages of this chat, oldest first.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (1 to 100, default 20).")] first: Option<i32>,
    ) -> Result<Vec<Message>> {
        let first = page_size(first).map_err(|e| ctx.error(e))?;
        let rows = ctx
            .loader()
            .load_one(MessagesByChat {
                chat_id: self.0.id,
                first,
            })
            .await
            .map_err(|e| ctx.error(e))?;
        Ok(rows.unwrap_or_default().into_iter().map(Message).collect())
    }
}
