//! API tokens: shown once at creation, stored as a SHA-256 hash with a short display prefix.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
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

impl ApiTokenRow {
    /// The token with this hash.
    pub async fn find_by_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Self>> {
        api_tokens::table
            .filter(api_tokens::token_hash.eq(hash))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// A user's tokens, newest first.
    pub async fn for_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<Self>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Records a use, at most one write per token and minute.
    pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
        let now = Utc::now();
        diesel::update(api_tokens::table.find(id))
            .filter(
                api_tokens::last_used_at
                    .is_null()
                    .or(api_tokens::last_used_at.lt(now - chrono::Duration::minutes(1))),
            )
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)
            .await
    }
}
