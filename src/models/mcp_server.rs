//! MCP servers of an organization: a name, a Streamable HTTP URL and, optionally, the
//! credential whose secret goes in the `Authorization` header.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{find_by_id, insert_returning, organization::OrganizationRow};
use crate::db::schema::mcp_servers;

/// An MCP server an organization's answers may call tools of.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = mcp_servers, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(OrganizationRow, foreign_key = organization_id))]
pub struct McpServerRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub url: String,
    pub credential_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new MCP server.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = mcp_servers)]
pub struct NewMcpServer {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub url: String,
    pub credential_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
}

find_by_id!(McpServerRow, mcp_servers);
insert_returning!(NewMcpServer => McpServerRow, mcp_servers);

impl McpServerRow {
    /// The MCP servers of an organization, by name.
    pub async fn for_organization(
        conn: &mut diesel_async::AsyncPgConnection,
        organization_id: Uuid,
    ) -> QueryResult<Vec<Self>> {
        mcp_servers::table
            .filter(mcp_servers::organization_id.eq(organization_id))
            .order(mcp_servers::name)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Removes an MCP server.
    pub async fn delete(conn: &mut diesel_async::AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(mcp_servers::table.find(id)).execute(conn).await
    }
}
