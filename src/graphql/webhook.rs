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
    models::webhook::WebhookSubscriptionRow,
    services::{
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
impl WebhookMutation {
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
}
