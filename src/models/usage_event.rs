//! Usage and cost records: one row per model call, embedding batch or tool call.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning};
use crate::db::{
    enums::{Outcome, UsageOperation},
    schema::usage_events,
};

/// What one operation used and cost.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = usage_events, check_for_backend(diesel::pg::Pg))]
pub struct UsageEventRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub chat_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub api_token_id: Option<Uuid>,
    pub operation: UsageOperation,
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub total_tokens: i64,
    pub input_cost: BigDecimal,
    pub output_cost: BigDecimal,
    pub total_cost: BigDecimal,
    pub status: Outcome,
    pub requested_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

/// A new usage record (append-only).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = usage_events)]
pub struct NewUsageEvent {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub chat_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub api_token_id: Option<Uuid>,
    pub operation: UsageOperation,
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub total_tokens: i64,
    pub input_cost: BigDecimal,
    pub output_cost: BigDecimal,
    pub total_cost: BigDecimal,
    pub status: Outcome,
    pub requested_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub metadata: Value,
}

find_by_id!(UsageEventRow, usage_events);
insert_returning!(NewUsageEvent => UsageEventRow, usage_events);
