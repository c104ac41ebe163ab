//! Writing an organization's MCP servers (`organization.update`): added with a name, a URL
//! the outbound policy accepts and, optionally, one of the organization's credentials for
//! the `Authorization` header; removed. Both audited.

use serde_json::json;
use uuid::Uuid;

use super::write::{RecordIn, Tx};
use crate::{
    auth::grant::{Grant, Granted},
    db::new_id,
    error::{AppError, AppResult, FieldError},
    models::{
        credential::CredentialRow,
        mcp_server::{McpServerRow, NewMcpServer},
    },
    outbound::Policy,
    services::tools::Builtin,
};

/// Most MCP servers of one organization.
pub const MAX_SERVERS: usize = 20;

/// What `addMcpServer` asks for.
pub struct NewServer<'a> {
    /// Lowercase letters, digits and `-`, 1 to 32, starting with a letter or digit.
    pub name: &'a str,
    /// Its Streamable HTTP endpoint.
    pub url: &'a str,
    /// The organization's credential whose secret is sent as a bearer token.
    pub credential_id: Option<Uuid>,
}

/// True for a valid server name (the database checks the same).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Adds an MCP server to the granted organization.
pub async fn add(tx: &mut Tx, grant: &Grant, policy: &Policy, server: NewServer<'_>) -> AppResult<McpServerRow> {
    let organization_id = grant.organization_id();
    let name = server.name.trim();
    let mut errors = Vec::new();
    if !valid_name(name) {
        errors.push(FieldError::input(
            "name",
            "INVALID_NAME",
            "name: 1 to 32 lowercase letters, digits and dashes, starting with a letter or digit",
        ));
    } else if Builtin::named(name).is_some() {
        errors.push(FieldError::input("name", "NAME_TAKEN", "a built-in tool has this name"));
    }
    match reqwest::Url::parse(server.url.trim()) {
        Ok(url) if server.url.len() <= 2_000 => {
            if let Some(why) = policy.refuses(&url) {
                errors.push(FieldError::input(
                    "url",
                    "URL_REFUSED",
                    format!("the URL is refused: {why}"),
                ));
            }
        }
        _ => errors.push(FieldError::input(
            "url",
            "INVALID_URL",
            "url must be an absolute http(s) URL",
        )),
    }
    if let Some(id) = server.credential_id {
        let found = CredentialRow::find(tx.conn(), id).await?;
        if found.is_none_or(|c| c.organization_id != organization_id) {
            errors.push(FieldError::input(
                "credentialId",
                "NOT_FOUND",
                "credential not found in this organization",
            ));
        }
    }
    if McpServerRow::for_organization(tx.conn(), organization_id).await?.len() >= MAX_SERVERS {
        errors.push(FieldError::input(
            "organizationId",
            "TOO_MANY",
            format!("an organization has at most {MAX_SERVERS} MCP servers"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let row = NewMcpServer {
        id: new_id(),
        organization_id,
        name: name.to_owned(),
        url: server.url.trim().to_owned(),
        credential_id: server.credential_id,
        created_by: Some(grant.caller().user.id),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::from(FieldError::input(
                "name",
                "NAME_TAKEN",
                "the organization already has an MCP server with this name",
            ))
        }
        other => other.into(),
    })?;
    tx.audit(grant)
        .on("mcp_server", row.id)
        .details(json!({ "name": row.name, "url": row.url }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Removes an MCP server (projects that enable it by name no longer get its tools).
pub async fn remove(tx: &mut Tx, row: &Granted<McpServerRow>) -> AppResult<()> {
    McpServerRow::delete(tx.conn(), row.id).await?;
    tx.audit(row.grant())
        .on("mcp_server", row.id)
        .details(json!({ "name": row.name }))
        .record_in(tx)
        .await?;
    Ok(())
}
