//! The `ApiToken` type and the mutations that create and revoke API tokens.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{
    mutation::{UserError, write},
    node::{global_id, input_id, optional_id},
};
use crate::{
    models::api_token::ApiTokenRow,
    services::{api_tokens, audit::Action},
};

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
        let (created, user_errors) = write(ctx, Action::ApiTokenCreate, async |tx| {
            let caller = tx.caller()?;
            let organization_id = optional_id(input.organization_id.as_ref(), "Organization", "organizationId")?;
            api_tokens::create(tx, &caller, &input.name, organization_id, input.expires_at).await
        })
        .await?;
        let (api_token, token) = created.unzip();
        Ok(CreateApiTokenPayload {
            api_token: api_token.map(ApiToken),
            token: token.map(reveal),
            user_errors,
        })
    }

    /// Revokes one of the signed-in user's API tokens; it stops working at once.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RevokeApiTokenInput,
    ) -> Result<RevokeApiTokenPayload> {
        let (revoked, user_errors) = write(ctx, Action::ApiTokenRevoke, async |tx| {
            let caller = tx.caller()?;
            api_tokens::revoke(tx, &caller, input_id(&input.id, "ApiToken", "id")?).await
        })
        .await?;
        Ok(RevokeApiTokenPayload {
            api_token: revoked.map(ApiToken),
            user_errors,
        })
    }
}

fn reveal(secret: SecretString) -> String {
    secret.expose_secret().to_owned()
}
