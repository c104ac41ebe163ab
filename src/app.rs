//! Wiring: finding (or starting) the database, migrating, seeding, and serving HTTP until
//! Ctrl-C or SIGTERM.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::{
    auth::{crypto, oidc::OidcProviders, tokens::AccessTokens},
    config::{AuthConfig, DatabaseConfig, JobsConfig, ServeConfig, WorkerConfig},
    db::{self, cluster::LocalCluster, migrate},
    graphql::{self},
    http::{self, HttpSettings},
    jobs::{Handlers, Workers},
    mail::Mailer,
    pubsub::PubSub,
    services::{
        auth::Authenticator,
        auth_limits::AuthLimits,
        generation::{self, Generations},
        ingestion::Indexer,
        seed,
    },
    storage::FileStore,
};

/// The database name used in the private local cluster.
pub const LOCAL_DATABASE: &str = "chatgraph";

pub use crate::http::AppState;

/// The file store of `config`: its storage URL, or the `files` directory of the data dir.
pub fn file_store(config: &crate::config::FilesConfig, data_dir: &Path) -> anyhow::Result<FileStore> {
    match &config.storage_url {
        Some(url) => FileStore::from_url(url, config.max_upload_bytes),
        None => FileStore::local(&data_dir.join("files"), config.max_upload_bytes),
    }
}

/// Builds the token and encryption settings: the configured JWT secret and encryption key, or
/// development ones kept in the data directory.
pub fn authenticator(config: &AuthConfig, data_dir: &Path) -> anyhow::Result<Authenticator> {
    let secret = match &config.jwt_secret {
        Some(secret) => SecretString::from(secret.clone()),
        None => crypto::load_or_create_dev_secret(data_dir, crypto::DEV_JWT_SECRET_FILE, "CHATGRAPH_JWT_SECRET")?,
    };
    anyhow::ensure!(
        config.access_token_ttl_secs > 0,
        "CHATGRAPH_ACCESS_TOKEN_TTL_SECS must be positive"
    );
    anyhow::ensure!(
        config.refresh_token_ttl_days > 0,
        "CHATGRAPH_REFRESH_TOKEN_TTL_DAYS must be positive"
    );
    anyhow::ensure!(
        config.sign_in_failures_per_email_and_address > 0 && config.sign_in_failures_per_address > 0,
        "CHATGRAPH_SIGN_IN_FAILURES_PER_EMAIL_AND_ADDRESS and CHATGRAPH_SIGN_IN_FAILURES_PER_ADDRESS must be positive"
    );
    let encryption_key = match &config.encryption_key {
        Some(key) => SecretString::from(key.clone()),
        None => crypto::load_or_create_dev_secret(data_dir, crypto::DEV_KEY_FILE, "CHATGRAPH_ENCRYPTION_KEY")?,
    };
    let keyring = crypto::Keyring::parse(&encryption_key).context("CHATGRAPH_ENCRYPTION_KEY")?;
    let oidc = OidcProviders::from_config(config.oidc_providers.as_deref())?;
    let outbox = match &config.mail.mail_outbox {
        Some(dir) => dir.clone(),
        None => data_dir.join("outbox"),
    };
    let mail = Mailer::new(
        config.mail.smtp_url.as_deref(),
        &outbox,
        &config.mail.mail_from,
        &config.mail.app_url,
    )?;
    Ok(Authenticator {
        keyring,
        oidc,
        mail: std::sync::Arc::new(mail),
        outbound: crate::outbound::Policy {
            allow_private: config.allow_private_webhooks,
            allow_http: false,
        },
        access_tokens: AccessTokens::new(
            &secret,
            ISSUER,
            AUDIENCE,
            chrono::Duration::seconds(config.access_token_ttl_secs),
        )?,
        refresh_lifetime: chrono::Duration::days(config.refresh_token_ttl_days),
        limits: AuthLimits {
            per_email_address: config.sign_in_failures_per_email_and_address,
            per_address: config.sign_in_failures_per_address,
            sign_ups_per_address: config.sign_ups_per_address,
        },
    })
}

/// The `iss` and `aud` of access tokens.
pub const ISSUER: &str = "chatgraph";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "chatgraph-api";

/// A database ready for use: either the configured one or the private local cluster.
pub struct Database {
    /// Its connection URL.
    pub url: SecretString,
    /// Whether the database was created by this call (a first start).
    pub created: bool,
    local: Option<(LocalCluster, bool)>,
}

impl Database {
    /// Uses `DATABASE_URL` when set; otherwise creates or reuses the private cluster under the
    /// data directory and its `chatgraph` database.
    pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Self> {
        if let Some(url) = config.url() {
            return Ok(Database {
                url,
                created: false,
                local: None,
            });
        }
        let cluster = LocalCluster::new(&config.cluster.data_dir, &config.cluster.pg_bin)?;
        let started = tokio::task::spawn_blocking({
            let cluster = cluster.clone();
            move || cluster.ensure_running()
        })
        .await??;
        let created = db::cluster::create_database_if_missing(&cluster.url("postgres"), LOCAL_DATABASE).await?;
        Ok(Database {
            url: cluster.url(LOCAL_DATABASE),
            created,
            local: Some((cluster, started)),
        })
    }

    /// Migrates the database, then opens the pool `config` describes.
    pub async fn migrated_pool(&self, config: &DatabaseConfig) -> anyhow::Result<db::Pool> {
        migrate::run(&self.url).await?;
        db::pool(&self.url, config.pool_size, config.statement_timeout())
    }

    /// True when this is the private local cluster.
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// Stops the local cluster if this process started it.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Some((cluster, true)) = self.local {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// Runs the server until a shutdown signal, then stops cleanly (in-flight requests finish,
/// the local cluster, if started here, shuts down).
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let result = serve_on(&config, &database).await;
    database.close().await?;
    result
}

async fn serve_on(config: &ServeConfig, database: &Database) -> anyhow::Result<()> {
    let pool = database.migrated_pool(&config.database).await?;
    if database.is_local() && database.created {
        let mut conn = pool.get().await?;
        seed::seed_demo(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("loading demo data: {e:?}"))?;
        tracing::info!(
            "demo data loaded (users admin@example.com, user@example.com, pm@example.com; password {})",
            seed::DEMO_PASSWORD
        );
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let settings = HttpSettings {
        max_body_bytes: config.max_body_bytes,
        max_upload_bytes: config.files.max_upload_bytes,
        request_timeout: Duration::from_secs(config.request_timeout_secs),
        graphiql_assets: config.graphiql_assets.clone(),
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let authenticator = Arc::new(authenticator(&config.auth, &config.database.cluster.data_dir)?);
    let files = file_store(&config.files, &config.database.cluster.data_dir)?;
    anyhow::ensure!(
        config.models.stream_lease_secs > 0,
        "CHATGRAPH_STREAM_LEASE_SECS must be positive"
    );
    let pubsub = PubSub::listen(&database.url);
    let providers = config.models.providers()?;
    let indexer = Indexer {
        providers: providers.clone(),
        auth: authenticator.clone(),
        files: files.clone(),
    };
    let workers = start_workers(&config.jobs, pool.clone(), &pubsub, indexer)?;
    let generations = Generations::start_service(
        pool.clone(),
        providers,
        authenticator.clone(),
        pubsub,
        generation::Settings {
            lease: Duration::from_secs(config.models.stream_lease_secs),
            github_api: config.models.github_api_url.as_str().into(),
            ..generation::Settings::default()
        },
    );
    let app = http::router(
        AppState {
            pool,
            schema: graphql::schema_with(config.introspection),
            authenticator,
            loader_delay: Duration::from_millis(config.loader_delay_ms),
            operation_timeout: Duration::from_secs(config.request_timeout_secs),
            files,
            generations,
        },
        &settings,
    );
    tracing::info!(http.address = %address, "chatgraph listening");
    println!("chatgraph is serving GraphiQL at http://{address}/ (GraphQL endpoint: http://{address}/graphql)");
    axum::serve(
        crate::http::accepting(listener),
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    workers.stop().await;
    tracing::info!("chatgraph stopped");
    Ok(())
}

/// The job workers `config` asks for, running chatgraph's own handlers.
fn start_workers(config: &JobsConfig, pool: db::Pool, pubsub: &PubSub, indexer: Indexer) -> anyhow::Result<Workers> {
    let settings = config.settings()?;
    Ok(Workers::start(
        pool,
        pubsub,
        Handlers::standard(settings.retention, indexer),
        settings,
    ))
}

/// Runs job workers only (`chatgraph worker`, for a fleet apart from the API servers) until
/// a shutdown signal; running jobs finish or are given back.
pub async fn work(config: WorkerConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.jobs.workers > 0,
        "CHATGRAPH_WORKERS must be positive for `chatgraph worker`"
    );
    let database = Database::open(&config.database).await?;
    let result = async {
        let pool = database.migrated_pool(&config.database).await?;
        let auth = Arc::new(authenticator(&config.auth, &config.database.cluster.data_dir)?);
        let indexer = Indexer {
            providers: config.models.providers()?,
            auth,
            files: file_store(&config.files, &config.database.cluster.data_dir)?,
        };
        let workers = start_workers(&config.jobs, pool, &PubSub::listen(&database.url), indexer)?;
        tracing::info!(
            worker = workers.name(),
            concurrency = config.jobs.workers,
            "chatgraph worker running"
        );
        shutdown_signal().await;
        workers.stop().await;
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}
