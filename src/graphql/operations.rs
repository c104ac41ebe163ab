//! Operational records: `WebhookSubscription`, `Job`, `AnalyticsEvent` and `AuditLog`, with
//! the job and audit-log filters.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use secrecy::ExposeSecret;

use super::{
    context::ContextExt,
    loaders::{UserById, load},
    mutation::{UserError, write},
    node::{global_id, input_id, optional_argument_id},
    user::User,
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::{JobStatus, Outcome},
    error::{AppResult, FieldError},
    models::{
        analytics_event::AnalyticsEventRow,
        audit_log::AuditLogRow,
        filters::{AuditLogConditions, JobConditions},
        job::JobRow,
        page::Filter,
        webhook::WebhookSubscriptionRow,
    },
    services::{
        analytics::{self, TrackedEvent},
        audit::Action,
        webhooks::{self, WebhookFields},
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
    /// The conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        Ok(AuditLogConditions {
            action: self.action,
            actor_id: optional_argument_id(self.actor_id.as_ref(), "User", "filter.actorId")?,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            from: self.from,
            to: self.to,
        }
        .into())
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

/// Input of `createWebhookSubscription`.
#[derive(InputObject)]
pub struct CreateWebhookSubscriptionInput {
    /// The project whose events it receives (needs `project.update` there).
    pub project_id: ID,
    /// Where deliveries go: an `https://` URL.
    pub url: String,
    /// Event names such as `message.created` (at most 32); none or empty: every event.
    pub event_types: Option<Vec<String>>,
    /// What it is for (at most 500 characters).
    pub description: Option<String>,
}

/// Input of `updateWebhookSubscription`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookSubscriptionInput {
    /// The subscription to change.
    pub id: ID,
    /// Where deliveries go: an `https://` URL.
    pub url: Option<String>,
    /// Event names (replaces the list; empty: every event).
    pub event_types: Option<Vec<String>>,
    /// What it is for (at most 500 characters).
    pub description: Option<String>,
}

/// Input of `pauseWebhookSubscription`, `resumeWebhookSubscription` and
/// `deleteWebhookSubscription`.
#[derive(InputObject)]
pub struct WebhookSubscriptionInput {
    /// The subscription.
    pub id: ID,
}

/// The result of `createWebhookSubscription`.
#[derive(SimpleObject)]
pub struct CreateWebhookSubscriptionPayload {
    /// The new subscription, unless there were user errors.
    pub webhook_subscription: Option<WebhookSubscription>,
    /// The secret deliveries are signed with. Shown only here: store it safely.
    pub secret: Option<String>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of the other webhook subscription mutations.
#[derive(SimpleObject)]
pub struct WebhookSubscriptionPayload {
    /// The subscription as it is now (null after deletion or on user errors).
    pub webhook_subscription: Option<WebhookSubscription>,
    /// The id of the deleted subscription, after `deleteWebhookSubscription`.
    pub deleted_webhook_subscription_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// One analytics event as a client reports it.
#[derive(InputObject)]
pub struct TrackedEventInput {
    /// Name, such as `chat.opened` (1 to 200 characters).
    pub name: String,
    /// Free properties, a JSON object of at most 16 KiB.
    pub properties: Option<Json<Value>>,
    /// When it happened (at most 30 days ago); now when omitted.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The chat it concerns, a chat of the project.
    pub chat_id: Option<ID>,
}

/// Input of `trackEvents`.
#[derive(InputObject)]
pub struct TrackEventsInput {
    /// The project the events happened in (needs `chat.read` there).
    pub project_id: ID,
    /// 1 to 100 events, stored all or none.
    pub events: Vec<TrackedEventInput>,
}

/// The result of `trackEvents`.
#[derive(SimpleObject)]
pub struct TrackEventsPayload {
    /// How many events were stored (0 on user errors).
    pub accepted: i32,
    /// What was wrong with the input; `field` names the event by index, e.g.
    /// `["input", "events", "3", "name"]`.
    pub user_errors: Vec<UserError>,
}

/// Webhook subscription and analytics mutations.
#[derive(Default)]
pub struct OperationsMutation;

impl OperationsMutation {
    /// Changes, pauses, resumes (`active`) or deletes (`delete`) subscription `id`.
    async fn change_webhook(
        ctx: &Context<'_>,
        action: Action,
        id: &ID,
        fields: WebhookFields,
        active: Option<bool>,
        delete: bool,
    ) -> Result<WebhookSubscriptionPayload> {
        let (row, user_errors) = write(ctx, action, async |tx| {
            let subscription = tx
                .granted(input_id(id, "WebhookSubscription", "id")?, Permission::ProjectUpdate)
                .await?;
            if delete {
                webhooks::delete(tx, &subscription).await?;
                return Ok(None);
            }
            webhooks::update(tx, &subscription, fields, active).await.map(Some)
        })
        .await?;
        let done = row.is_some();
        Ok(WebhookSubscriptionPayload {
            webhook_subscription: row.flatten().map(WebhookSubscription),
            deleted_webhook_subscription_id: (delete && done).then(|| id.clone()),
            user_errors,
        })
    }
}

#[Object]
impl OperationsMutation {
    /// Subscribes a URL to a project's events. The signing secret is returned once.
    async fn create_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateWebhookSubscriptionInput,
    ) -> Result<CreateWebhookSubscriptionPayload> {
        let keyring = &ctx.request().authenticator().keyring;
        let (created, user_errors) = write(ctx, Action::WebhookCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ProjectUpdate).await?;
            let fields = WebhookFields {
                url: Some(input.url),
                event_types: input.event_types,
                description: input.description,
            };
            webhooks::create(tx, &grant, keyring, fields).await
        })
        .await?;
        let (row, secret) = created.unzip();
        Ok(CreateWebhookSubscriptionPayload {
            webhook_subscription: row.map(WebhookSubscription),
            secret: secret.map(|s| s.expose_secret().to_owned()),
            user_errors,
        })
    }

    /// Changes a subscription's URL, event types or description.
    async fn update_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateWebhookSubscriptionInput,
    ) -> Result<WebhookSubscriptionPayload> {
        let fields = WebhookFields {
            url: input.url,
            event_types: input.event_types,
            description: input.description,
        };
        Self::change_webhook(ctx, Action::WebhookUpdate, &input.id, fields, None, false).await
    }

    /// Pauses deliveries to a subscription.
    async fn pause_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscriptionPayload> {
        let fields = WebhookFields::default();
        Self::change_webhook(ctx, Action::WebhookPause, &input.id, fields, Some(false), false).await
    }

    /// Resumes deliveries to a paused subscription (its failure count starts afresh).
    async fn resume_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscriptionPayload> {
        let fields = WebhookFields::default();
        Self::change_webhook(ctx, Action::WebhookResume, &input.id, fields, Some(true), false).await
    }

    /// Deletes a subscription.
    async fn delete_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscriptionPayload> {
        let fields = WebhookFields::default();
        Self::change_webhook(ctx, Action::WebhookDelete, &input.id, fields, None, true).await
    }

    /// Stores a batch of product analytics events, all or none; an event about a chat needs
    /// the right to write to that chat. Limited per user (`analytics.track`, per batch).
    async fn track_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: TrackEventsInput,
    ) -> Result<TrackEventsPayload> {
        let (accepted, user_errors) = write(ctx, Action::AnalyticsTrack, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ChatRead).await?;
            let mut events = Vec::with_capacity(input.events.len());
            for (index, event) in input.events.into_iter().enumerate() {
                let chat_id = event.chat_id.as_ref().map(|id| input_id(id, "Chat", "chatId"));
                let chat_id = chat_id.transpose().map_err(|_| FieldError {
                    field: vec!["input".into(), "events".into(), index.to_string(), "chatId".into()],
                    message: "not the id of a Chat".into(),
                    code: "INVALID_ID",
                })?;
                events.push(TrackedEvent {
                    name: event.name,
                    properties: event.properties.map(|p| p.0),
                    occurred_at: event.occurred_at,
                    chat_id,
                });
            }
            analytics::track(tx, &grant, events).await
        })
        .await?;
        Ok(TrackEventsPayload {
            accepted: accepted.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            user_errors,
        })
    }
}
