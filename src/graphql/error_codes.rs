//! Every error a client receives carries `extensions.code`. Errors of the resolvers get
//! theirs from [`crate::error::AppError`]; the engine's own (a variable of the wrong type or
//! out of range, found only when an argument is read during execution) have none, and are
//! the client's input: they get `BAD_USER_INPUT`. Applies to HTTP, SSE and WebSocket alike.

use async_graphql::{Response, ServerError};

/// Gives `BAD_USER_INPUT` to each error of `response` that has no code.
pub fn coded(mut response: Response) -> Response {
    response.errors.iter_mut().for_each(with_code);
    response
}

fn with_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
}
