//! Webhook subscriptions through the HTTP endpoint: secrets shown once, stored encrypted.

use serde_json::json;

use crate::{
    support::Team,
    support::{TestDb, audit_trail, code, serve_loopback, user_errors},
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
    let (payload, _) = subscribe(&team, "http://hooks.example.com", &["Message Created"]).await;
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
    let (payload, body) = subscribe(&team, "https://hooks.example.com/in", &["message.created"]).await;
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

/// What a loopback receiver was sent: the Standard Webhooks headers and the body.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

type Inbox = std::sync::Arc<std::sync::Mutex<Vec<Received>>>;

/// A webhook receiver on loopback: records every request and answers with the statuses of
/// `script` in turn, then 200.
async fn receiver(script: Vec<u16>) -> (String, Inbox) {
    let inbox: Inbox = Default::default();
    let script = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(script)));
    let app = axum::Router::new().fallback({
        let inbox = inbox.clone();
        move |headers: axum::http::HeaderMap, body: String| {
            let (inbox, script) = (inbox.clone(), script.clone());
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                inbox.lock().expect("inbox").push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body,
                });
                let status = script.lock().expect("script").pop_front().unwrap_or(200);
                axum::http::StatusCode::from_u16(status).expect("status")
            }
        }
    });
    let address = serve_loopback(app).await;
    (format!("http://{address}/hooks"), inbox)
}

/// Waits until `inbox` holds `count` requests (at most 20 s).
async fn received(inbox: &Inbox, count: usize) -> Vec<Received> {
    for _ in 0..200 {
        let got = inbox.lock().expect("inbox").clone();
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} deliveries: {:?}", inbox.lock().expect("inbox"));
}

/// Verifies a Standard Webhooks signature as the specification describes it, written apart
/// from chatgraph's own signing code.
fn verifies(secret: &str, message: &Received) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").expect("whsec_")).expect("key");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac");
    mac.update(format!("{}.{}.{}", message.id, message.timestamp, message.body).as_bytes());
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    message.signature.split(' ').any(|s| s == expected)
}

/// The team on a server whose webhooks may go to loopback receivers, with job workers.
async fn team_with_deliveries(db: &TestDb) -> (Team, chatgraph::jobs::Workers) {
    let auth = crate::support::authenticator_allowing_private_webhooks();
    let api = crate::support::Api {
        client: reqwest::Client::new(),
        address: crate::support::spawn_app_with(db.pool(), crate::support::http_settings(), auth.clone()).await,
    };
    (Team::on(api).await, crate::support::workers_with(db, auth))
}

const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on WebhookSubscription { isActive consecutiveFailures \
    deliveries { id eventType status attempts responseStatus error } } } }";

/// The subscription `id` as its project's admin reads it, once `done` holds (at most 5 s).
/// Subscribes the team's project to `events` at `url` (as its owner); the payload and body.
async fn subscribe(team: &Team, url: &str, events: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let input = json!({ "projectId": team.project, "url": url, "eventTypes": events });
    team.mutate(&team.owner, "createWebhookSubscription", CREATE_WEBHOOK, input)
        .await
}

async fn subscription_when(
    team: &Team,
    id: &serde_json::Value,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut state = serde_json::Value::Null;
    for _ in 0..50 {
        let (_, body) = team.api.run(Some(&team.owner), DELIVERIES, json!({ "id": id })).await;
        state = body["data"]["node"].clone();
        if done(&state) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    state
}

#[tokio::test]
async fn events_are_delivered_signed_retried_and_a_gone_receiver_disables_its_subscription() {
    let db = TestDb::migrated().await;
    let (team, _workers) = team_with_deliveries(&db).await;
    let (url, inbox) = receiver(vec![500]).await;
    let (payload, body) = subscribe(&team, &url, &["chat.created"]).await;
    let secret = payload["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let subscription = payload["webhookSubscription"]["id"].clone();
    const CREATE_CHAT: &str = "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { uuid } } }";
    let create_chat = async |visibility: &str| {
        let input = json!({ "projectId": team.project, "visibility": visibility });
        let (payload, _) = team.mutate(&team.member, "createChat", CREATE_CHAT, input).await;
        payload["chat"]["uuid"].as_str().expect("chat").to_owned()
    };
    // A private chat is its owner's: no event leaves the server about it.
    create_chat("PRIVATE").await;
    let chat = create_chat("PROJECT").await;

    // The first attempt gets a 500, the retry a 200: the same message twice, signed.
    let got = received(&inbox, 2).await;
    assert_eq!(got[0].id, got[1].id, "a retry is the same message");
    assert!(got.iter().all(|m| verifies(&secret, m)), "{got:?}");
    let event: serde_json::Value = serde_json::from_str(&got[1].body).expect("json");
    assert_eq!(
        (event["type"].as_str(), event["data"]["chatId"].as_str()),
        (Some("chat.created"), Some(chat.as_str()))
    );
    let state = subscription_when(&team, &subscription, |s| s["deliveries"][0]["status"] == "DELIVERED").await;
    assert_eq!(
        state["deliveries"],
        json!([{ "id": state["deliveries"][0]["id"], "eventType": "chat.created", "status": "DELIVERED",
                 "attempts": 2, "responseStatus": 200, "error": null }]),
        "{state}"
    );
    assert_eq!(state["consecutiveFailures"], 0);
    // Redelivery sends the same message again.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "redeliverWebhook",
            "mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { delivery { status } userErrors { code } } }",
            json!({ "deliveryId": state["deliveries"][0]["id"] }),
        )
        .await;
    assert_eq!(payload["delivery"]["status"], "PENDING", "{body}");
    let got = received(&inbox, 3).await;
    assert_eq!(got[2].id, got[0].id);

    // A receiver that answers 410 Gone: its subscription is disabled, not retried.
    let (gone_url, gone_inbox) = receiver(vec![410]).await;
    let (payload, _) = subscribe(&team, &gone_url, &["chat.created"]).await;
    let gone = payload["webhookSubscription"]["id"].clone();
    create_chat("PUBLIC").await;
    received(&gone_inbox, 1).await;
    let state = subscription_when(&team, &gone, |s| {
        s["isActive"] == false && s["deliveries"][0]["status"] == "FAILED"
    })
    .await;
    assert_eq!(
        (&state["isActive"], &state["deliveries"][0]["responseStatus"]),
        (&json!(false), &json!(410)),
        "{state}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(gone_inbox.lock().expect("inbox").len(), 1, "no retry after 410");
}

#[tokio::test]
async fn a_delivery_to_an_internal_address_is_refused_after_resolution() {
    // The URL passed the check when it was stored; what its name resolves to at delivery is
    // checked again (DNS can change), and the server never connects to an internal address.
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let _workers = crate::support::workers(&db);
    let (payload, _) = subscribe(&team, "https://hooks.example.com/in", &["chat.created"]).await;
    let subscription = payload["webhookSubscription"]["id"].clone();
    // A name of this machine that resolves to loopback (from /etc/hosts) stands for a name
    // whose DNS record was changed to point inside; without one, a literal address.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let name = hosts
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ip: std::net::IpAddr = words.next()?.parse().ok()?;
            ip.is_loopback()
                .then(|| words.find(|w| !w.contains("localhost")).map(str::to_owned))?
        })
        .next()
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let conn = &mut db.conn().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        &format!("UPDATE webhook_subscriptions SET url = 'https://{name}:9/hooks'"),
    )
    .await
    .expect("url");
    team.mutate(
        &team.owner,
        "createChat",
        "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
        json!({ "projectId": team.project, "visibility": "PROJECT" }),
    )
    .await;
    let state = subscription_when(&team, &subscription, |s| s["deliveries"][0]["status"] == "FAILED").await;
    let delivery = &state["deliveries"][0];
    assert_eq!(
        (&delivery["status"], &delivery["attempts"]),
        (&json!("FAILED"), &json!(1)),
        "{state}"
    );
    assert!(
        delivery["error"].as_str().is_some_and(|e| e.starts_with("refused:")),
        "{state}"
    );
}

#[tokio::test]
async fn membership_changes_and_failed_jobs_are_announced() {
    let db = TestDb::migrated().await;
    let (team, _workers) = team_with_deliveries(&db).await;
    let (url, inbox) = receiver(vec![]).await;
    let (_, body) = subscribe(&team, &url, &["member.added", "member.removed", "job.failed"]).await;
    assert!(body["errors"].is_null(), "{body}");
    // A new member of the organization joins the project, then leaves it.
    let newcomer = crate::support::token(&team.api.sign_up_confirmed("new@example.com").await, "accessToken");
    team.api
        .join(&team.owner, &team.organization, &newcomer, "new@example.com", "MEMBER")
        .await;
    let user = team.user_id(&newcomer).await;
    let role = json!({ "projectId": team.project, "userId": user, "role": "VIEWER" });
    for (field, query, input) in [
        (
            "setProjectMemberRole",
            "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { userErrors { code } } }",
            role,
        ),
        (
            "setProjectMemberRole",
            "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { userErrors { code } } }",
            json!({ "projectId": team.project, "userId": user, "role": "MEMBER" }),
        ),
        (
            "removeProjectMember",
            "mutation($input: RemoveProjectMemberInput!) { removeProjectMember(input: $input) { userErrors { code } } }",
            json!({ "projectId": team.project, "userId": user }),
        ),
    ] {
        let (payload, body) = team.mutate(&team.owner, field, query, input).await;
        assert_eq!(payload["userErrors"], json!([]), "{body}");
    }
    // A job of the project that fails for good.
    let conn = &mut db.conn().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        "INSERT INTO jobs (id, project_id, kind, payload, max_attempts) \
         SELECT gen_random_uuid(), id, 'no.such.kind', '{}', 1 FROM projects WHERE name = 'Work'",
    )
    .await
    .expect("job");
    received(&inbox, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let got = inbox.lock().expect("inbox").clone();
    let mut types: Vec<String> = got
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(&m.body).expect("json")["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    types.sort();
    // A change of role is not a new member: one member.added.
    assert_eq!(types, ["job.failed", "member.added", "member.removed"], "{got:?}");
}

#[tokio::test]
async fn a_refused_request_announces_the_exceeded_quota_once_a_period() {
    let db = TestDb::migrated().await;
    let (team, _workers) = team_with_deliveries(&db).await;
    let (url, inbox) = receiver(vec![]).await;
    let (_, body) = subscribe(&team, &url, &["quota.exceeded"]).await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = team
        .mutate(
            &team.owner,
            "setProjectQuota",
            "mutation($input: SetProjectQuotaInput!) { setProjectQuota(input: $input) { userErrors { code } } }",
            json!({ "projectId": team.project, "requestsLimit": "1" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let send = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { userErrors { code } } }";
    let input = json!({ "projectId": team.project, "content": "Hello" });
    let (payload, _) = team.mutate(&team.member, "sendMessage", send, input.clone()).await;
    assert_eq!(payload["userErrors"], json!([]));
    // The second and third requests are refused; the webhook hears of it once.
    for _ in 0..2 {
        let (_, body) = team.mutate(&team.member, "sendMessage", send, input.clone()).await;
        assert_eq!(crate::support::code(&body), "QUOTA_EXCEEDED", "{body}");
    }
    let got = received(&inbox, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got_later = inbox.lock().expect("inbox").clone();
    assert_eq!(got_later.len(), 1, "{got_later:?}");
    let event: serde_json::Value = serde_json::from_str(&got[0].body).expect("json");
    assert_eq!(event["type"], "quota.exceeded");
    assert_eq!(event["data"]["resource"], "requests");
    assert!(event["data"]["resetsAt"].is_string(), "{event}");
}
