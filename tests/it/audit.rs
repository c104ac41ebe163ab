//! Abuse resistance and the audit trail: failed sign-ins slow down per email and client
//! address pair and are limited per address (RATE_LIMITED with a retry-after hint), and every security event leaves an
//! `audit_logs` row with actor, client address and user agent.

use serde_json::{Value, json};

use crate::{
    support::{Api, PASSWORD, token},
    support::{TestDb, names},
};

fn rate_limited(answer: &Value) -> Option<i64> {
    let error = &answer["errors"][0];
    (error["extensions"]["code"] == "RATE_LIMITED")
        .then(|| error["extensions"]["retryAfter"].as_i64().expect("retryAfter"))
}

async fn sign_in_answer(api: &Api, email: &str, password: &str) -> Value {
    api.run(
        None,
        "mutation($input: SignInInput!) { signIn(input: $input) { session { accessToken } userErrors { code } } }",
        json!({ "input": { "email": email, "password": password } }),
    )
    .await
    .1
}

/// Signs in from `forwarded` (an `X-Forwarded-For` header, believed only from a trusted proxy).
async fn sign_in_from(api: &Api, forwarded: &str, email: &str, password: &str) -> Value {
    let body = json!({
        "query": "mutation($input: SignInInput!) { signIn(input: $input) { session { accessToken } userErrors { code } } }",
        "variables": { "input": { "email": email, "password": password } },
    });
    api.client
        .post(format!("http://{}/graphql", api.address))
        .header("x-forwarded-for", forwarded)
        .json(&body)
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn failed_sign_ins_slow_down_per_email_and_address_and_never_lock_the_owner_out() {
    // The test authenticator allows 5 failures per email and address pair and 8 per address
    // an hour; after the third failure of a pair, each attempt waits 1 s, 2 s, ...
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    api.sign_up("ada@example.com").await;
    api.sign_up("bob@example.com").await;
    let wrong = |answer: &Value| answer["data"]["signIn"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS";

    for _ in 0..3 {
        assert!(wrong(
            &sign_in_answer(&api, "ada@example.com", "wrong guess number").await
        ));
    }
    // Growing delays: the fourth must wait a second, the fifth two.
    for delay in [1, 2] {
        let refused = sign_in_answer(&api, "ada@example.com", "wrong guess number").await;
        let retry_after = rate_limited(&refused).unwrap_or_else(|| panic!("not slowed down: {refused}"));
        assert!((1..=delay).contains(&retry_after), "{retry_after}");
        tokio::time::sleep(std::time::Duration::from_millis(delay as u64 * 1000 + 100)).await;
        assert!(wrong(
            &sign_in_answer(&api, "ada@example.com", "wrong guess number").await
        ));
    }
    // Past the pair's limit, even the right password is refused from this address.
    let refused = sign_in_answer(&api, "ADA@example.com", PASSWORD).await;
    let retry_after = rate_limited(&refused).unwrap_or_else(|| panic!("not rate limited: {refused}"));
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(refused["data"]["signIn"], Value::Null);

    // Another account from the same address still signs in; its success does not count.
    let bob = sign_in_answer(&api, "bob@example.com", PASSWORD).await;
    assert!(bob["data"]["signIn"]["session"]["accessToken"].is_string(), "{bob}");
    // Three more failures (for an unknown email) use up the address's 8.
    for _ in 0..3 {
        assert!(wrong(
            &sign_in_answer(&api, "nobody@example.com", "wrong guess number").await
        ));
    }
    let refused = sign_in_answer(&api, "bob@example.com", PASSWORD).await;
    assert!(rate_limited(&refused).is_some(), "{refused}");
    // A forwarded address means nothing from a peer that is not a trusted proxy.
    let spoofed = sign_in_from(&api, "198.51.100.7", "bob@example.com", PASSWORD).await;
    assert!(rate_limited(&spoofed).is_some(), "{spoofed}");

    // The owner, elsewhere (behind a trusted proxy), signs in: the account is not locked.
    let behind_proxy = Api {
        client: reqwest::Client::new(),
        address: crate::support::spawn_app(
            db.pool(),
            chatgraph::http::HttpSettings {
                trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")],
                ..crate::support::http_settings()
            },
        )
        .await,
    };
    let owner = sign_in_from(&behind_proxy, "198.51.100.7", "ada@example.com", PASSWORD).await;
    assert!(owner["data"]["signIn"]["session"]["accessToken"].is_string(), "{owner}");

    // The counters hold hashes of the emails, never the emails themselves.
    let conn = &mut db.conn().await;
    let subjects = names(
        conn,
        "SELECT subject || '=' || request_count AS name FROM rate_limit_counters ORDER BY subject",
    )
    .await;
    assert!(subjects.iter().all(|s| !s.contains("example")), "{subjects:?}");
    assert!(subjects.contains(&"ip:127.0.0.1=8".to_owned()), "{subjects:?}");
    assert!(subjects.contains(&"ip:198.51.100.7=0".to_owned()), "{subjects:?}");
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("pair:") && s.ends_with("=5"))
            .count(),
        1,
        "ada's five failures from one address: {subjects:?}"
    );
}

#[tokio::test]
async fn security_events_leave_an_audit_trail() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let signed_up = api.sign_up("grace@example.com").await;
    let access = token(&signed_up, "accessToken");
    let refresh = token(&signed_up, "refreshToken");
    sign_in_answer(&api, "grace@example.com", "not the passphrase").await;
    sign_in_answer(&api, "nobody@example.com", "not the passphrase").await;

    let (_, created) = api
        .run(
            Some(&access),
            "mutation { createApiToken(input: { name: \"ci\" }) { apiToken { id } } }",
            json!({}),
        )
        .await;
    let token_id = created["data"]["createApiToken"]["apiToken"]["id"].clone();
    api.run(
        Some(&access),
        "mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { revokedAt } } }",
        json!({ "id": token_id }),
    )
    .await;
    let rotated = api.refresh(&refresh).await;
    let next_access = token(&rotated["data"]["refreshSession"], "accessToken");
    api.refresh(&refresh).await; // reused: the session is revoked
    let other = sign_in_answer(&api, "grace@example.com", PASSWORD).await;
    let other_access = other["data"]["signIn"]["session"]["accessToken"]
        .as_str()
        .expect("session");
    api.run(
        Some(other_access),
        "mutation { signOut { revokedSessions } }",
        json!({}),
    )
    .await;
    assert_eq!(api.viewer(&next_access).await.0, 401);

    let conn = &mut db.conn().await;
    let trail = names(
        conn,
        "SELECT concat_ws(' ', a.action, a.status, coalesce(u.email, '-'), coalesce(a.resource_type, '-'), \
                coalesce(a.error_message, '-')) AS name \
         FROM audit_logs a LEFT JOIN users u ON u.id = a.actor_user_id ORDER BY a.created_at, a.id",
    )
    .await;
    assert_eq!(
        trail,
        [
            "auth.sign_up success grace@example.com session -",
            "auth.sign_in failed grace@example.com - wrong password",
            "auth.sign_in failed - - unknown email",
            "api_token.create success grace@example.com api_token -",
            "api_token.revoke success grace@example.com api_token -",
            "auth.refresh_token_reused failed grace@example.com session a used refresh token was presented again; the session is revoked",
            "auth.sign_in success grace@example.com session -",
            "auth.sign_out success grace@example.com session -",
        ]
    );
    let origins = names(
        conn,
        "SELECT DISTINCT host(ip_address) || ' ' || user_agent AS name FROM audit_logs",
    )
    .await;
    assert_eq!(origins, ["127.0.0.1 chatgraph-tests"]);
    let details = names(conn, "SELECT details::text AS name FROM audit_logs").await;
    assert!(
        details
            .iter()
            .all(|d| !d.contains(PASSWORD) && !d.contains("not the passphrase")),
        "no password in the trail: {details:?}"
    );
}

#[tokio::test]
async fn the_audit_trail_is_append_only_but_outlives_what_it_mentions() {
    use diesel_async::RunQueryDsl;
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let user = crate::support::fixtures::user("gone@example.com")
        .insert(conn)
        .await
        .expect("user");
    diesel::sql_query(format!(
        "INSERT INTO audit_logs (actor_user_id, action, resource_type) VALUES ('{}', 'chat.delete', 'chat')",
        user.id
    ))
    .execute(conn)
    .await
    .expect("insert");
    for statement in [
        "UPDATE audit_logs SET action = 'chat.create'",
        "UPDATE audit_logs SET actor_user_id = gen_random_uuid()",
        "DELETE FROM audit_logs",
    ] {
        let error = diesel::sql_query(statement).execute(conn).await.expect_err(statement);
        assert!(
            error.to_string().contains("audit_logs rows cannot be"),
            "{statement}: {error}"
        );
    }
    // Purging the user sets the reference to NULL (the foreign key's action) and keeps the row.
    diesel::sql_query(format!("DELETE FROM users WHERE id = '{}'", user.id))
        .execute(conn)
        .await
        .expect("purge user");
    let rows = names(
        conn,
        "SELECT action || ' ' || coalesce(actor_user_id::text, 'nobody') AS name FROM audit_logs",
    )
    .await;
    assert_eq!(rows, vec!["chat.delete nobody"]);
}
