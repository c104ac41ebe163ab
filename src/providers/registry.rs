//! The model providers a server may call, from `CHATGRAPH_PROVIDERS` (a JSON list):
//!
//! ```json
//! [{"name": "openai", "kind": "openai", "base_url": "https://api.openai.com/v1",
//!   "api_key_env": "OPENAI_API_KEY",
//!   "models": [{"id": "gpt-4o-mini", "context_window": 128000,
//!               "input_per_mtok": 0.15, "output_per_mtok": 0.6, "cached_input_per_mtok": 0.075}]}]
//! ```
//!
//! A provider may also offer embedding models (`"embedding_models": [{"id":
//! "text-embedding-3-small", "dimensions": 1536, "input_per_mtok": 0.02}]`; `"send_dimensions":
//! true` asks a model that shortens its vectors for that length). The built-in offline
//! embedder `offline/chatgraph-offline-hashing-v1` is always there.
//!
//! `api_key` holds the key itself, `api_key_env` names the variable that does (better: the key
//! stays out of the JSON). `timeouts` (`connect_ms`, `first_token_ms`, `idle_ms`) is optional.
//! The built-in provider `offline` with model `offline` is always there unless
//! `CHATGRAPH_OFFLINE_MODEL=false`. A model is named `provider/model`, or by its id alone when
//! one provider has it.
//!
//! Platform admins add providers at run time with the same list in the platform configuration
//! entry `providers` ([`PLATFORM_KEY`]); there a key is named by `api_key_env` only, because
//! platform configuration is readable through the API.

use std::{str::FromStr, sync::Arc};

use anyhow::{Context, bail, ensure};
use bigdecimal::BigDecimal;
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    ChatModel, TokenUsage,
    embedding::{Embedder, OFFLINE_DIMENSIONS, OFFLINE_MODEL, OfflineHashingEmbedder},
    offline::{self, OfflineModel},
    openai::{OpenAiProvider, Timeouts, embeddings::OpenAiEmbedder},
};
use crate::models::document::EMBEDDING_DIMENSIONS;

/// One model of a provider, with its prices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The id the provider knows it by.
    pub id: String,
    /// Tokens of prompt plus answer it accepts.
    pub context_window: i64,
    /// US dollars per million prompt tokens.
    #[serde(default)]
    pub input_per_mtok: f64,
    /// US dollars per million answer tokens.
    #[serde(default)]
    pub output_per_mtok: f64,
    /// US dollars per million cached prompt tokens (the input price when not given).
    pub cached_input_per_mtok: Option<f64>,
}

/// One embedding model of a provider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingModelConfig {
    /// The id the provider knows it by.
    pub id: String,
    /// The length of its vectors (one of [`EMBEDDING_DIMENSIONS`]).
    pub dimensions: usize,
    /// US dollars per million tokens read.
    #[serde(default)]
    pub input_per_mtok: f64,
    /// Whether to send `dimensions` with each request (models that shorten their vectors).
    #[serde(default)]
    pub send_dimensions: bool,
}

/// The kinds of provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The OpenAI chat completions API (and everything compatible with it).
    Openai,
}

/// One entry of `CHATGRAPH_PROVIDERS`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The provider's name (`openai`, `ollama`, ...).
    pub name: String,
    /// Its API.
    pub kind: ProviderKind,
    /// Its base URL, up to and including the version (`https://api.openai.com/v1`).
    pub base_url: String,
    /// The key itself.
    pub api_key: Option<String>,
    /// The environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Its timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// The chat models offered.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// The embedding models offered.
    #[serde(default)]
    pub embedding_models: Vec<EmbeddingModelConfig>,
}

/// How a provider is called.
#[derive(Clone)]
pub enum Backend {
    /// The built-in offline model.
    Offline(OfflineModel),
    /// An OpenAI-compatible endpoint.
    OpenAi(OpenAiProvider),
}

impl Backend {
    /// The model, with `api_key` instead of the configured key when given (an organization's
    /// own credential; the offline model needs none).
    pub fn model(&self, api_key: Option<SecretString>) -> Arc<dyn ChatModel> {
        match (self, api_key) {
            (Backend::Offline(model), _) => Arc::new(*model),
            (Backend::OpenAi(provider), Some(key)) => Arc::new(provider.with_key(key)),
            (Backend::OpenAi(provider), None) => Arc::new(provider.clone()),
        }
    }

    /// The embedding model `config`, with `api_key` instead of the configured key when given.
    pub fn embedder(&self, config: &EmbeddingModelConfig, api_key: Option<SecretString>) -> Arc<dyn Embedder> {
        match self {
            Backend::Offline(_) => Arc::new(OfflineHashingEmbedder),
            Backend::OpenAi(provider) => Arc::new(OpenAiEmbedder {
                provider: match api_key {
                    Some(key) => provider.with_key(key),
                    None => provider.clone(),
                },
                model: config.id.clone(),
                dimensions: config.dimensions,
                send_dimensions: config.send_dimensions,
            }),
        }
    }

    /// True for OpenAI-compatible backends (whose key an organization may bring).
    pub fn takes_openai_key(&self) -> bool {
        matches!(self, Backend::OpenAi(_))
    }
}

/// A provider and its models.
#[derive(Clone)]
pub struct Provider {
    /// Its name.
    pub name: String,
    /// How to call it.
    pub backend: Backend,
    /// Its chat models.
    pub models: Vec<ModelConfig>,
    /// Its embedding models.
    pub embedding_models: Vec<EmbeddingModelConfig>,
}

/// An embedding model found by name.
#[derive(Clone)]
pub struct ResolvedEmbedding {
    /// The provider's name.
    pub provider: String,
    /// The model and its dimension.
    pub config: EmbeddingModelConfig,
    /// How to call it.
    pub backend: Backend,
}

impl ResolvedEmbedding {
    /// `provider/model`, as recorded on datasources and chunks.
    pub fn name(&self) -> String {
        format!("{}/{}", self.provider, self.config.id)
    }

    /// The built-in offline embedder.
    pub fn offline() -> Self {
        ResolvedEmbedding {
            provider: offline::NAME.to_owned(),
            config: EmbeddingModelConfig {
                id: OFFLINE_MODEL.to_owned(),
                dimensions: OFFLINE_DIMENSIONS,
                input_per_mtok: 0.0,
                send_dimensions: false,
            },
            backend: Backend::Offline(OfflineModel { tokens_per_sec: 0.0 }),
        }
    }

    /// The embedder, with an organization's own key when given.
    pub fn embedder(&self, api_key: Option<SecretString>) -> Arc<dyn Embedder> {
        self.backend.embedder(&self.config, api_key)
    }
}

/// A model found by name.
#[derive(Clone)]
pub struct ResolvedModel {
    /// The provider's name.
    pub provider: String,
    /// The model and prices.
    pub config: ModelConfig,
    /// How to call it.
    pub backend: Backend,
}

impl ResolvedModel {
    /// `provider/model`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.provider, self.config.id)
    }

    /// What `usage` costs, in US dollars: (input, output), cached prompt tokens at their price.
    pub fn cost(&self, usage: TokenUsage) -> (BigDecimal, BigDecimal) {
        let price = |per_mtok: f64| BigDecimal::from_str(&per_mtok.to_string()).unwrap_or_default();
        let million = BigDecimal::from(1_000_000);
        let cached = usage.cached.clamp(0, usage.input);
        let cached_price = self.config.cached_input_per_mtok.unwrap_or(self.config.input_per_mtok);
        let input = (BigDecimal::from(usage.input - cached) * price(self.config.input_per_mtok)
            + BigDecimal::from(cached) * price(cached_price))
            / &million;
        let output = BigDecimal::from(usage.output) * price(self.config.output_per_mtok) / &million;
        (input.with_scale(8), output.with_scale(8))
    }
}

/// Every provider a server may call.
#[derive(Clone, Default)]
pub struct Providers {
    providers: Vec<Provider>,
    /// The default embedding model (`provider/model`); the offline embedder when None.
    default_embedding: Option<String>,
}

/// The platform configuration entry holding providers added at run time.
pub const PLATFORM_KEY: &str = "providers";

/// The offline model's context window.
pub const OFFLINE_CONTEXT_WINDOW: i64 = 8_192;

impl Providers {
    /// Only the offline model, at `tokens_per_sec`.
    pub fn offline(tokens_per_sec: f64) -> Self {
        Providers {
            default_embedding: None,
            providers: vec![Provider {
                name: offline::NAME.to_owned(),
                backend: Backend::Offline(OfflineModel { tokens_per_sec }),
                models: vec![ModelConfig {
                    id: offline::NAME.to_owned(),
                    context_window: OFFLINE_CONTEXT_WINDOW,
                    input_per_mtok: 0.0,
                    output_per_mtok: 0.0,
                    cached_input_per_mtok: None,
                }],
                embedding_models: Vec::new(),
            }],
        }
    }

    /// The providers of `json` (`CHATGRAPH_PROVIDERS`), after the offline model when
    /// `offline_tokens_per_sec` is given. Keys named by `api_key_env` are read here.
    pub fn from_config(json: Option<&str>, offline_tokens_per_sec: Option<f64>) -> anyhow::Result<Self> {
        let mut providers = match offline_tokens_per_sec {
            Some(rate) => {
                ensure!(
                    rate.is_finite() && rate >= 0.0,
                    "CHATGRAPH_OFFLINE_TOKENS_PER_SEC must be 0 or more"
                );
                Self::offline(rate)
            }
            None => Providers::default(),
        };
        let configs: Vec<ProviderConfig> = match json.map(str::trim).filter(|j| !j.is_empty()) {
            Some(json) => serde_json::from_str(json).context("CHATGRAPH_PROVIDERS is not a valid provider list")?,
            None => Vec::new(),
        };
        for config in configs {
            providers.add(config)?;
        }
        Ok(providers)
    }

    /// These providers and those of the platform configuration entry `value` (see
    /// [`PLATFORM_KEY`]), which may not rename or replace one of these.
    pub fn with_platform(&self, value: &serde_json::Value) -> anyhow::Result<Self> {
        let configs: Vec<ProviderConfig> =
            serde_json::from_value(value.clone()).context("not a valid provider list")?;
        let mut providers = self.clone();
        for config in configs {
            ensure!(
                config.api_key.is_none(),
                "provider {}: api_key is not accepted in platform configuration (it is readable \
                 through the API); name the variable holding the key with api_key_env",
                config.name
            );
            providers.add(config)?;
        }
        Ok(providers)
    }

    fn add(&mut self, config: ProviderConfig) -> anyhow::Result<()> {
        let name = config.name.trim().to_owned();
        ensure!(
            !name.is_empty() && !name.contains('/'),
            "a provider name must be non-empty without '/'"
        );
        ensure!(
            self.providers.iter().all(|p| p.name != name),
            "provider {name} is configured twice"
        );
        ensure!(
            !config.models.is_empty() || !config.embedding_models.is_empty(),
            "provider {name} has no models"
        );
        for model in &config.embedding_models {
            ensure!(
                EMBEDDING_DIMENSIONS.contains(&model.dimensions),
                "{name}/{}: dimensions must be one of {EMBEDDING_DIMENSIONS:?}",
                model.id
            );
            ensure!(
                model.input_per_mtok.is_finite() && model.input_per_mtok >= 0.0,
                "{name}/{}: prices must be 0 or more",
                model.id
            );
        }
        for model in &config.models {
            ensure!(
                model.context_window > 0,
                "{name}/{}: context_window must be positive",
                model.id
            );
            ensure!(
                [
                    model.input_per_mtok,
                    model.output_per_mtok,
                    model.cached_input_per_mtok.unwrap_or(0.0)
                ]
                .iter()
                .all(|p| p.is_finite() && *p >= 0.0),
                "{name}/{}: prices must be 0 or more",
                model.id
            );
        }
        let api_key = match (&config.api_key, &config.api_key_env) {
            (Some(_), Some(_)) => bail!("provider {name}: give api_key or api_key_env, not both"),
            (Some(key), None) => Some(SecretString::from(key.clone())),
            (None, Some(var)) => Some(SecretString::from(
                std::env::var(var).with_context(|| format!("provider {name}: {var} is not set"))?,
            )),
            (None, None) => None,
        };
        let backend = match config.kind {
            ProviderKind::Openai => Backend::OpenAi(OpenAiProvider::new(&config.base_url, api_key, config.timeouts)?),
        };
        self.providers.push(Provider {
            name,
            backend,
            models: config.models,
            embedding_models: config.embedding_models,
        });
        Ok(())
    }

    /// These providers with `name` as the default embedding model (it must be offered).
    pub fn with_default_embedding(mut self, name: &str) -> anyhow::Result<Self> {
        ensure!(
            self.find_embedding(name).is_some(),
            "CHATGRAPH_EMBEDDING_MODEL: no provider offers the embedding model {name:?}"
        );
        self.default_embedding = Some(name.to_owned());
        Ok(self)
    }

    /// The default embedding model: of documents outside a datasource, and of new datasources.
    pub fn default_embedding(&self) -> ResolvedEmbedding {
        self.default_embedding
            .as_deref()
            .and_then(|name| self.find_embedding(name))
            .unwrap_or_else(ResolvedEmbedding::offline)
    }

    /// The embedding model named `provider/model` (always the offline embedder's name, even
    /// when the offline chat model is turned off).
    pub fn find_embedding(&self, name: &str) -> Option<ResolvedEmbedding> {
        let offline = ResolvedEmbedding::offline();
        if name == offline.name() {
            return Some(offline);
        }
        let (provider, id) = name.split_once('/')?;
        let found = self.providers.iter().find(|p| p.name == provider)?;
        found
            .embedding_models
            .iter()
            .find(|m| m.id == id)
            .map(|m| ResolvedEmbedding {
                provider: found.name.clone(),
                config: m.clone(),
                backend: found.backend.clone(),
            })
    }

    /// Every provider.
    pub fn all(&self) -> &[Provider] {
        &self.providers
    }

    /// The model named `provider/model`, or `model` when exactly that id is offered (the first
    /// provider offering it wins).
    pub fn find(&self, name: &str) -> Option<ResolvedModel> {
        let (provider, id) = match name.split_once('/') {
            Some((provider, id)) if self.providers.iter().any(|p| p.name == provider) => (Some(provider), id),
            _ => (None, name),
        };
        self.providers
            .iter()
            .filter(|p| provider.is_none_or(|name| p.name == name))
            .find_map(|p| {
                p.models.iter().find(|m| m.id == id).map(|m| ResolvedModel {
                    provider: p.name.clone(),
                    config: m.clone(),
                    backend: p.backend.clone(),
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"[{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9/v1",
        "api_key": "sk-test", "models": [{"id": "gpt-4o-mini", "context_window": 128000,
        "input_per_mtok": 0.15, "output_per_mtok": 0.6, "cached_input_per_mtok": 0.075}]}]"#;

    #[test]
    fn models_are_found_by_provider_and_id_or_by_id_alone() {
        let providers = Providers::from_config(Some(CONFIG), Some(40.0)).expect("providers");
        assert_eq!(
            providers.find("local/gpt-4o-mini").map(|m| m.name()).as_deref(),
            Some("local/gpt-4o-mini")
        );
        assert_eq!(
            providers.find("gpt-4o-mini").map(|m| m.provider).as_deref(),
            Some("local")
        );
        assert_eq!(
            providers.find("offline").map(|m| m.name()).as_deref(),
            Some("offline/offline")
        );
        assert!(providers.find("local/offline").is_none());
        assert!(providers.find("gpt-5").is_none());
        let without_offline = Providers::from_config(Some(CONFIG), None).expect("providers");
        assert!(without_offline.find("offline").is_none());
    }

    #[test]
    fn bad_provider_lists_are_refused_with_a_reason() {
        for (json, reason) in [
            ("{", "not a valid provider list"),
            (
                r#"[{"name": "a", "kind": "anthropic", "base_url": "x", "models": []}]"#,
                "not a valid",
            ),
            (
                r#"[{"name": "a", "kind": "openai", "base_url": "x", "models": []}]"#,
                "has no models",
            ),
            (
                r#"[{"name": "a", "kind": "openai", "base_url": "x", "api_key_env": "CHATGRAPH_TEST_UNSET_KEY", "models": [{"id": "m", "context_window": 1}]}]"#,
                "is not set",
            ),
            (
                r#"[{"name": "a", "kind": "openai", "base_url": "x", "models": [{"id": "m", "context_window": 0}]}]"#,
                "context_window",
            ),
        ] {
            let error = Providers::from_config(Some(json), None).err().expect(json);
            assert!(format!("{error:#}").contains(reason), "{json}: {error:#}");
        }
    }

    #[test]
    fn platform_providers_add_to_the_configured_ones_without_keys_in_the_value() {
        let configured = Providers::from_config(Some(CONFIG), Some(40.0)).expect("providers");
        let added = configured
            .with_platform(&serde_json::json!([{"name": "lab", "kind": "openai",
                "base_url": "http://127.0.0.1:9/v1", "models": [{"id": "m", "context_window": 4096}]}]))
            .expect("platform providers");
        assert_eq!(added.find("lab/m").map(|m| m.name()).as_deref(), Some("lab/m"));
        assert!(added.find("local/gpt-4o-mini").is_some() && added.find("offline").is_some());
        for (value, reason) in [
            (serde_json::json!({"name": "lab"}), "not a valid provider list"),
            (
                serde_json::json!([{"name": "lab", "kind": "openai", "base_url": "http://x/v1",
                    "api_key": "sk-secret", "models": [{"id": "m", "context_window": 1}]}]),
                "api_key is not accepted",
            ),
            (
                serde_json::json!([{"name": "local", "kind": "openai", "base_url": "http://x/v1",
                    "models": [{"id": "m", "context_window": 1}]}]),
                "configured twice",
            ),
        ] {
            let error = configured.with_platform(&value).err().expect("refused");
            let text = format!("{error:#}");
            assert!(text.contains(reason) && !text.contains("sk-secret"), "{text}");
        }
    }

    #[test]
    fn embedding_models_are_found_by_full_name_with_a_supported_dimension() {
        let json = r#"[{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9/v1",
            "embedding_models": [{"id": "mini", "dimensions": 384}]}]"#;
        let providers = Providers::from_config(Some(json), None).expect("providers");
        let mini = providers.find_embedding("local/mini").expect("mini");
        assert_eq!((mini.name(), mini.config.dimensions), ("local/mini".to_owned(), 384));
        assert!(
            providers.find_embedding("mini").is_none(),
            "an embedding model is named in full"
        );
        // The offline embedder is always there, and the default unless another is named.
        assert_eq!(
            providers.default_embedding().name(),
            "offline/chatgraph-offline-hashing-v1"
        );
        let chosen = providers.clone().with_default_embedding("local/mini").expect("default");
        assert_eq!(chosen.default_embedding().name(), "local/mini");
        let unknown = providers.with_default_embedding("local/huge").err().expect("refused");
        assert!(unknown.to_string().contains("CHATGRAPH_EMBEDDING_MODEL"), "{unknown}");
        let odd = json.replace("384", "100");
        let error = Providers::from_config(Some(&odd), None).err().expect("refused");
        assert!(format!("{error:#}").contains("dimensions must be one of"), "{error:#}");
    }

    #[test]
    fn cost_prices_cached_prompt_tokens_at_their_own_rate() {
        let providers = Providers::from_config(Some(CONFIG), None).expect("providers");
        let model = providers.find("gpt-4o-mini").expect("model");
        let (input, output) = model.cost(TokenUsage {
            input: 1_000_000,
            output: 2_000_000,
            cached: 500_000,
        });
        assert_eq!(input, BigDecimal::from_str("0.1125").expect("decimal").with_scale(8));
        assert_eq!(output, BigDecimal::from_str("1.2").expect("decimal").with_scale(8));
    }
}
