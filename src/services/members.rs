//! Project memberships: adding a member of the organization to a project with a role, or
//! changing their role. Needs `project.members.manage`; every change is audited.

use anyhow::anyhow;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use super::{audit::AuditEvent, auth::ClientInfo};
use crate::{
    auth::grant::Grant,
    db::enums::RoleScope,
    error::{AppError, AppResult, FieldError},
    models::{
        organization::OrganizationMemberRow,
        project::{NewProjectMember, ProjectMemberRow},
        role::RoleRow,
    },
};

/// Project roles that can be given; ownership is not handed out this way.
pub const ASSIGNABLE_ROLES: [&str; 3] = ["admin", "member", "viewer"];

/// Gives `user_id` the project role `role` in the granted project (adding them when they are
/// not a member yet). They must belong to the project's organization; an owner's role stays.
pub async fn set_project_role(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    user_id: Uuid,
    role: &str,
) -> AppResult<ProjectMemberRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a project role is set with a project grant")))?;
    if !ASSIGNABLE_ROLES.contains(&role) {
        return Err(FieldError::input("role", "INVALID_ROLE", "role must be admin, member or viewer").into());
    }
    let in_organization = OrganizationMemberRow::for_user(conn, user_id)
        .await?
        .iter()
        .any(|m| m.organization_id == grant.organization_id());
    if !in_organization {
        return Err(FieldError::input("userId", "NOT_FOUND", "no such member of the organization").into());
    }
    let new_role = RoleRow::find_by_name(conn, RoleScope::Project, role).await?;
    let previous = match ProjectMemberRow::find(conn, project_id, user_id).await? {
        Some(member) => Some(
            RoleRow::find(conn, member.role_id)
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
    conn.transaction::<_, AppError, _>(async |conn| {
        let member = ProjectMemberRow::upsert(
            conn,
            &NewProjectMember {
                project_id,
                user_id,
                role_id: new_role.id,
                added_by: Some(caller.user.id),
            },
        )
        .await?;
        AuditEvent::new("project_member.role_change")
            .by(caller)
            .within(Some(grant.organization_id()), Some(project_id))
            .on("user", user_id)
            .details(json!({ "from": previous, "to": role }))
            .record(conn, client)
            .await?;
        Ok(member)
    })
    .await
}
