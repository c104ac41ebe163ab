//! Platform-wide configuration values (agent settings and the like), for platform admins only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::schema::platform_configs;

/// One configuration entry, such as `routing_agent`.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = platform_configs, check_for_backend(diesel::pg::Pg))]
pub struct PlatformConfigRow {
    pub id: Uuid,
    pub key: String,
    pub value: Value,
    pub description: String,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new configuration entry.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = platform_configs)]
pub struct NewPlatformConfig {
    pub id: Uuid,
    pub key: String,
    pub value: Value,
    pub description: String,
    pub updated_by: Option<Uuid>,
}

/// A change to a configuration entry.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = platform_configs)]
pub struct PlatformConfigPatch {
    pub value: Option<Value>,
    pub description: Option<String>,
    pub updated_by: Option<Option<Uuid>>,
}

find_by_id!(PlatformConfigRow, platform_configs);
insert_returning!(NewPlatformConfig => PlatformConfigRow, platform_configs);
update_returning!(PlatformConfigPatch => PlatformConfigRow, platform_configs);

impl PlatformConfigRow {
    /// Every entry, by key.
    pub async fn list(conn: &mut diesel_async::AsyncPgConnection) -> QueryResult<Vec<Self>> {
        platform_configs::table
            .order(platform_configs::key)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// The value of the entry `key`, if set.
    pub async fn value_of(conn: &mut diesel_async::AsyncPgConnection, key: &str) -> QueryResult<Option<Value>> {
        platform_configs::table
            .filter(platform_configs::key.eq(key))
            .select(platform_configs::value)
            .first(conn)
            .await
            .optional()
    }

    /// Sets the entry `key` (creating it when missing).
    pub async fn upsert(conn: &mut diesel_async::AsyncPgConnection, new: &NewPlatformConfig) -> QueryResult<Self> {
        diesel::insert_into(platform_configs::table)
            .values(new)
            .on_conflict(platform_configs::key)
            .do_update()
            .set((
                platform_configs::value.eq(&new.value),
                platform_configs::description.eq(&new.description),
                platform_configs::updated_by.eq(new.updated_by),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }
}
