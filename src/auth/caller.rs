//! Who makes a request and from where: what authentication hands to the layers above.

use ipnet::IpNet;
use uuid::Uuid;

use crate::models::user::UserRow;

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: UserRow,
    /// The session, when the caller uses an access token.
    pub session_id: Option<Uuid>,
    /// The API token, when the caller uses one.
    pub api_token_id: Option<Uuid>,
    /// The organization an API token is narrowed to: the caller sees nothing outside it.
    pub narrowed_to: Option<Uuid>,
}

/// Where a request comes from, recorded with sessions (and audit rows).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address.
    pub ip_address: Option<IpNet>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}
