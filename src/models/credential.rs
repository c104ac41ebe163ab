//! Provider credentials of an organization, AES-256-GCM encrypted with a versioned key.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, organization::OrganizationRow, update_returning};
use crate::db::{enums::CredentialType, schema::credentials};

/// An encrypted secret for an outside service (an API key, a token).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = credentials, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(OrganizationRow, foreign_key = organization_id))]
pub struct CredentialRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub credential_type: CredentialType,
    pub encrypted_data: Vec<u8>,
    pub key_version: i32,
    pub created_by: Option<Uuid>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new credential (already encrypted).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = credentials)]
pub struct NewCredential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub credential_type: CredentialType,
    pub encrypted_data: Vec<u8>,
    pub key_version: i32,
    pub created_by: Option<Uuid>,
}

/// A change to a credential (rename, or re-encryption on rotation).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = credentials)]
pub struct CredentialPatch {
    pub name: Option<String>,
    pub encrypted_data: Option<Vec<u8>>,
    pub key_version: Option<i32>,
    pub last_used_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(CredentialRow, credentials);
insert_returning!(NewCredential => CredentialRow, credentials);
update_returning!(CredentialPatch => CredentialRow, credentials);

impl CredentialRow {
    /// The credentials of an organization, by name.
    pub async fn for_organization(
        conn: &mut diesel_async::AsyncPgConnection,
        organization_id: Uuid,
    ) -> QueryResult<Vec<Self>> {
        credentials::table
            .filter(credentials::organization_id.eq(organization_id))
            .order(credentials::name)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Deletes a credential.
    pub async fn delete(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(credentials::table.find(id)).execute(conn).await
    }

    /// The associated data a credential's ciphertext is bound to: its own id, so a value
    /// copied into another row does not decrypt.
    pub fn associated_data(id: Uuid) -> Vec<u8> {
        format!("credentials:{id}").into_bytes()
    }
}
