//! Password hashing with argon2id (PHC strings, as stored in `users.password_hash`).

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::error::{AppError, AppResult};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (hashing cost must stay bounded).
pub const MAX_LENGTH: usize = 256;

/// Checks the password policy: length, and not the email itself.
pub fn check_policy(password: &str, email: &str) -> AppResult<()> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(AppError::BadUserInput(format!(
            "password must be at least {MIN_LENGTH} characters"
        )));
    }
    if length > MAX_LENGTH {
        return Err(AppError::BadUserInput(format!(
            "password must be at most {MAX_LENGTH} characters"
        )));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err(AppError::BadUserInput("password must not be the email address".into()));
    }
    Ok(())
}

/// Hashes a password with a fresh salt (argon2id, default parameters).
pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing a password: {e}")))
}

/// True when `password` matches the stored PHC string (constant-time comparison inside).
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Hashings and verifications that run at once; more wait their turn. Each takes ~20 MiB
/// and a core for tens of milliseconds, so a burst of sign-ups cannot take the server's
/// memory or its async workers (they run on the blocking pool).
pub const CONCURRENT_HASHES: usize = 2;

static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);

/// Runs `work` on the blocking pool, at most [`CONCURRENT_HASHES`] at once.
async fn off_the_workers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password hashing closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// [`hash`], off the async workers.
pub async fn hash_async(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    off_the_workers(move || hash(&password)).await?
}

/// [`verify`], off the async workers.
pub async fn verify_async(password: &str, phc: &str) -> AppResult<bool> {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    off_the_workers(move || verify(&password, &phc)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let first = hash("correct horse battery").expect("hash");
        let second = hash("correct horse battery").expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second);
        assert!(verify("correct horse battery", &first));
        assert!(!verify("correct horse battery!", &first));
        assert!(!verify("anything", "not a phc string"));
    }

    #[tokio::test]
    async fn hashing_off_the_workers_gives_the_same_answers() {
        let hashes = hashes_made_at_once(5).await;
        assert!(hashes.iter().all(|h| verify("correct horse battery", h)));
        assert!(verify_async("correct horse battery", &hashes[0]).await.expect("verify"));
        assert!(!verify_async("wrong horse battery", &hashes[0]).await.expect("verify"));
    }

    /// `n` hashes made at once (they take turns).
    async fn hashes_made_at_once(n: usize) -> Vec<String> {
        let tasks: Vec<_> = (0..n)
            .map(|_| tokio::spawn(async { hash_async("correct horse battery").await.expect("hash") }))
            .collect();
        let mut hashes = Vec::new();
        for task in tasks {
            hashes.push(task.await.expect("task"));
        }
        hashes
    }

    #[test]
    fn policy_rejects_short_and_email_passwords() {
        assert!(check_policy("short", "a@b.c").is_err());
        assert!(check_policy("Someone@Example.com", "someone@example.com").is_err());
        assert!(check_policy("a long enough passphrase", "someone@example.com").is_ok());
    }
}
