//! Datasources and documents through the HTTP endpoint: written by those with
//! `documents.write`, exact `userErrors`, the audit rows.

use serde_json::json;

use crate::{
    support::Team,
    support::{TestDb, audit_trail, code, names, user_errors},
};

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

#[tokio::test]
async fn using_an_organization_credential_needs_credentials_manage() {
    // The review's attack: a project member bound the organization's credential to a
    // datasource whose config points wherever they like.
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createCredential",
            "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } } }",
            json!({ "organizationId": team.organization, "name": "openai", "credentialType": "OPENAI", "secret": "sk-org" }),
        )
        .await;
    let credential = payload["credential"]["id"].clone();
    assert!(credential.is_string(), "{body}");
    let linked = |name: &str| {
        json!({ "projectId": team.project, "name": name, "kind": "WEB",
            "config": { "start": "https://attacker.example" }, "credentialId": credential })
    };
    let (payload, _) = team
        .mutate(&team.member, "createDatasource", CREATE_DATASOURCE, linked("Mine"))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.credentialId:FORBIDDEN"]);

    // The owner links it; the member may rename the datasource but not re-point it.
    let (payload, body) = team
        .mutate(&team.owner, "createDatasource", CREATE_DATASOURCE, linked("Docs"))
        .await;
    let datasource = payload["datasource"]["id"].clone();
    assert!(datasource.is_string(), "{body}");
    let (payload, _) = team
        .mutate(
            &team.member,
            "updateDatasource",
            UPDATE_DATASOURCE,
            json!({ "id": datasource, "config": { "start": "https://attacker.example/2" } }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.credentialId:FORBIDDEN"]);
    let (payload, body) = team
        .mutate(
            &team.member,
            "updateDatasource",
            UPDATE_DATASOURCE,
            json!({ "id": datasource, "name": "Documentation" }),
        )
        .await;
    assert_eq!(payload["datasource"]["name"], "Documentation", "{body}");
}
