//! Webhook subscriptions of a project; their signing secret is stored encrypted.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, project::ProjectRow, update_returning};
use crate::db::{
    enums::DeliveryStatus,
    schema::{webhook_deliveries, webhook_subscriptions},
};

/// Where to send which events.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct WebhookSubscriptionRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub url: String,
    pub encrypted_secret: Vec<u8>,
    pub key_version: i32,
    pub event_types: Vec<String>,
    pub is_active: bool,
    pub description: String,
    pub created_by: Option<Uuid>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new subscription (secret already encrypted).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct NewWebhookSubscription {
    pub id: Uuid,
    pub project_id: Uuid,
    pub url: String,
    pub encrypted_secret: Vec<u8>,
    pub key_version: i32,
    pub event_types: Vec<String>,
    pub description: String,
    pub created_by: Option<Uuid>,
}

/// A change to a subscription.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhook_subscriptions)]
pub struct WebhookSubscriptionPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub is_active: Option<bool>,
    pub description: Option<String>,
    pub last_success_at: Option<Option<DateTime<Utc>>>,
    pub last_failure_at: Option<Option<DateTime<Utc>>>,
    pub consecutive_failures: Option<i32>,
}

find_by_id!(WebhookSubscriptionRow, webhook_subscriptions);
insert_returning!(NewWebhookSubscription => WebhookSubscriptionRow, webhook_subscriptions);
update_returning!(WebhookSubscriptionPatch => WebhookSubscriptionRow, webhook_subscriptions);

impl WebhookSubscriptionRow {
    /// The active subscriptions of `project_id` that want `event_type` (an empty list of
    /// event types wants every event).
    pub async fn wanting(
        conn: &mut diesel_async::AsyncPgConnection,
        project_id: Uuid,
        event_type: &str,
    ) -> QueryResult<Vec<Self>> {
        use diesel::dsl::sql;
        use diesel::sql_types::{Bool, Text};
        webhook_subscriptions::table
            .filter(webhook_subscriptions::project_id.eq(project_id))
            .filter(webhook_subscriptions::is_active.eq(true))
            .filter(
                sql::<Bool>("(cardinality(event_types) = 0 OR ")
                    .bind::<Text, _>(event_type.to_owned())
                    .sql(" = ANY(event_types))"),
            )
            .select(Self::as_select())
            .load(conn)
            .await
    }
}

/// One event for one subscription, and the outcome of its last attempt.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct WebhookDeliveryRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub latency_ms: Option<i32>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A new delivery (pending).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewWebhookDelivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// The outcome of an attempt.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhook_deliveries)]
pub struct WebhookDeliveryPatch {
    pub status: Option<DeliveryStatus>,
    pub attempts: Option<i32>,
    pub response_status: Option<Option<i32>>,
    pub latency_ms: Option<Option<i32>>,
    pub error: Option<Option<String>>,
    pub last_attempt_at: Option<Option<DateTime<Utc>>>,
    pub delivered_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(WebhookDeliveryRow, webhook_deliveries);
insert_returning!(NewWebhookDelivery => WebhookDeliveryRow, webhook_deliveries);
update_returning!(WebhookDeliveryPatch => WebhookDeliveryRow, webhook_deliveries);

impl WebhookDeliveryRow {
    /// The newest deliveries of `subscription_id`, at most `limit`.
    pub async fn latest(
        conn: &mut diesel_async::AsyncPgConnection,
        subscription_id: Uuid,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(subscription_id))
            .order((webhook_deliveries::created_at.desc(), webhook_deliveries::id.desc()))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
