//! The `chatgraph` command: serve, migrate, seed, export-schema, and control of the private
//! local PostgreSQL cluster.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use chatgraph::{
    app::{self, Database},
    config::{AdminConfig, ClusterConfig, DatabaseConfig, ServeConfig},
    db::{self, cluster::LocalCluster, migrate},
    graphql,
    services::seed,
    telemetry::{self, LogFormat},
};

/// The allocator of the binary (see docs/benchmarks.md for what it bought).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// chatgraph: a GraphQL gateway for AI chat workspace platforms.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Log line format (the level comes from RUST_LOG, e.g. `info` or `chatgraph=debug`).
    #[arg(
        long,
        env = "CHATGRAPH_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (migrates first; with no DATABASE_URL, runs a private
    /// PostgreSQL cluster and loads the demo data on first start).
    Serve(Box<ServeConfig>),
    /// Run background jobs only (no API), for a worker fleet apart from the API servers
    /// (`serve` runs workers too unless CHATGRAPH_WORKERS=0).
    Worker(Box<chatgraph::config::WorkerConfig>),
    /// Apply pending migrations (a fast no-op when there are none).
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Create or update the platform administrator; with --demo, also load the demo data.
    Seed {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        admin: AdminConfig,
        /// Load the demo data set (local demos only: its users share a known password).
        #[arg(long)]
        demo: bool,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    ExportSchema,
    /// Measure the read path under load on generated data (see docs/benchmarks.md); run it
    /// from a release build.
    Bench(chatgraph::bench::BenchConfig),
    /// Measure streaming (see docs/benchmarks.md): fan-out delay to many subscribers of one
    /// answer, server memory per idle WebSocket, sendMessage latency. Run from a release build.
    BenchStream(chatgraph::bench::stream::StreamBenchConfig),
    /// Measure the job queue (see docs/benchmarks.md): jobs a second through a handler that
    /// does nothing, at several worker counts. Run from a release build.
    BenchJobs(chatgraph::bench::jobs::JobsBenchConfig),
    /// Measure semanticSearch's vector statement: latency and recall@10 of one project's
    /// search in a shared index of many projects' chunks.
    BenchSearch(chatgraph::bench::search::SearchBenchConfig),
    /// Control the private local PostgreSQL cluster.
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
}

#[derive(Subcommand)]
enum ClusterAction {
    /// Create (if needed) and start the cluster, with its chatgraph database.
    Start(ClusterConfig),
    /// Stop the cluster.
    Stop(ClusterConfig),
    /// Print the connection URL of the chatgraph database in the cluster.
    Url(ClusterConfig),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => app::serve(*config).await,
        Command::Worker(config) => app::work(*config).await,
        Command::Migrate { database, revert_all } => {
            let db = Database::open(&database).await?;
            let result = if revert_all {
                migrate::revert_all(&db.url).await
            } else {
                migrate::run(&db.url).await
            };
            db.close().await?;
            let versions = result?;
            println!(
                "{} migration(s) {}",
                versions.len(),
                if revert_all { "reverted" } else { "applied" }
            );
            Ok(())
        }
        Command::Seed { database, admin, demo } => {
            let db = Database::open(&database).await?;
            let result = seed_database(&db, &database, &admin, demo).await;
            db.close().await?;
            result
        }
        Command::Bench(config) => chatgraph::bench::run(config).await,
        Command::BenchStream(config) => chatgraph::bench::stream::run(config).await,
        Command::BenchJobs(config) => chatgraph::bench::jobs::run(config).await,
        Command::BenchSearch(config) => chatgraph::bench::search::run(config).await,
        Command::ExportSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Cluster { action } => {
            let (ClusterAction::Start(config) | ClusterAction::Stop(config) | ClusterAction::Url(config)) = &action;
            let cluster = LocalCluster::new(&config.data_dir, &config.pg_bin)?;
            match action {
                ClusterAction::Start(_) => {
                    cluster.ensure_running()?;
                    db::cluster::create_database_if_missing(&cluster.url("postgres"), app::LOCAL_DATABASE).await?;
                }
                ClusterAction::Stop(_) => cluster.stop()?,
                ClusterAction::Url(_) => {
                    use secrecy::ExposeSecret;
                    println!("{}", cluster.url(app::LOCAL_DATABASE).expose_secret());
                }
            }
            Ok(())
        }
    }
}

async fn seed_database(db: &Database, config: &DatabaseConfig, admin: &AdminConfig, demo: bool) -> anyhow::Result<()> {
    migrate::run(&db.url).await?;
    let pool = db::pool(&db.url, 1, config.statement_timeout())?;
    let mut conn = pool.get().await?;
    match (&admin.admin_email, &admin.admin_password) {
        (Some(email), Some(password)) => {
            let user = seed::seed_admin(&mut conn, email, password)
                .await
                .map_err(anyhow::Error::from)?;
            println!("platform administrator {} is ready", user.email);
        }
        (None, None) if demo => {}
        _ => anyhow::bail!(
            "set both CHATGRAPH_ADMIN_EMAIL and CHATGRAPH_ADMIN_PASSWORD to seed the platform administrator"
        ),
    }
    if demo {
        match seed::seed_demo(&mut conn)
            .await
            .map_err(anyhow::Error::from)
            .context("loading demo data")?
        {
            seed::DemoSeed::Loaded { .. } => println!("demo data loaded"),
            seed::DemoSeed::AlreadyPresent { .. } => println!("demo data already present"),
        }
    }
    Ok(())
}
