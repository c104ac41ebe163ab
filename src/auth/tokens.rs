//! Tokens: short-lived JWT access tokens, and opaque random tokens (refresh tokens, API
//! tokens) that are shown once and stored only as SHA-256 hashes.

use aes_gcm::aead::{OsRng, rand_core::RngCore};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Random bytes in every opaque token.
const OPAQUE_TOKEN_BYTES: usize = 32;
/// Characters of an opaque token kept for display (the kind prefix and a few more).
const DISPLAY_PREFIX_LEN: usize = 12;

/// What an opaque token is for; its prefix makes leaked tokens recognisable (secret scanners).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A refresh token of a session.
    Refresh,
    /// An API token.
    Api,
    /// An invitation to an organization.
    Invitation,
    /// A mailed token: confirming an address or resetting a password.
    Mail,
}

impl TokenKind {
    /// The prefix every token of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Refresh => "cgr_",
            TokenKind::Api => "cgk_",
            TokenKind::Invitation => "cgi_",
            TokenKind::Mail => "cgm_",
        }
    }
}

/// A freshly generated opaque token: `secret` is shown to its owner once, the rest is stored.
pub struct OpaqueToken {
    /// The token itself. Never stored.
    pub secret: SecretString,
    /// SHA-256 of the token, as stored.
    pub hash: Vec<u8>,
    /// The first characters, stored for display ("cgk_AbCdEfGh…").
    pub display_prefix: String,
}

/// Generates a token of `kind`: its prefix plus 32 random bytes (base64url).
pub fn generate(kind: TokenKind) -> OpaqueToken {
    let mut bytes = [0u8; OPAQUE_TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let secret = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    OpaqueToken {
        hash: hash(&secret),
        display_prefix: secret[..DISPLAY_PREFIX_LEN].to_owned(),
        secret: SecretString::from(secret),
    }
}

/// A webhook signing secret in the Standard Webhooks form, `whsec_<base64 of 32 random
/// bytes>`, so that the specification's own libraries verify deliveries unchanged. Stored
/// encrypted, not hashed: deliveries sign with it.
pub fn webhook_secret() -> SecretString {
    let mut bytes = [0u8; OPAQUE_TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares two hashes in constant time.
pub fn hashes_match(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    /// The session the token belongs to (revoking the session stops the token).
    pub sid: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Issues and verifies access tokens (HS256 with a key from configuration).
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl AccessTokens {
    /// Tokens signed with `secret` (at least 32 bytes), valid for `lifetime`.
    pub fn new(secret: &SecretString, issuer: &str, audience: &str, lifetime: Duration) -> anyhow::Result<Self> {
        let key = secret.expose_secret().as_bytes();
        anyhow::ensure!(key.len() >= 32, "the JWT signing key must be at least 32 bytes");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(AccessTokens {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            lifetime,
        })
    }

    /// A token for `user_id` in `session_id`, and when it expires.
    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires_at = now + self.lifetime;
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok((token, expires_at))
    }

    /// The claims of a valid token. Expired, tampered, foreign-key, `alg: none`, wrong
    /// issuer or audience: UNAUTHENTICATED, with no detail for the caller.
    pub fn verify(&self, token: &str) -> AppResult<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str, audience: &str, lifetime: Duration) -> AccessTokens {
        AccessTokens::new(&SecretString::from(secret.to_owned()), "chatgraph", audience, lifetime).expect("tokens")
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn opaque_tokens_are_random_prefixed_and_stored_as_hashes() {
        let first = generate(TokenKind::Api);
        let second = generate(TokenKind::Api);
        let secret = first.secret.expose_secret();
        assert!(secret.starts_with("cgk_") && secret.len() >= 4 + 43);
        assert_ne!(secret, second.secret.expose_secret());
        assert_eq!(first.hash, hash(secret));
        assert_eq!(first.hash.len(), 32);
        assert!(secret.starts_with(&first.display_prefix));
        assert!(hashes_match(&first.hash, &hash(secret)));
        assert!(!hashes_match(&first.hash, &second.hash));
        assert!(generate(TokenKind::Refresh).secret.expose_secret().starts_with("cgr_"));
    }

    #[test]
    fn valid_access_tokens_verify() {
        let tokens = tokens(KEY, "chatgraph-api", Duration::minutes(15));
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, expires_at) = tokens.issue(user, session).expect("issue");
        let claims = tokens.verify(&token).expect("valid");
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(claims.exp, expires_at.timestamp());
    }

    #[test]
    fn expired_tampered_foreign_unsigned_and_misaddressed_tokens_are_rejected() {
        let tokens = tokens(KEY, "chatgraph-api", Duration::minutes(15));
        let (token, _) = tokens.issue(Uuid::now_v7(), Uuid::now_v7()).expect("issue");

        let expired = self::tokens(KEY, "chatgraph-api", Duration::minutes(-10));
        let (old, _) = expired.issue(Uuid::now_v7(), Uuid::now_v7()).expect("issue");
        assert!(matches!(tokens.verify(&old), Err(AppError::Unauthenticated)), "expired");

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = URL_SAFE_NO_PAD.decode(&parts[1]).expect("payload");
        let at = payload.len() / 2;
        payload[at] ^= 1;
        parts[1] = URL_SAFE_NO_PAD.encode(payload);
        assert!(tokens.verify(&parts.join(".")).is_err(), "tampered payload");

        let (foreign, _) = self::tokens(
            "another key of thirty-two bytes!!",
            "chatgraph-api",
            Duration::minutes(15),
        )
        .issue(Uuid::now_v7(), Uuid::now_v7())
        .expect("issue");
        assert!(tokens.verify(&foreign).is_err(), "signed with another key");

        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = token.split('.').nth(1).expect("payload");
        assert!(tokens.verify(&format!("{header}.{body}.")).is_err(), "alg none");

        let (elsewhere, _) = self::tokens(KEY, "another-api", Duration::minutes(15))
            .issue(Uuid::now_v7(), Uuid::now_v7())
            .expect("issue");
        assert!(tokens.verify(&elsewhere).is_err(), "wrong audience");
        assert!(tokens.verify("not a jwt").is_err());
    }

    #[test]
    fn short_signing_keys_are_refused() {
        assert!(AccessTokens::new(&SecretString::from("short".to_owned()), "i", "a", Duration::minutes(1)).is_err());
    }
}
