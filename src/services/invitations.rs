//! Invitations to an organization for anyone with an email address, account or not: invite
//! (`members.manage`; only owners invite owners), accept (signed in with the invited
//! address, before it expires, once), revoke. The token is shown once to whoever invites (to
//! pass on as they like: chatgraph sends no mail) and stored only as its SHA-256.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{
    audit::AuditEvent,
    auth::{Caller, ClientInfo, validate_email},
    organizations::{check_owner_rule, lock_and_role_of, valid_role},
};
use crate::{
    auth::{
        grant::Grant,
        tokens::{self, TokenKind},
    },
    db::{enums::RoleScope, new_id},
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::{
        invitation::{InvitationPatch, InvitationRow, NewInvitation},
        organization::{NewOrganizationMember, OrganizationMemberRow},
        role::RoleRow,
        user::UserRow,
    },
};

/// How long an invitation stays open.
pub const LIFETIME_DAYS: i64 = 7;

const OPEN_ALREADY: ConstraintRule = ConstraintRule {
    constraint: "organization_invitations_open_key",
    field: "email",
    code: "ALREADY_INVITED",
    message: "this address has an open invitation; revoke it to invite again",
};

fn invalid_token() -> AppError {
    FieldError::input(
        "token",
        "INVALID_INVITATION",
        "the invitation does not exist, has expired, or was used or revoked",
    )
    .into()
}

/// Invites `email` into the granted organization with `role`; returns the invitation and its
/// token (shown once).
pub async fn invite(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    email: &str,
    role: &str,
) -> AppResult<(InvitationRow, SecretString)> {
    let email = email.trim().to_owned();
    let mut errors = Vec::new();
    errors.extend(validate_email(&email).err());
    errors.extend(valid_role(role).err().into_iter().flat_map(|e| match e {
        AppError::Invalid(errors) => errors,
        _ => Vec::new(),
    }));
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let organization_id = grant.organization_id();
    if let Some(user) = UserRow::find_by_email(conn, &email).await?
        && OrganizationMemberRow::for_user(conn, user.id)
            .await?
            .iter()
            .any(|m| m.organization_id == organization_id)
    {
        return Err(FieldError::input("email", "ALREADY_MEMBER", "this user is already a member").into());
    }
    check_owner_rule(conn, grant, role == "owner").await?;
    let role_row = RoleRow::find_by_name(conn, RoleScope::Organization, role).await?;
    let token = tokens::generate(TokenKind::Invitation);
    let new = NewInvitation {
        id: new_id(),
        organization_id,
        email,
        role_id: role_row.id,
        token_hash: token.hash,
        invited_by: Some(grant.caller().user.id),
        expires_at: Utc::now() + Duration::days(LIFETIME_DAYS),
    };
    conn.transaction::<_, AppError, _>(async |conn| {
        let row = new
            .insert(conn)
            .await
            .map_err(|e| constraint_error(e, &[OPEN_ALREADY]))?;
        AuditEvent::new("organization_invitation.create")
            .by(grant.caller())
            .within(Some(organization_id), None)
            .on("organization_invitation", row.id)
            .details(json!({ "email": row.email, "role": role }))
            .record(conn, client)
            .await?;
        Ok((row, token.secret))
    })
    .await
}

/// Accepts an invitation for the signed-in caller, whose email must be the invited one:
/// they become a member with the invited role. Returns the membership.
pub async fn accept(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    client: &ClientInfo,
    token: &SecretString,
) -> AppResult<OrganizationMemberRow> {
    let hash = tokens::hash(token.expose_secret().trim());
    conn.transaction::<_, AppError, _>(async |conn| {
        let invitation = InvitationRow::lock_by_token_hash(conn, &hash)
            .await?
            .filter(|i| i.is_open(Utc::now()))
            .ok_or_else(invalid_token)?;
        if !invitation.email.eq_ignore_ascii_case(&caller.user.email) {
            // Not telling who was invited: the token alone does not reveal the address.
            return Err(FieldError::input(
                "token",
                "WRONG_ACCOUNT",
                "sign in with the invited email address to accept this invitation",
            )
            .into());
        }
        let organization_id = invitation.organization_id;
        if lock_and_role_of(conn, organization_id, caller.user.id).await?.is_some() {
            return Err(FieldError::input("token", "ALREADY_MEMBER", "you are already a member").into());
        }
        let member = NewOrganizationMember {
            organization_id,
            user_id: caller.user.id,
            role_id: invitation.role_id,
            invited_by: invitation.invited_by,
        }
        .insert(conn)
        .await?;
        InvitationPatch {
            accepted_at: Some(Some(Utc::now())),
            accepted_by: Some(Some(caller.user.id)),
            ..Default::default()
        }
        .apply(conn, invitation.id)
        .await?;
        AuditEvent::new("organization_invitation.accept")
            .by(caller)
            .within(Some(organization_id), None)
            .on("organization_invitation", invitation.id)
            .record(conn, client)
            .await?;
        Ok(member)
    })
    .await
}

/// Revokes an open invitation of the granted organization.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    invitation: &InvitationRow,
) -> AppResult<InvitationRow> {
    if invitation.organization_id != grant.organization_id() {
        return Err(AppError::NotFound("invitation"));
    }
    if invitation.accepted_at.is_some() || invitation.revoked_at.is_some() {
        return Err(FieldError::input(
            "id",
            "INVITATION_CLOSED",
            "the invitation was accepted or revoked already",
        )
        .into());
    }
    conn.transaction::<_, AppError, _>(async |conn| {
        let row = InvitationPatch {
            revoked_at: Some(Some(Utc::now())),
            ..Default::default()
        }
        .apply(conn, invitation.id)
        .await?;
        AuditEvent::new("organization_invitation.revoke")
            .by(grant.caller())
            .within(Some(grant.organization_id()), None)
            .on("organization_invitation", row.id)
            .details(json!({ "email": row.email }))
            .record(conn, client)
            .await?;
        Ok(row)
    })
    .await
}
