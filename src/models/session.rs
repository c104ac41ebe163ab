//! Sign-in sessions and their rotating refresh tokens. Tokens are stored only as SHA-256 hashes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
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

impl RefreshTokenRow {
    /// The refresh token with this hash, locked for the rest of the transaction (so two
    /// concurrent refreshes with one token cannot both succeed).
    pub async fn find_by_hash_for_update(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Self>> {
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .for_update()
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }
}

impl SessionRow {
    /// The session `id` with its user, in one statement (what every authenticated request
    /// checks).
    pub async fn find_with_user(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<(Self, UserRow)>> {
        use crate::db::schema::users;
        sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(id))
            .select((Self::as_select(), UserRow::as_select()))
            .first(conn)
            .await
            .optional()
    }

    /// Revokes sessions (all of the user's, or one) and every refresh token in them.
    async fn revoke_where(conn: &mut AsyncPgConnection, user_id: Uuid, session_id: Option<Uuid>) -> QueryResult<usize> {
        let now = Utc::now();
        let mut sessions_query = diesel::update(sessions::table)
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .into_boxed();
        let mut tokens_query = diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null())
            .into_boxed();
        if let Some(id) = session_id {
            sessions_query = sessions_query.filter(sessions::id.eq(id));
            tokens_query = tokens_query.filter(refresh_tokens::session_id.eq(id));
        }
        tokens_query
            .set(refresh_tokens::revoked_at.eq(now))
            .execute(conn)
            .await?;
        sessions_query.set(sessions::revoked_at.eq(now)).execute(conn).await
    }

    /// Revokes one session of a user; returns how many were revoked (0 or 1).
    pub async fn revoke(conn: &mut AsyncPgConnection, user_id: Uuid, session_id: Uuid) -> QueryResult<usize> {
        Self::revoke_where(conn, user_id, Some(session_id)).await
    }

    /// The live (neither revoked nor expired) sessions of a user, most recently used first.
    pub async fn live_for_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<Self>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(Utc::now()))
            .order((sessions::last_seen_at.desc(), sessions::id.desc()))
            .limit(100)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Revokes every session of a user; returns how many were revoked.
    pub async fn revoke_all(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<usize> {
        Self::revoke_where(conn, user_id, None).await
    }

    /// Deletes the sessions that expired or were revoked before `before` (their refresh
    /// tokens go with them); returns how many.
    pub async fn delete_ended_before(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(sessions::table.filter(sessions::expires_at.lt(before).or(sessions::revoked_at.lt(before))))
            .execute(conn)
            .await
    }
}
