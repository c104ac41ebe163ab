//! The `Chat` type and the mutations that create, change and delete chats.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    artifact::Artifact,
    assistant::Assistant,
    connection::{ArtifactConnection, MessageConnection, PageArgs, load_connection},
    context::ContextExt,
    file::FileAttachment,
    loaders::{AssistantById, AttachmentsByChat, ProjectById, StreamsByChat, UserById, item_list, load, load_required},
    message::{Message, MessageFilter, MessageStream},
    mutation::{UserError, write},
    node::{global_id, input_id, optional_argument_id, optional_id},
    project::Project,
    scalars::{BigInt, Decimal},
    usage::{self, UsageFilter, UsageGroupBy, UsageSummary},
    user::User,
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::ChatVisibility,
    error::AppResult,
    models::{
        chat::ChatRow,
        filters::ChatConditions,
        lists,
        page::{Filter, List},
        summary::UsageOwner,
    },
    services::{
        audit::Action,
        chats::{self, ChatChanges, ChatStart},
    },
};

/// A conversation inside a project.
pub struct Chat(pub ChatRow);

/// A conversation inside a project.
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
        load_required(ctx, ProjectById(self.0.project_id), "project")
            .await
            .map(Project)
    }

    /// Messages of this chat, oldest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the messages that match.")] filter: Option<MessageFilter>,
    ) -> Result<MessageConnection> {
        let args = PageArgs::new(first, after, last, before);
        let filter = filter.unwrap_or_default().conditions();
        load_connection(ctx, lists::CHAT_MESSAGES, self.0.id, args, filter, Message).await
    }

    /// The person who started the chat; null for callers outside its project (a public
    /// chat's readers).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if load(ctx, ProjectById(self.0.project_id)).await?.is_none() {
            return Ok(None);
        }
        Ok(load(ctx, UserById(self.0.user_id)).await?.map(User))
    }

    /// The assistant answering in this chat, if one was chosen.
    async fn assistant(&self, ctx: &Context<'_>) -> Result<Option<Assistant>> {
        let Some(id) = self.0.assistant_id else {
            return Ok(None);
        };
        Ok(load(ctx, AssistantById(id)).await?.map(Assistant))
    }

    /// Answer streams of this chat, oldest first (live and finished; the latest 20).
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn streams(&self, ctx: &Context<'_>) -> Result<Vec<MessageStream>> {
        item_list(ctx, StreamsByChat(self.0.id), true, MessageStream).await
    }

    /// Files attached to the chat itself (the first 20).
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<FileAttachment>> {
        item_list(ctx, AttachmentsByChat(self.0.id), false, FileAttachment).await
    }

    /// Artifacts made in this chat (their latest versions), newest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn artifacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ArtifactConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(ctx, lists::CHAT_ARTIFACTS, self.0.id, args, Filter::none(), Artifact).await
    }

    /// Tokens read by all answers in this chat.
    async fn total_input_tokens(&self) -> BigInt {
        BigInt(self.0.total_input_tokens)
    }

    /// Tokens written by all answers in this chat.
    async fn total_output_tokens(&self) -> BigInt {
        BigInt(self.0.total_output_tokens)
    }

    /// Input plus output tokens of all answers in this chat.
    async fn total_tokens(&self) -> BigInt {
        BigInt(self.0.total_input_tokens + self.0.total_output_tokens)
    }

    /// What all answers in this chat cost, in US dollars (exact decimal).
    async fn total_cost(&self) -> Decimal {
        Decimal(self.0.total_cost.clone())
    }

    /// Usage of this chat from its usage records, optionally grouped.
    async fn usage_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the records that match.")] filter: Option<UsageFilter>,
        #[graphql(desc = "Split the totals into groups.")] group_by: Option<UsageGroupBy>,
    ) -> Result<UsageSummary> {
        usage::summary(ctx, UsageOwner::Chat, self.0.id, filter, group_by).await
    }
}

/// Which chats to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct ChatFilter {
    /// Only starred (true) or unstarred (false) chats.
    pub is_starred: Option<bool>,
    /// Only chats with this visibility.
    pub visibility: Option<ChatVisibility>,
    /// Only chats whose title contains this text (case-insensitive).
    pub title_contains: Option<String>,
    /// Only chats with this assistant.
    pub assistant_id: Option<ID>,
    /// Only chats created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only chats created before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// Only chats active (last message, or creation) at or after this time.
    pub active_after: Option<DateTime<Utc>>,
    /// Only chats active (last message, or creation) before this time.
    pub active_before: Option<DateTime<Utc>>,
}

impl ChatFilter {
    /// The conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        Ok(ChatConditions {
            is_starred: self.is_starred,
            visibility: self.visibility,
            title_contains: self.title_contains,
            assistant_id: optional_argument_id(self.assistant_id.as_ref(), "Assistant", "filter.assistantId")?,
            created_after: self.created_after,
            created_before: self.created_before,
            active_after: self.active_after,
            active_before: self.active_before,
        }
        .into())
    }
}

/// What chats are ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ChatOrderField {
    /// The last message's time (the creation time for a chat without messages).
    LastMessageAt,
    /// The creation time.
    CreatedAt,
}

/// A chat order: a field and a direction (ties broken by id in the same direction).
#[derive(InputObject, Clone, Copy)]
pub struct ChatOrder {
    /// What to order by.
    pub field: ChatOrderField,
    /// Which way.
    pub direction: OrderDirection,
}

impl ChatOrder {
    /// The list that walks chats in this order (each order has its own cursors).
    pub fn list(order: Option<ChatOrder>) -> List {
        let order = order.unwrap_or(ChatOrder {
            field: ChatOrderField::LastMessageAt,
            direction: OrderDirection::Desc,
        });
        match (order.field, order.direction) {
            (ChatOrderField::LastMessageAt, OrderDirection::Desc) => lists::PROJECT_CHATS,
            (ChatOrderField::LastMessageAt, OrderDirection::Asc) => List {
                name: "Project.chats(LAST_MESSAGE_AT ASC)",
                descending: false,
                ..lists::PROJECT_CHATS
            },
            (ChatOrderField::CreatedAt, OrderDirection::Desc) => lists::PROJECT_CHATS_BY_CREATION,
            (ChatOrderField::CreatedAt, OrderDirection::Asc) => List {
                name: "Project.chats(CREATED_AT ASC)",
                descending: false,
                ..lists::PROJECT_CHATS_BY_CREATION
            },
        }
    }
}

/// A sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest (oldest) first.
    Asc,
    /// Largest (newest) first.
    Desc,
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
    /// The assistant that answers in it (an active one of the project, its organization or
    /// the platform): its instructions, model and knowledge.
    pub assistant_id: Option<ID>,
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
    async fn create_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateChatInput,
    ) -> Result<ChatPayload> {
        let (chat, user_errors) = write(ctx, Action::ChatCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let assistant_id = optional_id(input.assistant_id.as_ref(), "Assistant", "assistantId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ChatWrite).await?;
            let start = ChatStart {
                title: input.title.as_deref(),
                visibility: input.visibility,
                assistant_id,
            };
            chats::create(tx, &grant, start).await
        })
        .await?;
        Ok(ChatPayload {
            chat: chat.map(Chat),
            user_errors,
        })
    }

    /// Changes a chat's title, visibility or star.
    async fn update_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateChatInput,
    ) -> Result<ChatPayload> {
        let (chat, user_errors) = write(ctx, Action::ChatUpdate, async |tx| {
            let chat = tx
                .granted(input_id(&input.id, "Chat", "id")?, Permission::ChatWrite)
                .await?;
            let changes = ChatChanges {
                title: input.title,
                visibility: input.visibility,
                is_starred: input.is_starred,
            };
            chats::update(tx, &chat, changes).await
        })
        .await?;
        Ok(ChatPayload {
            chat: chat.map(Chat),
            user_errors,
        })
    }

    /// Deletes a chat, its messages and the files uploaded for it (usage records stay,
    /// without the chat).
    async fn delete_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteChatInput,
    ) -> Result<DeleteChatPayload> {
        let store = ctx.request().files();
        let (deleted_chat_id, user_errors) = write(ctx, Action::ChatDelete, async |tx| {
            let chat = tx
                .granted(input_id(&input.id, "Chat", "id")?, Permission::ChatWrite)
                .await?;
            chats::delete(tx, store, &chat).await?;
            Ok(global_id("Chat", chat.id))
        })
        .await?;
        Ok(DeleteChatPayload {
            deleted_chat_id,
            user_errors,
        })
    }
}
