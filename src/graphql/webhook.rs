//! `WebhookSubscription`: a URL that receives a project's events, and its mutations.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use secrecy::ExposeSecret;

use super::{
    context::ContextExt,
    mutation::{UserError, write},
    node::{global_id, input_id},
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::DeliveryStatus,
    models::webhook::{WebhookDeliveryRow, WebhookSubscriptionRow},
    services::{
        audit::Action,
        deliveries,
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

    /// Its latest deliveries, newest first (the last 20): what was sent, and how the last
    /// attempt of each went.
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn deliveries(&self, ctx: &Context<'_>) -> Result<Vec<WebhookDelivery>> {
        let mut conn = ctx.conn().await?;
        let limit = super::node::MAX_ITEM_LIST_ITEMS as i64;
        let rows = WebhookDeliveryRow::latest(&mut conn, self.0.id, limit)
            .await
            .map_err(|e| ctx.error(e))?;
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
}

/// One event sent (or to be sent) to a webhook subscription, with the outcome of its last
/// attempt.
pub struct WebhookDelivery(pub WebhookDeliveryRow);

/// One event sent (or to be sent) to a webhook subscription, with the outcome of its last
/// attempt.
#[Object]
impl WebhookDelivery {
    /// Opaque id (for `redeliverWebhook`); the receiver sees it as `webhook-id: msg_<uuid>`.
    async fn id(&self) -> ID {
        global_id("WebhookDelivery", self.0.id)
    }

    /// The event (`chat.created`, `message.completed`, `document.indexed`, `document.failed`,
    /// `job.failed`, `member.added`, `member.removed`).
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    /// The body sent: `{"type", "timestamp", "data"}`.
    async fn payload(&self) -> async_graphql::Json<&serde_json::Value> {
        async_graphql::Json(&self.0.payload)
    }

    /// Where it stands.
    async fn status(&self) -> DeliveryStatus {
        self.0.status
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The HTTP status the receiver answered last (null when it could not be reached).
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }

    /// How long the last attempt took, in milliseconds.
    async fn latency_ms(&self) -> Option<i32> {
        self.0.latency_ms
    }

    /// Why the last attempt failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// When the event happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was last tried.
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }

    /// When the receiver accepted it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// Input of `redeliverWebhook`.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery to send again (needs `project.update` in its subscription's project).
    pub delivery_id: ID,
}

/// The result of `redeliverWebhook`.
#[derive(SimpleObject)]
pub struct RedeliverWebhookPayload {
    /// The delivery, queued again, unless there were user errors.
    pub delivery: Option<WebhookDelivery>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
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
/// Webhook subscription mutations.
#[derive(Default)]
pub struct WebhookMutation;

impl WebhookMutation {
    /// Changes, pauses, resumes (`active`) or deletes (`delete`) subscription `id`.
    async fn change_webhook(
        ctx: &Context<'_>,
        action: Action,
        id: &ID,
        fields: WebhookFields,
        active: Option<bool>,
        delete: bool,
    ) -> Result<WebhookSubscriptionPayload> {
        let policy = ctx.request().authenticator().outbound;
        let (row, user_errors) = write(ctx, action, async |tx| {
            let subscription = tx
                .granted(input_id(id, "WebhookSubscription", "id")?, Permission::ProjectUpdate)
                .await?;
            if delete {
                webhooks::delete(tx, &subscription).await?;
                return Ok(None);
            }
            webhooks::update(tx, &subscription, fields, active, policy)
                .await
                .map(Some)
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
impl WebhookMutation {
    /// Sends a delivery again (a new series of attempts, same `webhook-id`, so receivers can
    /// tell it is the same event). Its subscription must be active.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RedeliverWebhookInput,
    ) -> Result<RedeliverWebhookPayload> {
        let (delivery, user_errors) = write(ctx, Action::WebhookRedeliver, async |tx| {
            let id = input_id(&input.delivery_id, "WebhookDelivery", "deliveryId")?;
            deliveries::redeliver(tx, id).await
        })
        .await?;
        Ok(RedeliverWebhookPayload {
            delivery: delivery.map(WebhookDelivery),
            user_errors,
        })
    }

    /// Subscribes a URL to a project's events. The signing secret is returned once.
    async fn create_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateWebhookSubscriptionInput,
    ) -> Result<CreateWebhookSubscriptionPayload> {
        let (keyring, policy) = (
            &ctx.request().authenticator().keyring,
            ctx.request().authenticator().outbound,
        );
        let (created, user_errors) = write(ctx, Action::WebhookCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ProjectUpdate).await?;
            let fields = WebhookFields {
                url: Some(input.url),
                event_types: input.event_types,
                description: input.description,
            };
            webhooks::create(tx, &grant, keyring, policy, fields).await
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
}
