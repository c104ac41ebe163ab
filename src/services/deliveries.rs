//! Webhook deliveries, following the Standard Webhooks specification
//! (<https://www.standardwebhooks.com>). An event is queued in the transaction of its cause
//! ([`emit`]): one `webhook_deliveries` row and one `webhook.deliver` job per subscription
//! that wants it, so an event is sent exactly when its cause committed. The job signs the
//! body (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! id.timestamp.body>` with the subscription's `whsec_` secret), resolves the URL and refuses
//! internal addresses again (`outbound::Policy::resolve`), connects to the address it checked,
//! follows no redirect, and records the outcome.
//!
//! A 2xx answer delivers. A 410 (Gone) disables the subscription. Anything else is retried
//! with the job queue's backoff, up to [`ATTEMPTS`]; after [`PAUSE_AFTER`] consecutive
//! failures the subscription is paused (resume it with `resumeWebhookSubscription`).
//! Events about a private chat are not sent: the receiver is the project's, the chat is
//! its owner's.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use super::{
    auth::Authenticator,
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::Permission,
    db::{
        enums::{ChatVisibility, DeliveryStatus},
        new_id,
    },
    error::{AppError, AppResult, FieldError},
    jobs::{Enqueue, JobContext, JobError},
    models::{
        chat::ChatRow,
        job::JobRow,
        webhook::{
            NewWebhookDelivery, WebhookDeliveryPatch, WebhookDeliveryRow, WebhookSubscriptionPatch,
            WebhookSubscriptionRow,
        },
    },
};

/// The job that delivers one event to one subscription.
pub const KIND: &str = "webhook.deliver";
/// Attempts per delivery (the job queue spaces them with growing backoff).
pub const ATTEMPTS: i32 = 8;
/// Consecutive failed attempts after which a subscription is paused.
pub const PAUSE_AFTER: i32 = 20;
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Queues `event_type` with `data` for every active subscription of `project_id` that wants
/// it, on `conn` (the transaction of the event's cause). Returns how many were queued.
pub async fn emit(
    conn: &mut AsyncPgConnection,
    project_id: Uuid,
    event_type: &str,
    data: Value,
) -> diesel::QueryResult<usize> {
    let subscriptions = WebhookSubscriptionRow::wanting(conn, project_id, event_type).await?;
    let payload = json!({ "type": event_type, "timestamp": Utc::now(), "data": data });
    for subscription in &subscriptions {
        let delivery = NewWebhookDelivery {
            id: new_id(),
            subscription_id: subscription.id,
            event_type: event_type.to_owned(),
            payload: payload.clone(),
        }
        .insert(conn)
        .await?;
        queue(conn, &delivery, project_id).await?;
    }
    Ok(subscriptions.len())
}

/// [`emit`] for an event of chat `chat_id` (in its project), unless the chat is private.
pub async fn emit_in_chat(
    conn: &mut AsyncPgConnection,
    chat_id: Uuid,
    event_type: &str,
    data: Value,
) -> diesel::QueryResult<usize> {
    match ChatRow::find(conn, chat_id).await? {
        Some(chat) if chat.visibility != ChatVisibility::Private => emit(conn, chat.project_id, event_type, data).await,
        _ => Ok(0),
    }
}

/// Queues the job that sends `delivery`.
pub async fn queue(
    conn: &mut AsyncPgConnection,
    delivery: &WebhookDeliveryRow,
    project_id: Uuid,
) -> diesel::QueryResult<Option<JobRow>> {
    Enqueue::new(KIND, json!({ "delivery": delivery.id }))
        .in_project(project_id)
        .attempts(ATTEMPTS)
        .queue(conn)
        .await
}

/// Queues delivery `id` again for a caller with `project.update` in its subscription's
/// project: a new series of attempts. Another tenant's delivery and one that does not exist
/// are alike NOT_FOUND; a paused subscription is a user error.
pub async fn redeliver(tx: &mut Tx, id: Uuid) -> AppResult<WebhookDeliveryRow> {
    let delivery = WebhookDeliveryRow::find(tx.conn(), id)
        .await?
        .ok_or(AppError::NotFound("webhook delivery"))?;
    let subscription = match tx
        .granted::<WebhookSubscriptionRow>(delivery.subscription_id, Permission::ProjectUpdate)
        .await
    {
        Err(AppError::NotFound(_)) => return Err(AppError::NotFound("webhook delivery")),
        other => other?,
    };
    if !subscription.is_active {
        return Err(FieldError::input(
            "deliveryId",
            "SUBSCRIPTION_PAUSED",
            "the subscription is paused: resume it first",
        )
        .into());
    }
    let delivery = WebhookDeliveryPatch {
        status: Some(DeliveryStatus::Pending),
        attempts: Some(0),
        error: Some(None),
        ..Default::default()
    }
    .apply(tx.conn(), id)
    .await?;
    queue(tx.conn(), &delivery, subscription.project_id).await?;
    tx.audit(subscription.grant())
        .on("webhook_delivery", id)
        .details(json!({ "subscriptionId": subscription.id, "eventType": delivery.event_type }))
        .record_in(tx)
        .await?;
    Ok(delivery)
}

/// The Standard Webhooks signature of `body` sent as message `id` at `timestamp` (Unix
/// seconds): `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` keyed by the secret
/// (`whsec_` and base64 of the key).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD.decode(encoded).unwrap_or_else(|_| secret.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    };
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Runs a `webhook.deliver` job: one attempt at one delivery.
pub async fn run(job: JobRow, ctx: JobContext, auth: Arc<Authenticator>) -> Result<Value, JobError> {
    let delivery_id = job
        .payload
        .get("delivery")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<Uuid>().ok())
        .ok_or_else(|| JobError::permanent("the job names no delivery"))?;
    let connect = async || ctx.pool().get().await.map_err(crate::error::AppError::from);
    let (delivery, subscription) = {
        let mut conn = connect().await?;
        let Some(delivery) = WebhookDeliveryRow::find(&mut conn, delivery_id).await? else {
            return Ok(json!({ "skipped": "the delivery is gone" }));
        };
        match WebhookSubscriptionRow::find(&mut conn, delivery.subscription_id).await? {
            Some(subscription) if subscription.is_active => (delivery, subscription),
            _ => {
                let gone = Attempt::given_up("the subscription is paused or gone");
                record(&mut conn, &delivery, gone).await?;
                return Ok(json!({ "skipped": "the subscription is paused or gone" }));
            }
        }
    };
    // No pooled connection is held while the receiver takes its time.
    let attempt = attempt(&auth, &subscription, &delivery).await;
    let mut conn = connect().await?;
    let attempt = record(&mut conn, &delivery, attempt).await?;
    account(&mut conn, &subscription, &attempt).await?;
    match (attempt.status, attempt.gone, attempt.refused) {
        (DeliveryStatus::Delivered, ..) => Ok(json!({ "status": attempt.response_status })),
        (_, true, _) => Err(JobError::permanent(
            "the receiver answered 410 Gone: subscription disabled",
        )),
        (_, _, true) => Err(JobError::permanent(attempt.error.unwrap_or_default())),
        _ => Err(JobError::transient(attempt.error.unwrap_or_default())),
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
struct Attempt {
    status: DeliveryStatus,
    response_status: Option<i32>,
    latency_ms: Option<i32>,
    error: Option<String>,
    /// The receiver answered 410: the subscription is disabled.
    gone: bool,
    /// The destination was refused (an internal address): no retry can help.
    refused: bool,
}

impl Attempt {
    fn given_up(why: &str) -> Attempt {
        Attempt {
            status: DeliveryStatus::Failed,
            response_status: None,
            latency_ms: None,
            error: Some(why.to_owned()),
            gone: false,
            refused: true,
        }
    }
}

async fn attempt(
    auth: &Authenticator,
    subscription: &WebhookSubscriptionRow,
    delivery: &WebhookDeliveryRow,
) -> Attempt {
    let url = match reqwest::Url::parse(&subscription.url) {
        Ok(url) => url,
        Err(_) => return Attempt::given_up("the subscription's URL is not valid"),
    };
    let address = match auth.outbound.resolve(&url).await {
        Ok(address) => address,
        Err(why) => return Attempt::given_up(&format!("refused: {why}")),
    };
    let secret = match auth.keyring.decrypt(
        &subscription.encrypted_secret,
        subscription.key_version,
        &super::webhooks::associated_data(subscription.id),
    ) {
        Ok(secret) => String::from_utf8_lossy(&secret).into_owned(),
        Err(_) => return Attempt::given_up("the signing secret cannot be read"),
    };
    let body = delivery.payload.to_string();
    let id = format!("msg_{}", delivery.id.simple());
    let timestamp = Utc::now().timestamp();
    let client = crate::outbound::pinned_client(&url, address).timeout(TIMEOUT).build();
    let Ok(client) = client else {
        return Attempt::given_up("no HTTP client");
    };
    let started = std::time::Instant::now();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "chatgraph-webhooks")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sign(&secret, &id, timestamp, &body))
        .body(body)
        .send()
        .await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).ok();
    match sent {
        Ok(response) => {
            let code = response.status();
            let delivered = code.is_success();
            Attempt {
                status: if delivered {
                    DeliveryStatus::Delivered
                } else {
                    DeliveryStatus::Pending
                },
                response_status: Some(i32::from(code.as_u16())),
                latency_ms,
                error: (!delivered).then(|| format!("the receiver answered {code}")),
                gone: code == reqwest::StatusCode::GONE,
                refused: false,
            }
        }
        Err(error) => Attempt {
            status: DeliveryStatus::Pending,
            response_status: None,
            latency_ms,
            error: Some(if error.is_timeout() {
                format!("no answer within {} s", TIMEOUT.as_secs())
            } else {
                "the receiver could not be reached".to_owned()
            }),
            gone: false,
            refused: false,
        },
    }
}

/// Stores `attempt` on `delivery`: a failure that will not be retried (410, a refused
/// destination, the last attempt) is `failed`; the others stay `pending` for the job
/// queue's next attempt.
async fn record(
    conn: &mut AsyncPgConnection,
    delivery: &WebhookDeliveryRow,
    mut attempt: Attempt,
) -> Result<Attempt, JobError> {
    let attempts = delivery.attempts + 1;
    let last = attempts >= ATTEMPTS;
    if attempt.status == DeliveryStatus::Pending && (attempt.gone || attempt.refused || last) {
        attempt.status = DeliveryStatus::Failed;
    }
    let now = Utc::now();
    WebhookDeliveryPatch {
        status: Some(attempt.status),
        attempts: Some(attempts),
        response_status: Some(attempt.response_status),
        latency_ms: Some(attempt.latency_ms),
        error: Some(attempt.error.clone()),
        last_attempt_at: Some(Some(now)),
        delivered_at: Some((attempt.status == DeliveryStatus::Delivered).then_some(now)),
    }
    .apply(conn, delivery.id)
    .await?;
    Ok(attempt)
}

/// The subscription's record of successes and failures: a 410 disables it, and
/// [`PAUSE_AFTER`] consecutive failures pause it.
async fn account(
    conn: &mut AsyncPgConnection,
    subscription: &WebhookSubscriptionRow,
    attempt: &Attempt,
) -> Result<(), JobError> {
    let now = Utc::now();
    let patch = if attempt.status == DeliveryStatus::Delivered {
        WebhookSubscriptionPatch {
            last_success_at: Some(Some(now)),
            consecutive_failures: Some(0),
            ..Default::default()
        }
    } else {
        let failures = subscription.consecutive_failures + 1;
        WebhookSubscriptionPatch {
            last_failure_at: Some(Some(now)),
            consecutive_failures: Some(failures),
            is_active: (attempt.gone || failures >= PAUSE_AFTER).then_some(false),
            ..Default::default()
        }
    };
    patch.apply(conn, subscription.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn signatures_match_the_specifications_example() {
        // The example of the Standard Webhooks specification and its reference libraries.
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
