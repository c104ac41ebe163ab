//! Project quotas: setting the limits (organization admins), and debiting usage in one
//! atomic statement that also resets a period that has ended. Concurrent debits serialize on
//! the quota row, and each re-checks the limit against the row it finally updates, so no
//! interleaving lets usage past a limit.

use crate::db::cached::cached;
use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::write::{RecordIn, Tx};
use crate::{
    auth::grant::Grant,
    db::enums::QuotaPeriod,
    error::{AppError, AppResult, FieldError},
    models::project::ProjectQuotaRow,
};

/// The quota every new project starts with, monthly (organization admins change it with
/// `setProjectQuota`): a project made by a script or an abuser cannot spend without bound.
pub const DEFAULT_TOKENS: i64 = 1_000_000;
/// See [`DEFAULT_TOKENS`]: model requests a month.
pub const DEFAULT_REQUESTS: i64 = 10_000;
/// See [`DEFAULT_TOKENS`]: bytes of files.
pub const DEFAULT_STORAGE_BYTES: i64 = 1 << 30;

/// Gives a new project the default quota.
pub async fn give_default(conn: &mut AsyncPgConnection, project_id: Uuid) -> AppResult<()> {
    crate::models::project::NewProjectQuota {
        project_id,
        tokens_limit: Some(DEFAULT_TOKENS),
        requests_limit: Some(DEFAULT_REQUESTS),
        storage_limit_bytes: Some(DEFAULT_STORAGE_BYTES),
        period: QuotaPeriod::Monthly,
        reset_at: None,
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The next reset after now for a period, in SQL (UTC calendar boundaries; weeks start on
/// Monday).
const NEXT_RESET: &str = "CASE q.period \
    WHEN 'daily' THEN date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day' \
    WHEN 'weekly' THEN date_trunc('week', now() AT TIME ZONE 'UTC') + interval '1 week' \
    WHEN 'yearly' THEN date_trunc('year', now() AT TIME ZONE 'UTC') + interval '1 year' \
    ELSE date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month' END AT TIME ZONE 'UTC'";

/// What one operation consumes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Model requests.
    pub requests: i64,
    /// Tokens.
    pub tokens: i64,
    /// Stored bytes.
    pub storage_bytes: i64,
}

#[derive(QueryableByName)]
struct Refusal {
    #[diesel(sql_type = diesel::sql_types::Text)]
    resource: String,
    #[diesel(sql_type = Timestamptz)]
    reset_at: DateTime<Utc>,
}

/// Debits `usage` from the project's quota, or refuses with QUOTA_EXCEEDED (and the reset
/// time) when any limit would be passed. A project without a quota row is unlimited. One
/// `UPDATE` checks, resets an ended period and debits.
pub async fn debit(conn: &mut AsyncPgConnection, project_id: Uuid, usage: Usage) -> AppResult<()> {
    if add(conn, project_id, usage, true).await? > 0 {
        return Ok(());
    }
    refusal(conn, project_id, usage).await
}

/// Adds `usage` to the project's quota without checking the limits: what a finished model
/// answer used is consumed whether or not it fits (its request was checked by [`debit`]
/// before it started, and the next request is refused once a limit is passed).
pub async fn record(conn: &mut AsyncPgConnection, project_id: Uuid, usage: Usage) -> AppResult<()> {
    add(conn, project_id, usage, false).await?;
    Ok(())
}

/// Adds `usage`, within the limits when `checked`; the number of quota rows updated.
async fn add(conn: &mut AsyncPgConnection, project_id: Uuid, usage: Usage, checked: bool) -> AppResult<usize> {
    let used = |column: &str| format!("(CASE WHEN q.reset_at <= now() THEN 0 ELSE q.{column} END)");
    let sql = format!(
        "UPDATE project_quotas q SET \
           requests_used = {requests} + $2, tokens_used = {tokens} + $3, storage_used_bytes = {storage} + $4, \
           reset_at = CASE WHEN q.reset_at <= now() THEN {NEXT_RESET} ELSE q.reset_at END \
         WHERE q.project_id = $1 AND ($5 OR \
           ((q.requests_limit IS NULL OR {requests} + $2 <= q.requests_limit) \
           AND (q.tokens_limit IS NULL OR {tokens} + $3 <= q.tokens_limit) \
           AND (q.storage_limit_bytes IS NULL OR {storage} + $4 <= q.storage_limit_bytes)))",
        requests = used("requests_used"),
        tokens = used("tokens_used"),
        // Stored bytes are a standing amount, not usage of a period: they never reset.
        storage = "q.storage_used_bytes",
    );
    let debited = cached(sql)
        .bind::<SqlUuid, _>(project_id)
        .bind::<BigInt, _>(usage.requests)
        .bind::<BigInt, _>(usage.tokens)
        .bind::<BigInt, _>(usage.storage_bytes)
        .bind::<diesel::sql_types::Bool, _>(!checked)
        .execute(conn)
        .await?;
    Ok(debited)
}

/// Why [`add`] updated nothing: no quota (unlimited: Ok), or the limit that refused.
async fn refusal(conn: &mut AsyncPgConnection, project_id: Uuid, usage: Usage) -> AppResult<()> {
    let refusals: Vec<Refusal> = cached(
        "SELECT CASE WHEN q.requests_limit IS NOT NULL AND q.requests_used + $2 > q.requests_limit THEN 'requests' \
                     WHEN q.tokens_limit IS NOT NULL AND q.tokens_used + $3 > q.tokens_limit THEN 'tokens' \
                     ELSE 'storage' END AS resource, q.reset_at \
         FROM project_quotas q WHERE q.project_id = $1",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<BigInt, _>(usage.requests)
    .bind::<BigInt, _>(usage.tokens)
    .load(conn)
    .await?;
    match refusals.into_iter().next() {
        None => Ok(()),
        Some(refusal) => Err(AppError::QuotaExceeded {
            project_id,
            resource: match refusal.resource.as_str() {
                "requests" => "requests",
                "tokens" => "tokens",
                _ => "storage",
            },
            resets_at: refusal.reset_at,
        }),
    }
}

/// Announces to the project's webhooks that its `resource` quota refused a request
/// (`quota.exceeded`), once per resource and period (until `resets_at`), in a transaction of
/// its own: the refused write itself was rolled back.
pub async fn announce_exceeded(
    conn: &mut AsyncPgConnection,
    project_id: Uuid,
    resource: &str,
    resets_at: DateTime<Utc>,
) -> AppResult<()> {
    use diesel_async::AsyncConnection;
    let resets_at = resets_at.to_rfc3339();
    conn.transaction::<_, AppError, _>(async |tx| {
        // One announcement per project, resource and period, however many requests race.
        cached("SELECT pg_advisory_xact_lock(hashtext('quota.exceeded:' || $1::text))")
            .bind::<SqlUuid, _>(project_id)
            .execute(tx)
            .await?;
        let announced: i64 = cached(
            "SELECT count(*) AS n FROM webhook_deliveries d \
             JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE s.project_id = $1 AND d.event_type = 'quota.exceeded' \
               AND d.payload->'data'->>'resource' = $2 AND d.payload->'data'->>'resetsAt' = $3",
        )
        .bind::<SqlUuid, _>(project_id)
        .bind::<Text, _>(resource)
        .bind::<Text, _>(&resets_at)
        .get_result::<Count>(tx)
        .await?
        .n;
        if announced == 0 {
            let data = json!({ "projectId": project_id, "resource": resource, "resetsAt": resets_at });
            super::deliveries::emit(tx, project_id, "quota.exceeded", data).await?;
        }
        Ok(())
    })
    .await
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Gives back `storage_bytes` of the project's stored bytes (a file was deleted); never
/// below zero. A project without a quota has nothing to give back.
pub async fn credit_storage(conn: &mut AsyncPgConnection, project_id: Uuid, storage_bytes: i64) -> AppResult<()> {
    cached("UPDATE project_quotas SET storage_used_bytes = greatest(storage_used_bytes - $2, 0) WHERE project_id = $1")
        .bind::<SqlUuid, _>(project_id)
        .bind::<BigInt, _>(storage_bytes)
        .execute(conn)
        .await?;
    Ok(())
}

/// New limits of a project's quota; `None` means unlimited.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Tokens per period.
    pub tokens: Option<i64>,
    /// Requests per period.
    pub requests: Option<i64>,
    /// Stored bytes.
    pub storage_bytes: Option<i64>,
    /// How often usage resets.
    pub period: QuotaPeriod,
}

/// Sets the granted project's quota limits (creating the quota on first use; usage so far is
/// kept). Needs `organization.update` (organization owners and admins).
pub async fn set(tx: &mut Tx, grant: &Grant, limits: Limits) -> AppResult<ProjectQuotaRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a quota is set with a project grant")))?;
    let errors: Vec<FieldError> = [
        ("tokensLimit", limits.tokens),
        ("requestsLimit", limits.requests),
        ("storageLimitBytes", limits.storage_bytes),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_some_and(|v| v < 0))
    .map(|(field, _)| FieldError::input(field, "OUT_OF_RANGE", format!("{field} must be 0 or more")))
    .collect();
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let quota: ProjectQuotaRow = cached(format!(
        "INSERT INTO project_quotas AS q (project_id, tokens_limit, requests_limit, storage_limit_bytes, period, reset_at) \
         VALUES ($1, $2, $3, $4, $5, (SELECT {NEXT_RESET} FROM (SELECT $5::text AS period) q)) \
         ON CONFLICT (project_id) DO UPDATE SET tokens_limit = $2, requests_limit = $3, storage_limit_bytes = $4, \
           period = $5 RETURNING *"
    ))
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Nullable<BigInt>, _>(limits.tokens)
    .bind::<diesel::sql_types::Nullable<BigInt>, _>(limits.requests)
    .bind::<diesel::sql_types::Nullable<BigInt>, _>(limits.storage_bytes)
    .bind::<diesel::sql_types::Text, _>(limits.period.as_str())
    .get_result(tx.conn())
    .await?;
    tx.audit(grant)
        .on("project", project_id)
        .details(json!({ "tokens": limits.tokens, "requests": limits.requests,
            "storageBytes": limits.storage_bytes, "period": limits.period.as_str() }))
        .record_in(tx)
        .await?;
    Ok(quota)
}
