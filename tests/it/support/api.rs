//! The HTTP client the tests talk to the server with, and signing up and in through it.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::{TestDb, http_settings, spawn_app};

#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub address: SocketAddr,
}

impl Api {
    pub async fn new(db: &TestDb) -> Api {
        Api {
            client: reqwest::Client::new(),
            address: spawn_app(db.pool(), http_settings()).await,
        }
    }

    /// Runs a query; returns the HTTP status and the body.
    pub async fn run(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("http://{}/graphql", self.address))
            .header("user-agent", "chatgraph-tests")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.json().await.expect("json"))
    }

    pub async fn sign_up(&self, email: &str) -> Value {
        let (_, body) = self
            .run(
                None,
                SIGN_UP,
                json!({ "input": { "email": email, "password": PASSWORD, "name": "Ada" } }),
            )
            .await;
        body["data"]["signUp"].clone()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Value {
        let (_, body) = self
            .run(
                None,
                SIGN_IN,
                json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        body["data"]["signIn"].clone()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Value {
        self.run(None, REFRESH, json!({ "input": { "refreshToken": refresh_token } }))
            .await
            .1
    }

    /// `joiner` (signed in as `email`, confirmed) joins `organization` with `role`: invited
    /// by `inviter`, accepting with the invitation's token.
    pub async fn join(&self, inviter: &str, organization: &Value, joiner: &str, email: &str, role: &str) {
        let (_, body) = self
            .run(
                Some(inviter),
                "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { token userErrors { code } } }",
                json!({ "input": { "organizationId": organization, "email": email, "role": role } }),
            )
            .await;
        let invitation = body["data"]["inviteOrganizationMember"]["token"].clone();
        assert!(invitation.is_string(), "{body}");
        let (_, body) = self
            .run(
                Some(joiner),
                "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { member { joinedAt } userErrors { code } } }",
                json!({ "input": { "token": invitation } }),
            )
            .await;
        assert!(body["data"]["acceptInvitation"]["member"].is_object(), "{body}");
    }

    pub async fn viewer(&self, token: &str) -> (u16, Value) {
        self.run(
            Some(token),
            "{ viewer { email organizations { nodes { slug } } } }",
            json!({}),
        )
        .await
    }
}

pub const PASSWORD: &str = "a long enough passphrase";
pub const SESSION: &str =
    "session { accessToken refreshToken expiresAt user { email } } userErrors { field message code }";
pub const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { session { accessToken refreshToken expiresAt user { email } } userErrors { field message code } } }";
pub const SIGN_IN: &str = "mutation($input: SignInInput!) { signIn(input: $input) { session { accessToken refreshToken expiresAt user { email } } userErrors { field message code } } }";
pub const REFRESH: &str = "mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { session { accessToken refreshToken } userErrors { code } } }";

pub fn token(payload: &Value, name: &str) -> String {
    payload["session"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {payload}"))
        .to_owned()
}
