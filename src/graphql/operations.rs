//! Operational records: `WebhookSubscription`, `Job`, `AnalyticsEvent` and `AuditLog`, with
//! the job and audit-log filters.

use async_graphql::{Context, ID, InputObject, Json, Object, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    loaders::{UserById, load},
    node::{argument_id, global_id},
    user::User,
};
use crate::{
    db::enums::{JobStatus, Outcome},
    error::AppResult,
    models::{
        analytics_event::AnalyticsEventRow,
        audit_log::AuditLogRow,
        job::JobRow,
        page::{Filter, FilterValue},
        webhook::WebhookSubscriptionRow,
    },
};

/// A URL that receives a project's events. Its signing secret is never shown again after
/// creation.
pub struct WebhookSubscription(pub WebhookSubscriptionRow);

/// A URL that receives a project's events. Its signing secret is never shown again after
/// creation.
#[Object]
impl WebhookSubscription {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("WebhookSubscription", self.0.id)
    }

    /// Where events are posted.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Which events it receives (empty: all).
    async fn event_types(&self) -> &[String] {
        &self.0.event_types
    }

    /// Whether deliveries are made.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }

    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// When a delivery last succeeded.
    async fn last_success_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_success_at
    }

    /// When a delivery last failed.
    async fn last_failure_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_failure_at
    }

    /// Failed deliveries since the last success.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which jobs to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub status: Option<JobStatus>,
    /// Only jobs of this kind (such as `document.index`).
    pub kind: Option<String>,
}

impl JobFilter {
    /// The SQL conditions of this filter.
    pub fn conditions(self) -> Filter {
        Filter::none()
            .with(
                "c.status = $?",
                self.status.map(|s| s.as_str().to_owned()),
                FilterValue::Text,
            )
            .with("c.kind = $?", self.kind, FilterValue::Text)
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

/// A product analytics event sent by a client (a page view, a click, ...).
pub struct AnalyticsEvent(pub AnalyticsEventRow);

/// A product analytics event sent by a client (a page view, a click, ...).
#[Object]
impl AnalyticsEvent {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("AnalyticsEvent", self.0.id)
    }

    /// Event name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Event properties (JSON).
    async fn properties(&self) -> Json<&Value> {
        Json(&self.0.properties)
    }

    /// When it happened (client time).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// When the server received it.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
}

/// Which audit records to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only this action (such as `credential.create`).
    pub action: Option<String>,
    /// Only actions by this user.
    pub actor_id: Option<ID>,
    /// Only actions on this kind of resource (such as `chat`).
    pub resource_type: Option<String>,
    /// Only actions on this resource (its raw id).
    pub resource_id: Option<String>,
    /// Only records at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only records before this time.
    pub to: Option<DateTime<Utc>>,
}

impl AuditLogFilter {
    /// The SQL conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        let actor = self
            .actor_id
            .map(|id| argument_id(&id, "User", "filter.actorId"))
            .transpose()?;
        Ok(Filter::none()
            .with("c.action = $?", self.action, FilterValue::Text)
            .with("c.actor_user_id = $?", actor, FilterValue::Uuid)
            .with("c.resource_type = $?", self.resource_type, FilterValue::Text)
            .with("c.resource_id = $?", self.resource_id, FilterValue::Text)
            .with("c.created_at >= $?", self.from, FilterValue::Time)
            .with("c.created_at < $?", self.to, FilterValue::Time))
    }
}

/// A record of a change or a security event: who, what, on what, from where, and whether it
/// succeeded. Records are never changed.
pub struct AuditLog(pub AuditLogRow);

/// A record of a change or a security event: who, what, on what, from where, and whether it
/// succeeded. Records are never changed.
#[Object]
impl AuditLog {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("AuditLog", self.0.id)
    }

    /// What happened (such as `chat.delete`).
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Who did it, when it was a user (null for system actions or deleted users).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.actor_user_id else {
            return Ok(None);
        };
        Ok(load(ctx, UserById(id)).await?.map(User))
    }

    /// The kind of resource acted on.
    async fn resource_type(&self) -> Option<&str> {
        self.0.resource_type.as_deref()
    }

    /// The raw id of the resource acted on.
    async fn resource_id(&self) -> Option<&str> {
        self.0.resource_id.as_deref()
    }

    /// Details (JSON; never secrets).
    async fn details(&self) -> Json<&Value> {
        Json(&self.0.details)
    }

    /// The client's address.
    async fn ip_address(&self) -> Option<String> {
        self.0.ip_address.map(|ip| ip.addr().to_string())
    }

    /// The client's user agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// Whether it succeeded.
    async fn status(&self) -> Outcome {
        self.0.status
    }

    /// Why it failed (a user-facing reason, never internal error text).
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
