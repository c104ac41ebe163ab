//! The `User` type.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{api_token::ApiToken, context::ContextExt, node::global_id, organization::Organization};
use crate::models::{
    api_token::ApiTokenRow, organization::OrganizationMemberRow, organization::OrganizationRow, user::UserRow,
};

/// A person who signs in. Their password hash and external ids are never exposed.
pub struct User(pub UserRow);

#[Object]
impl User {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("User", self.0.id)
    }

    /// The raw UUID of this user.
    async fn uuid(&self) -> Uuid {
        self.0.id
    }

    /// Email address.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Picture URL, if any.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// When the user last signed in.
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// API tokens of this user, newest first. Only the user themselves sees them; for anyone
    /// else the list is empty.
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        if ctx.request().caller().is_none_or(|caller| caller.user.id != self.0.id) {
            return Ok(Vec::new());
        }
        let mut conn = ctx.conn().await?;
        let rows = ApiTokenRow::for_user(&mut conn, self.0.id)
            .await
            .map_err(|e| ctx.error(e))?;
        Ok(rows.into_iter().map(ApiToken).collect())
    }

    /// Organizations this user is a member of.
    async fn organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        let mut conn = ctx.conn().await?;
        let memberships = OrganizationMemberRow::for_user(&mut conn, self.0.id)
            .await
            .map_err(|e| ctx.error(e))?;
        let ids: Vec<Uuid> = memberships.iter().map(|m| m.organization_id).collect();
        let mut rows = OrganizationRow::find_many(&mut conn, &ids)
            .await
            .map_err(|e| ctx.error(e))?;
        let scope = ctx.request().scope().await.map_err(|e| ctx.error(e))?;
        rows.retain(|o| o.deleted_at.is_none() && scope.sees_organization(o.id));
        rows.sort_by_key(|o| (o.created_at, o.id));
        Ok(rows.into_iter().map(Organization).collect())
    }
}
