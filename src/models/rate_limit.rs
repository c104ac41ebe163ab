//! Request counters per scope and window (hourly, daily), for a user or for another subject
//! (an email address or a client address, for failed sign-ins).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{find_by_id, insert_returning, user::UserRow};
use crate::db::{enums::RateLimitWindow, schema::rate_limit_counters};

/// How many requests a user made in one scope during one window, and the limit.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = rate_limit_counters, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct RateLimitCounterRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub scope: String,
    pub window_kind: RateLimitWindow,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub request_count: i32,
    pub limit_value: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub subject: Option<String>,
}

/// A new counter for a window.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = rate_limit_counters)]
pub struct NewRateLimitCounter {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub scope: String,
    pub window_kind: RateLimitWindow,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub request_count: i32,
    pub limit_value: i32,
    pub subject: Option<String>,
}

find_by_id!(RateLimitCounterRow, rate_limit_counters);
insert_returning!(NewRateLimitCounter => RateLimitCounterRow, rate_limit_counters);

impl RateLimitCounterRow {
    /// Counts one attempt by `subject` in `scope` during the window starting at `window_start`,
    /// unless the window already holds `limit` attempts. One statement, so concurrent attempts
    /// cannot slip past the limit. Returns the new count; None when the limit was reached.
    pub async fn try_count_subject(
        conn: &mut AsyncPgConnection,
        subject: &str,
        scope: &str,
        window_kind: RateLimitWindow,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
        limit: i32,
    ) -> QueryResult<Option<i32>> {
        use diesel::sql_types::{Int4, Text, Timestamptz};
        #[derive(QueryableByName)]
        struct Counted {
            #[diesel(sql_type = Int4)]
            request_count: i32,
        }
        // Diesel's upsert builder has no WHERE for DO UPDATE; the statement is small enough.
        let counted: Option<Counted> = diesel::sql_query(
            "INSERT INTO rate_limit_counters \
               (subject, scope, window_kind, window_start, window_end, request_count, limit_value) \
             VALUES ($1, $2, $3, $4, $5, 1, $6) \
             ON CONFLICT ON CONSTRAINT rate_limit_counters_subject_scope_window_key DO UPDATE \
               SET request_count = rate_limit_counters.request_count + 1, limit_value = EXCLUDED.limit_value \
               WHERE rate_limit_counters.request_count < EXCLUDED.limit_value \
             RETURNING request_count",
        )
        .bind::<Text, _>(subject)
        .bind::<Text, _>(scope)
        .bind::<Text, _>(window_kind.as_str())
        .bind::<Timestamptz, _>(window_start)
        .bind::<Timestamptz, _>(window_end)
        .bind::<Int4, _>(limit)
        .get_result(conn)
        .await
        .optional()?;
        Ok(counted.map(|c| c.request_count))
    }

    /// Counts one request by `user_id` in `scope` during the window starting at
    /// `window_start`, unless the window already holds `limit` requests: the same one-statement
    /// check-and-count as [`Self::try_count_subject`], for a signed-in user. None: limit reached.
    pub async fn try_count_user(
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        scope: &str,
        window_kind: RateLimitWindow,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
        limit: i32,
    ) -> QueryResult<Option<i32>> {
        use diesel::sql_types::{Int4, Text, Timestamptz, Uuid as SqlUuid};
        #[derive(QueryableByName)]
        struct Counted {
            #[diesel(sql_type = Int4)]
            request_count: i32,
        }
        let counted: Option<Counted> = diesel::sql_query(
            "INSERT INTO rate_limit_counters \
               (user_id, scope, window_kind, window_start, window_end, request_count, limit_value) \
             VALUES ($1, $2, $3, $4, $5, 1, $6) \
             ON CONFLICT ON CONSTRAINT rate_limit_counters_user_scope_window_key DO UPDATE \
               SET request_count = rate_limit_counters.request_count + 1, limit_value = EXCLUDED.limit_value \
               WHERE rate_limit_counters.request_count < EXCLUDED.limit_value \
             RETURNING request_count",
        )
        .bind::<SqlUuid, _>(user_id)
        .bind::<Text, _>(scope)
        .bind::<Text, _>(window_kind.as_str())
        .bind::<Timestamptz, _>(window_start)
        .bind::<Timestamptz, _>(window_end)
        .bind::<Int4, _>(limit)
        .get_result(conn)
        .await
        .optional()?;
        Ok(counted.map(|c| c.request_count))
    }

    /// Takes back attempts of `subject` in a window: all of them (`reset`) or one.
    pub async fn uncount_subject(
        conn: &mut AsyncPgConnection,
        subject: &str,
        scope: &str,
        window_kind: RateLimitWindow,
        window_start: DateTime<Utc>,
        reset: bool,
    ) -> QueryResult<()> {
        use rate_limit_counters::dsl as c;
        let target = rate_limit_counters::table
            .filter(c::subject.eq(subject))
            .filter(c::scope.eq(scope))
            .filter(c::window_kind.eq(window_kind))
            .filter(c::window_start.eq(window_start));
        if reset {
            diesel::update(target).set(c::request_count.eq(0)).execute(conn).await?;
        } else {
            diesel::update(target.filter(c::request_count.gt(0)))
                .set(c::request_count.eq(c::request_count - 1))
                .execute(conn)
                .await?;
        }
        Ok(())
    }
}
