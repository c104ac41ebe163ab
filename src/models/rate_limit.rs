//! Request counters per scope and window (hourly, daily), for a user or for another subject
//! (an email address or a client address, for failed sign-ins).

use crate::db::cached::cached;
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

/// Whose requests a counter counts.
#[derive(Debug, Clone, Copy)]
pub enum Counted<'a> {
    /// A signed-in user's.
    User(Uuid),
    /// Another subject's (`email:<sha-256>`, `ip:<address>`), before anyone is known.
    Subject(&'a str),
}

/// One window of one scope: where a request is counted.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// The limited operation, e.g. `messages.post`.
    pub scope: &'a str,
    /// Hourly or daily.
    pub kind: RateLimitWindow,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

impl RateLimitCounterRow {
    /// Counts one request of `owner` in `window`, unless the window already holds `limit`
    /// requests, or (with `spaced_after: Some(n)`) holds n or more and the last was counted
    /// less than 2^(count - n) seconds ago: growing delays. One statement (an upsert whose
    /// update refuses to count), so concurrent requests cannot slip past it: PostgreSQL
    /// re-checks the condition against the row each finally updates. Returns the new count;
    /// None when refused.
    pub async fn try_count(
        conn: &mut AsyncPgConnection,
        owner: Counted<'_>,
        window: Window<'_>,
        limit: i32,
        spaced_after: Option<i32>,
    ) -> QueryResult<Option<i32>> {
        use diesel::sql_types::{Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = Int4)]
            request_count: i32,
        }
        let (user_id, subject, constraint) = match owner {
            Counted::User(id) => (Some(id), None, "rate_limit_counters_user_scope_window_key"),
            Counted::Subject(subject) => (None, Some(subject), "rate_limit_counters_subject_scope_window_key"),
        };
        // Diesel's upsert builder has no WHERE for DO UPDATE; the statement is small enough.
        let counted: Option<Count> = cached(format!(
            "INSERT INTO rate_limit_counters \
               (user_id, subject, scope, window_kind, window_start, window_end, request_count, limit_value) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) \
             ON CONFLICT ON CONSTRAINT {constraint} DO UPDATE \
               SET request_count = rate_limit_counters.request_count + 1, limit_value = EXCLUDED.limit_value, \
                   updated_at = now() \
               WHERE rate_limit_counters.request_count < EXCLUDED.limit_value \
                 AND ($8::int4 IS NULL OR rate_limit_counters.request_count < $8 \
                      OR rate_limit_counters.updated_at <= now() \
                         - interval '1 second' * power(2, rate_limit_counters.request_count - $8)) \
             RETURNING request_count"
        ))
        .bind::<Nullable<SqlUuid>, _>(user_id)
        .bind::<Nullable<Text>, _>(subject)
        .bind::<Text, _>(window.scope)
        .bind::<Text, _>(window.kind.as_str())
        .bind::<Timestamptz, _>(window.start)
        .bind::<Timestamptz, _>(window.end)
        .bind::<Int4, _>(limit)
        .bind::<Nullable<Int4>, _>(spaced_after)
        .get_result(conn)
        .await
        .optional()?;
        Ok(counted.map(|c| c.request_count))
    }

    /// Deletes the counters of windows that ended before `before`; returns how many.
    pub async fn delete_ended_before(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(rate_limit_counters::table.filter(rate_limit_counters::window_end.lt(before)))
            .execute(conn)
            .await
    }

    /// The counter of `subject` in `window`, if any.
    pub async fn of_subject(
        conn: &mut AsyncPgConnection,
        subject: &str,
        window: Window<'_>,
    ) -> QueryResult<Option<Self>> {
        use rate_limit_counters::dsl as c;
        rate_limit_counters::table
            .filter(c::subject.eq(subject))
            .filter(c::scope.eq(window.scope))
            .filter(c::window_kind.eq(window.kind))
            .filter(c::window_start.eq(window.start))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
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
