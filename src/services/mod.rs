//! Workflows that span tables: authentication, and seeding the platform admin and demo data.

pub mod auth;
pub mod seed;
