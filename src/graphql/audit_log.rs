//! `AuditLog`: a record of a change or a security event, and the audit-log filter.

use async_graphql::{Context, ID, InputObject, Json, Object, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    loaders::{ChatById, UserById, load},
    node::{global_id, optional_argument_id},
    user::User,
};
use crate::{
    db::enums::Outcome,
    error::AppResult,
    models::{audit_log::AuditLogRow, filters::AuditLogConditions, page::Filter},
};

/// Which audit records to list. All conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only this action (such as `credential.create`).
    pub action: Option<String>,
    /// Only actions by this user.
    pub actor_id: Option<ID>,
    /// Only actions on this kind of resource (such as `chat`).
    pub resource_type: Option<String>,
    /// Only actions on this resource (its raw id).
    pub resource_id: Option<String>,
    /// Only records at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only records before this time.
    pub to: Option<DateTime<Utc>>,
}

impl AuditLogFilter {
    /// The conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        Ok(AuditLogConditions {
            action: self.action,
            actor_id: optional_argument_id(self.actor_id.as_ref(), "User", "filter.actorId")?,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            from: self.from,
            to: self.to,
        }
        .into())
    }
}

/// A record of a change or a security event: who, what, on what, from where, and whether it
/// succeeded. Records are never changed.
pub struct AuditLog(pub AuditLogRow);

/// A record of a change or a security event: who, what, on what, from where, and whether it
/// succeeded. Records are never changed.
#[Object]
impl AuditLog {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("AuditLog", self.0.id)
    }

    /// What happened (such as `chat.delete`).
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Who did it, when it was a user (null for system actions or deleted users).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.actor_user_id else {
            return Ok(None);
        };
        Ok(load(ctx, UserById(id)).await?.map(User))
    }

    /// The kind of resource acted on.
    async fn resource_type(&self) -> Option<&str> {
        self.0.resource_type.as_deref()
    }

    /// The raw id of the resource acted on (null when `withheld`).
    async fn resource_id(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(match self.withheld(ctx).await? {
            true => None,
            false => self.0.resource_id.as_deref(),
        })
    }

    /// Details (JSON; never secrets; empty when `withheld`).
    async fn details(&self, ctx: &Context<'_>) -> Result<Json<Value>> {
        Ok(Json(match self.withheld(ctx).await? {
            true => Value::Object(Default::default()),
            false => self.0.details.clone(),
        }))
    }

    /// True when the record concerns a chat the caller may not read (someone's private
    /// chat, or one deleted since): its resource id and details, which name things of that
    /// chat, are withheld; who did what, when and whether it succeeded stay.
    async fn withheld(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(chat) = self.0.chat_id else {
            return Ok(false);
        };
        Ok(load(ctx, ChatById(chat)).await?.is_none())
    }

    /// The client's address.
    async fn ip_address(&self) -> Option<String> {
        self.0.ip_address.map(|ip| ip.addr().to_string())
    }

    /// The client's user agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// Whether it succeeded.
    async fn status(&self) -> Outcome {
        self.0.status
    }

    /// Why it failed (a user-facing reason, never internal error text).
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
