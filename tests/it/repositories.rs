//! Code repositories through the HTTP endpoint: they belong to the user who connects them.

use serde_json::{Value, json};

use crate::{
    support::{Api, token},
    support::{TestDb, audit_trail, code, names, user_errors},
};

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
