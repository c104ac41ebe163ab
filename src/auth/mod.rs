//! Authentication and authorization. For now: password hashing. Principals, tokens and the
//! authorization check arrive with the identity work.

pub mod password;
