//! Writing organizations and their memberships: create (the caller becomes its owner),
//! rename or change the slug (`organization.update`), soft delete (`organization.delete`),
//! and add, re-role and remove members (`members.manage`). An organization always keeps an
//! owner, and only owners make or unmake owners. Every change is validated (errors as data),
//! runs in one transaction with its audit row, and membership changes of one organization are
//! serialized by locking its row, so two concurrent demotions cannot remove the last owner.

use crate::db::cached::cached;
use anyhow::anyhow;
use chrono::Utc;
use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::auth::Caller;
use super::write::{RecordIn, Tx};
use crate::{
    auth::grant::Grant,
    db::{
        enums::{OrganizationPlan, OrganizationStatus, RoleScope},
        new_id,
    },
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::{
        organization::{
            NewOrganization, NewOrganizationMember, OrganizationMemberRow, OrganizationPatch, OrganizationRow,
        },
        role::RoleRow,
    },
};

/// Longest organization name.
pub const MAX_NAME: usize = 200;

/// What `create` and `update` take.
#[derive(Debug, Default)]
pub struct OrganizationFields {
    /// Display name (1 to 200 characters after trimming).
    pub name: Option<String>,
    /// URL-safe short name: lowercase letters, digits and inner hyphens, 1 to 64 characters.
    pub slug: Option<String>,
}

/// Checks the fields; every problem at once, each on its input field.
fn validated(fields: OrganizationFields) -> AppResult<(Option<String>, Option<String>)> {
    let mut errors = Vec::new();
    let name = fields.name.map(|n| n.trim().to_owned());
    if let Some(error) = name
        .as_deref()
        .and_then(|n| FieldError::check_length("name", n, MAX_NAME))
    {
        errors.push(error);
    }
    if let Some(slug) = fields.slug.as_deref().filter(|s| !valid_slug(s)) {
        errors.push(FieldError::input(
            "slug",
            "INVALID_SLUG",
            format!("{slug:?} is not a slug: 1 to 64 lowercase letters, digits and inner hyphens"),
        ));
    }
    if errors.is_empty() {
        Ok((name, fields.slug))
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Whether `slug` is 1 to 64 of `a-z`, `0-9` and `-`, not starting or ending with `-` (the
/// rule of the `organizations_slug_format` constraint).
pub fn valid_slug(slug: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    (1..=64).contains(&slug.len()) && slug.chars().all(allowed) && !slug.starts_with('-') && !slug.ends_with('-')
}

/// A taken slug, from the unique constraint (checked by the database, so two concurrent
/// creations cannot both get it).
fn slug_taken(error: diesel::result::Error) -> AppError {
    let rule = ConstraintRule {
        constraint: "organizations_slug_key",
        field: "slug",
        code: "SLUG_TAKEN",
        message: "this slug is taken",
    };
    constraint_error(error, &[rule])
}

/// Creates an organization with the caller as its owner.
pub async fn create(tx: &mut Tx, caller: &Caller, fields: OrganizationFields) -> AppResult<OrganizationRow> {
    let mut errors = Vec::new();
    if fields.name.is_none() {
        errors.push(FieldError::input("name", "REQUIRED", "name is required"));
    }
    if fields.slug.is_none() {
        errors.push(FieldError::input("slug", "REQUIRED", "slug is required"));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (Some(name), Some(slug)) = validated(fields)? else {
        return Err(AppError::Internal(anyhow!("validated fields lost a value")));
    };
    let owner = RoleRow::find_by_name(tx.conn(), RoleScope::Organization, "owner").await?;
    let organization = NewOrganization {
        id: new_id(),
        name,
        slug,
        plan: None,
        is_personal: false,
        metadata: None,
    }
    .insert(tx.conn())
    .await
    .map_err(slug_taken)?;
    NewOrganizationMember {
        organization_id: organization.id,
        user_id: caller.user.id,
        role_id: owner.id,
        invited_by: None,
    }
    .insert(tx.conn())
    .await?;
    tx.event()
        .within(Some(organization.id), None)
        .on("organization", organization.id)
        .details(json!({ "slug": organization.slug }))
        .record_in(tx)
        .await?;
    Ok(organization)
}

/// Renames the granted organization or changes its slug.
pub async fn update(tx: &mut Tx, grant: &Grant, fields: OrganizationFields) -> AppResult<OrganizationRow> {
    let (name, slug) = validated(fields)?;
    let id = grant.organization_id();
    let organization = OrganizationPatch {
        name: name.clone(),
        slug: slug.clone(),
        ..Default::default()
    }
    .apply(tx.conn(), id)
    .await
    .map_err(slug_taken)?;
    tx.audit(grant)
        .on("organization", id)
        .details(json!({ "name": name, "slug": slug }))
        .record_in(tx)
        .await?;
    Ok(organization)
}

/// Changes an organization's plan or status (active or suspended). `admin` must come from
/// `grant::authorize_platform`: this is the platform's decision, not the tenant's. A
/// suspended organization's data stays readable, and every write in it is refused.
pub async fn administer(
    tx: &mut Tx,
    _admin: &Caller,
    id: Uuid,
    plan: Option<OrganizationPlan>,
    status: Option<OrganizationStatus>,
) -> AppResult<OrganizationRow> {
    let organization = OrganizationRow::find(tx.conn(), id)
        .await?
        .filter(|o| o.deleted_at.is_none())
        .ok_or(AppError::NotFound("organization"))?;
    if status == Some(OrganizationStatus::Deleted) {
        return Err(FieldError::input(
            "status",
            "INVALID_STATUS",
            "status must be ACTIVE or SUSPENDED (deleteOrganization deletes)",
        )
        .into());
    }
    let details = match (plan, status) {
        (Some(plan), _) => json!({ "from": organization.plan.as_str(), "to": plan.as_str() }),
        (None, Some(status)) => json!({ "from": organization.status.as_str(), "to": status.as_str() }),
        (None, None) => return Ok(organization),
    };
    let row = OrganizationPatch {
        plan,
        status,
        ..Default::default()
    }
    .apply(tx.conn(), id)
    .await?;
    tx.event()
        .within(Some(id), None)
        .on("organization", id)
        .details(details)
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Soft-deletes the granted organization: hidden from every list at once, kept for recovery
/// and for its records. A personal organization goes only with its user.
pub async fn delete(tx: &mut Tx, grant: &Grant) -> AppResult<Uuid> {
    let id = grant.organization_id();
    let organization = OrganizationRow::find(tx.conn(), id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if organization.is_personal {
        return Err(FieldError::input(
            "id",
            "PERSONAL_ORGANIZATION",
            "a personal organization is deleted with its user",
        )
        .into());
    }
    OrganizationPatch {
        status: Some(OrganizationStatus::Deleted),
        deleted_at: Some(Some(Utc::now())),
        ..Default::default()
    }
    .apply(tx.conn(), id)
    .await?;
    tx.audit(grant).on("organization", id).record_in(tx).await?;
    Ok(id)
}

/// Organization roles that can be given.
pub const ROLES: [&str; 3] = ["owner", "admin", "member"];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The role name of `user_id` in the organization, locking the organization's row first so
/// that membership changes of one organization run one after another.
pub(super) async fn lock_and_role_of(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<String>> {
    cached("SELECT 1::bigint AS count FROM organizations WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Uuid, _>(organization_id)
        .load::<Count>(conn)
        .await?;
    role_of(conn, organization_id, user_id).await
}

async fn role_of(conn: &mut AsyncPgConnection, organization_id: Uuid, user_id: Uuid) -> AppResult<Option<String>> {
    let member = OrganizationMemberRow::for_user(conn, user_id)
        .await?
        .into_iter()
        .find(|m| m.organization_id == organization_id);
    Ok(match member {
        Some(member) => RoleRow::find(conn, member.role_id).await?.map(|r| r.name),
        None => None,
    })
}

async fn owner_count(conn: &mut AsyncPgConnection, organization_id: Uuid) -> AppResult<i64> {
    let rows: Vec<Count> = cached(
        "SELECT count(*) AS count FROM organization_members m JOIN roles r ON r.id = m.role_id \
         WHERE m.organization_id = $1 AND r.name = 'owner'",
    )
    .bind::<diesel::sql_types::Uuid, _>(organization_id)
    .load(conn)
    .await?;
    Ok(rows.iter().map(|c| c.count).sum())
}

/// Only owners (and platform admins) make, unmake or remove owners.
pub(super) async fn check_owner_rule(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    touches_owner: bool,
) -> AppResult<()> {
    let caller = grant.caller();
    if !touches_owner || (caller.user.is_platform_admin && caller.narrowed_to.is_none()) {
        return Ok(());
    }
    if role_of(conn, grant.organization_id(), caller.user.id).await?.as_deref() == Some("owner") {
        Ok(())
    } else {
        Err(FieldError::input(
            "role",
            "OWNER_ONLY",
            "only an owner can make, change or remove an owner",
        )
        .into())
    }
}

pub(super) fn valid_role(role: &str) -> AppResult<()> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(FieldError::input("role", "INVALID_ROLE", "role must be owner, admin or member").into())
    }
}

/// Changes a member's role; the last owner cannot step down.
pub async fn set_member_role(
    tx: &mut Tx,
    grant: &Grant,
    user_id: Uuid,
    role: &str,
) -> AppResult<OrganizationMemberRow> {
    valid_role(role)?;
    let organization_id = grant.organization_id();
    let role_row = RoleRow::find_by_name(tx.conn(), RoleScope::Organization, role).await?;
    let Some(previous) = lock_and_role_of(tx.conn(), organization_id, user_id).await? else {
        return Err(FieldError::input("userId", "NOT_A_MEMBER", "no such member of the organization").into());
    };
    check_owner_rule(tx.conn(), grant, role == "owner" || previous == "owner").await?;
    super::members::check_not_above(tx, grant, role_row.id).await?;
    if previous == "owner" && role != "owner" && owner_count(tx.conn(), organization_id).await? <= 1 {
        return Err(FieldError::input("role", "LAST_OWNER", "an organization keeps at least one owner").into());
    }
    let member: OrganizationMemberRow =
        cached("UPDATE organization_members SET role_id = $3 WHERE organization_id = $1 AND user_id = $2 RETURNING *")
            .bind::<diesel::sql_types::Uuid, _>(organization_id)
            .bind::<diesel::sql_types::Uuid, _>(user_id)
            .bind::<diesel::sql_types::Uuid, _>(role_row.id)
            .get_result(tx.conn())
            .await?;
    tx.audit(grant)
        .on("user", user_id)
        .details(json!({ "from": previous, "to": role }))
        .record_in(tx)
        .await?;
    Ok(member)
}

/// Removes a member (and their memberships in the organization's projects); the last owner
/// cannot be removed.
pub async fn remove_member(tx: &mut Tx, grant: &Grant, user_id: Uuid) -> AppResult<Uuid> {
    let organization_id = grant.organization_id();
    let Some(previous) = lock_and_role_of(tx.conn(), organization_id, user_id).await? else {
        return Err(FieldError::input("userId", "NOT_A_MEMBER", "no such member of the organization").into());
    };
    check_owner_rule(tx.conn(), grant, previous == "owner").await?;
    if previous == "owner" && owner_count(tx.conn(), organization_id).await? <= 1 {
        return Err(FieldError::input("userId", "LAST_OWNER", "an organization keeps at least one owner").into());
    }
    cached(
        "DELETE FROM project_members WHERE user_id = $2 \
         AND project_id IN (SELECT id FROM projects WHERE organization_id = $1)",
    )
    .bind::<diesel::sql_types::Uuid, _>(organization_id)
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .execute(tx.conn())
    .await?;
    cached("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2")
        .bind::<diesel::sql_types::Uuid, _>(organization_id)
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .execute(tx.conn())
        .await?;
    tx.audit(grant)
        .on("user", user_id)
        .details(json!({ "role": previous }))
        .record_in(tx)
        .await?;
    Ok(user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_database_rule() {
        for good in ["a", "acme", "acme-2", &"x".repeat(64)] {
            assert!(valid_slug(good), "{good}");
        }
        for bad in ["", "-acme", "acme-", "Acme", "ac me", "acmé", &"x".repeat(65)] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_every_problem_is_reported() {
        let fields = OrganizationFields {
            name: Some("  Acme  ".into()),
            slug: Some("acme".into()),
        };
        assert_eq!(validated(fields).ok(), Some((Some("Acme".into()), Some("acme".into()))));
        let fields = OrganizationFields {
            name: Some("   ".into()),
            slug: Some("-bad".into()),
        };
        match validated(fields) {
            Err(AppError::Invalid(errors)) => {
                let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
                assert_eq!(codes, vec!["INVALID_LENGTH", "INVALID_SLUG"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
