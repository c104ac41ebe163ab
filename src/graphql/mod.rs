//! The GraphQL API: the schema builder (which needs no database, so the SDL can be exported
//! and snapshot-tested), the per-request context and DataLoaders, and one file per domain.
//!
//! Three layers, as in architecture.md: database rows (`models`), loaders that batch them
//! (`loaders`), and GraphQL types that wrap rows and resolve fields (`organization`,
//! `project`, `chat`, `message`).

pub mod address;
pub mod analytics_event;
pub mod api_token;
pub mod artifact;
pub mod assistant;
pub mod audit_log;
pub mod auth;
pub mod chat;
pub mod citation;
pub mod connection;
pub mod context;
pub mod credential;
pub mod datasource;
pub mod document;
pub mod document_limits;
pub mod error_codes;
pub mod executable;
pub mod fanout;
pub mod file;
pub mod invitation;
pub mod job;
pub mod loaders;
pub mod mcp_server;
pub mod member;
pub mod message;
pub mod model;
pub mod mutation;
pub mod node;
pub mod organization;
pub mod platform;
pub mod project;
pub mod query;
pub mod repository;
pub mod rounds;
pub mod scalars;
pub mod search;
pub mod settings;
pub mod subscription;
pub mod tool;
pub mod usage;
pub mod user;
pub mod webhook;

use async_graphql::{MergedObject, Schema};

pub use context::RequestContext;

/// Where every read starts: the reads of the data model, and search.
#[derive(MergedObject, Default)]
pub struct Query(query::DataQuery, search::SearchQuery);

/// Every mutation, one object per domain.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    address::AddressMutation,
    api_token::ApiTokenMutation,
    organization::OrganizationMutation,
    invitation::InvitationMutation,
    project::ProjectMutation,
    settings::SettingsMutation,
    chat::ChatMutation,
    message::MessageMutation,
    artifact::ArtifactMutation,
    assistant::AssistantMutation,
    repository::RepositoryMutation,
    datasource::DatasourceMutation,
    document::DocumentMutation,
    webhook::WebhookMutation,
    job::JobMutation,
    analytics_event::AnalyticsMutation,
    file::FileMutation,
    credential::CredentialMutation,
    mcp_server::McpServerMutation,
    platform::PlatformMutation,
);

pub use executable::AppSchema;

/// Deepest query accepted. 16 is what the introspection query of GraphiQL and code generators
/// needs (nine levels of type references); data queries rarely go past 10.
pub const MAX_DEPTH: usize = 16;
/// Highest query complexity accepted: each field counts 1, and a connection counts its page
/// size times the cost of one item, so the limit bounds how many objects a query can ask
/// for (like GitHub's 500,000 nodes): `first: 100` three levels deep is refused.
pub const MAX_COMPLEXITY: usize = 500_000;

/// Builds the schema with introspection for everyone (development and tests; `serve` uses
/// [`schema_with`] and its configuration).
pub fn schema() -> AppSchema {
    schema_with(document_limits::Introspection::On)
}

/// Builds the schema, introspectable as `introspection` says. Request-scoped data (database
/// pool, loaders, request id) is attached to each request, never to the schema, so no state
/// is shared between callers.
pub fn schema_with(introspection: document_limits::Introspection) -> AppSchema {
    let engine = Schema::build(Query::default(), Mutation::default(), subscription::Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish();
    AppSchema::new(engine, introspection)
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema().sdl()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Code generators copy descriptions into clients: every type, field, argument and enum
    /// value of the schema has one, and names follow GraphQL's conventions.
    #[tokio::test]
    async fn every_part_of_the_schema_is_described_and_conventionally_named() {
        let query = "{ __schema { types { name kind description \
            fields(includeDeprecated: true) { name description args { name description } } \
            inputFields { name description } enumValues(includeDeprecated: true) { name description } } } }";
        let response = super::schema().execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data: Value = response.data.into_json().expect("json");
        let mut missing = Vec::new();
        let described = |v: &Value| v["description"].as_str().is_some_and(|d| !d.trim().is_empty());
        let camel = |name: &str| name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !name.contains('_');
        for ty in data["__schema"]["types"].as_array().expect("types") {
            let name = ty["name"].as_str().expect("name");
            if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
                continue;
            }
            if !described(ty) {
                missing.push(name.to_owned());
            }
            assert!(
                name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !name.contains('_'),
                "{name}"
            );
            for field in ty["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(ty["inputFields"].as_array().into_iter().flatten())
            {
                let field_name = field["name"].as_str().expect("field");
                assert!(camel(field_name), "{name}.{field_name} is camelCase");
                if !described(field) {
                    missing.push(format!("{name}.{field_name}"));
                }
                for arg in field["args"].as_array().into_iter().flatten() {
                    let arg_name = arg["name"].as_str().expect("arg");
                    assert!(camel(arg_name), "{name}.{field_name}({arg_name}) is camelCase");
                    if !described(arg) {
                        missing.push(format!("{name}.{field_name}({arg_name})"));
                    }
                }
            }
            for value in ty["enumValues"].as_array().into_iter().flatten() {
                let value_name = value["name"].as_str().expect("value");
                assert!(
                    value_name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                    "{name}.{value_name} is SCREAMING_CASE"
                );
                if !described(value) {
                    missing.push(format!("{name}.{value_name}"));
                }
            }
        }
        assert!(missing.is_empty(), "without a description: {missing:?}");
    }
}
