//! The subscription root: following an answer while it is generated (`messageStream`), the
//! changes of a chat (`chatEvents`) and a project's jobs (`jobUpdated`).
//! Read access is checked when a subscription starts and again every few seconds; a follower
//! who lost it (signed out, removed from the project) gets an error event and the end.

use std::sync::Arc;

use async_graphql::{
    Context, Enum, ID, Result, SimpleObject, Subscription,
    futures_util::{
        Stream, StreamExt,
        stream::{self, BoxStream},
    },
};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::{
    chat::Chat,
    context::ContextExt,
    fanout::HandOver,
    job::Job,
    message::Message,
    node::{global_id, input_id},
    tool::ToolCall,
};
use crate::{
    auth::{
        authz::Scope,
        grant::{self, Permission, Place},
    },
    db::{Pool, enums::MessageStatus},
    error::{AppError, AppResult},
    models::{
        chat::ChatRow,
        job::JobRow,
        message::{ChatMessage, MessageRow},
    },
    pubsub::{ChatChange, Notice},
    services::{
        auth::{self, Caller},
        generation::follow::{AccessCheck, StreamEvent},
    },
};

/// One event of `messageStream`. Concatenating the `delta`s of every event a subscriber
/// receives gives exactly the answer's final `content`.
#[derive(SimpleObject)]
pub struct MessageStreamEvent {
    /// Bytes (UTF-8) of the answer up to the end of this delta. Resume after it with
    /// `afterSeq` (or the SSE `Last-Event-ID`).
    pub seq: i32,
    /// The text since the previous event (on the first event of a subscription that joined
    /// mid-stream: all the text so far).
    pub delta: String,
    /// `STREAMING` until the last event, which carries the final status.
    pub status: MessageStatus,
    /// Tool calls that started or ended since the previous event, as they stand now (the
    /// first event of a subscription carries every call so far). Identify a call by
    /// `round` and `callId`: a later event about it replaces the earlier one.
    pub tool_calls: Vec<ToolCall>,
    /// The whole message, on the last event only (tokens, cost, finish reason).
    pub message: Option<Message>,
}

impl From<StreamEvent> for MessageStreamEvent {
    fn from(event: StreamEvent) -> Self {
        MessageStreamEvent {
            seq: i32::try_from(event.seq).unwrap_or(i32::MAX),
            delta: event.delta,
            status: event.status,
            tool_calls: event.tool_calls.into_iter().map(ToolCall).collect(),
            message: event.message.map(Message),
        }
    }
}

/// What happened in a chat.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ChatEventKind {
    /// A message was added (a user message, or an answer that starts streaming).
    MessageAdded,
    /// A message's text or status changed (an edit).
    MessageUpdated,
    /// A message was deleted (`message` is null; see `messageId`).
    MessageDeleted,
    /// An answer started streaming: follow it with `messageStream`.
    StreamStarted,
    /// An answer finished (complete, failed or cancelled).
    StreamFinished,
    /// The chat's title changed.
    ChatRenamed,
    /// Events may have been missed (the server reconnected to the database, or this
    /// subscriber fell far behind): read the chat again.
    Resync,
}

impl From<ChatChange> for ChatEventKind {
    fn from(change: ChatChange) -> Self {
        match change {
            ChatChange::MessageAdded => ChatEventKind::MessageAdded,
            ChatChange::MessageUpdated => ChatEventKind::MessageUpdated,
            ChatChange::MessageDeleted => ChatEventKind::MessageDeleted,
            ChatChange::StreamStarted => ChatEventKind::StreamStarted,
            ChatChange::StreamFinished => ChatEventKind::StreamFinished,
            ChatChange::ChatRenamed => ChatEventKind::ChatRenamed,
        }
    }
}

/// One change in a chat, for keeping every open tab of it in sync.
#[derive(SimpleObject)]
pub struct ChatEvent {
    /// What happened.
    pub kind: ChatEventKind,
    /// The chat as it is now.
    pub chat: Chat,
    /// The message concerned as it is now (null when deleted, or for chat-wide events).
    pub message: Option<Message>,
    /// The id of the message concerned (also for a deleted one).
    pub message_id: Option<ID>,
}

/// The `Last-Event-ID` of a reconnecting server-sent-events client: `messageStream`
/// resumes after it when no `afterSeq` is given.
#[derive(Debug, Clone, Copy)]
pub struct LastEventId(pub i32);

/// Live events.
#[derive(Default)]
pub struct Subscription;

/// Live events at `/graphql`: over WebSocket (graphql-transport-ws or graphql-ws), or as
/// server-sent events (`Accept: text/event-stream`).
#[Subscription]
impl Subscription {
    /// The answer `messageId` as it is generated: without `afterSeq`, first one event with
    /// all the text so far, then the new text as it comes; with `afterSeq: N`, exactly the
    /// text after sequence number N. The last event carries the final status and the
    /// message; then the subscription completes. A finished message gives one event.
    async fn message_stream(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message (an answer being generated, or any message).")] message_id: ID,
        #[graphql(desc = "The `seq` of the last event received, to resume after it.")] after_seq: Option<i32>,
    ) -> Result<BoxStream<'static, Result<MessageStreamEvent>>> {
        let request = ctx.request();
        let request_id = request.request_id().to_owned();
        let event = move |event: AppResult<StreamEvent>| {
            event
                .map(MessageStreamEvent::from)
                .map_err(|e| e.into_graphql(Some(&request_id)))
        };
        let id = input_id(&message_id, "Message", "messageId").map_err(|e| ctx.error(e))?;
        let generations = request.generations().clone();
        let mut conn = ctx.conn().await?;
        let found = ChatMessage::find(&mut conn, id).await.map_err(|e| ctx.error(e))?;
        let scope = request.shared_scope();
        let target = match found {
            Some(found)
                if scope
                    .sees_chat(&mut conn, &found.chat)
                    .await
                    .map_err(|e| ctx.error(e))? =>
            {
                found
            }
            _ => return Err(ctx.error(AppError::NotFound("message"))),
        };
        drop(conn);
        let check = access_check(
            generations.pool().clone(),
            request.caller().cloned(),
            scope,
            target.chat,
        );
        let after_seq = after_seq.or_else(|| ctx.data_opt::<LastEventId>().map(|id| id.0));
        let events = generations
            .follow(&target.message, after_seq, check)
            .map_err(|e| ctx.error(e))?;
        // Run by `fanout`, which follows beside the engine and sends only what to render.
        if let Some(hand_over) = ctx.data_opt::<HandOver>() {
            return Ok(hand_over.put(target.message.id, events.boxed()).map(event).boxed());
        }
        Ok(events.map(event).boxed())
    }

    /// Changes in a chat as they happen on any server (messages added, edited, deleted;
    /// answers started and finished; renames), so every tab of a chat stays in sync. Ends
    /// with an error event when the caller can no longer read the chat.
    async fn chat_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat to follow.")] chat_id: ID,
    ) -> Result<impl Stream<Item = Result<ChatEvent>> + use<>> {
        let request = ctx.request();
        let id = input_id(&chat_id, "Chat", "chatId").map_err(|e| ctx.error(e))?;
        let generations = request.generations().clone();
        // Listening starts before the check, so nothing between the two is missed.
        let notices = generations.notices();
        let mut conn = ctx.conn().await?;
        let scope = request.shared_scope();
        let chat = match ChatRow::find(&mut conn, id).await.map_err(|e| ctx.error(e))? {
            Some(chat) if scope.sees_chat(&mut conn, &chat).await.map_err(|e| ctx.error(e))? => chat,
            _ => return Err(ctx.error(AppError::NotFound("chat"))),
        };
        drop(conn);
        let chat_id = chat.id;
        let follower = ChatFollower {
            watch: Watch {
                notices,
                check: access_check(generations.pool().clone(), request.caller().cloned(), scope, chat),
                every: generations.settings().access_check,
                ended: false,
            },
            chat_id,
            pool: generations.pool().clone(),
        };
        let request_id = request.request_id().to_owned();
        Ok(stream::unfold(follower, |mut follower| async move {
            let event = follower.next().await?;
            Some((event, follower))
        })
        .map(move |event| event.map_err(|e| e.into_graphql(Some(&request_id)))))
    }

    /// A project's jobs as they change on any server: each time one is queued, claimed,
    /// reports progress or ends, the job as it is when the event is sent (a fast job may
    /// skip a state). For the project's admins (`project.update`); ends with an error event
    /// when the caller loses that right.
    async fn job_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project whose jobs to follow.")] project_id: ID,
    ) -> Result<impl Stream<Item = Result<Job>> + use<>> {
        let request = ctx.request();
        let id = input_id(&project_id, "Project", "projectId").map_err(|e| ctx.error(e))?;
        let generations = request.generations().clone();
        // Listening starts before the check, so nothing between the two is missed.
        let notices = generations.notices();
        let pool = generations.pool().clone();
        let mut follower = JobFollower {
            watch: Watch {
                notices,
                check: jobs_access_check(pool.clone(), request.caller().cloned(), request.shared_scope(), id),
                every: generations.settings().access_check,
                ended: false,
            },
            project_id: id,
            pool,
        };
        (follower.watch.check)().await.map_err(|e| ctx.error(e))?;
        let request_id = request.request_id().to_owned();
        Ok(stream::unfold(follower, |mut follower| async move {
            let event = follower.next().await?;
            Some((event, follower))
        })
        .map(move |event| event.map_err(|e| e.into_graphql(Some(&request_id)))))
    }
}

/// What a follower waits on: the process's notices, with the caller's access checked every
/// `every` while none comes and before each relevant one. An access error ends the watch.
struct Watch {
    notices: tokio::sync::broadcast::Receiver<Notice>,
    check: AccessCheck,
    every: std::time::Duration,
    ended: bool,
}

impl Watch {
    /// The next notice `relevant` maps to a value (the rest are skipped); None once the watch
    /// ended or the notices closed.
    async fn next<T>(
        &mut self,
        relevant: impl Fn(Result<Notice, RecvError>) -> Option<T>,
    ) -> Option<Result<T, AppError>> {
        if self.ended {
            return None;
        }
        loop {
            let notice = tokio::select! {
                notice = self.notices.recv() => notice,
                () = tokio::time::sleep(self.every) => {
                    if let Err(error) = (self.check)().await {
                        self.ended = true;
                        return Some(Err(error));
                    }
                    continue;
                }
            };
            if matches!(notice, Err(RecvError::Closed)) {
                return None;
            }
            let Some(value) = relevant(notice) else {
                continue;
            };
            if let Err(error) = (self.check)().await {
                self.ended = true;
                return Some(Err(error));
            }
            return Some(Ok(value));
        }
    }
}

/// The jobs of one project for one follower (who holds `project.update` there).
struct JobFollower {
    watch: Watch,
    project_id: Uuid,
    pool: Pool,
}

impl JobFollower {
    async fn next(&mut self) -> Option<Result<Job, AppError>> {
        let project = self.project_id;
        loop {
            let job_id = match self
                .watch
                .next(|notice| match notice {
                    Ok(Notice::JobChanged { job_id, project_id }) if project_id == project => Some(job_id),
                    _ => None,
                })
                .await?
            {
                Ok(job_id) => job_id,
                Err(error) => return Some(Err(error)),
            };
            let job = async {
                let mut conn = self.pool.get().await?;
                Ok::<_, AppError>(JobRow::find(&mut conn, job_id).await?)
            };
            match job.await {
                Ok(Some(job)) if job.project_id == Some(project) => return Some(Ok(Job(job))),
                Ok(_) => continue,
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// The check run while following a project's jobs: the caller still signed in and still
/// holding `project.update` there.
fn jobs_access_check(pool: Pool, caller: Option<Caller>, scope: Arc<Scope>, project_id: Uuid) -> AccessCheck {
    let caller = caller.map(Arc::new);
    Box::new(move || {
        let (pool, caller, scope) = (pool.clone(), caller.clone(), scope.clone());
        Box::pin(async move {
            let mut conn = pool.get().await?;
            if let Some(caller) = &caller
                && !auth::still_signed_in(&mut conn, caller).await?
            {
                return Err(AppError::Unauthenticated);
            }
            let place = Place::Project(project_id);
            grant::authorize(&mut conn, caller.as_deref(), &scope, place, Permission::ProjectUpdate).await?;
            Ok(())
        })
    })
}

/// The events of one chat for one follower.
struct ChatFollower {
    watch: Watch,
    chat_id: Uuid,
    pool: Pool,
}

impl ChatFollower {
    async fn next(&mut self) -> Option<Result<ChatEvent, AppError>> {
        let chat = self.chat_id;
        let found = self
            .watch
            .next(|notice| match notice {
                Ok(Notice::Chat {
                    chat_id,
                    change,
                    message_id,
                }) if chat_id == chat => Some((ChatEventKind::from(change), message_id)),
                Ok(Notice::Resync) | Err(RecvError::Lagged(_)) => Some((ChatEventKind::Resync, None)),
                _ => None,
            })
            .await?;
        Some(match found {
            Ok((kind, message_id)) => self.event(kind, message_id).await,
            Err(error) => Err(error),
        })
    }

    async fn event(&self, kind: ChatEventKind, message_id: Option<Uuid>) -> Result<ChatEvent, AppError> {
        let mut conn = self.pool.get().await?;
        let chat = ChatRow::find(&mut conn, self.chat_id)
            .await?
            .ok_or(AppError::NotFound("chat"))?;
        let message = match message_id {
            Some(id) => MessageRow::find(&mut conn, id).await?.filter(|m| m.chat_id == chat.id),
            None => None,
        };
        Ok(ChatEvent {
            kind,
            chat: Chat(chat),
            message: message.map(Message),
            message_id: message_id.map(|id| global_id("Message", id)),
        })
    }
}

/// The check run while following: the caller still signed in and still able to read the
/// chat (an anonymous caller, a public chat).
fn access_check(pool: Pool, caller: Option<Caller>, scope: Arc<Scope>, chat: ChatRow) -> AccessCheck {
    let (caller, chat) = (caller.map(Arc::new), Arc::new(chat));
    Box::new(move || {
        let (pool, caller, scope, chat) = (pool.clone(), caller.clone(), scope.clone(), chat.clone());
        Box::pin(async move {
            let mut conn = pool.get().await?;
            if let Some(caller) = &caller
                && !auth::still_signed_in(&mut conn, caller).await?
            {
                return Err(AppError::Unauthenticated);
            }
            let current = ChatRow::find(&mut conn, chat.id).await?;
            match current {
                Some(chat) if scope.sees_chat(&mut conn, &chat).await? => Ok(()),
                _ => Err(AppError::NotFound("message")),
            }
        })
    })
}
