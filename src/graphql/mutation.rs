//! The payload conventions every mutation follows (one `input` argument; a payload with the
//! changed objects and `userErrors` for validation and business-rule failures) and the one
//! path every mutation runs through: [`write`].
//!
//! ```ignore
//! async fn update_document(&self, ctx: &Context<'_>, input: UpdateDocumentInput) -> Result<DocumentPayload> {
//!     let (document, user_errors) = write(ctx, Action::DocumentUpdate, async |tx| {
//!         let document = tx.granted(input_id(&input.id, "Document", "id")?, Permission::DocumentsWrite).await?;
//!         knowledge::update_document(tx, &document, fields).await
//!     })
//!     .await?;
//!     Ok(DocumentPayload { document: document.map(Document), user_errors })
//! }
//! ```

use async_graphql::{Context, MaybeUndefined, Result, SimpleObject};

use super::context::ContextExt;
use crate::{
    error::{AppError, AppResult, FieldError},
    services::{
        audit::Action,
        write::{self, Body, Tx},
    },
};

/// A validation or business-rule failure, for a client to show next to the input it concerns.
#[derive(SimpleObject)]
pub struct UserError {
    /// Path to the input field, e.g. `["input", "email"]`; null when no single field is at fault.
    pub field: Option<Vec<String>>,
    /// What is wrong, for people.
    pub message: String,
    /// Stable code, for programs (e.g. `EMAIL_TAKEN`, `INVALID_CREDENTIALS`).
    pub code: String,
}

impl From<FieldError> for UserError {
    fn from(error: FieldError) -> Self {
        UserError {
            field: Some(error.field).filter(|f| !f.is_empty()),
            message: error.message,
            code: error.code.to_owned(),
        }
    }
}

/// Splits a mutation's result into its value and its `userErrors`; other errors stay errors.
pub fn user_errors<T>(result: AppResult<T>) -> Result<(Option<T>, Vec<UserError>), AppError> {
    match result {
        Ok(value) => Ok((Some(value), Vec::new())),
        Err(AppError::Invalid(errors)) => Ok((None, errors.into_iter().map(UserError::from).collect())),
        Err(other) => Err(other),
    }
}

/// Runs a mutation's `body` as the write `action` (see [`crate::services::write::run`]: rate
/// limits, one transaction, the audit row of a failure) and splits the outcome into the
/// payload's value and `userErrors`; other failures become the request's `errors`.
pub async fn write<T, F>(ctx: &Context<'_>, action: Action, body: F) -> Result<(Option<T>, Vec<UserError>)>
where
    F: for<'t> AsyncFnOnce(&'t mut Tx) -> AppResult<T> + for<'t> Body<&'t mut Tx, AppResult<T>, Fut: Send>,
    T: Send,
{
    let writer = ctx.request().writer();
    let conn = ctx.request().write_conn().await?;
    let result = write::run(conn, writer, action, body).await;
    user_errors(result).map_err(|e| ctx.error(e))
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
