//! Typed conditions on lists, turned into SQL here and nowhere else: the GraphQL filters
//! fill these structs, and [`Filter`] (whose `with` is private to `models`) carries their SQL
//! and bound values into the page statements. `c` is the listed table (`models::page`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::page::{Filter, FilterValue};
use crate::db::enums::{ChatVisibility, DocumentStatus, JobStatus, MessageRole, MessageStatus, UsageOperation};

fn text(value: &str) -> String {
    value.to_owned()
}

/// Conditions on chats. All given conditions must hold.
#[derive(Debug, Default)]
pub struct ChatConditions {
    /// Starred or not.
    pub is_starred: Option<bool>,
    /// This visibility.
    pub visibility: Option<ChatVisibility>,
    /// The title contains this, ignoring case.
    pub title_contains: Option<String>,
    /// With this assistant.
    pub assistant_id: Option<Uuid>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// Active (last message, or creation) at or after.
    pub active_after: Option<DateTime<Utc>>,
    /// Active before.
    pub active_before: Option<DateTime<Utc>>,
}

impl From<ChatConditions> for Filter {
    fn from(c: ChatConditions) -> Filter {
        Filter::none()
            .with("c.is_starred = $?", c.is_starred, FilterValue::Bool)
            .with(
                "c.visibility = $?",
                c.visibility.map(|v| text(v.as_str())),
                FilterValue::Text,
            )
            .with(
                "strpos(lower(c.title), lower($?)) > 0",
                c.title_contains,
                FilterValue::Text,
            )
            .with("c.assistant_id = $?", c.assistant_id, FilterValue::Uuid)
            .with("c.created_at >= $?", c.created_after, FilterValue::Time)
            .with("c.created_at < $?", c.created_before, FilterValue::Time)
            .with(
                "coalesce(c.last_message_at, c.created_at) >= $?",
                c.active_after,
                FilterValue::Time,
            )
            .with(
                "coalesce(c.last_message_at, c.created_at) < $?",
                c.active_before,
                FilterValue::Time,
            )
    }
}

/// Conditions on messages.
#[derive(Debug, Default)]
pub struct MessageConditions {
    /// Of this role.
    pub role: Option<MessageRole>,
    /// In this state.
    pub status: Option<MessageStatus>,
}

impl From<MessageConditions> for Filter {
    fn from(c: MessageConditions) -> Filter {
        Filter::none()
            .with("c.role = $?", c.role.map(|r| text(r.as_str())), FilterValue::Text)
            .with("c.status = $?", c.status.map(|s| text(s.as_str())), FilterValue::Text)
    }
}

/// Conditions on documents.
#[derive(Debug, Default)]
pub struct DocumentConditions {
    /// Of this datasource.
    pub datasource_id: Option<Uuid>,
    /// In this state.
    pub status: Option<DocumentStatus>,
    /// The title contains this, ignoring case.
    pub title_contains: Option<String>,
}

impl From<DocumentConditions> for Filter {
    fn from(c: DocumentConditions) -> Filter {
        Filter::none()
            .with("c.datasource_id = $?", c.datasource_id, FilterValue::Uuid)
            .with("c.status = $?", c.status.map(|s| text(s.as_str())), FilterValue::Text)
            .with(
                "strpos(lower(c.title), lower($?)) > 0",
                c.title_contains,
                FilterValue::Text,
            )
    }
}

/// Conditions on jobs.
#[derive(Debug, Default)]
pub struct JobConditions {
    /// In this state.
    pub status: Option<JobStatus>,
    /// Of this kind.
    pub kind: Option<String>,
}

impl From<JobConditions> for Filter {
    fn from(c: JobConditions) -> Filter {
        Filter::none()
            .with("c.status = $?", c.status.map(|s| text(s.as_str())), FilterValue::Text)
            .with("c.kind = $?", c.kind, FilterValue::Text)
    }
}

/// Conditions on audit rows.
#[derive(Debug, Default)]
pub struct AuditLogConditions {
    /// This action.
    pub action: Option<String>,
    /// By this user.
    pub actor_id: Option<Uuid>,
    /// On this kind of resource.
    pub resource_type: Option<String>,
    /// On this resource.
    pub resource_id: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

impl From<AuditLogConditions> for Filter {
    fn from(c: AuditLogConditions) -> Filter {
        Filter::none()
            .with("c.action = $?", c.action, FilterValue::Text)
            .with("c.actor_user_id = $?", c.actor_id, FilterValue::Uuid)
            .with("c.resource_type = $?", c.resource_type, FilterValue::Text)
            .with("c.resource_id = $?", c.resource_id, FilterValue::Text)
            .with("c.created_at >= $?", c.from, FilterValue::Time)
            .with("c.created_at < $?", c.to, FilterValue::Time)
    }
}

/// Conditions on usage records.
#[derive(Debug, Default)]
pub struct UsageConditions {
    /// Requested at or after.
    pub from: Option<DateTime<Utc>>,
    /// Requested before.
    pub to: Option<DateTime<Utc>>,
    /// Of this operation.
    pub operation: Option<UsageOperation>,
    /// With this model.
    pub model: Option<String>,
    /// With this provider.
    pub provider: Option<String>,
    /// By this user.
    pub user_id: Option<Uuid>,
}

impl From<UsageConditions> for Filter {
    fn from(c: UsageConditions) -> Filter {
        Filter::none()
            .with("c.requested_at >= $?", c.from, FilterValue::Time)
            .with("c.requested_at < $?", c.to, FilterValue::Time)
            .with(
                "c.operation = $?",
                c.operation.map(|o| text(o.as_str())),
                FilterValue::Text,
            )
            .with("c.model = $?", c.model, FilterValue::Text)
            .with("c.provider = $?", c.provider, FilterValue::Text)
            .with("c.user_id = $?", c.user_id, FilterValue::Uuid)
    }
}

/// The one version of an artifact saved at this time.
pub struct VersionAt(pub DateTime<Utc>);

impl From<VersionAt> for Filter {
    fn from(at: VersionAt) -> Filter {
        Filter::none().with("c.created_at = $?", Some(at.0), FilterValue::Time)
    }
}
