//! The subscription root: following an answer while it is generated (`messageStream`).
//! Read access is checked when a subscription starts and again every few seconds; a follower
//! who lost it (signed out, removed from the project) gets an error event and the end.

use std::sync::Arc;

use async_graphql::{
    Context, ID, Result, SimpleObject, Subscription,
    futures_util::{Stream, StreamExt},
};

use super::{context::ContextExt, message::Message, node::input_id};
use crate::{
    auth::authz::Scope,
    db::{Pool, enums::MessageStatus},
    error::AppError,
    models::{chat::ChatRow, message::ChatMessage},
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
    /// The whole message, on the last event only (tokens, cost, finish reason).
    pub message: Option<Message>,
}

impl From<StreamEvent> for MessageStreamEvent {
    fn from(event: StreamEvent) -> Self {
        MessageStreamEvent {
            seq: i32::try_from(event.seq).unwrap_or(i32::MAX),
            delta: event.delta,
            status: event.status,
            message: event.message.map(Message),
        }
    }
}

/// Live events.
#[derive(Default)]
pub struct Subscription;

/// Live events over WebSocket (graphql-transport-ws or graphql-ws) at `/graphql`.
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
    ) -> Result<impl Stream<Item = Result<MessageStreamEvent>> + use<>> {
        let request = ctx.request();
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
        let events = generations
            .follow(&target.message, after_seq, check)
            .map_err(|e| ctx.error(e))?;
        let request_id = request.request_id().to_owned();
        Ok(events.map(move |event| {
            event
                .map(MessageStreamEvent::from)
                .map_err(|e| e.into_graphql(Some(&request_id)))
        }))
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
