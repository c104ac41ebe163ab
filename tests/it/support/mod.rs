//! Test support: a real PostgreSQL with pgvector for every test. The private cluster of
//! `chatgraph::db::cluster` is started once (or reused) under `CHATGRAPH_TEST_DATA_DIR` (set
//! by the Makefile; `target/tmp/pg` when unset); a template
//! database is migrated once per set of migrations; each test gets its own database cloned
//! from the template, so tests are isolated and run in parallel. Set
//! `CHATGRAPH_TEST_DATABASE_URL` (a URL to a maintenance database such as `postgres`) to use
//! another server instead.

#![allow(dead_code)]

mod api;
pub mod browser;
pub mod fixtures;
pub mod mail;
mod team;

pub use api::{Api, PASSWORD, SESSION, SIGN_IN, SIGN_UP, token};
pub use team::Team;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use chatgraph::db::{
    self, Pool,
    cluster::{LocalCluster, quote_ident},
    migrate,
};
use diesel::{OptionalExtension, QueryableByName, sql_types::Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The PostgreSQL server binaries used by the tests.
pub fn pg_bin() -> PathBuf {
    std::env::var_os("CHATGRAPH_PG_BIN").map_or_else(|| "/usr/lib/postgresql/15/bin".into(), PathBuf::from)
}

/// The test cluster (not started yet).
pub fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let root = std::env::var_os("CHATGRAPH_TEST_DATA_DIR")
            .map_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("pg"), PathBuf::from);
        LocalCluster::new(&root, &pg_bin()).expect("test cluster")
    })
}

/// URL of a maintenance database on the test server, starting the test cluster if needed.
pub async fn server_url() -> SecretString {
    if let Ok(url) = std::env::var("CHATGRAPH_TEST_DATABASE_URL") {
        return SecretString::from(url);
    }
    tokio::task::spawn_blocking(|| cluster().ensure_running())
        .await
        .expect("join")
        .expect("start test cluster");
    cluster().url("postgres")
}

/// The same server, another database.
pub fn with_database(server: &SecretString, database: &str) -> SecretString {
    let url = server.expose_secret();
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    SecretString::from(match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    })
}

async fn connect(url: &SecretString) -> AsyncPgConnection {
    AsyncPgConnection::establish(url.expose_secret())
        .await
        .expect("connect to test server")
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A fingerprint of everything under `migrations/`, so a changed migration gets a new template.
fn migrations_fingerprint() -> String {
    fn visit(dir: &Path, hasher: &mut Sha256) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("migrations dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                visit(&path, hasher);
            } else {
                hasher.update(path.to_string_lossy().as_bytes());
                hasher.update(fs::read(&path).expect("migration file"));
            }
        }
    }
    let mut hasher = Sha256::new();
    visit(&Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"), &mut hasher);
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Name of the migrated template database, creating it once (under a file lock shared by all
/// test processes).
async fn template(server: &SecretString) -> String {
    let name = format!("chatgraph_template_{}", migrations_fingerprint());
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("template.lock");
    let lock = tokio::task::spawn_blocking(move || {
        let file = fs::File::create(lock_path).expect("lock file");
        file.lock().expect("lock");
        file
    })
    .await
    .expect("join");
    let mut conn = connect(server).await;
    let existing: Vec<Name> =
        diesel::sql_query("SELECT datname AS name FROM pg_database WHERE datname LIKE 'chatgraph_template_%'")
            .load(&mut conn)
            .await
            .expect("list templates");
    if !existing.iter().any(|t| t.name == name) {
        for stale in &existing {
            diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&stale.name)))
                .execute(&mut conn)
                .await
                .expect("drop stale template");
        }
        let building = format!("{name}_building");
        diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&building)))
            .execute(&mut conn)
            .await
            .expect("create template");
        migrate::run(&with_database(server, &building))
            .await
            .expect("migrate template");
        diesel::sql_query(format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&building),
            quote_ident(&name)
        ))
        .execute(&mut conn)
        .await
        .expect("publish template");
    }
    drop(lock);
    name
}

/// A database of one test, dropped when the test ends.
pub struct TestDb {
    server: SecretString,
    /// The database's name.
    pub name: String,
    /// Its URL.
    pub url: SecretString,
}

impl TestDb {
    /// A fresh, fully migrated database.
    pub async fn migrated() -> TestDb {
        let server = server_url().await;
        let template = template(&server).await;
        Self::create(server, Some(&template)).await
    }

    /// A fresh, empty database (no migrations applied).
    pub async fn empty() -> TestDb {
        Self::create(server_url().await, None).await
    }

    async fn create(server: SecretString, template: Option<&str>) -> TestDb {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Some(template) = template {
            sql.push_str(&format!(" TEMPLATE {}", quote_ident(template)));
        }
        diesel::sql_query(sql)
            .execute(&mut connect(&server).await)
            .await
            .expect("create test database");
        let url = with_database(&server, &name);
        TestDb { server, name, url }
    }

    /// A pool on this database.
    pub fn pool(&self) -> Pool {
        db::pool(&self.url, 8, Duration::from_secs(30)).expect("pool")
    }

    /// One connection to this database.
    pub async fn conn(&self) -> AsyncPgConnection {
        connect(&self.url).await
    }

    /// `pg_dump --data-only` of this database, lower-cased: for checking that no secret is
    /// stored in clear.
    pub fn data_dump(&self) -> String {
        let output = Command::new(pg_bin().join("pg_dump"))
            .args(["--data-only", "--dbname"])
            .arg(self.url.expose_secret())
            .output()
            .expect("run pg_dump");
        assert!(output.status.success(), "pg_dump failed");
        String::from_utf8_lossy(&output.stdout).to_lowercase()
    }

    /// Whether `secret` appears in the data of this database, as text or as bytes (hex).
    pub fn stores_in_clear(&self, secret: &str) -> bool {
        let dump = self.data_dump();
        let secret = secret.to_lowercase();
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        dump.contains(&secret) || dump.contains(&hex)
    }

    /// `pg_dump --schema-only` of this database.
    pub fn schema_dump(&self) -> String {
        let output = Command::new(pg_bin().join("pg_dump"))
            .args(["--schema-only", "--no-owner", "--no-privileges", "--dbname"])
            .arg(self.url.expose_secret())
            .output()
            .expect("run pg_dump");
        assert!(
            output.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // pg_dump writes a random `\restrict` key into every dump: not part of the schema.
        String::from_utf8(output.stdout)
            .expect("utf-8 dump")
            .lines()
            .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Synchronous on purpose: Drop cannot await. Failures only leave a database behind.
        let _ = Command::new(pg_bin().join("dropdb"))
            .args(["--if-exists", "--force", "--maintenance-db"])
            .arg(self.server.expose_secret())
            .arg(&self.name)
            .output();
    }
}

/// Runs `query` and returns the single text column `name` of each row.
pub async fn names(conn: &mut AsyncPgConnection, query: &str) -> Vec<String> {
    let rows: Vec<Name> = diesel::sql_query(query).load(conn).await.expect("query");
    rows.into_iter().map(|r| r.name).collect()
}

/// Runs `query` expecting at most one row with a text column `name`.
pub async fn name(conn: &mut AsyncPgConnection, query: &str) -> Option<String> {
    diesel::sql_query(query)
        .get_result::<Name>(conn)
        .await
        .optional()
        .expect("query")
        .map(|r| r.name)
}

/// The credential encryption key of the tests (base64 of 32 bytes).
pub const TEST_ENCRYPTION_KEY: &str = "dGVzdCBrZXkgb2YgZXhhY3RseSB0aGlydHktdHdvIGI=";

/// Token settings for tests (a fixed secret; 15-minute access tokens, 30-day refresh tokens;
/// 5 failed sign-ins per email and address pair and 8 per client address an hour, 50
/// sign-ups per address an hour).
pub fn authenticator() -> std::sync::Arc<chatgraph::services::auth::Authenticator> {
    authenticator_with_oidc(None)
}

/// [`authenticator`] with these OpenID Connect providers (`CHATGRAPH_OIDC_PROVIDERS` JSON).
pub fn authenticator_with_oidc(providers: Option<String>) -> std::sync::Arc<chatgraph::services::auth::Authenticator> {
    authenticator_from(chatgraph::config::AuthConfig {
        oidc_providers: providers,
        ..auth_config()
    })
}

/// The settings an in-process server gets from `config`.
pub fn authenticator_from(
    config: chatgraph::config::AuthConfig,
) -> std::sync::Arc<chatgraph::services::auth::Authenticator> {
    std::sync::Arc::new(chatgraph::app::authenticator(&config, Path::new("unused")).expect("authenticator"))
}

/// The settings of [`authenticator`]; mail goes to this process's outbox ([`mail::outbox`]).
pub fn auth_config() -> chatgraph::config::AuthConfig {
    chatgraph::config::AuthConfig {
        jwt_secret: Some("test secret of at least thirty-two bytes".into()),
        access_token_ttl_secs: 900,
        refresh_token_ttl_days: 30,
        encryption_key: Some(TEST_ENCRYPTION_KEY.into()),
        oidc_providers: None,
        sign_in_failures_per_email_and_address: 5,
        sign_in_failures_per_address: 8,
        sign_ups_per_address: 50,
        allow_private_webhooks: false,
        mail: chatgraph::config::MailConfig {
            mail_outbox: Some(mail::outbox()),
            ..Default::default()
        },
    }
}

/// Serves the app on a loopback port, as `chatgraph serve` does (with peer addresses).
pub async fn spawn_app(pool: Pool, settings: chatgraph::http::HttpSettings) -> std::net::SocketAddr {
    spawn_app_with(pool, settings, authenticator()).await
}

/// [`spawn_app`] with other token settings.
pub async fn spawn_app_with(
    pool: Pool,
    settings: chatgraph::http::HttpSettings,
    authenticator: std::sync::Arc<chatgraph::services::auth::Authenticator>,
) -> std::net::SocketAddr {
    serve_state(app_state(pool, authenticator, file_store(&files_dir())), settings).await
}

/// The state of an in-process server: the offline model only (as fast as it can), notices
/// delivered within the process.
pub fn app_state(
    pool: Pool,
    authenticator: std::sync::Arc<chatgraph::services::auth::Authenticator>,
    files: chatgraph::storage::FileStore,
) -> chatgraph::app::AppState {
    let generations = chatgraph::services::generation::Generations::start_service(
        pool.clone(),
        chatgraph::providers::registry::Providers::offline(0.0),
        authenticator.clone(),
        chatgraph::pubsub::PubSub::local(),
        chatgraph::services::generation::Settings::default(),
    );
    chatgraph::app::AppState {
        pool,
        schema: chatgraph::graphql::schema(),
        authenticator,
        loader_delay: Duration::ZERO,
        operation_timeout: Duration::from_secs(30),
        files,
        generations,
    }
}

/// Serves the app with its uploaded files in `files` (a directory the test can inspect).
pub async fn spawn_app_with_files(pool: Pool, files: &Path) -> std::net::SocketAddr {
    serve_state(app_state(pool, authenticator(), file_store(files)), http_settings()).await
}

/// Serves a loopback stand-in (a provider, a web page, a webhook receiver, an MCP server)
/// on a free port of its own; its address.
pub async fn serve_loopback(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// Serves the app with this state on a loopback port, as `chatgraph serve` does.
pub async fn serve_state(
    state: chatgraph::app::AppState,
    settings: chatgraph::http::HttpSettings,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = chatgraph::http::router(state, &settings);
    tokio::spawn(async move {
        axum::serve(
            chatgraph::http::accepting(listener),
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    address
}

/// The upload limit of in-process servers.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024;

/// A fresh directory for a test server's uploaded files (in the temp directory).
pub fn files_dir() -> PathBuf {
    std::env::temp_dir().join(format!("chatgraph-test-files-{}", chatgraph::db::new_id()))
}

/// A local file store in `dir` with the test upload limit.
pub fn file_store(dir: &Path) -> chatgraph::storage::FileStore {
    chatgraph::storage::FileStore::local(dir, MAX_UPLOAD_BYTES).expect("file store")
}

/// Settings for in-process servers: a 64 KiB body and upload limit, no local GraphiQL assets.
pub fn http_settings() -> chatgraph::http::HttpSettings {
    chatgraph::http::HttpSettings {
        max_body_bytes: 64 * 1024,
        max_upload_bytes: MAX_UPLOAD_BYTES,
        request_timeout: Duration::from_secs(10),
        graphiql_assets: "does/not/exist".into(),
        trusted_proxies: Vec::new(),
    }
}

/// The `extensions.code` of a response's first error ("none" without errors).
pub fn code(answer: &serde_json::Value) -> &str {
    answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

/// The `userErrors` of a mutation payload as `field.path:CODE` strings.
pub fn user_errors(payload: &serde_json::Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| {
            // A failure of the request as a whole has no field (null).
            let field: Vec<&str> = e["field"]
                .as_array()
                .map(|path| path.iter().filter_map(serde_json::Value::as_str).collect())
                .unwrap_or_default();
            format!("{}:{}", field.join("."), e["code"].as_str().expect("code"))
        })
        .collect()
}

/// The audit trail of `action`, oldest first, as `status:error codes:actor email` strings.
pub async fn audit_trail(db: &TestDb, action: &str) -> Vec<String> {
    let conn = &mut db.conn().await;
    let query = format!(
        "SELECT a.status || ':' || coalesce(a.error_message, '') || ':' || coalesce(u.email, '-') AS name \
         FROM audit_logs a LEFT JOIN users u ON u.id = a.actor_user_id WHERE a.action = '{action}' ORDER BY a.created_at"
    );
    names(conn, &query).await
}

/// Makes the user with `email` a platform admin (there is no API for that, by design).
pub async fn make_platform_admin(db: &TestDb, email: &str) {
    let conn = &mut db.conn().await;
    let id = chatgraph::models::user::UserRow::find_by_email(conn, email)
        .await
        .expect("find")
        .expect("user")
        .id;
    chatgraph::models::user::UserPatch {
        is_platform_admin: Some(true),
        ..Default::default()
    }
    .apply(conn, id)
    .await
    .expect("platform admin");
}

/// chatgraph's own job workers on `db`, polling every 100 ms, without the maintenance job.
pub fn workers(db: &TestDb) -> chatgraph::jobs::Workers {
    workers_with(db, authenticator())
}

/// [`workers`] with these settings (`authenticator`: keys, and where webhooks may go), and
/// retries 100 ms apart.
pub fn workers_with(
    db: &TestDb,
    authenticator: std::sync::Arc<chatgraph::services::auth::Authenticator>,
) -> chatgraph::jobs::Workers {
    workers_on(
        db,
        chatgraph::services::ingestion::Indexer {
            providers: chatgraph::providers::registry::Providers::offline(0.0),
            auth: authenticator,
            files: file_store(&files_dir()),
        },
    )
}

/// [`workers_with`] what `indexer` holds (providers, settings, the uploaded files).
pub fn workers_on(db: &TestDb, indexer: chatgraph::services::ingestion::Indexer) -> chatgraph::jobs::Workers {
    chatgraph::jobs::Workers::start(
        db.pool(),
        &chatgraph::pubsub::PubSub::local(),
        chatgraph::jobs::Handlers::standard(chatgraph::jobs::maintenance::Retention::default(), indexer),
        chatgraph::jobs::Settings {
            poll: Duration::from_millis(100),
            maintenance_every: None,
            backoff: chatgraph::models::job::Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_millis(100),
            },
            ..chatgraph::jobs::Settings::default()
        },
    )
}

/// The test settings ([`authenticator`]) with webhooks allowed to loopback receivers
/// (`CHATGRAPH_ALLOW_PRIVATE_WEBHOOKS`).
pub fn authenticator_allowing_private_webhooks() -> std::sync::Arc<chatgraph::services::auth::Authenticator> {
    authenticator_from(chatgraph::config::AuthConfig {
        allow_private_webhooks: true,
        ..auth_config()
    })
}
