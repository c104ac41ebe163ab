//! The executable schema: async-graphql's engine behind chatgraph's own gate. Every request
//! passes the document limits before the engine runs it (and is parsed once), its polls are
//! counted for the DataLoaders' rounds, and every error leaves with a code, whichever
//! transport runs it.
//!
//! Both used to be async-graphql extensions. But once a schema has any extension, the engine
//! sends every field of every result through the extension chain (a boxed future per field
//! and extension), and neither needs a field: as a gate in front and a map behind, they cost
//! nothing per field (in a 1,000-subscriber fan-out, the time inside the chain fell from 8 %
//! to 5 % of the CPU, the field resolution included).

use async_graphql::{
    Request, Response, Schema,
    futures_util::{
        Stream, StreamExt,
        stream::{self, BoxStream},
    },
};

use super::{
    Mutation, Query,
    context::request_context,
    document_limits::{self, Introspection},
    error_codes::coded,
    fanout::{self, Outcome},
    rounds::Counting,
    subscription::Subscription,
};

/// The executable schema: run requests with [`AppSchema::execute`] (queries and mutations)
/// or [`AppSchema::execute_stream`] (any operation, subscriptions included), or
/// [`AppSchema::execute_stream_shared`] where results may be rendered for many followers.
#[derive(Clone)]
pub struct AppSchema {
    engine: Schema<Query, Mutation, Subscription>,
    introspection: Introspection,
    groups: fanout::Groups,
}

impl AppSchema {
    pub(super) fn new(engine: Schema<Query, Mutation, Subscription>, introspection: Introspection) -> Self {
        let groups = fanout::Groups::default();
        AppSchema {
            engine,
            introspection,
            groups,
        }
    }

    /// Runs a query or mutation.
    pub async fn execute(&self, request: impl Into<Request>) -> Response {
        let mut request = request.into();
        match self.refusal(&mut request) {
            None => {
                let counting = Counting::of(&request.data);
                coded(counting.rounds(self.engine.execute(request)).await)
            }
            Some(refused) => refused,
        }
    }

    /// Runs any operation: the results of a subscription, or the one result of a query or
    /// mutation.
    pub fn execute_stream(&self, request: impl Into<Request>) -> BoxStream<'static, Response> {
        let mut request = request.into();
        match self.refusal(&mut request) {
            None => self.run_stream(request).boxed(),
            Some(refused) => stream::once(async move { refused }).boxed(),
        }
    }

    /// Runs any operation like [`AppSchema::execute_stream`], except that the events of a
    /// `messageStream` subscription are rendered once for every follower of the answer that
    /// runs the same document as the same caller (see [`fanout`]).
    pub fn execute_stream_shared(&self, request: impl Into<Request>) -> BoxStream<'static, Outcome> {
        let mut request = request.into();
        match self.refusal(&mut request) {
            None if fanout::shareable(&mut request) => {
                fanout::follow(self.engine.clone(), request, self.groups.clone())
            }
            None => self.run_stream(request).map(Outcome::from).boxed(),
            Some(refused) => stream::once(async move { Outcome::from(refused) }).boxed(),
        }
    }

    /// The engine's results for an admitted request, its polls counted (see [`super::rounds`]).
    fn run_stream(&self, request: Request) -> impl Stream<Item = Response> + Send + use<> {
        let counting = Counting::of(&request.data);
        counting.rounds(self.engine.execute_stream(request)).map(coded)
    }

    /// The schema in SDL.
    pub fn sdl(&self) -> String {
        self.engine.sdl()
    }

    /// The response that refuses `request` when its document does not pass the limits.
    fn refusal(&self, request: &mut Request) -> Option<Response> {
        let signed_in = request_context(&request.data).is_some_and(|context| context.caller().is_some());
        let error = document_limits::admit(request, self.introspection, signed_in).err()?;
        Some(coded(Response::from_errors(vec![error])))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Value;

    use super::*;

    fn codes(response: &Response) -> Vec<Option<Value>> {
        response
            .errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect()
    }

    #[tokio::test]
    async fn a_refused_document_never_reaches_the_engine_and_every_error_leaves_with_a_code() {
        let schema = super::super::schema_with(Introspection::Off);
        let nested = format!(
            "{{ nodes(ids: {}\"x\"{}) {{ id }} }}",
            "[".repeat(3_000),
            "]".repeat(3_000)
        );
        let cases = [
            (nested.as_str(), "BAD_USER_INPUT"),
            ("{ __schema { types { name } } }", "FORBIDDEN"),
            ("{ noSuchField }", "BAD_USER_INPUT"),
            ("{ viewer { id ", "BAD_USER_INPUT"),
        ];
        for (query, code) in cases {
            let response = schema.execute(query).await;
            assert_eq!(codes(&response), vec![Some(Value::from(code))], "{query:.40}");
            let streamed: Vec<Response> = schema.execute_stream(query).collect().await;
            assert_eq!(streamed.len(), 1, "{query:.40}");
            assert_eq!(codes(&streamed[0]), vec![Some(Value::from(code))], "{query:.40}");
        }
        // Introspection as configured: the same document passes where it is allowed.
        let open = super::super::schema_with(Introspection::On);
        assert!(
            open.execute("{ __schema { queryType { name } } }")
                .await
                .errors
                .is_empty()
        );
    }
}
