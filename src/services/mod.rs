//! Workflows that span tables: authentication (with its limits and audit trail), and seeding
//! the platform admin and demo data.

pub mod api_tokens;
pub mod audit;
pub mod auth;
pub mod chats;
pub mod credentials;
pub mod members;
pub mod oidc;
pub mod organizations;
pub mod platform;
pub mod projects;
pub mod quotas;
pub mod seed;
pub mod sign_in_limits;
