//! Organization mutations through the HTTP endpoint: create, update, delete, and members
//! (add by email, change role, remove); validation as `userErrors` that write nothing; who
//! may do what; the last owner; audit rows; and two owners demoting each other at once.

use serde_json::{Value, json};

use crate::{
    support::{Api, token},
    support::{TestDb, code, names, user_errors},
};

const CREATE: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { \
    organization { id name slug members(first: 5) { nodes { user { email } role { name } } } } \
    userErrors { field code message } } }";
const UPDATE: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { \
    organization { id name slug } userErrors { field code } } }";
const DELETE: &str = "mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { \
    deletedOrganizationId userErrors { field code } } }";
const INVITE: &str = "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { \
    token userErrors { field code } } }";
const ACCEPT: &str = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { \
    member { user { email } role { name } } userErrors { field code } } }";
const SET_ROLE: &str = "mutation($input: SetOrganizationMemberRoleInput!) { setOrganizationMemberRole(input: $input) { \
    member { id role { name } } userErrors { field code } } }";
const REMOVE: &str = "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { \
    removedMemberId userErrors { field code } } }";

async fn user_id(api: &Api, access: &str) -> Value {
    api.run(Some(access), "{ viewer { id } }", json!({})).await.1["data"]["viewer"]["id"].clone()
}

#[tokio::test]
async fn organizations_are_created_validated_updated_and_deleted() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let bob = token(&api.sign_up("bob@example.com").await, "accessToken");
    let conn = &mut db.conn().await;
    let count = "SELECT count(*)::text AS name FROM organizations";
    let before = names(conn, count).await;

    // Bad input: every problem at once, on its field, and nothing written.
    let (_, body) = api
        .run(
            Some(&alice),
            CREATE,
            json!({ "input": { "name": "  ", "slug": "Not A Slug" } }),
        )
        .await;
    let payload = &body["data"]["createOrganization"];
    assert_eq!(
        user_errors(payload),
        vec!["input.name:INVALID_LENGTH", "input.slug:INVALID_SLUG"],
        "{body}"
    );
    assert!(payload["organization"].is_null());
    assert_eq!(names(conn, count).await, before, "nothing written");

    // Anonymous callers cannot create.
    let (_, body) = api
        .run(None, CREATE, json!({ "input": { "name": "Acme", "slug": "acme" } }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");

    let (_, body) = api
        .run(
            Some(&alice),
            CREATE,
            json!({ "input": { "name": " Acme ", "slug": "acme" } }),
        )
        .await;
    let organization = &body["data"]["createOrganization"]["organization"];
    assert_eq!(organization["name"], "Acme", "trimmed: {body}");
    assert_eq!(
        organization["members"]["nodes"],
        json!([{ "user": { "email": "alice@example.com" }, "role": { "name": "owner" } }])
    );
    let id = organization["id"].clone();

    // A taken slug is a user error too (from the unique constraint), for anyone.
    let (_, body) = api
        .run(
            Some(&bob),
            CREATE,
            json!({ "input": { "name": "Other", "slug": "acme" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["createOrganization"]),
        vec!["input.slug:SLUG_TAKEN"]
    );

    // Update: the owner renames; another tenant does not even see it.
    let (_, body) = api
        .run(
            Some(&alice),
            UPDATE,
            json!({ "input": { "id": id, "name": "Acme Inc" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateOrganization"]["organization"]["name"], "Acme Inc",
        "{body}"
    );
    assert_eq!(body["data"]["updateOrganization"]["organization"]["slug"], "acme");
    let (_, body) = api
        .run(Some(&bob), UPDATE, json!({ "input": { "id": id, "name": "Mine" } }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");

    // The personal organization stays; this one goes, and with it from every list.
    let personal = api
        .run(
            Some(&alice),
            "{ viewer { organizations { nodes { id slug } } } }",
            json!({}),
        )
        .await
        .1["data"]["viewer"]["organizations"]["nodes"]
        .as_array()
        .expect("organizations")
        .iter()
        .find(|o| o["slug"] != "acme")
        .expect("personal")["id"]
        .clone();
    let (_, body) = api
        .run(Some(&alice), DELETE, json!({ "input": { "id": personal } }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["deleteOrganization"]),
        vec!["input.id:PERSONAL_ORGANIZATION"]
    );
    let (_, body) = api.run(Some(&alice), DELETE, json!({ "input": { "id": id } })).await;
    assert_eq!(
        body["data"]["deleteOrganization"]["deletedOrganizationId"], id,
        "{body}"
    );
    let (_, body) = api
        .run(Some(&alice), "{ viewer { organizations { totalCount } } }", json!({}))
        .await;
    assert_eq!(body["data"]["viewer"]["organizations"]["totalCount"], 1);

    let actions = names(
        conn,
        "SELECT action || ' ' || status AS name FROM audit_logs WHERE action LIKE 'organization.%' ORDER BY created_at",
    )
    .await;
    assert_eq!(
        actions,
        vec![
            "organization.create failed",
            "organization.create success",
            "organization.create failed",
            "organization.update success",
            "organization.update failed",
            "organization.delete failed",
            "organization.delete success",
        ],
        "successes and the refusals along the way"
    );
}

#[tokio::test]
async fn members_join_by_invitation_are_re_roled_and_removed_and_an_owner_always_remains() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let mut tokens = Vec::new();
    for email in [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    ] {
        tokens.push(token(&api.sign_up_confirmed(email).await, "accessToken"));
    }
    let [alice, bob, carol, dave] = [&tokens[0], &tokens[1], &tokens[2], &tokens[3]];
    let (bob_id, carol_id, alice_id) = (
        user_id(&api, bob).await,
        user_id(&api, carol).await,
        user_id(&api, alice).await,
    );
    let (_, body) = api
        .run(
            Some(alice),
            CREATE,
            json!({ "input": { "name": "Acme", "slug": "acme" } }),
        )
        .await;
    let org = body["data"]["createOrganization"]["organization"]["id"].clone();
    let add = |email: &str, role: &str| json!({ "input": { "organizationId": org, "email": email, "role": role } });
    let set = |user: &Value, role: &str| json!({ "input": { "organizationId": org, "userId": user, "role": role } });
    let remove = |user: &Value| json!({ "input": { "organizationId": org, "userId": user } });

    // Joining: only by accepting an invitation; any address gets the same answer, whether
    // an account has it or not (no enumeration, no one added without consent).
    let invited = |body: &Value| body["data"]["inviteOrganizationMember"]["token"].is_string();
    let (_, body) = api.run(Some(alice), INVITE, add("nobody@example.com", "MEMBER")).await;
    assert!(invited(&body), "{body}");
    let (_, body) = api.run(Some(alice), INVITE, add("bob@example.com", "ADMIN")).await;
    assert!(invited(&body), "{body}");
    let members = async |who: &str| {
        let (_, body) = api
            .run(
                Some(who),
                "query($id: ID!) { node(id: $id) { ... on Organization { members { totalCount } } } }",
                json!({ "id": org }),
            )
            .await;
        body["data"]["node"]["members"]["totalCount"].clone()
    };
    assert_eq!(members(alice).await, 1, "invited is not a member yet");
    let accept = |token: &Value| json!({ "input": { "token": token } });
    let (_, body) = api
        .run(
            Some(bob),
            ACCEPT,
            accept(&body["data"]["inviteOrganizationMember"]["token"]),
        )
        .await;
    assert_eq!(
        body["data"]["acceptInvitation"]["member"]["role"]["name"], "admin",
        "{body}"
    );
    let (_, body) = api.run(Some(alice), INVITE, add("bob@example.com", "MEMBER")).await;
    assert_eq!(
        user_errors(&body["data"]["inviteOrganizationMember"]),
        vec!["input.email:ALREADY_MEMBER"]
    );
    let (_, body) = api
        .run(
            Some(alice),
            "mutation { addOrganizationMember(input: {}) { __typename } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "no way to add someone directly: {body}");

    // An admin manages members but not owners.
    let (_, body) = api.run(Some(bob), INVITE, add("carol@example.com", "OWNER")).await;
    assert_eq!(
        user_errors(&body["data"]["inviteOrganizationMember"]),
        vec!["input.role:OWNER_ONLY"]
    );
    let (_, body) = api.run(Some(bob), INVITE, add("carol@example.com", "MEMBER")).await;
    let (_, body) = api
        .run(
            Some(carol),
            ACCEPT,
            accept(&body["data"]["inviteOrganizationMember"]["token"]),
        )
        .await;
    assert_eq!(
        body["data"]["acceptInvitation"]["member"]["role"]["name"], "member",
        "{body}"
    );
    let (_, body) = api.run(Some(bob), SET_ROLE, set(&alice_id, "MEMBER")).await;
    assert_eq!(
        user_errors(&body["data"]["setOrganizationMemberRole"]),
        vec!["input.role:OWNER_ONLY"]
    );
    let (_, body) = api.run(Some(bob), REMOVE, remove(&alice_id)).await;
    assert_eq!(
        user_errors(&body["data"]["removeOrganizationMember"]),
        vec!["input.role:OWNER_ONLY"]
    );

    // A plain member may not manage members; an outsider does not see the organization.
    let (_, body) = api.run(Some(carol), INVITE, add("dave@example.com", "MEMBER")).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = api.run(Some(dave), SET_ROLE, set(&carol_id, "ADMIN")).await;
    assert_eq!(code(&body), "NOT_FOUND");

    // The last owner can neither step down nor be removed.
    let (_, body) = api.run(Some(alice), SET_ROLE, set(&alice_id, "ADMIN")).await;
    assert_eq!(
        user_errors(&body["data"]["setOrganizationMemberRole"]),
        vec!["input.role:LAST_OWNER"]
    );
    let (_, body) = api.run(Some(alice), REMOVE, remove(&alice_id)).await;
    assert_eq!(
        user_errors(&body["data"]["removeOrganizationMember"]),
        vec!["input.userId:LAST_OWNER"]
    );
    // With a second owner, she can.
    let (_, body) = api.run(Some(alice), SET_ROLE, set(&bob_id, "OWNER")).await;
    assert_eq!(
        body["data"]["setOrganizationMemberRole"]["member"]["role"]["name"], "owner",
        "{body}"
    );
    let (_, body) = api.run(Some(alice), SET_ROLE, set(&alice_id, "MEMBER")).await;
    assert_eq!(
        body["data"]["setOrganizationMemberRole"]["member"]["role"]["name"], "member",
        "{body}"
    );

    // Removing takes the member out, for the client cache too.
    let (_, body) = api.run(Some(bob), REMOVE, remove(&carol_id)).await;
    assert!(
        body["data"]["removeOrganizationMember"]["removedMemberId"].is_string(),
        "{body}"
    );
    let (_, body) = api
        .run(Some(bob), "query($id: ID!) { node(id: $id) { ... on Organization { members { nodes { user { email } role { name } } } } } }", json!({ "id": org }))
        .await;
    let members: Vec<String> = body["data"]["node"]["members"]["nodes"]
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
    assert_eq!(members, vec!["alice@example.com member", "bob@example.com owner"]);

    let conn = &mut db.conn().await;
    let actions = names(
        conn,
        "SELECT action AS name FROM audit_logs WHERE action LIKE 'organization_member.%' AND status = 'success' ORDER BY created_at",
    )
    .await;
    assert_eq!(
        actions,
        vec![
            "organization_member.role_change",
            "organization_member.role_change",
            "organization_member.remove"
        ]
    );
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let bob = token(&api.sign_up_confirmed("bob@example.com").await, "accessToken");
    let (alice_id, bob_id) = (user_id(&api, &alice).await, user_id(&api, &bob).await);
    for round in 0..5 {
        let slug = format!("race-{round}");
        let (_, body) = api
            .run(
                Some(&alice),
                CREATE,
                json!({ "input": { "name": "Race", "slug": slug } }),
            )
            .await;
        let org = body["data"]["createOrganization"]["organization"]["id"].clone();
        api.join(&alice, &org, &bob, "bob@example.com", "OWNER").await;
        // Each demotes the other; without the organization lock both would see two owners.
        let demote = |user: &Value| json!({ "input": { "organizationId": org, "userId": user, "role": "MEMBER" } });
        let (first, second) = tokio::join!(
            api.run(Some(&alice), SET_ROLE, demote(&bob_id)),
            api.run(Some(&bob), SET_ROLE, demote(&alice_id)),
        );
        let succeeded = [&first.1, &second.1]
            .iter()
            .filter(|body| body["data"]["setOrganizationMemberRole"]["member"].is_object())
            .count();
        let conn = &mut db.conn().await;
        let owners = names(
            conn,
            &format!(
                "SELECT count(*)::text AS name FROM organization_members m JOIN roles r ON r.id = m.role_id \
                 JOIN organizations o ON o.id = m.organization_id WHERE o.slug = '{slug}' AND r.name = 'owner'"
            ),
        )
        .await;
        assert_eq!(owners, vec!["1"], "round {round}: {first:?} {second:?}");
        // The loser was either refused (it ran second and saw one owner) or, having been
        // demoted first, no longer had the right to demote anyone.
        assert!(succeeded == 1, "round {round}: {first:?} {second:?}");
    }
}

#[tokio::test]
async fn platform_admins_change_plans_and_a_suspended_organization_is_read_only() {
    let db = TestDb::migrated().await;
    let team = crate::support::Team::new(&db).await;
    let admin = token(&team.api.sign_up("admin@example.com").await, "accessToken");
    let conn = &mut db.conn().await;
    crate::support::make_platform_admin(&db, "admin@example.com").await;
    let plan = "mutation($input: SetOrganizationPlanInput!) { setOrganizationPlan(input: $input) { \
        organization { id plan status } userErrors { field code } } }";
    let status = "mutation($input: SetOrganizationStatusInput!) { setOrganizationStatus(input: $input) { \
        organization { id plan status } userErrors { field code } } }";

    // The tenant's own owner does not choose the plan.
    let (_, body) = team
        .mutate(
            &team.owner,
            "setOrganizationPlan",
            plan,
            json!({ "id": team.organization, "plan": "ENTERPRISE" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (payload, body) = team
        .mutate(
            &admin,
            "setOrganizationPlan",
            plan,
            json!({ "id": team.organization, "plan": "PRO" }),
        )
        .await;
    assert_eq!(payload["organization"]["plan"], "PRO", "{body}");
    let (payload, _) = team
        .mutate(
            &admin,
            "setOrganizationStatus",
            status,
            json!({ "id": team.organization, "status": "DELETED" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.status:INVALID_STATUS"]);
    let (payload, _) = team
        .mutate(
            &admin,
            "setOrganizationStatus",
            status,
            json!({ "id": team.organization, "status": "SUSPENDED" }),
        )
        .await;
    assert_eq!(payload["organization"]["status"], "SUSPENDED");

    // Suspended: members still read, nobody writes.
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": team.project }),
        )
        .await;
    assert_eq!(body["data"]["node"]["id"], team.project, "{body}");
    let (_, body) = team
        .mutate(
            &team.owner,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
            json!({ "projectId": team.project }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    team.mutate(
        &admin,
        "setOrganizationStatus",
        status,
        json!({ "id": team.organization, "status": "ACTIVE" }),
    )
    .await;
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createChat",
            "mutation($input: CreateChatInput!) { createChat(input: $input) { chat { id } } }",
            json!({ "projectId": team.project }),
        )
        .await;
    assert!(payload["chat"]["id"].is_string(), "{body}");

    // An update that changes nothing gives the organization back as it is.
    let (payload, body) = team
        .mutate(
            &team.owner,
            "updateOrganization",
            UPDATE,
            json!({ "id": team.organization }),
        )
        .await;
    assert_eq!(payload["organization"]["name"], "Team", "{body}");
    assert_eq!(
        names(
            conn,
            "SELECT action || ' ' || a.status AS name FROM audit_logs a \
             WHERE action IN ('organization.plan_change', 'organization.status_change') ORDER BY created_at"
        )
        .await,
        vec![
            "organization.plan_change failed",
            "organization.plan_change success",
            "organization.status_change failed",
            "organization.status_change success",
            "organization.status_change success"
        ]
    );
}

#[tokio::test]
async fn invitations_let_people_without_an_account_join_once() {
    let db = TestDb::migrated().await;
    let team = crate::support::Team::new(&db).await;
    let invite = "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { \
        invitation { id email role { name } invitedBy { email } } token userErrors { field code } } }";
    let accept = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { \
        member { user { email } role { name } } userErrors { field code } } }";
    let revoke = "mutation($input: RevokeInvitationInput!) { revokeInvitation(input: $input) { \
        revokedInvitationId userErrors { field code } } }";
    let open =
        "query($id: ID!) { node(id: $id) { ... on Organization { invitations { totalCount nodes { email } } } } }";

    let (payload, _) = team
        .mutate(
            &team.owner,
            "inviteOrganizationMember",
            invite,
            json!({ "organizationId": team.organization, "email": "not an address", "role": "MEMBER" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.email:INVALID_EMAIL"]);
    let (payload, _) = team
        .mutate(
            &team.owner,
            "inviteOrganizationMember",
            invite,
            json!({ "organizationId": team.organization, "email": "member@example.com", "role": "MEMBER" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.email:ALREADY_MEMBER"]);
    let (_, body) = team
        .mutate(
            &team.member,
            "inviteOrganizationMember",
            invite,
            json!({ "organizationId": team.organization, "email": "x@example.com", "role": "MEMBER" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (payload, body) = team
        .mutate(
            &team.owner,
            "inviteOrganizationMember",
            invite,
            json!({ "organizationId": team.organization, "email": "Newbie@Example.com", "role": "ADMIN" }),
        )
        .await;
    let token = payload["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("cgi_"), "{body}");
    assert_eq!(payload["invitation"]["invitedBy"]["email"], "owner@example.com");
    let (payload, _) = team
        .mutate(
            &team.owner,
            "inviteOrganizationMember",
            invite,
            json!({ "organizationId": team.organization, "email": "newbie@example.com", "role": "MEMBER" }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.email:ALREADY_INVITED"]);

    // Only those who manage members see open invitations.
    let (_, body) = team
        .api
        .run(Some(&team.owner), open, json!({ "id": team.organization }))
        .await;
    assert_eq!(
        body["data"]["node"]["invitations"]["nodes"],
        json!([{ "email": "Newbie@Example.com" }]),
        "{body}"
    );
    let (_, body) = team
        .api
        .run(Some(&team.member), open, json!({ "id": team.organization }))
        .await;
    assert_eq!(body["data"]["node"]["invitations"]["totalCount"], 0, "{body}");

    // Accepting needs the invited address; then once only.
    let (_, body) = team
        .mutate(&team.outsider, "acceptInvitation", accept, json!({ "token": token }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["acceptInvitation"]),
        vec!["input.token:WRONG_ACCOUNT"]
    );
    let newbie = token_of(&team.api.sign_up("newbie@example.com").await);
    let (_, body) = team
        .mutate(&newbie, "acceptInvitation", accept, json!({ "token": "cgi_nope" }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["acceptInvitation"]),
        vec!["input.token:INVALID_INVITATION"]
    );
    // The review's attack: whoever holds the link registers the invited address and joins.
    // Not without proving that the address is theirs.
    let (_, body) = team
        .mutate(&newbie, "acceptInvitation", accept, json!({ "token": token }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["acceptInvitation"]),
        vec!["input.token:EMAIL_NOT_CONFIRMED"]
    );
    assert_eq!(
        crate::support::mail::codes_to("newbie@example.com", "You are invited to Team", "cgi_"),
        vec![token.clone()],
        "the invitation is mailed to the address"
    );
    team.api.confirm("newbie@example.com").await;
    let (payload, body) = team
        .mutate(&newbie, "acceptInvitation", accept, json!({ "token": token }))
        .await;
    assert_eq!(
        payload["member"],
        json!({ "user": { "email": "newbie@example.com" }, "role": { "name": "admin" } }),
        "{body}"
    );
    let (payload, _) = team
        .mutate(&newbie, "acceptInvitation", accept, json!({ "token": token }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.token:INVALID_INVITATION"]);
    let (_, body) = team
        .api
        .run(
            Some(&newbie),
            "{ viewer { organizations { nodes { slug } } } }",
            json!({}),
        )
        .await;
    let slugs = body["data"]["viewer"]["organizations"]["nodes"].to_string();
    assert!(slugs.contains("\"team\""), "{body}");

    // A revoked invitation cannot be accepted; revoking is for the organization only.
    let (payload, _) = team
        .mutate(
            &team.owner,
            "inviteOrganizationMember",
            invite,
            json!({ "organizationId": team.organization, "email": "late@example.com", "role": "MEMBER" }),
        )
        .await;
    let (late_id, late_token) = (payload["invitation"]["id"].clone(), payload["token"].clone());
    let (_, body) = team
        .mutate(&team.outsider, "revokeInvitation", revoke, json!({ "id": late_id }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (payload, _) = team
        .mutate(&team.owner, "revokeInvitation", revoke, json!({ "id": late_id }))
        .await;
    assert_eq!(payload["revokedInvitationId"], late_id);
    let (payload, _) = team
        .mutate(&team.owner, "revokeInvitation", revoke, json!({ "id": late_id }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.id:INVITATION_CLOSED"]);
    let late = token_of(&team.api.sign_up("late@example.com").await);
    let (payload, _) = team
        .mutate(&late, "acceptInvitation", accept, json!({ "token": late_token }))
        .await;
    assert_eq!(user_errors(&payload), vec!["input.token:INVALID_INVITATION"]);

    // Tokens are stored only as hashes.
    assert!(!db.stores_in_clear(&token));
    let conn = &mut db.conn().await;
    assert_eq!(
        names(
            conn,
            "SELECT action || ' ' || status AS name FROM audit_logs WHERE action LIKE 'organization_invitation.%' AND status = 'success' ORDER BY created_at"
        )
        .await,
        vec![
            // The team's member and viewer joined this way too.
            "organization_invitation.create success",
            "organization_invitation.accept success",
            "organization_invitation.create success",
            "organization_invitation.accept success",
            "organization_invitation.create success",
            "organization_invitation.accept success",
            "organization_invitation.create success",
            "organization_invitation.revoke success"
        ]
    );
}

fn token_of(signed_up: &Value) -> String {
    token(signed_up, "accessToken")
}
