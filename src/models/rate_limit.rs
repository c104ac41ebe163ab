//! Per-user request counters per scope and window (hourly, daily).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, user::UserRow};
use crate::db::{enums::RateLimitWindow, schema::rate_limit_counters};

/// How many requests a user made in one scope during one window, and the limit.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = rate_limit_counters, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct RateLimitCounterRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub scope: String,
    pub window_kind: RateLimitWindow,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub request_count: i32,
    pub limit_value: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new counter for a window.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = rate_limit_counters)]
pub struct NewRateLimitCounter {
    pub id: Uuid,
    pub user_id: Uuid,
    pub scope: String,
    pub window_kind: RateLimitWindow,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub request_count: i32,
    pub limit_value: i32,
}

find_by_id!(RateLimitCounterRow, rate_limit_counters);
insert_returning!(NewRateLimitCounter => RateLimitCounterRow, rate_limit_counters);
