//! API tokens: shown once at creation, stored as a SHA-256 hash with a short display prefix.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning, user::UserRow};
use crate::db::schema::api_tokens;

/// A long-lived token for scripts and integrations, optionally narrowed to one organization.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub name: String,
    pub token_prefix: String,
    pub token_hash: Vec<u8>,
    pub scopes: Vec<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new API token.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub name: String,
    pub token_prefix: String,
    pub token_hash: Vec<u8>,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A change to an API token.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenPatch {
    pub name: Option<String>,
    pub last_used_at: Option<Option<DateTime<Utc>>>,
    pub revoked_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(ApiTokenRow, api_tokens);
insert_returning!(NewApiToken => ApiTokenRow, api_tokens);
update_returning!(ApiTokenPatch => ApiTokenRow, api_tokens);
