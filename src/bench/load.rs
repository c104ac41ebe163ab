//! A closed-loop load generator: `connections` clients, each sending the next request as soon
//! as the last one is answered, for a fixed time (and at most a fixed number of requests), to
//! a server on this machine only.

use std::time::{Duration, Instant};

use serde_json::Value;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Requests answered with data and no error.
    pub requests: usize,
    /// Requests that failed (transport error, status, or GraphQL errors).
    pub failures: usize,
    /// Answered requests per second.
    pub per_second: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// The most requests one run sends, whatever its duration.
const MAX_REQUESTS: usize = 2_000_000;

/// Sends `body` to `url` with `token` from `connections` clients for `duration`.
pub async fn run(
    url: &str,
    token: &str,
    body: &Value,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let body = serde_json::to_vec(body)?;
    let started = Instant::now();
    let deadline = started + duration;
    let per_client = MAX_REQUESTS / connections.max(1);
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (client, url, token, body) = (client.clone(), url.to_owned(), token.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            while Instant::now() < deadline && latencies.len() + failures < per_client {
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let ok = match answer {
                    Ok(response) if response.status().is_success() => response
                        .json::<Value>()
                        .await
                        .is_ok_and(|v| v["errors"].is_null() && !v["data"].is_null()),
                    _ => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mine, failed) = task.await?;
        latencies.extend(mine);
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Measured {
        requests: latencies.len(),
        failures,
        per_second: latencies.len() as f64 / elapsed,
        p50: percentile(0.50),
        p99: percentile(0.99),
    })
}

/// Sends `body` once and returns the answer's `data` (an error for any GraphQL error).
pub async fn once(client: &reqwest::Client, url: &str, token: Option<&str>, body: &Value) -> anyhow::Result<Value> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer: Value = request.send().await?.json().await?;
    anyhow::ensure!(answer["errors"].is_null(), "the query failed: {}", answer["errors"]);
    Ok(answer["data"].clone())
}
