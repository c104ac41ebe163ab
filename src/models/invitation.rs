//! Invitations to an organization (`organization_invitations`): an address, a role, and the
//! SHA-256 of a token that the invitee accepts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::schema::organization_invitations;

/// An invitation, open until accepted, revoked or expired.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = organization_invitations, check_for_backend(diesel::pg::Pg))]
pub struct InvitationRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role_id: Uuid,
    pub role_scope: String,
    pub token_hash: Vec<u8>,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new invitation.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organization_invitations)]
pub struct NewInvitation {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role_id: Uuid,
    pub token_hash: Vec<u8>,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

/// Closing an invitation.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = organization_invitations)]
pub struct InvitationPatch {
    pub accepted_at: Option<Option<DateTime<Utc>>>,
    pub accepted_by: Option<Option<Uuid>>,
    pub revoked_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(InvitationRow, organization_invitations);
insert_returning!(NewInvitation => InvitationRow, organization_invitations);
update_returning!(InvitationPatch => InvitationRow, organization_invitations);

impl InvitationRow {
    /// The invitation whose token has this hash, locked until the transaction ends (so one
    /// token is accepted once, however many requests race).
    pub async fn lock_by_token_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Self>> {
        organization_invitations::table
            .filter(organization_invitations::token_hash.eq(hash))
            .for_update()
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Whether it can still be accepted at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}
