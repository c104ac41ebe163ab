//! Errors recorded for operators (never shown to clients in full).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning};
use crate::db::schema::error_logs;

/// One recorded error, tied to its request id.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = error_logs, check_for_backend(diesel::pg::Pg))]
pub struct ErrorLogRow {
    pub id: Uuid,
    pub request_id: Option<String>,
    pub user_id: Option<Uuid>,
    pub operation: Option<String>,
    pub path: Option<String>,
    pub code: String,
    pub message: String,
    pub details: Value,
    pub created_at: DateTime<Utc>,
}

/// A new error record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = error_logs)]
pub struct NewErrorLog {
    pub id: Uuid,
    pub request_id: Option<String>,
    pub user_id: Option<Uuid>,
    pub operation: Option<String>,
    pub path: Option<String>,
    pub code: String,
    pub message: String,
    pub details: Value,
}

find_by_id!(ErrorLogRow, error_logs);
insert_returning!(NewErrorLog => ErrorLogRow, error_logs);
