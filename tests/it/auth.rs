//! Authentication over HTTP: sign-up, sign-in, refresh rotation with reuse detection,
//! sign-out, and what a bearer token unlocks. Stored secrets are hashes only.

use chatgraph::{
    auth::tokens,
    db::{enums::UserStatus, schema},
    models::user::{UserPatch, UserRow},
};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::support::{Api, PASSWORD, SESSION, SIGN_IN, SIGN_UP, TestDb, names, token};

#[tokio::test]
async fn sign_up_creates_a_personal_workspace_and_a_session() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    assert!(SIGN_UP.contains(SESSION) && SIGN_IN.contains(SESSION));
    let signed_up = api.sign_up("Ada@Example.com").await;
    assert_eq!(signed_up["userErrors"], json!([]));
    assert_eq!(signed_up["session"]["user"]["email"], "Ada@Example.com");
    let access = token(&signed_up, "accessToken");
    let refresh = token(&signed_up, "refreshToken");
    assert!(refresh.starts_with("cgr_"));

    let (status, body) = api.viewer(&access).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["viewer"]["email"], "Ada@Example.com");
    let slug = body["data"]["viewer"]["organizations"]["nodes"][0]["slug"]
        .as_str()
        .expect("personal organization");
    assert!(slug.starts_with("personal-"));

    let conn = &mut db.conn().await;
    let workspace = names(
        conn,
        "SELECT o.is_personal::text || '/' || p.is_default::text || '/' || c.is_default::text || '/' || r.name AS name \
         FROM organizations o JOIN projects p ON p.organization_id = o.id JOIN chats c ON c.project_id = p.id \
         JOIN organization_members m ON m.organization_id = o.id JOIN roles r ON r.id = m.role_id",
    )
    .await;
    assert_eq!(workspace, ["true/true/true/owner"]);
    let session = names(
        conn,
        "SELECT host(ip_address) || ' ' || user_agent AS name FROM sessions",
    )
    .await;
    assert_eq!(session, ["127.0.0.1 chatgraph-tests"]);

    // Secrets at rest: an argon2id hash, and token hashes only.
    let user = UserRow::find_by_email(conn, "ada@example.com")
        .await
        .expect("find")
        .expect("user");
    assert!(
        user.password_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("$argon2id$") && !h.contains(PASSWORD))
    );
    let stored: Vec<Vec<u8>> = schema::refresh_tokens::table
        .select(schema::refresh_tokens::token_hash)
        .load(conn)
        .await
        .expect("hashes");
    assert_eq!(stored, vec![tokens::hash(&refresh)]);
    let everything = names(conn, "SELECT string_agg(t::text, ' ') AS name FROM (SELECT * FROM refresh_tokens UNION ALL SELECT NULL, NULL, NULL, token_hash, NULL, NULL, NULL, NULL, NULL FROM sessions) t").await;
    assert!(
        !everything.concat().contains(&refresh[4..]),
        "the refresh token itself is never stored"
    );

    let again = api.sign_up("ada@EXAMPLE.com").await;
    assert_eq!(again["session"], Value::Null);
    assert_eq!(
        again["userErrors"],
        json!([{ "field": ["input", "email"], "message": "an account with this email already exists", "code": "EMAIL_TAKEN" }])
    );

    let (_, body) = api
        .run(
            None,
            SIGN_UP,
            json!({ "input": { "email": "nope", "password": "nope@x.y", "name": " " } }),
        )
        .await;
    let codes: Vec<&str> = body["data"]["signUp"]["userErrors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert_eq!(codes, ["INVALID_EMAIL", "INVALID_LENGTH", "WEAK_PASSWORD"]);
}

#[tokio::test]
async fn sign_in_failures_say_nothing_about_the_account() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    api.sign_up("grace@example.com").await;

    let wrong_password = api.sign_in("grace@example.com", "not the passphrase").await;
    let unknown_email = api.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password["userErrors"][0]["code"], "INVALID_CREDENTIALS");

    let signed_in = api.sign_in("GRACE@example.com", PASSWORD).await;
    let access = token(&signed_in, "accessToken");
    assert_eq!(api.viewer(&access).await.0, 200);

    // A suspended user cannot sign in, and their tokens stop working at once.
    let conn = &mut db.conn().await;
    let user = UserRow::find_by_email(conn, "grace@example.com")
        .await
        .expect("find")
        .expect("user");
    UserPatch {
        status: Some(UserStatus::Suspended),
        ..Default::default()
    }
    .apply(conn, user.id)
    .await
    .expect("suspend");
    assert_eq!(api.sign_in("grace@example.com", PASSWORD).await, wrong_password);
    let (status, body) = api.viewer(&access).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_session() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let first = api.sign_up("linus@example.com").await;
    let refresh_1 = token(&first, "refreshToken");

    let rotated = api.refresh(&refresh_1).await;
    let refresh_2 = token(&rotated["data"]["refreshSession"], "refreshToken");
    let access_2 = token(&rotated["data"]["refreshSession"], "accessToken");
    assert_ne!(refresh_1, refresh_2);
    assert_eq!(api.viewer(&access_2).await.0, 200);

    // Presenting the first token again: refused, and the whole session ends.
    let reused = api.refresh(&refresh_1).await;
    assert_eq!(reused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        api.refresh(&refresh_2).await["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(api.viewer(&access_2).await.0, 401);
    assert_eq!(
        api.refresh("cgr_made-up").await["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    let conn = &mut db.conn().await;
    let revoked: i64 = schema::sessions::table
        .filter(schema::sessions::revoked_at.is_not_null())
        .count()
        .get_result(conn)
        .await
        .expect("count");
    assert_eq!(revoked, 1);
}

#[tokio::test]
async fn signing_out_ends_sessions() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let laptop = token(&api.sign_up("ken@example.com").await, "accessToken");
    let phone = api.sign_in("ken@example.com", PASSWORD).await;
    let tablet = api.sign_in("ken@example.com", PASSWORD).await;

    let (_, body) = api
        .run(Some(&laptop), "mutation { signOut { revokedSessions } }", json!({}))
        .await;
    assert_eq!(body["data"]["signOut"]["revokedSessions"], 1);
    assert_eq!(api.viewer(&laptop).await.0, 401);
    assert_eq!(
        api.viewer(&token(&phone, "accessToken")).await.0,
        200,
        "other sessions go on"
    );

    let (_, body) = api
        .run(
            Some(&token(&phone, "accessToken")),
            "mutation { signOutEverywhere { revokedSessions } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["signOutEverywhere"]["revokedSessions"], 2);
    assert_eq!(api.viewer(&token(&tablet, "accessToken")).await.0, 401);
    assert_eq!(
        api.refresh(&token(&tablet, "refreshToken")).await["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    let (_, body) = api
        .run(None, "mutation { signOut { revokedSessions } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn anonymous_callers_have_no_viewer_and_bad_tokens_are_refused() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let (status, body) = api.run(None, "{ viewer { email } }", json!({})).await;
    assert_eq!((status, body["data"]["viewer"].clone()), (200, Value::Null));

    let access = token(&api.sign_up("barbara@example.com").await, "accessToken");
    let tampered = format!("{}x", &access[..access.len() - 1]);
    for bad in [tampered.as_str(), "not-a-jwt"] {
        let (status, body) = api.viewer(bad).await;
        assert_eq!(status, 401, "{bad}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let response = api
        .client
        .post(format!("http://{}/graphql", api.address))
        .header("authorization", "Basic YTpi")
        .json(&json!({ "query": "{ apiVersion }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

const CREATE_TOKEN: &str = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id name prefix lastUsedAt } userErrors { field code } } }";
const REVOKE_TOKEN: &str = "mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { apiToken { revokedAt } userErrors { field code } } }";

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_stop_when_revoked() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let session = token(&api.sign_up("margaret@example.com").await, "accessToken");

    let (_, body) = api
        .run(Some(&session), CREATE_TOKEN, json!({ "input": { "name": "ci" } }))
        .await;
    let created = &body["data"]["createApiToken"];
    let secret = created["token"].as_str().expect("token shown once").to_owned();
    assert!(secret.starts_with("cgk_") && secret.starts_with(created["apiToken"]["prefix"].as_str().expect("prefix")));
    let id = created["apiToken"]["id"].as_str().expect("id").to_owned();

    let conn = &mut db.conn().await;
    let stored: Vec<Vec<u8>> = schema::api_tokens::table
        .select(schema::api_tokens::token_hash)
        .load(conn)
        .await
        .expect("hashes");
    assert_eq!(stored, vec![tokens::hash(&secret)]);
    let prefixes = names(conn, "SELECT token_prefix AS name FROM api_tokens").await;
    assert!(
        prefixes[0].len() < secret.len() / 2,
        "only a short prefix is kept in clear"
    );

    // The token works as a bearer, and its use is recorded (at most once a minute).
    let (status, body) = api.viewer(&secret).await;
    assert_eq!(
        (status, body["data"]["viewer"]["email"].clone()),
        (200, json!("margaret@example.com"))
    );
    let first_use = names(conn, "SELECT last_used_at::text AS name FROM api_tokens").await;
    api.viewer(&secret).await;
    assert_eq!(
        names(conn, "SELECT last_used_at::text AS name FROM api_tokens").await,
        first_use
    );
    let (_, body) = api
        .run(
            Some(&session),
            "{ viewer { apiTokens { name lastUsedAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["viewer"]["apiTokens"][0]["name"], "ci");
    assert!(body["data"]["viewer"]["apiTokens"][0]["lastUsedAt"].is_string());

    // An API token cannot mint or revoke tokens.
    let (_, body) = api
        .run(Some(&secret), CREATE_TOKEN, json!({ "input": { "name": "more" } }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Another user cannot revoke it; its owner can, and then it stops working.
    let stranger = token(&api.sign_up("mallory@example.com").await, "accessToken");
    let (_, body) = api
        .run(Some(&stranger), REVOKE_TOKEN, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(body["data"]["revokeApiToken"]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(api.viewer(&secret).await.0, 200);
    let (_, body) = api
        .run(Some(&session), REVOKE_TOKEN, json!({ "input": { "id": id } }))
        .await;
    assert!(body["data"]["revokeApiToken"]["apiToken"]["revokedAt"].is_string());
    assert_eq!(api.viewer(&secret).await.0, 401);
}

#[tokio::test]
async fn api_token_input_is_validated_and_expiry_is_enforced() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let session = token(&api.sign_up("hedy@example.com").await, "accessToken");
    let foreign_org = {
        let conn = &mut db.conn().await;
        crate::support::fixtures::organization("foreign")
            .insert(conn)
            .await
            .expect("org")
            .id
    };
    let foreign_id = chatgraph::graphql::node::global_id("Organization", foreign_org);
    let input = json!({ "input": { "name": " ", "organizationId": foreign_id, "expiresAt": "2001-01-01T00:00:00Z" } });
    let (_, body) = api.run(Some(&session), CREATE_TOKEN, input).await;
    let codes: Vec<&str> = body["data"]["createApiToken"]["userErrors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert_eq!(codes, ["INVALID_LENGTH", "IN_THE_PAST", "NOT_FOUND"]);
    assert_eq!(body["data"]["createApiToken"]["token"], Value::Null);

    let (_, body) = api
        .run(
            Some(&session),
            CREATE_TOKEN,
            json!({ "input": { "name": "short-lived" } }),
        )
        .await;
    let secret = body["data"]["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(api.viewer(&secret).await.0, 200);
    let conn = &mut db.conn().await;
    diesel::update(schema::api_tokens::table)
        .set(schema::api_tokens::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(conn)
        .await
        .expect("expire");
    assert_eq!(api.viewer(&secret).await.0, 401);
}

#[tokio::test]
async fn the_viewer_sees_their_live_sessions_and_projects() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let laptop = token(&api.sign_up("mary@example.com").await, "accessToken");
    let phone = token(&api.sign_in("mary@example.com", PASSWORD).await, "accessToken");
    let query = "{ viewer { sessions { isCurrent userAgent ipAddress } projects { nodes { name } } } }";

    let (_, body) = api.run(Some(&phone), query, json!({})).await;
    assert_eq!(
        body["data"]["viewer"],
        json!({
            "sessions": [
                { "isCurrent": true, "userAgent": "chatgraph-tests", "ipAddress": "127.0.0.1" },
                { "isCurrent": false, "userAgent": "chatgraph-tests", "ipAddress": "127.0.0.1" },
            ],
            "projects": { "nodes": [{ "name": "Personal" }] },
        })
    );
    api.run(Some(&laptop), "mutation { signOut { revokedSessions } }", json!({}))
        .await;
    let (_, body) = api.run(Some(&phone), query, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["sessions"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
}

#[tokio::test]
async fn forged_access_tokens_for_a_live_session_are_refused() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use chatgraph::auth::tokens::AccessTokens;
    use chrono::Duration;
    use secrecy::SecretString;

    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let genuine = token(&api.sign_up("eve@example.com").await, "accessToken");
    assert_eq!(api.viewer(&genuine).await.0, 200);
    let conn = &mut db.conn().await;
    let (user_id, session_id): (uuid::Uuid, uuid::Uuid) = schema::sessions::table
        .select((schema::sessions::user_id, schema::sessions::id))
        .first(conn)
        .await
        .expect("session");

    // The same live session, signed every wrong way.
    let server_secret = SecretString::from("test secret of at least thirty-two bytes");
    let forge = |secret: &SecretString, audience: &str, lifetime: Duration| {
        AccessTokens::new(secret, "chatgraph", audience, lifetime)
            .expect("tokens")
            .issue(user_id, session_id)
            .expect("issue")
            .0
    };
    let other_secret = SecretString::from("another secret of at least thirty-two bytes");
    let claims = json!({ "sub": user_id, "sid": session_id, "iss": "chatgraph", "aud": "chatgraph-api",
                         "iat": chrono::Utc::now().timestamp(), "exp": chrono::Utc::now().timestamp() + 600 });
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_eq!(
        api.viewer(&forge(&server_secret, "chatgraph-api", Duration::minutes(5)))
            .await
            .0,
        200,
        "the forging helper makes valid tokens with the right key"
    );
    for (what, forged) in [
        (
            "expired",
            forge(&server_secret, "chatgraph-api", Duration::minutes(-10)),
        ),
        ("wrong key", forge(&other_secret, "chatgraph-api", Duration::minutes(5))),
        (
            "wrong audience",
            forge(&server_secret, "another-api", Duration::minutes(5)),
        ),
        ("alg none", unsigned),
    ] {
        let (status, body) = api.viewer(&forged).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{what}");
    }
}
