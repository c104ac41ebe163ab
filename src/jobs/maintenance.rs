//! The periodic clean-up job (`maintenance`): ended sessions, old rate-limit windows and
//! finished jobs. Every replica's workers queue it now and then under one unique key, so
//! it is pending at most once; it is repeatable, so running it twice does no harm. (Streams
//! whose server stopped are ended by the generation service's own reaper.)

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::{JobContext, JobError};
use crate::{
    error::AppError,
    models::{job::JobRow, rate_limit::RateLimitCounterRow, session::SessionRow},
};

/// The kind (and unique key) of the maintenance job.
pub const KIND: &str = "maintenance";

/// How long what has ended is kept before the maintenance job deletes it.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Finished jobs (succeeded, failed, cancelled), counted from when they ended.
    pub jobs: Duration,
    /// Expired or revoked sessions with their refresh tokens.
    pub sessions: Duration,
    /// Rate-limit counters, counted from the end of their window.
    pub rate_limit_windows: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Retention {
            jobs: Duration::from_secs(7 * DAY),
            sessions: Duration::from_secs(30 * DAY),
            rate_limit_windows: Duration::from_secs(DAY),
        }
    }
}

/// Deletes what the retention says is old; the result counts what went.
pub async fn run(ctx: JobContext, retention: Retention) -> Result<Value, JobError> {
    let mut conn = ctx.pool().get().await.map_err(AppError::from)?;
    let before = |kept: Duration| Utc::now() - chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX);
    let sessions = SessionRow::delete_ended_before(&mut conn, before(retention.sessions)).await?;
    let counters = RateLimitCounterRow::delete_ended_before(&mut conn, before(retention.rate_limit_windows)).await?;
    let jobs = JobRow::delete_finished_before(&mut conn, before(retention.jobs)).await?;
    Ok(json!({ "sessions": sessions, "rateLimitCounters": counters, "jobs": jobs }))
}
