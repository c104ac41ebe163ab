//! Product analytics: `trackEvents` stores a batch of a client's events in a project the
//! caller may read (a [`Grant`] of `chat.read`), all or none, in one statement, with one audit
//! row for the batch. An event about a chat needs the right to write to that chat.

use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use uuid::Uuid;

use super::write::{RecordIn, Tx};
use crate::{
    auth::grant::{Grant, Permission},
    db::{new_id, schema::analytics_events},
    error::{AppError, AppResult, FieldError},
    models::{analytics_event::NewAnalyticsEvent, chat::ChatRow},
};

/// Most events in one batch.
pub const MAX_BATCH: usize = 100;
/// Largest `properties` object of one event, serialised.
pub const MAX_PROPERTIES_BYTES: usize = 16 * 1024;
/// How old an event may be.
pub const MAX_AGE_DAYS: i64 = 30;

/// One event as a client reports it.
#[derive(Debug)]
pub struct TrackedEvent {
    /// 1 to 200 characters, such as `chat.opened`.
    pub name: String,
    /// A JSON object of at most 16 KiB.
    pub properties: Option<Value>,
    /// When it happened; now when omitted. At most 30 days ago and 5 minutes ahead.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The chat it concerns, a chat of the project.
    pub chat_id: Option<Uuid>,
}

fn at(index: usize, field: &str, code: &'static str, message: String) -> FieldError {
    FieldError {
        field: vec!["input".into(), "events".into(), index.to_string(), field.into()],
        message,
        code,
    }
}

/// Stores `events` in the granted project; returns how many were stored.
pub async fn track(tx: &mut Tx, grant: &Grant, events: Vec<TrackedEvent>) -> AppResult<usize> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("events are tracked with a project grant")))?;
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(FieldError::input(
            "events",
            "INVALID_BATCH",
            format!("events must hold 1 to {MAX_BATCH} events"),
        )
        .into());
    }
    let now = Utc::now();
    let mut chat_ids: Vec<Uuid> = events.iter().filter_map(|e| e.chat_id).collect();
    chat_ids.sort();
    chat_ids.dedup();
    // An event about a chat is a write to that chat: the caller must hold that right.
    let mut chats_here = Vec::with_capacity(chat_ids.len());
    for id in chat_ids {
        match tx.granted::<ChatRow>(id, Permission::ChatWrite).await {
            Ok(chat) if chat.project_id == project_id => chats_here.push(id),
            Ok(_) | Err(AppError::NotFound(_) | AppError::Forbidden) => {}
            Err(other) => return Err(other),
        }
    }
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let name = event.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(at(
                index,
                "name",
                "INVALID_LENGTH",
                "name must be 1 to 200 characters".into(),
            ));
        }
        let properties = event.properties.unwrap_or_else(|| json!({}));
        if !properties.is_object() {
            errors.push(at(
                index,
                "properties",
                "INVALID_JSON",
                "properties must be a JSON object".into(),
            ));
        } else if properties.to_string().len() > MAX_PROPERTIES_BYTES {
            errors.push(at(
                index,
                "properties",
                "TOO_LARGE",
                "properties must be at most 16 KiB of JSON".into(),
            ));
        }
        let occurred_at = event.occurred_at.unwrap_or(now);
        if occurred_at > now + Duration::minutes(5) || occurred_at < now - Duration::days(MAX_AGE_DAYS) {
            errors.push(at(
                index,
                "occurredAt",
                "OUT_OF_RANGE",
                format!("occurredAt must be within the last {MAX_AGE_DAYS} days"),
            ));
        }
        if event.chat_id.is_some_and(|id| !chats_here.contains(&id)) {
            errors.push(at(
                index,
                "chatId",
                "NOT_FOUND",
                "chatId is not a chat of this project that you may write to".into(),
            ));
        }
        rows.push(NewAnalyticsEvent {
            id: new_id(),
            project_id,
            user_id: Some(grant.caller().user.id),
            chat_id: event.chat_id,
            name,
            properties,
            occurred_at,
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let stored = diesel::insert_into(analytics_events::table)
        .values(&rows)
        .execute(tx.conn())
        .await?;
    tx.audit(grant)
        .on("project", project_id)
        .details(json!({ "events": stored }))
        .record_in(tx)
        .await?;
    Ok(stored)
}
