//! Sign-in with OpenID Connect ID tokens, verified against a JWKS file made from a key pair
//! generated for the test: first sign-in creates the account, later ones find it, a verified
//! email links an existing account, and every kind of bad token is refused.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chatgraph::models::user::UserRow;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::{
    SecretKey,
    pkcs8::{EncodePrivateKey, LineEnding},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    support::Api,
    support::{TestDb, authenticator_with_oidc, http_settings, names, spawn_app_with},
};

const ISSUER: &str = "https://id.example.test";
const GOOGLE_ISSUER: &str = "https://accounts.google.com";
const AUDIENCE: &str = "chatgraph-tests";
const QUERY: &str = "mutation($input: SignInWithIdTokenInput!) { signInWithIdToken(input: $input) { session { accessToken user { email } } userErrors { field code } } }";

/// A P-256 key pair: the private key signs tokens, the public one goes into the JWKS.
struct KeyPair {
    encoding: EncodingKey,
    jwk: Value,
}

fn key_pair(kid: &str) -> KeyPair {
    let seed = Sha256::digest(uuid::Uuid::new_v4().as_bytes());
    let secret = SecretKey::from_slice(&seed).expect("a valid scalar");
    let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let mut jwk: Value = serde_json::from_str(&secret.public_key().to_jwk_string()).expect("jwk");
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!("ES256");
    jwk["use"] = json!("sig");
    KeyPair {
        encoding: EncodingKey::from_ec_pem(pem.as_bytes()).expect("encoding key"),
        jwk,
    }
}

fn sign(key: &KeyPair, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

fn claims(issuer: &str, sub: &str, email: &str, verified: bool) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "iss": issuer, "aud": AUDIENCE, "sub": sub, "email": email, "email_verified": verified,
            "name": "Idris Token", "iat": now, "exp": now + 600 })
}

async fn sign_in(api: &Api, provider: &str, id_token: &str) -> Value {
    let (_, body) = api
        .run(
            None,
            QUERY,
            json!({ "input": { "provider": provider, "idToken": id_token } }),
        )
        .await;
    body["data"]["signInWithIdToken"].clone()
}

fn error_code(answer: &Value) -> &str {
    answer["userErrors"][0]["code"].as_str().unwrap_or("none")
}

#[tokio::test]
async fn id_tokens_sign_users_in_and_bad_ones_are_refused() {
    let key = key_pair("key-1");
    let jwks_path = std::env::temp_dir().join(format!("chatgraph-jwks-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&jwks_path, json!({ "keys": [key.jwk] }).to_string()).expect("write jwks");
    let providers = json!([
        { "name": "example", "issuers": [ISSUER], "audiences": [AUDIENCE], "jwks": jwks_path },
        { "name": "google", "issuers": [GOOGLE_ISSUER], "audiences": [AUDIENCE], "jwks": jwks_path },
    ]);
    let db = TestDb::migrated().await;
    let api = Api {
        client: reqwest::Client::new(),
        address: spawn_app_with(
            db.pool(),
            http_settings(),
            authenticator_with_oidc(Some(providers.to_string())),
        )
        .await,
    };

    // First sign-in creates the account with a personal workspace; the next finds it.
    let token = sign(&key, "key-1", &claims(ISSUER, "subject-1", "idris@example.com", true));
    let first = sign_in(&api, "example", &token).await;
    assert_eq!(first["session"]["user"]["email"], "idris@example.com", "{first}");
    let access = first["session"]["accessToken"].as_str().expect("access token");
    assert_eq!(
        api.viewer(access).await.1["data"]["viewer"]["organizations"]["nodes"][0]["slug"]
            .as_str()
            .map(|s| s.starts_with("personal-")),
        Some(true)
    );
    let again = sign_in(
        &api,
        "example",
        &sign(&key, "key-1", &claims(ISSUER, "subject-1", "changed@example.com", true)),
    )
    .await;
    assert_eq!(
        again["session"]["user"]["email"], "idris@example.com",
        "found by subject, not email"
    );

    // Google links an existing password account by the email Google verified, once the
    // account has confirmed that address. Before, whoever registered the address first
    // (perhaps not its owner: the review's attack) would get the owner's identity.
    api.sign_up("grace@example.com").await;
    let google_token = sign(&key, "key-1", &claims(GOOGLE_ISSUER, "g-42", "Grace@example.com", true));
    let google = sign_in(&api, "google", &google_token).await;
    assert_eq!(google["userErrors"][0]["code"], "CONFIRM_EMAIL_FIRST", "{google}");
    api.confirm("grace@example.com").await;
    let google = sign_in(&api, "google", &google_token).await;
    assert_eq!(google["session"]["user"]["email"], "grace@example.com", "{google}");
    let conn = &mut db.conn().await;
    let grace = UserRow::find_by_email(conn, "grace@example.com")
        .await
        .expect("find")
        .expect("grace");
    assert_eq!(grace.google_sub.as_deref(), Some("g-42"));
    let idris = UserRow::find_by_email(conn, "idris@example.com")
        .await
        .expect("find")
        .expect("idris");
    assert_eq!((idris.password_hash, idris.name.as_str()), (None, "Idris Token"));
    assert!(idris.email_confirmed_at.is_some());

    // An unverified email does not take over an existing account.
    let unverified = sign_in(
        &api,
        "example",
        &sign(&key, "key-1", &claims(ISSUER, "subject-2", "grace@example.com", false)),
    )
    .await;
    assert_eq!(error_code(&unverified), "EMAIL_NOT_VERIFIED");

    // Bad tokens: each refused with the same user error.
    let now = chrono::Utc::now().timestamp();
    let mut expired = claims(ISSUER, "subject-1", "idris@example.com", true);
    expired["exp"] = json!(now - 3600);
    let mut wrong_audience = claims(ISSUER, "subject-1", "idris@example.com", true);
    wrong_audience["aud"] = json!("someone-else");
    let wrong_issuer = claims("https://evil.example", "subject-1", "idris@example.com", true);
    let other_key = key_pair("key-1");
    let good = claims(ISSUER, "subject-1", "idris@example.com", true);
    let valid = sign(&key, "key-1", &good);
    let (head, rest) = valid.split_once('.').expect("jwt");
    let (_, signature) = rest.split_once('.').expect("jwt");
    let forged_payload = URL_SAFE_NO_PAD.encode(claims(ISSUER, "subject-admin", "idris@example.com", true).to_string());
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(key.jwk.to_string().as_bytes()),
    )
    .expect("hs256");
    let bad = [
        ("expired", sign(&key, "key-1", &expired)),
        ("wrong audience", sign(&key, "key-1", &wrong_audience)),
        ("wrong issuer", sign(&key, "key-1", &wrong_issuer)),
        ("another key, same kid", sign(&other_key, "key-1", &good)),
        ("unknown kid", sign(&other_key, "key-2", &good)),
        ("tampered payload", format!("{head}.{forged_payload}.{signature}")),
        ("alg none", unsigned),
        ("hmac with the public key", hmac),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in bad {
        let answer = sign_in(&api, "example", &token).await;
        assert_eq!(answer["session"], Value::Null, "{what}");
        assert_eq!(
            answer["userErrors"],
            json!([{ "field": ["input", "idToken"], "code": "INVALID_ID_TOKEN" }]),
            "{what}"
        );
    }
    assert_eq!(error_code(&sign_in(&api, "nowhere", &valid).await), "UNKNOWN_PROVIDER");

    let users = names(conn, "SELECT email AS name FROM users ORDER BY email").await;
    assert_eq!(
        users,
        ["grace@example.com", "idris@example.com"],
        "no account for a bad token"
    );
    let identities = names(
        conn,
        "SELECT issuer || ' ' || subject AS name FROM user_identities ORDER BY issuer",
    )
    .await;
    assert_eq!(
        identities,
        ["https://accounts.google.com g-42", "https://id.example.test subject-1"]
    );
    let failures = names(
        conn,
        "SELECT error_message || ' ' || count(*) AS name FROM audit_logs \
         WHERE action = 'auth.sign_in' AND status = 'failed' GROUP BY error_message ORDER BY error_message",
    )
    .await;
    assert_eq!(
        failures,
        [
            "CONFIRM_EMAIL_FIRST 1",
            "EMAIL_NOT_VERIFIED 1",
            "INVALID_ID_TOKEN 9",
            "UNKNOWN_PROVIDER 1"
        ],
        "every refusal is audited"
    );
    std::fs::remove_file(jwks_path).expect("clean up");
}
