//! The `ApiToken` type and the mutations that create and revoke API tokens.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{
    auth::UserError,
    context::ContextExt,
    mutation::settle,
    node::{global_id, input_id},
};
use crate::{models::api_token::ApiTokenRow, services::api_tokens};

/// A long-lived token for scripts and integrations. The token itself is shown once, at
/// creation; afterwards only its first characters are known.
pub struct ApiToken(pub ApiTokenRow);

/// A long-lived token for scripts and integrations. The token itself is shown once, at
/// creation; afterwards only its first characters are known.
#[Object]
impl ApiToken {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("ApiToken", self.0.id)
    }

    /// A name to recognise it by.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The token's first characters, for recognising it (e.g. in a secret scanner's report).
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }

    /// The organization it is narrowed to, if any.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|id| global_id("Organization", id))
    }

    /// When it was last used (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When it stops working on its own, if ever.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `createApiToken`.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A name to recognise it by (1 to 100 characters).
    pub name: String,
    /// Narrow the token to this organization (one the caller belongs to).
    pub organization_id: Option<ID>,
    /// When it should stop working; never when null.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The result of `createApiToken`.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The new token's record.
    pub api_token: Option<ApiToken>,
    /// The token itself. Shown only here: store it safely.
    pub token: Option<String>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Input of `revokeApiToken`.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// The token's id.
    pub id: ID,
}

/// The result of `revokeApiToken`.
#[derive(SimpleObject)]
pub struct RevokeApiTokenPayload {
    /// The revoked token's record.
    pub api_token: Option<ApiToken>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// API token mutations.
#[derive(Default)]
pub struct ApiTokenMutation;

#[Object]
impl ApiTokenMutation {
    /// Creates an API token for the signed-in user. Requires a session, not an API token.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateApiTokenInput,
    ) -> Result<CreateApiTokenPayload> {
        let caller = ctx.caller()?;
        let organization_id = match &input.organization_id {
            Some(id) => Some(input_id(id, "Organization", "organizationId").map_err(|e| ctx.error(e))?),
            None => None,
        };
        let mut conn = ctx.conn().await?;
        let result = api_tokens::create(
            &mut conn,
            caller,
            ctx.request().client(),
            &input.name,
            organization_id,
            input.expires_at,
        )
        .await;
        let (created, user_errors) = settle(ctx, &mut conn, "api_token.create", result).await?;
        let (api_token, token) = match created {
            Some((row, secret)) => (Some(ApiToken(row)), Some(reveal(secret))),
            None => (None, None),
        };
        Ok(CreateApiTokenPayload {
            api_token,
            token,
            user_errors,
        })
    }

    /// Revokes one of the signed-in user's API tokens; it stops working at once.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RevokeApiTokenInput,
    ) -> Result<RevokeApiTokenPayload> {
        let caller = ctx.caller()?;
        let id = input_id(&input.id, "ApiToken", "id").map_err(|e| ctx.error(e))?;
        let mut conn = ctx.conn().await?;
        let result = api_tokens::revoke(&mut conn, caller, ctx.request().client(), id).await;
        let (revoked, user_errors) = settle(ctx, &mut conn, "api_token.revoke", result).await?;
        Ok(RevokeApiTokenPayload {
            api_token: revoked.map(ApiToken),
            user_errors,
        })
    }
}

fn reveal(secret: SecretString) -> String {
    secret.expose_secret().to_owned()
}
