//! Per-user rate limits on writes, per scope and window (hourly and daily), as seed 002's
//! per-agent limits: `writes` counts every authorized write, and busier paths have scopes of
//! their own (`messages.post`, `feedback`, `files.upload`, `analytics.track`).
//!
//! Platform admins set limits in the platform configuration entry `rate_limits`, e.g.
//! `{"messages.post": {"hourly": 100, "daily": 1000}}`; a scope or window not named there
//! keeps its default ([`DEFAULTS`]). A request is counted in each window by one upsert that
//! refuses to count past the limit (`rate_limit_counters`), inside one transaction, so no
//! interleaving of concurrent requests lets more than the limit through, and a request refused
//! by the daily window is not counted in the hourly one either.

use crate::db::cached::cached;
use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel::{OptionalExtension, QueryableByName, sql_types::Jsonb};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    db::enums::RateLimitWindow,
    error::{AppError, AppResult, FieldError},
    models::rate_limit::{Counted, RateLimitCounterRow, Window},
};

/// Every authorized write.
pub const WRITES: &str = "writes";
/// Posting and editing messages.
pub const MESSAGES: &str = "messages.post";
/// Votes and ratings.
pub const FEEDBACK: &str = "feedback";
/// File uploads.
pub const UPLOADS: &str = "files.upload";
/// Batches of analytics events.
pub const EVENTS: &str = "analytics.track";

/// The platform configuration key holding the limits.
pub const CONFIG_KEY: &str = "rate_limits";

/// Default limits: (scope, per hour, per day).
pub const DEFAULTS: &[(&str, i32, i32)] = &[
    (WRITES, 2_000, 20_000),
    (MESSAGES, 300, 3_000),
    (FEEDBACK, 600, 6_000),
    (UPLOADS, 100, 1_000),
    (EVENTS, 600, 6_000),
];

/// The limits of `scope` per window: the configured ones, else the defaults.
fn limits_of(scope: &str, config: Option<&Value>) -> Vec<(RateLimitWindow, i32)> {
    let (hourly, daily) = DEFAULTS
        .iter()
        .find(|(name, ..)| *name == scope)
        .map_or((2_000, 20_000), |(_, hourly, daily)| (*hourly, *daily));
    let configured = |window: &str| {
        config
            .and_then(|c| c.get(scope))
            .and_then(|s| s.get(window))
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| *n > 0)
    };
    vec![
        (RateLimitWindow::Hourly, configured("hourly").unwrap_or(hourly)),
        (RateLimitWindow::Daily, configured("daily").unwrap_or(daily)),
    ]
}

/// Checks the shape of a `rate_limits` configuration value: an object of known scopes, each
/// an object with positive integer `hourly` and/or `daily`.
pub fn check_config(value: &Value) -> Option<FieldError> {
    let valid = value.as_object().is_some_and(|scopes| {
        scopes.iter().all(|(scope, windows)| {
            DEFAULTS.iter().any(|(name, ..)| name == scope)
                && windows.as_object().is_some_and(|w| {
                    w.iter().all(|(window, n)| {
                        ["hourly", "daily"].contains(&window.as_str())
                            && n.as_i64().is_some_and(|n| (1..=i64::from(i32::MAX)).contains(&n))
                    })
                })
        })
    });
    (!valid).then(|| {
        let scopes: Vec<&str> = DEFAULTS.iter().map(|(name, ..)| *name).collect();
        FieldError::input(
            "value",
            "INVALID_RATE_LIMITS",
            format!(
                "rate_limits must map scopes ({}) to {{\"hourly\": n, \"daily\": n}} with positive integers",
                scopes.join(", ")
            ),
        )
    })
}

#[derive(QueryableByName)]
struct Config {
    #[diesel(sql_type = Jsonb)]
    value: Value,
}

fn window_bounds(window: RateLimitWindow, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let length = match window {
        RateLimitWindow::Hourly => Duration::hours(1),
        RateLimitWindow::Daily => Duration::days(1),
    };
    let start = now.duration_trunc(length).unwrap_or(now);
    (start, start + length)
}

/// Counts one request of `user_id` in each of `scopes`, or refuses it with RATE_LIMITED (with
/// the seconds until the full window ends) when any window's limit is used up; a refused
/// request is counted nowhere (one configuration read, one transaction).
pub async fn check(conn: &mut AsyncPgConnection, user_id: Uuid, scopes: &[&str]) -> AppResult<()> {
    let config: Option<Config> = cached("SELECT value FROM platform_configs WHERE key = $1")
        .bind::<diesel::sql_types::Text, _>(CONFIG_KEY)
        .get_result(conn)
        .await
        .optional()?;
    let limits: Vec<_> = scopes
        .iter()
        .flat_map(|scope| {
            limits_of(scope, config.as_ref().map(|c| &c.value))
                .into_iter()
                .map(move |(window, limit)| (*scope, window, limit))
        })
        .collect();
    let now = Utc::now();
    conn.transaction::<_, AppError, _>(async |conn| {
        for (scope, window, limit) in limits {
            let (start, end) = window_bounds(window, now);
            let window = Window {
                scope,
                kind: window,
                start,
                end,
            };
            let counted = RateLimitCounterRow::try_count(conn, Counted::User(user_id), window, limit, None).await?;
            if counted.is_none() {
                return Err(AppError::RateLimited {
                    retry_after_secs: (end - now).num_seconds().max(1),
                });
            }
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn configured_limits_override_defaults_window_by_window() {
        let config = json!({ "messages.post": { "hourly": 10 } });
        assert_eq!(
            limits_of(MESSAGES, Some(&config)),
            vec![(RateLimitWindow::Hourly, 10), (RateLimitWindow::Daily, 3_000)]
        );
        assert_eq!(limits_of(UPLOADS, Some(&config))[0], (RateLimitWindow::Hourly, 100));
        assert!(check_config(&config).is_none());
        assert!(check_config(&json!({ "messages.post": { "hourly": 0 } })).is_some());
        assert!(check_config(&json!({ "nope": { "hourly": 5 } })).is_some());
        assert!(check_config(&json!({ "feedback": { "weekly": 5 } })).is_some());
        assert!(check_config(&json!([1])).is_some());
    }

    #[test]
    fn windows_start_on_the_hour_and_the_day() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T21:37:12Z")
            .expect("time")
            .with_timezone(&Utc);
        let (start, end) = window_bounds(RateLimitWindow::Hourly, now);
        assert_eq!(
            (start.to_rfc3339(), end.to_rfc3339()),
            ("2026-12-01T21:00:00+00:00".into(), "2026-12-01T22:00:00+00:00".into())
        );
        let (start, _) = window_bounds(RateLimitWindow::Daily, now);
        assert_eq!(start.to_rfc3339(), "2026-12-01T00:00:00+00:00");
    }
}
