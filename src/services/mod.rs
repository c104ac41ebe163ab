//! Workflows that span tables. For now: seeding the platform admin and the demo data.

pub mod seed;
