//! Platform-wide configuration: the `PlatformConfig` type and `setPlatformConfig`, for
//! platform admins only (FORBIDDEN for everyone else).

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    context::ContextExt,
    mutation::{UserError, write},
    node::global_id,
};
use crate::{
    auth::grant::{self, Permission},
    models::platform_config::PlatformConfigRow,
    providers::registry,
    services::{audit::Action, platform},
};

/// One platform-wide configuration entry, such as `routing_agent`.
pub struct PlatformConfig(pub PlatformConfigRow);

/// One platform-wide configuration entry, such as `routing_agent`.
#[Object]
impl PlatformConfig {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("PlatformConfig", self.0.id)
    }

    /// The entry's key.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// The value (any JSON).
    async fn value(&self) -> Json<&Value> {
        Json(&self.0.value)
    }

    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Input of `setPlatformConfig`.
#[derive(InputObject)]
pub struct SetPlatformConfigInput {
    /// The key: a lower-case letter, then a-z, 0-9, '_', '.', '-' (at most 128).
    pub key: String,
    /// The value (any JSON, at most 64 KiB).
    pub value: Json<Value>,
    /// What it is for.
    pub description: Option<String>,
}

/// The result of `setPlatformConfig`.
#[derive(SimpleObject)]
pub struct SetPlatformConfigPayload {
    /// The entry as it is now, unless there were user errors.
    pub platform_config: Option<PlatformConfig>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Platform configuration mutations.
#[derive(Default)]
pub struct PlatformMutation;

#[Object]
impl PlatformMutation {
    /// Sets a platform-wide configuration entry (platform admins only). Audited.
    async fn set_platform_config(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SetPlatformConfigInput,
    ) -> Result<SetPlatformConfigPayload> {
        let generations = ctx.request().generations();
        let configured = generations.configured_providers();
        let (row, user_errors) = write(ctx, Action::PlatformConfigSet, async |tx| {
            let admin = tx.platform(Permission::PlatformConfigure).await?;
            platform::set(tx, &admin, &input.key, input.value.0, input.description, configured).await
        })
        .await?;
        if row.as_ref().is_some_and(|r| r.key == registry::PLATFORM_KEY) {
            generations.reload_providers().await;
        }
        Ok(SetPlatformConfigPayload {
            platform_config: row.map(PlatformConfig),
            user_errors,
        })
    }
}

/// Every entry, by key (platform admins only).
pub async fn list(ctx: &Context<'_>) -> Result<Vec<PlatformConfig>> {
    let mut conn = ctx.conn().await?;
    grant::authorize_platform(&mut conn, ctx.request().caller(), Permission::PlatformConfigure)
        .await
        .map_err(|e| ctx.error(e))?;
    let rows = PlatformConfigRow::list(&mut conn).await.map_err(|e| ctx.error(e))?;
    Ok(rows.into_iter().map(PlatformConfig).collect())
}
