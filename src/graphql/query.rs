//! The root query type.

use async_graphql::{Context, ID, Object, Result};

use super::{
    connection::{OrganizationConnection, PageArgs, load_connection},
    context::ContextExt,
    member::Role,
    node::{self, MAX_PAGE_SIZE, Node},
    organization::Organization,
    platform::PlatformConfig,
    user::User,
};
use crate::{
    error::AppError,
    models::{lists, page::Filter, role::RoleRow},
};

/// The root fields that read the data model (merged into [`super::Query`]).
#[derive(Default)]
pub struct DataQuery;

/// The root fields that read the data model.
#[Object]
impl DataQuery {
    /// Version of the chatgraph API (the crate version of the server).
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// The signed-in user; null when the request is anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<User> {
        ctx.request().caller().map(|caller| User(caller.user.clone()))
    }

    /// Live organizations the caller may see, oldest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<OrganizationConnection> {
        let root = uuid::Uuid::nil();
        load_connection(
            ctx,
            lists::ORGANIZATIONS,
            root,
            PageArgs::new(first, after, last, before),
            Filter::none(),
            Organization,
        )
        .await
    }

    /// Every role (platform, organization and project scopes) with its permissions.
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<Role>> {
        let mut conn = ctx.conn().await?;
        let rows = RoleRow::all(&mut conn).await.map_err(|e| ctx.error(e))?;
        Ok(super::node::capped(rows, super::node::MAX_LIST_ITEMS, false, Role))
    }

    /// Platform-wide configuration, by key. Platform admins only (FORBIDDEN otherwise).
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn platform_configs(&self, ctx: &Context<'_>) -> Result<Vec<PlatformConfig>> {
        super::platform::list(ctx).await
    }

    /// Fetches any object by its global id; null when there is no such object or the caller
    /// may not see it.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A global id.")] id: ID) -> Result<Option<Node>> {
        node::resolve(ctx, &id).await
    }

    /// Fetches objects by their global ids (at most 100), in the order asked; null for each
    /// that does not exist or that the caller may not see.
    #[graphql(complexity = "1 + ids.len().min(MAX_PAGE_SIZE as usize) * child_complexity")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids (at most 100).")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE_SIZE as usize {
            return Err(ctx.error(AppError::BadUserInput(format!(
                "at most {MAX_PAGE_SIZE} ids at once, got {}",
                ids.len()
            ))));
        }
        async_graphql::futures_util::future::try_join_all(ids.iter().map(|id| node::resolve(ctx, id))).await
    }
}
