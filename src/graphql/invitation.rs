//! The `OrganizationInvitation` type and the mutations that invite, accept and revoke.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{
    context::ContextExt,
    loaders::{RoleById, UserById, load, load_required},
    member::{OrganizationMember, Role},
    mutation::{UserError, write},
    node::{global_id, input_id},
    organization::OrganizationRole,
    user::User,
};
use crate::{
    auth::grant::{Permission, Place},
    models::invitation::InvitationRow,
    services::{audit::Action, invitations},
};

/// An open invitation to join an organization. Its token is shown only to whoever invited.
pub struct OrganizationInvitation(pub InvitationRow);

/// An open invitation to join an organization. Its token is shown only to whoever invited.
#[Object]
impl OrganizationInvitation {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("OrganizationInvitation", self.0.id)
    }

    /// The invited address; whoever accepts must be signed in with it.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The role the invitee gets.
    async fn role(&self, ctx: &Context<'_>) -> Result<Role> {
        load_required(ctx, RoleById(self.0.role_id), "role").await.map(Role)
    }

    /// Who invited.
    async fn invited_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.invited_by {
            Some(id) => Ok(load(ctx, UserById(id)).await?.map(User)),
            None => Ok(None),
        }
    }

    /// When it can no longer be accepted.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `inviteOrganizationMember`.
#[derive(InputObject)]
pub struct InviteOrganizationMemberInput {
    /// The organization (needs `members.manage` there).
    pub organization_id: ID,
    /// The address to invite (with or without an account).
    pub email: String,
    /// The role they get (only owners invite owners).
    pub role: OrganizationRole,
}

/// Input of `acceptInvitation`.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The token of the invitation (as given to the invitee).
    pub token: String,
}

/// Input of `revokeInvitation`.
#[derive(InputObject)]
pub struct RevokeInvitationInput {
    /// The invitation to revoke.
    pub id: ID,
}

/// The result of `inviteOrganizationMember`.
#[derive(SimpleObject)]
pub struct InviteOrganizationMemberPayload {
    /// The invitation, unless there were user errors.
    pub invitation: Option<OrganizationInvitation>,
    /// The token the invitee accepts with. Shown only here: pass it on (in a link, say).
    pub token: Option<String>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `acceptInvitation`.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The caller's new membership.
    pub member: Option<OrganizationMember>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `revokeInvitation`.
#[derive(SimpleObject)]
pub struct RevokeInvitationPayload {
    /// The id of the revoked invitation (for removing it from client caches).
    pub revoked_invitation_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Invitation mutations.
#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites an address into an organization, account or not (the only way in: nobody
    /// joins without accepting). The token is mailed to the address and returned once.
    /// Audited.
    async fn invite_organization_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: InviteOrganizationMemberInput,
    ) -> Result<InviteOrganizationMemberPayload> {
        let mailer = ctx.request().authenticator().mail.clone();
        let (invited, user_errors) = write(ctx, Action::InvitationCreate, async |tx| {
            let organization_id = input_id(&input.organization_id, "Organization", "organizationId")?;
            let grant = tx
                .grant(Place::Organization(organization_id), Permission::MembersManage)
                .await?;
            invitations::invite(tx, &mailer, &grant, &input.email, input.role.role_name()).await
        })
        .await?;
        let (invitation, token) = invited.unzip();
        Ok(InviteOrganizationMemberPayload {
            invitation: invitation.map(OrganizationInvitation),
            token: token.map(|t: SecretString| t.expose_secret().to_owned()),
            user_errors,
        })
    }

    /// Accepts an invitation: the signed-in caller (with the invited address) joins the
    /// organization. Audited.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AcceptInvitationInput,
    ) -> Result<AcceptInvitationPayload> {
        let token = SecretString::from(input.token);
        let (member, user_errors) = write(ctx, Action::InvitationAccept, async |tx| {
            invitations::accept(tx, &token).await
        })
        .await?;
        Ok(AcceptInvitationPayload {
            member: member.map(OrganizationMember),
            user_errors,
        })
    }

    /// Revokes an open invitation. Audited.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RevokeInvitationInput,
    ) -> Result<RevokeInvitationPayload> {
        let (revoked_invitation_id, user_errors) = write(ctx, Action::InvitationRevoke, async |tx| {
            let id = input_id(&input.id, "OrganizationInvitation", "id")?;
            let invitation = tx.granted(id, Permission::MembersManage).await?;
            invitations::revoke(tx, &invitation).await?;
            Ok(global_id("OrganizationInvitation", id))
        })
        .await?;
        Ok(RevokeInvitationPayload {
            revoked_invitation_id,
            user_errors,
        })
    }
}
