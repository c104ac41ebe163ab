//! Which OpenID Connect issuer's subject is which user (`user_identities`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{find_by_id, insert_returning, user::UserRow};
use crate::db::schema::user_identities;

/// A user's account at an identity provider.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = user_identities, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct UserIdentityRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new link between a user and an issuer's subject.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = user_identities)]
pub struct NewUserIdentity {
    pub id: Uuid,
    pub user_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

find_by_id!(UserIdentityRow, user_identities);
insert_returning!(NewUserIdentity => UserIdentityRow, user_identities);

impl UserIdentityRow {
    /// The identity of `subject` at `issuer`, if linked.
    pub async fn find_by_subject(
        conn: &mut AsyncPgConnection,
        issuer: &str,
        subject: &str,
    ) -> QueryResult<Option<Self>> {
        user_identities::table
            .filter(user_identities::issuer.eq(issuer))
            .filter(user_identities::subject.eq(subject))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Records a sign-in through this identity.
    pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        diesel::update(user_identities::table.find(id))
            .set(user_identities::last_sign_in_at.eq(Utc::now()))
            .execute(conn)
            .await
            .map(drop)
    }
}
