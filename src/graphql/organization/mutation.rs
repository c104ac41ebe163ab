//! The organization mutations: their inputs, payloads and resolvers.

use super::*;

/// Input of `createOrganization`.
#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// Display name (1 to 200 characters).
    pub name: String,
    /// URL-safe short name, unique: 1 to 64 lowercase letters, digits and inner hyphens.
    pub slug: String,
}

/// Input of `updateOrganization`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The organization (needs `organization.update` there).
    pub id: ID,
    /// New display name (1 to 200 characters).
    pub name: Option<String>,
    /// New slug (unique).
    pub slug: Option<String>,
}

/// Input of `deleteOrganization`.
#[derive(InputObject)]
pub struct DeleteOrganizationInput {
    /// The organization (needs `organization.delete` there; not a personal one).
    pub id: ID,
}

/// Input of `setOrganizationMemberRole`.
#[derive(InputObject)]
pub struct SetOrganizationMemberRoleInput {
    /// The organization (needs `members.manage` there).
    pub organization_id: ID,
    /// The member.
    pub user_id: ID,
    /// Their new role (only owners change an owner's role or give OWNER; the last owner
    /// stays an owner).
    pub role: OrganizationRole,
}

/// Input of `removeOrganizationMember`.
#[derive(InputObject)]
pub struct RemoveOrganizationMemberInput {
    /// The organization (needs `members.manage` there).
    pub organization_id: ID,
    /// The member to remove (with their project memberships in it; never the last owner).
    pub user_id: ID,
}

/// Input of `setOrganizationPlan`.
#[derive(InputObject)]
pub struct SetOrganizationPlanInput {
    /// The organization.
    pub id: ID,
    /// Its new plan.
    pub plan: OrganizationPlan,
}

/// Input of `setOrganizationStatus`.
#[derive(InputObject)]
pub struct SetOrganizationStatusInput {
    /// The organization.
    pub id: ID,
    /// ACTIVE, or SUSPENDED: its data stays readable and every write in it is refused.
    pub status: OrganizationStatus,
}

/// The result of `createOrganization`, `updateOrganization`, `setOrganizationPlan` and
/// `setOrganizationStatus`.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    /// The organization as it is now, unless there were user errors.
    pub organization: Option<Organization>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteOrganization`.
#[derive(SimpleObject)]
pub struct DeleteOrganizationPayload {
    /// The id of the deleted organization (for removing it from client caches).
    pub deleted_organization_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `setOrganizationMemberRole`.
#[derive(SimpleObject)]
pub struct OrganizationMemberPayload {
    /// The membership as it is now, unless there were user errors.
    pub member: Option<OrganizationMember>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `removeOrganizationMember`.
#[derive(SimpleObject)]
pub struct RemoveOrganizationMemberPayload {
    /// The id of the removed membership (for removing it from client caches).
    pub removed_member_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Organization and membership mutations.
#[derive(Default)]
pub struct OrganizationMutation;

impl OrganizationMutation {
    /// A platform admin's change of plan or status.
    async fn administer(
        ctx: &Context<'_>,
        action: Action,
        id: &ID,
        plan: Option<OrganizationPlan>,
        status: Option<OrganizationStatus>,
    ) -> Result<OrganizationPayload> {
        let (organization, user_errors) = write(ctx, action, async |tx| {
            let id = input_id(id, "Organization", "id")?;
            let admin = tx.platform(Permission::PlatformConfigure).await?;
            organizations::administer(tx, &admin, id, plan, status).await
        })
        .await?;
        Ok(OrganizationPayload {
            organization: organization.map(Organization),
            user_errors,
        })
    }
}

/// Organization and membership mutations.
#[Object]
impl OrganizationMutation {
    /// Changes an organization's plan. Platform admins only. Audited.
    async fn set_organization_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SetOrganizationPlanInput,
    ) -> Result<OrganizationPayload> {
        Self::administer(ctx, Action::OrganizationPlanChange, &input.id, Some(input.plan), None).await
    }

    /// Suspends an organization or makes it active again. Platform admins only. Audited.
    async fn set_organization_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SetOrganizationStatusInput,
    ) -> Result<OrganizationPayload> {
        Self::administer(
            ctx,
            Action::OrganizationStatusChange,
            &input.id,
            None,
            Some(input.status),
        )
        .await
    }

    /// Creates an organization with the caller as its owner. Audited.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        let (organization, user_errors) = write(ctx, Action::OrganizationCreate, async |tx| {
            let caller = tx.account_holder()?;
            let fields = OrganizationFields {
                name: Some(input.name),
                slug: Some(input.slug),
            };
            organizations::create(tx, &caller, fields).await
        })
        .await?;
        Ok(OrganizationPayload {
            organization: organization.map(Organization),
            user_errors,
        })
    }

    /// Renames an organization or changes its slug. Audited.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        let (organization, user_errors) = write(ctx, Action::OrganizationUpdate, async |tx| {
            let id = input_id(&input.id, "Organization", "id")?;
            let grant = tx
                .grant(Place::Organization(id), Permission::OrganizationUpdate)
                .await?;
            let fields = OrganizationFields {
                name: input.name,
                slug: input.slug,
            };
            organizations::update(tx, &grant, fields).await
        })
        .await?;
        Ok(OrganizationPayload {
            organization: organization.map(Organization),
            user_errors,
        })
    }

    /// Deletes an organization (soft: hidden at once, kept for recovery). Audited.
    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteOrganizationInput,
    ) -> Result<DeleteOrganizationPayload> {
        let (deleted, user_errors) = write(ctx, Action::OrganizationDelete, async |tx| {
            let id = input_id(&input.id, "Organization", "id")?;
            let grant = tx
                .grant(Place::Organization(id), Permission::OrganizationDelete)
                .await?;
            organizations::delete(tx, &grant).await
        })
        .await?;
        Ok(DeleteOrganizationPayload {
            deleted_organization_id: deleted.map(|id| global_id("Organization", id)),
            user_errors,
        })
    }

    /// Changes a member's role. Audited.
    async fn set_organization_member_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SetOrganizationMemberRoleInput,
    ) -> Result<OrganizationMemberPayload> {
        let (member, user_errors) = write(ctx, Action::OrganizationMemberRoleChange, async |tx| {
            let id = input_id(&input.organization_id, "Organization", "organizationId")?;
            let user_id = input_id(&input.user_id, "User", "userId")?;
            let grant = tx.grant(Place::Organization(id), Permission::MembersManage).await?;
            let role = input.role.role_name();
            organizations::set_member_role(tx, &grant, user_id, role).await
        })
        .await?;
        Ok(OrganizationMemberPayload {
            member: member.map(OrganizationMember),
            user_errors,
        })
    }

    /// Removes a member from an organization and its projects. Audited.
    async fn remove_organization_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RemoveOrganizationMemberInput,
    ) -> Result<RemoveOrganizationMemberPayload> {
        let (removed, user_errors) = write(ctx, Action::OrganizationMemberRemove, async |tx| {
            let id = input_id(&input.organization_id, "Organization", "organizationId")?;
            let user_id = input_id(&input.user_id, "User", "userId")?;
            let grant = tx.grant(Place::Organization(id), Permission::MembersManage).await?;
            organizations::remove_member(tx, &grant, user_id).await
        })
        .await?;
        let organization_id = input_id(&input.organization_id, "Organization", "organizationId").ok();
        Ok(RemoveOrganizationMemberPayload {
            removed_member_id: removed
                .zip(organization_id)
                .map(|(user, organization)| composite_id("OrganizationMember", organization, user)),
            user_errors,
        })
    }
}
