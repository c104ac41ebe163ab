//! Authorization of writes, through the HTTP endpoint: a caller changes only what their roles
//! allow where they are (FORBIDDEN otherwise), and what they cannot see is NOT_FOUND.

use chatgraph::{
    db::enums::RoleScope,
    graphql::node::global_id,
    models::{organization::NewOrganizationMember, role::RoleRow},
};
use serde_json::{Value, json};

use crate::{
    support::fixtures,
    support::{Api, token},
    support::{TestDb, code, names},
};

const CREATE_CHAT: &str = "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id title visibility } userErrors { field code } } }";
const UPDATE_CHAT: &str = "mutation($input: UpdateChatInput!) { updateChat(input: $input) { chat { title isStarred } userErrors { field code } } }";
const DELETE_CHAT: &str =
    "mutation($input: DeleteChatInput!) { deleteChat(input: $input) { deletedChatId userErrors { code } } }";
const SET_ROLE: &str = "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { membership { role } userErrors { field code } } }";

struct Person {
    access: String,
    id: Value,
}

async fn person(api: &Api, email: &str) -> Person {
    let signed_up = api.sign_up(email).await;
    let access = token(&signed_up, "accessToken");
    let (_, body) = api.run(Some(&access), "{ viewer { id } }", json!({})).await;
    Person {
        access,
        id: body["data"]["viewer"]["id"].clone(),
    }
}

#[tokio::test]
async fn writes_need_the_right_role_in_the_right_place() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = person(&api, "alice@team.example").await; // organization owner
    let carol = person(&api, "carol@team.example").await; // project viewer
    let dave = person(&api, "dave@team.example").await; // project member
    let bob = person(&api, "bob@other.example").await; // another tenant

    let conn = &mut db.conn().await;
    let team = fixtures::organization("team").insert(conn).await.expect("team");
    for (email, role) in [
        ("alice@team.example", "owner"),
        ("carol@team.example", "member"),
        ("dave@team.example", "member"),
    ] {
        let user = chatgraph::models::user::UserRow::find_by_email(conn, email)
            .await
            .expect("find")
            .expect("user");
        NewOrganizationMember {
            organization_id: team.id,
            user_id: user.id,
            role_id: RoleRow::find_by_name(conn, RoleScope::Organization, role)
                .await
                .expect("role")
                .id,
            invited_by: None,
        }
        .insert(conn)
        .await
        .expect("membership");
    }
    let project = fixtures::project(team.id, "Research")
        .insert(conn)
        .await
        .expect("project");
    let project_id = global_id("Project", project.id);

    // The owner gives roles; a member may not; another tenant cannot even find the project.
    let set_role =
        |who: &Person, role: &str| json!({ "input": { "projectId": project_id, "userId": who.id, "role": role } });
    for (who, role) in [(&carol, "VIEWER"), (&dave, "MEMBER")] {
        let (_, body) = api.run(Some(&alice.access), SET_ROLE, set_role(who, role)).await;
        assert_eq!(
            body["data"]["setProjectMemberRole"]["membership"]["role"], role,
            "{body}"
        );
    }
    let (_, body) = api.run(Some(&dave.access), SET_ROLE, set_role(&dave, "ADMIN")).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = api.run(Some(&bob.access), SET_ROLE, set_role(&bob, "ADMIN")).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = api.run(Some(&alice.access), SET_ROLE, set_role(&bob, "MEMBER")).await;
    assert_eq!(
        body["data"]["setProjectMemberRole"]["userErrors"],
        json!([{ "field": ["input", "userId"], "code": "NOT_FOUND" }])
    );
    let (_, body) = api.run(Some(&alice.access), SET_ROLE, set_role(&carol, "OWNER")).await;
    assert_eq!(
        body["data"]["setProjectMemberRole"]["userErrors"][0]["code"],
        "INVALID_ROLE"
    );

    // Creating chats: the member may, the viewer may not, the other tenant finds nothing.
    let create = |title: &str, visibility: &str| json!({ "input": { "projectId": project_id, "title": title, "visibility": visibility } });
    let (_, body) = api
        .run(Some(&carol.access), CREATE_CHAT, create("Mine", "PROJECT"))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "a viewer reads and never writes: {body}");
    let (_, body) = api.run(Some(&bob.access), CREATE_CHAT, create("Mine", "PROJECT")).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = api.run(None, CREATE_CHAT, create("Mine", "PROJECT")).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let (_, body) = api.run(Some(&dave.access), CREATE_CHAT, create(" ", "PROJECT")).await;
    assert_eq!(
        body["data"]["createChat"]["userErrors"],
        json!([{ "field": ["input", "title"], "code": "INVALID_LENGTH" }])
    );
    let (_, body) = api
        .run(Some(&dave.access), CREATE_CHAT, create("Dave's notes", "PROJECT"))
        .await;
    let daves_chat = body["data"]["createChat"]["chat"]["id"].clone();
    assert!(daves_chat.is_string(), "{body}");
    let (_, body) = api
        .run(Some(&alice.access), CREATE_CHAT, create("Announcements", "PUBLIC"))
        .await;
    let alices_chat = body["data"]["createChat"]["chat"]["id"].clone();

    // Changing chats: one's own, or any with project.update (the organization owner).
    let rename = |id: &Value, title: &str| json!({ "input": { "id": id, "title": title, "isStarred": true } });
    let (_, body) = api
        .run(Some(&dave.access), UPDATE_CHAT, rename(&daves_chat, "Renamed"))
        .await;
    assert_eq!(
        body["data"]["updateChat"]["chat"],
        json!({ "title": "Renamed", "isStarred": true })
    );
    let (_, body) = api
        .run(Some(&dave.access), UPDATE_CHAT, rename(&alices_chat, "Mine now"))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = api
        .run(Some(&carol.access), UPDATE_CHAT, rename(&daves_chat, "Viewer edit"))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = api
        .run(Some(&bob.access), UPDATE_CHAT, rename(&alices_chat, "Public edit"))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "a public chat is read-only for outsiders");
    let (_, body) = api
        .run(Some(&bob.access), UPDATE_CHAT, rename(&daves_chat, "Probe"))
        .await;
    assert_eq!(
        code(&body),
        "NOT_FOUND",
        "a project chat of another tenant is not found"
    );
    let (_, body) = api
        .run(Some(&alice.access), UPDATE_CHAT, rename(&daves_chat, "Moderated"))
        .await;
    assert_eq!(body["data"]["updateChat"]["chat"]["title"], "Moderated");

    let delete = |who: &Person| (who.access.clone(), json!({ "input": { "id": daves_chat } }));
    let (access, input) = delete(&carol);
    assert_eq!(code(&api.run(Some(&access), DELETE_CHAT, input).await.1), "FORBIDDEN");
    let (access, input) = delete(&dave);
    let (_, body) = api.run(Some(&access), DELETE_CHAT, input).await;
    assert_eq!(body["data"]["deleteChat"]["deletedChatId"], daves_chat);
    let (access, input) = delete(&dave);
    assert_eq!(code(&api.run(Some(&access), DELETE_CHAT, input).await.1), "NOT_FOUND");

    let titles = names(
        conn,
        "SELECT title AS name FROM chats WHERE project_id IN (SELECT id FROM projects WHERE name = 'Research')",
    )
    .await;
    assert_eq!(titles, ["Announcements"]);
    // Chat changes are audited, refusals too.
    let chat_trail = names(
        conn,
        "SELECT a.status || ':' || coalesce(a.error_message, '') || ':' || u.email AS name FROM audit_logs a \
         JOIN users u ON u.id = a.actor_user_id WHERE a.action = 'chat.delete' ORDER BY a.created_at",
    )
    .await;
    assert_eq!(
        chat_trail,
        [
            "failed:FORBIDDEN:carol@team.example",
            "success::dave@team.example",
            "failed:NOT_FOUND:dave@team.example"
        ]
    );
    let trail = names(
        conn,
        "SELECT a.action || ' ' || (a.details->>'to') || ' ' || u.email AS name FROM audit_logs a \
         JOIN users u ON u.id::text = a.resource_id WHERE a.action = 'project_member.role_change' ORDER BY a.created_at",
    )
    .await;
    assert_eq!(
        trail,
        [
            "project_member.role_change viewer carol@team.example",
            "project_member.role_change member dave@team.example"
        ]
    );
}
