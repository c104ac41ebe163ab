//! Workflows that span tables, one file per domain. Every change runs inside the one write
//! path ([`write::run`]) and takes a [`write::Tx`]; a change of an existing row takes it as a
//! [`Granted`](crate::auth::grant::Granted) row. Also authentication (with its limits and audit
//! trail) and seeding the platform admin and demo data.

pub mod addresses;
pub mod analytics;
pub mod api_tokens;
pub mod artifacts;
pub mod assistants;
pub mod audit;
pub mod auth;
pub mod auth_limits;
pub mod chats;
pub mod credentials;
pub mod deliveries;
pub mod embeddings;
pub mod extraction;
pub mod files;
pub mod generation;
pub mod ingestion;
pub mod invitations;
pub mod jobs;
pub mod knowledge;
pub mod mcp_servers;
pub mod members;
pub mod messages;
pub mod oidc;
pub mod organizations;
pub mod platform;
pub mod projects;
pub mod quotas;
pub mod rate_limits;
pub mod repositories;
pub mod search;
pub mod seed;
pub mod tools;
pub mod webhooks;
pub mod write;
