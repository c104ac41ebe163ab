//! Assistants: a model with instructions and tools, platform-wide or owned by an organization
//! or project.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::schema::assistants;

/// A configured model persona.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = assistants, check_for_backend(diesel::pg::Pg))]
pub struct AssistantRow {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub provider: String,
    pub model: String,
    pub temperature: Option<f64>,
    pub tools: Value,
    pub external_id: Option<String>,
    pub is_active: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new assistant.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = assistants)]
pub struct NewAssistant {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub provider: String,
    pub model: String,
    pub temperature: Option<f64>,
    pub tools: Value,
    pub external_id: Option<String>,
    pub created_by: Option<Uuid>,
}

/// A change to an assistant.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = assistants)]
pub struct AssistantPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub instructions: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<Option<f64>>,
    pub tools: Option<Value>,
    pub is_active: Option<bool>,
}

find_by_id!(AssistantRow, assistants);
insert_returning!(NewAssistant => AssistantRow, assistants);
update_returning!(AssistantPatch => AssistantRow, assistants);

impl AssistantRow {
    /// The datasources whose documents ground the assistant's answers.
    pub async fn datasource_ids(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
        use crate::db::schema::assistant_datasources as a;
        a::table
            .filter(a::assistant_id.eq(id))
            .order(a::created_at)
            .select(a::datasource_id)
            .load(conn)
            .await
    }

    /// Makes `datasources` the assistant's knowledge (replacing the former list).
    pub async fn set_datasources(
        conn: &mut diesel_async::AsyncPgConnection,
        id: Uuid,
        datasources: &[Uuid],
    ) -> QueryResult<()> {
        use crate::db::schema::assistant_datasources as a;
        diesel::delete(a::table.filter(a::assistant_id.eq(id)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = datasources
            .iter()
            .map(|d| (a::assistant_id.eq(id), a::datasource_id.eq(*d)))
            .collect();
        diesel::insert_into(a::table).values(rows).execute(conn).await?;
        Ok(())
    }
}
