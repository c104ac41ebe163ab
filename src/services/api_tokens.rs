//! API tokens: created for a signed-in session (shown once, stored as a SHA-256 hash and a
//! display prefix), optionally narrowed to one organization, listed and revoked. Creation
//! and revocation are audited.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::{
    auth::{Caller, session_of},
    write::{RecordIn, Tx},
};
use crate::{
    auth::tokens::{self, TokenKind},
    db::new_id,
    error::{AppError, AppResult, FieldError},
    models::{
        api_token::{ApiTokenPatch, ApiTokenRow, NewApiToken},
        organization::OrganizationMemberRow,
    },
};

/// Creates an API token for the caller, optionally narrowed to one of their organizations.
/// Returns the stored row and the token itself, which is shown only this once.
pub async fn create(
    tx: &mut Tx,
    caller: &Caller,
    name: &str,
    organization_id: Option<Uuid>,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(ApiTokenRow, SecretString)> {
    session_of(caller)?;
    let name = name.trim();
    let mut errors = Vec::new();
    errors.extend(FieldError::check_length("name", name, 100));
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        errors.push(FieldError::input(
            "expiresAt",
            "IN_THE_PAST",
            "expiresAt must lie in the future",
        ));
    }
    if let Some(organization_id) = organization_id {
        let memberships = OrganizationMemberRow::for_user(tx.conn(), caller.user.id).await?;
        if !memberships.iter().any(|m| m.organization_id == organization_id) {
            errors.push(FieldError::input("organizationId", "NOT_FOUND", "no such organization"));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let token = tokens::generate(TokenKind::Api);
    let new = NewApiToken {
        id: new_id(),
        user_id: caller.user.id,
        organization_id,
        name: name.to_owned(),
        token_prefix: token.display_prefix,
        token_hash: token.hash,
        scopes: Vec::new(),
        expires_at,
    };
    let row = new.insert(tx.conn()).await?;
    tx.event()
        .on("api_token", row.id)
        .within(row.organization_id, None)
        .details(json!({ "name": row.name, "prefix": row.token_prefix }))
        .record_in(tx)
        .await?;
    Ok((row, token.secret))
}

/// Revokes one of the caller's API tokens; it stops working at the next request. Another
/// user's token is reported as not found.
pub async fn revoke(tx: &mut Tx, caller: &Caller, id: Uuid) -> AppResult<ApiTokenRow> {
    session_of(caller)?;
    let token = ApiTokenRow::find(tx.conn(), id)
        .await?
        .filter(|t| t.user_id == caller.user.id)
        .ok_or_else(|| AppError::from(FieldError::input("id", "NOT_FOUND", "no such API token")))?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let revoked = ApiTokenPatch {
        revoked_at: Some(Some(Utc::now())),
        ..Default::default()
    }
    .apply(tx.conn(), token.id)
    .await?;
    tx.event()
        .on("api_token", token.id)
        .within(token.organization_id, None)
        .details(json!({ "name": token.name, "prefix": token.token_prefix }))
        .record_in(tx)
        .await?;
    Ok(revoked)
}
