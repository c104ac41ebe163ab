//! Webhook subscriptions through the HTTP endpoint: secrets shown once, stored encrypted.

use serde_json::json;

use crate::{
    support::Team,
    support::{TestDb, audit_trail, code, user_errors},
};

const CREATE_WEBHOOK: &str = "mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { \
    webhookSubscription { id url eventTypes isActive } secret userErrors { field code } } }";
const PAUSE_WEBHOOK: &str = "mutation($input: WebhookSubscriptionInput!) { pauseWebhookSubscription(input: $input) { \
    webhookSubscription { isActive } userErrors { code } } }";
const DELETE_WEBHOOK: &str = "mutation($input: WebhookSubscriptionInput!) { deleteWebhookSubscription(input: $input) { \
    deletedWebhookSubscriptionId userErrors { code } } }";

#[tokio::test]
async fn webhook_secrets_are_shown_once_and_stored_encrypted() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createWebhookSubscription",
            CREATE_WEBHOOK,
            json!({ "projectId": team.project, "url": "http://hooks.example.com", "eventTypes": ["Message Created"] }),
        )
        .await;
    assert_eq!(
        user_errors(&payload),
        vec!["input.url:INVALID_URL", "input.eventTypes:INVALID_LIST"]
    );
    // The review's attack: a webhook aimed at the cloud metadata service.
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createWebhookSubscription",
            CREATE_WEBHOOK,
            json!({ "projectId": team.project, "url": "https://169.254.169.254/latest/meta-data/" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.url:PRIVATE_ADDRESS"]);
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createWebhookSubscription",
            CREATE_WEBHOOK,
            json!({ "projectId": team.project, "url": "https://hooks.example.com/in", "eventTypes": ["message.created"] }),
        )
        .await;
    let secret = payload["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{body}");
    let webhook = payload["webhookSubscription"].clone();
    let (_, body) = team
        .mutate(
            &team.member,
            "createWebhookSubscription",
            CREATE_WEBHOOK,
            json!({ "projectId": team.project, "url": "https://hooks.example.com/in" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");

    // Not in clear anywhere in the database, not in the audit trail.
    assert!(db.data_dump().contains("hooks.example.com"), "the dump holds the data");
    assert!(!db.stores_in_clear(&secret), "the signing secret is stored in clear");
    assert!(
        !db.stores_in_clear(&secret[4..]),
        "the signing secret is stored in clear"
    );

    let (payload, _) = team
        .mutate(
            &team.owner,
            "pauseWebhookSubscription",
            PAUSE_WEBHOOK,
            json!({ "id": webhook["id"] }),
        )
        .await;
    assert_eq!(payload["webhookSubscription"]["isActive"], false);
    let (payload, _) = team
        .mutate(
            &team.owner,
            "updateWebhookSubscription",
            "mutation($input: UpdateWebhookSubscriptionInput!) { updateWebhookSubscription(input: $input) { webhookSubscription { url } userErrors { field code } } }",
            json!({ "id": webhook["id"], "url": "not a url" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.url:INVALID_URL"]);
    let (_, body) = team
        .mutate(
            &team.outsider,
            "deleteWebhookSubscription",
            DELETE_WEBHOOK,
            json!({ "id": webhook["id"] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (payload, _) = team
        .mutate(
            &team.owner,
            "deleteWebhookSubscription",
            DELETE_WEBHOOK,
            json!({ "id": webhook["id"] }),
        )
        .await;
    assert_eq!(payload["deletedWebhookSubscriptionId"], webhook["id"]);
    assert_eq!(
        audit_trail(&db, "webhook.create").await,
        vec![
            "failed:INVALID_URL,INVALID_LIST:owner@example.com",
            "failed:PRIVATE_ADDRESS:owner@example.com",
            "success::owner@example.com",
            "failed:FORBIDDEN:member@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "webhook.delete").await,
        vec!["failed:NOT_FOUND:outsider@example.com", "success::owner@example.com"]
    );
}
