//! Migrations, embedded in the binary and applied under a PostgreSQL advisory lock, so that
//! several replicas starting at once apply each migration exactly once. When nothing is
//! pending, no lock is taken.

use anyhow::Context;
use diesel::{Connection, RunQueryDsl, migration::MigrationSource, pg::Pg};
use diesel_async::{AsyncPgConnection, async_connection_wrapper::AsyncConnectionWrapper};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::{ExposeSecret, SecretString};

/// Every migration under `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key for migrations ("chatgraph" in ASCII, truncated to 63 bits).
const MIGRATION_LOCK: i64 = 0x6368_6174_6772_6170;

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies pending migrations and returns the versions applied (empty when up to date).
pub async fn run(url: &SecretString) -> anyhow::Result<Vec<String>> {
    let url = url.expose_secret().to_owned();
    tokio::task::spawn_blocking(move || run_blocking(&url)).await?
}

fn run_blocking(url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = SyncConn::establish(url).context("connecting to the database to migrate")?;
    // Not Diesel's own pending check: it creates the bookkeeping table, which races when
    // several processes start at once. A failed read means the table is missing: pending.
    let applied = diesel::sql_query(APPLIED_VERSIONS).load::<Version>(&mut conn);
    if applied.is_ok_and(|applied| all_applied(&applied)) {
        return Ok(Vec::new());
    }
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(&mut conn)?;
    // Another replica may have migrated while we waited for the lock: this runs only what is
    // still pending.
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(anyhow::Error::msg);
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(&mut conn)?;
    let applied = applied?;
    tracing::info!(migrations.applied = ?applied, "database migrated");
    Ok(applied)
}

/// Reverts every applied migration, newest first (used by the round-trip test and by
/// `chatgraph migrate --revert-all`).
pub async fn revert_all(url: &SecretString) -> anyhow::Result<Vec<String>> {
    let url = url.expose_secret().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SyncConn::establish(&url)?;
        let reverted = conn.revert_all_migrations(MIGRATIONS).map_err(anyhow::Error::msg)?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    })
    .await?
}

/// The versions of all embedded migrations, oldest first.
pub fn embedded_versions() -> anyhow::Result<Vec<String>> {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS).map_err(anyhow::Error::msg)?;
    Ok(migrations.iter().map(|m| m.name().version().to_string()).collect())
}

const APPLIED_VERSIONS: &str = "SELECT version FROM __diesel_schema_migrations";

#[derive(diesel::deserialize::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn all_applied(applied: &[Version]) -> bool {
    let applied: std::collections::HashSet<&str> = applied.iter().map(|v| v.version.as_str()).collect();
    embedded_versions().is_ok_and(|embedded| embedded.iter().all(|v| applied.contains(v.as_str())))
}

/// True when every embedded migration has been applied (for `/readyz`).
pub async fn is_current(conn: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    let applied: Vec<Version> = diesel_async::RunQueryDsl::load(diesel::sql_query(APPLIED_VERSIONS), conn).await?;
    Ok(all_applied(&applied))
}
