//! Background jobs: a queue in PostgreSQL (the `jobs` table, statements in `models::job`) and
//! the workers that run it, inside `chatgraph serve` or as `chatgraph worker`.
//!
//! A job is queued in the transaction of the write that causes it ([`Enqueue::queue`]), so it
//! exists exactly when that write commits, and the commit wakes every replica's workers
//! (a NOTIFY; they also poll, in case a notice is missed). Workers claim jobs with
//! `FOR UPDATE SKIP LOCKED`, hold them by a lease they renew while the job runs, retry failures
//! with exponential backoff and jitter up to the job's `max_attempts`, and give back what they
//! hold when they shut down. A job is run at least once: a worker that dies mid-job loses its
//! lease and another runs the job again, so handlers are written to be repeatable.

pub mod maintenance;
mod worker;

use std::{collections::HashMap, future::Future, sync::Arc};

use async_graphql::futures_util::future::BoxFuture;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

pub use worker::{Settings, Workers};

use crate::{
    db::Pool,
    error::AppError,
    models::job::{JobRow, NewJob},
    pubsub::{self, Notice},
    services::{deliveries, ingestion},
};

/// A job to queue: its kind and payload, and how it should run.
#[derive(Debug, Clone)]
pub struct Enqueue(NewJob);

impl Enqueue {
    /// A job of `kind` (such as `document.index`) with `payload`: priority 0, three attempts,
    /// to run now.
    pub fn new(kind: &str, payload: Value) -> Self {
        Enqueue(NewJob {
            id: Uuid::now_v7(),
            project_id: None,
            kind: kind.to_owned(),
            payload,
            priority: 0,
            max_attempts: 3,
            run_at: None,
            unique_key: None,
        })
    }

    /// The project the job works for (its admins see, retry and cancel it).
    pub fn in_project(mut self, project_id: Uuid) -> Self {
        self.0.project_id = Some(project_id);
        self
    }

    /// Higher runs first.
    pub fn priority(mut self, priority: i32) -> Self {
        self.0.priority = priority;
        self
    }

    /// How many attempts it gets before it is `failed` (at least one).
    pub fn attempts(mut self, max_attempts: i32) -> Self {
        self.0.max_attempts = max_attempts.max(1);
        self
    }

    /// Not before `run_at`.
    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.0.run_at = Some(run_at);
        self
    }

    /// While a job with this key is queued or running, queuing another does nothing.
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.0.unique_key = Some(key.into());
        self
    }

    /// Queues the job on `conn` (inside the caller's transaction, when there is one) and
    /// wakes the workers when that commits. None: a pending job has the same unique key.
    pub async fn queue(self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<JobRow>> {
        let queued = self.0.insert_unless_pending(conn).await?;
        if queued.is_some() {
            pubsub::publish(conn, Notice::Jobs).await?;
        }
        Ok(queued)
    }
}

/// Why an attempt of a job failed, and whether another attempt may succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// What went wrong (stored in `jobs.last_error`, shown to the project's admins: no
    /// secrets, no internal detail they should not see).
    pub message: String,
    /// False for errors that another attempt cannot fix (bad payload, missing row): the job
    /// is `failed` at once.
    pub retry: bool,
}

impl JobError {
    /// A failure that another attempt may not repeat (a timeout, a provider that is down).
    pub fn transient(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retry: true,
        }
    }

    /// A failure that every attempt would repeat.
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retry: false,
        }
    }
}

impl From<AppError> for JobError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal(_) | AppError::RateLimited { .. } => {
                tracing::warn!(error = ?error, "a job attempt failed");
                JobError::transient("an internal error (see the server's log)")
            }
            other => JobError::permanent(other.message()),
        }
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(error: diesel::result::Error) -> Self {
        AppError::from(error).into()
    }
}

/// What a running job may use: the pool, and a way to report progress.
#[derive(Clone)]
pub struct JobContext {
    pool: Pool,
    worker: Arc<str>,
    job_id: Uuid,
}

impl JobContext {
    /// The database.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Records the job's progress (any JSON, e.g. `{"done": 3, "total": 10}`).
    pub async fn report(&self, progress: &Value) -> Result<(), JobError> {
        let mut conn = self.pool.get().await.map_err(AppError::from)?;
        JobRow::report(&mut conn, &self.worker, self.job_id, progress).await?;
        Ok(())
    }
}

type Handler = Arc<dyn Fn(JobRow, JobContext) -> BoxFuture<'static, Result<Value, JobError>> + Send + Sync>;

/// Which function runs each kind of job. A job of a kind nobody handles fails at once
/// ("no handler"), and stays visible.
#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<String, Handler>,
}

impl Handlers {
    /// The handlers of chatgraph's own jobs; `indexer` holds what they need besides the
    /// database (providers, keys, the outbound policy, files).
    pub fn standard(maintenance: maintenance::Retention, indexer: ingestion::Indexer) -> Self {
        let auth = indexer.auth.clone();
        Handlers::default()
            .on(maintenance::KIND, move |_job, ctx| maintenance::run(ctx, maintenance))
            .on(ingestion::KIND, move |job, ctx| {
                ingestion::run(job, ctx, indexer.clone())
            })
            .on(deliveries::KIND, move |job, ctx| {
                deliveries::run(job, ctx, auth.clone())
            })
    }

    /// Runs jobs of `kind` with `handler` (its result is stored in `jobs.result`).
    pub fn on<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(JobRow, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
    {
        self.by_kind
            .insert(kind.to_owned(), Arc::new(move |job, ctx| Box::pin(handler(job, ctx))));
        self
    }

    fn get(&self, kind: &str) -> Option<Handler> {
        self.by_kind.get(kind).cloned()
    }
}
