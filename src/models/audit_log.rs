//! The audit trail: who did what to which resource, from where, and whether it worked.
//! Append-only: there is no patch type.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ipnet::IpNet;
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning};
use crate::db::{enums::Outcome, schema::audit_logs};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::pg::Pg))]
pub struct AuditLogRow {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub api_token_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub details: Value,
    pub ip_address: Option<IpNet>,
    pub user_agent: Option<String>,
    pub status: Outcome,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The chat the record concerns, if any (its ids are shown only to the chat's readers).
    pub chat_id: Option<Uuid>,
}

/// A new audit record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_logs)]
pub struct NewAuditLog {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub api_token_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub details: Value,
    pub ip_address: Option<IpNet>,
    pub user_agent: Option<String>,
    pub status: Outcome,
    pub error_message: Option<String>,
    pub chat_id: Option<Uuid>,
}

find_by_id!(AuditLogRow, audit_logs);
insert_returning!(NewAuditLog => AuditLogRow, audit_logs);
