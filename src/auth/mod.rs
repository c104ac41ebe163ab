//! Authentication and authorization: password hashing, encryption at rest, tokens, and the
//! authorization core (`authz`) that every tenant-data read goes through.

pub mod authz;
pub mod crypto;
pub mod password;
pub mod tokens;
