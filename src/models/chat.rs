//! Chats: conversations inside a project, owned by a user.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, project::ProjectRow, update_returning};
use crate::db::{enums::ChatVisibility, schema::chats};

/// A conversation, with running token and cost totals.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = chats, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(ProjectRow, foreign_key = project_id))]
pub struct ChatRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub assistant_id: Option<Uuid>,
    pub title: String,
    pub model: Option<String>,
    pub visibility: ChatVisibility,
    pub is_starred: bool,
    pub is_default: bool,
    pub external_id: Option<String>,
    pub last_context: Option<Value>,
    pub total_input_tokens: i64,
    pub total_output_tokens: i64,
    pub total_cost: BigDecimal,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new chat.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = chats)]
pub struct NewChat {
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub assistant_id: Option<Uuid>,
    pub title: String,
    pub model: Option<String>,
    pub visibility: ChatVisibility,
    pub is_default: bool,
    pub external_id: Option<String>,
}

/// A change to a chat.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = chats)]
pub struct ChatPatch {
    pub assistant_id: Option<Option<Uuid>>,
    pub title: Option<String>,
    pub model: Option<Option<String>>,
    pub visibility: Option<ChatVisibility>,
    pub is_starred: Option<bool>,
    pub last_context: Option<Option<Value>>,
    pub total_input_tokens: Option<i64>,
    pub total_output_tokens: Option<i64>,
    pub total_cost: Option<BigDecimal>,
    pub last_message_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(ChatRow, chats);
insert_returning!(NewChat => ChatRow, chats);
update_returning!(ChatPatch => ChatRow, chats);

impl ChatRow {
    /// Deletes a chat (its messages, feedback and streams go with it; usage records stay).
    pub async fn delete(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(chats::table.find(id)).execute(conn).await
    }
}
