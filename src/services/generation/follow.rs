//! Following one message's text as events: the text after a sequence number, then live
//! deltas, then one last event with the final status and row.
//!
//! The contract: the concatenated deltas a follower receives are exactly the final text,
//! wherever it joins. It holds by construction: a follower keeps the byte offset it has
//! delivered up to, and every event carries the text from there to what the cell holds now,
//! so a replay, a hand-over to live text and a resync after a missed wake-up all read the
//! same growing text. Nothing is queued per follower: a slow one reads everything that
//! accumulated at its next event.

use std::{sync::Arc, time::Duration};

use async_graphql::futures_util::{FutureExt, Stream, future::BoxFuture, stream};
use tokio::time::Instant;

use super::{Generations, Live, ToolActivity, tool_log_of};
use crate::{
    db::enums::MessageStatus,
    error::{AppError, AppResult, FieldError},
    models::message::MessageRow,
};

/// How long a follower of another replica's generation waits for a wake-up before it reads
/// the table anyway (a notice lost with a dropped connection costs at most this).
pub const POLL: Duration = Duration::from_secs(2);

/// One event of a followed message.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// Bytes of text up to the end of this delta.
    pub seq: usize,
    /// Text after the previous event's `seq`.
    pub delta: String,
    /// `streaming` until the last event.
    pub status: MessageStatus,
    /// The tool calls that started or ended since the previous event (on the first event of
    /// a subscription: every call so far, as it stands).
    pub tool_calls: Vec<ToolActivity>,
    /// The final row, on the last event.
    pub message: Option<MessageRow>,
}

/// Checks, now and then while following, that the follower may still read the message.
pub type AccessCheck = Box<dyn FnMut() -> BoxFuture<'static, AppResult<()>> + Send + Sync>;

struct Follower {
    generations: Generations,
    live: Arc<Live>,
    progress: tokio::sync::watch::Receiver<super::Progress>,
    message_id: uuid::Uuid,
    sent: usize,
    calls_sent: u64,
    last_event: Option<Instant>,
    last_check: Instant,
    check: AccessCheck,
    /// How often `check` runs.
    check_every: Duration,
    /// Shortest time between two events.
    coalesce: Duration,
    /// The access check under way: it runs beside the deltas, not in front of them (many
    /// followers that joined together check together, and would queue for the pool).
    checking: Option<BoxFuture<'static, AppResult<()>>>,
    done: bool,
}

impl Generations {
    /// The events of `message` after byte `after` (from the start when None). A bad `after`
    /// (negative, inside a character, past the end of a finished text) is an input error.
    pub fn follow(
        &self,
        message: &MessageRow,
        after: Option<i32>,
        check: AccessCheck,
    ) -> AppResult<impl Stream<Item = AppResult<StreamEvent>> + Send + use<>> {
        let live = self.live(message);
        let progress = live.progress();
        let sent = match after {
            None => 0,
            Some(after) => {
                let after = usize::try_from(after).map_err(|_| bad_after("afterSeq must be 0 or more"))?;
                let finished = progress.status != MessageStatus::Streaming;
                if after > progress.len && finished {
                    return Err(bad_after("afterSeq is past the end of the message"));
                }
                if after <= progress.len && live.slice(after, progress.len).is_none() {
                    return Err(bad_after("afterSeq is not a sequence number of this message"));
                }
                after
            }
        };
        let settings = self.settings();
        let follower = Follower {
            generations: self.clone(),
            check_every: settings.access_check,
            coalesce: settings.coalesce,
            progress: live.watch(),
            live,
            message_id: message.id,
            sent,
            calls_sent: 0,
            last_event: None,
            last_check: Instant::now(),
            check,
            checking: None,
            done: false,
        };
        Ok(stream::unfold(follower, |mut follower| async move {
            let event = follower.next().await?;
            Some((event, follower))
        }))
    }
}

fn bad_after(message: &str) -> AppError {
    FieldError {
        field: vec!["afterSeq".into()],
        message: message.into(),
        code: "INVALID_SEQ",
    }
    .into()
}

impl Follower {
    async fn next(&mut self) -> Option<AppResult<StreamEvent>> {
        if self.done {
            return None;
        }
        loop {
            if self.checking.is_none() && self.last_check.elapsed() >= self.check_every {
                self.checking = Some((self.check)());
            }
            let checked = self.checking.as_mut().and_then(|check| check.now_or_never());
            if let Some(result) = checked {
                if let Err(error) = self.checked(result) {
                    return Some(Err(error));
                }
                continue;
            }
            let progress = *self.progress.borrow_and_update();
            if progress.status != MessageStatus::Streaming {
                self.done = true;
                return Some(self.last(progress.len, progress.status).await);
            }
            if progress.len > self.sent || progress.calls > self.calls_sent {
                // Deltas closer together than `coalesce` go out as one event.
                let wait = self
                    .last_event
                    .map_or(Duration::ZERO, |at| self.coalesce.saturating_sub(at.elapsed()));
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let delta = self.live.slice(self.sent, progress.len).unwrap_or_default();
                self.sent = self.sent.max(progress.len);
                let tool_calls = self.live.calls_after(self.calls_sent);
                self.calls_sent = tool_calls
                    .iter()
                    .map(|c| c.version)
                    .max()
                    .unwrap_or(self.calls_sent)
                    .max(progress.calls);
                self.last_event = Some(Instant::now());
                return Some(Ok(StreamEvent {
                    seq: self.sent,
                    delta,
                    status: MessageStatus::Streaming,
                    tool_calls,
                    message: None,
                }));
            }
            tokio::select! {
                _ = self.progress.changed() => {}
                Some(result) = async { Some(self.checking.as_mut()?.await) } => {
                    if let Err(error) = self.checked(result) {
                        return Some(Err(error));
                    }
                }
                // Only another replica's generation can change without a wake-up here.
                () = async { tokio::time::sleep(POLL).await }, if !self.live.is_local() => {
                    self.generations.refresh(self.message_id, false).await;
                }
            }
        }
    }

    /// Takes the result of an access check (the next is due `access_check` from now); an
    /// error ends the stream.
    fn checked(&mut self, result: AppResult<()>) -> AppResult<()> {
        self.checking = None;
        self.last_check = Instant::now();
        self.done = result.is_err();
        result
    }

    /// The last event: the rest of the text, the final status and the row.
    async fn last(&mut self, len: usize, status: MessageStatus) -> AppResult<StreamEvent> {
        let (pool, id) = (self.generations.pool(), self.message_id);
        let row = self
            .live
            .ended_row(async || Ok(MessageRow::find(&mut *pool.get().await?, id).await?))
            .await?;
        // The row is the truth at the end (a follower of another replica may have missed the
        // last flush); it only ever extends what was sent.
        let text = row.as_ref().map_or_else(|| self.live.text(), |r| r.content.clone());
        let delta = text.get(self.sent..).map(str::to_owned).unwrap_or_default();
        self.sent = text.len().max(len);
        // The changes not delivered yet: from the log when this process has it, else each
        // call as the row says it ended.
        let log = self.live.calls_after(0);
        let calls = if log.last().is_some_and(|c| c.version > self.calls_sent) {
            log
        } else {
            row.as_ref().map(tool_log_of).unwrap_or_default()
        };
        let tool_calls = calls.into_iter().filter(|c| c.version > self.calls_sent).collect();
        Ok(StreamEvent {
            seq: text.len(),
            delta,
            status: row.as_ref().map_or(status, |r| r.status),
            tool_calls,
            message: row,
        })
    }
}
