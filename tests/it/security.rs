//! Attacks from the outside review (issue 14), each performed against a real server: the
//! server refuses them with a clear error and keeps serving.

use serde_json::{Value, json};

use crate::{
    support::Api,
    support::{TestDb, code},
    websocket::{connect, init, receive, send},
};

/// `{ nodes(ids: [[[ … "x" … ]]]) { id } }`: 3,000 nested lists, 18 KB, no token.
fn deeply_nested_document() -> String {
    format!(
        "{{ nodes(ids: {}\"x\"{}) {{ id }} }}",
        "[".repeat(3_000),
        "]".repeat(3_000)
    )
}

#[tokio::test]
async fn a_deeply_nested_document_is_refused_before_parsing_and_the_server_keeps_serving() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let document = deeply_nested_document();

    let (status, body) = api.run(None, &document, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("deeper than 64 levels"), "{message}");

    // GET looks at the operation type before executing: it must not parse it either.
    let response = api
        .client
        .get(format!("http://{}/graphql", api.address))
        .query(&[("query", document.as_str())])
        .send()
        .await
        .expect("request");
    let got: Value = response.json().await.expect("json");
    assert_eq!(code(&got), "BAD_USER_INPUT", "{got}");

    // Over WebSocket too: an error for the operation, and the socket stays open.
    let mut socket = connect(&api, "graphql-transport-ws").await;
    assert_eq!(
        init(&mut socket, json!({})).await.expect("ack")["type"],
        "connection_ack"
    );
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": document } }),
    )
    .await;
    let answer = receive(&mut socket).await.expect("an answer");
    assert!(answer.to_string().contains("deeper than 64 levels"), "{answer}");

    // The process is alive: the same server answers a plain query.
    let (status, body) = api.run(None, "{ apiVersion }", json!({})).await;
    assert_eq!((status, body["errors"].is_null()), (200, true), "{body}");
    assert!(body["data"]["apiVersion"].is_string(), "{body}");
}

#[tokio::test]
async fn a_nul_character_anywhere_in_the_input_is_bad_input_not_an_internal_error() {
    // PostgreSQL stores no U+0000 in text or JSON; the review found eleven mutations and a
    // filter answering INTERNAL for one. It is refused at the edge, for everyone alike.
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let sign_in = "mutation($input: SignInInput!) { signIn(input: $input) { userErrors { code } } }";
    let cases = [
        (
            sign_in,
            json!({ "input": { "email": "a\u{0}@example.com", "password": "whatever" } }),
        ),
        (
            "mutation($input: TrackEventsInput!) { trackEvents(input: $input) { accepted } }",
            json!({ "input": { "projectId": "x", "events": [{ "name": "a", "properties": { "k": "v\u{0}" } }] } }),
        ),
        (
            r#"{ viewer { chats(filter: { titleContains: "a\u0000" }) { totalCount } } }"#,
            json!({}),
        ),
    ];
    for (query, variables) in cases {
        let (status, body) = api.run(None, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(
            body["errors"][0]["message"],
            "text may not contain the NUL character (U+0000)"
        );
    }
    // The same input without the NUL goes through to the resolver as usual.
    let (_, body) = api
        .run(
            None,
            sign_in,
            json!({ "input": { "email": "a@example.com", "password": "whatever" } }),
        )
        .await;
    assert_eq!(
        body["data"]["signIn"]["userErrors"][0]["code"], "INVALID_CREDENTIALS",
        "{body}"
    );
}

#[tokio::test]
async fn times_postgresql_cannot_store_select_as_the_earliest_time_does() {
    // The review sent dates before 4713 BC (which PostgreSQL cannot store) to filters and a
    // forged cursor; they came back INTERNAL. A bound before every row selects every row.
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let access = crate::support::token(&api.sign_up("dates@example.com").await, "accessToken");
    let ancient = "-5000-01-01T00:00:00Z";
    let (_, body) = api
        .run(
            Some(&access),
            "query($t: DateTime!) { viewer { projects(first: 1) { nodes { \
               after: chats(filter: { createdAfter: $t }) { totalCount } \
               before: chats(filter: { createdBefore: $t }) { totalCount } } } \
               usageSummary(filter: { to: $t }) { totals { requests } } } }",
            json!({ "t": ancient }),
        )
        .await;
    assert_eq!(body["errors"], Value::Null, "{body}");
    let viewer = &body["data"]["viewer"];
    let project = &viewer["projects"]["nodes"][0];
    assert_eq!(project["after"]["totalCount"], json!(1), "the default chat: {body}");
    assert_eq!(project["before"]["totalCount"], json!(0), "{body}");
    assert_eq!(viewer["usageSummary"]["totals"]["requests"], json!("0"), "{body}");
}

/// An in-process server whose schema lets `introspection` introspect.
async fn server_with(db: &TestDb, introspection: chatgraph::graphql::document_limits::Introspection) -> Api {
    use crate::support::{app_state, authenticator, file_store, files_dir, http_settings, serve_state};
    let mut state = app_state(db.pool(), authenticator(), file_store(&files_dir()));
    state.schema = chatgraph::graphql::schema_with(introspection);
    Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    }
}

#[tokio::test]
async fn aliases_root_fields_and_introspection_are_bounded_for_anonymous_callers() {
    use chatgraph::graphql::document_limits::Introspection;
    let db = TestDb::migrated().await;
    let api = server_with(&db, Introspection::Authenticated).await;

    // 200 aliases of an introspection query: refused before anything runs, small answer.
    let aliased: String = (0..200)
        .map(|i| format!("a{i}: __type(name: \"Query\") {{ name fields {{ name }} }} "))
        .collect();
    let (_, body) = api.run(None, &format!("{{ {aliased} }}"), json!({})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("aliases"))
    );
    assert!(body.to_string().len() < 1_000);

    // 101 root fields through a fragment, without aliases.
    let fields: String = (0..101).map(|_| "apiVersion ").collect();
    let (_, body) = api
        .run(
            None,
            &format!("{{ ...F }} fragment F on Query {{ {fields} }}"),
            json!({}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("root fields")),
        "{body}"
    );

    // Introspection: only when signed in; __typename always; the SDL stays public.
    let introspect = "{ __schema { queryType { name } } }";
    let (_, body) = api.run(None, introspect, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let (_, body) = api.run(None, "{ __typename apiVersion }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let token = crate::support::token(&api.sign_up("ada@example.com").await, "accessToken");
    let (_, body) = api.run(Some(&token), introspect, json!({})).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{body}");
    let (_, body) = api
        .run(
            Some(&token),
            &format!(
                "{{ a: {} b: {} }}",
                &introspect[2..introspect.len() - 2],
                &introspect[2..introspect.len() - 2]
            ),
            json!({}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("__schema at most")),
        "{body}"
    );
    let sdl = api
        .client
        .get(format!("http://{}/schema.graphql", api.address))
        .send()
        .await
        .expect("sdl");
    assert_eq!(sdl.status(), 200);

    let off = server_with(&db, Introspection::Off).await;
    let (_, body) = off.run(Some(&token), introspect, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn lists_that_are_not_connections_cost_their_cap() {
    // The review's finding: lists that are not connections (attachments, siblings, roles,
    // sessions, ...) cost 1 whatever their length, so nesting them multiplied the answer
    // without touching the complexity budget.
    let db = TestDb::migrated().await;
    let api = crate::support::Api::new(&db).await;
    let token = crate::support::token(&api.sign_up("ada@example.com").await, "accessToken");
    let nested = "{ viewer { chats(first: 50) { nodes { messages(first: 50) { nodes { \
        siblings { attachments { id file { id } } } } } } } } }";
    let (_, body) = api.run(Some(&token), nested, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("complex")),
        "{body}"
    );
    // Each list counts its cap of 100 items: one level of them is well within the budget.
    let (_, body) = api
        .run(
            Some(&token),
            "{ roles { name permissions { name } } viewer { sessions { id } apiTokens { id } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(
        body["data"]["roles"].as_array().is_some_and(|r| r.len() == 10),
        "{body}"
    );
}

#[tokio::test]
async fn one_request_holds_at_most_two_pooled_connections() {
    use chatgraph::graphql::{RequestContext, context::MAX_REQUEST_CONNECTIONS};
    let db = TestDb::migrated().await;
    let state = crate::support::app_state(
        db.pool(),
        crate::support::authenticator(),
        crate::support::file_store(&crate::support::files_dir()),
    );
    let request = RequestContext::new(&state, "r".into(), None, Default::default());
    let mut held = Vec::new();
    for _ in 0..MAX_REQUEST_CONNECTIONS {
        held.push(request.conn().await.expect("a connection"));
    }
    let third = request.conn();
    let mut third = std::pin::pin!(third);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), &mut third)
            .await
            .is_err(),
        "a third connection was handed out"
    );
    // Another request is not held back by this one.
    let other = RequestContext::new(&state, "s".into(), None, Default::default());
    assert!(other.conn().await.is_ok());
    held.pop();
    assert!(third.await.is_ok(), "the waiting resolver gets its turn");
}

#[tokio::test]
async fn sign_ups_are_limited_per_address_and_come_one_per_request() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    const SIGN_UP: &str = "mutation($a: SignUpInput!, $b: SignUpInput!) { \
        a: signUp(input: $a) { session { accessToken } } b: signUp(input: $b) { session { accessToken } } }";
    let input = |email: &str| json!({ "email": email, "password": crate::support::PASSWORD, "name": "Ada" });

    // Aliases cannot batch sign-ups (nor organizations): refused before anything runs.
    let (_, body) = api
        .run(
            None,
            SIGN_UP,
            json!({ "a": input("a@example.com"), "b": input("b@example.com") }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("once")),
        "{body}"
    );
    let conn = &mut db.conn().await;
    assert_eq!(
        crate::support::names(conn, "SELECT count(*)::text AS name FROM users").await,
        vec!["0"]
    );

    // The address has made 49 of its 50 sign-ups this hour: one more, then RATE_LIMITED.
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        "INSERT INTO rate_limit_counters (subject, scope, window_kind, window_start, window_end, request_count, limit_value) \
         VALUES ('ip:127.0.0.1', 'auth.sign_up', 'hourly', date_trunc('hour', now()), date_trunc('hour', now()) + interval '1 hour', 49, 50)",
    )
    .await
    .expect("counter");
    let signed_up = api.sign_up("c@example.com").await;
    assert!(signed_up["session"].is_object(), "{signed_up}");
    let one = "mutation($a: SignUpInput!) { signUp(input: $a) { session { accessToken } } }";
    let (_, refused) = api.run(None, one, json!({ "a": input("d@example.com") })).await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    assert_eq!(
        crate::support::names(conn, "SELECT email AS name FROM users").await,
        vec!["c@example.com"]
    );

    // Its personal project starts with the default quota.
    let token = crate::support::token(&signed_up, "accessToken");
    let (_, body) = api
        .run(
            Some(&token),
            "{ viewer { organizations { nodes { projects { nodes { quota { tokens { limit } requests { limit } } } } } } } }",
            json!({}),
        )
        .await;
    let quota = &body["data"]["viewer"]["organizations"]["nodes"][0]["projects"]["nodes"][0]["quota"];
    let default = chatgraph::services::quotas::DEFAULT_REQUESTS.to_string();
    assert_eq!(quota["requests"]["limit"], default.as_str(), "{body}");
}

#[tokio::test]
async fn platform_roles_grant_no_rights_inside_a_tenant() {
    // The review's attack: a platform project_manager, only a VIEWER in a tenant's project,
    // promoted itself to ADMIN there.
    let db = TestDb::migrated().await;
    let team = crate::support::Team::new(&db).await;
    let conn = &mut db.conn().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        "INSERT INTO user_roles (user_id, role_id) \
         SELECT u.id, r.id FROM users u, roles r \
         WHERE u.email = 'viewer@example.com' AND r.scope = 'platform' AND r.name = 'project_manager'",
    )
    .await
    .expect("platform role");
    let (_, viewer) = team.api.run(Some(&team.viewer), "{ viewer { id } }", json!({})).await;
    let promote = json!({ "projectId": team.project, "userId": viewer["data"]["viewer"]["id"], "role": "ADMIN" });
    let (payload, body) = team
        .mutate(
            &team.viewer,
            "setProjectMemberRole",
            "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { membership { role } } }",
            promote,
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(payload.is_null(), "{body}");
    let roles = crate::support::names(
        conn,
        "SELECT r.name FROM project_members m JOIN users u ON u.id = m.user_id JOIN roles r ON r.id = m.role_id \
         JOIN projects p ON p.id = m.project_id WHERE u.email = 'viewer@example.com' AND p.name = 'Work'",
    )
    .await;
    assert_eq!(roles, vec!["viewer"]);
    // Nor may it change the project.
    let (_, body) = team
        .mutate(
            &team.viewer,
            "updateProject",
            "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { name } } }",
            json!({ "id": team.project, "name": "Taken" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn archived_projects_and_suspended_organizations_are_read_only_for_every_write() {
    let db = TestDb::migrated().await;
    let team = crate::support::Team::new(&db).await;
    let conn = &mut db.conn().await;
    const CREATE_CHAT: &str =
        "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } userErrors { code } } }";
    const LIFECYCLE: &str =
        "mutation($input: ProjectLifecycleInput!) { archiveProject(input: $input) { project { status } } }";
    let new_chat = json!({ "projectId": team.project });
    let (payload, body) = team
        .mutate(&team.member, "createChat", CREATE_CHAT, new_chat.clone())
        .await;
    let chat = payload["chat"]["id"].clone();
    assert!(chat.is_string(), "{body}");
    let chat_id = chatgraph::graphql::node::decode_global_id(&async_graphql::ID(chat.as_str().expect("id").into()))
        .expect("uuid")
        .1;
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        &format!(
            "INSERT INTO messages (id, chat_id, role, content, status) \
             VALUES ('{}', '{chat_id}', 'assistant', 'An answer', 'complete')",
            uuid::Uuid::nil()
        ),
    )
    .await
    .expect("answer");
    let answer = chatgraph::graphql::node::global_id("Message", uuid::Uuid::nil());

    // Archived: createChat is refused, saying why; restoring still works.
    let (_, body) = team
        .mutate(&team.owner, "archiveProject", LIFECYCLE, json!({ "id": team.project }))
        .await;
    assert_eq!(
        body["data"]["archiveProject"]["project"]["status"], "ARCHIVED",
        "{body}"
    );
    let (_, body) = team
        .mutate(&team.member, "createChat", CREATE_CHAT, new_chat.clone())
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("archived")),
        "{body}"
    );
    let restore = LIFECYCLE.replace("archiveProject", "restoreProject");
    let (_, body) = team
        .mutate(&team.owner, "restoreProject", &restore, json!({ "id": team.project }))
        .await;
    assert_eq!(body["data"]["restoreProject"]["project"]["status"], "ACTIVE", "{body}");

    // An invitation made before the organization is suspended.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "inviteOrganizationMember",
            "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { token } }",
            json!({ "organizationId": team.organization, "email": "new@example.com", "role": "MEMBER" }),
        )
        .await;
    let invitation = payload["token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let newcomer = crate::support::token(&team.api.sign_up_confirmed("new@example.com").await, "accessToken");

    // Suspended: votes and invitations are refused like every other write.
    diesel_async::SimpleAsyncConnection::batch_execute(
        conn,
        "UPDATE organizations SET status = 'suspended' WHERE slug = 'team'",
    )
    .await
    .expect("suspend");
    let (_, body) = team
        .mutate(
            &team.member,
            "voteMessage",
            "mutation($input: VoteMessageInput!) { voteMessage(input: $input) { userErrors { code } } }",
            json!({ "messageId": answer, "vote": "UP" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("suspended")),
        "{body}"
    );
    let (_, body) = team
        .mutate(
            &newcomer,
            "acceptInvitation",
            "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { member { joinedAt } } }",
            json!({ "token": invitation }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = team.mutate(&team.member, "createChat", CREATE_CHAT, new_chat).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        crate::support::names(conn, "SELECT count(*)::text AS name FROM message_feedback").await,
        vec!["0"]
    );
}

#[tokio::test]
async fn a_query_over_a_websocket_is_stopped_at_the_operation_timeout() {
    use crate::support::{app_state, authenticator, file_store, files_dir, http_settings, serve_state};
    let db = TestDb::migrated().await;
    // Every DataLoader batch waits 2 s; a query or mutation may take 300 ms.
    let mut state = app_state(db.pool(), authenticator(), file_store(&files_dir()));
    state.loader_delay = std::time::Duration::from_secs(2);
    state.operation_timeout = std::time::Duration::from_millis(300);
    let api = Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    };
    let token = crate::support::token(&api.sign_up("ada@example.com").await, "accessToken");
    let mut socket = connect(&api, "graphql-transport-ws").await;
    let ack = init(&mut socket, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert_eq!(ack.expect("ack")["type"], "connection_ack");

    let slow = "{ viewer { organizations { nodes { projects { nodes { name } } } } } }";
    send(
        &mut socket,
        json!({ "id": "slow", "type": "subscribe", "payload": { "query": slow } }),
    )
    .await;
    // Nothing came of it: the protocol's `error` message, which ends the operation.
    let answer = receive(&mut socket).await.expect("an answer");
    assert_eq!(
        (answer["type"].as_str(), answer["id"].as_str()),
        (Some("error"), Some("slow")),
        "{answer}"
    );
    assert_eq!(answer["payload"][0]["extensions"]["code"], "TIMEOUT", "{answer}");

    // A quick one on the same socket still runs.
    send(
        &mut socket,
        json!({ "id": "quick", "type": "subscribe", "payload": { "query": "{ apiVersion }" } }),
    )
    .await;
    let answer = receive(&mut socket).await.expect("an answer");
    assert!(answer["payload"]["data"]["apiVersion"].is_string(), "{answer}");
}

#[tokio::test]
async fn co_members_do_not_see_when_each_other_last_signed_in() {
    let db = TestDb::migrated().await;
    let team = crate::support::Team::new(&db).await;
    let members = "query($id: ID!) { node(id: $id) { ... on Organization { \
        members { nodes { user { email lastLoginAt } } } } } }";
    let (_, body) = team
        .api
        .run(Some(&team.member), members, json!({ "id": team.organization }))
        .await;
    let nodes = body["data"]["node"]["members"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(nodes.len() >= 2, "{body}");
    for node in nodes {
        let user = &node["user"];
        // Everyone here has signed in; only the caller's own time shows.
        let own = user["email"] == "member@example.com";
        assert_eq!(user["lastLoginAt"].is_string(), own, "{body}");
    }
}
