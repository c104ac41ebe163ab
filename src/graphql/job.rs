//! `Job`: a unit of background work, the job filter, and `retryJob` / `cancelJob`.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    mutation::{UserError, write},
    node::{global_id, input_id},
};
use crate::{
    auth::grant::Permission,
    db::enums::JobStatus,
    models::{filters::JobConditions, job::JobRow, page::Filter},
    services::{audit::Action, jobs},
};

/// Which jobs to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub status: Option<JobStatus>,
    /// Only jobs of this kind (such as `document.index`).
    pub kind: Option<String>,
}

impl JobFilter {
    /// The conditions of this filter.
    pub fn conditions(self) -> Filter {
        JobConditions {
            status: self.status,
            kind: self.kind,
        }
        .into()
    }
}

/// A unit of background work (indexing a document, delivering a webhook, ...).
pub struct Job(pub JobRow);

/// A unit of background work (indexing a document, delivering a webhook, ...).
#[Object]
impl Job {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Job", self.0.id)
    }

    /// What kind of work.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Its state.
    async fn status(&self) -> JobStatus {
        self.0.status
    }

    /// Higher runs first.
    async fn priority(&self) -> i32 {
        self.0.priority
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Attempts allowed.
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }

    /// Not before this time.
    async fn run_at(&self) -> DateTime<Utc> {
        self.0.run_at
    }

    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// What the running job last reported of its progress (JSON, e.g. `{"done": 3, "total":
    /// 10}`); null when it reported none.
    async fn progress(&self) -> Option<Json<&Value>> {
        self.0.progress.as_ref().map(Json)
    }

    /// What it produced (JSON), when done.
    async fn result(&self) -> Option<Json<&Value>> {
        self.0.result.as_ref().map(Json)
    }

    /// When the current or last attempt started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }

    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `retryJob` and `cancelJob`.
#[derive(InputObject)]
pub struct JobInput {
    /// The job.
    pub id: ID,
}

/// The result of `retryJob` and `cancelJob`.
#[derive(SimpleObject)]
pub struct JobPayload {
    /// The job as it is now, unless there were user errors.
    pub job: Option<Job>,
    /// What was wrong with the input (`NOT_RETRYABLE`, `NOT_CANCELLABLE`).
    pub user_errors: Vec<UserError>,
}

/// Job mutations (project admins: `project.update`).
#[derive(Default)]
pub struct JobMutation;

impl JobMutation {
    /// Retries or (`cancel`) cancels job `input.id`.
    async fn change(ctx: &Context<'_>, input: JobInput, cancel: bool) -> Result<JobPayload> {
        let action = if cancel { Action::JobCancel } else { Action::JobRetry };
        let (job, user_errors) = write(ctx, action, async |tx| {
            let job = tx
                .granted(input_id(&input.id, "Job", "id")?, Permission::ProjectUpdate)
                .await?;
            if cancel {
                jobs::cancel(tx, &job).await
            } else {
                jobs::retry(tx, &job).await
            }
        })
        .await?;
        Ok(JobPayload {
            job: job.map(Job),
            user_errors,
        })
    }
}

#[Object]
impl JobMutation {
    /// Queues a failed or cancelled job of a project again, with a fresh set of attempts.
    async fn retry_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: JobInput,
    ) -> Result<JobPayload> {
        Self::change(ctx, input, false).await
    }

    /// Cancels a queued or running job of a project (a running job stops within a third of
    /// its lease).
    async fn cancel_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: JobInput,
    ) -> Result<JobPayload> {
        Self::change(ctx, input, true).await
    }
}
