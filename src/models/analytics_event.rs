//! Product analytics events sent by clients.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning};
use crate::db::schema::analytics_events;

/// One named event with free properties.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = analytics_events, check_for_backend(diesel::pg::Pg))]
pub struct AnalyticsEventRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: Option<Uuid>,
    pub chat_id: Option<Uuid>,
    pub name: String,
    pub properties: Value,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// A new event.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = analytics_events)]
pub struct NewAnalyticsEvent {
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: Option<Uuid>,
    pub chat_id: Option<Uuid>,
    pub name: String,
    pub properties: Value,
    pub occurred_at: DateTime<Utc>,
}

find_by_id!(AnalyticsEventRow, analytics_events);
insert_returning!(NewAnalyticsEvent => AnalyticsEventRow, analytics_events);
