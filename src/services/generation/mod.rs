//! Model answers: generating them in the background and following them live.
//!
//! `sendMessage` stores an assistant message with status `streaming` and a `message_streams`
//! row, then hands a [`Job`] to [`Generations::start`]. The generation runs in a task of this
//! process ([`run`]): its text grows in a [`Live`] cell that local subscribers read at once,
//! and is flushed to the message row every [`Settings::flush_every`] with a `NOTIFY`, so
//! subscribers on other replicas follow it from the table ([`follow`]). The end (text, status,
//! tokens, cost, usage event, chat totals, quota) is written in one transaction.
//!
//! Every flush (and a heartbeat when the model is silent) renews the stream's lease
//! (`message_streams.updated_at`). Each process reaps streams whose lease ran out: their
//! messages become `failed` with finish reason `interrupted`, their text so far kept. The
//! sequence number of an event is the length in bytes (UTF-8) of the text up to the end of its
//! delta, so any replica can answer "the text after N" from what it has.

pub mod answer;
pub mod follow;
pub mod grounding;
pub mod prompt;
mod run;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, RwLock, Weak},
    time::{Duration, Instant},
};

use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Text, Uuid as SqlUuid},
};
use diesel_async::RunQueryDsl;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    db::{Pool, cached::cached, enums::MessageStatus},
    error::AppResult,
    models::message::MessageRow,
    providers::{
        CompletionRequest,
        registry::{Providers, ResolvedModel},
    },
    pubsub::{CHANNEL, Notice, PubSub},
    services::auth::Authenticator,
};

/// Timings of generation and following, and where tools reach.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often generated text is written to the message row (and other replicas woken).
    pub flush_every: Duration,
    /// How long a stream whose process stopped renewing it stays `streaming`.
    pub lease: Duration,
    /// Shortest time between two events to one subscriber: deltas arriving faster are merged.
    pub coalesce: Duration,
    /// How often a follower's right to read is checked again.
    pub access_check: Duration,
    /// How long one tool call may take.
    pub tool_call_timeout: Duration,
    /// The GitHub REST API the `github` tools call (`CHATGRAPH_GITHUB_API_URL`).
    pub github_api: Arc<str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            flush_every: Duration::from_millis(250),
            lease: Duration::from_secs(30),
            coalesce: Duration::from_millis(25),
            access_check: Duration::from_secs(5),
            tool_call_timeout: crate::services::tools::CALL_TIMEOUT,
            github_api: Arc::from(crate::services::tools::github::GITHUB_API),
        }
    }
}

/// How far a stream has come: the length of its text, its tool activity and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of text so far.
    pub len: usize,
    /// The version of the latest change of a tool call (0: none yet).
    pub calls: u64,
    /// `streaming` until the end.
    pub status: MessageStatus,
    /// When it last changed (a delivery's delay is measured from here).
    pub at: std::time::Instant,
}

/// Where a tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolStatus {
    /// Called, not answered yet.
    Running,
    /// Answered.
    Succeeded,
    /// Failed (the model was told why).
    Failed,
}

/// One tool call of an answer as followers see it, and as the answer's `metadata.toolCalls`
/// keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolActivity {
    /// The call's id.
    pub id: String,
    /// The tool.
    pub name: String,
    /// Where the tool comes from (`builtin`).
    pub source: String,
    /// The arguments (a JSON object; the text as written when it was not JSON).
    pub arguments: serde_json::Value,
    /// Where it stands.
    pub status: ToolStatus,
    /// The start of its result, once answered.
    pub preview: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, once answered.
    pub duration_ms: Option<u64>,
    /// The model round that called it, from 1.
    pub round: u32,
    /// The `tool` message holding its result, once answered.
    pub message_id: Option<Uuid>,
    /// The change counter of the answer's tool activity when this call last changed.
    pub version: u64,
}

/// The text of one generation as this process knows it: its own generation's (always
/// current) or another replica's (as last read from the table).
pub struct Live {
    text: RwLock<String>,
    calls: RwLock<Vec<ToolActivity>>,
    progress: watch::Sender<Progress>,
    refreshed: Mutex<Option<Instant>>,
    /// The row once the stream ended, read once for all of this process's followers.
    ended: tokio::sync::OnceCell<Option<MessageRow>>,
    /// This process generates it: every change reaches `progress` at once, so its followers
    /// never need to read the table.
    local: bool,
}

impl Live {
    fn new(text: String, status: MessageStatus, calls: Vec<ToolActivity>, local: bool) -> Self {
        let progress = Progress {
            len: text.len(),
            calls: calls.last().map_or(0, |c| c.version),
            status,
            at: std::time::Instant::now(),
        };
        Live {
            text: RwLock::new(text),
            calls: RwLock::new(calls),
            progress: watch::Sender::new(progress),
            refreshed: Mutex::new(None),
            ended: tokio::sync::OnceCell::new(),
            local,
        }
    }

    /// The message's row after the end of the stream, read with `read` by the first follower
    /// to ask; the others share it (a thousand followers of one answer make one statement).
    pub async fn ended_row<F>(&self, read: F) -> AppResult<Option<MessageRow>>
    where
        F: AsyncFnOnce() -> AppResult<Option<MessageRow>>,
    {
        self.ended.get_or_try_init(async || read().await).await.cloned()
    }

    /// Records a change of a tool call (a new one, or its end) under the next version: the
    /// log keeps every change, so a follower sees a call start and end even when both
    /// happened between two of its events.
    fn track(&self, mut activity: ToolActivity) {
        let version = {
            let mut log = self.calls.write().unwrap_or_else(PoisonError::into_inner);
            let version = log.last().map_or(0, |c| c.version) + 1;
            activity.version = version;
            log.push(activity);
            version
        };
        self.progress.send_modify(|p| {
            p.calls = version;
            p.at = std::time::Instant::now();
        });
    }

    /// The changes of tool calls after version `after`, oldest first.
    pub fn calls_after(&self, after: u64) -> Vec<ToolActivity> {
        self.calls
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|c| c.version > after)
            .cloned()
            .collect()
    }

    fn append(&self, delta: &str) {
        let len = {
            let mut text = self.text.write().unwrap_or_else(PoisonError::into_inner);
            text.push_str(delta);
            text.len()
        };
        self.progress.send_modify(|p| {
            p.len = len;
            p.at = std::time::Instant::now();
        });
    }

    /// Takes what the table says: longer text (stored text only grows), newer tool activity
    /// and the status.
    fn update(&self, stored: &str, stored_calls: Vec<ToolActivity>, status: MessageStatus) {
        let len = {
            let mut text = self.text.write().unwrap_or_else(PoisonError::into_inner);
            if stored.len() > text.len() && stored.starts_with(text.as_str()) {
                *text = stored.to_owned();
            }
            text.len()
        };
        let version = {
            let mut log = self.calls.write().unwrap_or_else(PoisonError::into_inner);
            let newest = |log: &[ToolActivity]| log.last().map_or(0, |c| c.version);
            if newest(&stored_calls) > newest(&log) {
                *log = stored_calls;
            }
            newest(&log)
        };
        self.progress.send_if_modified(|p| {
            // A stream ends once: a stale read never makes it streaming again.
            let status = if p.status == MessageStatus::Streaming {
                status
            } else {
                p.status
            };
            let changed = p.len != len || p.status != status || p.calls != version;
            if changed {
                *p = Progress {
                    len,
                    calls: version,
                    status,
                    at: std::time::Instant::now(),
                };
            }
            changed
        });
    }

    fn finish(&self, status: MessageStatus) {
        self.progress.send_modify(|p| {
            p.status = status;
            p.at = std::time::Instant::now();
        });
    }

    /// The text from byte `from` to byte `to` (None when those are not character boundaries).
    pub fn slice(&self, from: usize, to: usize) -> Option<String> {
        self.text
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(from..to)
            .map(str::to_owned)
    }

    /// The whole text so far.
    pub fn text(&self) -> String {
        self.text.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether this process generates it.
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// Where it stands.
    pub fn progress(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Changes from now on.
    pub fn watch(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }
}

/// What one generation needs, prepared (and authorized) by `sendMessage`.
pub struct Job {
    /// The assistant message being written.
    pub message_id: Uuid,
    /// Its chat.
    pub chat_id: Uuid,
    /// The chat's project.
    pub project_id: Uuid,
    /// The project's organization.
    pub organization_id: Uuid,
    /// Who asked.
    pub user_id: Option<Uuid>,
    /// The API token used, if any.
    pub api_token_id: Option<Uuid>,
    /// The model.
    pub model: ResolvedModel,
    /// The organization's own key for it, when it has one.
    pub api_key: Option<SecretString>,
    /// The prompt.
    pub request: CompletionRequest,
    /// The tools the model may call (none: it answers in one round).
    pub tools: Option<crate::services::tools::Toolbox>,
    /// Whether to title the chat after this answer (it still has the default title).
    pub retitle: bool,
}

/// What this process knows of one stream.
struct Entry {
    live: Weak<Live>,
    /// Some while this process generates it: send `true` to stop.
    stop: Option<watch::Sender<bool>>,
}

struct Inner {
    pool: Pool,
    /// The providers of the server's configuration.
    configured: Providers,
    /// Those and the platform configuration's (see [`Generations::reload_providers`]).
    providers: std::sync::RwLock<Arc<Providers>>,
    authenticator: Arc<Authenticator>,
    pubsub: PubSub,
    settings: Settings,
    streams: Mutex<HashMap<Uuid, Entry>>,
    mcp: crate::services::tools::mcp::McpHub,
}

/// The generations of this process and the streams it follows.
#[derive(Clone)]
pub struct Generations {
    inner: Arc<Inner>,
}

impl Generations {
    /// Generations with these providers, woken by `pubsub`. Starts the background task that
    /// renews this process's leases, reaps expired ones and takes notices.
    pub fn start_service(
        pool: Pool,
        providers: Providers,
        authenticator: Arc<Authenticator>,
        pubsub: PubSub,
        settings: Settings,
    ) -> Self {
        let generations = Generations {
            inner: Arc::new(Inner {
                pool,
                providers: std::sync::RwLock::new(Arc::new(providers.clone())),
                configured: providers,
                authenticator,
                pubsub,
                settings,
                streams: Mutex::new(HashMap::new()),
                mcp: crate::services::tools::mcp::McpHub::default(),
            }),
        };
        tokio::spawn(notices(Arc::downgrade(&generations.inner)));
        tokio::spawn(leases(Arc::downgrade(&generations.inner)));
        generations
    }

    /// The providers, as of the last reload.
    pub fn providers(&self) -> Arc<Providers> {
        self.inner
            .providers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The providers of the server's configuration (without the platform configuration's).
    pub fn configured_providers(&self) -> &Providers {
        &self.inner.configured
    }

    /// Reads the platform configuration's providers again (done at start, after
    /// `setPlatformConfig` and on every replica when it notices the change).
    pub async fn reload_providers(&self) {
        self.inner.reload_providers().await;
    }

    /// The token and encryption settings (for an organization's own provider key).
    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    /// This process's connections to MCP servers.
    pub fn mcp(&self) -> crate::services::tools::mcp::McpHub {
        self.inner.mcp.clone()
    }

    /// The same, shared (tools keep it for the answer's lifetime).
    pub fn shared_authenticator(&self) -> Arc<Authenticator> {
        self.inner.authenticator.clone()
    }

    /// This process's notices from now on (every replica's changes, see [`crate::pubsub`]).
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice> {
        self.inner.pubsub.subscribe()
    }

    /// The timings.
    pub fn settings(&self) -> Settings {
        self.inner.settings.clone()
    }

    /// Starts generating `job` (its message and stream rows are committed).
    pub fn start(&self, job: Job) {
        let live = Arc::new(Live::new(String::new(), MessageStatus::Streaming, Vec::new(), true));
        let (stop, stopped) = watch::channel(false);
        self.inner.lock().insert(
            job.message_id,
            Entry {
                live: Arc::downgrade(&live),
                stop: Some(stop),
            },
        );
        tokio::spawn(run::run(self.inner.clone(), job, live, stopped));
    }

    /// Asks the generation of `message_id` to stop, here or on the replica running it. It ends
    /// with status `cancelled`, its text so far kept.
    pub async fn stop(&self, message_id: Uuid) -> AppResult<()> {
        if self.inner.stop_local(message_id) {
            return Ok(());
        }
        let mut conn = self.inner.pool.get().await?;
        crate::pubsub::publish(&mut conn, Notice::Stop(message_id)).await?;
        Ok(())
    }

    /// Waits until `message_id` is no longer streaming, at most `timeout`; its row then.
    pub async fn settled(&self, message_id: Uuid, timeout: Duration) -> AppResult<Option<MessageRow>> {
        let deadline = Instant::now() + timeout;
        loop {
            let row = MessageRow::find(&mut *self.inner.pool.get().await?, message_id).await?;
            if row.as_ref().is_none_or(|r| r.status != MessageStatus::Streaming) || Instant::now() >= deadline {
                return Ok(row);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The live cell of `message` (as read now): this process's own generation, a shared cell
    /// following another replica's, or a finished one.
    pub fn live(&self, message: &MessageRow) -> Arc<Live> {
        let mut streams = self.inner.lock();
        if let Some(live) = streams.get(&message.id).and_then(|e| e.live.upgrade()) {
            return live;
        }
        let live = Arc::new(Live::new(
            message.content.clone(),
            message.status,
            tool_calls_of(message),
            false,
        ));
        if message.status == MessageStatus::Streaming {
            streams.retain(|_, e| e.live.strong_count() > 0);
            streams.insert(
                message.id,
                Entry {
                    live: Arc::downgrade(&live),
                    stop: None,
                },
            );
        }
        live
    }

    /// Re-reads a followed stream of another replica from the table (at most once a
    /// [`Settings::flush_every`] per process when `eager` is false).
    pub async fn refresh(&self, message_id: Uuid, eager: bool) {
        self.inner.refresh(message_id, eager).await;
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_local(&self, message_id: Uuid) -> bool {
        match self.lock().get(&message_id).and_then(|e| e.stop.as_ref()) {
            Some(stop) => {
                stop.send_replace(true);
                true
            }
            None => false,
        }
    }

    /// Forgets this process's generation of `message_id` (it ended).
    fn forget(&self, message_id: Uuid) {
        self.lock().remove(&message_id);
    }

    /// The cell of a stream followed from another replica, if anyone still follows it.
    fn followed(&self, message_id: Uuid) -> Option<Arc<Live>> {
        self.lock()
            .get(&message_id)
            .filter(|e| e.stop.is_none())
            .and_then(|e| e.live.upgrade())
    }

    async fn refresh(&self, message_id: Uuid, eager: bool) {
        let Some(live) = self.followed(message_id) else {
            return;
        };
        {
            let mut refreshed = live.refreshed.lock().unwrap_or_else(PoisonError::into_inner);
            if !eager && refreshed.is_some_and(|at| at.elapsed() < self.settings.flush_every) {
                return;
            }
            *refreshed = Some(Instant::now());
        }
        let row = match self.pool.get().await {
            Ok(mut conn) => MessageRow::find(&mut conn, message_id).await,
            Err(error) => {
                tracing::warn!(error = %error, "cannot refresh a followed stream");
                return;
            }
        };
        match row {
            Ok(Some(row)) => live.update(&row.content, tool_log_of(&row), row.status),
            // Deleted while streaming: it ends as it was.
            Ok(None) => live.finish(MessageStatus::Failed),
            Err(error) => tracing::warn!(error = %error, message.id = %message_id, "cannot refresh a followed stream"),
        }
    }

    async fn reload_providers(&self) {
        let providers = match self.pool.get().await {
            Ok(mut conn) => crate::services::embeddings::with_platform(&mut conn, &self.configured).await,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the platform's providers");
                return;
            }
        };
        match providers {
            Ok(providers) => *self.providers.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(providers),
            Err(error) => tracing::warn!(error = %error, "cannot read the platform's providers"),
        }
    }

    fn local_ids(&self) -> Vec<Uuid> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.stop.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    fn followed_ids(&self) -> Vec<Uuid> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.stop.is_none() && e.live.strong_count() > 0)
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The changes of an answer's tool calls as its row records them: while it streams, every
/// change (`metadata.toolEvents`); once it ended, each call as it ended (`metadata.toolCalls`).
pub fn tool_log_of(message: &MessageRow) -> Vec<ToolActivity> {
    ["toolEvents", "toolCalls"]
        .into_iter()
        .find_map(|key| message.metadata.get(key))
        .and_then(|calls| serde_json::from_value(calls.clone()).ok())
        .unwrap_or_default()
}

/// An answer's tool calls, each as it stands last, in the order they were called.
pub fn tool_calls_of(message: &MessageRow) -> Vec<ToolActivity> {
    latest_states(tool_log_of(message))
}

/// Each call of `log` as it stands last, in the order they were called.
pub fn latest_states(log: Vec<ToolActivity>) -> Vec<ToolActivity> {
    let mut calls: Vec<ToolActivity> = Vec::new();
    for change in log {
        match calls.iter_mut().find(|c| c.id == change.id && c.round == change.round) {
            Some(call) => *call = change,
            None => calls.push(change),
        }
    }
    calls
}

/// Takes notices: stops asked for this process's generations, and wake-ups of followed
/// streams (all of them after a reconnection).
async fn notices(inner: Weak<Inner>) {
    let Some(mut receiver) = inner.upgrade().map(|i| i.pubsub.subscribe()) else {
        return;
    };
    if let Some(inner) = inner.upgrade() {
        inner.reload_providers().await;
    }
    loop {
        let notice = receiver.recv().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match notice {
            Ok(Notice::Stop(id)) => {
                inner.stop_local(id);
            }
            Ok(Notice::Stream(id)) => inner.refresh(id, true).await,
            Ok(Notice::Providers) => inner.reload_providers().await,
            Ok(Notice::Resync) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                inner.reload_providers().await;
                for id in inner.followed_ids() {
                    inner.refresh(id, true).await;
                }
            }
            Ok(Notice::Chat { .. } | Notice::Jobs | Notice::JobChanged { .. }) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[derive(QueryableByName)]
struct Reaped {
    #[diesel(sql_type = SqlUuid)]
    message_id: Uuid,
}

/// The error of a message whose generation was interrupted.
pub const INTERRUPTED: &str = "the answer was interrupted (the server generating it stopped)";

/// Renews the leases of this process's generations and reaps expired ones of any process,
/// every sixth of a lease.
async fn leases(inner: Weak<Inner>) {
    loop {
        let Some(every) = inner
            .upgrade()
            .map(|i| (i.settings.lease / 6).max(Duration::from_millis(200)))
        else {
            return;
        };
        tokio::time::sleep(every).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Err(error) = renew_and_reap(&inner).await {
            tracing::warn!(error = ?error, "cannot renew or reap stream leases");
        }
    }
}

async fn renew_and_reap(inner: &Inner) -> AppResult<()> {
    let mut conn = inner.pool.get().await?;
    let local = inner.local_ids();
    if !local.is_empty() {
        cached("UPDATE message_streams SET updated_at = now() WHERE message_id = ANY($1) AND status = 'active'")
            .bind::<Array<SqlUuid>, _>(&local)
            .execute(&mut conn)
            .await?;
    }
    let lease_ms = i64::try_from(inner.settings.lease.as_millis()).unwrap_or(i64::MAX);
    let reaped: Vec<Reaped> = cached(format!(
        "WITH stale AS ( \
           SELECT id, message_id FROM message_streams \
           WHERE status = 'active' AND updated_at < now() - $1 * interval '1 millisecond' \
             AND message_id <> ALL($2) \
           FOR UPDATE SKIP LOCKED), \
         m AS (UPDATE messages SET status = 'failed', finish_reason = 'interrupted', error = $3 \
               WHERE id IN (SELECT message_id FROM stale) AND status = 'streaming' RETURNING id, chat_id), \
         s AS (UPDATE message_streams SET status = 'failed', error = $3, finished_at = now(), updated_at = now() \
               WHERE id IN (SELECT id FROM stale) RETURNING message_id) \
         SELECT m.id AS message_id, \
           pg_notify('{CHANNEL}', 's:' || m.id::text)::text AS stream, \
           pg_notify('{CHANNEL}', 'c:' || m.chat_id::text || ':finished:' || m.id::text)::text AS chat \
         FROM m JOIN s ON s.message_id = m.id"
    ))
    .bind::<BigInt, _>(lease_ms)
    .bind::<Array<SqlUuid>, _>(&local)
    .bind::<Text, _>(INTERRUPTED)
    .load(&mut conn)
    .await?;
    for row in reaped {
        tracing::warn!(message.id = %row.message_id, "reaped an interrupted generation");
    }
    Ok(())
}
