//! Seeding: the platform administrator from configuration and the demo data, both idempotent.

use chatgraph::{
    auth::password,
    db::{enums::RoleScope, schema},
    models::{
        role::RoleRow,
        user::{UserRoleRow, UserRow},
    },
    providers::embedding::OFFLINE_EMBEDDING_MODEL,
    services::seed::{self, DemoSeed},
};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::support::{TestDb, names};

#[tokio::test]
async fn the_admin_is_created_once_with_a_hashed_password_and_updated_on_reseed() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let first = seed::seed_admin(conn, "root@example.com", "a very long passphrase")
        .await
        .expect("seed");
    assert!(first.is_platform_admin);
    let stored = first.password_hash.clone().expect("hash");
    assert!(stored.starts_with("$argon2id$") && !stored.contains("a very long passphrase"));
    let admin_role = RoleRow::find_by_name(conn, RoleScope::Platform, "admin")
        .await
        .expect("role");
    assert_eq!(
        UserRoleRow::for_user(conn, first.id).await.expect("roles")[0].role_id,
        admin_role.id
    );

    let second = seed::seed_admin(conn, "ROOT@example.com", "another long passphrase")
        .await
        .expect("reseed");
    assert_eq!(second.id, first.id, "the same user, not a second one");
    let reread = UserRow::find(conn, first.id).await.expect("find").expect("user");
    assert!(password::verify(
        "another long passphrase",
        reread.password_hash.as_deref().expect("hash")
    ));
    assert!(!password::verify(
        "a very long passphrase",
        reread.password_hash.as_deref().expect("hash")
    ));

    assert!(
        seed::seed_admin(conn, "root@example.com", "short").await.is_err(),
        "the password policy applies"
    );
    assert!(
        seed::seed_admin(conn, "not-an-email", "a very long passphrase")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_demo_data_loads_once_with_embedded_chunks() {
    let db = TestDb::migrated().await;
    let conn = &mut db.conn().await;
    let DemoSeed::Loaded { organization_id } = seed::seed_demo(conn).await.expect("seed") else {
        panic!("the demo data loads into an empty database");
    };
    assert_eq!(
        seed::seed_demo(conn).await.expect("again"),
        DemoSeed::AlreadyPresent { organization_id }
    );

    let emails = names(conn, "SELECT email AS name FROM users ORDER BY email").await;
    assert_eq!(emails, ["admin@example.com", "pm@example.com", "user@example.com"]);
    let chunks: Vec<(Option<String>, Option<pgvector::Vector>)> = schema::document_chunks::table
        .select((
            schema::document_chunks::embedding_model,
            schema::document_chunks::embedding,
        ))
        .load(conn)
        .await
        .expect("chunks");
    assert!(chunks.len() >= 3);
    for (model, embedding) in chunks {
        assert_eq!(model.as_deref(), Some(OFFLINE_EMBEDDING_MODEL));
        assert_eq!(embedding.expect("embedded").as_slice().len(), 1536);
    }
    let members: i64 = schema::organization_members::table
        .filter(schema::organization_members::organization_id.eq(organization_id))
        .count()
        .get_result(conn)
        .await
        .expect("count");
    assert_eq!(members, 3);
    let quota = names(conn, "SELECT tokens_limit::text AS name FROM project_quotas").await;
    assert_eq!(quota, ["1000000"]);
}
