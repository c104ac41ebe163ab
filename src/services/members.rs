//! Project memberships: adding a member of the organization to a project with a role, or
//! changing their role. Needs `project.members.manage`; every change is audited.

use anyhow::anyhow;
use serde_json::json;
use uuid::Uuid;

use super::write::{RecordIn, Tx};
use crate::{
    auth::grant::Grant,
    db::enums::RoleScope,
    error::{AppError, AppResult, FieldError},
    models::{
        organization::OrganizationMemberRow,
        project::{NewProjectMember, ProjectMemberRow},
        role::{PermissionRow, RoleRow},
    },
};

/// Project roles that can be given; ownership is not handed out this way.
pub const ASSIGNABLE_ROLES: [&str; 3] = ["admin", "member", "viewer"];

/// Gives `user_id` the project role `role` in the granted project (adding them when they are
/// not a member yet). They must belong to the project's organization; an owner's role stays.
pub async fn set_project_role(tx: &mut Tx, grant: &Grant, user_id: Uuid, role: &str) -> AppResult<ProjectMemberRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a project role is set with a project grant")))?;
    if !ASSIGNABLE_ROLES.contains(&role) {
        return Err(FieldError::input("role", "INVALID_ROLE", "role must be admin, member or viewer").into());
    }
    let in_organization = OrganizationMemberRow::for_user(tx.conn(), user_id)
        .await?
        .iter()
        .any(|m| m.organization_id == grant.organization_id());
    if !in_organization {
        return Err(FieldError::input("userId", "NOT_FOUND", "no such member of the organization").into());
    }
    let new_role = RoleRow::find_by_name(tx.conn(), RoleScope::Project, role).await?;
    check_not_above(tx, grant, new_role.id).await?;
    let previous = match ProjectMemberRow::find(tx.conn(), project_id, user_id).await? {
        Some(member) => Some(
            RoleRow::find(tx.conn(), member.role_id)
                .await?
                .map(|r| r.name)
                .unwrap_or_default(),
        ),
        None => None,
    };
    if previous.as_deref() == Some("owner") {
        return Err(FieldError::input(
            "userId",
            "OWNER_ROLE_FIXED",
            "the project owner's role cannot be changed",
        )
        .into());
    }
    let caller = grant.caller();
    let member = ProjectMemberRow::upsert(
        tx.conn(),
        &NewProjectMember {
            project_id,
            user_id,
            role_id: new_role.id,
            added_by: Some(caller.user.id),
        },
    )
    .await?;
    tx.audit(grant)
        .on("user", user_id)
        .details(json!({ "from": previous, "to": role }))
        .record_in(tx)
        .await?;
    if previous.is_none() {
        let data = json!({ "projectId": project_id, "userId": user_id, "role": role });
        super::deliveries::emit(tx.conn(), project_id, "member.added", data).await?;
    }
    Ok(member)
}

/// Removes `user_id` from the granted project. The project's owner stays.
pub async fn remove_from_project(tx: &mut Tx, grant: &Grant, user_id: Uuid) -> AppResult<Uuid> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a project member is removed with a project grant")))?;
    let Some(member) = ProjectMemberRow::find(tx.conn(), project_id, user_id).await? else {
        return Err(FieldError::input("userId", "NOT_A_MEMBER", "no such member of the project").into());
    };
    let role = RoleRow::find(tx.conn(), member.role_id)
        .await?
        .map(|r| r.name)
        .unwrap_or_default();
    if role == "owner" {
        return Err(FieldError::input("userId", "OWNER_ROLE_FIXED", "the project owner cannot be removed").into());
    }
    use crate::db::schema::project_members as m;
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    let membership = m::table
        .filter(m::project_id.eq(project_id))
        .filter(m::user_id.eq(user_id));
    diesel::delete(membership).execute(tx.conn()).await?;
    tx.audit(grant)
        .on("user", user_id)
        .details(json!({ "role": role }))
        .record_in(tx)
        .await?;
    let data = json!({ "projectId": project_id, "userId": user_id });
    super::deliveries::emit(tx.conn(), project_id, "member.removed", data).await?;
    Ok(user_id)
}

/// Refuses to give role `role_id` when it grants a right the caller does not hold in the
/// granted place (ROLE_ABOVE_YOUR_OWN): nobody raises anyone, themselves included, above
/// their own rights.
pub(super) async fn check_not_above(tx: &mut Tx, grant: &Grant, role_id: Uuid) -> AppResult<()> {
    let rights = PermissionRow::names_for_roles(tx.conn(), &[role_id]).await?;
    if grant.covers(&rights) {
        return Ok(());
    }
    Err(FieldError::input(
        "role",
        "ROLE_ABOVE_YOUR_OWN",
        "you cannot give a role with rights you do not hold here",
    )
    .into())
}
