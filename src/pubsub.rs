//! Wake-ups between replicas over PostgreSQL `LISTEN`/`NOTIFY` on one channel, `chatgraph`.
//! A payload holds ids only (NOTIFY's limit is 8,000 bytes; the data itself is read from the
//! tables), and a notice is sent inside the transaction that makes the change, so that it
//! is delivered exactly when the change commits, to every replica including the sender.
//!
//! Each process keeps one listening connection. When it drops (a PostgreSQL restart, a
//! network cut), the listener reconnects with backoff and then sends [`Notice::Resync`]:
//! everyone who waits re-reads what they follow from the tables, so nothing missed while the
//! connection was down is lost.

use std::{str::FromStr, time::Duration};

use async_graphql::futures_util::{StreamExt, stream};
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

use crate::db::cached::cached;

/// The channel every notice is sent on.
pub const CHANNEL: &str = "chatgraph";

/// What happened, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A generating message's stored text or status changed.
    Stream(Uuid),
    /// Someone asked to stop the generation of a message.
    Stop(Uuid),
    /// Something changed in a chat (see [`ChatChange`]), about a message when given.
    Chat {
        /// The chat.
        chat_id: Uuid,
        /// What.
        change: ChatChange,
        /// The message concerned.
        message_id: Option<Uuid>,
    },
    /// The platform's providers changed (platform configuration entry `providers`).
    Providers,
    /// Jobs were queued (wakes the workers).
    Jobs,
    /// A project's job changed (queued, claimed, progress, ended): sent by a trigger on
    /// `jobs`, for `jobUpdated`.
    JobChanged {
        /// The job.
        job_id: Uuid,
        /// Its project.
        project_id: Uuid,
    },
    /// The listening connection was re-established: notices may have been missed.
    Resync,
}

/// What changed in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatChange {
    /// A message was added.
    MessageAdded,
    /// A message's text or status changed.
    MessageUpdated,
    /// A message was deleted.
    MessageDeleted,
    /// A generation started.
    StreamStarted,
    /// A generation ended.
    StreamFinished,
    /// The chat's title changed.
    ChatRenamed,
}

impl ChatChange {
    const ALL: [(ChatChange, &'static str); 6] = [
        (ChatChange::MessageAdded, "added"),
        (ChatChange::MessageUpdated, "updated"),
        (ChatChange::MessageDeleted, "deleted"),
        (ChatChange::StreamStarted, "started"),
        (ChatChange::StreamFinished, "finished"),
        (ChatChange::ChatRenamed, "renamed"),
    ];

    fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("updated", |(_, s)| s)
    }
}

impl Notice {
    /// The payload sent with NOTIFY.
    pub fn payload(&self) -> String {
        match self {
            Notice::Stream(id) => format!("s:{id}"),
            Notice::Stop(id) => format!("x:{id}"),
            Notice::Chat {
                chat_id,
                change,
                message_id,
            } => format!(
                "c:{chat_id}:{}:{}",
                change.as_str(),
                message_id.map(|id| id.to_string()).unwrap_or_default()
            ),
            Notice::Providers => "p".to_owned(),
            Notice::Jobs => "j".to_owned(),
            Notice::JobChanged { job_id, project_id } => format!("jc:{job_id}:{project_id}"),
            Notice::Resync => "r".to_owned(),
        }
    }

    /// The notice of a payload (None for one this version does not know).
    pub fn parse(payload: &str) -> Option<Notice> {
        let mut parts = payload.split(':');
        let notice = match parts.next()? {
            "s" => Notice::Stream(Uuid::from_str(parts.next()?).ok()?),
            "x" => Notice::Stop(Uuid::from_str(parts.next()?).ok()?),
            "c" => {
                let chat_id = Uuid::from_str(parts.next()?).ok()?;
                let change = parts.next()?;
                let change = ChatChange::ALL.iter().find(|(_, s)| *s == change)?.0;
                let message_id = parts
                    .next()
                    .filter(|s| !s.is_empty())
                    .map(Uuid::from_str)
                    .transpose()
                    .ok()?;
                Notice::Chat {
                    chat_id,
                    change,
                    message_id,
                }
            }
            "p" => Notice::Providers,
            "j" => Notice::Jobs,
            "jc" => Notice::JobChanged {
                job_id: Uuid::from_str(parts.next()?).ok()?,
                project_id: Uuid::from_str(parts.next()?).ok()?,
            },
            "r" => Notice::Resync,
            _ => return None,
        };
        Some(notice)
    }
}

/// Sends `notice` on `conn`: inside a transaction, it goes out when that commits.
pub async fn publish(conn: &mut AsyncPgConnection, notice: Notice) -> diesel::QueryResult<()> {
    cached(format!("SELECT pg_notify('{CHANNEL}', $1)::text AS notified"))
        .bind::<Text, _>(notice.payload())
        .execute(conn)
        .await?;
    Ok(())
}

/// Sends the notice that `change` happened in chat `chat_id` (see [`publish`]).
pub async fn chat_changed(
    conn: &mut AsyncPgConnection,
    chat_id: Uuid,
    change: ChatChange,
    message_id: Option<Uuid>,
) -> diesel::QueryResult<()> {
    publish(
        conn,
        Notice::Chat {
            chat_id,
            change,
            message_id,
        },
    )
    .await
}

/// The notices of this process, fanned out to every local listener.
#[derive(Clone)]
pub struct PubSub {
    sender: broadcast::Sender<Notice>,
}

/// Notices a slow local listener may fall behind by before it is told it lagged (and
/// resynchronises from the tables).
const BACKLOG: usize = 4_096;

impl PubSub {
    /// A pub/sub that only delivers what is sent with [`PubSub::deliver`] (no database).
    pub fn local() -> Self {
        PubSub {
            sender: broadcast::channel(BACKLOG).0,
        }
    }

    /// Listens on `url` in a background task that lives as long as the process, reconnecting
    /// after failures.
    pub fn listen(url: &SecretString) -> Self {
        let pubsub = Self::local();
        let (url, sender) = (url.clone(), pubsub.sender.clone());
        tokio::spawn(async move {
            let mut failures: u32 = 0;
            loop {
                match listen_once(&url, &sender, failures > 0).await {
                    Ok(()) => failures = 0,
                    Err(error) => {
                        failures += 1;
                        tracing::warn!(error = %error, attempt = failures, "LISTEN connection lost; reconnecting");
                    }
                }
                let backoff = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                tokio::time::sleep(backoff).await;
            }
        });
        pubsub
    }

    /// Local notices from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.sender.subscribe()
    }

    /// Hands `notice` to the local listeners.
    pub fn deliver(&self, notice: Notice) {
        // No receiver is not an error: nobody is waiting.
        let _ = self.sender.send(notice);
    }
}

/// One listening connection until it fails. `resync` sends [`Notice::Resync`] once listening.
async fn listen_once(url: &SecretString, sender: &broadcast::Sender<Notice>, resync: bool) -> anyhow::Result<()> {
    let (client, mut connection) = tokio_postgres::connect(url.expose_secret(), NoTls).await?;
    let (notices_tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if notices_tx.send(notification.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    if resync {
        let _ = sender.send(Notice::Resync);
    }
    tracing::debug!("listening for notices");
    while let Some(payload) = notices.recv().await {
        match Notice::parse(&payload) {
            Some(notice) => {
                let _ = sender.send(notice);
            }
            None => tracing::debug!(payload, "unknown notice"),
        }
    }
    drop(client);
    driver.await??;
    anyhow::bail!("the LISTEN connection closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_through_their_payload() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for notice in [
            Notice::Stream(a),
            Notice::Stop(a),
            Notice::Providers,
            Notice::Jobs,
            Notice::JobChanged {
                job_id: a,
                project_id: b,
            },
            Notice::Resync,
            Notice::Chat {
                chat_id: a,
                change: ChatChange::StreamFinished,
                message_id: Some(b),
            },
            Notice::Chat {
                chat_id: a,
                change: ChatChange::ChatRenamed,
                message_id: None,
            },
        ] {
            assert_eq!(Notice::parse(&notice.payload()), Some(notice));
            assert!(notice.payload().len() < 100);
        }
        assert_eq!(Notice::parse("s:not-a-uuid"), None);
        assert_eq!(Notice::parse("q:1"), None);
    }
}
