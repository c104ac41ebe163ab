//! Per-user rate limits on writes under concurrency: 50 simultaneous requests against a limit
//! of 10 let exactly 10 through, in every round; the others get RATE_LIMITED with when the
//! limit resets. Limits are platform configuration, validated like any input.

use serde_json::json;

use crate::{
    support::Team,
    support::{Api, token},
    support::{TestDb, code, names, user_errors},
};

const SET_CONFIG: &str = "mutation($input: SetPlatformConfigInput!) { setPlatformConfig(input: $input) { \
    platformConfig { key } userErrors { field code } } }";
const POST: &str =
    "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id } userErrors { code } } }";

#[tokio::test]
async fn fifty_concurrent_posts_against_a_limit_of_ten_let_exactly_ten_through() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let admin = token(&team.api.sign_up("admin@example.com").await, "accessToken");
    let conn = &mut db.conn().await;
    crate::support::make_platform_admin(&db, "admin@example.com").await;

    let (payload, _) = team
        .mutate(
            &admin,
            "setPlatformConfig",
            SET_CONFIG,
            json!({ "key": "rate_limits", "value": { "messages.post": { "hourly": 0 }, "unknown": {} } }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.value:INVALID_RATE_LIMITS"]);
    let (payload, body) = team
        .mutate(
            &admin,
            "setPlatformConfig",
            SET_CONFIG,
            json!({ "key": "rate_limits", "value": { "messages.post": { "hourly": 10, "daily": 1000 } } }),
        )
        .await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");

    // Each round is a fresh user (a fresh window), with a chat of their own.
    for round in 0..3 {
        let poster = token(
            &team.api.sign_up(&format!("poster{round}@example.com")).await,
            "accessToken",
        );
        let (_, body) = team
            .api
            .run(
                Some(&poster),
                "{ viewer { projects(first: 1) { nodes { id } } } }",
                json!({}),
            )
            .await;
        let project = body["data"]["viewer"]["projects"]["nodes"][0]["id"].clone();
        let (payload, body) = team
            .mutate(
                &poster,
                "createChat",
                "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
                json!({ "projectId": project }),
            )
            .await;
        let chat = payload["chat"]["id"].clone();
        assert!(chat.is_string(), "{body}");
        let requests: Vec<_> = (0..50)
            .map(|i| {
                let api = Api {
                    client: team.api.client.clone(),
                    address: team.api.address,
                };
                let (poster, chat) = (poster.clone(), chat.clone());
                tokio::spawn(async move {
                    api.run(
                        Some(&poster),
                        POST,
                        json!({ "input": { "chatId": chat, "content": format!("message {i}") } }),
                    )
                    .await
                    .1
                })
            })
            .collect();
        let mut answers = Vec::new();
        for request in requests {
            answers.push(request.await.expect("request"));
        }
        let passed = answers
            .iter()
            .filter(|a| a["data"]["postMessage"]["message"]["id"].is_string())
            .count();
        let limited: Vec<_> = answers.iter().filter(|a| code(a) == "RATE_LIMITED").collect();
        assert_eq!((passed, limited.len()), (10, 40), "round {round}");
        assert!(
            limited
                .iter()
                .all(|a| a["errors"][0]["extensions"]["resetAt"].is_string()
                    && a["errors"][0]["extensions"]["retryAfter"]
                        .as_i64()
                        .is_some_and(|s| (1..=3600).contains(&s))),
            "{:?}",
            limited[0]
        );
        let stored = names(
            conn,
            &format!(
                "SELECT count(*)::text AS name FROM messages m JOIN users u ON u.id = m.user_id \
                 WHERE u.email = 'poster{round}@example.com'"
            ),
        )
        .await;
        assert_eq!(stored, vec!["10"], "round {round}");
    }
    // The other scopes keep their defaults: the team's member still posts.
    let (payload, _) = team
        .mutate(
            &team.member,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
            json!({ "projectId": team.project }),
        )
        .await;
    let (payload, body) = team
        .mutate(
            &team.member,
            "postMessage",
            POST,
            json!({ "chatId": payload["chat"]["id"], "content": "hi" }),
        )
        .await;
    assert!(payload["message"]["id"].is_string(), "{body}");
    assert_eq!(
        names(
            conn,
            "SELECT count(*)::text AS name FROM audit_logs WHERE action = 'message.post' AND error_message = 'RATE_LIMITED'"
        )
        .await,
        vec!["120"]
    );
}
