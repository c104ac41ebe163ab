//! `chatgraph bench-stream`: streaming, measured on loopback (issue 13's benchmark).
//! - **Fan-out delay**: `--subscribers` graphql-transport-ws clients follow one answer of the
//!   offline model; each live delta's delay is the time from the generator appending the text
//!   to a client receiving it (both clocks in this process: the server runs in-process here,
//!   and the generator stamps each change of the answer's text with its time).
//! - **Idle WebSockets**: the resident memory of a `chatgraph serve` child process before and
//!   after `--idle` clients connected and initialised (graphql-transport-ws).
//! - **`sendMessage`**: `--sends` calls one after another against that child process, p50/p99.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::Context;
use async_graphql::futures_util::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{
    Message, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig,
};
use uuid::Uuid;

use super::load;
use crate::{
    app::AppState,
    config::ClusterConfig,
    db, graphql,
    models::message::MessageRow,
    providers::registry::Providers,
    pubsub::PubSub,
    services::generation::{Generations, Settings},
};

/// Settings of `chatgraph bench-stream`.
#[derive(Debug, Clone, clap::Args)]
pub struct StreamBenchConfig {
    /// Where the private cluster lives (the benchmark uses a database of its own in it).
    #[command(flatten)]
    pub cluster: ClusterConfig,
    /// Clients following one answer.
    #[arg(long, default_value_t = 1_000)]
    pub subscribers: usize,
    /// The offline model's rate during the fan-out, words a second.
    #[arg(long, default_value_t = 20.0)]
    pub tokens_per_sec: f64,
    /// Idle WebSocket connections held open against the server process.
    #[arg(long, default_value_t = 10_000)]
    pub idle: usize,
    /// `sendMessage` calls timed.
    #[arg(long, default_value_t = 200)]
    pub sends: usize,
}

/// The read buffer of a benchmark client: its messages (`{seq status}` events) are under 200
/// bytes.
const CLIENT_READ_BUFFER_BYTES: usize = 512;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { uuid } userErrors { message } } }";

/// Runs the benchmark and prints its report.
pub async fn run(config: StreamBenchConfig) -> anyhow::Result<()> {
    let (url, cluster) = super::database(&config.cluster, None).await?;
    let result = measure(&config, &url).await;
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    result
}

async fn measure(config: &StreamBenchConfig, url: &SecretString) -> anyhow::Result<()> {
    let jwt_secret = format!("benchmark-{}-{}", Uuid::new_v4(), Uuid::new_v4());
    let state_dir = std::env::temp_dir().join(format!("chatgraph-bench-stream-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&state_dir)?;
    let (child, address) = super::start_server(url, &jwt_secret, &state_dir, 10).await?;
    let endpoint = format!("http://{address}/graphql");
    let client = reqwest::Client::new();
    let (token, project) = user(&client, &endpoint).await?;

    eprintln!("bench-stream: {} sendMessage calls", config.sends);
    let mut latencies = Vec::with_capacity(config.sends);
    for i in 0..config.sends {
        let body = json!({ "query": SEND, "variables": { "input": { "projectId": project, "content": format!("Question {i}") } } });
        let started = Instant::now();
        load::once(&client, &endpoint, Some(&token), &body).await?;
        latencies.push(started.elapsed());
    }
    let sends = percentiles(&mut latencies);

    eprintln!("bench-stream: {} idle WebSockets", config.idle);
    let pid = child.id().context("the server's pid")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(pid)?;
    let mut idle = Vec::with_capacity(config.idle);
    for _ in 0..config.idle {
        idle.push(connect(&address, &token).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid)?;
    drop(idle);
    drop(child);

    eprintln!("bench-stream: fan-out to {} subscribers", config.subscribers);
    let delays = fan_out(config, url, &jwt_secret, &state_dir).await?;
    let _ = std::fs::remove_dir_all(&state_dir);

    println!("## Streaming benchmark\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| `sendMessage` ({} calls, sequential) | p50 {:.1} ms, p99 {:.1} ms |",
        config.sends, sends.0, sends.1
    );
    println!(
        "| server RSS with {} idle graphql-transport-ws connections | {:.0} MiB → {:.0} MiB (+{:.1} KiB each) |",
        config.idle,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / config.idle.max(1) as f64
    );
    println!(
        "| delta delay, {} subscribers of one answer, all deltas | {} |",
        config.subscribers, delays.joining
    );
    println!(
        "| delta delay, {} subscribers of one answer, once all have joined | {} |",
        config.subscribers, delays.joined
    );
    Ok(())
}

/// A signed-up user's token and the id of their default project.
async fn user(client: &reqwest::Client, endpoint: &str) -> anyhow::Result<(String, String)> {
    let email = format!("stream-{}@bench.example", Uuid::new_v4().simple());
    let data = load::once(
        client,
        endpoint,
        None,
        &json!({
            "query": "mutation($input: SignUpInput!) { signUp(input: $input) { session { accessToken } } }",
            "variables": { "input": { "email": email, "password": "benchmark passphrase", "name": "Bench" } },
        }),
    )
    .await?;
    let token = data["signUp"]["session"]["accessToken"]
        .as_str()
        .context("no access token")?
        .to_owned();
    let data = load::once(
        client,
        endpoint,
        Some(&token),
        &json!({ "query": "{ organizations(first: 1) { nodes { projects(first: 1) { nodes { id } } } } }" }),
    )
    .await?;
    let project = data["organizations"]["nodes"][0]["projects"]["nodes"][0]["id"]
        .as_str()
        .context("no project")?
        .to_owned();
    Ok((token, project))
}

/// A graphql-transport-ws connection, initialised with `token`.
async fn connect(address: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{address}/graphql").into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // The clients of this load generator share the two cores with the server: each reads with
    // a buffer the size of its messages, not tungstenite's default 128 KiB, because the buffer
    // is zeroed on every read (a browser, in its own process, costs the server nothing of
    // the kind).
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER_BYTES);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) if text.contains("connection_ack") => Ok(socket),
        other => anyhow::bail!("no connection_ack: {other:?}"),
    }
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

/// p50 and p99 in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (at(0.5), at(0.99))
}

/// A `next` message of `messageStream { seq status }`, as a subscriber reads it.
#[derive(serde::Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    payload: Option<Payload<'a>>,
}

#[derive(serde::Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    #[serde(borrow)]
    message_stream: StreamEvent<'a>,
}

#[derive(serde::Deserialize)]
struct StreamEvent<'a> {
    seq: usize,
    status: &'a str,
}

/// The delay from appending text to a subscriber receiving it.
async fn fan_out(
    config: &StreamBenchConfig,
    url: &SecretString,
    jwt_secret: &str,
    state_dir: &std::path::Path,
) -> anyhow::Result<FanOut> {
    let pool = db::pool(url, 10, Duration::from_secs(60))?;
    let authenticator = super::authenticator(jwt_secret, state_dir)?;
    let generations = Generations::start_service(
        pool.clone(),
        Providers::offline(config.tokens_per_sec),
        authenticator.clone(),
        PubSub::listen(url),
        Settings::default(),
    );
    let state = AppState {
        pool: pool.clone(),
        schema: graphql::schema(),
        authenticator,
        loader_delay: Duration::ZERO,
        operation_timeout: Duration::from_secs(30),
        files: crate::storage::FileStore::local(&state_dir.join("files"), 1)?,
        generations: generations.clone(),
    };
    let (address, served) = super::serve_in_process(state, state_dir).await?;
    let endpoint = format!("http://{address}/graphql");
    let client = reqwest::Client::new();
    let (token, project) = user(&client, &endpoint).await?;

    // Every subscriber connects first, so that they all join the answer near its start.
    let mut sockets = Vec::with_capacity(config.subscribers);
    for _ in 0..config.subscribers {
        sockets.push(connect(&address, &token).await?);
    }
    // The fresh database's first checkpoint would otherwise write its pages during the fan-out
    // (it needs a superuser; on a database of someone else's, it may be refused).
    if let Err(error) =
        diesel_async::RunQueryDsl::execute(diesel::sql_query("CHECKPOINT"), &mut *pool.get().await?).await
    {
        eprintln!("bench-stream: no checkpoint before the fan-out ({error})");
    }
    let body = json!({ "query": SEND, "variables": { "input": { "projectId": project, "content": "A long answer for many readers" } } });
    let data = load::once(&client, &endpoint, Some(&token), &body).await?;
    let id: Uuid = data["sendMessage"]["assistantMessage"]["uuid"]
        .as_str()
        .context("no answer")?
        .parse()?;
    let row = MessageRow::find(&mut *pool.get().await?, id)
        .await?
        .context("no answer row")?;
    let reached = Reached::watch(generations.live(&row));
    let query = "subscription($id: ID!) { messageStream(messageId: $id) { seq status } }";
    let message_id = graphql::node::global_id("Message", id);
    let mut readers = Vec::with_capacity(sockets.len());
    for mut socket in sockets {
        let subscribe =
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "id": message_id } } });
        socket.send(Message::text(subscribe.to_string())).await?;
        readers.push(tokio::spawn(async move {
            let mut received = Vec::new();
            let mut joined = None;
            let mut first = true;
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else { continue };
                let at = Instant::now();
                let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
                    break;
                };
                let Some(event) = frame.payload.and_then(|p| p.data).map(|d| d.message_stream) else {
                    break;
                };
                // The first event replays what was there when the subscriber joined.
                if !first && event.status == "STREAMING" {
                    received.push((event.seq, at));
                }
                joined.get_or_insert(at);
                first = false;
            }
            (joined, received)
        }));
    }
    let mut samples = Vec::new();
    let mut all_joined = None;
    let mut readings = Vec::with_capacity(readers.len());
    for reader in readers {
        readings.push(reader.await?);
    }
    let reached = reached.times();
    for (joined, received) in readings {
        all_joined = all_joined.max(joined);
        for (seq, at) in received {
            if let Some(emitted) = reached.get(&seq) {
                samples.push((*emitted, at.saturating_duration_since(*emitted)));
            }
        }
    }
    served.abort();
    let all_joined = all_joined.context("no subscriber received anything")?;
    let settled = samples
        .iter()
        .filter(|(emitted, _)| *emitted > all_joined)
        .map(|(_, delay)| *delay);
    Ok(FanOut {
        joining: Delays::of(samples.iter().map(|(_, delay)| *delay).collect()),
        joined: Delays::of(settled.collect()),
    })
}

/// When each length of the answer's text was reached: the time the generator stamped on each
/// change, collected by a task that follows the answer's progress. (Before the ninth session,
/// the time a watcher *saw* the change: woken with the followers, it ran after hundreds of
/// them, up to 20 ms late, which made the delays look shorter.)
struct Reached {
    times: Arc<Mutex<HashMap<usize, Instant>>>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Reached {
    fn watch(live: Arc<crate::services::generation::Live>) -> Self {
        let times: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
        let seen = times.clone();
        let mut progress = live.watch();
        let watcher = tokio::spawn(async move {
            loop {
                let now = *progress.borrow_and_update();
                seen.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(now.len)
                    .or_insert(Instant::from_std(now.at));
                if progress.changed().await.is_err() {
                    break;
                }
            }
        });
        Reached { times, watcher }
    }

    /// The times seen so far.
    fn times(&self) -> HashMap<usize, Instant> {
        self.times.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for Reached {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// The delays of a fan-out: over the whole answer, and over the deltas emitted once every
/// subscriber had its first event (while the others still subscribe, each subscription's
/// setup (token, message, rights: three statements) shares the cores with the deltas).
struct FanOut {
    joining: Delays,
    joined: Delays,
}

/// Samples, p50, p99 and max of a set of delays, in milliseconds.
struct Delays(usize, f64, f64, f64);

impl Delays {
    fn of(mut delays: Vec<Duration>) -> Self {
        let (p50, p99) = percentiles(&mut delays);
        let max = delays.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        Delays(delays.len(), p50, p99, max)
    }
}

impl std::fmt::Display for Delays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
            self.1, self.2, self.3, self.0
        )
    }
}
