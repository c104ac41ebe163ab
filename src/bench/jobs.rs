//! `chatgraph bench-jobs`: how many jobs a second the queue runs through a handler that does
//! nothing, at several worker counts (the cost of the queue itself: claim, lease, finish).

use std::time::{Duration, Instant};

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use secrecy::SecretString;
use serde_json::json;

use crate::{
    config::ClusterConfig,
    db::{self, enums::JobStatus},
    jobs::{Handlers, Settings, Workers},
    models::job::JobRow,
    pubsub::PubSub,
};

/// Settings of `chatgraph bench-jobs`.
#[derive(Debug, Clone, clap::Args)]
pub struct JobsBenchConfig {
    /// Where the private cluster lives (the benchmark uses a database of its own in it).
    #[command(flatten)]
    pub cluster: ClusterConfig,
    /// Jobs queued for each measurement.
    #[arg(long, default_value_t = 10_000)]
    pub jobs: u32,
    /// The worker counts to measure (jobs running at the same time, in one process).
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub workers: Vec<usize>,
}

/// Runs the benchmark and prints its table.
pub async fn run(config: JobsBenchConfig) -> anyhow::Result<()> {
    let (url, cluster) = super::database(&config.cluster, None).await?;
    let result = measure(&config, &url).await;
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    result
}

async fn measure(config: &JobsBenchConfig, url: &SecretString) -> anyhow::Result<()> {
    let max_workers = config.workers.iter().copied().max().unwrap_or(1);
    let pool = db::pool(url, max_workers + 2, Duration::from_secs(60))?;
    let pubsub = PubSub::local();
    println!("| workers | jobs | seconds | jobs/s |");
    println!("|---|---|---|---|");
    for &workers in &config.workers {
        let mut conn = pool.get().await?;
        conn.batch_execute("DELETE FROM jobs").await?;
        diesel::sql_query(format!(
            "INSERT INTO jobs (kind) SELECT 'noop' FROM generate_series(1, {})",
            config.jobs
        ))
        .execute(&mut conn)
        .await?;
        conn.batch_execute("VACUUM ANALYZE jobs").await?;
        let handlers = Handlers::default().on("noop", |_, _| async { Ok(json!(null)) });
        let settings = Settings {
            concurrency: workers,
            poll: Duration::from_millis(100),
            maintenance_every: None,
            ..Settings::default()
        };
        eprintln!("bench-jobs: {} jobs, {workers} workers", config.jobs);
        let started = Instant::now();
        let fleet = Workers::start(pool.clone(), &pubsub, handlers, settings);
        while JobRow::count_in(&mut conn, JobStatus::Succeeded).await? < i64::from(config.jobs) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        fleet.stop().await;
        println!(
            "| {workers} | {} | {elapsed:.2} | {:.0} |",
            config.jobs,
            f64::from(config.jobs) / elapsed
        );
    }
    Ok(())
}
