//! Writes on a workspace's configuration through the HTTP endpoint: assistants, code
//! repositories, credential rotation, datasources and documents, webhook subscriptions and
//! analytics events. Each with its happy path, exact `userErrors` that write nothing, callers
//! without the right, and the audit row.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::{
    auth::{Api, token},
    support::{TestDb, audit_trail, code, http_settings, names, spawn_app_with, user_errors},
    team::Team,
};

const CREATE_ASSISTANT: &str = "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { \
    assistant { id name provider model temperature tools isActive } userErrors { field code } } }";
const UPDATE_ASSISTANT: &str = "mutation($input: UpdateAssistantInput!) { updateAssistant(input: $input) { \
    assistant { id name temperature tools } userErrors { field code } } }";
const DEACTIVATE_ASSISTANT: &str = "mutation($input: AssistantStateInput!) { deactivateAssistant(input: $input) { \
    assistant { id isActive } userErrors { code } } }";

#[tokio::test]
async fn assistants_are_created_changed_and_deactivated_by_project_admins() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, _) = team
        .mutate(
            &team.owner,
            "createAssistant",
            CREATE_ASSISTANT,
            json!({ "projectId": team.project, "name": "", "provider": "Open AI", "model": "m",
                    "temperature": 2.5, "tools": ["search", " "] }),
        )
        .await;
    assert_eq!(
        user_errors(&payload),
        vec![
            "input.name:INVALID_LENGTH",
            "input.provider:INVALID_PROVIDER",
            "input.temperature:OUT_OF_RANGE",
            "input.tools:INVALID_LIST"
        ]
    );
    let conn = &mut db.conn().await;
    assert_eq!(
        names(conn, "SELECT count(*)::text AS name FROM assistants").await,
        vec!["0"]
    );

    let (payload, body) = team
        .mutate(
            &team.owner,
            "createAssistant",
            CREATE_ASSISTANT,
            json!({ "projectId": team.project, "name": " Helper ", "provider": "local", "model": "offline-1",
                    "temperature": 0.3, "tools": ["search"] }),
        )
        .await;
    let assistant = payload["assistant"].clone();
    assert_eq!(
        (&assistant["name"], &assistant["tools"], &assistant["isActive"]),
        (&json!("Helper"), &json!(["search"]), &json!(true)),
        "{body}"
    );
    let (_, body) = team
        .mutate(
            &team.member,
            "createAssistant",
            CREATE_ASSISTANT,
            json!({ "projectId": team.project, "name": "Mine", "provider": "local", "model": "m" }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "project members do not hold project.update: {body}"
    );

    let (payload, body) = team
        .mutate(
            &team.owner,
            "updateAssistant",
            UPDATE_ASSISTANT,
            json!({ "id": assistant["id"], "name": "Helper 2", "temperature": null }),
        )
        .await;
    assert_eq!(
        (&payload["assistant"]["name"], &payload["assistant"]["temperature"]),
        (&json!("Helper 2"), &Value::Null),
        "{body}"
    );
    let (_, body) = team
        .mutate(
            &team.outsider,
            "updateAssistant",
            UPDATE_ASSISTANT,
            json!({ "id": assistant["id"], "name": "x" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (payload, body) = team
        .mutate(
            &team.owner,
            "deactivateAssistant",
            DEACTIVATE_ASSISTANT,
            json!({ "id": assistant["id"] }),
        )
        .await;
    assert_eq!(payload["assistant"]["isActive"], false, "{body}");

    assert_eq!(
        audit_trail(&db, "assistant.create").await,
        vec![
            "failed:INVALID_LENGTH,INVALID_PROVIDER,OUT_OF_RANGE,INVALID_LIST:owner@example.com",
            "success::owner@example.com",
            "failed:FORBIDDEN:member@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "assistant.update").await,
        vec!["success::owner@example.com", "failed:NOT_FOUND:outsider@example.com"]
    );
    assert_eq!(
        audit_trail(&db, "assistant.deactivate").await,
        vec!["success::owner@example.com"]
    );
}

const CONNECT: &str = "mutation($input: ConnectRepositoryInput!) { connectRepository(input: $input) { \
    repository { id url defaultBranch isActive } userErrors { field code } } }";
const DEACTIVATE_REPOSITORY: &str = "mutation($input: RepositoryInput!) { deactivateRepository(input: $input) { \
    repository { isActive } userErrors { code } } }";
const DISCONNECT: &str = "mutation($input: RepositoryInput!) { disconnectRepository(input: $input) { \
    disconnectedRepositoryId userErrors { code } } }";

#[tokio::test]
async fn repositories_belong_to_the_user_who_connects_them() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let ada = token(&api.sign_up("ada@example.com").await, "accessToken");
    let bob = token(&api.sign_up("bob@example.com").await, "accessToken");
    let run = async |token: &str, query: &str, field: &str, input: Value| {
        let (_, body) = api.run(Some(token), query, json!({ "input": input })).await;
        (body["data"][field].clone(), body)
    };

    let (payload, _) = run(
        &ada,
        CONNECT,
        "connectRepository",
        json!({ "owner": "-bad", "name": "..", "defaultBranch": "a..b" }),
    )
    .await;
    assert_eq!(
        user_errors(&payload),
        vec![
            "input.owner:INVALID_NAME",
            "input.name:INVALID_NAME",
            "input.defaultBranch:INVALID_BRANCH"
        ]
    );
    let (payload, body) = run(
        &ada,
        CONNECT,
        "connectRepository",
        json!({ "owner": "rust-lang", "name": "crates.io" }),
    )
    .await;
    let repository = payload["repository"].clone();
    assert_eq!(
        (&repository["url"], &repository["defaultBranch"]),
        (&json!("https://github.com/rust-lang/crates.io"), &json!("main")),
        "{body}"
    );
    let (payload, _) = run(
        &ada,
        CONNECT,
        "connectRepository",
        json!({ "owner": "rust-lang", "name": "crates.io" }),
    )
    .await;
    assert_eq!(user_errors(&payload), vec!["input.name:ALREADY_CONNECTED"]);

    let input = json!({ "id": repository["id"] });
    let (_, body) = run(&bob, DEACTIVATE_REPOSITORY, "deactivateRepository", input.clone()).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (payload, _) = run(&ada, DEACTIVATE_REPOSITORY, "deactivateRepository", input.clone()).await;
    assert_eq!(payload["repository"]["isActive"], false);
    let (_, body) = run(&bob, DISCONNECT, "disconnectRepository", input.clone()).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (payload, _) = run(&ada, DISCONNECT, "disconnectRepository", input.clone()).await;
    assert_eq!(payload["disconnectedRepositoryId"], repository["id"]);
    let conn = &mut db.conn().await;
    assert_eq!(
        names(conn, "SELECT count(*)::text AS name FROM repositories").await,
        vec!["0"]
    );
    assert_eq!(
        audit_trail(&db, "repository.connect").await,
        vec![
            "failed:INVALID_NAME,INVALID_NAME,INVALID_BRANCH:ada@example.com",
            "success::ada@example.com",
            "failed:ALREADY_CONNECTED:ada@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "repository.disconnect").await,
        vec!["failed:NOT_FOUND:bob@example.com", "success::ada@example.com"]
    );
}

/// A second key for rotation tests (base64 of 32 bytes).
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
    let config = chatgraph::config::AuthConfig {
        jwt_secret: Some("test secret of at least thirty-two bytes".into()),
        access_token_ttl_secs: 900,
        refresh_token_ttl_days: 30,
        encryption_key: Some(format!("2:{SECOND_KEY},1:{}", crate::support::TEST_ENCRYPTION_KEY)),
        oidc_providers: None,
        sign_in_failures_per_email: 5,
        sign_in_failures_per_address: 8,
    };
    let authenticator =
        Arc::new(chatgraph::app::authenticator(&config, std::path::Path::new("unused")).expect("authenticator"));
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

const CREATE_DATASOURCE: &str = "mutation($input: CreateDatasourceInput!) { createDatasource(input: $input) { \
    datasource { id name kind status config } userErrors { field code } } }";
const UPDATE_DATASOURCE: &str = "mutation($input: UpdateDatasourceInput!) { updateDatasource(input: $input) { \
    datasource { id name status } userErrors { field code } } }";
const CREATE_DOCUMENT: &str = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { \
    document { id uuid title status contentHash } userErrors { field code } } }";
const UPDATE_DOCUMENT: &str = "mutation($input: UpdateDocumentInput!) { updateDocument(input: $input) { \
    document { id title status contentHash } userErrors { field code } } }";
const DELETE_DATASOURCE: &str =
    "mutation($input: DeleteKnowledgeInput!) { deleteDatasource(input: $input) { deletedId userErrors { code } } }";

#[tokio::test]
async fn datasources_and_documents_are_written_by_those_with_documents_write() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, _) = team
        .mutate(
            &team.member,
            "createDatasource",
            CREATE_DATASOURCE,
            json!({ "projectId": team.project, "name": "", "config": [1], "credentialId": team.project }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.credentialId:INVALID_ID"]);
    let (payload, _) = team
        .mutate(
            &team.member,
            "createDatasource",
            CREATE_DATASOURCE,
            json!({ "projectId": team.project, "name": "", "config": [1] }),
        )
        .await;
    assert_eq!(
        user_errors(&payload),
        vec!["input.name:INVALID_LENGTH", "input.config:INVALID_JSON"]
    );
    let (payload, body) = team
        .mutate(
            &team.member,
            "createDatasource",
            CREATE_DATASOURCE,
            json!({ "projectId": team.project, "name": "Wiki", "kind": "WEB", "config": { "start": "https://wiki.example.com" } }),
        )
        .await;
    let datasource = payload["datasource"].clone();
    assert_eq!(
        (&datasource["kind"], &datasource["status"]),
        (&json!("WEB"), &json!("IDLE")),
        "{body}"
    );
    let (_, body) = team
        .mutate(
            &team.viewer,
            "createDatasource",
            CREATE_DATASOURCE,
            json!({ "projectId": team.project, "name": "V" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (payload, _) = team
        .mutate(
            &team.member,
            "updateDatasource",
            UPDATE_DATASOURCE,
            json!({ "id": datasource["id"], "enabled": false }),
        )
        .await;
    assert_eq!(payload["datasource"]["status"], "DISABLED");

    let (payload, _) = team
        .mutate(
            &team.member,
            "createDocument",
            CREATE_DOCUMENT,
            json!({ "projectId": team.project, "title": "Guide", "sourceUrl": "ftp://x", "mimeType": "text", "metadata": "no" }),
        )
        .await;
    assert_eq!(
        user_errors(&payload),
        vec![
            "input.sourceUrl:INVALID_URL",
            "input.metadata:INVALID_JSON",
            "input.mimeType:INVALID_MEDIA_TYPE"
        ]
    );
    let (payload, body) = team
        .mutate(
            &team.member,
            "createDocument",
            CREATE_DOCUMENT,
            json!({ "projectId": team.project, "datasourceId": datasource["id"], "externalId": "page-1",
                    "title": "Guide", "content": "hello", "mimeType": "text/markdown" }),
        )
        .await;
    let document = payload["document"].clone();
    assert_eq!(
        (&document["status"], &document["contentHash"]),
        (
            &json!("PENDING"),
            &json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        ),
        "{body}"
    );
    let (payload, _) = team
        .mutate(
            &team.member,
            "createDocument",
            CREATE_DOCUMENT,
            json!({ "projectId": team.project, "datasourceId": datasource["id"], "externalId": "page-1", "title": "Again" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.externalId:EXTERNAL_ID_TAKEN"]);

    // New content: pending again, new hash, the old chunks gone.
    let conn = &mut db.conn().await;
    let uuid = document["uuid"].as_str().expect("uuid");
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO document_chunks (document_id, project_id, chunk_index, content) \
             SELECT id, project_id, 0, content FROM documents WHERE id = '{uuid}'"
        )),
        conn,
    )
    .await
    .expect("chunk");
    let (payload, body) = team
        .mutate(
            &team.member,
            "updateDocument",
            UPDATE_DOCUMENT,
            json!({ "id": document["id"], "content": "hello!" }),
        )
        .await;
    assert_ne!(payload["document"]["contentHash"], document["contentHash"], "{body}");
    assert_eq!(
        names(conn, "SELECT count(*)::text AS name FROM document_chunks").await,
        vec!["0"]
    );
    let (_, body) = team
        .mutate(
            &team.outsider,
            "updateDocument",
            UPDATE_DOCUMENT,
            json!({ "id": document["id"], "title": "x" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");

    let (payload, _) = team
        .mutate(
            &team.member,
            "deleteDatasource",
            DELETE_DATASOURCE,
            json!({ "id": datasource["id"] }),
        )
        .await;
    assert_eq!(payload["deletedId"], datasource["id"]);
    assert_eq!(
        names(conn, "SELECT count(*)::text AS name FROM documents").await,
        vec!["0"]
    );
    assert_eq!(
        audit_trail(&db, "datasource.create").await,
        vec![
            "failed:INVALID_ID:member@example.com",
            "failed:INVALID_LENGTH,INVALID_JSON:member@example.com",
            "success::member@example.com",
            "failed:FORBIDDEN:viewer@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "document.update").await[0],
        "success::member@example.com"
    );
    assert_eq!(
        audit_trail(&db, "datasource.delete").await,
        vec!["success::member@example.com"]
    );
}

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
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createWebhookSubscription",
            CREATE_WEBHOOK,
            json!({ "projectId": team.project, "url": "https://hooks.example.com/in", "eventTypes": ["message.created"] }),
        )
        .await;
    let secret = payload["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("cgw_") && secret.len() > 40, "{body}");
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
            "success::owner@example.com",
            "failed:FORBIDDEN:member@example.com"
        ]
    );
    assert_eq!(
        audit_trail(&db, "webhook.delete").await,
        vec!["failed:NOT_FOUND:outsider@example.com", "success::owner@example.com"]
    );
}

const TRACK: &str =
    "mutation($input: TrackEventsInput!) { trackEvents(input: $input) { accepted userErrors { field code } } }";

#[tokio::test]
async fn analytics_events_are_stored_as_a_batch_or_not_at_all() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let conn = &mut db.conn().await;
    let count = "SELECT count(*)::text AS name FROM analytics_events";
    let (payload, _) = team
        .mutate(
            &team.viewer,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": [
                { "name": "chat.opened" },
                { "name": "", "properties": [1] },
                { "name": "old", "occurredAt": "2000-01-01T00:00:00Z" },
            ] }),
        )
        .await;
    assert_eq!(
        user_errors(&payload),
        vec![
            "input.events.1.name:INVALID_LENGTH",
            "input.events.1.properties:INVALID_JSON",
            "input.events.2.occurredAt:OUT_OF_RANGE"
        ]
    );
    assert_eq!(payload["accepted"], 0);
    assert_eq!(names(conn, count).await, vec!["0"]);
    let many: Vec<Value> = (0..101).map(|i| json!({ "name": format!("e{i}") })).collect();
    let (payload, _) = team
        .mutate(
            &team.viewer,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": many }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.events:INVALID_BATCH"]);

    // Viewers read the project, so they may report what they did there.
    let (payload, body) = team
        .mutate(
            &team.viewer,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": [
                { "name": "chat.opened", "properties": { "from": "sidebar" } },
                { "name": "search.used" },
            ] }),
        )
        .await;
    assert_eq!(payload["accepted"], 2, "{body}");
    assert_eq!(names(conn, count).await, vec!["2"]);
    let (_, body) = team
        .mutate(
            &team.outsider,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": [{ "name": "x" }] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        audit_trail(&db, "analytics.track").await,
        vec![
            "failed:INVALID_LENGTH,INVALID_JSON,OUT_OF_RANGE:viewer@example.com",
            "failed:INVALID_BATCH:viewer@example.com",
            "success::viewer@example.com",
            "failed:NOT_FOUND:outsider@example.com"
        ]
    );
}
