//! Webhook subscriptions of a project; their signing secret is stored encrypted.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, project::ProjectRow, update_returning};
use crate::db::schema::webhook_subscriptions;

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
