//! Memberships (`OrganizationMember`, `ProjectMember`), roles and permissions.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::{
    loaders::{PermissionsByRole, RoleById, UserById, load, load_required},
    node::{composite_id, global_id},
    user::User,
};
use crate::{
    db::enums::RoleScope,
    models::{
        organization::OrganizationMemberRow,
        project::ProjectMemberRow,
        role::{PermissionRow, RoleRow},
    },
};

/// The user and role of a membership (seen by whoever sees the organization or project).
async fn member_user(ctx: &Context<'_>, user_id: uuid::Uuid) -> Result<User> {
    load_required(ctx, UserById(user_id), "user").await.map(User)
}

async fn role(ctx: &Context<'_>, role_id: uuid::Uuid) -> Result<Role> {
    load_required(ctx, RoleById(role_id), "role").await.map(Role)
}

/// A user's membership in an organization.
pub struct OrganizationMember(pub OrganizationMemberRow);

/// A user's membership in an organization.
#[Object]
impl OrganizationMember {
    /// Globally unique, opaque id of this object (organization and user).
    pub async fn id(&self) -> ID {
        composite_id("OrganizationMember", self.0.organization_id, self.0.user_id)
    }

    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        member_user(ctx, self.0.user_id).await
    }

    /// Their organization role.
    async fn role(&self, ctx: &Context<'_>) -> Result<Role> {
        role(ctx, self.0.role_id).await
    }

    /// When they joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
}

/// A user's membership in a project.
pub struct ProjectMember(pub ProjectMemberRow);

/// A user's membership in a project.
#[Object]
impl ProjectMember {
    /// Globally unique, opaque id of this object (project and user).
    pub async fn id(&self) -> ID {
        composite_id("ProjectMember", self.0.project_id, self.0.user_id)
    }

    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        member_user(ctx, self.0.user_id).await
    }

    /// Their project role.
    async fn role(&self, ctx: &Context<'_>) -> Result<Role> {
        role(ctx, self.0.role_id).await
    }

    /// When they were added.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
}

/// A named set of permissions, given on the platform, in an organization or in a project.
pub struct Role(pub RoleRow);

/// A named set of permissions, given on the platform, in an organization or in a project.
#[Object]
impl Role {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Role", self.0.id)
    }

    /// Where the role applies.
    async fn scope(&self) -> RoleScope {
        self.0.scope
    }

    /// Name, unique within its scope (`owner`, `admin`, `member`, `viewer`, ...).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the role is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// True for the roles chatgraph defines.
    async fn is_system(&self) -> bool {
        self.0.is_system
    }

    /// The permissions this role grants, by name.
    #[graphql(complexity = "crate::graphql::node::list_cost(child_complexity)")]
    async fn permissions(&self, ctx: &Context<'_>) -> Result<Vec<Permission>> {
        Ok(load(ctx, PermissionsByRole(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Permission)
            .collect())
    }
}

/// One right, such as `chat.write` or `usage.read`.
pub struct Permission(pub PermissionRow);

/// One right, such as `chat.write` or `usage.read`.
#[Object]
impl Permission {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Permission", self.0.id)
    }

    /// Dotted name, such as `project.update`.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What it allows.
    async fn description(&self) -> &str {
        &self.0.description
    }
}
