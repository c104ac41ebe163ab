//! The audit trail: one `audit_logs` row per security-relevant event (sign-in success and
//! failure, sign-out, refresh-token reuse, API token creation and revocation, role changes),
//! with the actor, the client's address and user agent.
//!
//! Rows are written in the transaction of the change they describe when there is one, so a
//! change and its record stand or fall together; failures are recorded on their own.

use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::auth::{Caller, ClientInfo};
use crate::{
    db::{enums::Outcome, new_id},
    models::audit_log::NewAuditLog,
};

/// One event for the audit trail, built up and then [recorded](Self::record).
#[derive(Debug, Clone)]
#[must_use = "an audit event does nothing until it is recorded"]
pub struct AuditEvent(NewAuditLog);

impl AuditEvent {
    /// A successful `action` (dotted, e.g. `auth.sign_in`).
    pub fn new(action: &str) -> Self {
        AuditEvent(NewAuditLog {
            id: new_id(),
            organization_id: None,
            project_id: None,
            actor_user_id: None,
            api_token_id: None,
            action: action.to_owned(),
            resource_type: None,
            resource_id: None,
            details: Value::Object(Default::default()),
            ip_address: None,
            user_agent: None,
            status: Outcome::Success,
            error_message: None,
        })
    }

    /// Who acted: the user, and the API token when they used one.
    pub fn by(mut self, caller: &Caller) -> Self {
        self.0.actor_user_id = Some(caller.user.id);
        self.0.api_token_id = caller.api_token_id;
        self
    }

    /// Who acted, when only the user is known (sign-in).
    pub fn by_user(mut self, user_id: Option<Uuid>) -> Self {
        self.0.actor_user_id = user_id;
        self
    }

    /// What the event concerns.
    pub fn on(mut self, resource_type: &str, resource_id: Uuid) -> Self {
        self.0.resource_type = Some(resource_type.to_owned());
        self.0.resource_id = Some(resource_id.to_string());
        self
    }

    /// The organization (and project) the event happened in.
    pub fn within(mut self, organization_id: Option<Uuid>, project_id: Option<Uuid>) -> Self {
        self.0.organization_id = organization_id;
        self.0.project_id = project_id;
        self
    }

    /// Further facts (a JSON object).
    pub fn details(mut self, details: Value) -> Self {
        self.0.details = details;
        self
    }

    /// Marks the event as failed, with why (never a secret).
    pub fn failed(mut self, reason: &str) -> Self {
        self.0.status = Outcome::Failed;
        self.0.error_message = Some(reason.to_owned());
        self
    }

    /// Writes the row, with where the request came from.
    pub async fn record(mut self, conn: &mut AsyncPgConnection, client: &ClientInfo) -> diesel::QueryResult<()> {
        self.0.ip_address = client.ip_address;
        self.0.user_agent = client.user_agent.clone();
        self.0.insert(conn).await.map(drop)
    }
}
