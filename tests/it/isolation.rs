//! Tenant isolation: for every root field, every `node(id)` type and every nested list, a
//! caller sees exactly what the rules of `auth::authz` allow, through the HTTP endpoint.

use chatgraph::{
    db::enums::{ChatVisibility, RoleScope},
    graphql::node::global_id,
    models::{
        chat::NewChat,
        organization::NewOrganizationMember,
        project::NewProjectMember,
        role::RoleRow,
        user::{UserPatch, UserRow},
    },
};
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    support::TestDb,
    support::fixtures,
    support::{Api, token},
};

struct World {
    org_a: Uuid,
    org_b: Uuid,
    project_a1: Uuid,
    project_a2: Uuid,
    project_b1: Uuid,
    /// Chat title → (chat id, id of its message).
    chats: Vec<(&'static str, Uuid, Uuid)>,
}

async fn user_id(conn: &mut AsyncPgConnection, email: &str) -> Uuid {
    UserRow::find_by_email(conn, email)
        .await
        .expect("find")
        .expect("user")
        .id
}

async fn role(conn: &mut AsyncPgConnection, scope: RoleScope, name: &str) -> Uuid {
    RoleRow::find_by_name(conn, scope, name).await.expect("role").id
}

/// Organization A (alice owner, carol member of project A1 only) and B (bob owner), with
/// private, project and public chats.
async fn build(conn: &mut AsyncPgConnection) -> World {
    let (alice, bob, carol) = (
        user_id(conn, "alice@a.example").await,
        user_id(conn, "bob@b.example").await,
        user_id(conn, "carol@a.example").await,
    );
    let org_a = fixtures::organization("org-a").insert(conn).await.expect("org a").id;
    let org_b = fixtures::organization("org-b").insert(conn).await.expect("org b").id;
    let (owner, member) = (
        role(conn, RoleScope::Organization, "owner").await,
        role(conn, RoleScope::Organization, "member").await,
    );
    for (organization_id, user_id, role_id) in [(org_a, alice, owner), (org_a, carol, member), (org_b, bob, owner)] {
        NewOrganizationMember {
            organization_id,
            user_id,
            role_id,
            invited_by: None,
        }
        .insert(conn)
        .await
        .expect("member");
    }
    let project_a1 = fixtures::project(org_a, "A1").insert(conn).await.expect("a1").id;
    let project_a2 = fixtures::project(org_a, "A2").insert(conn).await.expect("a2").id;
    let project_b1 = fixtures::project(org_b, "B1").insert(conn).await.expect("b1").id;
    let viewer = role(conn, RoleScope::Project, "viewer").await;
    NewProjectMember {
        project_id: project_a1,
        user_id: carol,
        role_id: viewer,
        added_by: None,
    }
    .insert(conn)
    .await
    .expect("carol in a1");
    let specs = [
        ("a1 alice private", project_a1, alice, ChatVisibility::Private),
        ("a1 carol private", project_a1, carol, ChatVisibility::Private),
        ("a1 shared", project_a1, alice, ChatVisibility::Project),
        ("a1 public", project_a1, alice, ChatVisibility::Public),
        ("a2 shared", project_a2, alice, ChatVisibility::Project),
        ("b1 private", project_b1, bob, ChatVisibility::Private),
        ("b1 shared", project_b1, bob, ChatVisibility::Project),
        ("b1 public", project_b1, bob, ChatVisibility::Public),
    ];
    let mut chats = Vec::new();
    for (title, project_id, owner, visibility) in specs {
        let chat = NewChat {
            title: title.into(),
            visibility,
            ..fixtures::chat(project_id, owner)
        }
        .insert(conn)
        .await
        .expect("chat");
        let message = fixtures::message(chat.id, Some(owner), title)
            .insert(conn)
            .await
            .expect("message");
        chats.push((title, chat.id, message.id));
    }
    World {
        org_a,
        org_b,
        project_a1,
        project_a2,
        project_b1,
        chats,
    }
}

const TREE: &str = "{ organizations(first: 10) { totalCount nodes { slug projects(first: 10) { totalCount nodes { name \
    chats(first: 50) { totalCount nodes { title messages(first: 20) { totalCount nodes { content } } } } } } } } }";

/// The nodes of a connection; its `totalCount` must count exactly what the caller sees.
fn nodes<'a>(connection: &'a Value, what: &str) -> &'a Vec<Value> {
    let nodes = connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {connection}"));
    assert_eq!(
        connection["totalCount"].as_u64(),
        Some(nodes.len() as u64),
        "{what} totalCount"
    );
    nodes
}

/// Every (organization slug, project name, chat title, message) path the caller can walk, ignoring personal workspaces.
fn paths(body: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    for org in nodes(&body["data"]["organizations"], "organizations") {
        let slug = org["slug"].as_str().unwrap_or_default();
        if slug.starts_with("personal-") {
            continue;
        }
        paths.push(slug.to_owned());
        for project in nodes(&org["projects"], "projects") {
            let name = format!("{slug}/{}", project["name"].as_str().unwrap_or_default());
            paths.push(name.clone());
            for chat in nodes(&project["chats"], "chats") {
                let title = chat["title"].as_str().unwrap_or_default();
                let messages = nodes(&chat["messages"], "messages").len();
                paths.push(format!("{name}/{title} ({messages})"));
            }
        }
    }
    paths.sort();
    paths
}

/// Which of the world's objects `node(id)` returns for the caller.
async fn visible_nodes(api: &Api, token: Option<&str>, world: &World) -> Vec<String> {
    let mut ids = vec![
        ("org a".to_owned(), global_id("Organization", world.org_a)),
        ("org b".to_owned(), global_id("Organization", world.org_b)),
        ("a1".to_owned(), global_id("Project", world.project_a1)),
        ("a2".to_owned(), global_id("Project", world.project_a2)),
        ("b1".to_owned(), global_id("Project", world.project_b1)),
    ];
    for (title, chat, message) in &world.chats {
        ids.push(((*title).to_owned(), global_id("Chat", *chat)));
        ids.push((format!("{title} message"), global_id("Message", *message)));
    }
    let mut seen = Vec::new();
    for (name, id) in ids {
        let (status, body) = api
            .run(token, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.get("errors").is_none(),
            "hidden objects are null, not errors: {body}"
        );
        if !body["data"]["node"].is_null() {
            seen.push(name);
        }
    }
    seen
}

/// The API over the world, with the access token of each of its people (root is a
/// platform admin).
async fn world_with_callers(db: &TestDb) -> (Api, World, std::collections::HashMap<&'static str, String>) {
    let api = Api::new(db).await;
    let mut tokens = std::collections::HashMap::new();
    for email in [
        "alice@a.example",
        "bob@b.example",
        "carol@a.example",
        "root@example.com",
    ] {
        tokens.insert(email, token(&api.sign_up(email).await, "accessToken"));
    }
    let conn = &mut db.conn().await;
    let world = build(conn).await;
    let root = user_id(conn, "root@example.com").await;
    UserPatch {
        is_platform_admin: Some(true),
        ..Default::default()
    }
    .apply(conn, root)
    .await
    .expect("admin");
    (api, world, tokens)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| (*i).to_owned()).collect()
}

#[tokio::test]
async fn every_caller_sees_exactly_what_the_rules_allow() {
    let db = TestDb::migrated().await;
    let (api, world, tokens) = world_with_callers(&db).await;
    let tree = |who: Option<&'static str>| {
        let token = who.map(|w| tokens[w].clone());
        let api = &api;
        async move { paths(&api.run(token.as_deref(), TREE, json!({})).await.1) }
    };
    let s = strings;

    assert_eq!(tree(None).await, Vec::<String>::new(), "anonymous callers list nothing");
    assert_eq!(
        tree(Some("alice@a.example")).await,
        s(&[
            "org-a",
            "org-a/A1",
            "org-a/A1/a1 alice private (1)",
            "org-a/A1/a1 public (1)",
            "org-a/A1/a1 shared (1)",
            "org-a/A2",
            "org-a/A2/a2 shared (1)"
        ])
    );
    assert_eq!(
        tree(Some("carol@a.example")).await,
        s(&[
            "org-a",
            "org-a/A1",
            "org-a/A1/a1 carol private (1)",
            "org-a/A1/a1 public (1)",
            "org-a/A1/a1 shared (1)"
        ]),
        "an organization member sees only the projects they belong to, and no one else's private chat"
    );
    assert_eq!(
        tree(Some("bob@b.example")).await,
        s(&[
            "org-b",
            "org-b/B1",
            "org-b/B1/b1 private (1)",
            "org-b/B1/b1 public (1)",
            "org-b/B1/b1 shared (1)"
        ])
    );
    let admin = tree(Some("root@example.com")).await;
    assert!(
        admin.contains(&"org-a/A1/a1 carol private (1)".to_owned())
            && admin.contains(&"org-b/B1/b1 private (1)".to_owned())
    );

    let anonymous = visible_nodes(&api, None, &world).await;
    assert_eq!(
        anonymous,
        s(&["a1 public", "a1 public message", "b1 public", "b1 public message"])
    );
    let bob = visible_nodes(&api, Some(&tokens["bob@b.example"]), &world).await;
    assert_eq!(
        bob,
        s(&[
            "org b",
            "b1",
            "a1 public",
            "a1 public message",
            "b1 private",
            "b1 private message",
            "b1 shared",
            "b1 shared message",
            "b1 public",
            "b1 public message"
        ])
    );
    let carol = visible_nodes(&api, Some(&tokens["carol@a.example"]), &world).await;
    assert_eq!(
        carol,
        s(&[
            "org a",
            "a1",
            "a1 carol private",
            "a1 carol private message",
            "a1 shared",
            "a1 shared message",
            "a1 public",
            "a1 public message",
            "b1 public",
            "b1 public message"
        ])
    );
    let root_nodes = visible_nodes(&api, Some(&tokens["root@example.com"]), &world).await;
    assert_eq!(
        root_nodes.len(),
        5 + 2 * world.chats.len(),
        "a platform admin sees everything"
    );
}

#[tokio::test]
async fn deleted_places_are_gone_from_every_read_path_for_everyone() {
    // The review's finding: public chats, with their messages and feedback, stayed readable
    // and votable after their project or organization was deleted.
    let db = TestDb::migrated().await;
    let (api, world, tokens) = world_with_callers(&db).await;
    let public_a1 = world.chats.iter().find(|c| c.0 == "a1 public").expect("a1 public");
    let (_, body) = api
        .run(
            Some(&tokens["alice@a.example"]),
            "mutation($input: ProjectLifecycleInput!) { deleteProject(input: $input) { deletedProjectId } }",
            json!({ "input": { "id": global_id("Project", world.project_a1) } }),
        )
        .await;
    assert!(body["data"]["deleteProject"]["deletedProjectId"].is_string(), "{body}");
    let (_, body) = api
        .run(
            Some(&tokens["bob@b.example"]),
            "mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { deletedOrganizationId } }",
            json!({ "input": { "id": global_id("Organization", world.org_b) } }),
        )
        .await;
    assert!(
        body["data"]["deleteOrganization"]["deletedOrganizationId"].is_string(),
        "{body}"
    );

    // node(id), for every kind of caller: nothing of A1 or of organization B is left.
    assert_eq!(visible_nodes(&api, None, &world).await, Vec::<String>::new());
    assert_eq!(
        visible_nodes(&api, Some(&tokens["carol@a.example"]), &world).await,
        strings(&["org a"])
    );
    assert_eq!(
        visible_nodes(&api, Some(&tokens["bob@b.example"]), &world).await,
        Vec::<String>::new()
    );
    assert_eq!(
        visible_nodes(&api, Some(&tokens["root@example.com"]), &world).await,
        strings(&["org a", "a2", "a2 shared", "a2 shared message"]),
        "not even a platform admin reads a deleted place"
    );
    // Lists and nested lists.
    let (_, body) = api.run(Some(&tokens["root@example.com"]), TREE, json!({})).await;
    let listed = paths(&body);
    assert!(
        listed.iter().all(|p| !p.contains("A1") && !p.contains("org-b")),
        "{listed:?}"
    );
    // Writes: the public message can no longer be voted on, by anyone.
    for who in ["bob@b.example", "carol@a.example", "root@example.com"] {
        let (_, body) = api
            .run(
                Some(&tokens[who]),
                "mutation($input: VoteMessageInput!) { voteMessage(input: $input) { userErrors { code } } }",
                json!({ "input": { "messageId": global_id("Message", public_a1.2), "vote": "UP" } }),
            )
            .await;
        assert_eq!(crate::support::code(&body), "NOT_FOUND", "{who}: {body}");
    }
}

#[tokio::test]
async fn an_api_token_narrowed_to_an_organization_sees_nothing_outside_it() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let session = token(&api.sign_up("alice@a.example").await, "accessToken");
    for email in ["bob@b.example", "carol@a.example"] {
        api.sign_up(email).await;
    }
    let conn = &mut db.conn().await;
    let world = build(conn).await;
    let alice = user_id(conn, "alice@a.example").await;
    let owner = role(conn, RoleScope::Organization, "owner").await;
    NewOrganizationMember {
        organization_id: world.org_b,
        user_id: alice,
        role_id: owner,
        invited_by: None,
    }
    .insert(conn)
    .await
    .expect("alice also in b");

    let (_, all) = api.run(Some(&session), TREE, json!({})).await;
    assert!(
        paths(&all).contains(&"org-b".to_owned()),
        "her session sees both organizations"
    );
    let create = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }";
    let (_, body) = api
        .run(
            Some(&session),
            create,
            json!({ "input": { "name": "a only", "organizationId": global_id("Organization", world.org_a) } }),
        )
        .await;
    let narrowed = body["data"]["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (_, only_a) = api.run(Some(&narrowed), TREE, json!({})).await;
    assert!(
        paths(&only_a).iter().all(|p| p.starts_with("org-a")),
        "{:?}",
        paths(&only_a)
    );
    assert!(paths(&only_a).contains(&"org-a/A1".to_owned()));
    let (_, body) = api
        .run(
            Some(&narrowed),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": global_id("Project", world.project_b1) }),
        )
        .await;
    assert_eq!(body["data"]["node"], Value::Null);
    let (_, body) = api
        .run(
            Some(&narrowed),
            "{ viewer { organizations { nodes { slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["viewer"]["organizations"]["nodes"],
        json!([{ "slug": "org-a" }])
    );

    // Her usage: two calls in a, one in b; the narrowed token reads a's only.
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        &format!(
            "INSERT INTO usage_events (organization_id, user_id, operation, provider, model) VALUES \
             ('{a}', '{alice}', 'chat', 'offline', 'offline'), ('{a}', '{alice}', 'chat', 'offline', 'offline'), \
             ('{b}', '{alice}', 'chat', 'offline', 'offline')",
            a = world.org_a,
            b = world.org_b
        ),
    )
    .await
    .expect("usage");
    let usage = "{ viewer { usageSummary { totals { requests } } } }";
    let requests = |body: &Value| body["data"]["viewer"]["usageSummary"]["totals"]["requests"].clone();
    assert_eq!(requests(&api.run(Some(&session), usage, json!({})).await.1), json!("3"));
    assert_eq!(
        requests(&api.run(Some(&narrowed), usage, json!({})).await.1),
        json!("2")
    );

    // Her tokens and sessions: the narrowed token sees the tokens of a only, no sessions.
    api.run(Some(&session), create, json!({ "input": { "name": "everywhere" } }))
        .await;
    let mine = "{ viewer { apiTokens { name } sessions { id } } }";
    let (_, body) = api.run(Some(&session), mine, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["apiTokens"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    let (_, body) = api.run(Some(&narrowed), mine, json!({})).await;
    assert_eq!(
        body["data"]["viewer"],
        json!({ "apiTokens": [{ "name": "a only" }], "sessions": [] }),
        "{body}"
    );

    // And it writes nowhere else: not in b, not a new organization.
    let (_, body) = api
        .run(
            Some(&narrowed),
            "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }",
            json!({ "input": { "organizationId": global_id("Organization", world.org_b), "name": "Elsewhere" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let (_, body) = api
        .run(
            Some(&narrowed),
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
            json!({ "input": { "name": "Mine", "slug": "mine" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
}
