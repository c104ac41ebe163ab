//! Webhook subscriptions of a project, with a [`Grant`] of `project.update`: create (a
//! signing secret is generated, shown once and stored AES-256-GCM encrypted, bound to the
//! row's id), update, pause and resume, delete. The secret never enters the audit trail.

use anyhow::anyhow;
use diesel::QueryDsl;
use diesel_async::RunQueryDsl;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    write::{RecordIn, Tx},
};
use crate::{
    auth::{
        crypto::Keyring,
        grant::{Grant, Granted},
        tokens,
    },
    db::{new_id, schema::webhook_subscriptions},
    error::{AppError, AppResult, FieldError},
    models::webhook::{NewWebhookSubscription, WebhookSubscriptionPatch, WebhookSubscriptionRow},
    outbound::Policy,
};

/// Most event types one subscription may name.
pub const MAX_EVENT_TYPES: usize = 32;

/// What create and update take; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct WebhookFields {
    /// Where deliveries go: an `https://` URL of at most 2,048 characters.
    pub url: Option<String>,
    /// Event names such as `message.created` (at most 32); empty means every event.
    pub event_types: Option<Vec<String>>,
    /// At most 500 characters.
    pub description: Option<String>,
}

fn validated(fields: WebhookFields, policy: Policy) -> AppResult<WebhookFields> {
    let mut errors = Vec::new();
    if let Some(url) = fields.url.as_deref() {
        let scheme_ok = |scheme: &str| scheme == "https" || (policy.allow_private && scheme == "http");
        match reqwest::Url::parse(url) {
            Ok(parsed) if url.len() <= 2_048 && scheme_ok(parsed.scheme()) && parsed.host().is_some() => {
                if let Some(why) = policy.refuses(&parsed) {
                    errors.push(FieldError::input("url", "PRIVATE_ADDRESS", why));
                }
            }
            _ => errors.push(FieldError::input("url", "INVALID_URL", "url must be an https:// URL")),
        }
    }
    let event_ok = |e: &str| {
        (1..=100).contains(&e.len())
            && e.split('.').all(|part| {
                part.starts_with(|c: char| c.is_ascii_lowercase())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
    };
    if fields
        .event_types
        .as_ref()
        .is_some_and(|types| types.len() > MAX_EVENT_TYPES || types.iter().any(|t| !event_ok(t)))
    {
        errors.push(FieldError::input(
            "eventTypes",
            "INVALID_LIST",
            format!("eventTypes: at most {MAX_EVENT_TYPES} dotted lower-case names such as message.created"),
        ));
    }
    if fields.description.as_deref().is_some_and(|d| d.chars().count() > 500) {
        errors.push(FieldError::input(
            "description",
            "INVALID_LENGTH",
            "description must be at most 500 characters",
        ));
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn audit(tx: &Tx, grant: &Grant, id: Uuid) -> AuditEvent {
    tx.audit(grant).on("webhook_subscription", id)
}

/// The associated data binding a webhook secret's ciphertext to its row.
pub fn associated_data(id: Uuid) -> Vec<u8> {
    format!("webhook_subscriptions:{id}").into_bytes()
}

/// Creates a subscription of the granted project; returns it with its signing secret (shown
/// to the caller once, stored only encrypted).
pub async fn create(
    tx: &mut Tx,
    grant: &Grant,
    keyring: &Keyring,
    policy: Policy,
    fields: WebhookFields,
) -> AppResult<(WebhookSubscriptionRow, SecretString)> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a webhook is created with a project grant")))?;
    if fields.url.is_none() {
        return Err(FieldError::input("url", "REQUIRED", "url is required").into());
    }
    let fields = validated(fields, policy)?;
    let id = new_id();
    let secret = tokens::webhook_secret();
    let (encrypted_secret, key_version) = keyring.encrypt(secret.expose_secret().as_bytes(), &associated_data(id))?;
    let new = NewWebhookSubscription {
        id,
        project_id,
        url: fields.url.unwrap_or_default(),
        encrypted_secret,
        key_version,
        event_types: fields.event_types.unwrap_or_default(),
        description: fields.description.unwrap_or_default(),
        created_by: Some(grant.caller().user.id),
    };
    let row = new.insert(tx.conn()).await?;
    audit(tx, grant, row.id)
        .details(json!({ "url": row.url, "eventTypes": row.event_types }))
        .record_in(tx)
        .await?;
    Ok((row, secret))
}

/// Changes, pauses (`active: false`) or resumes a subscription of the granted project.
pub async fn update(
    tx: &mut Tx,
    subscription: &Granted<WebhookSubscriptionRow>,
    fields: WebhookFields,
    active: Option<bool>,
    policy: Policy,
) -> AppResult<WebhookSubscriptionRow> {
    let fields = validated(fields, policy)?;
    if fields.url.is_none() && fields.event_types.is_none() && fields.description.is_none() && active.is_none() {
        return Ok(subscription.row().clone());
    }
    let details = json!({ "url": fields.url, "eventTypes": fields.event_types, "active": active });
    let patch = WebhookSubscriptionPatch {
        url: fields.url,
        event_types: fields.event_types,
        description: fields.description,
        is_active: active,
        // A resumed subscription starts its failure count afresh.
        consecutive_failures: (active == Some(true)).then_some(0),
        ..Default::default()
    };
    let row = patch.apply(tx.conn(), subscription.id).await?;
    audit(tx, subscription.grant(), row.id)
        .details(details)
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Deletes a subscription of the granted project.
pub async fn delete(tx: &mut Tx, subscription: &Granted<WebhookSubscriptionRow>) -> AppResult<()> {
    diesel::delete(webhook_subscriptions::table.find(subscription.id))
        .execute(tx.conn())
        .await?;
    audit(tx, subscription.grant(), subscription.id)
        .details(json!({ "url": subscription.url }))
        .record_in(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(fields: WebhookFields) -> Vec<(String, &'static str)> {
        match validated(fields, Policy::default()) {
            Ok(_) => Vec::new(),
            Err(AppError::Invalid(errors)) => errors.into_iter().map(|e| (e.field[1].clone(), e.code)).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_are_https_event_types_dotted_and_descriptions_short() {
        let good = WebhookFields {
            url: Some("https://hooks.example.com/in".into()),
            event_types: Some(vec!["message.created".into(), "chat.deleted".into()]),
            description: Some("ours".into()),
        };
        assert!(codes(good).is_empty());
        for url in [
            "http://hooks.example.com/in",
            "https://",
            "ftp://x.example.com",
            "not a url",
        ] {
            let fields = WebhookFields {
                url: Some(url.into()),
                ..Default::default()
            };
            assert_eq!(codes(fields), vec![("url".to_owned(), "INVALID_URL")], "{url}");
        }
        // Server-side request forgery: the metadata service, loopback, the private network.
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://10.0.0.1/hook",
        ] {
            let fields = WebhookFields {
                url: Some(url.into()),
                ..Default::default()
            };
            assert_eq!(codes(fields), vec![("url".to_owned(), "PRIVATE_ADDRESS")], "{url}");
        }
        for types in [
            vec!["Message.Created".to_owned()],
            vec!["a..b".to_owned()],
            vec!["x".to_owned(); 33],
        ] {
            let fields = WebhookFields {
                event_types: Some(types.clone()),
                ..Default::default()
            };
            assert_eq!(
                codes(fields),
                vec![("eventTypes".to_owned(), "INVALID_LIST")],
                "{types:?}"
            );
        }
        let long = WebhookFields {
            description: Some("é".repeat(501)),
            ..Default::default()
        };
        assert_eq!(codes(long), vec![("description".to_owned(), "INVALID_LENGTH")]);
    }
}
