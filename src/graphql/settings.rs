//! A project's `ProjectSettings` (generation defaults, models, tools, branding) and its
//! `ProjectQuota` with the status of each limit, and `updateProjectSettings`.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    mutation::{UserError, change, write},
    node::{global_id, input_id},
    scalars::BigInt,
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::QuotaPeriod,
    models::project::{ProjectQuotaRow, ProjectSettingsPatch, ProjectSettingsRow},
    services::{
        audit::Action,
        projects,
        quotas::{self, Limits},
    },
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

/// Input of `updateProjectSettings`. Omitted fields stay as they are; `null` clears a value.
#[derive(InputObject)]
pub struct UpdateProjectSettingsInput {
    /// The project (needs `project.update` there).
    pub project_id: ID,
    /// Model for new chats (at most 200 characters).
    pub default_model: MaybeUndefined<String>,
    /// Models chats may use (at most 100 names).
    pub enabled_models: Option<Vec<String>>,
    /// Tools models may call (at most 100 names).
    pub enabled_tools: Option<Vec<String>>,
    /// Sampling temperature, 0 to 2.
    pub temperature: MaybeUndefined<f64>,
    /// Answer length limit in tokens, 1 to 1,000,000.
    pub max_tokens: MaybeUndefined<i32>,
    /// Nucleus sampling, 0 to 1.
    pub top_p: MaybeUndefined<f64>,
    /// Tone of answers (at most 100 characters).
    pub tone: MaybeUndefined<String>,
    /// Shown when a chat starts (at most 2,000 characters).
    pub welcome_message: MaybeUndefined<String>,
    /// Brand colour, `#rrggbb`.
    pub brand_color: MaybeUndefined<String>,
    /// Logo, an `https://` URL.
    pub logo_url: MaybeUndefined<String>,
    /// Free custom values: a JSON object of at most 64 KiB (replaces the previous one).
    pub custom: Option<Json<Value>>,
}

/// The result of `updateProjectSettings`.
#[derive(SimpleObject)]
pub struct ProjectSettingsPayload {
    /// The settings as they are now, unless there were user errors.
    pub settings: Option<ProjectSettings>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Input of `setProjectQuota`. A limit left out or null is unlimited.
#[derive(InputObject)]
pub struct SetProjectQuotaInput {
    /// The project (needs `organization.update` in its organization: owners and admins).
    pub project_id: ID,
    /// Tokens per period (0 or more).
    pub tokens_limit: Option<BigInt>,
    /// Model requests per period (0 or more).
    pub requests_limit: Option<BigInt>,
    /// Stored bytes (0 or more).
    pub storage_limit_bytes: Option<BigInt>,
    /// How often usage resets; MONTHLY when omitted.
    pub period: Option<QuotaPeriod>,
}

/// The result of `setProjectQuota`.
#[derive(SimpleObject)]
pub struct ProjectQuotaPayload {
    /// The quota as it is now, unless there were user errors.
    pub quota: Option<ProjectQuota>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Project settings mutations.
#[derive(Default)]
pub struct SettingsMutation;

/// Project settings mutations.
#[Object]
impl SettingsMutation {
    /// Changes a project's generation defaults, models, tools, branding or custom values.
    /// Every value is checked (ranges, lengths, colour, URL, JSON shape) before anything is
    /// written. Audited.
    async fn update_project_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateProjectSettingsInput,
    ) -> Result<ProjectSettingsPayload> {
        let (settings, user_errors) = write(ctx, Action::ProjectSettingsUpdate, async |tx| {
            let id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(id), Permission::ProjectUpdate).await?;
            let changes = ProjectSettingsPatch {
                default_model: change(input.default_model),
                enabled_models: input.enabled_models,
                enabled_tools: input.enabled_tools,
                temperature: change(input.temperature),
                max_tokens: change(input.max_tokens),
                top_p: change(input.top_p),
                tone: change(input.tone),
                welcome_message: change(input.welcome_message),
                brand_color: change(input.brand_color),
                logo_url: change(input.logo_url),
                custom: input.custom.map(|json| json.0),
                updated_by: None,
            };
            projects::update_settings(tx, &grant, changes).await
        })
        .await?;
        Ok(ProjectSettingsPayload {
            settings: settings.map(ProjectSettings),
            user_errors,
        })
    }

    /// Sets a project's token, request and storage limits and their period (usage so far is
    /// kept). Organization owners and admins only. Audited.
    async fn set_project_quota(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SetProjectQuotaInput,
    ) -> Result<ProjectQuotaPayload> {
        let (quota, user_errors) = write(ctx, Action::ProjectQuotaSet, async |tx| {
            let id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(id), Permission::OrganizationUpdate).await?;
            let limits = Limits {
                tokens: input.tokens_limit.map(|l| l.0),
                requests: input.requests_limit.map(|l| l.0),
                storage_bytes: input.storage_limit_bytes.map(|l| l.0),
                period: input.period.unwrap_or(QuotaPeriod::Monthly),
            };
            quotas::set(tx, &grant, limits).await
        })
        .await?;
        Ok(ProjectQuotaPayload {
            quota: quota.map(ProjectQuota),
            user_errors,
        })
    }
}
