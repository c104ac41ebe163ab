//! A project's `ProjectSettings` (generation defaults, models, tools, branding) and its
//! `ProjectQuota` with the status of each limit.

use async_graphql::{ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{node::global_id, scalars::BigInt};
use crate::{
    db::enums::QuotaPeriod,
    models::project::{ProjectQuotaRow, ProjectSettingsRow},
};

/// How a project's chats are generated and branded.
pub struct ProjectSettings(pub ProjectSettingsRow);

/// How a project's chats are generated and branded.
#[Object]
impl ProjectSettings {
    /// Globally unique, opaque id of this object (one per project).
    pub async fn id(&self) -> ID {
        global_id("ProjectSettings", self.0.project_id)
    }

    /// The model new chats use.
    async fn default_model(&self) -> Option<&str> {
        self.0.default_model.as_deref()
    }

    /// Models chats may choose from.
    async fn enabled_models(&self) -> &[String] {
        &self.0.enabled_models
    }

    /// Tools models may call.
    async fn enabled_tools(&self) -> &[String] {
        &self.0.enabled_tools
    }

    /// Default sampling temperature (0 to 2).
    async fn temperature(&self) -> Option<f64> {
        self.0.temperature
    }

    /// Default answer length limit in tokens.
    async fn max_tokens(&self) -> Option<i32> {
        self.0.max_tokens
    }

    /// Default nucleus sampling (0 to 1).
    async fn top_p(&self) -> Option<f64> {
        self.0.top_p
    }

    /// Tone of answers (such as `friendly`).
    async fn tone(&self) -> Option<&str> {
        self.0.tone.as_deref()
    }

    /// Shown when a chat starts.
    async fn welcome_message(&self) -> Option<&str> {
        self.0.welcome_message.as_deref()
    }

    /// Brand colour (`#rrggbb`).
    async fn brand_color(&self) -> Option<&str> {
        self.0.brand_color.as_deref()
    }

    /// Logo URL.
    async fn logo_url(&self) -> Option<&str> {
        self.0.logo_url.as_deref()
    }

    /// Free custom values (JSON object).
    async fn custom(&self) -> Json<&Value> {
        Json(&self.0.custom)
    }

    /// When they last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One limit of a quota and how much of it is used.
#[derive(SimpleObject)]
pub struct QuotaLimit {
    /// The limit; null means unlimited.
    pub limit: Option<BigInt>,
    /// Used in the current period.
    pub used: BigInt,
    /// Left in the current period; null when unlimited.
    pub remaining: Option<BigInt>,
    /// `used` as a percentage of `limit` (may exceed 100); null when unlimited.
    pub percent_used: Option<f64>,
    /// Whether the limit is reached.
    pub exceeded: bool,
}

impl QuotaLimit {
    fn new(limit: Option<i64>, used: i64) -> Self {
        QuotaLimit {
            limit: limit.map(BigInt),
            used: BigInt(used),
            remaining: limit.map(|l| BigInt((l - used).max(0))),
            percent_used: limit.map(|l| if l == 0 { 100.0 } else { used as f64 * 100.0 / l as f64 }),
            exceeded: limit.is_some_and(|l| used >= l),
        }
    }
}

/// A project's token, request and storage limits and their status this period.
pub struct ProjectQuota(pub ProjectQuotaRow);

/// A project's token, request and storage limits and their status this period.
#[Object]
impl ProjectQuota {
    /// Globally unique, opaque id of this object (one per project).
    pub async fn id(&self) -> ID {
        global_id("ProjectQuota", self.0.project_id)
    }

    /// Tokens (input plus output).
    async fn tokens(&self) -> QuotaLimit {
        QuotaLimit::new(self.0.tokens_limit, self.0.tokens_used)
    }

    /// Model requests.
    async fn requests(&self) -> QuotaLimit {
        QuotaLimit::new(self.0.requests_limit, self.0.requests_used)
    }

    /// Stored bytes (files and documents).
    async fn storage_bytes(&self) -> QuotaLimit {
        QuotaLimit::new(self.0.storage_limit_bytes, self.0.storage_used_bytes)
    }

    /// How often usage resets.
    async fn period(&self) -> QuotaPeriod {
        self.0.period
    }

    /// When usage next resets.
    async fn reset_at(&self) -> DateTime<Utc> {
        self.0.reset_at
    }
}
