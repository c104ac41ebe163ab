//! The `McpServer` type (an organization's MCP server: name and URL, never the secret) and
//! the mutations that add and remove one.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    context::ContextExt,
    mutation::{UserError, write},
    node::{global_id, input_id},
};
use crate::{
    auth::grant::{Permission, Place},
    models::mcp_server::McpServerRow,
    services::{audit::Action, mcp_servers},
};

/// An MCP server (Model Context Protocol, Streamable HTTP) whose tools the organization's
/// answers may call once a project enables it by name (`enabledTools`).
pub struct McpServer(pub McpServerRow);

/// An MCP server (Model Context Protocol, Streamable HTTP) whose tools the organization's
/// answers may call once a project enables it by name (`enabledTools`).
#[Object]
impl McpServer {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("McpServer", self.0.id)
    }

    /// Its name in the organization: projects enable it by this name, models see its tools
    /// as `name__tool`.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its Streamable HTTP endpoint.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Whether a credential's secret is sent as its bearer token (the secret is never shown).
    async fn has_credential(&self) -> bool {
        self.0.credential_id.is_some()
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `addMcpServer`.
#[derive(InputObject)]
pub struct AddMcpServerInput {
    /// The organization (needs `organization.update` there).
    pub organization_id: ID,
    /// 1 to 32 lowercase letters, digits and dashes, unique in the organization.
    pub name: String,
    /// Its Streamable HTTP endpoint (`https://…`; internal addresses are refused).
    pub url: String,
    /// One of the organization's credentials: its secret is sent as `Authorization: Bearer …`.
    pub credential_id: Option<ID>,
}

/// Input of `removeMcpServer`.
#[derive(InputObject)]
pub struct RemoveMcpServerInput {
    /// The server to remove.
    pub id: ID,
}

/// The result of `addMcpServer`.
#[derive(SimpleObject)]
pub struct AddMcpServerPayload {
    /// The added server, unless there were user errors.
    pub mcp_server: Option<McpServer>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `removeMcpServer`.
#[derive(SimpleObject)]
pub struct RemoveMcpServerPayload {
    /// The id of the removed server.
    pub removed_mcp_server_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// MCP server mutations.
#[derive(Default)]
pub struct McpServerMutation;

#[Object]
impl McpServerMutation {
    /// Adds an MCP server to an organization. Audited.
    async fn add_mcp_server(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AddMcpServerInput,
    ) -> Result<AddMcpServerPayload> {
        let policy = ctx.request().authenticator().outbound;
        let (server, user_errors) = write(ctx, Action::McpServerAdd, async |tx| {
            let organization_id = input_id(&input.organization_id, "Organization", "organizationId")?;
            let grant = tx
                .grant(Place::Organization(organization_id), Permission::OrganizationUpdate)
                .await?;
            let credential_id = input
                .credential_id
                .as_ref()
                .map(|id| input_id(id, "Credential", "credentialId"))
                .transpose()?;
            let server = mcp_servers::NewServer {
                name: &input.name,
                url: &input.url,
                credential_id,
            };
            mcp_servers::add(tx, &grant, &policy, server).await
        })
        .await?;
        Ok(AddMcpServerPayload {
            mcp_server: server.map(McpServer),
            user_errors,
        })
    }

    /// Removes an MCP server: no answer calls its tools any more. Audited.
    async fn remove_mcp_server(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RemoveMcpServerInput,
    ) -> Result<RemoveMcpServerPayload> {
        let (removed, user_errors) = write(ctx, Action::McpServerRemove, async |tx| {
            let row = tx
                .granted(input_id(&input.id, "McpServer", "id")?, Permission::OrganizationUpdate)
                .await?;
            mcp_servers::remove(tx, &row).await?;
            Ok(global_id("McpServer", row.id))
        })
        .await?;
        Ok(RemoveMcpServerPayload {
            removed_mcp_server_id: removed,
            user_errors,
        })
    }
}
