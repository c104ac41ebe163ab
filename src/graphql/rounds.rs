//! The scheduling rounds of a request, so that a DataLoader batch holds every key of a round
//! without sleeping.
//!
//! async-graphql resolves the fields of a query level inside the request's one task: in one
//! poll of it, every resolver of the level that needs a row asks its loader for a key. The
//! first ask spawns the loader's fetch. If the fetch ran at once (on the other worker thread),
//! it would take the keys asked for so far and leave the rest to a second statement; if it
//! slept a fixed time, every level would wait that long. Instead, [`Rounds`] counts the
//! request's rounds, and the fetch ([`RoundCounter::after`]) waits for the end of the round in
//! which it was spawned: then every resolver of the round has asked. A round ends with a poll
//! after which the request waits for something outside it (a fetch, the database); a poll that
//! ends because the request woke itself (a list of more than 30 items yields to the scheduler
//! partway, as does a task that used up its cooperative budget) does not end the round. A
//! request executed without a counter (none is wrapped) falls back to one yield.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use async_graphql::{Data, futures_util::Stream};
use tokio::sync::Notify;

use super::context::request_context;

/// Counts the polls of one request's execution that have ended.
#[derive(Debug, Default)]
pub struct RoundCounter {
    ended: AtomicU64,
    counting: AtomicBool,
    notify: Notify,
}

impl RoundCounter {
    /// The number of the current round (the polls ended so far).
    pub fn current(&self) -> u64 {
        self.ended.load(Ordering::Acquire)
    }

    /// Resolves once round `round` has ended (at once if it has, after one yield when the
    /// request's polls are not being counted).
    pub async fn after(&self, round: u64) {
        if !self.counting.load(Ordering::Acquire) {
            tokio::task::yield_now().await;
            return;
        }
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.current() > round {
                return;
            }
            notified.await;
        }
    }

    fn end_round(&self) {
        self.ended.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }
}

/// The counter and id of the request whose data is `data` (a counter nobody waits on when it
/// has no [`RequestContext`]), to count the polls of its executions with.
#[derive(Clone)]
pub struct Counting {
    counter: Arc<RoundCounter>,
    request_id: Arc<str>,
}

impl Counting {
    /// The counting of the request with data `data`.
    pub fn of(data: &Data) -> Self {
        match request_context(data) {
            Some(context) => Counting {
                counter: context.rounds(),
                request_id: Arc::from(context.request_id()),
            },
            None => Counting {
                counter: Arc::default(),
                request_id: Arc::from(""),
            },
        }
    }

    /// `inner`, its polls counted.
    pub fn rounds<T>(&self, inner: T) -> Rounds<T> {
        self.counter.counting.store(true, Ordering::Release);
        Rounds {
            inner: Box::pin(inner),
            counter: self.counter.clone(),
            request_id: self.request_id.clone(),
            waker: None,
        }
    }
}

/// A request's execution (a future, or a stream for subscriptions and WebSocket operations)
/// whose polls are counted by a [`RoundCounter`].
pub struct Rounds<T> {
    inner: Pin<Box<T>>,
    counter: Arc<RoundCounter>,
    request_id: Arc<str>,
    /// The waker of the last poll, used again while the task's waker stays the same (so the
    /// wakers the request registered stay current, and a poll allocates nothing).
    waker: Option<Arc<PollWaker>>,
}

/// The waker a poll hands to the request: it notes whether the request woke itself during
/// that poll (then the round goes on).
struct PollWaker {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for PollWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

impl<T> Rounds<T> {
    /// Polls the request once; ends the round unless it woke itself meanwhile.
    fn poll_round<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let waker = match &self.waker {
            Some(waker) if waker.task.will_wake(cx.waker()) => {
                waker.woken.store(false, Ordering::Release);
                waker.clone()
            }
            _ => {
                let waker = Arc::new(PollWaker {
                    woken: AtomicBool::new(false),
                    task: cx.waker().clone(),
                });
                self.waker = Some(waker.clone());
                waker
            }
        };
        let polled = crate::error::REQUEST_ID.sync_scope(self.request_id.clone(), || {
            poll(
                self.inner.as_mut(),
                &mut Context::from_waker(&Waker::from(waker.clone())),
            )
        });
        if polled.is_ready() || !waker.woken.load(Ordering::Acquire) {
            self.counter.end_round();
        }
        polled
    }
}

impl<T: Future> Future for Rounds<T> {
    type Output = T::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        self.poll_round(cx, |inner, cx| inner.poll(cx))
    }
}

impl<T: Stream> Stream for Rounds<T> {
    type Item = T::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        self.poll_round(cx, |inner, cx| inner.poll_next(cx))
    }
}

impl<T> Drop for Rounds<T> {
    fn drop(&mut self) {
        // A fetch still waiting must not wait for a poll that will never come.
        self.counter.counting.store(false, Ordering::Release);
        self.counter.end_round();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fetch_waits_for_the_end_of_the_poll_that_spawned_it() {
        let counter = Arc::new(RoundCounter::default());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiting = counter.clone();
        let request = async move {
            let round = waiting.current();
            let fetch = tokio::spawn({
                let waiting = waiting.clone();
                async move {
                    waiting.after(round).await;
                    waiting.current()
                }
            });
            // Still in the poll that spawned the fetch: the fetch has not run.
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(!fetch.is_finished());
            tx.send(()).ok();
            fetch.await.expect("fetch")
        };
        let counting = Counting {
            counter: counter.clone(),
            request_id: Arc::from("test"),
        };
        let seen_at = counting.rounds(request).await;
        assert!(rx.await.is_ok());
        assert!(seen_at >= 1, "the fetch ran after round 0 ended");
    }
}
