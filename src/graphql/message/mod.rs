//! The `Message` type with its feedback and streams, and the message filter; its mutations
//! are in `mutation.rs`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    chat::Chat,
    citation::Citation,
    connection::{MessageFeedbackConnection, PageArgs, load_connection},
    context::ContextExt,
    file::FileAttachment,
    loaders::{
        AttachmentsByMessage, ChatById, ChildrenOf, CitationsByMessage, FeedbackOf, MessageById, ProjectById,
        StreamsByMessage, UserById, ViewerFeedback, item_list, load, load_required,
    },
    mutation::{UserError, write},
    node::{global_id, input_id, optional_id},
    scalars::Decimal,
    tool::ToolCall,
    user::User,
};
use crate::{
    auth::grant::{Granted, Permission, Place},
    db::enums::{MessageRole, MessageStatus, StreamStatus},
    error::{AppResult, FieldError},
    models::{
        chat::ChatRow,
        filters::MessageConditions,
        lists,
        message::{ChatMessage, MessageFeedbackRow, MessageRow, MessageStreamRow},
        page::Filter,
        summary::{FeedbackCounts, FeedbackOwner},
    },
    services::generation::tool_calls_of,
    services::{
        audit::Action,
        chats,
        generation::answer::{self, Question},
        messages::{self, FeedbackChange},
        write::{RecordIn, Tx},
    },
};

mod mutation;

pub use mutation::*;

/// Which messages to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct MessageFilter {
    /// Only messages of this role.
    pub role: Option<MessageRole>,
    /// Only messages in this state.
    pub status: Option<MessageStatus>,
}

impl MessageFilter {
    /// The conditions of this filter.
    pub fn conditions(self) -> Filter {
        MessageConditions {
            role: self.role,
            status: self.status,
        }
        .into()
    }
}

/// One turn of a conversation.
pub struct Message(pub MessageRow);

/// One turn of a conversation.
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

    /// The provider of the model that wrote it (assistant messages).
    async fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }

    /// Of `inputTokens`, those served from the provider's prompt cache.
    async fn cached_input_tokens(&self) -> Option<i32> {
        self.0.cached_input_tokens
    }

    /// Why generation failed (status `FAILED`), in words fit for the person who asked.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The message this one answers or follows; null for the first of a conversation.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(load(ctx, MessageById(parent)).await?.map(Message))
    }

    /// Every message with the same parent, oldest first, this one included: the branches a
    /// regenerated answer (or an edited question) creates, for "2 of 3" navigation (the
    /// first 20).
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn siblings(&self, ctx: &Context<'_>) -> Result<Vec<Message>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(vec![Message(self.0.clone())]);
        };
        let rows = load(ctx, ChildrenOf(parent)).await?.unwrap_or_default();
        // Tool results under an answer are not branches of what follows it.
        let rows = rows
            .into_iter()
            .filter(|m| {
                m.chat_id == self.0.chat_id && (m.role == MessageRole::Tool) == (self.0.role == MessageRole::Tool)
            })
            .collect();
        Ok(super::node::capped(
            rows,
            super::node::MAX_ITEM_LIST_ITEMS,
            false,
            Message,
        ))
    }

    /// The tools an answer called, in order (each with the `tool` message holding its
    /// result); empty for other messages.
    async fn tool_calls(&self) -> Vec<ToolCall> {
        tool_calls_of(&self.0).into_iter().map(ToolCall).collect()
    }

    /// Tokens read to produce it (assistant messages).
    async fn input_tokens(&self) -> Option<i32> {
        self.0.input_tokens
    }

    /// Tokens it consists of (assistant messages).
    async fn output_tokens(&self) -> Option<i32> {
        self.0.output_tokens
    }

    /// What producing it cost in US dollars (assistant messages).
    async fn cost(&self) -> Option<Decimal> {
        self.0.cost.clone().map(Decimal)
    }

    /// Why generation stopped (`stop`, `length`, ...), for assistant messages.
    async fn finish_reason(&self) -> Option<&str> {
        self.0.finish_reason.as_deref()
    }

    /// The person who wrote it (user messages); null for model messages and for callers
    /// outside the chat's project.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(user_id) = self.0.user_id else {
            return Ok(None);
        };
        let Some(chat) = load(ctx, ChatById(self.0.chat_id)).await? else {
            return Ok(None);
        };
        if load(ctx, ProjectById(chat.project_id)).await?.is_none() {
            return Ok(None);
        }
        Ok(load(ctx, UserById(user_id)).await?.map(User))
    }

    /// Votes, ratings and comments on this message, newest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn feedback(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<MessageFeedbackConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::MESSAGE_FEEDBACK,
            self.0.id,
            args,
            Filter::none(),
            MessageFeedback,
        )
        .await
    }

    /// Counts of the votes and ratings on this message.
    async fn feedback_summary(&self, ctx: &Context<'_>) -> Result<FeedbackSummary> {
        let key = FeedbackOf {
            owner: FeedbackOwner::Message,
            parent: self.0.id,
        };
        Ok(FeedbackSummary(load(ctx, key).await?.unwrap_or_default()))
    }

    /// The caller's own vote or rating; null when they gave none (or are anonymous).
    async fn viewer_feedback(&self, ctx: &Context<'_>) -> Result<Option<MessageFeedback>> {
        Ok(load(ctx, ViewerFeedback(self.0.id)).await?.map(MessageFeedback))
    }

    /// Files attached to this message (the first 20).
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<FileAttachment>> {
        item_list(ctx, AttachmentsByMessage(self.0.id), false, FileAttachment).await
    }

    /// The passages of documents this answer was given (an assistant with datasources), by
    /// their number; the answer cites them as `[1]`, `[2]`, ...
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn citations(&self, ctx: &Context<'_>) -> Result<Vec<Citation>> {
        let rows = load(ctx, CitationsByMessage(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Citation).collect())
    }

    /// The stream that produced this message (model answers), if any.
    async fn stream(&self, ctx: &Context<'_>) -> Result<Option<MessageStream>> {
        let rows = load(ctx, StreamsByMessage(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().last().map(MessageStream))
    }

    /// When it was posted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The chat it belongs to.
    async fn chat(&self, ctx: &Context<'_>) -> Result<Chat> {
        load_required(ctx, ChatById(self.0.chat_id), "chat").await.map(Chat)
    }
}

/// Counts of votes and ratings.
pub struct FeedbackSummary(pub FeedbackCounts);

/// Counts of votes and ratings.
#[Object]
impl FeedbackSummary {
    /// Thumbs up.
    async fn upvotes(&self) -> i64 {
        self.0.upvotes
    }

    /// Thumbs down.
    async fn downvotes(&self) -> i64 {
        self.0.downvotes
    }

    /// How many gave a rating.
    async fn ratings(&self) -> i64 {
        self.0.ratings
    }

    /// Average rating (1 to 5); null when nobody rated.
    async fn average_rating(&self) -> Option<f64> {
        self.0.average_rating
    }

    /// How many left a comment.
    async fn comments(&self) -> i64 {
        self.0.comments
    }
}

/// One user's vote, rating or comment on a message.
pub struct MessageFeedback(pub MessageFeedbackRow);

/// One user's vote, rating or comment on a message.
#[Object]
impl MessageFeedback {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("MessageFeedback", self.0.id)
    }

    /// True for thumbs up, false for thumbs down, null for no vote.
    async fn is_upvoted(&self) -> Option<bool> {
        self.0.is_upvoted
    }

    /// Rating from 1 to 5, if given.
    async fn rating(&self) -> Option<i32> {
        self.0.rating.map(i32::from)
    }

    /// Comment, if given.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// When it was given.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The delivery of a model answer as a stream of events.
pub struct MessageStream(pub MessageStreamRow);

/// The delivery of a model answer as a stream of events.
#[Object]
impl MessageStream {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("MessageStream", self.0.id)
    }

    /// Its state.
    async fn status(&self) -> StreamStatus {
        self.0.status
    }

    /// Sequence number of the last event sent.
    async fn last_seq(&self) -> i32 {
        self.0.last_seq
    }

    /// Why it failed, if it did (a user-facing reason).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The message it produces.
    async fn message_id(&self) -> ID {
        global_id("Message", self.0.message_id)
    }

    /// When it started.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}
