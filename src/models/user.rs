//! Users and their platform-scope roles.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::{
    enums::UserStatus,
    schema::{user_roles, users},
};

/// A person (or service account) who can sign in. `password_hash` is an argon2id PHC string
/// and never leaves this layer.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub google_sub: Option<String>,
    pub password_hash: Option<String>,
    pub status: UserStatus,
    pub is_platform_admin: bool,
    pub default_organization_id: Option<Uuid>,
    pub settings: Value,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new user.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub google_sub: Option<String>,
    pub password_hash: Option<String>,
    pub is_platform_admin: bool,
    pub default_organization_id: Option<Uuid>,
    pub settings: Option<Value>,
    pub email_confirmed_at: Option<DateTime<Utc>>,
}

/// A change to a user.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub google_sub: Option<Option<String>>,
    pub password_hash: Option<Option<String>>,
    pub status: Option<UserStatus>,
    pub is_platform_admin: Option<bool>,
    pub default_organization_id: Option<Option<Uuid>>,
    pub settings: Option<Value>,
    pub email_confirmed_at: Option<Option<DateTime<Utc>>>,
    pub last_login_at: Option<Option<DateTime<Utc>>>,
    pub deleted_at: Option<Option<DateTime<Utc>>>,
}

impl NewUser {
    /// A user with a new id, this email and name, and nothing else set.
    pub fn new(email: &str, name: &str) -> Self {
        NewUser {
            id: crate::db::new_id(),
            email: email.to_owned(),
            name: name.to_owned(),
            avatar_url: None,
            google_sub: None,
            password_hash: None,
            is_platform_admin: false,
            default_organization_id: None,
            settings: None,
            email_confirmed_at: None,
        }
    }
}

find_by_id!(UserRow, users);
insert_returning!(NewUser => UserRow, users);
update_returning!(UserPatch => UserRow, users);

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

impl UserRow {
    /// Finds a user by email, ignoring case (the unique index is on `lower(email)`).
    pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<Self>> {
        users::table
            .filter(lower(users::email).eq(email.to_lowercase()))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Finds the user with this Google subject.
    pub async fn find_by_google_sub(conn: &mut AsyncPgConnection, subject: &str) -> QueryResult<Option<Self>> {
        users::table
            .filter(users::google_sub.eq(subject))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }
}

/// A platform-scope role held by a user.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = user_roles, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(user_id, role_id))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct UserRoleRow {
    pub user_id: Uuid,
    pub role_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A new platform role grant.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = user_roles)]
pub struct NewUserRole {
    pub user_id: Uuid,
    pub role_id: Uuid,
}

impl NewUserRole {
    /// Grants the role unless the user already holds it.
    pub async fn insert_if_missing(&self, conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        diesel::insert_into(user_roles::table)
            .values(self)
            .on_conflict_do_nothing()
            .execute(conn)
            .await
    }
}

impl UserRoleRow {
    /// The platform roles of one user.
    pub async fn for_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<Self>> {
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
