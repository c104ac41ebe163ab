//! The job queue and its workers (`chatgraph::jobs`) on a real database: retries with backoff,
//! leases that outlive a dead worker, many workers on one queue, transactions, unique keys,
//! cancellation, shutdown and maintenance.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use chatgraph::{
    db::{Pool, enums::JobStatus},
    jobs::{Enqueue, Handlers, JobError, Settings, Workers, maintenance},
    models::job::{Backoff, JobRow},
    pubsub::PubSub,
};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::TestDb;

/// Settings for tests: short leases, polls and backoffs, no maintenance unless asked.
fn settings(concurrency: usize) -> Settings {
    Settings {
        concurrency,
        lease: Duration::from_secs(3),
        poll: Duration::from_millis(100),
        backoff: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(100),
        },
        shutdown_grace: Duration::from_millis(200),
        maintenance_every: None,
        ..Settings::default()
    }
}

async fn queue(conn: &mut AsyncPgConnection, job: Enqueue) -> JobRow {
    job.queue(conn).await.expect("queue").expect("queued")
}

async fn job(pool: &Pool, id: Uuid) -> JobRow {
    let mut conn = pool.get().await.expect("conn");
    JobRow::find(&mut conn, id).await.expect("find").expect("job exists")
}

/// Job `id` once it is in `status` (panics after 30 s).
async fn when(pool: &Pool, id: Uuid, status: JobStatus) -> JobRow {
    for _ in 0..600 {
        let job = job(pool, id).await;
        if job.status == status {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never became {status:?}: {:?}", job(pool, id).await);
}

#[tokio::test]
async fn a_job_that_fails_twice_then_succeeds_is_tried_three_times() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let tries = Arc::new(AtomicU32::new(0));
    let handlers = Handlers::default().on("flaky", {
        let tries = tries.clone();
        move |job, _ctx| {
            let tries = tries.clone();
            async move {
                match tries.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => Err(JobError::transient("not yet")),
                    _ => Ok(json!({ "echo": job.payload["n"] })),
                }
            }
        }
    });
    let queued = queue(&mut db.conn().await, Enqueue::new("flaky", json!({ "n": 7 }))).await;
    let workers = Workers::start(pool.clone(), &PubSub::local(), handlers, settings(2));
    let done = when(&pool, queued.id, JobStatus::Succeeded).await;
    workers.stop().await;
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    assert_eq!(done.attempts, 3);
    assert_eq!(done.result, Some(json!({ "echo": 7 })));
    assert_eq!(done.last_error, None);
    assert!(done.finished_at.is_some() && done.locked_by.is_none());
}

#[tokio::test]
async fn a_job_out_of_attempts_or_with_a_permanent_error_fails_and_stays_visible() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let handlers = Handlers::default()
        .on("always.transient", |_, _| async {
            Err(JobError::transient("the provider is down"))
        })
        .on("always.permanent", |_, _| async {
            Err(JobError::permanent("the document is gone"))
        });
    let mut conn = db.conn().await;
    let transient = queue(&mut conn, Enqueue::new("always.transient", json!({})).attempts(2)).await;
    let permanent = queue(&mut conn, Enqueue::new("always.permanent", json!({})).attempts(5)).await;
    let unknown = queue(&mut conn, Enqueue::new("nobody.handles", json!({}))).await;
    let workers = Workers::start(pool.clone(), &PubSub::local(), handlers, settings(2));
    let transient = when(&pool, transient.id, JobStatus::Failed).await;
    let permanent = when(&pool, permanent.id, JobStatus::Failed).await;
    let unknown = when(&pool, unknown.id, JobStatus::Failed).await;
    workers.stop().await;
    assert_eq!(
        (transient.attempts, transient.last_error.as_deref()),
        (2, Some("the provider is down"))
    );
    assert_eq!(
        (permanent.attempts, permanent.last_error.as_deref()),
        (1, Some("the document is gone"))
    );
    assert_eq!(
        unknown.last_error.as_deref(),
        Some("no handler for jobs of kind `nobody.handles`")
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_runs_again_once_its_lease_ends() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let mut conn = db.conn().await;
    let queued = queue(&mut conn, Enqueue::new("survivor", json!({}))).await;
    // A worker claims it with a short lease and dies: it never renews, succeeds or fails.
    let claimed = JobRow::claim(&mut conn, "dead-worker", 10, Duration::from_millis(300))
        .await
        .expect("claim");
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![queued.id]);

    let runs = Arc::new(AtomicU32::new(0));
    let handlers = Handlers::default().on("survivor", {
        let runs = runs.clone();
        move |_, _| {
            runs.fetch_add(1, Ordering::SeqCst);
            async { Ok(json!(null)) }
        }
    });
    let workers = Workers::start(pool.clone(), &PubSub::local(), handlers, settings(1));
    let done = when(&pool, queued.id, JobStatus::Succeeded).await;
    workers.stop().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(done.attempts, 2, "the dead worker's attempt counts");
    // The dead worker cannot overwrite the new run's outcome.
    assert!(
        !JobRow::succeed(&mut conn, "dead-worker", queued.id, &json!("late"))
            .await
            .expect("succeed")
    );
    assert_eq!(job(&pool, queued.id).await.result, Some(json!(null)));
}

#[tokio::test]
async fn eight_workers_run_each_of_a_thousand_jobs_exactly_once() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let mut conn = db.conn().await;
    for n in 0..1000 {
        queue(&mut conn, Enqueue::new("count", json!({ "n": n }))).await;
    }
    let seen: Arc<Mutex<HashMap<Uuid, u32>>> = Arc::default();
    let handlers = Handlers::default().on("count", {
        let seen = seen.clone();
        move |job, _| {
            *seen.lock().expect("lock").entry(job.id).or_default() += 1;
            async { Ok(json!(null)) }
        }
    });
    // Four processes' worth of workers, two each, on one queue.
    let fleet: Vec<Workers> = (0..4)
        .map(|_| Workers::start(pool.clone(), &PubSub::local(), handlers.clone(), settings(2)))
        .collect();
    for _ in 0..600 {
        if JobRow::count_in(&mut conn, JobStatus::Succeeded).await.expect("count") == 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for workers in fleet {
        workers.stop().await;
    }
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1000);
    assert!(seen.values().all(|&runs| runs == 1), "a job ran twice");
    assert_eq!(
        JobRow::count_in(&mut conn, JobStatus::Succeeded).await.expect("count"),
        1000
    );
}

#[tokio::test]
async fn a_job_queued_in_a_transaction_that_rolls_back_does_not_exist() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    let mut queued_id = None;
    let outcome: Result<(), diesel::result::Error> = conn
        .transaction(async |tx| {
            queued_id = Some(queue(tx, Enqueue::new("never", json!({}))).await.id);
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(outcome.is_err());
    let id = queued_id.expect("queued inside");
    assert_eq!(JobRow::find(&mut conn, id).await.expect("find"), None);
}

#[tokio::test]
async fn a_unique_key_keeps_the_same_work_from_being_queued_twice_while_pending() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let mut conn = db.conn().await;
    let first = queue(&mut conn, Enqueue::new("index", json!({})).unique("document:1")).await;
    let again = Enqueue::new("index", json!({}))
        .unique("document:1")
        .queue(&mut conn)
        .await
        .expect("queue");
    assert_eq!(again, None, "pending work is not queued twice");
    let other = Enqueue::new("index", json!({}))
        .unique("document:2")
        .queue(&mut conn)
        .await
        .expect("queue");
    assert!(other.is_some());

    let handlers = Handlers::default().on("index", |_, _| async { Ok(json!(null)) });
    let workers = Workers::start(pool.clone(), &PubSub::local(), handlers, settings(1));
    when(&pool, first.id, JobStatus::Succeeded).await;
    workers.stop().await;
    let after = Enqueue::new("index", json!({}))
        .unique("document:1")
        .queue(&mut conn)
        .await
        .expect("queue");
    assert!(after.is_some(), "once the job ended, the key is free again");
}

#[tokio::test]
async fn a_notice_wakes_idle_workers_without_waiting_for_the_poll() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let pubsub = PubSub::listen(&db.url);
    let handlers = Handlers::default().on("wake", |_, _| async { Ok(json!(null)) });
    let workers = Workers::start(
        pool.clone(),
        &pubsub,
        handlers,
        Settings {
            poll: Duration::from_secs(3600),
            ..settings(1)
        },
    );
    // Let the workers find the queue empty and go to sleep, listening.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued = queue(&mut db.conn().await, Enqueue::new("wake", json!({}))).await;
    when(&pool, queued.id, JobStatus::Succeeded).await;
    workers.stop().await;
}

/// Sets its flag when dropped: tells whether a job's future was stopped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn endless(started: Arc<AtomicBool>, stopped: Arc<AtomicBool>) -> Handlers {
    Handlers::default().on("endless", move |_, _| {
        let guard = Dropped(stopped.clone());
        started.store(true, Ordering::SeqCst);
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(json!(null))
        }
    })
}

#[tokio::test]
async fn a_cancelled_running_job_is_stopped_at_its_next_lease_renewal() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let mut conn = db.conn().await;
    let queued = queue(&mut conn, Enqueue::new("endless", json!({}))).await;
    let (started, stopped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let workers = Workers::start(
        pool.clone(),
        &PubSub::local(),
        endless(started.clone(), stopped.clone()),
        settings(1),
    );
    when(&pool, queued.id, JobStatus::Running).await;
    let cancelled = JobRow::cancel(&mut conn, queued.id)
        .await
        .expect("cancel")
        .expect("cancellable");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    for _ in 0..100 {
        if stopped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.load(Ordering::SeqCst) && stopped.load(Ordering::SeqCst),
        "the running job was not stopped"
    );
    assert_eq!(job(&pool, queued.id).await.status, JobStatus::Cancelled);
    // A cancelled job can be retried, with fresh attempts.
    let retried = JobRow::retry(&mut conn, queued.id)
        .await
        .expect("retry")
        .expect("retryable");
    assert_eq!((retried.status, retried.attempts), (JobStatus::Queued, 0));
    workers.stop().await;
}

#[tokio::test]
async fn shutdown_gives_unfinished_jobs_back_without_counting_the_attempt() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let queued = queue(&mut db.conn().await, Enqueue::new("endless", json!({}))).await;
    let (started, stopped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let workers = Workers::start(
        pool.clone(),
        &PubSub::local(),
        endless(started, stopped.clone()),
        settings(1),
    );
    when(&pool, queued.id, JobStatus::Running).await;
    workers.stop().await;
    assert!(stopped.load(Ordering::SeqCst));
    let back = job(&pool, queued.id).await;
    assert_eq!(
        (back.status, back.attempts, back.locked_by),
        (JobStatus::Queued, 0, None)
    );
}

#[tokio::test]
async fn maintenance_deletes_what_ended_long_ago_and_keeps_the_rest() {
    let db = TestDb::migrated().await;
    let pool = db.pool();
    let mut conn = db.conn().await;
    let old = queue(&mut conn, Enqueue::new("done", json!({}))).await;
    let recent = queue(&mut conn, Enqueue::new("done", json!({}))).await;
    let pending = queue(
        &mut conn,
        Enqueue::new("later", json!({})).at(Utc::now() + chrono::Duration::days(1)),
    )
    .await;
    let indexer = chatgraph::services::ingestion::Indexer {
        providers: chatgraph::providers::registry::Providers::offline(0.0),
        auth: crate::support::authenticator(),
        files: crate::support::file_store(&crate::support::files_dir()),
    };
    let handlers =
        Handlers::standard(maintenance::Retention::default(), indexer).on("done", |_, _| async { Ok(json!(null)) });
    let workers = Workers::start(pool.clone(), &PubSub::local(), handlers, settings(1));
    when(&pool, old.id, JobStatus::Succeeded).await;
    when(&pool, recent.id, JobStatus::Succeeded).await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE jobs SET finished_at = now() - interval '8 days' WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(old.id),
        &mut conn,
    )
    .await
    .expect("age the job");
    let sweep = queue(&mut conn, Enqueue::new(maintenance::KIND, json!({}))).await;
    let swept = when(&pool, sweep.id, JobStatus::Succeeded).await;
    workers.stop().await;
    assert_eq!(swept.result.as_ref().and_then(|r| r.get("jobs")), Some(&json!(1)));
    assert_eq!(JobRow::find(&mut conn, old.id).await.expect("find"), None);
    assert!(JobRow::find(&mut conn, recent.id).await.expect("find").is_some());
    assert_eq!(job(&pool, pending.id).await.status, JobStatus::Queued);
}

const RETRY_JOB: &str =
    "mutation($input: JobInput!) { retryJob(input: $input) { job { id status attempts } userErrors { field code } } }";
const CANCEL_JOB: &str =
    "mutation($input: JobInput!) { cancelJob(input: $input) { job { id status } userErrors { field code } } }";

/// The raw id of the team's project.
async fn project_uuid(team: &crate::support::Team) -> Uuid {
    let query = "query($id: ID!) { node(id: $id) { ... on Project { uuid } } }";
    let (_, body) = team
        .api
        .run(Some(&team.owner), query, json!({ "id": team.project }))
        .await;
    body["data"]["node"]["uuid"]
        .as_str()
        .expect("uuid")
        .parse()
        .expect("uuid")
}

/// A job of `project` (None: the platform's) that failed for good.
async fn failed_job(conn: &mut AsyncPgConnection, project: Option<Uuid>) -> JobRow {
    let mut job = Enqueue::new("document.index", json!({}));
    if let Some(project) = project {
        job = job.in_project(project);
    }
    let queued = queue(conn, job).await;
    JobRow::claim(conn, "test-worker", 1, Duration::from_secs(30))
        .await
        .expect("claim");
    let backoff = settings(1).backoff;
    let failed = JobRow::fail(conn, "test-worker", queued.id, "the document is gone", false, backoff)
        .await
        .expect("fail")
        .expect("held");
    assert_eq!(failed.status, JobStatus::Failed);
    failed
}

#[tokio::test]
async fn project_admins_retry_and_cancel_their_projects_jobs_and_nobody_else_does() {
    use crate::support::{Team, audit_trail, code, user_errors};
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let project = project_uuid(&team).await;
    let mut conn = db.conn().await;
    let failed = failed_job(&mut conn, Some(project)).await;
    let platform_job = failed_job(&mut conn, None).await;
    let id = chatgraph::graphql::node::global_id("Job", failed.id);

    // Seeing the project is not enough; another tenant or the platform's job: not found.
    let (_, body) = team
        .mutate(&team.member, "retryJob", RETRY_JOB, json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = team
        .mutate(&team.outsider, "retryJob", RETRY_JOB, json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let platform_id = chatgraph::graphql::node::global_id("Job", platform_job.id);
    let (_, body) = team
        .mutate(&team.owner, "cancelJob", CANCEL_JOB, json!({ "id": platform_id }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(job(&db.pool(), failed.id).await.status, JobStatus::Failed);

    let (payload, _) = team
        .mutate(&team.owner, "retryJob", RETRY_JOB, json!({ "id": id }))
        .await;
    assert_eq!(payload["job"]["status"], "QUEUED");
    assert_eq!(payload["job"]["attempts"], 0);
    let (payload, _) = team
        .mutate(&team.owner, "retryJob", RETRY_JOB, json!({ "id": id }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.id:NOT_RETRYABLE"]);

    let (payload, _) = team
        .mutate(&team.owner, "cancelJob", CANCEL_JOB, json!({ "id": id }))
        .await;
    assert_eq!(payload["job"]["status"], "CANCELLED");
    let (payload, _) = team
        .mutate(&team.owner, "cancelJob", CANCEL_JOB, json!({ "id": id }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.id:NOT_CANCELLABLE"]);

    assert_eq!(
        audit_trail(&db, "job.retry").await,
        vec![
            "failed:FORBIDDEN:member@example.com".to_owned(),
            "failed:NOT_FOUND:outsider@example.com".to_owned(),
            "success::owner@example.com".to_owned(),
            "failed:NOT_RETRYABLE:owner@example.com".to_owned(),
        ]
    );
}

#[tokio::test]
async fn job_updated_follows_a_projects_jobs_for_its_admins_only() {
    use chatgraph::{providers::registry::Providers, services::generation};

    use crate::{
        streaming::{server, socket},
        support::Team,
        websocket::{receive, send},
    };
    let db = TestDb::migrated().await;
    let api = server(&db, Providers::offline(0.0), generation::Settings::default()).await;
    let team = Team::on(api).await;
    let query = "subscription($id: ID!) { jobUpdated(projectId: $id) { kind status attempts progress } }";
    let subscribe = |id: &str| json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": { "id": team.project } } });

    // A member sees the project but does not administer it: refused.
    let mut member = socket(&team.api, &team.member).await;
    send(&mut member, subscribe("m")).await;
    let refused = receive(&mut member).await.expect("refusal");
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    let mut owner = socket(&team.api, &team.owner).await;
    send(&mut owner, subscribe("o")).await;
    // Let the subscription start listening before the job is queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let project = project_uuid(&team).await;
    let mut conn = db.conn().await;
    queue(&mut conn, Enqueue::new("report", json!({})).in_project(project)).await;
    queue(&mut conn, Enqueue::new("elsewhere", json!({}))).await;
    let handlers = Handlers::default().on("report", |_, ctx| async move {
        ctx.report(&json!({ "done": 1, "total": 2 })).await?;
        // Long enough for the follower to read the job while it runs.
        tokio::time::sleep(Duration::from_millis(700)).await;
        Ok(json!(null))
    });
    let workers = Workers::start(db.pool(), &PubSub::local(), handlers, settings(1));
    let mut seen = Vec::new();
    while seen.last().map(|(status, _): &(Value, Value)| status.clone()) != Some(json!("SUCCEEDED")) {
        let event = tokio::time::timeout(Duration::from_secs(20), receive(&mut owner))
            .await
            .expect("an event in time")
            .expect("event");
        assert_eq!(event["type"], "next", "{event}");
        let job = &event["payload"]["data"]["jobUpdated"];
        assert_eq!(job["kind"], "report", "only this project's jobs: {event}");
        seen.push((job["status"].clone(), job["progress"].clone()));
    }
    workers.stop().await;
    assert_eq!(seen[0].0, json!("QUEUED"), "{seen:?}");
    // Each event is the job as it is when the event is read (a fast job may skip states).
    assert!(
        seen.contains(&(json!("RUNNING"), json!({ "done": 1, "total": 2 }))),
        "{seen:?}"
    );
}
