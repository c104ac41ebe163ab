//! Background jobs, taken by workers with `FOR UPDATE SKIP LOCKED`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::{enums::JobStatus, schema::jobs};

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
