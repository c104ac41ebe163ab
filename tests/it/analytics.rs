//! Analytics events through the HTTP endpoint: a batch is stored whole or not at all.

use serde_json::{Value, json};

use crate::{
    support::Team,
    support::{TestDb, audit_trail, code, names, user_errors},
};

const TRACK: &str =
    "mutation($input: TrackEventsInput!) { trackEvents(input: $input) { accepted userErrors { field code } } }";

#[tokio::test]
async fn analytics_events_are_stored_as_a_batch_or_not_at_all() {
    let db = TestDb::migrated().await;
    let team = Team::new(&db).await;
    let conn = &mut db.conn().await;
    let count = "SELECT count(*)::text AS name FROM analytics_events";
    let (payload, _) = team
        .mutate(
            &team.viewer,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": [
                { "name": "chat.opened" },
                { "name": "", "properties": [1] },
                { "name": "old", "occurredAt": "2000-01-01T00:00:00Z" },
            ] }),
        )
        .await;
    assert_eq!(
        user_errors(&payload),
        vec![
            "input.events.1.name:INVALID_LENGTH",
            "input.events.1.properties:INVALID_JSON",
            "input.events.2.occurredAt:OUT_OF_RANGE"
        ]
    );
    assert_eq!(payload["accepted"], 0);
    assert_eq!(names(conn, count).await, vec!["0"]);
    let many: Vec<Value> = (0..101).map(|i| json!({ "name": format!("e{i}") })).collect();
    let (payload, _) = team
        .mutate(
            &team.viewer,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": many }),
        )
        .await;
    assert_eq!(user_errors(&payload), vec!["input.events:INVALID_BATCH"]);

    // Viewers read the project, so they may report what they did there.
    let (payload, body) = team
        .mutate(
            &team.viewer,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": [
                { "name": "chat.opened", "properties": { "from": "sidebar" } },
                { "name": "search.used" },
            ] }),
        )
        .await;
    assert_eq!(payload["accepted"], 2, "{body}");
    assert_eq!(names(conn, count).await, vec!["2"]);
    let (_, body) = team
        .mutate(
            &team.outsider,
            "trackEvents",
            TRACK,
            json!({ "projectId": team.project, "events": [{ "name": "x" }] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        audit_trail(&db, "analytics.track").await,
        vec![
            "failed:INVALID_LENGTH,INVALID_JSON,OUT_OF_RANGE:viewer@example.com",
            "failed:INVALID_BATCH:viewer@example.com",
            "success::viewer@example.com",
            "failed:NOT_FOUND:outsider@example.com"
        ]
    );
}
