//! Configuration: command-line flags that fall back to environment variables, parsed once at
//! start into typed structs (no global statics). Every variable is listed in `.env.example`
//! and the README; `chatgraph <command> --help` shows them with their defaults.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use secrecy::SecretString;

use crate::graphql::document_limits::Introspection;

/// Where the database is and how to talk to it.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL (the server needs the pgvector extension). Without it,
    /// chatgraph runs a private PostgreSQL cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    #[command(flatten)]
    pub cluster: ClusterConfig,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "CHATGRAPH_DB_POOL_SIZE", default_value_t = 10)]
    pub pool_size: usize,

    /// Longest a single SQL statement may run, in milliseconds.
    #[arg(long, env = "CHATGRAPH_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,
}

impl DatabaseConfig {
    /// The configured URL as a secret (it may carry a password).
    pub fn url(&self) -> Option<SecretString> {
        self.database_url.clone().map(SecretString::from)
    }

    /// The statement timeout as a duration.
    pub fn statement_timeout(&self) -> Duration {
        Duration::from_millis(self.statement_timeout_ms)
    }
}

/// Where the private local PostgreSQL cluster lives and which binaries run it.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterConfig {
    /// Directory for local state: the private PostgreSQL cluster when no DATABASE_URL is set.
    #[arg(long, env = "CHATGRAPH_DATA_DIR", default_value = ".chatgraph")]
    pub data_dir: PathBuf,

    /// Directory of the PostgreSQL server binaries (initdb, pg_ctl) for the private cluster.
    #[arg(long, env = "CHATGRAPH_PG_BIN", default_value = "/usr/lib/postgresql/15/bin")]
    pub pg_bin: PathBuf,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Address and port to listen on.
    #[arg(long, env = "CHATGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CHATGRAPH_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` names
    /// the client; unset, none is trusted and the TCP peer is the client.
    #[arg(long, env = "CHATGRAPH_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Who may introspect the schema (`__schema`, `__type`): `on` (everyone; `make run` sets
    /// it), `authenticated` (signed-in callers) or `off`. `/schema.graphql` stays public.
    #[arg(long, env = "CHATGRAPH_INTROSPECTION", value_enum, default_value_t = Introspection::Authenticated)]
    pub introspection: Introspection,

    /// Longest a request may take before it is answered with 408, in seconds.
    #[arg(long, env = "CHATGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub files: FilesConfig,

    #[command(flatten)]
    pub models: ModelsConfig,

    #[command(flatten)]
    pub jobs: JobsConfig,

    /// How long a DataLoader waits for more keys before it loads a batch, in milliseconds.
    /// The keys of one level of a query arrive while its resolvers are polled, which can take
    /// a few milliseconds for hundreds of objects on a busy machine; a batch that starts
    /// before they are all in splits in two (one more SQL statement, never one per row).
    #[arg(long, env = "CHATGRAPH_LOADER_DELAY_MS", default_value_t = 0)]
    pub loader_delay_ms: u64,

    /// Directory with GraphiQL's scripts (fetched by `make setup`); without them the GraphiQL
    /// page loads its scripts from the unpkg CDN.
    #[arg(long, env = "CHATGRAPH_GRAPHIQL_ASSETS", default_value = "vendor/graphiql")]
    pub graphiql_assets: PathBuf,
}

/// The background job workers (see `jobs` and `docs/jobs.md`).
#[derive(Debug, Clone, clap::Args)]
pub struct JobsConfig {
    /// How many jobs this process runs at the same time (0: none; jobs then wait for a
    /// `chatgraph worker`).
    #[arg(long, env = "CHATGRAPH_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// How long a worker holds a job without renewing its lease, in seconds; a job whose
    /// worker died runs again once it ends.
    #[arg(long, env = "CHATGRAPH_JOB_LEASE_SECS", default_value_t = 30)]
    pub job_lease_secs: u64,

    /// How often idle workers look for jobs when no notice woke them, in seconds.
    #[arg(long, env = "CHATGRAPH_JOB_POLL_SECS", default_value_t = 5)]
    pub job_poll_secs: u64,

    /// How long finished jobs stay visible before the maintenance job deletes them, in days.
    #[arg(long, env = "CHATGRAPH_JOB_RETENTION_DAYS", default_value_t = 7)]
    pub job_retention_days: u64,
}

impl JobsConfig {
    /// The worker settings this configuration names.
    pub fn settings(&self) -> anyhow::Result<crate::jobs::Settings> {
        anyhow::ensure!(self.job_lease_secs >= 3, "CHATGRAPH_JOB_LEASE_SECS must be at least 3");
        anyhow::ensure!(self.job_poll_secs > 0, "CHATGRAPH_JOB_POLL_SECS must be positive");
        let defaults = crate::jobs::Settings::default();
        Ok(crate::jobs::Settings {
            concurrency: self.workers,
            lease: std::time::Duration::from_secs(self.job_lease_secs),
            poll: std::time::Duration::from_secs(self.job_poll_secs),
            retention: crate::jobs::maintenance::Retention {
                jobs: std::time::Duration::from_secs(self.job_retention_days.saturating_mul(24 * 60 * 60)),
                ..defaults.retention
            },
            ..defaults
        })
    }
}

/// Settings of `chatgraph worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub jobs: JobsConfig,

    /// The encryption key (webhook secrets), mail and where webhooks may go, as for `serve`.
    #[command(flatten)]
    pub auth: AuthConfig,

    /// The providers (embedding models for indexing documents), as for `serve`.
    #[command(flatten)]
    pub models: ModelsConfig,

    /// Where uploaded files are (documents read from files), as for `serve`.
    #[command(flatten)]
    pub files: FilesConfig,
}

/// The model providers and how answers stream (see `providers::registry` and
/// `docs/streaming.md`).
#[derive(Debug, Clone, clap::Args)]
pub struct ModelsConfig {
    /// The model providers, a JSON list (`[{"name", "kind": "openai", "base_url",
    /// "api_key" | "api_key_env", "models": [{"id", "context_window", "input_per_mtok",
    /// "output_per_mtok", "cached_input_per_mtok"}]}]`).
    #[arg(long, env = "CHATGRAPH_PROVIDERS", hide_env_values = true)]
    pub providers: Option<String>,

    /// Whether the built-in offline model (`offline`) is offered.
    #[arg(long, env = "CHATGRAPH_OFFLINE_MODEL", default_value_t = true, action = clap::ArgAction::Set)]
    pub offline_model: bool,

    /// How many words a second the offline model emits (0: as fast as it can).
    #[arg(long, env = "CHATGRAPH_OFFLINE_TOKENS_PER_SEC", default_value_t = 40.0)]
    pub offline_tokens_per_sec: f64,

    /// The embedding model of documents outside any datasource and the default of new
    /// datasources (`provider/model`, of the providers' `embedding_models`).
    #[arg(long, env = "CHATGRAPH_EMBEDDING_MODEL", default_value = crate::providers::embedding::OFFLINE_EMBEDDING_MODEL)]
    pub embedding_model: String,

    /// How long a generation whose server stopped stays `streaming` before any replica marks
    /// it failed (`interrupted`), in seconds.
    #[arg(long, env = "CHATGRAPH_STREAM_LEASE_SECS", default_value_t = 30)]
    pub stream_lease_secs: u64,

    /// The GitHub REST API the `github` tools read connected repositories through.
    #[arg(long, env = "CHATGRAPH_GITHUB_API_URL", default_value = crate::services::tools::github::GITHUB_API)]
    pub github_api_url: String,
}

impl ModelsConfig {
    /// The providers this configuration names.
    pub fn providers(&self) -> anyhow::Result<crate::providers::registry::Providers> {
        crate::providers::registry::Providers::from_config(
            self.providers.as_deref(),
            self.offline_model.then_some(self.offline_tokens_per_sec),
        )?
        .with_default_embedding(&self.embedding_model)
    }
}

/// Where uploaded files are kept, and how large they may be.
#[derive(Debug, Clone, clap::Args)]
pub struct FilesConfig {
    /// Object storage for uploaded files: `s3://bucket/prefix` (S3 or any S3-compatible
    /// service, configured by the usual `AWS_*` variables such as `AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`) or `file:///absolute/dir`. Unset: the `files`
    /// directory inside the data directory.
    #[arg(long, env = "CHATGRAPH_STORAGE_URL")]
    pub storage_url: Option<String>,

    /// Largest file an upload may carry, in bytes.
    #[arg(long, env = "CHATGRAPH_MAX_UPLOAD_BYTES", default_value_t = 25 << 20)]
    pub max_upload_bytes: usize,
}

/// Token, encryption and sign-in limit settings.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// Secret that signs access tokens (at least 32 bytes). Unset: a random secret generated
    /// once in the data directory (development only).
    #[arg(long, env = "CHATGRAPH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// How long an access token is valid, in seconds.
    #[arg(long, env = "CHATGRAPH_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: i64,

    /// How long a refresh token (and an idle session) lives, in days.
    #[arg(long, env = "CHATGRAPH_REFRESH_TOKEN_TTL_DAYS", default_value_t = 30)]
    pub refresh_token_ttl_days: i64,

    /// Key(s) encrypting provider credentials at rest: one base64 AES-256 key, or
    /// `VERSION:BASE64` entries separated by commas, current key first (rotation). Unset: a
    /// random key generated once in the data directory (development only).
    #[arg(long, env = "CHATGRAPH_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,

    /// OpenID Connect providers for `signInWithIdToken`, as a JSON list of
    /// `{"name", "issuers", "audiences", "jwks"}` (jwks: an HTTPS URL or a file path).
    #[arg(long, env = "CHATGRAPH_OIDC_PROVIDERS")]
    pub oidc_providers: Option<String>,

    /// Failed sign-ins allowed per email and client address pair and hour (after the third,
    /// each waits twice as long as the last).
    #[arg(long, env = "CHATGRAPH_SIGN_IN_FAILURES_PER_EMAIL_AND_ADDRESS", default_value_t = 10)]
    pub sign_in_failures_per_email_and_address: i32,

    /// Sign-ups allowed per client address and hour.
    #[arg(long, env = "CHATGRAPH_SIGN_UPS_PER_ADDRESS", default_value_t = 20)]
    pub sign_ups_per_address: i32,

    /// Failed sign-ins allowed per client address and hour.
    #[arg(long, env = "CHATGRAPH_SIGN_IN_FAILURES_PER_ADDRESS", default_value_t = 100)]
    pub sign_in_failures_per_address: i32,

    /// Let webhooks go to `http://` URLs and to loopback, private and link-local addresses
    /// (development and tests only: in production it opens the private network to tenants).
    #[arg(long, env = "CHATGRAPH_ALLOW_PRIVATE_WEBHOOKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_webhooks: bool,

    #[command(flatten)]
    pub mail: MailConfig,
}

/// Outgoing mail (address confirmation, password reset, invitations).
#[derive(Debug, Clone, clap::Args)]
pub struct MailConfig {
    /// SMTP server mail is sent through: `smtp://user:password@host:587` (STARTTLS) or
    /// `smtps://user:password@host:465`. Unset: mail is written to the log and to the outbox
    /// directory (development only).
    #[arg(long, env = "CHATGRAPH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of chatgraph's mail.
    #[arg(long, env = "CHATGRAPH_MAIL_FROM", default_value = "chatgraph <no-reply@localhost>")]
    pub mail_from: String,

    /// Where mail goes without SMTP, one `.eml` file each. Unset: `outbox` in the data
    /// directory.
    #[arg(long, env = "CHATGRAPH_MAIL_OUTBOX")]
    pub mail_outbox: Option<PathBuf>,

    /// The front end's base URL, which links in mail point at (`/confirm-email?token=…`,
    /// `/reset-password?token=…`, `/accept-invitation?token=…`).
    #[arg(long, env = "CHATGRAPH_APP_URL", default_value = "http://127.0.0.1:8080")]
    pub app_url: String,
}

impl Default for MailConfig {
    /// The defaults of the command line: no SMTP, the data directory's outbox.
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            mail_from: "chatgraph <no-reply@localhost>".to_owned(),
            mail_outbox: None,
            app_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// Who the platform administrator is (for `chatgraph seed`).
#[derive(Debug, Clone, clap::Args)]
pub struct AdminConfig {
    /// Email of the platform administrator that `seed` creates or updates.
    #[arg(long, env = "CHATGRAPH_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of that administrator (at least 12 characters).
    #[arg(long, env = "CHATGRAPH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

/// One trusted proxy: an address (`10.0.0.7`) or a CIDR range (`10.0.0.0/8`).
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a CIDR range"))
}
