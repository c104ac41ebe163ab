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

/// Removes `user_id` from the granted project. The project's owner stays.
pub async fn remove_from_project(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    user_id: Uuid,
) -> AppResult<Uuid> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a project member is removed with a project grant")))?;
    let Some(member) = ProjectMemberRow::find(conn, project_id, user_id).await? else {
        return Err(FieldError::input("userId", "NOT_A_MEMBER", "no such member of the project").into());
    };
    let role = RoleRow::find(conn, member.role_id)
        .await?
        .map(|r| r.name)
        .unwrap_or_default();
    if role == "owner" {
        return Err(FieldError::input("userId", "OWNER_ROLE_FIXED", "the project owner cannot be removed").into());
    }
    let caller = grant.caller();
    conn.transaction::<_, AppError, _>(async |conn| {
        use diesel_async::RunQueryDsl;
        diesel::sql_query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind::<diesel::sql_types::Uuid, _>(project_id)
            .bind::<diesel::sql_types::Uuid, _>(user_id)
            .execute(conn)
            .await?;
        AuditEvent::new("project_member.remove")
            .by(caller)
            .within(Some(grant.organization_id()), Some(project_id))
            .on("user", user_id)
            .details(json!({ "role": role }))
            .record(conn, client)
            .await?;
        Ok(user_id)
    })
    .await
}
