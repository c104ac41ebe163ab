//! Sign-in sessions and their rotating refresh tokens. Tokens are stored only as SHA-256 hashes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ipnet::IpNet;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning, user::UserRow};
use crate::db::schema::{refresh_tokens, sessions};

/// One signed-in device or browser.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub user_agent: Option<String>,
    pub ip_address: Option<IpNet>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new session.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub user_agent: Option<String>,
    pub ip_address: Option<IpNet>,
    pub expires_at: DateTime<Utc>,
}

/// A change to a session.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = sessions)]
pub struct SessionPatch {
    pub last_seen_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(SessionRow, sessions);
insert_returning!(NewSession => SessionRow, sessions);
update_returning!(SessionPatch => SessionRow, sessions);

/// A single-use refresh token of a session.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(SessionRow, foreign_key = session_id))]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub replaced_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A new refresh token.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// A change to a refresh token (marking it used, revoked, replaced).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenPatch {
    pub used_at: Option<Option<DateTime<Utc>>>,
    pub revoked_at: Option<Option<DateTime<Utc>>>,
    pub replaced_by_id: Option<Option<Uuid>>,
}

find_by_id!(RefreshTokenRow, refresh_tokens);
insert_returning!(NewRefreshToken => RefreshTokenRow, refresh_tokens);
update_returning!(RefreshTokenPatch => RefreshTokenRow, refresh_tokens);
