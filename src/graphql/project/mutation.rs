//! The project mutations: their inputs, payloads and resolvers.

use super::*;

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

/// Input of `createProject`.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// The organization (needs `project.create` there).
    pub organization_id: ID,
    /// Name, unique (ignoring case) among the organization's live projects; 1 to 200 characters.
    pub name: String,
    /// What the project is for (at most 10,000 characters).
    pub description: Option<String>,
    /// Main language, a BCP 47 tag such as `en` or `pt-BR`.
    pub language: Option<String>,
}

/// Input of `updateProject`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// The project (needs `project.update` there).
    pub id: ID,
    /// New name (unique in the organization, 1 to 200 characters).
    pub name: Option<String>,
    /// New description (at most 10,000 characters).
    pub description: Option<String>,
    /// New language tag; an empty string clears it.
    pub language: Option<String>,
}

/// Input of `archiveProject`, `restoreProject` and `deleteProject`.
#[derive(InputObject)]
pub struct ProjectLifecycleInput {
    /// The project (needs `project.delete` there).
    pub id: ID,
}

/// The result of `createProject`, `updateProject`, `archiveProject` and `restoreProject`.
#[derive(SimpleObject)]
pub struct ProjectPayload {
    /// The project as it is now, unless there were user errors.
    pub project: Option<Project>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteProject`.
#[derive(SimpleObject)]
pub struct DeleteProjectPayload {
    /// The id of the deleted project (for removing it from client caches).
    pub deleted_project_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Input of `removeProjectMember`.
#[derive(InputObject)]
pub struct RemoveProjectMemberInput {
    /// The project (needs `project.members.manage` there).
    pub project_id: ID,
    /// The member to remove (never the project's owner).
    pub user_id: ID,
}

/// The result of `removeProjectMember`.
#[derive(SimpleObject)]
pub struct RemoveProjectMemberPayload {
    /// The id of the removed membership (for removing it from client caches).
    pub removed_member_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Project and project membership mutations.
#[derive(Default)]
pub struct ProjectMutation;

impl ProjectMutation {
    /// Runs a lifecycle change of the project `input.id`.
    async fn lifecycle(
        ctx: &Context<'_>,
        input: ProjectLifecycleInput,
        change: Lifecycle,
    ) -> Result<(Option<ProjectRow>, Vec<UserError>)> {
        let action = match change {
            Lifecycle::Archive => Action::ProjectArchive,
            Lifecycle::Restore => Action::ProjectRestore,
            Lifecycle::Delete => Action::ProjectDelete,
        };
        write(ctx, action, async |tx| {
            let id = input_id(&input.id, "Project", "id")?;
            let grant = tx.grant(Place::Project(id), Permission::ProjectDelete).await?;
            projects::set_status(tx, &grant, change).await
        })
        .await
    }
}

/// Project and project membership mutations.
#[Object]
impl ProjectMutation {
    /// Creates a project with the caller as its owner (and default settings). Audited.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateProjectInput,
    ) -> Result<ProjectPayload> {
        let (project, user_errors) = write(ctx, Action::ProjectCreate, async |tx| {
            let id = input_id(&input.organization_id, "Organization", "organizationId")?;
            let grant = tx.grant(Place::Organization(id), Permission::ProjectCreate).await?;
            let fields = ProjectFields {
                name: Some(input.name),
                description: input.description,
                language: input.language,
            };
            projects::create(tx, &grant, fields).await
        })
        .await?;
        Ok(ProjectPayload {
            project: project.map(Project),
            user_errors,
        })
    }

    /// Changes a project's name, description or language. Audited.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateProjectInput,
    ) -> Result<ProjectPayload> {
        let (project, user_errors) = write(ctx, Action::ProjectUpdate, async |tx| {
            let id = input_id(&input.id, "Project", "id")?;
            let grant = tx.grant(Place::Project(id), Permission::ProjectUpdate).await?;
            let fields = ProjectFields {
                name: input.name,
                description: input.description,
                language: input.language,
            };
            projects::update(tx, &grant, fields).await
        })
        .await?;
        Ok(ProjectPayload {
            project: project.map(Project),
            user_errors,
        })
    }

    /// Archives a project: read-only, out of default lists. Audited.
    async fn archive_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ProjectLifecycleInput,
    ) -> Result<ProjectPayload> {
        let (project, user_errors) = Self::lifecycle(ctx, input, Lifecycle::Archive).await?;
        Ok(ProjectPayload {
            project: project.map(Project),
            user_errors,
        })
    }

    /// Brings an archived project back into use. Audited.
    async fn restore_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ProjectLifecycleInput,
    ) -> Result<ProjectPayload> {
        let (project, user_errors) = Self::lifecycle(ctx, input, Lifecycle::Restore).await?;
        Ok(ProjectPayload {
            project: project.map(Project),
            user_errors,
        })
    }

    /// Deletes a project (soft: gone from every list at once; never the default one). Audited.
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ProjectLifecycleInput,
    ) -> Result<DeleteProjectPayload> {
        let (project, user_errors) = Self::lifecycle(ctx, input, Lifecycle::Delete).await?;
        Ok(DeleteProjectPayload {
            deleted_project_id: project.map(|p| global_id("Project", p.id)),
            user_errors,
        })
    }

    /// Adds a member of the organization to a project with a role, or changes their role.
    /// Audited.
    async fn set_project_member_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SetProjectMemberRoleInput,
    ) -> Result<SetProjectMemberRolePayload> {
        let (member, user_errors) = write(ctx, Action::ProjectMemberRoleChange, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let user_id = input_id(&input.user_id, "User", "userId")?;
            let grant = tx
                .grant(Place::Project(project_id), Permission::ProjectMembersManage)
                .await?;
            members::set_project_role(tx, &grant, user_id, input.role.role_name()).await
        })
        .await?;
        Ok(SetProjectMemberRolePayload {
            membership: member.map(|m| ProjectMembership {
                project_id: global_id("Project", m.project_id),
                user_id: global_id("User", m.user_id),
                role: input.role,
            }),
            user_errors,
        })
    }

    /// Removes a member from a project (never its owner). Audited.
    async fn remove_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RemoveProjectMemberInput,
    ) -> Result<RemoveProjectMemberPayload> {
        let (removed, user_errors) = write(ctx, Action::ProjectMemberRemove, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let user_id = input_id(&input.user_id, "User", "userId")?;
            let grant = tx
                .grant(Place::Project(project_id), Permission::ProjectMembersManage)
                .await?;
            members::remove_from_project(tx, &grant, user_id).await
        })
        .await?;
        let project_id = input_id(&input.project_id, "Project", "projectId").ok();
        Ok(RemoveProjectMemberPayload {
            removed_member_id: removed
                .zip(project_id)
                .map(|(user, project)| composite_id("ProjectMember", project, user)),
            user_errors,
        })
    }
}
