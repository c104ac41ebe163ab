//! Invitations to an organization for anyone with an email address, account or not: the only
//! way into an organization (nobody is added without their consent). Invite
//! (`members.manage`; only owners invite owners; the same answer whether or not an account
//! has the address), accept (signed in with the invited address, confirmed, before it
//! expires, once), revoke. The token is mailed to the address and shown once to whoever
//! invites (to pass on as well); only its SHA-256 is stored.

use std::sync::Arc;

use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::write::{RecordIn, Tx};
use super::{
    auth::validate_email,
    organizations::{check_owner_rule, lock_and_role_of, valid_role},
};
use crate::{
    auth::{
        grant::{Grant, Granted},
        tokens::{self, TokenKind},
    },
    db::{enums::RoleScope, new_id},
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    mail::{Mail, Mailer},
    models::{
        invitation::{InvitationPatch, InvitationRow, NewInvitation},
        organization::{NewOrganizationMember, OrganizationMemberRow, OrganizationRow},
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

/// Invites `email` into the granted organization with `role` and mails them the token once
/// the write commits; returns the invitation and its token (shown once).
pub async fn invite(
    tx: &mut Tx,
    mailer: &Arc<Mailer>,
    grant: &Grant,
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
    if let Some(user) = UserRow::find_by_email(tx.conn(), &email).await?
        && OrganizationMemberRow::for_user(tx.conn(), user.id)
            .await?
            .iter()
            .any(|m| m.organization_id == organization_id)
    {
        return Err(FieldError::input("email", "ALREADY_MEMBER", "this user is already a member").into());
    }
    check_owner_rule(tx.conn(), grant, role == "owner").await?;
    let role_row = RoleRow::find_by_name(tx.conn(), RoleScope::Organization, role).await?;
    super::members::check_not_above(tx, grant, role_row.id).await?;
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
    let row = new
        .insert(tx.conn())
        .await
        .map_err(|e| constraint_error(e, &[OPEN_ALREADY]))?;
    tx.audit(grant)
        .on("organization_invitation", row.id)
        .details(json!({ "email": row.email, "role": role }))
        .record_in(tx)
        .await?;
    let organization = OrganizationRow::find(tx.conn(), organization_id)
        .await?
        .map_or_else(String::new, |o| o.name);
    let mail = Mail {
        to: row.email.clone(),
        subject: format!("You are invited to {organization}"),
        body: format!(
            "{inviter} invites you to the organization {organization} as {role}.\n\n\
             Accept, signed in with this address (confirmed):\n\n{link}\n\n\
             or give this code to the app: {token}\n\nThe invitation is open for {LIFETIME_DAYS} days.\n",
            inviter = grant.caller().user.name,
            link = mailer.link("accept-invitation", token.secret.expose_secret()),
            token = token.secret.expose_secret(),
        ),
    };
    let mailer = mailer.clone();
    tx.after_commit(async move { mailer.send(mail).await });
    Ok((row, token.secret))
}

/// Accepts an invitation for the signed-in caller, whose email must be the invited one:
/// they become a member with the invited role. Returns the membership.
pub async fn accept(tx: &mut Tx, token: &SecretString) -> AppResult<OrganizationMemberRow> {
    let caller = tx.caller()?;
    let hash = tokens::hash(token.expose_secret().trim());
    let invitation = InvitationRow::lock_by_token_hash(tx.conn(), &hash)
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
    if caller.user.email_confirmed_at.is_none() {
        return Err(FieldError::input(
            "token",
            "EMAIL_NOT_CONFIRMED",
            "confirm your email address first (the mail sent at sign-up, or resendConfirmation)",
        )
        .into());
    }
    let organization_id = invitation.organization_id;
    crate::auth::grant::writable(tx.conn(), &caller, organization_id, None).await?;
    if lock_and_role_of(tx.conn(), organization_id, caller.user.id)
        .await?
        .is_some()
    {
        return Err(FieldError::input("token", "ALREADY_MEMBER", "you are already a member").into());
    }
    let member = NewOrganizationMember {
        organization_id,
        user_id: caller.user.id,
        role_id: invitation.role_id,
        invited_by: invitation.invited_by,
    }
    .insert(tx.conn())
    .await?;
    InvitationPatch {
        accepted_at: Some(Some(Utc::now())),
        accepted_by: Some(Some(caller.user.id)),
        ..Default::default()
    }
    .apply(tx.conn(), invitation.id)
    .await?;
    tx.event()
        .within(Some(organization_id), None)
        .on("organization_invitation", invitation.id)
        .record_in(tx)
        .await?;
    Ok(member)
}

/// Revokes an open invitation.
pub async fn revoke(tx: &mut Tx, invitation: &Granted<InvitationRow>) -> AppResult<InvitationRow> {
    if invitation.accepted_at.is_some() || invitation.revoked_at.is_some() {
        return Err(FieldError::input(
            "id",
            "INVITATION_CLOSED",
            "the invitation was accepted or revoked already",
        )
        .into());
    }
    let row = InvitationPatch {
        revoked_at: Some(Some(Utc::now())),
        ..Default::default()
    }
    .apply(tx.conn(), invitation.id)
    .await?;
    tx.audit(invitation.grant())
        .on("organization_invitation", row.id)
        .details(json!({ "email": row.email }))
        .record_in(tx)
        .await?;
    Ok(row)
}
