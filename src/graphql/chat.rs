//! The `Chat` type and the mutations that create, change and delete chats.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    auth::{UserError, user_errors},
    connection::{PageArgs, RelayConnection, load_connection},
    context::ContextExt,
    loaders::ProjectById,
    message::Message,
    node::{global_id, input_id},
    project::Project,
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::ChatVisibility,
    error::AppError,
    models::page::Filter,
    models::{chat::ChatRow, message::MessageRow},
    services::chats::{self, ChatChanges},
};

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
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<RelayConnection<Message>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        load_connection(ctx, MessageRow::BY_CHAT, self.0.id, args, Filter::none(), Message).await
    }
}

/// Input of `createChat`.
#[derive(InputObject)]
pub struct CreateChatInput {
    /// The project to create it in (needs `chat.write` there).
    pub project_id: ID,
    /// Title (1 to 500 characters); "New chat" when omitted.
    pub title: Option<String>,
    /// Who may read it; PRIVATE when omitted.
    pub visibility: Option<ChatVisibility>,
}

/// Input of `updateChat`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateChatInput {
    /// The chat to change (the caller's own, or any with `project.update`).
    pub id: ID,
    /// New title (1 to 500 characters).
    pub title: Option<String>,
    /// New visibility.
    pub visibility: Option<ChatVisibility>,
    /// Starred or not.
    pub is_starred: Option<bool>,
}

/// Input of `deleteChat`.
#[derive(InputObject)]
pub struct DeleteChatInput {
    /// The chat to delete, with its messages.
    pub id: ID,
}

/// The result of `createChat` and `updateChat`.
#[derive(SimpleObject)]
pub struct ChatPayload {
    /// The chat as it is now, unless there were user errors.
    pub chat: Option<Chat>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteChat`.
#[derive(SimpleObject)]
pub struct DeleteChatPayload {
    /// The id of the deleted chat (for removing it from client caches).
    pub deleted_chat_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Chat mutations.
#[derive(Default)]
pub struct ChatMutation;

#[Object]
impl ChatMutation {
    /// Creates a chat owned by the caller. NOT_FOUND for a project the caller cannot see,
    /// FORBIDDEN without `chat.write` there (a project viewer reads and never writes).
    async fn create_chat(&self, ctx: &Context<'_>, input: CreateChatInput) -> Result<ChatPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = request
                .authorize(&mut conn, Place::Project(project_id), Permission::ChatWrite)
                .await?;
            chats::create(&mut conn, &grant, input.title.as_deref(), input.visibility).await
        }
        .await;
        let (chat, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(ChatPayload {
            chat: chat.map(Chat),
            user_errors,
        })
    }

    /// Changes a chat's title, visibility or star.
    async fn update_chat(&self, ctx: &Context<'_>, input: UpdateChatInput) -> Result<ChatPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let id = input_id(&input.id, "Chat", "id")?;
            let access = chats::authorize_change(&mut conn, request.caller(), request.scope().await?, id).await?;
            let changes = ChatChanges {
                title: input.title,
                visibility: input.visibility,
                is_starred: input.is_starred,
            };
            chats::update(&mut conn, &access, changes).await
        }
        .await;
        let (chat, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(ChatPayload {
            chat: chat.map(Chat),
            user_errors,
        })
    }

    /// Deletes a chat and its messages (usage records stay, without the chat).
    async fn delete_chat(&self, ctx: &Context<'_>, input: DeleteChatInput) -> Result<DeleteChatPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let id = input_id(&input.id, "Chat", "id")?;
            let access = chats::authorize_change(&mut conn, request.caller(), request.scope().await?, id).await?;
            chats::delete(&mut conn, access).await?;
            Ok(global_id("Chat", id))
        }
        .await;
        let (deleted_chat_id, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(DeleteChatPayload {
            deleted_chat_id,
            user_errors,
        })
    }
}
