//! The `Project` type.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    chat::Chat,
    context::ContextExt,
    loaders::{ChatsByProject, OrganizationById},
    node::{global_id, page_size},
    organization::Organization,
};
use crate::{db::enums::ProjectStatus, error::AppError, models::project::ProjectRow};

/// A workspace inside an organization, holding chats, documents and settings.
pub struct Project(pub ProjectRow);

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
        ctx.loader()
            .load_one(OrganizationById(self.0.organization_id))
            .await
            .map_err(|e| ctx.error(e))?
            .map(Organization)
            .ok_or_else(|| ctx.error(AppError::NotFound("organization")))
    }

    /// Chats of this project, most recently active first.
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (1 to 100, default 20).")] first: Option<i32>,
    ) -> Result<Vec<Chat>> {
        let first = page_size(first).map_err(|e| ctx.error(e))?;
        let rows = ctx
            .loader()
            .load_one(ChatsByProject {
                project_id: self.0.id,
                first,
            })
            .await
            .map_err(|e| ctx.error(e))?;
        Ok(rows.unwrap_or_default().into_iter().map(Chat).collect())
    }
}
