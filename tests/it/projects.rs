//! Project mutations through the HTTP endpoint: create, update, archive, restore, delete and
//! settings; validation as `userErrors` that write nothing; who may do what; audit rows.

use serde_json::json;

use crate::{
    support::{Api, token},
    support::{TestDb, code, names, user_errors},
};

const CREATE_ORG: &str =
    "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }";
const CREATE: &str = "mutation($input: CreateProjectInput!) { createProject(input: $input) { \
    project { id name description language status settings { enabledModels } members { nodes { user { email } role { name } } } } \
    userErrors { field code } } }";
const UPDATE: &str = "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { name language } userErrors { field code } } }";
const ARCHIVE: &str = "mutation($input: ProjectLifecycleInput!) { archiveProject(input: $input) { project { status } userErrors { field code } } }";
const RESTORE: &str = "mutation($input: ProjectLifecycleInput!) { restoreProject(input: $input) { project { status } userErrors { field code } } }";
const DELETE: &str = "mutation($input: ProjectLifecycleInput!) { deleteProject(input: $input) { deletedProjectId userErrors { field code } } }";
const SETTINGS: &str = "mutation($input: UpdateProjectSettingsInput!) { updateProjectSettings(input: $input) { \
    settings { temperature topP maxTokens brandColor logoUrl welcomeMessage enabledModels custom } userErrors { field code } } }";

#[tokio::test]
async fn projects_are_created_validated_changed_archived_and_deleted() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let bob = token(&api.sign_up_confirmed("bob@example.com").await, "accessToken");
    let carol = token(&api.sign_up("carol@example.com").await, "accessToken");
    let (_, body) = api
        .run(
            Some(&alice),
            CREATE_ORG,
            json!({ "input": { "name": "Acme", "slug": "acme" } }),
        )
        .await;
    let org = body["data"]["createOrganization"]["organization"]["id"].clone();
    api.join(&alice, &org, &bob, "bob@example.com", "MEMBER").await;
    let conn = &mut db.conn().await;
    let count = "SELECT count(*)::text AS name FROM projects";
    let before = names(conn, count).await;

    // Every problem at once, nothing written.
    let long = "x".repeat(10_001);
    let (_, body) = api
        .run(
            Some(&alice),
            CREATE,
            json!({ "input": { "organizationId": org, "name": "", "description": long, "language": "english!" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["createProject"]),
        vec![
            "input.name:INVALID_LENGTH",
            "input.description:INVALID_LENGTH",
            "input.language:INVALID_LANGUAGE"
        ],
        "{body}"
    );
    assert_eq!(names(conn, count).await, before);

    let (_, body) = api
        .run(
            Some(&alice),
            CREATE,
            json!({ "input": { "organizationId": org, "name": "Docs", "description": "Manuals", "language": "pt-BR" } }),
        )
        .await;
    let project = &body["data"]["createProject"]["project"];
    assert_eq!(
        (&project["name"], &project["language"], &project["status"]),
        (&json!("Docs"), &json!("pt-BR"), &json!("ACTIVE")),
        "{body}"
    );
    assert_eq!(
        project["settings"]["enabledModels"],
        json!([]),
        "settings created with the project"
    );
    assert_eq!(
        project["members"]["nodes"],
        json!([{ "user": { "email": "alice@example.com" }, "role": { "name": "owner" } }])
    );
    let id = project["id"].clone();

    // Names are unique per organization, ignoring case; a member may create projects too.
    let (_, body) = api
        .run(
            Some(&bob),
            CREATE,
            json!({ "input": { "organizationId": org, "name": "DOCS" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["createProject"]),
        vec!["input.name:NAME_TAKEN"],
        "{body}"
    );
    let (_, body) = api
        .run(
            Some(&carol),
            CREATE,
            json!({ "input": { "organizationId": org, "name": "Mine" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "another tenant does not see the organization");

    // Update: the owner may; the organization member does not even see the project.
    let (_, body) = api
        .run(
            Some(&alice),
            UPDATE,
            json!({ "input": { "id": id, "name": "Handbook", "language": "" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateProject"]["project"],
        json!({ "name": "Handbook", "language": null }),
        "{body}"
    );
    let (_, body) = api
        .run(
            Some(&bob),
            UPDATE,
            json!({ "input": { "id": id, "name": "Taken over" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");

    // Archive, restore, delete.
    let input = json!({ "input": { "id": id } });
    let (_, body) = api.run(Some(&alice), ARCHIVE, input.clone()).await;
    assert_eq!(
        body["data"]["archiveProject"]["project"]["status"], "ARCHIVED",
        "{body}"
    );
    let (_, body) = api.run(Some(&alice), RESTORE, input.clone()).await;
    assert_eq!(body["data"]["restoreProject"]["project"]["status"], "ACTIVE");
    let (_, body) = api.run(Some(&alice), DELETE, input.clone()).await;
    assert_eq!(body["data"]["deleteProject"]["deletedProjectId"], id);
    let (_, body) = api
        .run(
            Some(&alice),
            "query($id: ID!) { node(id: $id) { ... on Organization { projects { totalCount } } } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(body["data"]["node"]["projects"]["totalCount"], 0, "{body}");
    let (_, body) = api.run(Some(&alice), ARCHIVE, input).await;
    assert_eq!(code(&body), "NOT_FOUND", "a deleted project is gone");

    // The default project of the personal organization stays.
    let (_, body) = api
        .run(Some(&alice), "{ viewer { projects { nodes { id name } } } }", json!({}))
        .await;
    let personal = body["data"]["viewer"]["projects"]["nodes"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|p| p["name"] == "Personal")
        .expect("personal")["id"]
        .clone();
    let (_, body) = api
        .run(Some(&alice), DELETE, json!({ "input": { "id": personal } }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["deleteProject"]),
        vec!["input.id:DEFAULT_PROJECT"]
    );

    let actions = names(
        conn,
        "SELECT action AS name FROM audit_logs WHERE action LIKE 'project.%' AND status = 'success' ORDER BY created_at",
    )
    .await;
    assert_eq!(
        actions,
        vec![
            "project.create",
            "project.update",
            "project.archive",
            "project.restore",
            "project.delete"
        ]
    );
}

#[tokio::test]
async fn settings_are_validated_then_changed_by_project_admins_only() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let viewer = token(&api.sign_up_confirmed("viewer@example.com").await, "accessToken");
    let (_, body) = api
        .run(Some(&alice), "{ viewer { projects { nodes { id } } } }", json!({}))
        .await;
    let project = body["data"]["viewer"]["projects"]["nodes"][0]["id"].clone();
    let viewer_id = api.run(Some(&viewer), "{ viewer { id } }", json!({})).await.1["data"]["viewer"]["id"].clone();
    // Make the second user a viewer of alice's personal project (via her personal organization).
    let (_, body) = api
        .run(Some(&alice), "{ viewer { organizations { nodes { id } } } }", json!({}))
        .await;
    let org = body["data"]["viewer"]["organizations"]["nodes"][0]["id"].clone();
    api.join(&alice, &org, &viewer, "viewer@example.com", "MEMBER").await;
    let (_, body) = api
        .run(
            Some(&alice),
            "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { membership { role } } }",
            json!({ "input": { "projectId": project, "userId": viewer_id, "role": "VIEWER" } }),
        )
        .await;
    assert_eq!(
        body["data"]["setProjectMemberRole"]["membership"]["role"], "VIEWER",
        "{body}"
    );

    let (_, body) = api
        .run(
            Some(&alice),
            SETTINGS,
            json!({ "input": { "projectId": project, "temperature": 3, "topP": -0.5, "maxTokens": 0,
                "brandColor": "red", "logoUrl": "http://example.com/logo.png", "custom": [1, 2],
                "enabledModels": ["gpt-4o", " "] } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["updateProjectSettings"]),
        vec![
            "input.temperature:OUT_OF_RANGE",
            "input.topP:OUT_OF_RANGE",
            "input.maxTokens:OUT_OF_RANGE",
            "input.enabledModels:INVALID_LIST",
            "input.brandColor:INVALID_COLOR",
            "input.logoUrl:INVALID_URL",
            "input.custom:INVALID_JSON",
        ],
        "{body}"
    );

    let (_, body) = api
        .run(
            Some(&alice),
            SETTINGS,
            json!({ "input": { "projectId": project, "temperature": 0.7, "topP": 1, "maxTokens": 2048,
                "brandColor": "#1A2b3c", "logoUrl": "https://example.com/logo.png", "custom": { "team": "docs" },
                "enabledModels": ["gpt-4o", "offline-echo"], "welcomeMessage": "Hi" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateProjectSettings"]["settings"],
        json!({ "temperature": 0.7, "topP": 1.0, "maxTokens": 2048, "brandColor": "#1A2b3c",
            "logoUrl": "https://example.com/logo.png", "welcomeMessage": "Hi",
            "enabledModels": ["gpt-4o", "offline-echo"], "custom": { "team": "docs" } }),
        "{body}"
    );
    // null clears a value; a field left out stays.
    let (_, body) = api
        .run(
            Some(&alice),
            SETTINGS,
            json!({ "input": { "projectId": project, "welcomeMessage": null } }),
        )
        .await;
    let settings = &body["data"]["updateProjectSettings"]["settings"];
    assert!(settings["welcomeMessage"].is_null(), "{body}");
    assert_eq!(settings["temperature"], 0.7);

    let (_, body) = api
        .run(
            Some(&viewer),
            SETTINGS,
            json!({ "input": { "projectId": project, "temperature": 1 } }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "a viewer reads and never writes");
}

const SET_QUOTA: &str = "mutation($input: SetProjectQuotaInput!) { setProjectQuota(input: $input) { \
    quota { period requests { limit used remaining } tokens { limit } } userErrors { field code } } }";

#[tokio::test]
async fn quotas_are_set_by_organization_admins_and_hold_under_concurrent_debits() {
    use chatgraph::services::quotas::{Usage, debit};
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let bob = token(&api.sign_up_confirmed("bob@example.com").await, "accessToken");
    let (_, body) = api
        .run(Some(&alice), "{ viewer { projects { nodes { id uuid } } } }", json!({}))
        .await;
    let project = body["data"]["viewer"]["projects"]["nodes"][0]["id"].clone();
    let project_uuid: uuid::Uuid = body["data"]["viewer"]["projects"]["nodes"][0]["uuid"]
        .as_str()
        .expect("uuid")
        .parse()
        .expect("uuid");

    let (_, body) = api
        .run(
            Some(&alice),
            SET_QUOTA,
            json!({ "input": { "projectId": project, "requestsLimit": "-1" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["setProjectQuota"]),
        vec!["input.requestsLimit:OUT_OF_RANGE"]
    );
    let (_, body) = api
        .run(
            Some(&bob),
            SET_QUOTA,
            json!({ "input": { "projectId": project, "requestsLimit": "10" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = api
        .run(
            Some(&alice),
            SET_QUOTA,
            json!({ "input": { "projectId": project, "requestsLimit": "10", "period": "DAILY" } }),
        )
        .await;
    assert_eq!(
        body["data"]["setProjectQuota"]["quota"],
        json!({ "period": "DAILY", "requests": { "limit": "10", "used": "0", "remaining": "10" }, "tokens": { "limit": null } }),
        "{body}"
    );

    // 50 requests at once against a limit of 10: exactly 10 go through, every time.
    let pool = db.pool();
    let conn = &mut db.conn().await;
    for round in 0..3 {
        execute(
            conn,
            &format!("UPDATE project_quotas SET requests_used = 0 WHERE project_id = '{project_uuid}'"),
        )
        .await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut conn = pool.get().await.expect("connection");
                    debit(
                        &mut conn,
                        project_uuid,
                        Usage {
                            requests: 1,
                            ..Usage::default()
                        },
                    )
                    .await
                })
            })
            .collect();
        let mut passed = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(()) => passed += 1,
                Err(chatgraph::error::AppError::QuotaExceeded { resource, .. }) => assert_eq!(resource, "requests"),
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(passed, 10, "round {round}");
        let used = names(
            conn,
            &format!("SELECT requests_used::text AS name FROM project_quotas WHERE project_id = '{project_uuid}'"),
        )
        .await;
        assert_eq!(used, vec!["10"], "round {round}");
    }

    // A period that has ended resets in the same statement that debits.
    execute(
        conn,
        &format!(
            "UPDATE project_quotas SET reset_at = now() - interval '1 minute' WHERE project_id = '{project_uuid}'"
        ),
    )
    .await;
    debit(
        conn,
        project_uuid,
        Usage {
            requests: 1,
            ..Usage::default()
        },
    )
    .await
    .expect("after reset");
    let state = names(
        conn,
        &format!(
            "SELECT requests_used || ' ' || (reset_at > now()) || ' ' || (reset_at <= now() + interval '1 day') AS name \
             FROM project_quotas WHERE project_id = '{project_uuid}'"
        ),
    )
    .await;
    assert_eq!(state, vec!["1 true true"]);
}

async fn execute(conn: &mut diesel_async::AsyncPgConnection, sql: &str) {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(sql).execute(conn).await.expect(sql);
}

#[tokio::test]
async fn project_members_are_removed_but_never_the_owner() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let bob = token(&api.sign_up_confirmed("bob@example.com").await, "accessToken");
    let ids = |body: &serde_json::Value, path: &str| body["data"]["viewer"][path]["nodes"][0]["id"].clone();
    let (_, body) = api
        .run(
            Some(&alice),
            "{ viewer { id projects { nodes { id } } organizations { nodes { id } } } }",
            json!({}),
        )
        .await;
    let (project, org, alice_id) = (
        ids(&body, "projects"),
        ids(&body, "organizations"),
        body["data"]["viewer"]["id"].clone(),
    );
    let bob_id = api.run(Some(&bob), "{ viewer { id } }", json!({})).await.1["data"]["viewer"]["id"].clone();
    api.join(&alice, &org, &bob, "bob@example.com", "MEMBER").await;
    api.run(
        Some(&alice),
        "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { membership { role } } }",
        json!({ "input": { "projectId": project, "userId": bob_id, "role": "MEMBER" } }),
    )
    .await;
    let remove = "mutation($input: RemoveProjectMemberInput!) { removeProjectMember(input: $input) { removedMemberId userErrors { field code } } }";
    let (_, body) = api
        .run(
            Some(&bob),
            remove,
            json!({ "input": { "projectId": project, "userId": alice_id } }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "a project member does not manage members");
    let (_, body) = api
        .run(
            Some(&alice),
            remove,
            json!({ "input": { "projectId": project, "userId": alice_id } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["removeProjectMember"]),
        vec!["input.userId:OWNER_ROLE_FIXED"]
    );
    let (_, body) = api
        .run(
            Some(&alice),
            remove,
            json!({ "input": { "projectId": project, "userId": bob_id } }),
        )
        .await;
    assert!(
        body["data"]["removeProjectMember"]["removedMemberId"].is_string(),
        "{body}"
    );
    let (_, body) = api
        .run(
            Some(&alice),
            remove,
            json!({ "input": { "projectId": project, "userId": bob_id } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["removeProjectMember"]),
        vec!["input.userId:NOT_A_MEMBER"]
    );
    let (_, body) = api
        .run(Some(&bob), "{ viewer { projects { totalCount } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["viewer"]["projects"]["totalCount"], 1,
        "only bob's own personal project: {body}"
    );
    let conn = &mut db.conn().await;
    let audit = names(
        conn,
        "SELECT action AS name FROM audit_logs WHERE action = 'project_member.remove' AND status = 'success'",
    )
    .await;
    assert_eq!(audit.len(), 1);
}
