//! Secrets at rest and admin-only configuration: credentials are stored encrypted (bound to
//! their row) and never shown; no password, token or credential appears anywhere in the
//! database's bytes; only platform admins read or write `platform_configs`.

use chatgraph::{auth::crypto::Keyring, models::credential::CredentialRow};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::{
    support::{Api, PASSWORD, token},
    support::{TEST_ENCRYPTION_KEY, TestDb, code},
};

const CREATE: &str = "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id name credentialType } userErrors { field code } } }";
const SECRET: &str = "sk-live-7f3a9c2e51d84b6aa0c1e9f2";

#[tokio::test]
async fn credentials_are_encrypted_never_shown_and_nothing_secret_is_stored_in_clear() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let signed_up = api.sign_up("alice@example.com").await;
    let (alice, refresh) = (token(&signed_up, "accessToken"), token(&signed_up, "refreshToken"));
    let bob = token(&api.sign_up("bob@example.com").await, "accessToken");
    let (_, body) = api
        .run(Some(&alice), "{ viewer { organizations { nodes { id } } } }", json!({}))
        .await;
    let organization_id = body["data"]["viewer"]["organizations"]["nodes"][0]["id"].clone();
    let input = |name: &str| json!({ "input": { "organizationId": organization_id, "name": name, "credentialType": "OPENAI", "secret": SECRET } });

    let (_, body) = api.run(Some(&alice), CREATE, input("OpenAI production")).await;
    let credential = &body["data"]["createCredential"]["credential"];
    assert_eq!(credential["name"], "OpenAI production", "{body}");
    assert_eq!(credential["credentialType"], "OPENAI");
    let (_, body) = api.run(Some(&alice), CREATE, input("OpenAI production")).await;
    assert_eq!(body["data"]["createCredential"]["userErrors"][0]["code"], "NAME_TAKEN");
    let (_, body) = api.run(Some(&bob), CREATE, input("Planted")).await;
    assert_eq!(code(&body), "NOT_FOUND", "another tenant's organization is not found");

    // Listed with name, type and dates; the type has no field that could carry the secret.
    let (_, body) = api
        .run(
            Some(&alice),
            "{ viewer { organizations { nodes { credentials { name createdAt } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["viewer"]["organizations"]["nodes"][0]["credentials"][0]["name"],
        "OpenAI production"
    );
    let (_, body) = api
        .run(None, "{ __type(name: \"Credential\") { fields { name } } }", json!({}))
        .await;
    let fields: Vec<&str> = body["data"]["__type"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "name",
            "credentialType",
            "keyVersion",
            "lastUsedAt",
            "createdAt",
            "updatedAt"
        ]
    );

    // Stored as ciphertext bound to its row, readable with the key.
    let conn = &mut db.conn().await;
    let rows: Vec<CredentialRow> = {
        use diesel::{QueryDsl, SelectableHelper};
        use diesel_async::RunQueryDsl;
        chatgraph::db::schema::credentials::table
            .select(CredentialRow::as_select())
            .load(conn)
            .await
            .expect("credentials")
    };
    let keyring = Keyring::parse(&SecretString::from(TEST_ENCRYPTION_KEY)).expect("keyring");
    let revealed = chatgraph::services::credentials::reveal(&keyring, &rows[0]).expect("decrypt");
    assert_eq!(revealed.expose_secret(), SECRET);
    assert!(
        keyring
            .decrypt(
                &rows[0].encrypted_data,
                rows[0].key_version,
                &CredentialRow::associated_data(uuid::Uuid::nil())
            )
            .is_err(),
        "bound to its own row"
    );

    // An API token too, then search every byte of the database for any secret in clear.
    let (_, body) = api
        .run(
            Some(&alice),
            "mutation { createApiToken(input: { name: \"ci\" }) { token } }",
            json!({}),
        )
        .await;
    let api_token = body["data"]["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(db.data_dump().contains("alice@example.com"), "the dump holds the data");
    for secret in [SECRET, PASSWORD, &refresh, &alice, &api_token] {
        assert!(!db.stores_in_clear(secret), "{secret} is stored in clear");
    }

    // Deleting: not found for another tenant, done for the owner.
    let delete = json!({ "input": { "id": credential_id(&api, &alice).await } });
    let query = "mutation($input: DeleteCredentialInput!) { deleteCredential(input: $input) { deletedCredentialId } }";
    assert_eq!(code(&api.run(Some(&bob), query, delete.clone()).await.1), "NOT_FOUND");
    let (_, body) = api.run(Some(&alice), query, delete.clone()).await;
    assert_eq!(
        body["data"]["deleteCredential"]["deletedCredentialId"],
        delete["input"]["id"]
    );
}

async fn credential_id(api: &Api, access: &str) -> Value {
    let (_, body) = api
        .run(
            Some(access),
            "{ viewer { organizations { nodes { credentials { id } } } } }",
            json!({}),
        )
        .await;
    body["data"]["viewer"]["organizations"]["nodes"][0]["credentials"][0]["id"].clone()
}

#[tokio::test]
async fn only_platform_admins_read_and_write_platform_configuration() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let user = token(&api.sign_up("user@example.com").await, "accessToken");
    let admin = token(&api.sign_up("admin@example.com").await, "accessToken");
    crate::support::make_platform_admin(&db, "admin@example.com").await;

    let set = "mutation($input: SetPlatformConfigInput!) { setPlatformConfig(input: $input) { platformConfig { key value } userErrors { field code } } }";
    let input = json!({ "input": { "key": "routing_agent", "value": { "model": "gpt-4o-mini", "enabled": true } } });
    let read = "{ platformConfigs { key value description } }";
    assert_eq!(code(&api.run(Some(&user), set, input.clone()).await.1), "FORBIDDEN");
    assert_eq!(code(&api.run(Some(&user), read, json!({})).await.1), "FORBIDDEN");
    assert_eq!(code(&api.run(None, read, json!({})).await.1), "UNAUTHENTICATED");

    let (_, body) = api.run(Some(&admin), set, input).await;
    assert_eq!(
        body["data"]["setPlatformConfig"]["platformConfig"],
        json!({ "key": "routing_agent", "value": { "model": "gpt-4o-mini", "enabled": true } })
    );
    let (_, body) = api
        .run(Some(&admin), set, json!({ "input": { "key": "Bad Key", "value": 1 } }))
        .await;
    assert_eq!(
        body["data"]["setPlatformConfig"]["userErrors"],
        json!([{ "field": ["input", "key"], "code": "INVALID_KEY" }])
    );
    let (_, body) = api.run(Some(&admin), read, json!({})).await;
    assert_eq!(body["data"]["platformConfigs"][0]["value"]["model"], "gpt-4o-mini");
}
