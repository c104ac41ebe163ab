//! Datasources: where a project's documents come from.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, project::ProjectRow, update_returning};
use crate::db::{
    enums::{DatasourceKind, DatasourceStatus},
    schema::datasources,
};

/// A source of documents (manual entry, web, API, Notion, Slack, GitHub, files).
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = datasources, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct DatasourceRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub kind: DatasourceKind,
    pub config: Value,
    pub credential_id: Option<Uuid>,
    pub status: DatasourceStatus,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub embedding_model: String,
}

/// A new datasource.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = datasources)]
pub struct NewDatasource {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub kind: DatasourceKind,
    pub config: Value,
    pub credential_id: Option<Uuid>,
    pub embedding_model: String,
}

/// A change to a datasource.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = datasources)]
pub struct DatasourcePatch {
    pub name: Option<String>,
    pub config: Option<Value>,
    pub credential_id: Option<Option<Uuid>>,
    pub status: Option<DatasourceStatus>,
    pub last_synced_at: Option<Option<DateTime<Utc>>>,
    pub last_error: Option<Option<String>>,
    pub embedding_model: Option<String>,
}

find_by_id!(DatasourceRow, datasources);
insert_returning!(NewDatasource => DatasourceRow, datasources);
update_returning!(DatasourcePatch => DatasourceRow, datasources);
