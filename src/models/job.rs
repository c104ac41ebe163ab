//! Background jobs: the queue's statements (see `crate::jobs` for the workers that run them).
//!
//! A job is `queued` until a worker claims it (`FOR UPDATE SKIP LOCKED`, so concurrent workers
//! never take the same row) with a lease (`locked_until`) that the worker renews while it runs.
//! Every statement that ends or changes a running job names the worker that holds it, so a
//! worker whose lease ran out (and whose job was taken again) cannot overwrite the new run.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{self, now},
    prelude::*,
    sql_types::{BigInt, Bool, Double, Interval, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::{cached::cached, enums::JobStatus, schema::jobs};

/// A unit of background work.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobRow {
    pub id: Uuid,
    pub project_id: Option<Uuid>,
    pub kind: String,
    pub payload: Value,
    pub status: JobStatus,
    pub priority: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub result: Option<Value>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While the job is pending (queued or running), no other job has this key.
    pub unique_key: Option<String>,
    /// What a running job reported of its progress (e.g. `{"done": 3, "total": 10}`).
    pub progress: Option<Value>,
}

/// A new job.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub id: Uuid,
    pub project_id: Option<Uuid>,
    pub kind: String,
    pub payload: Value,
    pub priority: i32,
    pub max_attempts: i32,
    pub run_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
}

/// A change to a job.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = jobs)]
pub struct JobPatch {
    pub status: Option<JobStatus>,
    pub attempts: Option<i32>,
    pub run_at: Option<DateTime<Utc>>,
    pub locked_by: Option<Option<String>>,
    pub locked_until: Option<Option<DateTime<Utc>>>,
    pub last_error: Option<Option<String>>,
    pub result: Option<Option<Value>>,
    pub started_at: Option<Option<DateTime<Utc>>>,
    pub finished_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(JobRow, jobs);
insert_returning!(NewJob => JobRow, jobs);
update_returning!(JobPatch => JobRow, jobs);

/// How long a failed attempt waits before the next: `base × 2^(attempts − 1)`, at most `cap`,
/// times a random factor between 0.75 and 1.25 (jitter, so that jobs that failed together do
/// not all come back together).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl NewJob {
    /// Queues this job; None when a pending job already has its `unique_key` (nothing is
    /// queued then). Inside a transaction, the job exists only if the transaction commits.
    pub async fn insert_unless_pending(&self, conn: &mut AsyncPgConnection) -> QueryResult<Option<JobRow>> {
        diesel::insert_into(jobs::table)
            .values(self)
            .on_conflict_do_nothing()
            .returning(JobRow::as_returning())
            .get_result(conn)
            .await
            .optional()
    }
}

impl JobRow {
    /// Claims up to `limit` ready jobs for `worker` (highest priority first, then the oldest
    /// `run_at`), leased for `lease`; each claim counts as an attempt.
    pub async fn claim(
        conn: &mut AsyncPgConnection,
        worker: &str,
        limit: i64,
        lease: Duration,
    ) -> QueryResult<Vec<JobRow>> {
        cached(
            // `= ANY(ARRAY(…))`, not a join: with the generic plan every statement here gets,
            // PostgreSQL cannot know that the LIMIT is small, and joined a seq scan of the
            // whole table to the claimed ids (2 ms at 10,000 jobs, growing with the table).
            "UPDATE jobs SET status = 'running', locked_by = $2, \
                 locked_until = now() + $3, attempts = attempts + 1, \
                 started_at = now(), progress = NULL \
             WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE status = 'queued' AND run_at <= now() \
                   ORDER BY priority DESC, run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)) \
             RETURNING *",
        )
        .bind::<BigInt, _>(limit)
        .bind::<Text, _>(worker.to_owned())
        .bind::<Interval, _>(interval(lease))
        .load(conn)
        .await
    }

    /// Renews the leases of `worker`'s running jobs `ids`; returns the ids it still holds (a
    /// job missing from the answer was cancelled or taken by another worker: stop running it).
    pub async fn renew(
        conn: &mut AsyncPgConnection,
        worker: &str,
        ids: &[Uuid],
        lease: Duration,
    ) -> QueryResult<Vec<Uuid>> {
        let renewed: Vec<JobRow> = cached(
            "UPDATE jobs SET locked_until = now() + $3 \
             WHERE id = ANY($1) AND status = 'running' AND locked_by = $2 RETURNING *",
        )
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids.to_vec())
        .bind::<Text, _>(worker.to_owned())
        .bind::<Interval, _>(interval(lease))
        .load(conn)
        .await?;
        Ok(renewed.into_iter().map(|job| job.id).collect())
    }

    /// Records the progress of `worker`'s running job `id`.
    pub async fn report(conn: &mut AsyncPgConnection, worker: &str, id: Uuid, progress: &Value) -> QueryResult<bool> {
        let updated = diesel::update(held(id, worker))
            .set(jobs::progress.eq(progress))
            .execute(conn)
            .await?;
        Ok(updated == 1)
    }

    /// Marks `worker`'s running job `id` succeeded with `result`; false when the worker no
    /// longer holds it.
    pub async fn succeed(conn: &mut AsyncPgConnection, worker: &str, id: Uuid, result: &Value) -> QueryResult<bool> {
        let updated = diesel::update(held(id, worker))
            .set((
                jobs::status.eq(JobStatus::Succeeded),
                jobs::result.eq(result),
                jobs::last_error.eq(None::<String>),
                jobs::finished_at.eq(now),
                jobs::locked_by.eq(None::<String>),
                jobs::locked_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
            .await?;
        Ok(updated == 1)
    }

    /// Records that an attempt of `worker`'s running job `id` failed with `error`: queued
    /// again after a backoff while attempts remain (and `retry` is true), `failed` otherwise.
    /// Returns the job as it is now (None when the worker no longer holds it).
    pub async fn fail(
        conn: &mut AsyncPgConnection,
        worker: &str,
        id: Uuid,
        error: &str,
        retry: bool,
        backoff: Backoff,
    ) -> QueryResult<Option<JobRow>> {
        cached(
            "UPDATE jobs SET last_error = $3, locked_by = NULL, locked_until = NULL, \
                 status = CASE WHEN $4 AND attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
                 finished_at = CASE WHEN $4 AND attempts < max_attempts THEN NULL ELSE now() END, \
                 run_at = CASE WHEN $4 AND attempts < max_attempts \
                     THEN now() + make_interval(secs => least($5 * power(2, attempts - 1), $6) \
                                                       * (0.75 + random() / 2)) \
                     ELSE run_at END \
             WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING *",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(worker.to_owned())
        .bind::<Text, _>(error.to_owned())
        .bind::<Bool, _>(retry)
        .bind::<Double, _>(backoff.base.as_secs_f64())
        .bind::<Double, _>(backoff.cap.as_secs_f64())
        .get_result(conn)
        .await
        .optional()
    }

    /// Puts `worker`'s running job `id` back in the queue without counting the attempt (a
    /// worker that shuts down before the job finished).
    pub async fn release(conn: &mut AsyncPgConnection, worker: &str, id: Uuid) -> QueryResult<bool> {
        let updated = diesel::update(held(id, worker))
            .set((
                jobs::status.eq(JobStatus::Queued),
                jobs::attempts.eq(jobs::attempts - 1),
                jobs::locked_by.eq(None::<String>),
                jobs::locked_until.eq(None::<DateTime<Utc>>),
                jobs::run_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(updated == 1)
    }

    /// Jobs whose worker stopped renewing its lease (it crashed or lost the database): queued
    /// again, or `failed` when that was their last attempt. Returns how many.
    pub async fn recover_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        cached(
            "UPDATE jobs SET locked_by = NULL, locked_until = NULL, \
                 last_error = 'the worker running it stopped (its lease ended)', \
                 status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
                 finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END, \
                 run_at = now() \
             WHERE status = 'running' AND locked_until < now()",
        )
        .execute(conn)
        .await
    }

    /// Cancels job `id` if it is queued or running (a running job's worker stops it at its
    /// next lease renewal). Returns the job as it is now, None if it had already ended.
    pub async fn cancel(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<JobRow>> {
        diesel::update(
            jobs::table
                .find(id)
                .filter(jobs::status.eq_any([JobStatus::Queued, JobStatus::Running])),
        )
        .set((
            jobs::status.eq(JobStatus::Cancelled),
            jobs::finished_at.eq(now),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .returning(JobRow::as_returning())
        .get_result(conn)
        .await
        .optional()
    }

    /// Queues failed or cancelled job `id` again, with a fresh set of attempts. None if it is
    /// not failed or cancelled, or if a pending job has taken its unique key meanwhile.
    pub async fn retry(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<JobRow>> {
        let retried = diesel::update(
            jobs::table
                .find(id)
                .filter(jobs::status.eq_any([JobStatus::Failed, JobStatus::Cancelled])),
        )
        .set((
            jobs::status.eq(JobStatus::Queued),
            jobs::attempts.eq(0),
            jobs::run_at.eq(now),
            jobs::finished_at.eq(None::<DateTime<Utc>>),
            jobs::progress.eq(None::<Value>),
        ))
        .returning(JobRow::as_returning())
        .get_result(conn)
        .await;
        match retried {
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                Ok(None)
            }
            other => other.optional(),
        }
    }

    /// Deletes jobs that ended (succeeded, failed or cancelled) before `before`.
    pub async fn delete_finished_before(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(jobs::table.filter(jobs::finished_at.lt(before)))
            .execute(conn)
            .await
    }

    /// How many jobs are in `status` (for tests and the benchmark).
    pub async fn count_in(conn: &mut AsyncPgConnection, status: JobStatus) -> QueryResult<i64> {
        jobs::table
            .filter(jobs::status.eq(status))
            .count()
            .get_result(conn)
            .await
    }
}

/// The condition "job `id` is running and `worker` holds it".
type Held<'a> =
    dsl::And<dsl::And<dsl::Eq<jobs::id, Uuid>, dsl::Eq<jobs::status, JobStatus>>, dsl::Eq<jobs::locked_by, &'a str>>;

/// The running job `id` while `worker` holds it.
fn held(id: Uuid, worker: &str) -> dsl::Filter<jobs::table, Held<'_>> {
    jobs::table.filter(
        jobs::id
            .eq(id)
            .and(jobs::status.eq(JobStatus::Running))
            .and(jobs::locked_by.eq(worker)),
    )
}

fn interval(duration: Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(i64::try_from(duration.as_micros()).unwrap_or(i64::MAX))
}
