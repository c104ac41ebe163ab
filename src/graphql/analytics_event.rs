//! `AnalyticsEvent`: a product analytics event sent by a client, and `trackEvents`.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    mutation::{UserError, write},
    node::{global_id, input_id},
};
use crate::{
    auth::grant::{Permission, Place},
    error::FieldError,
    models::analytics_event::AnalyticsEventRow,
    services::{
        analytics::{self, TrackedEvent},
        audit::Action,
    },
};

/// A product analytics event sent by a client (a page view, a click, ...).
pub struct AnalyticsEvent(pub AnalyticsEventRow);

/// A product analytics event sent by a client (a page view, a click, ...).
#[Object]
impl AnalyticsEvent {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("AnalyticsEvent", self.0.id)
    }

    /// Event name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Event properties (JSON).
    async fn properties(&self) -> Json<&Value> {
        Json(&self.0.properties)
    }

    /// When it happened (client time).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// When the server received it.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
}

/// One analytics event as a client reports it.
#[derive(InputObject)]
pub struct TrackedEventInput {
    /// Name, such as `chat.opened` (1 to 200 characters).
    pub name: String,
    /// Free properties, a JSON object of at most 16 KiB.
    pub properties: Option<Json<Value>>,
    /// When it happened (at most 30 days ago); now when omitted.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The chat it concerns, a chat of the project.
    pub chat_id: Option<ID>,
}

/// Input of `trackEvents`.
#[derive(InputObject)]
pub struct TrackEventsInput {
    /// The project the events happened in (needs `chat.read` there).
    pub project_id: ID,
    /// 1 to 100 events, stored all or none.
    pub events: Vec<TrackedEventInput>,
}

/// The result of `trackEvents`.
#[derive(SimpleObject)]
pub struct TrackEventsPayload {
    /// How many events were stored (0 on user errors).
    pub accepted: i32,
    /// What was wrong with the input; `field` names the event by index, e.g.
    /// `["input", "events", "3", "name"]`.
    pub user_errors: Vec<UserError>,
}
/// Analytics mutations.
#[derive(Default)]
pub struct AnalyticsMutation;

#[Object]
impl AnalyticsMutation {
    /// Stores a batch of product analytics events, all or none; an event about a chat needs
    /// the right to write to that chat. Limited per user (`analytics.track`, per batch).
    async fn track_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: TrackEventsInput,
    ) -> Result<TrackEventsPayload> {
        let (accepted, user_errors) = write(ctx, Action::AnalyticsTrack, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ChatRead).await?;
            let mut events = Vec::with_capacity(input.events.len());
            for (index, event) in input.events.into_iter().enumerate() {
                let chat_id = event.chat_id.as_ref().map(|id| input_id(id, "Chat", "chatId"));
                let chat_id = chat_id.transpose().map_err(|_| FieldError {
                    field: vec!["input".into(), "events".into(), index.to_string(), "chatId".into()],
                    message: "not the id of a Chat".into(),
                    code: "INVALID_ID",
                })?;
                events.push(TrackedEvent {
                    name: event.name,
                    properties: event.properties.map(|p| p.0),
                    occurred_at: event.occurred_at,
                    chat_id,
                });
            }
            analytics::track(tx, &grant, events).await
        })
        .await?;
        Ok(TrackEventsPayload {
            accepted: accepted.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            user_errors,
        })
    }
}
