//! The constraints that carry business rules reject bad rows, each by its named constraint
//! (so the API can turn them into user errors later).

use chatgraph::{
    db::{enums::RoleScope, new_id},
    models::{
        file::{NewFile, NewFileAttachment},
        message::NewMessageFeedback,
        organization::NewOrganizationMember,
        project::{NewProjectQuota, ProjectPatch},
        role::RoleRow,
    },
};
use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::RunQueryDsl;

use crate::support::{TestDb, fixtures};

/// The constraint a failed statement violated.
fn violated<T: std::fmt::Debug>(result: Result<T, Error>) -> (DatabaseErrorKind, String) {
    match result {
        Err(Error::DatabaseError(kind, info)) => (kind, info.constraint_name().unwrap_or_default().to_owned()),
        other => panic!("expected a constraint violation, got {other:?}"),
    }
}

#[tokio::test]
async fn a_live_project_name_is_unique_per_organization_ignoring_case() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "names").await;
    let duplicate = fixtures::project(tree.organization.id, "PROJECT").insert(conn).await;
    assert_eq!(
        violated(duplicate),
        (
            DatabaseErrorKind::UniqueViolation,
            "projects_organization_id_name_key".into()
        )
    );

    // Another organization may use the name, and so may a project once the first is deleted.
    let other = fixtures::organization("other").insert(conn).await.expect("org");
    fixtures::project(other.id, "Project")
        .insert(conn)
        .await
        .expect("same name elsewhere");
    ProjectPatch {
        deleted_at: Some(Some(Utc::now())),
        ..Default::default()
    }
    .apply(conn, tree.project.id)
    .await
    .expect("soft delete");
    fixtures::project(tree.organization.id, "Project")
        .insert(conn)
        .await
        .expect("name free again");
}

#[tokio::test]
async fn one_vote_per_user_and_message() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "votes").await;
    let vote = || NewMessageFeedback {
        id: new_id(),
        message_id: tree.message.id,
        chat_id: tree.chat.id,
        user_id: tree.user.id,
        is_upvoted: Some(true),
        rating: None,
        comment: None,
    };
    vote().insert(conn).await.expect("first vote");
    assert_eq!(
        violated(vote().insert(conn).await),
        (
            DatabaseErrorKind::UniqueViolation,
            "message_feedback_message_id_user_id_key".into()
        )
    );
    let empty = NewMessageFeedback {
        is_upvoted: None,
        user_id: fixtures::user("b@example.com").insert(conn).await.expect("user").id,
        ..vote()
    };
    assert_eq!(violated(empty.insert(conn).await).1, "message_feedback_not_empty");
}

#[tokio::test]
async fn a_file_attachment_has_exactly_one_target() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "files").await;
    let file = NewFile {
        id: new_id(),
        organization_id: tree.organization.id,
        project_id: Some(tree.project.id),
        uploaded_by: None,
        filename: "a.txt".into(),
        content_type: "text/plain".into(),
        size_bytes: 1,
        sha256: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb".into(),
        storage_key: "files/a".into(),
        external_id: None,
        chat_id: None,
    }
    .insert(conn)
    .await
    .expect("file");
    let attachment = |chat_id, message_id| NewFileAttachment {
        id: new_id(),
        file_id: file.id,
        assistant_id: None,
        chat_id,
        message_id,
    };
    assert_eq!(
        violated(attachment(None, None).insert(conn).await).1,
        "file_attachments_one_target"
    );
    assert_eq!(
        violated(attachment(Some(tree.chat.id), Some(tree.message.id)).insert(conn).await).1,
        "file_attachments_one_target"
    );
    attachment(Some(tree.chat.id), None)
        .insert(conn)
        .await
        .expect("one target");
    assert_eq!(
        violated(attachment(Some(tree.chat.id), None).insert(conn).await).1,
        "file_attachments_file_id_chat_id_key",
        "a file is attached to a target at most once"
    );
}

#[tokio::test]
async fn quota_usage_never_goes_negative() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "quota").await;
    NewProjectQuota {
        project_id: tree.project.id,
        tokens_limit: Some(10),
        requests_limit: None,
        storage_limit_bytes: None,
        period: chatgraph::db::enums::QuotaPeriod::Daily,
        reset_at: None,
    }
    .insert(conn)
    .await
    .expect("quota");
    let result = diesel::sql_query("UPDATE project_quotas SET tokens_used = tokens_used - 1")
        .execute(conn)
        .await;
    assert_eq!(
        violated(result),
        (
            DatabaseErrorKind::CheckViolation,
            "project_quotas_tokens_used_nonnegative".into()
        )
    );
}

#[tokio::test]
async fn unknown_values_of_closed_sets_are_refused() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "enums").await;
    let result = diesel::sql_query(format!(
        "INSERT INTO messages (chat_id, role, content) VALUES ('{}', 'robot', 'beep')",
        tree.chat.id
    ))
    .execute(conn)
    .await;
    assert_eq!(
        violated(result),
        (DatabaseErrorKind::CheckViolation, "messages_role_check".into())
    );
    let result = diesel::sql_query("INSERT INTO roles (scope, name) VALUES ('galaxy', 'emperor')")
        .execute(conn)
        .await;
    assert_eq!(violated(result).1, "roles_scope_check");
}

#[tokio::test]
async fn emails_are_unique_ignoring_case() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    fixtures::user("Ada@Example.com").insert(conn).await.expect("first");
    assert_eq!(
        violated(fixtures::user("ada@example.COM").insert(conn).await),
        (DatabaseErrorKind::UniqueViolation, "users_email_key".into())
    );
    assert_eq!(
        violated(fixtures::user("not an email").insert(conn).await).1,
        "users_email_format"
    );
}

#[tokio::test]
async fn a_membership_holds_only_a_role_of_its_own_scope() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let tree = fixtures::tree(conn, "scopes").await;
    let project_owner = RoleRow::find_by_name(conn, RoleScope::Project, "owner")
        .await
        .expect("role");
    let result = NewOrganizationMember {
        organization_id: tree.organization.id,
        user_id: tree.user.id,
        role_id: project_owner.id,
        invited_by: None,
    }
    .insert(conn)
    .await;
    assert_eq!(
        violated(result),
        (
            DatabaseErrorKind::ForeignKeyViolation,
            "organization_members_role_fkey".into()
        )
    );
}
