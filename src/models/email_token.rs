//! Single-use tokens mailed to a user (`email_tokens`): confirming an address, resetting a
//! password. Only their SHA-256 is stored; each expires, and issuing one ends the user's
//! older ones of the same purpose.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::insert_returning;
pub use crate::db::enums::EmailTokenPurpose as Purpose;
use crate::db::schema::email_tokens;

/// A mailed token.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = email_tokens, check_for_backend(diesel::pg::Pg))]
pub struct EmailTokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: Purpose,
    pub email: String,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A new mailed token.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = email_tokens)]
pub struct NewEmailToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: Purpose,
    pub email: String,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

insert_returning!(NewEmailToken => EmailTokenRow, email_tokens);

impl EmailTokenRow {
    /// Ends the user's unused tokens of `purpose` (before a new one is issued, or once one
    /// was used).
    pub async fn end_all(conn: &mut AsyncPgConnection, user_id: Uuid, purpose: Purpose) -> QueryResult<usize> {
        diesel::update(
            email_tokens::table
                .filter(email_tokens::user_id.eq(user_id))
                .filter(email_tokens::purpose.eq(purpose))
                .filter(email_tokens::used_at.is_null()),
        )
        .set(email_tokens::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
    }

    /// Uses the live token of `purpose` whose hash is `hash`: marks it used and returns it;
    /// None when there is none (unknown, expired, or used already). Atomic, so a token is
    /// used once however many requests race.
    pub async fn redeem(conn: &mut AsyncPgConnection, purpose: Purpose, hash: &[u8]) -> QueryResult<Option<Self>> {
        diesel::update(
            email_tokens::table
                .filter(email_tokens::token_hash.eq(hash))
                .filter(email_tokens::purpose.eq(purpose))
                .filter(email_tokens::used_at.is_null())
                .filter(email_tokens::expires_at.gt(diesel::dsl::now)),
        )
        .set(email_tokens::used_at.eq(diesel::dsl::now))
        .returning(EmailTokenRow::as_returning())
        .get_result(conn)
        .await
        .optional()
    }
}
