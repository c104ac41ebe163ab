//! Relay connections: walking a list forwards and backwards with every page size visits each
//! row exactly once, in the order SQL gives; cursors belong to their list; and a nested query
//! (organizations → projects → chats → messages) runs the same number of SQL statements
//! whatever the amount of data (no N+1).

use std::time::Duration;

use chatgraph::{
    db::{StatementCounter, pool_with_counter},
    models::user::{UserPatch, UserRow},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::{
    support::fixtures,
    support::{Api, token},
    support::{TestDb, authenticator, code, http_settings, names, serve_state},
};

const PAGE: &str = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { node(id: $id) { \
    ... on Project { chats(first: $first, after: $after, last: $last, before: $before) { totalCount \
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor } edges { cursor node { title } } } } } }";

async fn execute(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).await.expect(sql);
}

/// An admin caller and a project with `n` chats, some with messages (so the order mixes
/// last-message and creation times).
async fn project_with_chats(db: &TestDb, api: &Api, n: usize) -> (String, Value) {
    let admin = token(&api.sign_up("root@example.com").await, "accessToken");
    let conn = &mut db.conn().await;
    let user = UserRow::find_by_email(conn, "root@example.com")
        .await
        .expect("find")
        .expect("root");
    UserPatch {
        is_platform_admin: Some(true),
        ..Default::default()
    }
    .apply(conn, user.id)
    .await
    .expect("admin");
    let organization = fixtures::organization("paged")
        .insert(conn)
        .await
        .expect("organization");
    let project = fixtures::project(organization.id, "Paged")
        .insert(conn)
        .await
        .expect("project");
    execute(
        conn,
        &format!(
            "INSERT INTO chats (id, project_id, user_id, title, visibility, created_at, last_message_at) \
             SELECT gen_random_uuid(), '{}', '{}', 'chat ' || g, 'project', \
                    now() - g * interval '1 minute' - (g % 3) * interval '1 second', \
                    CASE WHEN g % 2 = 0 THEN now() - g * interval '7 seconds' END \
             FROM generate_series(1, {n}) g",
            project.id, user.id
        ),
    )
    .await;
    // Two chats share a sort key exactly: the id breaks the tie.
    execute(conn, "UPDATE chats SET created_at = '2026-01-01T00:00:00Z', last_message_at = NULL WHERE title IN ('chat 3', 'chat 5')").await;
    (admin, json!(chatgraph::graphql::node::global_id("Project", project.id)))
}

#[tokio::test]
async fn walking_a_connection_visits_every_row_once_in_both_directions() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let total = 7;
    let (admin, project) = project_with_chats(&db, &api, total).await;
    let conn = &mut db.conn().await;
    let expected = names(
        conn,
        "SELECT title AS name FROM chats WHERE title LIKE 'chat %' ORDER BY coalesce(last_message_at, created_at) DESC, id DESC",
    )
    .await;
    assert_eq!(expected.len(), total);

    let page = |variables: Value| {
        let (api, admin) = (&api, &admin);
        async move {
            let (_, body) = api.run(Some(admin), PAGE, variables).await;
            body["data"]["node"]["chats"].clone()
        }
    };
    let titles = |chats: &Value| -> Vec<String> {
        chats["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["title"].as_str().expect("title").to_owned())
            .collect()
    };
    for size in 1..=total {
        // Forwards with first/after.
        let (mut seen, mut after, mut pages) = (Vec::new(), Value::Null, 0);
        loop {
            let chats = page(json!({ "id": project, "first": size, "after": after })).await;
            assert_eq!(chats["totalCount"], total, "size {size}: {chats}");
            assert_eq!(chats["pageInfo"]["hasPreviousPage"], pages > 0, "size {size}");
            seen.extend(titles(&chats));
            pages += 1;
            if chats["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = chats["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, expected, "forwards, page size {size}");
        assert_eq!(pages, total.div_ceil(size), "forwards, page size {size}");

        // Backwards with last/before.
        let (mut seen, mut before, mut pages) = (Vec::new(), Value::Null, 0);
        loop {
            let chats = page(json!({ "id": project, "last": size, "before": before })).await;
            assert_eq!(chats["pageInfo"]["hasNextPage"], pages > 0, "size {size}");
            let mut titles = titles(&chats);
            titles.extend(seen);
            seen = titles;
            pages += 1;
            if chats["pageInfo"]["hasPreviousPage"] != true {
                break;
            }
            before = chats["pageInfo"]["startCursor"].clone();
        }
        assert_eq!(seen, expected, "backwards, page size {size}");
    }

    // Between two cursors; past the end; a cursor of another list; sizes out of range.
    let all = page(json!({ "id": project, "first": total })).await;
    let cursors: Vec<Value> = all["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["cursor"].clone())
        .collect();
    let between = page(json!({ "id": project, "first": 10, "after": cursors[1], "before": cursors[5] })).await;
    assert_eq!(titles(&between), expected[2..5]);
    assert_eq!(
        between["pageInfo"],
        json!({ "hasPreviousPage": true, "hasNextPage": true,
        "startCursor": cursors[2], "endCursor": cursors[4] })
    );
    let past_end = page(json!({ "id": project, "first": 3, "after": cursors[total - 1] })).await;
    assert_eq!(
        (past_end["totalCount"].clone(), past_end["edges"].clone()),
        (json!(total), json!([]))
    );
    assert_eq!(past_end["pageInfo"]["hasPreviousPage"], true);
    let (_, body) = api
        .run(
            Some(&admin),
            "{ organizations(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let foreign = body["data"]["organizations"]["pageInfo"]["endCursor"].clone();
    for variables in [
        json!({ "id": project, "first": 2, "after": foreign }),
        json!({ "id": project, "first": 2, "after": "bm90IGEgY3Vyc29y" }),
        json!({ "id": project, "first": 101 }),
        json!({ "id": project, "first": 2, "last": 2 }),
    ] {
        let (_, body) = api.run(Some(&admin), PAGE, variables.clone()).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {body}"
        );
    }
}

const TREE: &str = "{ organizations(first: 5) { totalCount nodes { name projects(first: 5) { totalCount nodes { name \
    chats(first: 100) { totalCount nodes { title messages(first: 20) { totalCount nodes { content } } } } } } } } }";

#[tokio::test]
async fn a_nested_query_runs_as_many_statements_at_every_data_size() {
    let db = TestDb::migrated().await;
    let counter = StatementCounter::default();
    let pool = pool_with_counter(&db.url, 4, Duration::from_secs(30), Some(counter.clone())).expect("pool");
    // No loader delay (the default): the keys of a level are asked for in one poll of the
    // request's task, and each loader batches the keys of one scheduling round.
    let state = crate::support::app_state(
        pool,
        authenticator(),
        crate::support::file_store(&crate::support::files_dir()),
    );
    let api = Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    };
    // The owner of an organization with two projects (an ordinary user, whose rights the
    // statements check), so the largest size loads the messages of 200 chats.
    let owner = token(&api.sign_up("owner@example.com").await, "accessToken");
    let conn = &mut db.conn().await;
    let user = UserRow::find_by_email(conn, "owner@example.com")
        .await
        .expect("find")
        .expect("owner");
    for slug in ["north"] {
        let organization = fixtures::organization(slug).insert(conn).await.expect("organization");
        execute(
            conn,
            &format!(
                "INSERT INTO organization_members (organization_id, user_id, role_id) \
                 SELECT '{}', '{}', id FROM roles WHERE scope = 'organization' AND name = 'owner'",
                organization.id, user.id
            ),
        )
        .await;
        for name in ["one", "two"] {
            fixtures::project(organization.id, name)
                .insert(conn)
                .await
                .expect("project");
        }
    }

    let (mut counts, mut ran) = (Vec::new(), Vec::new());
    let mut chats_so_far = 0;
    for chats_per_project in [1, 10, 100] {
        let more = chats_per_project - chats_so_far;
        chats_so_far = chats_per_project;
        execute(
            conn,
            &format!(
                "WITH new_chats AS ( \
                   INSERT INTO chats (id, project_id, user_id, title, visibility) \
                   SELECT gen_random_uuid(), p.id, '{user}', 'chat', 'project' \
                   FROM projects p CROSS JOIN generate_series(1, {more}) \
                   WHERE p.organization_id IN (SELECT organization_id FROM organization_members WHERE user_id = '{user}') \
                   RETURNING id) \
                 INSERT INTO messages (id, chat_id, role, content) \
                 SELECT gen_random_uuid(), c.id, 'user', 'hello' FROM new_chats c CROSS JOIN generate_series(1, 25)",
                user = user.id
            ),
        )
        .await;
        let before = counter.count();
        let (_, body) = api.run(Some(&owner), TREE, json!({})).await;
        let statements = counter.since(before);
        assert!(body.get("errors").is_none(), "{body}");
        let projects = &body["data"]["organizations"]["nodes"][1]["projects"];
        assert_eq!(projects["totalCount"], 2);
        let chats = &projects["nodes"][0]["chats"];
        assert_eq!(chats["totalCount"], chats_per_project);
        assert_eq!(chats["nodes"][0]["messages"]["totalCount"], 25);
        assert_eq!(
            chats["nodes"][0]["messages"]["nodes"].as_array().map(Vec::len),
            Some(20)
        );
        counts.push(statements.len());
        ran.push(statements);
    }
    println!("SQL statements of the depth-4 query at 1, 10 and 100 chats per project: {counts:?}");
    assert_eq!(counts[0], counts[1], "at 1 and 10 chats per project: {ran:#?}");
    assert_eq!(counts[1], counts[2], "at 10 and 100 chats per project: {ran:#?}");
    // The caller's rights are checked inside each statement: nothing loads them first.
    assert_eq!(
        counts[0], 5,
        "authentication 1 (session and user), one per level 4: {ran:#?}"
    );
}

/// `totalCount(atMost:)` counts no further than asked (an exact count below it), an exact
/// `totalCount` beside it still counts everything, and a cap below 1 is refused.
#[tokio::test]
async fn a_capped_count_stops_at_its_cap() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let (admin, project) = project_with_chats(&db, &api, 12).await;
    let query = "query($id: ID!, $cap: Int) { node(id: $id) { ... on Project { \
        chats(first: 2) { capped: totalCount(atMost: $cap) nodes { title } } } } }";
    for (cap, expected) in [(5, 5), (12, 12), (50, 12), (1, 1)] {
        let (_, body) = api.run(Some(&admin), query, json!({ "id": project, "cap": cap })).await;
        assert_eq!(
            body["data"]["node"]["chats"]["capped"], expected,
            "atMost {cap}: {body}"
        );
        assert_eq!(body["data"]["node"]["chats"]["nodes"].as_array().map(Vec::len), Some(2));
    }
    let both = "query($id: ID!) { node(id: $id) { ... on Project { \
        chats(first: 2) { capped: totalCount(atMost: 3) exact: totalCount } } } }";
    let (_, body) = api.run(Some(&admin), both, json!({ "id": project })).await;
    assert_eq!(body["data"]["node"]["chats"]["capped"], 3, "{body}");
    assert_eq!(body["data"]["node"]["chats"]["exact"], 12, "{body}");
    let (_, body) = api.run(Some(&admin), query, json!({ "id": project, "cap": 0 })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}
