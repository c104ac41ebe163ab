//! Every error a client receives carries `extensions.code`. Errors of the resolvers get
//! theirs from [`crate::error::AppError`]; the engine's own (a variable of the wrong type or
//! out of range, found only when an argument is read during execution) have none, and are
//! the client's input: they get `BAD_USER_INPUT`. Applies to HTTP, SSE and WebSocket alike.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextSubscribe},
    futures_util::{StreamExt, stream::BoxStream},
};

/// The schema extension that gives every error a code.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

/// Gives `BAD_USER_INPUT` to each error of `response` that has no code.
fn coded(mut response: Response) -> Response {
    response.errors.iter_mut().for_each(with_code);
    response
}

fn with_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        coded(next.run(ctx, operation_name).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(coded).boxed()
    }
}
