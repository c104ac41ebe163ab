//! The `Model` type: a model a project may answer with, and its prices.

use async_graphql::{Object, SimpleObject};

use crate::providers::registry::ResolvedModel;

/// A model offered by a configured provider.
pub struct Model {
    /// The model.
    pub model: ResolvedModel,
    /// Whether it is the project's default.
    pub is_default: bool,
}

/// US dollars per million tokens.
#[derive(SimpleObject)]
pub struct ModelPrices {
    /// Per million prompt tokens.
    pub input_per_mtok: f64,
    /// Per million answer tokens.
    pub output_per_mtok: f64,
    /// Per million prompt tokens served from the provider's cache.
    pub cached_input_per_mtok: f64,
}

/// A model offered by a configured provider, as `sendMessage(input: {model})` names it.
#[Object]
impl Model {
    /// `provider/model`: what `sendMessage` takes.
    async fn name(&self) -> String {
        self.model.name()
    }

    /// The provider (`offline` for the built-in offline model).
    async fn provider(&self) -> &str {
        &self.model.provider
    }

    /// The model id as the provider knows it.
    async fn model_id(&self) -> &str {
        &self.model.config.id
    }

    /// Tokens of prompt plus answer it accepts.
    async fn context_window(&self) -> i64 {
        self.model.config.context_window
    }

    /// Its prices.
    async fn prices(&self) -> ModelPrices {
        let config = &self.model.config;
        ModelPrices {
            input_per_mtok: config.input_per_mtok,
            output_per_mtok: config.output_per_mtok,
            cached_input_per_mtok: config.cached_input_per_mtok.unwrap_or(config.input_per_mtok),
        }
    }

    /// Whether the project answers with it when a message names no model.
    async fn is_default(&self) -> bool {
        self.is_default
    }
}
