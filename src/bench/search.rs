//! `chatgraph bench-search`: `semanticSearch`'s vector statement ([`models::search::nearest`],
//! the statement the API runs) at scale: chunks of one embedding model spread over many
//! projects in one shared HNSW index, each query filtered to one project. Reports latency
//! (p50, p99) and recall@10 against an exact scan of the same project.
//!
//! The vectors are clustered as real embeddings are (each chunk is one of `--topics` random
//! centres plus noise, and projects share topics), unit length; a query is a chunk's topic
//! with fresh noise, asked in the chunk's project.
//!
//! [`models::search::nearest`]: crate::models::search::nearest

use std::time::{Duration, Instant};

use diesel::{
    QueryableByName,
    sql_types::{Text, Uuid as SqlUuid},
};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use pgvector::Vector;
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    config::ClusterConfig,
    db,
    models::{
        document::indexed_type,
        search::{ChunkFilter, EXACT_SCAN_MAX, nearest},
    },
};

/// The model name the benchmark's chunks carry.
const MODEL: &str = "bench/clustered";

/// Settings of `chatgraph bench-search`.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchBenchConfig {
    /// Where the private cluster lives (the benchmark uses a database of its own in it).
    #[command(flatten)]
    pub cluster: ClusterConfig,
    /// Chunks in all.
    #[arg(long, default_value_t = 100_000)]
    pub chunks: u32,
    /// Projects the chunks are spread over (evenly).
    #[arg(long, default_value_t = 100)]
    pub projects: u32,
    /// Dimensions of the vectors (a supported one: 256, 384, 512, 768, 1024, 1536, 3072).
    #[arg(long, default_value_t = 1536)]
    pub dimensions: usize,
    /// Topic centres the vectors cluster around.
    #[arg(long, default_value_t = 1_000)]
    pub topics: u32,
    /// Queries measured (after 20 for warming up).
    #[arg(long, default_value_t = 500)]
    pub queries: u32,
    /// Search projects with at most this many chunks exactly (the API's choice by default;
    /// 0 measures the HNSW index scan alone).
    #[arg(long, default_value_t = EXACT_SCAN_MAX)]
    pub exact_max: i64,
}

#[derive(QueryableByName)]
struct Probe {
    #[diesel(sql_type = SqlUuid)]
    project_id: Uuid,
    #[diesel(sql_type = Text)]
    vector: String,
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Runs the benchmark and prints its table.
pub async fn run(config: SearchBenchConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        indexed_type(config.dimensions).is_some(),
        "--dimensions must be a supported dimension"
    );
    let (url, cluster) = super::database(&config.cluster, None).await?;
    let result = measure(&config, &url).await;
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    result
}

async fn load(config: &SearchBenchConfig, conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<()> {
    let started = Instant::now();
    let (dims, topics) = (config.dimensions, config.topics);
    let per_project = config.chunks / config.projects.max(1);
    conn.batch_execute(&format!(
        "SET maintenance_work_mem = '4GB'; SET max_parallel_maintenance_workers = 1;
         INSERT INTO organizations (id, name, slug) VALUES ('00000000-0000-0000-0000-000000000001', 'Bench', 'bench-search');
         INSERT INTO projects (organization_id, name)
           SELECT '00000000-0000-0000-0000-000000000001', 'Project ' || g FROM generate_series(1, {projects}) g;
         INSERT INTO documents (project_id, title) SELECT id, 'Document' FROM projects;
         CREATE TEMP TABLE topics AS
           SELECT t, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, {dims}) WHERE t > 0) AS centre
           FROM generate_series(1, {topics}) t;
         DROP INDEX document_chunks_embedding_{dims}_idx;
         INSERT INTO document_chunks (document_id, project_id, chunk_index, content, embedding, embedding_model)
           SELECT d.id, d.project_id, g, 'chunk ' || g,
             l2_normalize((SELECT array_agg(x + (random()::real - 0.5) * 0.35 ORDER BY i)
                           FROM unnest(topics.centre) WITH ORDINALITY AS u(x, i))::vector),
             '{MODEL}'
           FROM documents d, generate_series(1, {per_project}) g,
             LATERAL (SELECT centre FROM topics WHERE t = 1 + ((hashint4(g) # hashtext(d.id::text)) & 2147483647) % {topics}) topics;",
        projects = config.projects,
    ))
    .await?;
    println!(
        "loaded {} chunks in {:.0} s",
        per_project * config.projects,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let typed = indexed_type(dims).unwrap_or_default();
    let ops = if typed.starts_with("halfvec") {
        "halfvec"
    } else {
        "vector"
    };
    conn.batch_execute(&format!(
        "CREATE INDEX document_chunks_embedding_{dims}_idx ON document_chunks
           USING hnsw ((embedding::{typed}) {ops}_cosine_ops) WHERE vector_dims(embedding) = {dims};"
    ))
    .await?;
    conn.batch_execute("VACUUM ANALYZE document_chunks").await?;
    println!("built the HNSW index in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn measure(config: &SearchBenchConfig, url: &SecretString) -> anyhow::Result<()> {
    let pool = db::pool(url, 2, Duration::from_secs(3_600))?;
    let mut conn = pool.get().await?;
    load(config, &mut conn).await?;
    let dims = config.dimensions;
    // Queries: a random chunk's topic with fresh noise, in that chunk's project.
    let probes: Vec<Probe> = diesel::sql_query(format!(
        "SELECT c.project_id, l2_normalize((SELECT array_agg(x + (random()::real - 0.5) * 0.35 ORDER BY i) \
           FROM unnest(c.embedding::real[]) WITH ORDINALITY AS u(x, i))::vector)::text AS vector \
         FROM (SELECT project_id, embedding FROM document_chunks ORDER BY random() LIMIT {}) c",
        config.queries + 20
    ))
    .load(&mut conn)
    .await?;
    // The exact answers, once.
    let mut exact = Vec::new();
    for probe in &probes {
        let found: Vec<Found> = diesel::sql_query(format!(
            "SELECT id FROM document_chunks WHERE project_id = $1 AND embedding_model = '{MODEL}' \
             ORDER BY (embedding <=> '{}'::vector) + 0 LIMIT 10",
            probe.vector
        ))
        .bind::<SqlUuid, _>(probe.project_id)
        .load(&mut conn)
        .await?;
        exact.push(found.into_iter().map(|f| f.id).collect::<Vec<Uuid>>());
    }
    println!("| chunks | projects | dimensions | search | queries | p50 ms | p99 ms | recall@10 |");
    println!("|---|---|---|---|---|---|---|---|");
    let strategies = if config.exact_max > 0 {
        vec![config.exact_max, 0]
    } else {
        vec![0]
    };
    for exact_max in strategies {
        let mut latencies = Vec::new();
        let (mut recalled, mut expected) = (0usize, 0usize);
        for (i, (probe, truth)) in probes.iter().zip(&exact).enumerate() {
            let vector: Vector = serde_json::from_str::<Vec<f32>>(&probe.vector)?.into();
            let started = Instant::now();
            let hits = nearest(
                &mut conn,
                probe.project_id,
                &ChunkFilter::default(),
                vector,
                MODEL,
                (10, exact_max),
            )
            .await?;
            let took = started.elapsed();
            anyhow::ensure!(
                hits.len() == truth.len(),
                "a search returned {} of {} hits",
                hits.len(),
                truth.len()
            );
            if i < 20 {
                continue;
            }
            latencies.push(took);
            expected += truth.len();
            recalled += truth
                .iter()
                .filter(|id| hits.iter().any(|h| h.chunk.id == **id))
                .count();
        }
        latencies.sort();
        let at = |q: f64| {
            let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index].as_secs_f64() * 1_000.0
        };
        let search = if exact_max > 0 {
            format!("API (exact up to {exact_max} chunks a project)")
        } else {
            "HNSW index only".to_owned()
        };
        println!(
            "| {} | {} | {} | {search} | {} | {:.2} | {:.2} | {:.3} |",
            config.chunks,
            config.projects,
            dims,
            latencies.len(),
            at(0.5),
            at(0.99),
            recalled as f64 / expected.max(1) as f64
        );
    }
    Ok(())
}
