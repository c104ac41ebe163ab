//! Integration tests against a real PostgreSQL with pgvector (see `support`). One binary, so
//! the crate links once; nextest runs each test in its own process, in parallel.

mod analytics;
mod assistants;
mod audit;
mod auth;
mod cascades;
mod cluster;
mod constraints;
mod content;
mod credentials;
mod fuzz;
mod granted;
mod graph;
mod http;
mod isolation;
mod jobs;
mod knowledge;
mod limits;
mod models;
mod nodes;
mod oidc;
mod organizations;
mod pagination;
mod playground;
mod projects;
mod repositories;
mod schema;
mod secrets;
mod security;
mod seed;
mod streaming;
mod support;
mod uploads;
mod webhooks;
mod websocket;
mod writes;
