//! The migrated schema: it round-trips, matches the committed `schema.rs`, and carries the
//! rules data-model.md asks for (enums, indexes, triggers).

use std::{collections::BTreeSet, path::Path, process::Command};

use chatgraph::{
    db::{enums::CHECKED_COLUMNS, migrate},
    models::document::{EMBEDDING_DIMENSIONS, indexed_type},
};
use pretty_assertions::assert_eq;
use secrecy::ExposeSecret;

use crate::support::{TestDb, names};

/// Every table of data-model.md.
const TABLES: &[&str] = &[
    "analytics_events",
    "api_tokens",
    "artifact_suggestions",
    "artifacts",
    "assistant_datasources",
    "assistants",
    "audit_logs",
    "chats",
    "credentials",
    "datasources",
    "document_chunks",
    "documents",
    "email_tokens",
    "error_logs",
    "file_attachments",
    "files",
    "jobs",
    "mcp_servers",
    "message_citations",
    "message_feedback",
    "message_streams",
    "messages",
    "organization_invitations",
    "organization_members",
    "organizations",
    "permissions",
    "platform_configs",
    "project_members",
    "project_quotas",
    "project_settings",
    "projects",
    "rate_limit_counters",
    "refresh_tokens",
    "repositories",
    "role_permissions",
    "roles",
    "sessions",
    "usage_events",
    "user_identities",
    "user_roles",
    "users",
    "webhook_deliveries",
    "webhook_subscriptions",
];

#[tokio::test]
async fn migrations_go_up_down_and_up_to_the_same_schema() {
    let db = TestDb::empty().await;
    let applied = migrate::run(&db.url).await.expect("up");
    assert_eq!(applied, migrate::embedded_versions().expect("versions"));
    let first = db.schema_dump();

    let reverted = migrate::revert_all(&db.url).await.expect("down");
    assert_eq!(reverted.len(), applied.len());
    let mut conn = db.conn().await;
    let left = names(
        &mut conn,
        "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public'",
    )
    .await;
    assert_eq!(
        left,
        vec!["__diesel_schema_migrations".to_owned()],
        "down.sql must remove everything up.sql made"
    );
    let extensions = names(
        &mut conn,
        "SELECT extname::text AS name FROM pg_extension WHERE extname = 'vector'",
    )
    .await;
    assert!(
        extensions.is_empty(),
        "the vector extension is dropped by the first migration's down.sql"
    );
    let functions = names(
        &mut conn,
        "SELECT proname::text AS name FROM pg_proc WHERE proname LIKE 'chatgraph_%'",
    )
    .await;
    assert!(functions.is_empty(), "helper functions are dropped: {functions:?}");

    migrate::run(&db.url).await.expect("up again");
    assert_eq!(first, db.schema_dump());
}

#[tokio::test]
async fn every_table_of_the_data_model_exists() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    let tables: BTreeSet<String> = names(
        &mut conn,
        "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '\\_\\_%'",
    )
    .await
    .into_iter()
    .collect();
    let expected: BTreeSet<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(tables, expected);
}

#[tokio::test]
async fn schema_rs_is_what_diesel_print_schema_generates() {
    let db = TestDb::migrated().await;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let diesel = which_diesel();
    let output = Command::new(&diesel)
        .args(["print-schema", "--database-url"])
        .arg(db.url.expose_secret())
        .current_dir(manifest)
        .output()
        .unwrap_or_else(|e| panic!("running {diesel}: {e} (run `make setup` to install diesel_cli)"));
    assert!(
        output.status.success(),
        "diesel print-schema failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).expect("utf-8");
    let committed = std::fs::read_to_string(manifest.join("src/db/schema.rs")).expect("schema.rs");
    assert_eq!(committed, generated, "src/db/schema.rs is stale: run `make schema`");
}

fn which_diesel() -> String {
    let home_bin = std::env::var("HOME")
        .map(|h| format!("{h}/.cargo/bin/diesel"))
        .unwrap_or_default();
    if Path::new(&home_bin).is_file() {
        home_bin
    } else {
        "diesel".to_owned()
    }
}

#[tokio::test]
async fn every_closed_set_is_a_rust_enum_with_the_same_values() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    for (table, column, values) in CHECKED_COLUMNS {
        let definitions = names(
            &mut conn,
            &format!(
                "SELECT pg_get_constraintdef(c.oid) AS name FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
             WHERE c.contype = 'c' AND c.conrelid = '{table}'::regclass AND a.attname = '{column}' \
             AND cardinality(c.conkey) = 1"
            ),
        )
        .await;
        assert_eq!(definitions.len(), 1, "{table}.{column} has one CHECK constraint");
        let in_database: BTreeSet<&str> = definitions[0].split('\'').skip(1).step_by(2).collect();
        let in_rust: BTreeSet<&str> = values.iter().copied().collect();
        assert_eq!(in_database, in_rust, "{table}.{column}");
    }

    // And the other way round: every closed set in the database has an enum.
    let closed_sets = names(
        &mut conn,
        "SELECT c.conrelid::regclass::text || '.' || a.attname AS name FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
         WHERE c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%= ANY (ARRAY[''%' AND cardinality(c.conkey) = 1",
    )
    .await;
    let covered: BTreeSet<String> = CHECKED_COLUMNS.iter().map(|(t, c, _)| format!("{t}.{c}")).collect();
    for set in closed_sets {
        assert!(covered.contains(&set), "{set} is a closed set without a Rust enum");
    }
}

#[tokio::test]
async fn every_foreign_key_is_indexed() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    let unindexed = names(
        &mut conn,
        "SELECT c.conname::text AS name FROM pg_constraint c WHERE c.contype = 'f' AND NOT EXISTS ( \
           SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid \
           AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey \
           AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)",
    )
    .await;
    assert!(unindexed.is_empty(), "foreign keys without an index: {unindexed:?}");
}

#[tokio::test]
async fn every_updated_at_column_is_kept_by_a_trigger() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    let missing = names(
        &mut conn,
        "SELECT table_name::text AS name FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'updated_at' AND NOT EXISTS ( \
           SELECT 1 FROM pg_trigger t WHERE t.tgrelid = (quote_ident(table_name))::regclass AND t.tgname = 'set_updated_at')",
    )
    .await;
    assert!(
        missing.is_empty(),
        "tables whose updated_at no trigger keeps: {missing:?}"
    );
}

#[tokio::test]
async fn the_vector_and_full_text_indexes_exist() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    let indexes = names(
        &mut conn,
        "SELECT indexdef AS name FROM pg_indexes WHERE tablename = 'document_chunks' ORDER BY indexname",
    )
    .await
    .join("\n");
    // One partial HNSW index per supported dimension, and a CHECK naming the same dimensions.
    for dimensions in EMBEDDING_DIMENSIONS {
        let typed = indexed_type(dimensions).expect("supported");
        let ops = if typed.starts_with("halfvec") {
            "halfvec"
        } else {
            "vector"
        };
        assert!(
            indexes.contains(&format!(
                "USING hnsw (((embedding)::{typed}) {ops}_cosine_ops) WHERE (vector_dims(embedding) = {dimensions})"
            )),
            "{dimensions}: {indexes}"
        );
    }
    let check = names(
        &mut conn,
        "SELECT pg_get_constraintdef(oid) AS name FROM pg_constraint WHERE conname = 'document_chunks_embedding_dimensions'",
    )
    .await
    .join("");
    let listed: Vec<String> = EMBEDDING_DIMENSIONS.iter().map(ToString::to_string).collect();
    assert!(check.contains(&format!("ARRAY[{}]", listed.join(", "))), "{check}");
    assert!(
        indexes.contains("USING gin (to_tsvector('simple'::regconfig, content))"),
        "{indexes}"
    );
}

#[tokio::test]
async fn migrate_is_a_no_op_when_current_and_safe_to_run_concurrently() {
    let db = TestDb::empty().await;
    let (first, second) = tokio::join!(migrate::run(&db.url), migrate::run(&db.url));
    let mut applied = first.expect("first migrate");
    applied.extend(second.expect("second migrate"));
    applied.sort();
    assert_eq!(
        applied,
        migrate::embedded_versions().expect("versions"),
        "each migration applied exactly once"
    );
    assert!(migrate::run(&db.url).await.expect("third migrate").is_empty());
    let mut conn = db.conn().await;
    assert!(migrate::is_current(&mut conn).await.expect("check"));
}

#[tokio::test]
async fn roles_and_permissions_are_seeded() {
    let db = TestDb::migrated().await;
    let mut conn = db.conn().await;
    let roles = names(&mut conn, "SELECT scope || '.' || name AS name FROM roles ORDER BY 1").await;
    assert_eq!(
        roles,
        [
            "organization.admin",
            "organization.member",
            "organization.owner",
            "platform.admin",
            "platform.project_manager",
            "platform.user",
            "project.admin",
            "project.member",
            "project.owner",
            "project.viewer",
        ]
        .map(String::from)
    );
    let viewer = names(
        &mut conn,
        "SELECT p.name FROM role_permissions rp JOIN roles r ON r.id = rp.role_id \
         JOIN permissions p ON p.id = rp.permission_id WHERE r.scope = 'project' AND r.name = 'viewer' ORDER BY 1",
    )
    .await;
    assert_eq!(
        viewer,
        ["chat.read", "documents.read", "project.read"].map(String::from),
        "a viewer only reads"
    );
}
