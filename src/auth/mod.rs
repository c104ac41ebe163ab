//! Authentication and authorization: password hashing, encryption at rest, tokens, and the
//! authorization core that every tenant-data read (`authz`) and write (`grant`) goes through.

pub mod authz;
pub mod caller;
pub mod crypto;
pub mod grant;
pub mod oidc;
pub mod password;
pub mod placed;
pub mod tokens;
