//! `Job`: a unit of background work, and the job filter.

use async_graphql::{ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::node::global_id;
use crate::{
    db::enums::JobStatus,
    models::{filters::JobConditions, job::JobRow, page::Filter},
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
