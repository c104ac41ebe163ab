//! chatgraph: a GraphQL gateway for AI chat workspace platforms, over one PostgreSQL schema.
//!
//! Where things live (file names mirror each other across layers):
//! - [`config`]: typed configuration from environment variables and flags.
//! - [`db`]: connection pool, generated `schema.rs`, migrations, closed-set enums, ids, and
//!   the private local PostgreSQL cluster used when no `DATABASE_URL` is given.
//! - [`models`]: Diesel rows and the queries beside them, one file per table or aggregate.
//! - [`auth`]: the caller, the authorization core for reads and writes, passwords, tokens,
//!   encryption at rest.
//! - [`services`]: workflows that span tables; `services::write`, the one path of every write.
//! - [`providers`]: model and embedding providers (the built-in offline embedder).
//! - [`storage`]: where uploaded files' bytes live (a local directory or S3-compatible storage).
//! - [`graphql`]: schema builder, per-request DataLoaders, one file per domain.
//! - [`http`]: the axum router, GraphQL and health handlers, middleware.
//! - [`app`]: wiring the pieces into a running server.
//! - [`error`]: the one error type and how it reaches clients.
//! - [`telemetry`]: logging set-up.
//! - [`bench`]: `chatgraph bench`, the read path under load (dataset, load generator, chart).

// async-graphql's merged mutation root (one object per domain) nests deeper than the default.
#![recursion_limit = "256"]

pub mod app;
pub mod auth;
pub mod bench;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod models;
pub mod outbound;
pub mod providers;
pub mod pubsub;
pub mod services;
pub mod storage;
pub mod telemetry;
