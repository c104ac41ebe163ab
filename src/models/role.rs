//! Roles, permissions and which role grants which permission (seeded by the migrations).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{find_by_id, insert_returning};
use crate::db::{
    enums::RoleScope,
    schema::{permissions, role_permissions, roles},
};

/// A named bundle of permissions that applies on the platform, in an organization or in a project.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = roles, check_for_backend(diesel::pg::Pg))]
pub struct RoleRow {
    pub id: Uuid,
    pub scope: RoleScope,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new custom role.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = roles)]
pub struct NewRole {
    pub id: Uuid,
    pub scope: RoleScope,
    pub name: String,
    pub description: String,
}

find_by_id!(RoleRow, roles);
insert_returning!(NewRole => RoleRow, roles);

impl RoleRow {
    /// Every role, by scope and name.
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        roles::table
            .order((roles::scope, roles::name))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Finds a role by scope and name (e.g. organization `owner`).
    pub async fn find_by_name(conn: &mut AsyncPgConnection, scope: RoleScope, name: &str) -> QueryResult<Self> {
        roles::table
            .filter(roles::scope.eq(scope))
            .filter(roles::name.eq(name))
            .select(Self::as_select())
            .first(conn)
            .await
    }
}

/// One right, such as `chat.write`.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = permissions, check_for_backend(diesel::pg::Pg))]
pub struct PermissionRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

/// A new permission.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = permissions)]
pub struct NewPermission {
    pub id: Uuid,
    pub name: String,
    pub description: String,
}

find_by_id!(PermissionRow, permissions);
insert_returning!(NewPermission => PermissionRow, permissions);

/// A grant of a permission to a role.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Insertable)]
#[diesel(table_name = role_permissions, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(role_id, permission_id))]
#[diesel(belongs_to(RoleRow, foreign_key = role_id))]
#[diesel(belongs_to(PermissionRow, foreign_key = permission_id))]
pub struct RolePermissionRow {
    pub role_id: Uuid,
    pub permission_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl PermissionRow {
    /// The permission names granted by any of `role_ids` (one query).
    pub async fn names_for_roles(conn: &mut AsyncPgConnection, role_ids: &[Uuid]) -> QueryResult<Vec<String>> {
        role_permissions::table
            .inner_join(permissions::table)
            .filter(role_permissions::role_id.eq_any(role_ids))
            .select(permissions::name)
            .distinct()
            .order(permissions::name)
            .load(conn)
            .await
    }
}
