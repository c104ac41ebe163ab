//! Limits on failed sign-ins, so passwords cannot be guessed at speed and nobody can lock
//! an owner out of an account (`rate_limit_counters`, hourly windows):
//!
//! - per **email and client address pair**: after [`FREE_FAILURES`] failures each further
//!   attempt waits twice as long as the last (1 s, 2 s, 4 s, ...), and at most
//!   `per_email_address` an hour. The owner, signing in from another address, is not held
//!   back by someone else's guesses (an account-wide lock would be a denial of service).
//! - per **client address**, whatever the email: `per_address` failures an hour, against
//!   guessing one password across many accounts.
//!
//! Sign-ups are limited per client address too: `sign_ups_per_address` an hour; so are
//! requests for password-reset mail, which are also limited per email.
//!
//! An attempt is counted *before* the password is checked, in one statement that refuses to
//! count past the limit or before the delay, so parallel attempts cannot slip through; a
//! successful sign-in then takes its attempt back (and clears its pair's count), so only
//! failures count. Subjects are SHA-256 hashes of the email (with the address, for the
//! pair): the counters do not collect email addresses. Behind a proxy, the client address
//! is the one `CHATGRAPH_TRUSTED_PROXIES` lets it forward.

use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};

use super::auth::ClientInfo;
use crate::{
    db::enums::RateLimitWindow,
    error::{AppError, AppResult},
    models::rate_limit::{Counted, RateLimitCounterRow, Window},
};

const SCOPE: &str = "auth.sign_in";
const SIGN_UP_SCOPE: &str = "auth.sign_up";
const RESET_SCOPE: &str = "auth.password_reset";

/// Failures of an email and address pair before each further attempt must wait.
pub const FREE_FAILURES: i32 = 3;

/// How many failed sign-ins an hour are allowed.
#[derive(Debug, Clone, Copy)]
pub struct AuthLimits {
    /// Per email and client address pair (whether or not an account has the email).
    pub per_email_address: i32,
    /// Per client address.
    pub per_address: i32,
    /// Sign-ups (whether they succeed or not) per client address.
    pub sign_ups_per_address: i32,
}

/// A counted sign-in attempt. Call [`Attempt::succeeded`] when it succeeds; a failure needs
/// nothing more.
pub struct Attempt {
    pair_subject: String,
    address_subject: Option<String>,
    window_start: DateTime<Utc>,
}

/// Counts an attempt to sign in as `email` from `client`, or refuses it with RATE_LIMITED
/// (and the seconds until it may be tried again) when a limit is used up or the pair's
/// delay has not passed.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    limits: AuthLimits,
    email: &str,
    client: &ClientInfo,
) -> AppResult<Attempt> {
    let now = Utc::now();
    let window = hour(SCOPE, now);
    let start = window.start;
    let address = client.ip_address.map(|ip| ip.addr().to_string());
    let attempt = Attempt {
        pair_subject: pair_subject(email, address.as_deref()),
        address_subject: address.map(|address| format!("ip:{address}")),
        window_start: start,
    };
    let mut checks = vec![(
        attempt.pair_subject.as_str(),
        limits.per_email_address,
        Some(FREE_FAILURES),
    )];
    if let Some(address) = &attempt.address_subject {
        checks.push((address.as_str(), limits.per_address, None));
    }
    let until_window_end = (window.end - now).num_seconds().max(1);
    for (subject, limit, spaced_after) in checks {
        let counted =
            RateLimitCounterRow::try_count(conn, Counted::Subject(subject), window, limit, spaced_after).await?;
        if counted.is_some() {
            continue;
        }
        let counter = RateLimitCounterRow::of_subject(conn, subject, window).await?;
        let retry_after_secs = match (counter, spaced_after) {
            (Some(counter), Some(free)) if counter.request_count < limit => {
                let delay = Duration::seconds(1_i64 << (counter.request_count - free).clamp(0, 20));
                (counter.updated_at + delay - now)
                    .num_seconds()
                    .clamp(1, until_window_end)
            }
            _ => until_window_end,
        };
        return Err(AppError::RateLimited { retry_after_secs });
    }
    Ok(attempt)
}

/// Counts a sign-up from `client` (one that passed validation), or refuses it with
/// RATE_LIMITED when its address made `sign_ups_per_address` this hour. Without an address
/// (a server without connect info) nothing is counted.
pub async fn count_sign_up(conn: &mut AsyncPgConnection, limits: AuthLimits, client: &ClientInfo) -> AppResult<()> {
    let Some(address) = client.ip_address.map(|ip| format!("ip:{}", ip.addr())) else {
        return Ok(());
    };
    count_hourly(conn, SIGN_UP_SCOPE, &address, limits.sign_ups_per_address).await
}

/// Password-reset mails asked for per email address and hour (whether or not an account
/// has it): nobody can bury an inbox in them.
pub const RESETS_PER_EMAIL: i32 = 3;

/// Counts a request for a password-reset mail to `email` from `client`: at most
/// [`RESETS_PER_EMAIL`] an hour per email and `sign_ups_per_address` per client address;
/// RATE_LIMITED past either.
pub async fn count_reset_request(
    conn: &mut AsyncPgConnection,
    limits: AuthLimits,
    email: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    if let Some(address) = client.ip_address.map(|ip| format!("ip:{}", ip.addr())) {
        count_hourly(conn, RESET_SCOPE, &address, limits.sign_ups_per_address).await?;
    }
    let email = format!("email:{:x}", Sha256::digest(email.trim().to_lowercase().as_bytes()));
    count_hourly(conn, RESET_SCOPE, &email, RESETS_PER_EMAIL).await
}

/// Counts one event of `subject` in `scope`'s current hour, or RATE_LIMITED past `limit`.
async fn count_hourly(conn: &mut AsyncPgConnection, scope: &str, subject: &str, limit: i32) -> AppResult<()> {
    let window = hour(scope, Utc::now());
    let counted = RateLimitCounterRow::try_count(conn, Counted::Subject(subject), window, limit, None).await?;
    match counted {
        Some(_) => Ok(()),
        None => Err(AppError::RateLimited {
            retry_after_secs: (window.end - Utc::now()).num_seconds().max(1),
        }),
    }
}

/// The hourly window of `scope` around `now`.
fn hour(scope: &str, now: DateTime<Utc>) -> Window<'_> {
    let start = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    Window {
        scope,
        kind: RateLimitWindow::Hourly,
        start,
        end: start + Duration::hours(1),
    }
}

impl Attempt {
    /// The sign-in succeeded: the pair's failures are forgiven and this attempt no longer
    /// counts against the client address.
    pub async fn succeeded(self, conn: &mut AsyncPgConnection) -> AppResult<()> {
        let (hourly, start) = (RateLimitWindow::Hourly, self.window_start);
        RateLimitCounterRow::uncount_subject(conn, &self.pair_subject, SCOPE, hourly, start, true).await?;
        if let Some(address) = &self.address_subject {
            RateLimitCounterRow::uncount_subject(conn, address, SCOPE, hourly, start, false).await?;
        }
        Ok(())
    }
}

/// `pair:` and the hex SHA-256 of the trimmed, lower-cased email and the client address.
fn pair_subject(email: &str, address: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(email.trim().to_lowercase().as_bytes());
    hasher.update([0]);
    hasher.update(address.unwrap_or("unknown").as_bytes());
    format!("pair:{:x}", hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::pair_subject;

    #[test]
    fn pair_subjects_ignore_case_hide_the_email_and_differ_by_address() {
        let subject = pair_subject(" Ada@Example.com ", Some("127.0.0.1"));
        assert_eq!(subject, pair_subject("ada@example.com", Some("127.0.0.1")));
        assert_ne!(subject, pair_subject("ada@example.com", Some("127.0.0.2")));
        assert!(!subject.contains("example"));
        assert_eq!(subject.len(), "pair:".len() + 64);
    }
}
