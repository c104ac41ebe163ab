//! Health checks: `/healthz` says the process is up; `/readyz` says it can serve (the
//! database answers and every migration is applied). Neither reveals internal details.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::AppState;
use crate::db::migrate;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable and its migrations are current.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let unavailable = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason })),
        )
    };
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(error = %error, "readiness: database unreachable");
            return unavailable("database unreachable");
        }
    };
    match migrate::is_current(&mut conn).await {
        Ok(true) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(false) => unavailable("migrations pending"),
        Err(error) => {
            tracing::warn!(error = %error, "readiness: migration check failed");
            unavailable("migrations pending")
        }
    }
}
