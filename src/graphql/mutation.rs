//! What every mutation does with its outcome: validation and business-rule failures go into
//! the payload's `userErrors`, everything else into top-level `errors`, and every failure of a
//! signed-in caller is written to the audit trail with its codes. Successes are recorded by
//! the services, in the transaction of the change itself.

use async_graphql::{Context, MaybeUndefined, Result};
use diesel_async::AsyncPgConnection;
use serde_json::json;

use super::{
    auth::{UserError, user_errors},
    context::ContextExt,
};
use crate::{
    auth::grant::{Grant, Permission, Place},
    error::AppError,
    services::audit::AuditEvent,
};

/// Splits a mutation's `result` into its value and `userErrors`, recording a failure as a
/// failed `action` in the audit trail (its own statement: the change's transaction, if any,
/// was rolled back). Anonymous failures are not recorded, so they cannot fill the trail.
pub async fn settle<T>(
    ctx: &Context<'_>,
    conn: &mut AsyncPgConnection,
    action: &str,
    result: Result<T, AppError>,
) -> Result<(Option<T>, Vec<UserError>)> {
    if let (Err(error), Some(caller)) = (&result, ctx.request().caller()) {
        let codes: Vec<&str> = match error {
            AppError::Invalid(errors) => errors.iter().map(|e| e.code).collect(),
            other => vec![other.code()],
        };
        let request = ctx.request();
        let recorded = AuditEvent::new(action)
            .by(caller)
            .details(json!({ "codes": codes, "requestId": request.request_id() }))
            .failed(&codes.join(","))
            .record(conn, request.client())
            .await;
        if let Err(error) = recorded {
            tracing::warn!(request.id = request.request_id(), audit.action = action, error = %error, "recording a failed mutation");
        }
    }
    user_errors(result).map_err(|e| ctx.error(e))
}

/// The caller's grant of `permission` in the place of an existing object (`what`, say
/// `"document"`): an object in a place the caller cannot see is reported as not found
/// itself, so ids of other tenants cannot be probed.
pub async fn grant_for(
    ctx: &Context<'_>,
    conn: &mut AsyncPgConnection,
    place: Place,
    permission: Permission,
    what: &'static str,
) -> Result<Grant, AppError> {
    match ctx.request().authorize(conn, place, permission).await {
        Err(AppError::NotFound(_)) => Err(AppError::NotFound(what)),
        other => other,
    }
}

/// An optional, nullable input field as a change: `None` when it was left out (keep the
/// value), `Some(None)` when it was set to null (clear it).
pub fn change<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}
