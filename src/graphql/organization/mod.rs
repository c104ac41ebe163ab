//! The `Organization` type, its lists and aggregates; its mutations are in `mutation.rs`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    audit_log::{AuditLog, AuditLogFilter},
    connection::{
        AuditLogConnection, OrganizationInvitationConnection, OrganizationMemberConnection, PageArgs,
        ProjectConnection, UsageEventConnection, load_connection,
    },
    context::ContextExt,
    credential::Credential,
    invitation::OrganizationInvitation,
    mcp_server::McpServer,
    member::OrganizationMember,
    mutation::{UserError, write},
    node::{composite_id, global_id, input_id},
    project::Project,
    usage::{self, UsageEvent, UsageFilter, UsageGroupBy, UsageSummary},
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::{OrganizationPlan, OrganizationStatus},
    models::{lists, page::Filter, summary::UsageOwner},
    models::{mcp_server::McpServerRow, organization::OrganizationRow},
    services::{
        audit::Action,
        credentials,
        organizations::{self, OrganizationFields},
    },
};

mod mutation;

pub use mutation::*;

/// A tenant: the organization that owns projects, members and credentials.
pub struct Organization(pub OrganizationRow);

/// A tenant: the organization that owns projects, members and credentials.
#[Object]
impl Organization {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Organization", self.0.id)
    }

    /// The raw UUID of this organization.
    async fn uuid(&self) -> Uuid {
        self.0.id
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unique, URL-safe short name.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Billing plan.
    async fn plan(&self) -> OrganizationPlan {
        self.0.plan
    }

    /// Whether the organization may be used.
    async fn status(&self) -> OrganizationStatus {
        self.0.status
    }

    /// True for the personal organization created at sign-up.
    async fn is_personal(&self) -> bool {
        self.0.is_personal
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Live projects of this organization the caller may see, oldest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ProjectConnection> {
        load_connection(
            ctx,
            lists::ORGANIZATION_PROJECTS,
            self.0.id,
            PageArgs::new(first, after, last, before),
            Filter::none(),
            Project,
        )
        .await
    }

    /// Open invitations to this organization, newest first (needs `members.manage`; empty
    /// otherwise).
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<OrganizationInvitationConnection> {
        let args = PageArgs::new(first, after, last, before);
        let list = lists::ORGANIZATION_INVITATIONS;
        load_connection(ctx, list, self.0.id, args, Filter::none(), OrganizationInvitation).await
    }

    /// Members of this organization, in the order they joined.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<OrganizationMemberConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::ORGANIZATION_MEMBERS,
            self.0.id,
            args,
            Filter::none(),
            OrganizationMember,
        )
        .await
    }

    /// Usage records of the whole organization, newest first. Empty without `usage.read` in
    /// the organization.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn usage_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the records that match.")] filter: Option<UsageFilter>,
    ) -> Result<UsageEventConnection> {
        let args = PageArgs::new(first, after, last, before);
        let filter = filter.unwrap_or_default().conditions().map_err(|e| ctx.error(e))?;
        load_connection(ctx, lists::ORGANIZATION_USAGE, self.0.id, args, filter, UsageEvent).await
    }

    /// Usage of the whole organization, optionally grouped. Zero without `usage.read` in the
    /// organization.
    async fn usage_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the records that match.")] filter: Option<UsageFilter>,
        #[graphql(desc = "Split the totals into groups.")] group_by: Option<UsageGroupBy>,
    ) -> Result<UsageSummary> {
        usage::summary(ctx, UsageOwner::Organization, self.0.id, filter, group_by).await
    }

    /// Audit records of the organization, newest first. Empty without `audit.read` in the
    /// organization.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn audit_logs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the records that match.")] filter: Option<AuditLogFilter>,
    ) -> Result<AuditLogConnection> {
        let args = PageArgs::new(first, after, last, before);
        let filter = filter.unwrap_or_default().conditions().map_err(|e| ctx.error(e))?;
        load_connection(ctx, lists::ORGANIZATION_AUDIT_LOGS, self.0.id, args, filter, AuditLog).await
    }

    /// The MCP servers whose tools its projects may enable (the first 100).
    /// Needs `organization.update` (FORBIDDEN otherwise).
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn mcp_servers(&self, ctx: &Context<'_>) -> Result<Vec<McpServer>> {
        let mut conn = ctx.conn().await?;
        let place = Place::Organization(self.0.id);
        let rows = async {
            ctx.request()
                .permitted(&mut conn, place, Permission::OrganizationUpdate)
                .await?;
            Ok::<_, crate::error::AppError>(McpServerRow::for_organization(&mut conn, self.0.id).await?)
        }
        .await
        .map_err(|e| ctx.error(e))?;
        Ok(super::node::capped(rows, super::node::MAX_LIST_ITEMS, false, McpServer))
    }

    /// Provider credentials of this organization (the first 100): name, type and dates,
    /// never the secret.
    /// Needs `credentials.manage` (FORBIDDEN otherwise).
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn credentials(&self, ctx: &Context<'_>) -> Result<Vec<Credential>> {
        let mut conn = ctx.conn().await?;
        let place = Place::Organization(self.0.id);
        let rows = async {
            let grant = ctx
                .request()
                .permitted(&mut conn, place, Permission::CredentialsManage)
                .await?;
            credentials::list(&mut conn, &grant).await
        }
        .await
        .map_err(|e| ctx.error(e))?;
        Ok(super::node::capped(
            rows,
            super::node::MAX_LIST_ITEMS,
            false,
            Credential,
        ))
    }
}

/// A role in an organization.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationRole {
    /// Owns the organization: every right, including making other owners.
    Owner,
    /// Administers the organization, its members and projects.
    Admin,
    /// Belongs to the organization and creates projects.
    Member,
}

impl OrganizationRole {
    /// The role's name in the `roles` table.
    pub fn role_name(self) -> &'static str {
        match self {
            OrganizationRole::Owner => "owner",
            OrganizationRole::Admin => "admin",
            OrganizationRole::Member => "member",
        }
    }
}
