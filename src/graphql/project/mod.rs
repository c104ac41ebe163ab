//! The `Project` type, its lists and aggregates; its mutations are in `mutation.rs`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    analytics_event::AnalyticsEvent,
    artifact::Artifact,
    assistant::Assistant,
    audit_log::{AuditLog, AuditLogFilter},
    chat::{Chat, ChatFilter, ChatOrder},
    connection::{
        AnalyticsEventConnection, ArtifactConnection, AssistantConnection, AuditLogConnection, ChatConnection,
        DatasourceConnection, DocumentConnection, FileConnection, JobConnection, PageArgs, ProjectMemberConnection,
        UsageEventConnection, WebhookSubscriptionConnection, load_connection,
    },
    context::ContextExt,
    datasource::Datasource,
    document::{Document, DocumentFilter},
    file::File,
    job::{Job, JobFilter},
    loaders::OrganizationById,
    loaders::{QuotaByProject, SettingsByProject, load, load_required},
    member::ProjectMember,
    model::Model,
    mutation::{UserError, write},
    node::{composite_id, global_id, input_id},
    organization::Organization,
    settings::{ProjectQuota, ProjectSettings},
    tool::Tool,
    usage::{self, UsageEvent, UsageFilter, UsageGroupBy, UsageSummary},
    webhook::WebhookSubscription,
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::ProjectStatus,
    models::project::ProjectRow,
    models::{lists, page::Filter, summary::UsageOwner},
    services::generation::prompt::Framing,
    services::{
        audit::Action,
        members,
        projects::{self, Lifecycle, ProjectFields},
    },
};

mod mutation;

pub use mutation::*;

/// A workspace inside an organization, holding chats, documents and settings.
pub struct Project(pub ProjectRow);

/// A workspace inside an organization, holding chats, documents and settings.
#[Object]
impl Project {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Project", self.0.id)
    }

    /// The raw UUID of this project.
    async fn uuid(&self) -> Uuid {
        self.0.id
    }

    /// Display name, unique within the organization.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the project is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Life-cycle state.
    async fn status(&self) -> ProjectStatus {
        self.0.status
    }

    /// True for the default project created with an organization.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Main language of the project's content (a BCP 47 tag such as `en`).
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The organization this project belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        load_required(ctx, OrganizationById(self.0.organization_id), "organization")
            .await
            .map(Organization)
    }

    /// Chats of this project the caller may read; most recently active first unless
    /// `orderBy` says otherwise.
    #[allow(clippy::too_many_arguments)] // Relay's four arguments, a filter and an order.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the chats that match.")] filter: Option<ChatFilter>,
        #[graphql(desc = "The order (default: last message, newest first).")] order_by: Option<ChatOrder>,
    ) -> Result<ChatConnection> {
        let args = PageArgs::new(first, after, last, before);
        let filter = filter.unwrap_or_default().conditions().map_err(|e| ctx.error(e))?;
        load_connection(ctx, ChatOrder::list(order_by), self.0.id, args, filter, Chat).await
    }

    /// Members of this project, in the order they joined.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ProjectMemberConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::PROJECT_MEMBERS,
            self.0.id,
            args,
            Filter::none(),
            ProjectMember,
        )
        .await
    }

    /// Generation defaults, models, tools and branding.
    async fn settings(&self, ctx: &Context<'_>) -> Result<Option<ProjectSettings>> {
        Ok(load(ctx, SettingsByProject(self.0.id)).await?.map(ProjectSettings))
    }

    /// Every tool its answers could call, each saying whether the project's settings enable
    /// it (`enabledTools`): a chat's model sees the enabled ones (those its assistant names,
    /// when it has one). The tools of the organization's MCP servers are listed now.
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn tools(&self, ctx: &Context<'_>) -> Result<Vec<Tool>> {
        let settings = load(ctx, SettingsByProject(self.0.id)).await?;
        super::tool::catalogue(ctx, Some(self.0.organization_id), settings.as_ref()).await
    }

    /// The models this project may answer with: every configured one, or those its settings
    /// enable (`enabledModels`), with context windows and prices.
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn models(&self, ctx: &Context<'_>) -> Result<Vec<Model>> {
        let framing = Framing {
            assistant: None,
            settings: load(ctx, SettingsByProject(self.0.id)).await?,
        };
        let default = framing.settings.as_ref().and_then(|s| s.default_model.clone());
        let providers = ctx.request().generations().providers();
        Ok(providers
            .all()
            .iter()
            .flat_map(|p| {
                p.models
                    .iter()
                    .filter_map(|m| providers.find(&format!("{}/{}", p.name, m.id)))
            })
            .filter(|m| framing.allows(m))
            .map(|model| Model {
                is_default: default
                    .as_ref()
                    .is_some_and(|d| *d == model.name() || *d == model.config.id),
                model,
            })
            .collect())
    }

    /// Token, request and storage limits and their status; null when the project has none.
    async fn quota(&self, ctx: &Context<'_>) -> Result<Option<ProjectQuota>> {
        Ok(load(ctx, QuotaByProject(self.0.id)).await?.map(ProjectQuota))
    }

    /// Assistants of this project, oldest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn assistants(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<AssistantConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::PROJECT_ASSISTANTS,
            self.0.id,
            args,
            Filter::none(),
            Assistant,
        )
        .await
    }

    /// Datasources of this project, oldest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn datasources(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<DatasourceConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::PROJECT_DATASOURCES,
            self.0.id,
            args,
            Filter::none(),
            Datasource,
        )
        .await
    }

    /// Documents of this project, newest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the documents that match.")] filter: Option<DocumentFilter>,
    ) -> Result<DocumentConnection> {
        let args = PageArgs::new(first, after, last, before);
        let filter = filter.unwrap_or_default().conditions().map_err(|e| ctx.error(e))?;
        load_connection(ctx, lists::PROJECT_DOCUMENTS, self.0.id, args, filter, Document).await
    }

    /// Files uploaded to this project, newest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn files(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<FileConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(ctx, lists::PROJECT_FILES, self.0.id, args, Filter::none(), File).await
    }

    /// Artifacts of this project (their latest versions), newest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn artifacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ArtifactConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(ctx, lists::PROJECT_ARTIFACTS, self.0.id, args, Filter::none(), Artifact).await
    }

    /// Webhook subscriptions, oldest first. Empty without `project.update`.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<WebhookSubscriptionConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::PROJECT_WEBHOOKS,
            self.0.id,
            args,
            Filter::none(),
            WebhookSubscription,
        )
        .await
    }

    /// Background jobs, newest first. Empty without `project.update`.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only the jobs that match.")] filter: Option<JobFilter>,
    ) -> Result<JobConnection> {
        let args = PageArgs::new(first, after, last, before);
        let filter = filter.unwrap_or_default().conditions();
        load_connection(ctx, lists::PROJECT_JOBS, self.0.id, args, filter, Job).await
    }

    /// Analytics events, newest first. Empty without `usage.read`.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn analytics_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<AnalyticsEventConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(
            ctx,
            lists::PROJECT_ANALYTICS,
            self.0.id,
            args,
            Filter::none(),
            AnalyticsEvent,
        )
        .await
    }

    /// Audit records of this project, newest first. Empty without `audit.read`.
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
        load_connection(ctx, lists::PROJECT_AUDIT_LOGS, self.0.id, args, filter, AuditLog).await
    }

    /// Usage records of this project, newest first. Empty without `usage.read`.
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
        load_connection(ctx, lists::PROJECT_USAGE, self.0.id, args, filter, UsageEvent).await
    }

    /// Usage of this project, optionally grouped. Zero without `usage.read`.
    async fn usage_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the records that match.")] filter: Option<UsageFilter>,
        #[graphql(desc = "Split the totals into groups.")] group_by: Option<UsageGroupBy>,
    ) -> Result<UsageSummary> {
        usage::summary(ctx, UsageOwner::Project, self.0.id, filter, group_by).await
    }
}

/// A role in a project.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ProjectRole {
    /// Owns the project (not assignable through `setProjectMemberRole`).
    Owner,
    /// Administers the project.
    Admin,
    /// Reads and writes chats and documents.
    Member,
    /// Reads and never writes.
    Viewer,
}

impl ProjectRole {
    fn role_name(self) -> &'static str {
        match self {
            ProjectRole::Owner => "owner",
            ProjectRole::Admin => "admin",
            ProjectRole::Member => "member",
            ProjectRole::Viewer => "viewer",
        }
    }
}
