//! What project admins do to their project's jobs: retry one that failed or was cancelled,
//! cancel one that is queued or running. (Running them is `crate::jobs`.)

use serde_json::json;

use super::write::{RecordIn, Tx};
use crate::{
    auth::grant::Granted,
    error::{AppError, AppResult, FieldError},
    models::job::JobRow,
    pubsub::{self, Notice},
};

/// Queues a failed or cancelled job again with fresh attempts.
pub async fn retry(tx: &mut Tx, job: &Granted<JobRow>) -> AppResult<JobRow> {
    let retried = JobRow::retry(tx.conn(), job.id).await?.ok_or_else(|| {
        AppError::from(FieldError::input(
            "id",
            "NOT_RETRYABLE",
            "only a failed or cancelled job can be retried (and not while the same work is pending)",
        ))
    })?;
    pubsub::publish(tx.conn(), Notice::Jobs).await?;
    record(tx, job, &retried).await?;
    Ok(retried)
}

/// Cancels a queued or running job (a running one stops at its next lease renewal).
pub async fn cancel(tx: &mut Tx, job: &Granted<JobRow>) -> AppResult<JobRow> {
    let cancelled = JobRow::cancel(tx.conn(), job.id).await?.ok_or_else(|| {
        AppError::from(FieldError::input(
            "id",
            "NOT_CANCELLABLE",
            "only a queued or running job can be cancelled",
        ))
    })?;
    record(tx, job, &cancelled).await?;
    Ok(cancelled)
}

async fn record(tx: &mut Tx, job: &Granted<JobRow>, now: &JobRow) -> AppResult<()> {
    tx.audit(job.grant())
        .on("job", job.id)
        .details(json!({ "kind": job.kind, "status": now.status.as_str() }))
        .record_in(tx)
        .await
}
