//! The workers: one loop per process that claims jobs while it has free slots, and a task per
//! running job that renews its lease and records how it ended.

use std::{sync::Arc, time::Duration};

use diesel_async::AsyncConnection;
use tokio::{
    sync::broadcast::{self, error::RecvError},
    task::JoinSet,
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Enqueue, Handlers, JobContext, JobError, maintenance};
use crate::{
    db::Pool,
    models::job::{Backoff, JobRow},
    pubsub::{Notice, PubSub},
    services::deliveries,
};

/// How the workers of a process run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Jobs run at the same time (0: no workers).
    pub concurrency: usize,
    /// How long a claim holds a job without renewal; renewed every third of it.
    pub lease: Duration,
    /// How often to look for jobs when no notice came (and for jobs whose worker died).
    pub poll: Duration,
    /// The wait between attempts.
    pub backoff: Backoff,
    /// How long running jobs may still take at shutdown before they are given back.
    pub shutdown_grace: Duration,
    /// How often this process queues the maintenance job (None: never).
    pub maintenance_every: Option<Duration>,
    /// What the maintenance job keeps.
    pub retention: maintenance::Retention,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: 2,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(5),
            backoff: Backoff {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(60 * 60),
            },
            shutdown_grace: Duration::from_secs(10),
            maintenance_every: Some(Duration::from_secs(60 * 60)),
            retention: maintenance::Retention::default(),
        }
    }
}

/// The running workers of this process.
pub struct Workers {
    name: Arc<str>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    pool: Pool,
    handlers: Handlers,
    settings: Settings,
    name: Arc<str>,
}

impl Workers {
    /// Starts `settings.concurrency` workers running `handlers`' jobs, woken by `pubsub`'s
    /// job notices.
    pub fn start(pool: Pool, pubsub: &PubSub, handlers: Handlers, settings: Settings) -> Workers {
        let name: Arc<str> = format!("{}:{}", hostname(), Uuid::new_v4().simple()).into();
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            pool,
            handlers,
            settings,
            name: name.clone(),
        });
        let task = tokio::spawn(run(shared, pubsub.subscribe(), shutdown.clone()));
        Workers { name, shutdown, task }
    }

    /// The name this process's workers hold their jobs under (`jobs.locked_by`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops claiming, lets running jobs finish within the shutdown grace, gives back the
    /// rest (queued again, the attempt not counted), and returns when all is done.
    pub async fn stop(self) {
        self.shutdown.cancel();
        if let Err(error) = self.task.await {
            tracing::error!(error = %error, "the job workers ended badly");
        }
    }
}

/// The claiming loop.
async fn run(shared: Arc<Shared>, mut notices: broadcast::Receiver<Notice>, shutdown: CancellationToken) {
    let settings = &shared.settings;
    if settings.concurrency == 0 {
        return;
    }
    let mut running: JoinSet<()> = JoinSet::new();
    let mut next_recovery = Instant::now();
    let mut next_maintenance = Instant::now();
    while !shutdown.is_cancelled() {
        let now = Instant::now();
        if now >= next_recovery {
            next_recovery = now + settings.poll;
            recover_expired(&shared).await;
        }
        if let Some(every) = settings.maintenance_every
            && now >= next_maintenance
        {
            next_maintenance = now + every;
            queue_maintenance(&shared).await;
        }
        let free = settings.concurrency - running.len();
        let claimed = if free > 0 {
            claim(&shared, free).await
        } else {
            Vec::new()
        };
        let queue_drained = claimed.len() < free;
        for job in claimed {
            running.spawn(run_job(shared.clone(), job, shutdown.clone()));
        }
        if !queue_drained && running.len() < settings.concurrency {
            continue;
        }
        let wake = tokio::time::sleep_until(next_recovery.min(now + settings.poll));
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = job_notice(&mut notices), if queue_drained && running.len() < settings.concurrency => {}
            () = wake => {}
        }
    }
    // Running jobs see the same cancellation: each finishes within the grace or gives its job back.
    while running.join_next().await.is_some() {}
}

/// Resolves at the next notice that jobs were queued (or that notices may have been missed).
async fn job_notice(notices: &mut broadcast::Receiver<Notice>) {
    loop {
        match notices.recv().await {
            Ok(Notice::Jobs | Notice::Resync) | Err(RecvError::Lagged(_)) => return,
            Ok(_) => {}
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

async fn claim(shared: &Shared, free: usize) -> Vec<JobRow> {
    let claimed = async {
        let mut conn = shared.pool.get().await?;
        let limit = i64::try_from(free).unwrap_or(i64::MAX);
        anyhow::Ok(JobRow::claim(&mut conn, &shared.name, limit, shared.settings.lease).await?)
    };
    claimed.await.unwrap_or_else(|error| {
        tracing::warn!(error = %error, "claiming jobs failed");
        Vec::new()
    })
}

async fn recover_expired(shared: &Shared) {
    let recovered = async {
        let mut conn = shared.pool.get().await?;
        anyhow::Ok(JobRow::recover_expired(&mut conn).await?)
    };
    match recovered.await {
        Ok(0) => {}
        Ok(count) => tracing::warn!(jobs = count, "jobs whose worker stopped were queued again"),
        Err(error) => tracing::warn!(error = %error, "recovering jobs with expired leases failed"),
    }
}

async fn queue_maintenance(shared: &Shared) {
    let queued = async {
        let mut conn = shared.pool.get().await?;
        let job = Enqueue::new(maintenance::KIND, serde_json::json!({}))
            .unique(maintenance::KIND)
            .priority(-10)
            .attempts(1);
        anyhow::Ok(job.queue(&mut conn).await?)
    };
    if let Err(error) = queued.await {
        tracing::warn!(error = %error, "queuing the maintenance job failed");
    }
}

/// Runs one claimed job to its end: renews the lease every third of it, stops when the job
/// was cancelled (or taken by another worker), and gives the job back at shutdown.
async fn run_job(shared: Arc<Shared>, job: JobRow, shutdown: CancellationToken) {
    let settings = &shared.settings;
    let id = job.id;
    let Some(handler) = shared.handlers.get(&job.kind) else {
        let error = JobError::permanent(format!("no handler for jobs of kind `{}`", job.kind));
        record_failure(&shared, id, &error).await;
        return;
    };
    let ctx = JobContext {
        pool: shared.pool.clone(),
        worker: shared.name.clone(),
        job_id: id,
    };
    let span = tracing::info_span!("job", job.id = %id, job.kind = %job.kind, job.attempt = job.attempts);
    let mut task = tokio::spawn(tracing::Instrument::instrument(handler(job, ctx), span));
    let mut renewal = tokio::time::interval(settings.lease / 3);
    renewal.tick().await;
    let deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(settings.shutdown_grace).await;
    };
    tokio::pin!(deadline);
    let ended = loop {
        tokio::select! {
            ended = &mut task => break ended,
            _ = renewal.tick() => {
                if !renew(&shared, id).await {
                    task.abort();
                    return;
                }
            }
            () = &mut deadline => {
                task.abort();
                give_back(&shared, id).await;
                return;
            }
        }
    };
    match ended {
        Ok(Ok(result)) => {
            let succeeded = async {
                let mut conn = shared.pool.get().await?;
                anyhow::Ok(JobRow::succeed(&mut conn, &shared.name, id, &result).await?)
            };
            if let Err(error) = succeeded.await {
                // The lease runs out and the job runs again: at least once.
                tracing::warn!(job.id = %id, error = %error, "recording a job's success failed");
            }
        }
        Ok(Err(error)) => record_failure(&shared, id, &error).await,
        Err(join) if join.is_panic() => {
            tracing::error!(job.id = %id, "a job panicked");
            record_failure(
                &shared,
                id,
                &JobError::transient("the job panicked (see the server's log)"),
            )
            .await;
        }
        Err(_) => {}
    }
}

/// Whether the worker still holds job `id` after renewing its lease (a database error
/// counts as still holding it: the lease has time left, and the next renewal tries again).
async fn renew(shared: &Shared, id: Uuid) -> bool {
    let renewed = async {
        let mut conn = shared.pool.get().await?;
        anyhow::Ok(JobRow::renew(&mut conn, &shared.name, &[id], shared.settings.lease).await?)
    };
    match renewed.await {
        Ok(held) => held.contains(&id),
        Err(error) => {
            tracing::warn!(job.id = %id, error = %error, "renewing a job's lease failed");
            true
        }
    }
}

async fn record_failure(shared: &Shared, id: Uuid, error: &JobError) {
    let failed = async {
        let mut conn = shared.pool.get().await?;
        // A job that fails for good is announced to its project's webhooks in the same
        // transaction (not a delivery's own failure: that would feed on itself).
        let job = conn
            .transaction::<_, diesel::result::Error, _>(async |tx| {
                let job = JobRow::fail(
                    tx,
                    &shared.name,
                    id,
                    &error.message,
                    error.retry,
                    shared.settings.backoff,
                )
                .await?;
                if let Some(job) = &job
                    && job.status == crate::db::enums::JobStatus::Failed
                    && job.kind != deliveries::KIND
                    && let Some(project_id) = job.project_id
                {
                    let data = serde_json::json!({ "jobId": job.id, "kind": job.kind, "error": error.message });
                    deliveries::emit(tx, project_id, "job.failed", data).await?;
                }
                Ok(job)
            })
            .await?;
        anyhow::Ok(job)
    };
    match failed.await {
        Ok(Some(job)) if job.status == crate::db::enums::JobStatus::Failed => {
            tracing::warn!(job.id = %id, job.kind = %job.kind, error = %error.message, "a job failed for good");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(job.id = %id, error = %error, "recording a job's failure failed"),
    }
}

async fn give_back(shared: &Shared, id: Uuid) {
    let released = async {
        let mut conn = shared.pool.get().await?;
        anyhow::Ok(JobRow::release(&mut conn, &shared.name, id).await?)
    };
    if let Err(error) = released.await {
        tracing::warn!(job.id = %id, error = %error, "giving a job back at shutdown failed");
    }
}

/// This machine's name, for `locked_by` (so that an operator sees where a job runs).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "chatgraph".to_owned())
}
