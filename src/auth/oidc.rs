//! OpenID Connect ID tokens (Google or any issuer), verified against each provider's JWKS
//! from configuration (a file path or an HTTPS URL): signature by a key of the set (RSA or
//! EC, never HMAC, never `none`), issuer, audience and expiry.
//!
//! Configuration (`CHATGRAPH_OIDC_PROVIDERS`), a JSON list:
//! `[{"name": "google", "issuers": ["https://accounts.google.com", "accounts.google.com"],
//!    "audiences": ["<client id>"], "jwks": "https://www.googleapis.com/oauth2/v3/certs"}]`.
//!
//! Key sets are cached for an hour and reloaded early when a token names an unknown key id
//! (providers rotate keys), at most once a minute.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{AppError, AppResult, FieldError};

const CACHE_FOR: Duration = Duration::from_secs(3600);
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(60);
/// Asymmetric algorithms only: an ID token signed with a shared secret proves nothing here.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One configured identity provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The name clients pass as `provider` (`google` links by `users.google_sub` too).
    pub name: String,
    /// Accepted `iss` values.
    pub issuers: Vec<String>,
    /// Accepted `aud` values (the client ids of your applications).
    pub audiences: Vec<String>,
    /// Where the key set is: an `https://` (or `http://`) URL, or a file path.
    pub jwks: String,
}

/// The claims chatgraph uses from a verified ID token.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    /// The issuer.
    pub iss: String,
    /// The user's id at the issuer.
    pub sub: String,
    /// The user's email, if shared.
    pub email: Option<String>,
    /// Whether the issuer verified that email (a boolean, or "true" from some issuers).
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub picture: Option<String>,
}

impl IdClaims {
    /// True when the issuer vouches for the email address.
    pub fn email_is_verified(&self) -> bool {
        matches!(&self.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&self.email_verified, Some(serde_json::Value::String(s)) if s == "true")
    }
}

enum Source {
    File(PathBuf),
    Url(String),
}

struct Cache {
    keys: JwkSet,
    loaded_at: Instant,
}

struct Provider {
    config: ProviderConfig,
    source: Source,
    cache: Mutex<Option<Cache>>,
}

/// The configured providers.
#[derive(Clone, Default)]
pub struct OidcProviders {
    providers: Arc<Vec<Provider>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for OidcProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.providers.iter().map(|p| p.config.name.as_str()).collect();
        f.debug_struct("OidcProviders").field("providers", &names).finish()
    }
}

impl OidcProviders {
    /// Parses `CHATGRAPH_OIDC_PROVIDERS` (none configured when absent).
    pub fn from_config(json: Option<&str>) -> anyhow::Result<Self> {
        let configs: Vec<ProviderConfig> = match json.map(str::trim).filter(|j| !j.is_empty()) {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| anyhow::anyhow!("CHATGRAPH_OIDC_PROVIDERS is not a valid provider list: {e}"))?,
            None => Vec::new(),
        };
        let mut providers = Vec::new();
        for config in configs {
            anyhow::ensure!(
                !config.name.is_empty() && !config.issuers.is_empty() && !config.audiences.is_empty(),
                "OIDC provider {:?} needs a name, issuers and audiences",
                config.name
            );
            anyhow::ensure!(
                providers.iter().all(|p: &Provider| p.config.name != config.name),
                "OIDC provider {:?} appears twice",
                config.name
            );
            let source = if config.jwks.starts_with("https://") || config.jwks.starts_with("http://") {
                Source::Url(config.jwks.clone())
            } else {
                Source::File(PathBuf::from(&config.jwks))
            };
            providers.push(Provider {
                config,
                source,
                cache: Mutex::new(None),
            });
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(OidcProviders {
            providers: Arc::new(providers),
            http,
        })
    }

    /// Verifies `id_token` as issued for provider `name`. An unknown provider or a token
    /// that fails any check is a user error; an unreachable key set is an internal error.
    pub async fn verify(&self, name: &str, id_token: &str) -> AppResult<IdClaims> {
        let provider = self.providers.iter().find(|p| p.config.name == name).ok_or_else(|| {
            FieldError::input(
                "provider",
                "UNKNOWN_PROVIDER",
                format!("no identity provider named {name:?}"),
            )
        })?;
        let invalid = || {
            AppError::from(FieldError::input(
                "idToken",
                "INVALID_ID_TOKEN",
                "the ID token is not valid",
            ))
        };
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| invalid())?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid());
        }
        let jwk = self.key(provider, header.kid.as_deref()).await?.ok_or_else(invalid)?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid())?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&provider.config.issuers);
        validation.set_audience(&provider.config.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|error| {
                tracing::info!(oidc.provider = name, error = %error, "ID token refused");
                invalid()
            })?
            .claims;
        Ok(claims)
    }

    /// The key `kid` of the provider's set (the only key when the token names none),
    /// reloading the set when stale or when the key is unknown.
    async fn key(&self, provider: &Provider, kid: Option<&str>) -> AppResult<Option<jsonwebtoken::jwk::Jwk>> {
        let mut cache = provider.cache.lock().await;
        let find = |keys: &JwkSet| match kid {
            Some(kid) => keys.find(kid).cloned(),
            None if keys.keys.len() == 1 => keys.keys.first().cloned(),
            None => None,
        };
        if let Some(cached) = cache.as_ref() {
            let age = cached.loaded_at.elapsed();
            let found = find(&cached.keys);
            if age < CACHE_FOR && (found.is_some() || age < RELOAD_AT_MOST_EVERY) {
                return Ok(found);
            }
        }
        let keys = self.load(provider).await?;
        let found = find(&keys);
        *cache = Some(Cache {
            keys,
            loaded_at: Instant::now(),
        });
        Ok(found)
    }

    async fn load(&self, provider: &Provider) -> AppResult<JwkSet> {
        let text = match &provider.source {
            Source::File(path) => tokio::fs::read_to_string(path)
                .await
                .map_err(|e| anyhow::anyhow!("reading the JWKS of {}: {e}", provider.config.name))?,
            Source::Url(url) => self
                .http
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| anyhow::anyhow!("fetching the JWKS of {}: {e}", provider.config.name))?
                .text()
                .await
                .map_err(|e| anyhow::anyhow!("reading the JWKS of {}: {e}", provider.config.name))?,
        };
        Ok(serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("the JWKS of {} is invalid: {e}", provider.config.name))?)
    }
}
