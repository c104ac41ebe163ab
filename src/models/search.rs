//! The two searches over a project's document chunks: by vector (cosine distance, through the
//! HNSW index of the vectors' dimension with pgvector's iterative scan, or an exact scan where
//! the planner finds it cheaper) and by keyword (PostgreSQL full text, `simple`
//! configuration, with highlights). Both take the project first: no chunk of another project
//! can be a candidate. A vector search names the embedding model: vectors of other models are
//! never compared with the query.

use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Double, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use pgvector::Vector;
use serde_json::Value;
use uuid::Uuid;

use super::document::{DocumentChunkRow, indexed_type};
use crate::db::cached::{CachedSql, cached};

/// Which chunks of the project may match. All conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct ChunkFilter {
    /// Only chunks of these documents.
    pub document_ids: Option<Vec<Uuid>>,
    /// Only chunks of documents of these datasources.
    pub datasource_ids: Option<Vec<Uuid>>,
    /// Only chunks of documents whose metadata contains this JSON object.
    pub metadata: Option<Value>,
}

/// A chunk found, with its score (cosine similarity, or full-text rank) and, for keyword
/// search, the matching words highlighted.
#[derive(Debug, Clone, QueryableByName)]
pub struct ScoredChunk {
    #[diesel(embed)]
    pub chunk: DocumentChunkRow,
    #[diesel(sql_type = Double)]
    pub score: f64,
    #[diesel(sql_type = Nullable<Text>)]
    pub highlight: Option<String>,
}

/// `$1` project, `$2` documents, `$3` datasources, `$4` metadata.
const CONDITIONS: &str = "c.project_id = $1 \
    AND ($2::uuid[] IS NULL OR c.document_id = ANY($2)) \
    AND ($3::uuid[] IS NULL OR EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id AND d.datasource_id = ANY($3))) \
    AND ($4::jsonb IS NULL OR EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id AND d.metadata @> $4))";

fn with_conditions<'f>(sql: String, project: Uuid, filter: &ChunkFilter, limit: i64) -> CachedSql<'f> {
    cached(sql)
        .bind::<SqlUuid, _>(project)
        .bind::<Nullable<Array<SqlUuid>>, _>(filter.document_ids.clone())
        .bind::<Nullable<Array<SqlUuid>>, _>(filter.datasource_ids.clone())
        .bind::<Nullable<Jsonb>, _>(filter.metadata.clone())
        .bind::<BigInt, _>(limit)
}

/// An embedding model a project's chunks were embedded with, and its vectors' dimension.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ModelInUse {
    /// `provider/model`.
    #[diesel(sql_type = Text)]
    pub model: String,
    /// The length of its vectors.
    #[diesel(sql_type = Integer)]
    pub dimensions: i32,
}

/// The embedding models of `project`'s chunks: a skip scan of the `(project_id,
/// embedding_model)` index, one probe per model, however many chunks there are.
pub async fn models_in(conn: &mut AsyncPgConnection, project: Uuid) -> diesel::QueryResult<Vec<ModelInUse>> {
    cached(
        "WITH RECURSIVE m(model) AS ( \
           (SELECT embedding_model FROM document_chunks \
            WHERE project_id = $1 AND embedding_model IS NOT NULL ORDER BY embedding_model LIMIT 1) \
           UNION ALL \
           SELECT (SELECT c.embedding_model FROM document_chunks c \
                   WHERE c.project_id = $1 AND c.embedding_model > m.model ORDER BY c.embedding_model LIMIT 1) \
           FROM m WHERE m.model IS NOT NULL) \
         SELECT * FROM (SELECT m.model, \
             (SELECT vector_dims(c.embedding) FROM document_chunks c \
              WHERE c.project_id = $1 AND c.embedding_model = m.model AND c.embedding IS NOT NULL LIMIT 1) AS dimensions \
           FROM m WHERE m.model IS NOT NULL) models \
         WHERE dimensions IS NOT NULL ORDER BY model",
    )
    .bind::<SqlUuid, _>(project)
    .load(conn)
    .await
}

/// Projects with at most this many chunks of a model are searched exactly: every vector of
/// the project compared, through the `(project_id, embedding_model)` index, in about 4 ms a
/// thousand chunks (vectors kept in the table's pages, migration 24). A project that small is
/// a selective filter of a shared HNSW index, where the index scan must walk far to find
/// enough of its chunks (slower, and approximate: `docs/benchmarks.md`); exact is faster and
/// its recall is 1.
pub const EXACT_SCAN_MAX: i64 = 3_000;
/// The HNSW search breadth (`hnsw.ef_search`) of index scans.
pub const EF_SEARCH: u32 = 100;
/// How many candidates an index scan gathers for each hit asked for.
const OVERFETCH: i64 = 4;

/// The `limit` chunks of `project` nearest to `vector` among those embedded by `model`,
/// most similar first. A project with at most `exact_max` (in the API [`EXACT_SCAN_MAX`])
/// chunks of the model is searched exactly. A larger one through the HNSW index of the vector's dimension, which is
/// shared by every project: its scan goes on (`hnsw.iterative_scan`) until `limit` chunks
/// passed the filter or none are left, so a selective filter never returns fewer hits than
/// there are matches. A vector of a dimension without an index finds nothing.
pub async fn nearest(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    filter: &ChunkFilter,
    vector: Vector,
    model: &str,
    (limit, exact_max): (i64, i64),
) -> diesel::QueryResult<Vec<ScoredChunk>> {
    let dimensions = vector.as_slice().len();
    let Some(typed) = indexed_type(dimensions) else {
        return Ok(Vec::new());
    };
    let model = model.to_owned();
    let exact = exact_max > 0 && chunks_up_to(conn, project, &model, exact_max + 1).await? <= exact_max;
    // The cast and the dimension test are those of the dimension's partial expression index.
    // Ordered by the score column, the exact search has an order no index gives, so the
    // planner compares every vector (once each).
    let distance = format!("c.embedding::{typed} <=> $6::{typed}");
    let order = if exact {
        "score DESC".to_owned()
    } else {
        distance.clone()
    };
    // The index scan's order is relaxed (approximate): it gathers OVERFETCH times the hits
    // asked for, which are re-sorted exactly and cut. Only ids and scores are sorted; the
    // rows (vectors included) are read for the hits alone.
    let sql = format!(
        "SELECT c.*, h.score, NULL::text AS highlight FROM \
           (SELECT c.id, 1 - ({distance}) AS score \
            FROM document_chunks c WHERE {CONDITIONS} AND vector_dims(c.embedding) = {dimensions} \
              AND c.embedding_model = $7 \
            ORDER BY {order} LIMIT $5 * {OVERFETCH}) h \
         JOIN document_chunks c ON c.id = h.id ORDER BY h.score DESC, c.id LIMIT $5"
    );
    if exact {
        return with_conditions(sql, project, filter, limit)
            .bind::<pgvector::sql_types::Vector, _>(vector)
            .bind::<Text, _>(model)
            .load(conn)
            .await;
    }
    conn.transaction::<_, diesel::result::Error, _>(async |tx| {
        // Relaxed order: the outer ORDER BY re-sorts what the scan returns.
        tx.batch_execute(&format!(
            "SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = {EF_SEARCH}"
        ))
        .await?;
        with_conditions(sql, project, filter, limit)
            .bind::<pgvector::sql_types::Vector, _>(vector)
            .bind::<Text, _>(model)
            .load(tx)
            .await
    })
    .await
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many chunks of `model` `project` has, counting no further than `cap`.
async fn chunks_up_to(conn: &mut AsyncPgConnection, project: Uuid, model: &str, cap: i64) -> diesel::QueryResult<i64> {
    let counted: Counted = cached(
        "SELECT count(*) AS n FROM (SELECT 1 FROM document_chunks \
         WHERE project_id = $1 AND embedding_model = $2 LIMIT $3) s",
    )
    .bind::<SqlUuid, _>(project)
    .bind::<Text, _>(model.to_owned())
    .bind::<BigInt, _>(cap)
    .get_result(conn)
    .await?;
    Ok(counted.n)
}

/// The `limit` chunks of `project` that match the web-search style `query` (words, "quoted
/// phrases", -excluded, or), best full-text rank first, with the matches highlighted.
pub async fn matching(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    filter: &ChunkFilter,
    query: &str,
    limit: i64,
) -> diesel::QueryResult<Vec<ScoredChunk>> {
    let sql = format!(
        "SELECT c.*, ts_rank_cd(to_tsvector('simple', c.content), q)::float8 AS score, \
            ts_headline('simple', c.content, q, 'StartSel=<mark>, StopSel=</mark>, MaxFragments=2, MaxWords=24, MinWords=8') AS highlight \
         FROM document_chunks c, websearch_to_tsquery('simple', $6) q \
         WHERE {CONDITIONS} AND to_tsvector('simple', c.content) @@ q \
         ORDER BY score DESC, c.id LIMIT $5"
    );
    with_conditions(sql, project, filter, limit)
        .bind::<Text, _>(query.to_owned())
        .load(conn)
        .await
}
