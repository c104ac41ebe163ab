//! Code repositories a user has connected (GitHub).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning, user::UserRow};
use crate::db::{enums::RepositoryProvider, schema::repositories};

/// A connected repository.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = repositories, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct RepositoryRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: RepositoryProvider,
    pub owner: String,
    pub name: String,
    pub url: String,
    pub default_branch: String,
    pub is_active: bool,
    pub last_accessed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new connection to a repository.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = repositories)]
pub struct NewRepository {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: RepositoryProvider,
    pub owner: String,
    pub name: String,
    pub url: String,
    pub default_branch: String,
}

/// A change to a repository connection.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = repositories)]
pub struct RepositoryPatch {
    pub default_branch: Option<String>,
    pub is_active: Option<bool>,
    pub last_accessed_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(RepositoryRow, repositories);
insert_returning!(NewRepository => RepositoryRow, repositories);
update_returning!(RepositoryPatch => RepositoryRow, repositories);
