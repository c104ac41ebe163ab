//! Authentication and authorization building blocks: password hashing, encryption at rest,
//! and tokens. Principals, sign-in flows and the authorization check build on these.

pub mod crypto;
pub mod password;
pub mod tokens;
