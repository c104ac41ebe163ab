//! Assistants through the HTTP endpoint: created, changed and deactivated by project admins,
//! exact `userErrors` that write nothing, callers without the right, the audit row.

use serde_json::{Value, json};

use crate::{
    support::Team,
    support::{TestDb, audit_trail, code, names, user_errors},
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
