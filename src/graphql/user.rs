//! The `User` type (with the signed-in user's sessions, projects and API tokens) and the
//! `Session` type.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    api_token::ApiToken,
    chat::Chat,
    connection::{
        ChatConnection, OrganizationConnection, PageArgs, ProjectConnection, RepositoryConnection, load_connection,
    },
    context::ContextExt,
    node::global_id,
    organization::Organization,
    project::Project,
    repository::Repository,
    usage::{self, UsageFilter, UsageGroupBy, UsageSummary},
};
use crate::models::{
    api_token::ApiTokenRow, lists, page::Filter, session::SessionRow, summary::UsageOwner, user::UserRow,
};

/// A person who signs in. Their password hash and external ids are never exposed.
pub struct User(pub UserRow);

/// A person who signs in. Their password hash and external ids are never exposed.
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

    /// When the user last signed in: for the user themselves and platform admins only (null
    /// for co-members, who have no need to watch each other's sign-ins).
    async fn last_login_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.0
            .last_login_at
            .filter(|_| ctx.request().scope().sees_user(self.0.id))
    }

    /// When the user confirmed their address (null until then; shown to the user themselves
    /// and platform admins only). Accepting invitations and linking a sign-in provider by
    /// email need a confirmed address.
    async fn email_confirmed_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.0
            .email_confirmed_at
            .filter(|_| ctx.request().scope().sees_user(self.0.id))
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// API tokens of this user, newest first (the latest 100). Only the user themselves sees them (an API
    /// token narrowed to an organization: only the tokens narrowed to it); for anyone else
    /// the list is empty.
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let Some(caller) = ctx.request().caller().filter(|caller| caller.user.id == self.0.id) else {
            return Ok(Vec::new());
        };
        let narrowed_to = caller.narrowed_to;
        let mut conn = ctx.conn().await?;
        let rows = ApiTokenRow::for_user(&mut conn, self.0.id)
            .await
            .map_err(|e| ctx.error(e))?;
        let rows = rows
            .into_iter()
            .filter(|row| narrowed_to.is_none() || row.organization_id == narrowed_to)
            .collect();
        Ok(super::node::capped(rows, super::node::MAX_LIST_ITEMS, false, ApiToken))
    }

    /// Signed-in sessions (devices, browsers) of this user that are still live, most recently
    /// used first. Only the user themselves sees them, not through an API token narrowed to
    /// an organization (sessions are the whole account's); for anyone else the list is empty.
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let own = |caller: &&crate::services::auth::Caller| caller.user.id == self.0.id && caller.narrowed_to.is_none();
        let Some(caller) = ctx.request().caller().filter(own) else {
            return Ok(Vec::new());
        };
        let mut conn = ctx.conn().await?;
        let rows = SessionRow::live_for_user(&mut conn, self.0.id)
            .await
            .map_err(|e| ctx.error(e))?;
        Ok(rows
            .into_iter()
            .map(|row| Session {
                current: caller.session_id == Some(row.id),
                row,
            })
            .collect())
    }

    /// Live projects this user works in (as a project member, or through an organization
    /// role that reads every project), oldest first. Only what the caller may see.
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
        let args = PageArgs::new(first, after, last, before);
        load_connection(ctx, lists::USER_PROJECTS, self.0.id, args, Filter::none(), Project).await
    }

    /// Chats this user started, most recently active first. Only what the caller may read.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ChatConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(ctx, lists::USER_CHATS, self.0.id, args, Filter::none(), Chat).await
    }

    /// Code repositories this user connected, newest first. Only the user themselves (and
    /// platform admins) see them; for anyone else the list is empty.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<RepositoryConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::USER_REPOSITORIES,
            self.0.id,
            args,
            Filter::none(),
            Repository,
        )
        .await
    }

    /// This user's own usage, optionally grouped. Zero for anyone but the user themselves
    /// (and platform admins).
    async fn usage_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the records that match.")] filter: Option<UsageFilter>,
        #[graphql(desc = "Split the totals into groups.")] group_by: Option<UsageGroupBy>,
    ) -> Result<UsageSummary> {
        usage::summary(ctx, UsageOwner::User, self.0.id, filter, group_by).await
    }

    /// Live organizations this user is a member of, oldest first. Only what the caller may
    /// see.
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
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::USER_ORGANIZATIONS,
            self.0.id,
            args,
            Filter::none(),
            Organization,
        )
        .await
    }
}

/// A signed-in device or browser.
pub struct Session {
    pub(crate) row: SessionRow,
    pub(crate) current: bool,
}

/// A signed-in device or browser.
#[Object]
impl Session {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Session", self.row.id)
    }

    /// The browser or client that signed in.
    async fn user_agent(&self) -> Option<&str> {
        self.row.user_agent.as_deref()
    }

    /// The address it signed in from.
    async fn ip_address(&self) -> Option<String> {
        self.row.ip_address.map(|ip| ip.addr().to_string())
    }

    /// True for the session making this request.
    async fn is_current(&self) -> bool {
        self.current
    }

    /// When it signed in.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// When it last refreshed its tokens.
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.row.last_seen_at
    }

    /// When it ends unless refreshed.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at
    }
}
