//! The GraphQL API: the schema builder (which needs no database, so the SDL can be exported
//! and snapshot-tested), the per-request context and DataLoaders, and one file per domain.
//!
//! Three layers, as in architecture.md: database rows (`models`), loaders that batch them
//! (`loaders`), and GraphQL types that wrap rows and resolve fields (`organization`,
//! `project`, `chat`, `message`).

pub mod api_token;
pub mod artifact;
pub mod assistant;
pub mod auth;
pub mod chat;
pub mod connection;
pub mod context;
pub mod credential;
pub mod file;
pub mod knowledge;
pub mod loaders;
pub mod member;
pub mod message;
pub mod node;
pub mod operations;
pub mod organization;
pub mod platform;
pub mod project;
pub mod query;
pub mod scalars;
pub mod settings;
pub mod usage;
pub mod user;

use async_graphql::{EmptySubscription, MergedObject, Schema};

pub use context::RequestContext;

/// Every mutation, one object per domain.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    api_token::ApiTokenMutation,
    project::ProjectMutation,
    chat::ChatMutation,
    credential::CredentialMutation,
    platform::PlatformMutation,
);

/// The executable schema.
pub type AppSchema = Schema<query::Query, Mutation, EmptySubscription>;

/// Deepest query accepted. 16 is what the introspection query of GraphiQL and code generators
/// needs (nine levels of type references); data queries rarely go past 10.
pub const MAX_DEPTH: usize = 16;
/// Highest query complexity accepted (each field counts 1, lists multiply by their size).
pub const MAX_COMPLEXITY: usize = 20_000;

/// Builds the schema. Request-scoped data (database pool, loaders, request id) is attached
/// to each request, never to the schema, so no state is shared between callers.
pub fn schema() -> AppSchema {
    Schema::build(query::Query, Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema().sdl()
}
