//! Integration tests against a real PostgreSQL with pgvector (see `support`). One binary, so
//! the crate links once; nextest runs each test in its own process, in parallel.

mod audit;
mod auth;
mod cascades;
mod cluster;
mod constraints;
mod content;
mod fixtures;
mod granted;
mod graph;
mod http;
mod isolation;
mod limits;
mod models;
mod nodes;
mod oidc;
mod organizations;
mod pagination;
mod projects;
mod schema;
mod secrets;
mod security;
mod seed;
mod support;
mod team;
mod uploads;
mod websocket;
mod workspace;
mod writes;
