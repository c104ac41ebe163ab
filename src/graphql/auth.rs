//! Sign-up, sign-in, session refresh and sign-out mutations.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::{
    context::ContextExt,
    mutation::{UserError, user_errors, write},
    user::User,
};
use crate::{
    error::FieldError,
    services::{
        audit::Action,
        auth::{self, IssuedSession, SignUp},
        oidc,
    },
};

/// Longest ID token accepted (real ones are 1 to 2 KiB).
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// A signed-in session: the tokens to use and the user they belong to.
pub struct AuthSession(IssuedSession);

/// A signed-in session: the tokens to use and the user they belong to.
#[Object]
impl AuthSession {
    /// Short-lived token for `Authorization: Bearer <token>` (HTTP) or the `connection_init`
    /// payload (WebSocket).
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }

    /// When the access token expires; refresh before then.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.access_expires_at
    }

    /// Single-use token for `refreshSession`. Shown only here: store it safely.
    async fn refresh_token(&self) -> &str {
        self.0.refresh_token.expose_secret()
    }

    /// When the refresh token expires.
    async fn refresh_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_expires_at
    }

    /// The signed-in user.
    async fn user(&self) -> User {
        User(self.0.user.clone())
    }
}

/// The result of signing up, signing in or refreshing.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// The new session, unless there were user errors.
    pub session: Option<AuthSession>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of signing out.
#[derive(SimpleObject)]
pub struct SignOutPayload {
    /// How many sessions were ended.
    pub revoked_sessions: i32,
    /// What was wrong with the request.
    pub user_errors: Vec<UserError>,
}

/// Input of `signUp`.
#[derive(InputObject)]
pub struct SignUpInput {
    /// Email address; unique regardless of case.
    pub email: String,
    /// At least 12 characters, and not the email address.
    pub password: String,
    /// Display name (1 to 200 characters).
    pub name: String,
}

/// Input of `signIn`.
#[derive(InputObject)]
pub struct SignInInput {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Input of `signInWithIdToken`.
#[derive(InputObject)]
pub struct SignInWithIdTokenInput {
    /// The configured identity provider that issued the token (e.g. `google`).
    pub provider: String,
    /// The OpenID Connect ID token (a JWT signed by the provider).
    pub id_token: String,
}

/// Input of `refreshSession`.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token of the last `AuthSession`.
    pub refresh_token: String,
}

/// Authentication mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an account with a personal organization, its default project and a default
    /// chat, and signs in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SignUpInput,
    ) -> Result<AuthPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let input = SignUp {
            email: input.email,
            password: input.password,
            name: input.name,
        };
        let result = auth::sign_up(&mut conn, request.authenticator(), input, request.client()).await;
        let (session, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(AuthPayload {
            session: session.map(AuthSession),
            user_errors,
        })
    }

    /// Signs in with email and password. A failure says only that the pair is wrong.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SignInInput,
    ) -> Result<AuthPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = auth::sign_in(
            &mut conn,
            request.authenticator(),
            &input.email,
            &input.password,
            request.client(),
        )
        .await;
        let (session, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(AuthPayload {
            session: session.map(AuthSession),
            user_errors,
        })
    }

    /// Signs in with an OpenID Connect ID token (Google or another configured issuer),
    /// verified against the provider's keys. The first sign-in creates the account (or links
    /// the one with the email the provider verified).
    async fn sign_in_with_id_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SignInWithIdTokenInput,
    ) -> Result<AuthPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = if input.id_token.len() > MAX_ID_TOKEN_BYTES {
            Err(FieldError::input("idToken", "INVALID_ID_TOKEN", "the ID token is not valid").into())
        } else {
            oidc::sign_in_with_id_token(
                &mut conn,
                request.authenticator(),
                &input.provider,
                &input.id_token,
                request.client(),
            )
            .await
        };
        let (session, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(AuthPayload {
            session: session.map(AuthSession),
            user_errors,
        })
    }

    /// Exchanges a refresh token for a new access and refresh token. Each refresh token works
    /// once; presenting one again ends its session (it must have been copied).
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RefreshSessionInput,
    ) -> Result<AuthPayload> {
        let mut conn = ctx.conn().await?;
        let session = auth::refresh(
            &mut conn,
            ctx.request().authenticator(),
            &input.refresh_token,
            ctx.request().client(),
        )
        .await
        .map_err(|e| ctx.error(e))?;
        Ok(AuthPayload {
            session: Some(AuthSession(session)),
            user_errors: Vec::new(),
        })
    }

    /// Ends the current session: its refresh token stops working at once, its access tokens
    /// at the next request.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<SignOutPayload> {
        ctx.caller()?;
        let (done, user_errors) = write(ctx, Action::AuthSignOut, async |tx| auth::sign_out(tx).await).await?;
        Ok(SignOutPayload {
            revoked_sessions: i32::from(done.is_some()),
            user_errors,
        })
    }

    /// Ends every session of the signed-in user, on every device.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> Result<SignOutPayload> {
        ctx.caller()?;
        let (revoked, user_errors) = write(ctx, Action::AuthSignOutEverywhere, async |tx| {
            auth::sign_out_everywhere(tx).await
        })
        .await?;
        Ok(SignOutPayload {
            revoked_sessions: revoked.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            user_errors,
        })
    }
}
