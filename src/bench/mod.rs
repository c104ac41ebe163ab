//! `chatgraph bench`: the read path under load, reproducibly. It makes a database of its own
//! (in the private cluster, or where `--bench-database-url` says), generates the data
//! ([`dataset`]), starts this same binary's `serve` as a separate process, and measures, with
//! the load generator of [`load`] on loopback:
//! - the nested query (organizations → projects → chats → messages, counts and page info)
//!   at `--connections` clients: requests per second, p50 and p99;
//! - the first page, the first page with `totalCount`, and the sixth page of chat lists of
//!   every `--list-sizes` length, one client at a time (latency, not throughput);
//! - the same page read by a user who works in `--user-projects` projects and by one who works
//!   in one;
//!
//! and, through an in-process server over a counting pool, how many SQL statements each
//! request runs. It prints a Markdown report and draws latency against list size (`--chart`).

pub mod chart;
pub mod dataset;
pub mod jobs;
pub mod load;
pub mod search;
pub mod stream;

use std::{path::PathBuf, process::Stdio, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use uuid::Uuid;

use crate::{
    app::{self, AppState},
    config::{AuthConfig, ClusterConfig},
    db::{self, StatementCounter, cluster::LocalCluster, migrate},
    graphql::{self, node::global_id},
    http::{self, HttpSettings},
};

/// Settings of `chatgraph bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchConfig {
    /// Where the private cluster lives (the benchmark uses a database of its own in it).
    #[command(flatten)]
    pub cluster: ClusterConfig,
    /// A PostgreSQL database to fill with the benchmark's data instead (it is emptied first:
    /// never point this at data you keep). DATABASE_URL is deliberately not read.
    #[arg(long)]
    pub bench_database_url: Option<String>,
    /// The sizes of the generated data.
    #[command(flatten)]
    pub size: dataset::DatasetSize,
    /// Concurrent clients for the nested query.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// How long each measurement runs, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Pooled database connections of the server under test.
    #[arg(long, default_value_t = 10)]
    pub pool_size: usize,
    /// Where to draw latency against list size (an SVG file).
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Measure the nested query only (the list pages are generated but not measured).
    #[arg(long)]
    pub nested_only: bool,
}

/// The benchmark's own database in the private cluster.
const BENCH_DATABASE: &str = "chatgraph_bench";
/// The password of the benchmark's users.
const PASSWORD: &str = "benchmark passphrase";

/// The nested query of the comparison with PostGraphile (issue 11): 16 connections' worth of
/// organizations, projects, chats and messages, each level with its count and page info.
pub const NESTED_QUERY: &str = "{ organizations(first: 10) { totalCount pageInfo { hasNextPage endCursor } nodes { name \
    projects(first: 10) { totalCount pageInfo { hasNextPage endCursor } nodes { name \
    chats(first: 10) { totalCount pageInfo { hasNextPage endCursor } nodes { title \
    messages(first: 10) { totalCount pageInfo { hasNextPage endCursor } nodes { role content } } } } } } } } }";

/// A page of a project's chats, newest activity first.
fn chats_page(project: Uuid, after: Option<&str>, total: bool) -> Value {
    let count = if total { "totalCount " } else { "" };
    json!({
        "query": format!("query($id: ID!, $after: String) {{ node(id: $id) {{ ... on Project {{ \
            chats(first: 20, after: $after) {{ {count}pageInfo {{ hasNextPage endCursor }} nodes {{ id title }} }} }} }} }}"),
        "variables": { "id": global_id("Project", project), "after": after },
    })
}

/// One measured scenario.
struct Scenario {
    name: String,
    body: Value,
    token: String,
    connections: usize,
    /// The list length, for the chart (None: not a big-list page).
    list_size: Option<u32>,
}

/// Runs the benchmark and prints its report.
pub async fn run(config: BenchConfig) -> anyhow::Result<()> {
    let (url, cluster) = database(&config.cluster, config.bench_database_url.as_deref()).await?;
    let result = measure(&config, &url).await;
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    result
}

/// An empty, migrated database for the benchmark, and the cluster to stop afterwards.
pub(crate) async fn database(
    cluster_config: &ClusterConfig,
    database_url: Option<&str>,
) -> anyhow::Result<(SecretString, Option<LocalCluster>)> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let (url, cluster) = match database_url {
        Some(url) => (SecretString::from(url.to_owned()), None),
        None => {
            let cluster = LocalCluster::new(&cluster_config.data_dir.join("bench"), &cluster_config.pg_bin)?;
            let started = tokio::task::spawn_blocking({
                let cluster = cluster.clone();
                move || cluster.ensure_running()
            })
            .await??;
            let mut server = AsyncPgConnection::establish(cluster.url("postgres").expose_secret()).await?;
            server
                .batch_execute(&format!("DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
                .await?;
            server
                .batch_execute(&format!("CREATE DATABASE {BENCH_DATABASE}"))
                .await?;
            (cluster.url(BENCH_DATABASE), started.then_some(cluster))
        }
    };
    if database_url.is_some() {
        let mut conn = AsyncPgConnection::establish(url.expose_secret()).await?;
        conn.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            .await?;
    }
    migrate::run(&url).await?;
    Ok((url, cluster))
}

async fn measure(config: &BenchConfig, url: &SecretString) -> anyhow::Result<()> {
    let jwt_secret = format!("benchmark-{}-{}", Uuid::new_v4(), Uuid::new_v4());
    let state_dir = std::env::temp_dir().join(format!("chatgraph-bench-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&state_dir)?;
    let (mut server, address) = start_server(url, &jwt_secret, &state_dir, config.pool_size).await?;
    let endpoint = format!("http://{address}/graphql");
    let client = reqwest::Client::new();

    eprintln!("bench: signing up the users and generating the data");
    let mut tokens = Vec::new();
    for email in [
        "nested@bench.example",
        "lists@bench.example",
        "wide@bench.example",
        "narrow@bench.example",
    ] {
        let data = load::once(
            &client,
            &endpoint,
            None,
            &json!({
                "query": "mutation($input: SignUpInput!) { signUp(input: $input) { session { accessToken } userErrors { message } } }",
                "variables": { "input": { "email": email, "password": PASSWORD, "name": "Bench" } },
            }),
        )
        .await?;
        let token = data["signUp"]["session"]["accessToken"]
            .as_str()
            .with_context(|| format!("signing up {email}: {data}"))?;
        tokens.push(token.to_owned());
    }
    let pool = db::pool(url, 2, Duration::from_secs(600))?;
    let mut conn = pool.get().await?;
    let ids = user_ids(&mut conn).await?;
    let dataset = dataset::generate(&mut conn, &config.size, &ids).await?;
    drop(conn);
    let (nested_token, lists_token, wide_token, narrow_token) = (
        tokens[0].clone(),
        tokens[1].clone(),
        tokens[2].clone(),
        tokens[3].clone(),
    );

    let mut scenarios = vec![Scenario {
        name: format!(
            "nested query ({} orgs × {} projects × {} chats × {} messages)",
            config.size.orgs, config.size.projects, config.size.chats, config.size.messages
        ),
        body: json!({ "query": NESTED_QUERY }),
        token: nested_token,
        connections: config.connections,
        list_size: None,
    }];
    for &(size, project) in &dataset.lists {
        // The cursor of the fifth page, for the sixth.
        let mut after: Option<String> = None;
        for _ in 0..5 {
            let data = load::once(
                &client,
                &endpoint,
                Some(&lists_token),
                &chats_page(project, after.as_deref(), false),
            )
            .await?;
            after = data["node"]["chats"]["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned);
        }
        for (what, body) in [
            ("first page", chats_page(project, None, false)),
            ("first page with totalCount", chats_page(project, None, true)),
            ("6th page", chats_page(project, after.as_deref(), false)),
        ] {
            scenarios.push(Scenario {
                name: format!("{what} of {size} chats"),
                body,
                token: lists_token.clone(),
                connections: 1,
                list_size: Some(size),
            });
        }
    }
    for (who, token) in [
        (format!("a user in {} projects", config.size.user_projects), wide_token),
        ("a user in 1 project".to_owned(), narrow_token),
    ] {
        scenarios.push(Scenario {
            name: format!("first page of 20 chats, read by {who}"),
            body: chats_page(dataset.shared_project, None, false),
            token,
            connections: 1,
            list_size: None,
        });
    }

    if config.nested_only {
        scenarios.truncate(1);
    }
    let counts = statement_counts(url, &jwt_secret, &state_dir, &scenarios).await?;
    let mut rows = Vec::new();
    for (scenario, statements) in scenarios.iter().zip(counts) {
        eprintln!(
            "bench: {} ({} clients, {} s)",
            scenario.name, scenario.connections, config.seconds
        );
        load::run(
            &endpoint,
            &scenario.token,
            &scenario.body,
            scenario.connections,
            Duration::from_secs(1),
        )
        .await?;
        let measured = load::run(
            &endpoint,
            &scenario.token,
            &scenario.body,
            scenario.connections,
            Duration::from_secs(config.seconds),
        )
        .await?;
        anyhow::ensure!(
            measured.failures == 0,
            "{}: {} requests failed",
            scenario.name,
            measured.failures
        );
        rows.push((scenario, measured, statements));
    }
    server.kill().await.ok();
    std::fs::remove_dir_all(&state_dir).ok();

    println!("| scenario | clients | req/s | p50 | p99 | SQL statements per request |");
    println!("|---|---|---|---|---|---|");
    for (scenario, measured, statements) in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            scenario.name,
            scenario.connections,
            measured.per_second,
            measured.p50.as_secs_f64() * 1000.0,
            measured.p99.as_secs_f64() * 1000.0,
            statements
        );
    }
    if let Some(path) = &config.chart {
        let series: Vec<chart::Series> = ["first page of", "first page with totalCount of", "6th page of"]
            .iter()
            .map(|prefix| chart::Series {
                name: prefix.trim_end_matches(" of").to_owned(),
                points: rows
                    .iter()
                    .filter(|(s, _, _)| s.name.starts_with(prefix) && s.list_size.is_some())
                    .filter_map(|(s, m, _)| s.list_size.map(|size| (f64::from(size), m.p50.as_secs_f64() * 1000.0)))
                    .collect(),
            })
            .collect();
        chart::draw(path, &series)?;
        eprintln!("bench: chart written to {}", path.display());
    }
    Ok(())
}

/// The ids of the users the dataset is made for.
async fn user_ids(conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<dataset::Users> {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;

    use crate::db::schema::users;
    let mut id = async |email: &str| -> anyhow::Result<Uuid> {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first::<Uuid>(conn)
            .await?)
    };
    Ok(dataset::Users {
        nested: id("nested@bench.example").await?,
        lists: id("lists@bench.example").await?,
        wide: id("wide@bench.example").await?,
        narrow: id("narrow@bench.example").await?,
    })
}

/// Starts `chatgraph serve` on a free loopback port; returns the process and its address.
/// The token settings of an in-process benchmark server: the child server's JWT secret, so
/// that tokens work on both.
pub(crate) fn authenticator(
    jwt_secret: &str,
    state_dir: &std::path::Path,
) -> anyhow::Result<Arc<crate::services::auth::Authenticator>> {
    let auth = AuthConfig {
        jwt_secret: Some(jwt_secret.to_owned()),
        access_token_ttl_secs: 900,
        refresh_token_ttl_days: 30,
        encryption_key: None,
        oidc_providers: None,
        sign_in_failures_per_email_and_address: 10,
        sign_in_failures_per_address: 100,
        sign_ups_per_address: 1_000_000,
        allow_private_webhooks: false,
        mail: Default::default(),
    };
    Ok(Arc::new(app::authenticator(&auth, state_dir)?))
}

/// Serves `state` on a loopback port in this process; the address and the serving task.
pub(crate) async fn serve_in_process(
    state: AppState,
    state_dir: &std::path::Path,
) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let settings = HttpSettings {
        max_body_bytes: 1 << 20,
        max_upload_bytes: 1,
        request_timeout: Duration::from_secs(60),
        graphiql_assets: state_dir.to_owned(),
        trusted_proxies: Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let app = http::router(state, &settings);
    Ok((
        address,
        tokio::spawn(async move { axum::serve(http::accepting(listener), app).await }),
    ))
}

pub(crate) async fn start_server(
    url: &SecretString,
    jwt_secret: &str,
    state_dir: &std::path::Path,
    pool_size: usize,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("DATABASE_URL", url.expose_secret())
        .env("CHATGRAPH_LISTEN", "127.0.0.1:0")
        .env("CHATGRAPH_JWT_SECRET", jwt_secret)
        .env("CHATGRAPH_DATA_DIR", state_dir)
        .env("CHATGRAPH_DB_POOL_SIZE", pool_size.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting chatgraph serve")?;
    let stdout = server.stdout.take().context("the server's output")?;
    let banner = tokio::time::timeout(Duration::from_secs(60), BufReader::new(stdout).lines().next_line())
        .await
        .context("the server did not start within a minute")??
        .context("the server stopped")?;
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .with_context(|| format!("no address in {banner:?}"))?
        .to_owned();
    Ok((server, address))
}

/// How many SQL statements each scenario's request runs (the second of two, so that nothing
/// is counted that only a first request does), through an in-process server whose pool counts
/// them.
async fn statement_counts(
    url: &SecretString,
    jwt_secret: &str,
    state_dir: &std::path::Path,
    scenarios: &[Scenario],
) -> anyhow::Result<Vec<usize>> {
    let counter = StatementCounter::default();
    let pool = db::pool_with_counter(url, 4, Duration::from_secs(60), Some(counter.clone()))?;
    let authenticator = authenticator(jwt_secret, state_dir)?;
    let generations = crate::services::generation::Generations::start_service(
        pool.clone(),
        crate::providers::registry::Providers::offline(0.0),
        authenticator.clone(),
        crate::pubsub::PubSub::local(),
        crate::services::generation::Settings::default(),
    );
    let state = AppState {
        pool,
        schema: graphql::schema(),
        authenticator,
        loader_delay: Duration::ZERO,
        operation_timeout: Duration::from_secs(30),
        files: crate::storage::FileStore::local(&state_dir.join("files"), 1)?,
        generations,
    };
    let (address, served) = serve_in_process(state, state_dir).await?;
    let endpoint = format!("http://{address}/graphql");
    let client = reqwest::Client::new();
    let mut counts = Vec::new();
    for scenario in scenarios {
        load::once(&client, &endpoint, Some(&scenario.token), &scenario.body).await?;
        let before = counter.count();
        load::once(&client, &endpoint, Some(&scenario.token), &scenario.body).await?;
        counts.push(counter.count() - before);
    }
    served.abort();
    Ok(counts)
}
