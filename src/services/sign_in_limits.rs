//! Limits on failed sign-ins, per email address and per client address, so passwords cannot
//! be guessed at speed (`rate_limit_counters`, hourly windows).
//!
//! An attempt is counted *before* the password is checked, in one statement that refuses to
//! count past the limit, so parallel attempts cannot slip through; a successful sign-in then
//! takes its attempt back (and clears the email's count), so only failures use up the limit.
//! The email is stored as a SHA-256 hash: the counters do not collect addresses.

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

/// How many failed sign-ins an hour are allowed.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Per email address (whether or not an account has it).
    pub per_email: i32,
    /// Per client address.
    pub per_address: i32,
}

/// A counted sign-in attempt. Call [`Attempt::succeeded`] when it succeeds; a failure needs
/// nothing more.
pub struct Attempt {
    email_subject: String,
    address_subject: Option<String>,
    window_start: DateTime<Utc>,
}

/// Counts an attempt to sign in as `email` from `client`, or refuses it with RATE_LIMITED
/// (and the seconds until the window ends) when either limit is used up.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    limits: SignInLimits,
    email: &str,
    client: &ClientInfo,
) -> AppResult<Attempt> {
    let now = Utc::now();
    let window_start = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let window_end = window_start + Duration::hours(1);
    let attempt = Attempt {
        email_subject: email_subject(email),
        address_subject: client.ip_address.map(|ip| format!("ip:{}", ip.addr())),
        window_start,
    };
    let mut checks = vec![(attempt.email_subject.as_str(), limits.per_email)];
    if let Some(address) = &attempt.address_subject {
        checks.push((address.as_str(), limits.per_address));
    }
    for (subject, limit) in checks {
        let window = Window {
            scope: SCOPE,
            kind: RateLimitWindow::Hourly,
            start: window_start,
            end: window_end,
        };
        let counted = RateLimitCounterRow::try_count(conn, Counted::Subject(subject), window, limit).await?;
        if counted.is_none() {
            return Err(AppError::RateLimited {
                retry_after_secs: (window_end - now).num_seconds().max(1),
            });
        }
    }
    Ok(attempt)
}

impl Attempt {
    /// The sign-in succeeded: the email's failures are forgiven and this attempt no longer
    /// counts against the client address.
    pub async fn succeeded(self, conn: &mut AsyncPgConnection) -> AppResult<()> {
        let (hourly, start) = (RateLimitWindow::Hourly, self.window_start);
        RateLimitCounterRow::uncount_subject(conn, &self.email_subject, SCOPE, hourly, start, true).await?;
        if let Some(address) = &self.address_subject {
            RateLimitCounterRow::uncount_subject(conn, address, SCOPE, hourly, start, false).await?;
        }
        Ok(())
    }
}

/// `email:` and the hex SHA-256 of the trimmed, lower-cased address.
fn email_subject(email: &str) -> String {
    format!("email:{:x}", Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::email_subject;

    #[test]
    fn email_subjects_ignore_case_and_hide_the_address() {
        let subject = email_subject(" Ada@Example.com ");
        assert_eq!(subject, email_subject("ada@example.com"));
        assert!(!subject.contains("example"));
        assert_eq!(subject.len(), "email:".len() + 64);
    }
}
