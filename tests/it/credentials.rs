//! Credentials through the HTTP endpoint: rotation re-encrypts under the current key.

use serde_json::json;

use crate::{
    support::Api,
    support::Team,
    support::{TestDb, audit_trail, code, http_settings, spawn_app_with, user_errors},
};

const SECOND_KEY: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

#[tokio::test]
async fn rotating_a_credential_re_encrypts_it_under_the_current_key() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createCredential",
            "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id keyVersion } userErrors { code } } }",
            json!({ "organizationId": team.organization, "name": "openai", "credentialType": "OPENAI", "secret": "sk-first" }),
        )
        .await;
    let credential = payload["credential"].clone();
    assert_eq!(credential["keyVersion"], 1, "{body}");

    // The operator adds key 2 and makes it current: `2:<new>,1:<old>`.
    let authenticator = crate::support::authenticator_from(chatgraph::config::AuthConfig {
        encryption_key: Some(format!("2:{SECOND_KEY},1:{}", crate::support::TEST_ENCRYPTION_KEY)),
        ..crate::support::auth_config()
    });
    let rotated_api = Api {
        client: reqwest::Client::new(),
        address: spawn_app_with(db.pool(), http_settings(), authenticator.clone()).await,
    };
    let rotate = "mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { id keyVersion } userErrors { field code } } }";
    let (_, body) = rotated_api
        .run(
            Some(&team.member),
            rotate,
            json!({ "input": { "id": credential["id"] } }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = rotated_api
        .run(
            Some(&team.outsider),
            rotate,
            json!({ "input": { "id": credential["id"] } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (_, body) = rotated_api
        .run(
            Some(&team.owner),
            rotate,
            json!({ "input": { "id": credential["id"], "secret": "" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["rotateCredential"]),
        vec!["input.secret:INVALID_LENGTH"]
    );
    let (_, body) = rotated_api
        .run(
            Some(&team.owner),
            rotate,
            json!({ "input": { "id": credential["id"] } }),
        )
        .await;
    assert_eq!(
        body["data"]["rotateCredential"]["credential"]["keyVersion"], 2,
        "{body}"
    );

    // The stored secret decrypts under key 2 to what it was; key 1 alone cannot read it.
    let conn = &mut db.conn().await;
    let (_, id) = chatgraph::graphql::node::decode_global_id(&async_graphql::ID(
        credential["id"].as_str().expect("id").to_owned(),
    ))
    .expect("id");
    let row = chatgraph::models::credential::CredentialRow::find(conn, id)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(row.key_version, 2);
    let secret = chatgraph::services::credentials::reveal(&authenticator.keyring, &row).expect("reveal");
    assert_eq!(secrecy::ExposeSecret::expose_secret(&secret), "sk-first");
    assert!(chatgraph::services::credentials::reveal(&crate::support::authenticator().keyring, &row).is_err());

    // A new secret replaces the old one.
    rotated_api
        .run(
            Some(&team.owner),
            rotate,
            json!({ "input": { "id": credential["id"], "secret": "sk-second" } }),
        )
        .await;
    let row = chatgraph::models::credential::CredentialRow::find(conn, id)
        .await
        .expect("find")
        .expect("row");
    let secret = chatgraph::services::credentials::reveal(&authenticator.keyring, &row).expect("reveal");
    assert_eq!(secrecy::ExposeSecret::expose_secret(&secret), "sk-second");
    assert_eq!(
        audit_trail(&db, "credential.rotate").await,
        vec![
            "failed:FORBIDDEN:member@example.com",
            "failed:NOT_FOUND:outsider@example.com",
            "failed:INVALID_LENGTH:owner@example.com",
            "success::owner@example.com",
            "success::owner@example.com"
        ]
    );
}
