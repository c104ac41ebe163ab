//! The complete read graph: every filter and ordering, every aggregate checked against a SQL
//! computation on the same generated data; who sees the permission-bound lists (usage, audit
//! logs, jobs, webhooks); `node(id:)` for every new type, composite ids included; and a wide
//! query whose statement count does not grow with the data.

use std::time::Duration;

use chatgraph::{
    db::{StatementCounter, enums::RoleScope, pool_with_counter},
    graphql::node::global_id,
    models::{organization::NewOrganizationMember, project::NewProjectMember, role::RoleRow, user::UserRow},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    support::fixtures,
    support::{Api, token},
    support::{TestDb, authenticator, http_settings, names, serve_state},
};

async fn execute(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).await.expect(sql);
}

async fn user_id(conn: &mut AsyncPgConnection, email: &str) -> Uuid {
    UserRow::find_by_email(conn, email)
        .await
        .expect("find")
        .expect("user")
        .id
}

/// Callers and the ids of the generated data.
struct World {
    owner: String,
    member: String,
    viewer: String,
    outsider: String,
    owner_id: Uuid,
    member_id: Uuid,
    organization: Uuid,
    project: Uuid,
    assistant: Uuid,
    first_chat: Uuid,
}

/// Organization G: `owner` (organization owner), `member` (project member: usage.read, no
/// audit.read), `viewer` (project viewer), `outsider` (nothing). Project P with an assistant,
/// `chats` chats, messages, usage over several days, models, providers and operations, audit
/// records, documents, jobs, a webhook, feedback and a quota.
async fn build(db: &TestDb, api: &Api, chats: usize) -> World {
    let mut tokens = Vec::new();
    for email in [
        "owner@g.example",
        "member@g.example",
        "viewer@g.example",
        "out@g.example",
    ] {
        tokens.push(token(&api.sign_up(email).await, "accessToken"));
    }
    let conn = &mut db.conn().await;
    let owner_id = user_id(conn, "owner@g.example").await;
    let member_id = user_id(conn, "member@g.example").await;
    let viewer_id = user_id(conn, "viewer@g.example").await;
    let organization = fixtures::organization("g").insert(conn).await.expect("org").id;
    let org_owner = RoleRow::find_by_name(conn, RoleScope::Organization, "owner")
        .await
        .expect("role");
    NewOrganizationMember {
        organization_id: organization,
        user_id: owner_id,
        role_id: org_owner.id,
        invited_by: None,
    }
    .insert(conn)
    .await
    .expect("owner");
    let project = fixtures::project(organization, "P")
        .insert(conn)
        .await
        .expect("project")
        .id;
    for (user_id, role) in [(member_id, "member"), (viewer_id, "viewer")] {
        let role = RoleRow::find_by_name(conn, RoleScope::Project, role)
            .await
            .expect("role");
        NewProjectMember {
            project_id: project,
            user_id,
            role_id: role.id,
            added_by: None,
        }
        .insert(conn)
        .await
        .expect("project member");
    }
    let assistant = Uuid::now_v7();
    execute(
        conn,
        &format!(
            "INSERT INTO assistants (id, organization_id, project_id, name, provider, model) \
             VALUES ('{assistant}', '{organization}', '{project}', 'Helper', 'offline', 'offline-echo')"
        ),
    )
    .await;
    // Chats: every third starred, every fifth private (the owner's), every fourth with the
    // assistant, "Budget" in some titles, even ones with a last message.
    execute(
        conn,
        &format!(
            "INSERT INTO chats (id, project_id, user_id, assistant_id, title, visibility, is_starred, created_at, last_message_at) \
             SELECT gen_random_uuid(), '{project}', '{owner_id}', \
                    CASE WHEN g % 4 = 0 THEN '{assistant}'::uuid END, \
                    CASE WHEN g % 3 = 1 THEN 'Budget review ' ELSE 'chat ' END || g, \
                    CASE WHEN g % 5 = 0 THEN 'private' ELSE 'project' END, g % 3 = 0, \
                    now() - g * interval '1 hour', \
                    CASE WHEN g % 2 = 0 THEN now() - g * interval '13 minutes' END \
             FROM generate_series(1, {chats}) g"
        ),
    )
    .await;
    let first_chat: Uuid = names(
        conn,
        &format!("SELECT id::text AS name FROM chats WHERE project_id = '{project}' AND title IN ('Budget review 1')"),
    )
    .await[0]
        .parse()
        .expect("uuid");
    execute(
        conn,
        &format!(
            "INSERT INTO messages (chat_id, user_id, role, content, status, created_at) \
             SELECT '{first_chat}', CASE WHEN g % 3 = 0 THEN '{owner_id}'::uuid END, \
                    (ARRAY['user', 'assistant', 'system'])[g % 3 + 1], 'message ' || g, \
                    CASE WHEN g % 4 = 0 THEN 'failed' ELSE 'complete' END, now() - (20 - g) * interval '1 minute' \
             FROM generate_series(1, 12) g"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO usage_events (organization_id, project_id, user_id, chat_id, operation, provider, model, \
               input_tokens, output_tokens, total_tokens, total_cost, requested_at) \
             SELECT '{organization}', '{project}', \
                    CASE WHEN g % 2 = 0 THEN '{owner_id}'::uuid ELSE '{member_id}'::uuid END, \
                    CASE WHEN g % 3 = 0 THEN '{first_chat}'::uuid END, \
                    (ARRAY['chat', 'embedding', 'tool'])[g % 3 + 1], (ARRAY['openai', 'offline'])[g % 2 + 1], \
                    (ARRAY['gpt-4o', 'gpt-4o-mini', 'hash-embed'])[g % 3 + 1], \
                    g * 10, g * 3, g * 13, g * 0.001234, \
                    '2026-11-01T00:00:00Z'::timestamptz + g * interval '7 hours' \
             FROM generate_series(1, 60) g"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO audit_logs (organization_id, project_id, actor_user_id, action, resource_type, resource_id, created_at) \
             SELECT '{organization}', '{project}', CASE WHEN g % 2 = 0 THEN '{owner_id}'::uuid ELSE '{member_id}'::uuid END, \
                    (ARRAY['chat.create', 'chat.delete', 'credential.create'])[g % 3 + 1], 'chat', 'r' || (g % 4), \
                    '2026-11-10T00:00:00Z'::timestamptz + g * interval '1 day' \
             FROM generate_series(1, 12) g"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "WITH d AS (INSERT INTO datasources (project_id, name, kind) VALUES ('{project}', 'Wiki', 'web') RETURNING id) \
             INSERT INTO documents (project_id, datasource_id, title, content, status) \
             SELECT '{project}', CASE WHEN g % 2 = 0 THEN d.id END, \
                    CASE WHEN g % 3 = 0 THEN 'Pricing guide ' ELSE 'Doc ' END || g, 'text ' || g, \
                    (ARRAY['pending', 'indexed', 'failed'])[g % 3 + 1] \
             FROM d, generate_series(1, 9) g"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO document_chunks (document_id, project_id, chunk_index, content) \
             SELECT d.id, d.project_id, g, 'chunk ' || g FROM documents d, generate_series(0, 4) g \
             WHERE d.project_id = '{project}'"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO jobs (project_id, kind, status) \
             SELECT '{project}', (ARRAY['document.index', 'webhook.deliver'])[g % 2 + 1], \
                    (ARRAY['queued', 'running', 'succeeded', 'failed'])[g % 4 + 1] \
             FROM generate_series(1, 8) g"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO webhook_subscriptions (project_id, url, encrypted_secret, key_version) \
             VALUES ('{project}', 'https://hooks.example/g', '\\x00', 1)"
        ),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO message_feedback (message_id, chat_id, user_id, is_upvoted, rating, comment) \
             SELECT m.id, m.chat_id, u.id, u.up, u.rating, u.comment \
             FROM (SELECT id, chat_id FROM messages WHERE chat_id = '{first_chat}' AND role = 'assistant' ORDER BY created_at LIMIT 2) m, \
                  (VALUES ('{owner_id}'::uuid, true, 5, 'great'), ('{member_id}'::uuid, false, 2, NULL), \
                          ('{viewer_id}'::uuid, true, NULL::int, NULL)) AS u(id, up, rating, comment)"
        ),
    )
    .await;
    execute(
        conn,
        &format!("INSERT INTO project_settings (project_id, enabled_models) VALUES ('{project}', '{{gpt-4o}}')"),
    )
    .await;
    execute(
        conn,
        &format!(
            "INSERT INTO project_quotas (project_id, tokens_limit, tokens_used, requests_limit, requests_used, reset_at) \
             VALUES ('{project}', 1000, 250, NULL, 40, '2026-12-01T00:00:00Z')"
        ),
    )
    .await;
    let mut tokens = tokens.into_iter();
    World {
        owner: tokens.next().expect("owner"),
        member: tokens.next().expect("member"),
        viewer: tokens.next().expect("viewer"),
        outsider: tokens.next().expect("outsider"),
        owner_id,
        member_id,
        organization,
        project,
        assistant,
        first_chat,
    }
}

/// Runs a query that must succeed and returns its `data`.
async fn data(api: &Api, token: &str, query: &str, variables: Value) -> Value {
    let (status, body) = api.run(Some(token), query, variables).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

/// The values of `field` of each node of a connection.
fn field_of(connection: &Value, field: &str) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            n[field]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| n[field].to_string())
        })
        .collect()
}

const CHATS: &str = "query($id: ID!, $filter: ChatFilter, $order: ChatOrder) { node(id: $id) { ... on Project { \
    chats(first: 100, filter: $filter, orderBy: $order) { totalCount nodes { title } } } } }";

#[tokio::test]
async fn chat_filters_and_orders_match_sql() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 40).await;
    let conn = &mut db.conn().await;
    let project = global_id("Project", world.project);
    let assistant = global_id("Assistant", world.assistant);
    let cases = [
        (json!({ "isStarred": true }), "is_starred"),
        (json!({ "isStarred": false }), "NOT is_starred"),
        (json!({ "visibility": "PRIVATE" }), "visibility = 'private'"),
        (json!({ "titleContains": "budget" }), "title ILIKE '%budget%'"),
        (
            json!({ "assistantId": assistant }),
            &format!("assistant_id = '{}'", world.assistant),
        ),
        (
            json!({ "createdAfter": "2026-01-01T00:00:00Z", "isStarred": false, "titleContains": "REVIEW" }),
            "created_at >= '2026-01-01' AND NOT is_starred AND title ILIKE '%review%'",
        ),
        (
            json!({ "activeBefore": (chrono::Utc::now() - chrono::Duration::hours(10)).to_rfc3339() }),
            "coalesce(last_message_at, created_at) < now() - interval '10 hours'",
        ),
        (json!({}), "TRUE"),
    ];
    for (filter, condition) in cases {
        let found = data(&api, &world.owner, CHATS, json!({ "id": project, "filter": filter })).await;
        let chats = &found["node"]["chats"];
        let expected = names(
            conn,
            &format!(
                "SELECT title AS name FROM chats WHERE project_id = '{}' AND {condition} \
                 ORDER BY coalesce(last_message_at, created_at) DESC, id DESC",
                world.project
            ),
        )
        .await;
        assert!(!expected.is_empty(), "{condition} selects something");
        assert_eq!(field_of(chats, "title"), expected, "filter {filter}");
        assert_eq!(chats["totalCount"], json!(expected.len()), "totalCount of {filter}");
    }
    // Every order, both directions.
    for (field, direction, order) in [
        (
            "LAST_MESSAGE_AT",
            "DESC",
            "coalesce(last_message_at, created_at) DESC, id DESC",
        ),
        (
            "LAST_MESSAGE_AT",
            "ASC",
            "coalesce(last_message_at, created_at) ASC, id ASC",
        ),
        ("CREATED_AT", "DESC", "created_at DESC, id DESC"),
        ("CREATED_AT", "ASC", "created_at ASC, id ASC"),
    ] {
        let order_by = json!({ "field": field, "direction": direction });
        let found = data(&api, &world.owner, CHATS, json!({ "id": project, "order": order_by })).await;
        let expected = names(
            conn,
            &format!(
                "SELECT title AS name FROM chats WHERE project_id = '{}' ORDER BY {order}",
                world.project
            ),
        )
        .await;
        assert_eq!(
            field_of(&found["node"]["chats"], "title"),
            expected,
            "{field} {direction}"
        );
    }
    // A cursor of one order is refused by another.
    let page = "query($id: ID!, $order: ChatOrder, $after: String) { node(id: $id) { ... on Project { \
        chats(first: 2, orderBy: $order, after: $after) { pageInfo { endCursor } } } } }";
    let first = data(&api, &world.owner, page, json!({ "id": project })).await;
    let cursor = first["node"]["chats"]["pageInfo"]["endCursor"].clone();
    let (_, body) = api
        .run(
            Some(&world.owner),
            page,
            json!({ "id": project, "order": { "field": "CREATED_AT", "direction": "ASC" }, "after": cursor }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    // The member does not see the owner's private chats, filtered or not.
    let found = data(
        &api,
        &world.member,
        CHATS,
        json!({ "id": project, "filter": { "visibility": "PRIVATE" } }),
    )
    .await;
    assert_eq!(found["node"]["chats"]["totalCount"], 0);
    // A malformed id in a filter is a clear error.
    let (_, body) = api
        .run(
            Some(&world.owner),
            CHATS,
            json!({ "id": project, "filter": { "assistantId": project } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("filter.assistantId"),
        "{body}"
    );
}

#[tokio::test]
async fn message_document_job_and_audit_filters_match_sql() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 3).await;
    let conn = &mut db.conn().await;
    let chat = global_id("Chat", world.first_chat);
    let messages = "query($id: ID!, $filter: MessageFilter) { node(id: $id) { ... on Chat { \
        messages(first: 100, filter: $filter) { totalCount nodes { content } } } } }";
    for (filter, condition) in [
        (json!({ "role": "ASSISTANT" }), "role = 'assistant'"),
        (json!({ "status": "FAILED" }), "status = 'failed'"),
        (
            json!({ "role": "USER", "status": "COMPLETE" }),
            "role = 'user' AND status = 'complete'",
        ),
    ] {
        let found = data(&api, &world.owner, messages, json!({ "id": chat, "filter": filter })).await;
        let expected = names(
            conn,
            &format!(
                "SELECT content AS name FROM messages WHERE chat_id = '{}' AND {condition} ORDER BY created_at, id",
                world.first_chat
            ),
        )
        .await;
        assert!(!expected.is_empty());
        assert_eq!(field_of(&found["node"]["messages"], "content"), expected, "{filter}");
    }

    let project = global_id("Project", world.project);
    let datasource = names(
        conn,
        &format!(
            "SELECT id::text AS name FROM datasources WHERE project_id = '{}'",
            world.project
        ),
    )
    .await[0]
        .clone();
    let documents = "query($id: ID!, $filter: DocumentFilter) { node(id: $id) { ... on Project { \
        documents(first: 100, filter: $filter) { totalCount nodes { title } } } } }";
    for (filter, condition) in [
        (
            json!({ "datasourceId": global_id("Datasource", datasource.parse().expect("uuid")) }),
            format!("datasource_id = '{datasource}'"),
        ),
        (json!({ "status": "INDEXED" }), "status = 'indexed'".to_owned()),
        (
            json!({ "titleContains": "pricing" }),
            "title ILIKE '%pricing%'".to_owned(),
        ),
    ] {
        let found = data(
            &api,
            &world.viewer,
            documents,
            json!({ "id": project, "filter": filter }),
        )
        .await;
        let expected = names(
            conn,
            &format!(
                "SELECT title AS name FROM documents WHERE project_id = '{}' AND {condition} ORDER BY created_at DESC, id DESC",
                world.project
            ),
        )
        .await;
        assert!(!expected.is_empty());
        assert_eq!(field_of(&found["node"]["documents"], "title"), expected, "{filter}");
    }

    let jobs = "query($id: ID!, $filter: JobFilter) { node(id: $id) { ... on Project { \
        jobs(first: 100, filter: $filter) { totalCount nodes { id kind status } } } } }";
    for (filter, condition) in [
        (json!({ "status": "FAILED" }), "status = 'failed'"),
        (json!({ "kind": "document.index" }), "kind = 'document.index'"),
        (
            json!({ "kind": "webhook.deliver", "status": "RUNNING" }),
            "kind = 'webhook.deliver' AND status = 'running'",
        ),
    ] {
        let found = data(&api, &world.owner, jobs, json!({ "id": project, "filter": filter })).await;
        let expected = names(
            conn,
            &format!(
                "SELECT count(*)::text AS name FROM jobs WHERE project_id = '{}' AND {condition}",
                world.project
            ),
        )
        .await;
        assert_eq!(found["node"]["jobs"]["totalCount"].to_string(), expected[0], "{filter}");
    }

    let audit = "query($id: ID!, $filter: AuditLogFilter) { node(id: $id) { ... on Organization { \
        auditLogs(first: 100, filter: $filter) { totalCount nodes { action resourceId createdAt actor { email } } } } } }";
    let organization = global_id("Organization", world.organization);
    for (filter, condition) in [
        (json!({ "action": "chat.delete" }), "action = 'chat.delete'".to_owned()),
        (
            json!({ "actorId": global_id("User", world.member_id) }),
            format!("actor_user_id = '{}'", world.member_id),
        ),
        (
            json!({ "resourceType": "chat", "resourceId": "r1" }),
            "resource_type = 'chat' AND resource_id = 'r1'".to_owned(),
        ),
        (
            json!({ "from": "2026-11-13T00:00:00Z", "to": "2026-11-18T00:00:00Z" }),
            "created_at >= '2026-11-13T00:00:00Z' AND created_at < '2026-11-18T00:00:00Z'".to_owned(),
        ),
    ] {
        let found = data(
            &api,
            &world.owner,
            audit,
            json!({ "id": organization, "filter": filter }),
        )
        .await;
        let expected = names(
            conn,
            &format!(
                "SELECT action || '/' || resource_id AS name FROM audit_logs WHERE organization_id = '{}' AND {condition} \
                 ORDER BY created_at DESC, id DESC",
                world.organization
            ),
        )
        .await;
        assert!(!expected.is_empty());
        let got: Vec<String> = found["node"]["auditLogs"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                format!(
                    "{}/{}",
                    n["action"].as_str().expect("action"),
                    n["resourceId"].as_str().expect("id")
                )
            })
            .collect();
        assert_eq!(got, expected, "{filter}");
    }
}

const USAGE: &str = "query($id: ID!, $filter: UsageFilter, $groupBy: UsageGroupBy) { node(id: $id) { \
    ... on Organization { usageSummary(filter: $filter, groupBy: $groupBy) { ...S } } \
    ... on Project { usageSummary(filter: $filter, groupBy: $groupBy) { ...S } } \
    ... on User { usageSummary(filter: $filter, groupBy: $groupBy) { ...S } } \
    ... on Chat { usageSummary(filter: $filter, groupBy: $groupBy) { ...S } } } } \
    fragment S on UsageSummary { totals { ...T } groups { key totals { ...T } } } \
    fragment T on UsageTotals { requests inputTokens outputTokens totalTokens cost }";

fn totals_text(totals: &Value) -> String {
    ["requests", "inputTokens", "outputTokens", "totalTokens", "cost"]
        .iter()
        .map(|f| totals[f].as_str().expect("string scalar").to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn usage_summaries_match_sql_for_every_owner_and_grouping() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 3).await;
    let conn = &mut db.conn().await;
    let owners = [
        (
            global_id("Organization", world.organization),
            format!("organization_id = '{}'", world.organization),
        ),
        (
            global_id("Project", world.project),
            format!("project_id = '{}'", world.project),
        ),
        (
            global_id("User", world.owner_id),
            format!("user_id = '{}'", world.owner_id),
        ),
        (
            global_id("Chat", world.first_chat),
            format!("chat_id = '{}'", world.first_chat),
        ),
    ];
    let groupings = [
        (None, "NULL"),
        (Some("DAY"), "to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        (Some("MODEL"), "model"),
        (Some("PROVIDER"), "provider"),
        (Some("OPERATION"), "operation"),
    ];
    let filters = [
        (json!(null), "TRUE".to_owned()),
        (
            json!({ "from": "2026-11-05T00:00:00Z", "to": "2026-11-12T00:00:00Z", "provider": "openai" }),
            "requested_at >= '2026-11-05T00:00:00Z' AND requested_at < '2026-11-12T00:00:00Z' AND provider = 'openai'"
                .to_owned(),
        ),
        (
            json!({ "operation": "CHAT", "model": "gpt-4o", "userId": global_id("User", world.member_id) }),
            format!(
                "operation = 'chat' AND model = 'gpt-4o' AND user_id = '{}'",
                world.member_id
            ),
        ),
    ];
    let sums = "count(*)::text || ' ' || coalesce(sum(input_tokens), 0) || ' ' || coalesce(sum(output_tokens), 0) \
                || ' ' || coalesce(sum(total_tokens), 0) || ' ' || coalesce(sum(total_cost), 0)";
    for (id, owner) in &owners {
        for (filter, condition) in &filters {
            for (group_by, key) in &groupings {
                let found = data(
                    &api,
                    &world.owner,
                    USAGE,
                    json!({ "id": id, "filter": filter, "groupBy": group_by }),
                )
                .await;
                let summary = &found["node"]["usageSummary"];
                let total = names(
                    conn,
                    &format!("SELECT {sums} AS name FROM usage_events WHERE {owner} AND {condition}"),
                )
                .await;
                assert_eq!(
                    totals_text(&summary["totals"]),
                    total[0],
                    "{owner} {condition} {group_by:?}"
                );
                let got: Vec<String> = summary["groups"]
                    .as_array()
                    .expect("groups")
                    .iter()
                    .map(|g| format!("{}: {}", g["key"].as_str().expect("key"), totals_text(&g["totals"])))
                    .collect();
                if group_by.is_none() {
                    assert!(got.is_empty());
                } else {
                    let expected = names(
                        conn,
                        &format!(
                            "SELECT {key} || ': ' || {sums} AS name FROM usage_events WHERE {owner} AND {condition} \
                             GROUP BY {key} ORDER BY {key}"
                        ),
                    )
                    .await;
                    assert_eq!(got, expected, "{owner} {condition} {group_by:?}");
                }
            }
        }
    }
    // Usage needs usage.read: the viewer and outsiders see zero, the member sees the project.
    let project = &owners[1].0;
    for (caller, requests) in [(&world.viewer, "0"), (&world.outsider, ""), (&world.member, "60")] {
        let (_, body) = api.run(Some(caller), USAGE, json!({ "id": project })).await;
        let got = body["data"]["node"]["usageSummary"]["totals"]["requests"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert_eq!(got, requests, "{body}");
    }
    // Nobody else's personal usage: the member asking for the owner's.
    let (_, body) = api.run(Some(&world.member), USAGE, json!({ "id": owners[2].0 })).await;
    assert!(
        body["data"]["node"].is_null(),
        "another user is not a node for the member: {body}"
    );
}

#[tokio::test]
async fn quota_and_feedback_aggregates_match_sql() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 3).await;
    let conn = &mut db.conn().await;
    let query = "query($id: ID!) { node(id: $id) { ... on Project { quota { period resetAt \
        tokens { limit used remaining percentUsed exceeded } requests { limit used remaining percentUsed exceeded } } \
        assistants(first: 10) { nodes { name feedbackSummary { upvotes downvotes ratings averageRating comments } } } } } }";
    let found = data(
        &api,
        &world.viewer,
        query,
        json!({ "id": global_id("Project", world.project) }),
    )
    .await;
    let quota = &found["node"]["quota"];
    assert_eq!(
        quota["tokens"],
        json!({ "limit": "1000", "used": "250", "remaining": "750", "percentUsed": 25.0, "exceeded": false })
    );
    assert_eq!(
        quota["requests"],
        json!({ "limit": null, "used": "40", "remaining": null, "percentUsed": null, "exceeded": false })
    );
    assert_eq!(quota["resetAt"], "2026-12-01T00:00:00+00:00");

    let counts = "count(*) FILTER (WHERE is_upvoted) || ' ' || count(*) FILTER (WHERE NOT is_upvoted) || ' ' || \
                  count(rating) || ' ' || coalesce(round(avg(rating), 4)::text, 'null') || ' ' || count(comment)";
    let text = |s: &Value| {
        format!(
            "{} {} {} {} {}",
            s["upvotes"],
            s["downvotes"],
            s["ratings"],
            s["averageRating"]
                .as_f64()
                .map_or("null".to_owned(), |a| format!("{a:.4}")),
            s["comments"]
        )
    };
    // Per assistant: the first chat has no assistant, so nothing yet; give it one.
    execute(
        conn,
        &format!(
            "UPDATE chats SET assistant_id = '{}' WHERE id = '{}'",
            world.assistant, world.first_chat
        ),
    )
    .await;
    let found = data(
        &api,
        &world.owner,
        query,
        json!({ "id": global_id("Project", world.project) }),
    )
    .await;
    let expected = names(
        conn,
        &format!(
            "SELECT {counts} AS name FROM message_feedback f JOIN chats c ON c.id = f.chat_id WHERE c.assistant_id = '{}'",
            world.assistant
        ),
    )
    .await;
    assert_eq!(
        text(&found["node"]["assistants"]["nodes"][0]["feedbackSummary"]),
        expected[0]
    );
    assert_ne!(expected[0], "0 0 0 null 0", "the generated data has feedback");

    let messages = "query($id: ID!) { node(id: $id) { ... on Chat { messages(first: 100) { nodes { uuid \
        feedbackSummary { upvotes downvotes ratings averageRating comments } viewerFeedback { isUpvoted rating } \
        feedback(first: 10) { totalCount } } } } } }";
    let found = data(
        &api,
        &world.member,
        messages,
        json!({ "id": global_id("Chat", world.first_chat) }),
    )
    .await;
    let mut voted = 0;
    for message in found["node"]["messages"]["nodes"].as_array().expect("messages") {
        let id = message["uuid"].as_str().expect("uuid");
        let expected = names(
            conn,
            &format!("SELECT {counts} AS name FROM message_feedback WHERE message_id = '{id}'"),
        )
        .await;
        assert_eq!(text(&message["feedbackSummary"]), expected[0], "message {id}");
        let total: i64 = expected[0]
            .split(' ')
            .take(2)
            .map(|n| n.parse::<i64>().expect("n"))
            .sum();
        assert_eq!(message["feedback"]["totalCount"], json!(total));
        if total > 0 {
            voted += 1;
            assert_eq!(
                message["viewerFeedback"],
                json!({ "isUpvoted": false, "rating": 2 }),
                "the member's own vote"
            );
        } else {
            assert!(message["viewerFeedback"].is_null());
        }
    }
    assert_eq!(voted, 2);
}

#[tokio::test]
async fn permission_bound_lists_show_only_to_holders() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 3).await;
    let query = "query($id: ID!) { node(id: $id) { ... on Project { \
        usageEvents(first: 1) { totalCount } auditLogs(first: 1) { totalCount } jobs(first: 1) { totalCount } \
        webhookSubscriptions(first: 1) { totalCount } members(first: 10) { totalCount nodes { user { email } role { name } } } \
        documents(first: 1) { totalCount } settings { id } } } }";
    let project = global_id("Project", world.project);
    let counts = |data: &Value| {
        let p = &data["node"];
        [
            &p["usageEvents"],
            &p["auditLogs"],
            &p["jobs"],
            &p["webhookSubscriptions"],
            &p["members"],
            &p["documents"],
        ]
        .iter()
        .map(|c| c["totalCount"].as_i64().expect("count"))
        .collect::<Vec<_>>()
    };
    // usage, audit, jobs, webhooks, members, documents
    let owner = data(&api, &world.owner, query, json!({ "id": project })).await;
    assert_eq!(counts(&owner), vec![60, 12, 8, 1, 2, 9]);
    let member = data(&api, &world.member, query, json!({ "id": project })).await;
    assert_eq!(counts(&member), vec![60, 0, 0, 0, 2, 9]);
    let viewer = data(&api, &world.viewer, query, json!({ "id": project })).await;
    assert_eq!(counts(&viewer), vec![0, 0, 0, 0, 2, 9]);
    let roles: Vec<String> = viewer["node"]["members"]["nodes"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            format!(
                "{} {}",
                m["user"]["email"].as_str().expect("email"),
                m["role"]["name"].as_str().expect("role")
            )
        })
        .collect();
    assert_eq!(roles, vec!["member@g.example member", "viewer@g.example viewer"]);
    let outsider = data(&api, &world.outsider, query, json!({ "id": project })).await;
    assert!(outsider["node"].is_null(), "an outsider does not see the project");

    // Organization-level lists need the organization's permission: the project member has
    // usage.read in the project only.
    let organization_query = "query($id: ID!) { node(id: $id) { ... on Organization { \
        usageEvents(first: 1) { totalCount } auditLogs(first: 1) { totalCount } members(first: 5) { totalCount } } } }";
    let organization = global_id("Organization", world.organization);
    let found = data(&api, &world.owner, organization_query, json!({ "id": organization })).await;
    assert_eq!(
        [
            &found["node"]["usageEvents"],
            &found["node"]["auditLogs"],
            &found["node"]["members"]
        ]
        .map(|c| c["totalCount"].as_i64().expect("count")),
        [60, 12, 1]
    );
    let found = data(&api, &world.member, organization_query, json!({ "id": organization })).await;
    assert_eq!(
        [&found["node"]["usageEvents"], &found["node"]["auditLogs"]].map(|c| c["totalCount"].as_i64().expect("count")),
        [0, 0]
    );
}

#[tokio::test]
async fn every_new_type_is_a_node_for_whom_may_see_it() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 3).await;
    let conn = &mut db.conn().await;
    let project = format!("project_id = '{}'", world.project);
    let one = |table: &str, condition: &str| {
        format!("SELECT id::text AS name FROM {table} WHERE {condition} ORDER BY id LIMIT 1")
    };
    let mut ids: Vec<(Value, &str, bool)> = Vec::new();
    for (type_name, table, viewer_sees) in [
        ("Assistant", "assistants", true),
        ("Datasource", "datasources", true),
        ("Document", "documents", true),
        ("DocumentChunk", "document_chunks", true),
        ("Job", "jobs", false),
        ("WebhookSubscription", "webhook_subscriptions", false),
        ("AuditLog", "audit_logs", false),
        ("UsageEvent", "usage_events", false),
        ("MessageFeedback", "message_feedback", true),
        ("Role", "roles", true),
        ("Permission", "permissions", true),
    ] {
        let condition = match table {
            "roles" | "permissions" | "message_feedback" => "TRUE",
            _ => &project,
        };
        let id: Uuid = names(conn, &one(table, condition)).await[0].parse().expect("uuid");
        ids.push((json!(global_id(type_name, id)), type_name, viewer_sees));
    }
    ids.push((
        json!(global_id("ProjectSettings", world.project)),
        "ProjectSettings",
        true,
    ));
    ids.push((json!(global_id("ProjectQuota", world.project)), "ProjectQuota", true));
    let member = chatgraph::graphql::node::composite_id("ProjectMember", world.project, world.member_id);
    ids.push((json!(member), "ProjectMember", true));
    let query = "query($id: ID!) { node(id: $id) { id __typename } }";
    for (id, type_name, viewer_sees) in &ids {
        let owner = data(&api, &world.owner, query, json!({ "id": id })).await;
        assert_eq!(owner["node"]["id"], *id, "{type_name} for the owner");
        let viewer = data(&api, &world.viewer, query, json!({ "id": id })).await;
        assert_eq!(!viewer["node"].is_null(), *viewer_sees, "{type_name} for the viewer");
        let outsider = data(&api, &world.outsider, query, json!({ "id": id })).await;
        let public = ["Role", "Permission"].contains(type_name);
        assert_eq!(!outsider["node"].is_null(), public, "{type_name} for an outsider");
    }

    // Artifact versions: one id per version, and the versions connection lists them all.
    let artifact = Uuid::now_v7();
    execute(
        conn,
        &format!(
            "INSERT INTO artifacts (id, created_at, project_id, chat_id, user_id, title, kind, content) VALUES \
             ('{artifact}', '2026-11-20T10:00:00Z', '{p}', '{c}', '{u}', 'Plan', 'text', 'v1'), \
             ('{artifact}', '2026-11-21T10:00:00Z', '{p}', '{c}', '{u}', 'Plan', 'text', 'v2')",
            p = world.project,
            c = world.first_chat,
            u = world.owner_id
        ),
    )
    .await;
    let found = data(
        &api,
        &world.viewer,
        "query($id: ID!) { node(id: $id) { ... on Project { artifacts(first: 5) { totalCount nodes { id content \
         versions(first: 5) { nodes { id content } } } } } } }",
        json!({ "id": global_id("Project", world.project) }),
    )
    .await;
    let artifacts = &found["node"]["artifacts"];
    assert_eq!(artifacts["totalCount"], 1, "one artifact, its latest version");
    assert_eq!(artifacts["nodes"][0]["content"], "v2");
    let versions = &artifacts["nodes"][0]["versions"]["nodes"];
    assert_eq!(
        field_of(&artifacts["nodes"][0]["versions"], "content"),
        vec!["v1", "v2"]
    );
    let first_version = versions[0]["id"].clone();
    assert_ne!(first_version, versions[1]["id"]);
    let node = data(
        &api,
        &world.viewer,
        "query($id: ID!) { node(id: $id) { ... on Artifact { content } } }",
        json!({ "id": first_version }),
    )
    .await;
    assert_eq!(node["node"]["content"], "v1");
    let node = data(&api, &world.outsider, query, json!({ "id": first_version })).await;
    assert!(node["node"].is_null());
}

/// A wide query over most of the graph.
const WIDE: &str = "{ organizations(first: 2) { nodes { name members(first: 10) { nodes { user { email } role { name permissions { name } } } } \
    usageSummary(groupBy: MODEL) { totals { requests } } \
    projects(first: 2) { nodes { name settings { enabledModels } quota { tokens { percentUsed } } \
      assistants(first: 10) { nodes { name feedbackSummary { upvotes } } } \
      documents(first: 10) { nodes { title datasource { name } chunks(first: 3) { nodes { chunkIndex } } } } \
      usageSummary(groupBy: DAY) { totals { cost } } \
      chats(first: 100) { totalCount nodes { title owner { email } assistant { name } streams { status } attachments { id } \
        totalCost usageSummary { totals { requests } } \
        messages(first: 20) { nodes { content author { email } feedbackSummary { upvotes } viewerFeedback { rating } \
          feedback(first: 5) { totalCount } attachments { id } stream { status } } } } } } } } } }";

#[tokio::test]
async fn a_wide_query_runs_as_many_statements_at_every_data_size() {
    let db = TestDb::migrated().await;
    let counter = StatementCounter::default();
    let pool = pool_with_counter(&db.url, 4, Duration::from_secs(30), Some(counter.clone())).expect("pool");
    // No loader delay (the default): each loader batches the keys of one scheduling round.
    let state = crate::support::app_state(
        pool,
        authenticator(),
        crate::support::file_store(&crate::support::files_dir()),
    );
    let api = Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    };
    let world = build(&db, &api, 1).await;
    let conn = &mut db.conn().await;
    // The first chat has every kind of reference the others will have.
    execute(
        conn,
        &format!(
            "UPDATE chats SET assistant_id = '{}' WHERE project_id = '{}'",
            world.assistant, world.project
        ),
    )
    .await;
    let mut counts = Vec::new();
    let mut chats_so_far = 1;
    for chats in [1, 10, 60] {
        let more = chats - chats_so_far;
        chats_so_far = chats;
        // More chats, each with messages and feedback, so every level has rows.
        execute(
            conn,
            &format!(
                "WITH c AS (INSERT INTO chats (project_id, user_id, title, visibility, assistant_id)                    SELECT '{p}', '{u}', 'more ' || g, 'project', '{a}' FROM generate_series(1, {more}) g RETURNING id),                  m AS (INSERT INTO messages (chat_id, user_id, role, content)                    SELECT c.id, '{u}', 'user', 'hello ' || g FROM c, generate_series(1, 3) g RETURNING id, chat_id)                  INSERT INTO message_feedback (message_id, chat_id, user_id, is_upvoted) SELECT id, chat_id, '{u}', true FROM m",
                p = world.project,
                u = world.owner_id,
                a = world.assistant
            ),
        )
        .await;
        let before = counter.count();
        let (_, body) = api.run(Some(&world.owner), WIDE, json!({})).await;
        let statements = counter.since(before);
        assert!(body["errors"].is_null(), "{body}");
        let organizations = body["data"]["organizations"]["nodes"]
            .as_array()
            .expect("organizations");
        let g = organizations.iter().find(|o| o["name"] == "Org g").expect("org g");
        assert_eq!(g["projects"]["nodes"][0]["chats"]["totalCount"], json!(chats));
        counts.push(statements.len());
    }
    println!("SQL statements of the wide query at 1, 10 and 60 chats: {counts:?}");
    // One statement per loader and wave of the query plan: 1 to authenticate the caller, 31
    // for the waves of the query (the caller's rights are checked inside them). Two waves of one loader (users as members and as
    // chat owners) may happen to fall into one round and save a statement; per row there is
    // never one more.
    let waves = 1 + 31;
    assert!(
        counts.iter().all(|&count| count <= waves && count + 1 >= waves),
        "statement counts at 1, 10 and 60 chats: {counts:?}"
    );
}

#[tokio::test]
async fn the_viewer_lists_organizations_projects_and_chats_as_connections() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let world = build(&db, &api, 12).await;
    let conn = &mut db.conn().await;
    let query = "{ viewer { organizations(first: 10) { totalCount nodes { slug } } \
        projects(first: 10) { totalCount nodes { name } } chats(first: 100) { totalCount nodes { title } } } }";
    let owner = data(&api, &world.owner, query, json!({})).await;
    let slugs = field_of(&owner["viewer"]["organizations"], "slug");
    assert_eq!(slugs.len(), 2, "personal and G: {slugs:?}");
    assert!(slugs.contains(&"g".to_owned()));
    let projects = field_of(&owner["viewer"]["projects"], "name");
    assert!(
        projects.contains(&"P".to_owned()),
        "the owner reads every project of G: {projects:?}"
    );
    let expected = names(
        conn,
        &format!(
            "SELECT title AS name FROM chats WHERE user_id = '{}' \
             ORDER BY coalesce(last_message_at, created_at) DESC, id DESC",
            world.owner_id
        ),
    )
    .await;
    assert_eq!(field_of(&owner["viewer"]["chats"], "title"), expected);

    // The member works in P (project membership) without belonging to G.
    let member = data(&api, &world.member, query, json!({})).await;
    assert!(field_of(&member["viewer"]["projects"], "name").contains(&"P".to_owned()));
    assert_eq!(
        member["viewer"]["organizations"]["totalCount"], 1,
        "only the personal one"
    );

    // A public chat read anonymously: its messages, but not who wrote them.
    execute(
        conn,
        &format!(
            "UPDATE chats SET visibility = 'public' WHERE id = '{}'",
            world.first_chat
        ),
    )
    .await;
    let chat = "query($id: ID!) { node(id: $id) { ... on Chat { owner { email } messages(first: 100) { nodes { author { email } } } } } }";
    let (_, body) = api
        .run(None, chat, json!({ "id": global_id("Chat", world.first_chat) }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["node"]["owner"].is_null(), "{body}");
    let authors = body["data"]["node"]["messages"]["nodes"].as_array().expect("messages");
    assert!(
        !authors.is_empty() && authors.iter().all(|m| m["author"].is_null()),
        "{body}"
    );
    let signed_in = data(
        &api,
        &world.viewer,
        chat,
        json!({ "id": global_id("Chat", world.first_chat) }),
    )
    .await;
    assert_eq!(signed_in["node"]["owner"]["email"], "owner@g.example");
}
