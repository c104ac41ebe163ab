//! The `Project` type and project membership mutations.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    auth::{UserError, user_errors},
    chat::Chat,
    connection::{PageArgs, RelayConnection, load_connection},
    context::ContextExt,
    loaders::OrganizationById,
    node::{global_id, input_id},
    organization::Organization,
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::ProjectStatus,
    error::AppError,
    models::page::Filter,
    models::{chat::ChatRow, project::ProjectRow},
    services::members,
};

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

    /// Chats of this project the caller may read, most recently active first.
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<RelayConnection<Chat>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        load_connection(ctx, ChatRow::BY_PROJECT, self.0.id, args, Filter::none(), Chat).await
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

/// Input of `setProjectMemberRole`.
#[derive(InputObject)]
pub struct SetProjectMemberRoleInput {
    /// The project (needs `project.members.manage` there).
    pub project_id: ID,
    /// The user: a member of the project's organization.
    pub user_id: ID,
    /// The role to give (ADMIN, MEMBER or VIEWER).
    pub role: ProjectRole,
}

/// A user's membership in a project.
#[derive(SimpleObject)]
pub struct ProjectMembership {
    /// The project.
    pub project_id: ID,
    /// The member.
    pub user_id: ID,
    /// Their role now.
    pub role: ProjectRole,
}

/// The result of `setProjectMemberRole`.
#[derive(SimpleObject)]
pub struct SetProjectMemberRolePayload {
    /// The membership as it is now, unless there were user errors.
    pub membership: Option<ProjectMembership>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Project membership mutations.
#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Adds a member of the organization to a project with a role, or changes their role.
    /// Audited.
    async fn set_project_member_role(
        &self,
        ctx: &Context<'_>,
        input: SetProjectMemberRoleInput,
    ) -> Result<SetProjectMemberRolePayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let user_id = input_id(&input.user_id, "User", "userId")?;
            let grant = request
                .authorize(&mut conn, Place::Project(project_id), Permission::ProjectMembersManage)
                .await?;
            members::set_project_role(&mut conn, &grant, request.client(), user_id, input.role.role_name()).await
        }
        .await;
        let (member, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(SetProjectMemberRolePayload {
            membership: member.map(|m| ProjectMembership {
                project_id: global_id("Project", m.project_id),
                user_id: global_id("User", m.user_id),
                role: input.role,
            }),
            user_errors,
        })
    }
}
