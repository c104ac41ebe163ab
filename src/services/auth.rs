//! Authentication workflows: sign-up (user, personal organization, default project and chat,
//! first session), sign-in (rate-limited), refresh with rotation and reuse detection,
//! sign-out, and turning a bearer token into a [`Caller`]. Each event is audited.
//!
//! A session has a chain of single-use refresh tokens. Refreshing marks the presented token
//! used and issues the next one; presenting a used token again means it was copied, so the
//! whole session is revoked. Access tokens are short-lived JWTs naming their session, and a
//! request with one is refused once that session is revoked or its user suspended.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

pub use crate::auth::caller::{Caller, ClientInfo};

use super::{
    addresses,
    audit::{Action, AuditEvent},
    auth_limits::{self, AuthLimits},
    write::{RecordIn, Tx},
};
use crate::{
    auth::{
        crypto::Keyring,
        oidc::OidcProviders,
        password,
        tokens::{self, AccessTokens, TokenKind},
    },
    db::{
        enums::{ChatVisibility, RoleScope, UserStatus},
        new_id,
    },
    error::{AppError, AppResult, FieldError},
    models::{
        api_token::ApiTokenRow,
        chat::NewChat,
        email_token::Purpose,
        organization::{NewOrganization, NewOrganizationMember},
        project::{NewProject, NewProjectMember},
        role::RoleRow,
        session::{NewRefreshToken, NewSession, RefreshTokenPatch, RefreshTokenRow, SessionRow},
        user::{NewUser, UserPatch, UserRow},
    },
};

/// Security settings shared by every request and job: tokens, encryption, sign-in limits,
/// mail, and where requests made for clients may go.
pub struct Authenticator {
    /// Encrypts and decrypts credentials at rest.
    pub keyring: Keyring,
    /// Issues and verifies access tokens.
    pub access_tokens: AccessTokens,
    /// How long a refresh token (and so a session without activity) lives.
    pub refresh_lifetime: Duration,
    /// How many failed sign-ins are allowed.
    pub limits: AuthLimits,
    /// OpenID Connect providers whose ID tokens sign users in.
    pub oidc: OidcProviders,
    /// Sends confirmation, password-reset and invitation mail.
    pub mail: std::sync::Arc<crate::mail::Mailer>,
    /// Where webhooks (and other requests made for clients) may go.
    pub outbound: crate::outbound::Policy,
}

/// A signed-in session as handed to the client.
pub struct IssuedSession {
    /// The signed-in user.
    pub user: UserRow,
    /// The session.
    pub session_id: Uuid,
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// When the access token expires.
    pub access_expires_at: DateTime<Utc>,
    /// Single-use token that obtains the next pair. Shown once, stored hashed.
    pub refresh_token: SecretString,
    /// When the refresh token expires.
    pub refresh_expires_at: DateTime<Utc>,
}

/// What sign-up asks for.
pub struct SignUp {
    /// Email address (unique, case-insensitive).
    pub email: String,
    /// Password (policy in `auth::password`).
    pub password: String,
    /// Display name.
    pub name: String,
}

const INVALID_CREDENTIALS: &str = "invalid email or password";

/// Creates a user with a personal organization, its default project (with the default
/// quota) and a default chat, and signs them in. Sign-ups are limited per client address
/// (see [`auth_limits::count_sign_up`]).
pub async fn sign_up(
    conn: &mut AsyncPgConnection,
    auth: &Authenticator,
    input: SignUp,
    client: &ClientInfo,
) -> AppResult<IssuedSession> {
    let email = input.email.trim().to_owned();
    let name = input.name.trim().to_owned();
    let mut errors = Vec::new();
    if let Err(error) = validate_email(&email) {
        errors.push(error);
    }
    errors.extend(FieldError::check_length("name", &name, 200));
    if let Err(AppError::BadUserInput(message)) = password::check_policy(&input.password, &email) {
        errors.push(FieldError::input("password", "WEAK_PASSWORD", message));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    auth_limits::count_sign_up(conn, auth.limits, client).await?;
    let password_hash = password::hash_async(&input.password).await?;
    let signed_in = conn
        .transaction::<_, AppError, _>(async |conn| {
            if UserRow::find_by_email(conn, &email).await?.is_some() {
                return Err(email_taken());
            }
            let user = NewUser {
                password_hash: Some(password_hash),
                ..NewUser::new(&email, &name)
            }
            .insert(conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e, "users_email_key") {
                    email_taken()
                } else {
                    e.into()
                }
            })?;
            create_personal_workspace(conn, &user).await?;
            let confirmation = addresses::issue(conn, &user, Purpose::ConfirmEmail).await?;
            let signed_in = log_in(conn, auth, user.id, client, AuditEvent::new(Action::AuthSignUp)).await?;
            Ok((signed_in, confirmation))
        })
        .await?;
    let ((user, refresh), confirmation) = signed_in;
    auth.mail
        .send(addresses::mail(
            &auth.mail,
            Purpose::ConfirmEmail,
            &user.email,
            &confirmation,
        ))
        .await;
    issue(auth, user, refresh)
}

/// Signs in with email and password. Every failure (unknown email, wrong password, suspended
/// or deleted account) gives the same answer, so it reveals nothing about the account. Too
/// many failures for the email or from the client address are refused with RATE_LIMITED
/// before the password is even checked. Successes and failures are audited.
pub async fn sign_in(
    conn: &mut AsyncPgConnection,
    auth: &Authenticator,
    email: &str,
    password_text: &str,
    client: &ClientInfo,
) -> AppResult<IssuedSession> {
    let email = email.trim();
    let attempt = match auth_limits::begin(conn, auth.limits, email, client).await {
        Ok(attempt) => attempt,
        Err(error) => {
            if matches!(error, AppError::RateLimited { .. }) {
                AuditEvent::new(Action::AuthSignIn)
                    .details(json!({ "email": email }))
                    .failed("too many failed sign-ins")
                    .record(conn, client)
                    .await?;
            }
            return Err(error);
        }
    };
    let user = UserRow::find_by_email(conn, email).await?;
    let password_ok = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
        Some(hash) => password::verify_async(password_text, hash).await?,
        None => {
            // Spend the time a real check takes, so response times do not reveal the account.
            password::verify_async(password_text, &DUMMY_HASH).await?;
            false
        }
    };
    let user = match user {
        Some(user) if password_ok && is_active(&user) => user,
        other => {
            let reason = match &other {
                None => "unknown email",
                Some(_) if !password_ok => "wrong password",
                Some(_) => "account not active",
            };
            AuditEvent::new(Action::AuthSignIn)
                .by_user(other.map(|u| u.id))
                .details(json!({ "email": email }))
                .failed(reason)
                .record(conn, client)
                .await?;
            return Err(FieldError::input("password", "INVALID_CREDENTIALS", INVALID_CREDENTIALS).into());
        }
    };
    attempt.succeeded(conn).await?;
    let (user, refresh) = conn
        .transaction::<_, AppError, _>(async |conn| {
            log_in(conn, auth, user.id, client, AuditEvent::new(Action::AuthSignIn)).await
        })
        .await?;
    issue(auth, user, refresh)
}

/// Records a sign-in, opens its session and writes `event` (the sign-in's audit row, with
/// the user and session filled in), inside the caller's transaction.
pub(super) async fn log_in(
    conn: &mut AsyncPgConnection,
    auth: &Authenticator,
    user_id: Uuid,
    client: &ClientInfo,
    event: AuditEvent,
) -> AppResult<(UserRow, (Uuid, SecretString, DateTime<Utc>))> {
    let user = UserPatch {
        last_login_at: Some(Some(Utc::now())),
        ..Default::default()
    }
    .apply(conn, user_id)
    .await?;
    let refresh = open_session(conn, auth, user_id, client).await?;
    event
        .by_user(Some(user_id))
        .on("session", refresh.0)
        .record(conn, client)
        .await?;
    Ok((user, refresh))
}

/// Exchanges a refresh token for a new pair. A token presented twice revokes its session.
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    auth: &Authenticator,
    refresh_token: &str,
    client: &ClientInfo,
) -> AppResult<IssuedSession> {
    enum Outcome {
        Rotated(Box<UserRow>, (Uuid, SecretString, DateTime<Utc>)),
        Reused,
        Invalid,
    }
    let hash = tokens::hash(refresh_token);
    let outcome = conn
        .transaction::<_, AppError, _>(async |conn| {
            let Some(token) = RefreshTokenRow::find_by_hash_for_update(conn, &hash).await? else {
                return Ok(Outcome::Invalid);
            };
            if token.used_at.is_some() || token.revoked_at.is_some() {
                SessionRow::revoke(conn, token.user_id, token.session_id).await?;
                AuditEvent::new(Action::AuthRefreshTokenReused)
                    .by_user(Some(token.user_id))
                    .on("session", token.session_id)
                    .failed("a used refresh token was presented again; the session is revoked")
                    .record(conn, client)
                    .await?;
                return Ok(Outcome::Reused);
            }
            let now = Utc::now();
            let session = SessionRow::find(conn, token.session_id).await?;
            let user = UserRow::find(conn, token.user_id).await?;
            let (Some(session), Some(user)) = (session, user) else {
                return Ok(Outcome::Invalid);
            };
            if token.expires_at <= now || session.revoked_at.is_some() || session.expires_at <= now || !is_active(&user)
            {
                return Ok(Outcome::Invalid);
            }
            let next = tokens::generate(TokenKind::Refresh);
            let next_expires_at = now + auth.refresh_lifetime;
            let next_row = NewRefreshToken {
                id: new_id(),
                session_id: session.id,
                user_id: user.id,
                token_hash: next.hash,
                expires_at: next_expires_at,
            }
            .insert(conn)
            .await?;
            RefreshTokenPatch {
                used_at: Some(Some(now)),
                replaced_by_id: Some(Some(next_row.id)),
                ..Default::default()
            }
            .apply(conn, token.id)
            .await?;
            crate::models::session::SessionPatch {
                last_seen_at: Some(now),
                expires_at: Some(next_expires_at),
                ..Default::default()
            }
            .apply(conn, session.id)
            .await?;
            Ok(Outcome::Rotated(
                Box::new(user),
                (session.id, next.secret, next_expires_at),
            ))
        })
        .await?;
    match outcome {
        Outcome::Rotated(user, refresh) => issue(auth, *user, refresh),
        Outcome::Reused => {
            tracing::warn!("a used refresh token was presented again: its session is revoked");
            Err(AppError::Unauthenticated)
        }
        Outcome::Invalid => Err(AppError::Unauthenticated),
    }
}

/// Ends the caller's session.
pub async fn sign_out(tx: &mut Tx) -> AppResult<()> {
    let caller = tx.caller()?;
    let session_id = session_of(&caller)?;
    SessionRow::revoke(tx.conn(), caller.user.id, session_id).await?;
    tx.event().on("session", session_id).record_in(tx).await
}

/// Sessions manage themselves and API tokens; an API token may not.
pub(crate) fn session_of(caller: &Caller) -> AppResult<Uuid> {
    caller
        .session_id
        .ok_or_else(|| AppError::BadUserInput("this needs a signed-in session, not an API token".into()))
}

/// Ends every session of the caller; returns how many were ended.
pub async fn sign_out_everywhere(tx: &mut Tx) -> AppResult<usize> {
    let caller = tx.caller()?;
    let revoked = SessionRow::revoke_all(tx.conn(), caller.user.id).await?;
    tx.event()
        .details(json!({ "revokedSessions": revoked }))
        .record_in(tx)
        .await?;
    Ok(revoked)
}

/// The caller behind a bearer token: an API token that is neither revoked nor expired, or an
/// access token with a valid signature and claims and a live session; and an active user.
/// Anything else is UNAUTHENTICATED.
pub async fn authenticate(conn: &mut AsyncPgConnection, auth: &Authenticator, bearer: &str) -> AppResult<Caller> {
    if bearer.starts_with(TokenKind::Api.prefix()) {
        let token = ApiTokenRow::find_by_hash(conn, &tokens::hash(bearer))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AppError::Unauthenticated);
        }
        let user = UserRow::find(conn, token.user_id)
            .await?
            .filter(is_active)
            .ok_or(AppError::Unauthenticated)?;
        // At most one write per token and minute (and no statement within that minute).
        if token
            .last_used_at
            .is_none_or(|at| at < Utc::now() - chrono::Duration::minutes(1))
        {
            ApiTokenRow::touch(conn, token.id).await?;
        }
        return Ok(Caller {
            user,
            session_id: None,
            api_token_id: Some(token.id),
            narrowed_to: token.organization_id,
        });
    }
    let claims = auth.access_tokens.verify(bearer)?;
    let (session, user) = SessionRow::find_with_user(conn, claims.sid)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if session.user_id != claims.sub || session.revoked_at.is_some() || session.expires_at <= Utc::now() {
        return Err(AppError::Unauthenticated);
    }
    if !is_active(&user) {
        return Err(AppError::Unauthenticated);
    }
    Ok(Caller {
        user,
        session_id: Some(session.id),
        api_token_id: None,
        narrowed_to: None,
    })
}

/// Whether `caller` is still signed in: the session (or API token) neither revoked nor
/// expired, and the user still active. For connections that outlive a request
/// (subscriptions), checked again now and then.
pub async fn still_signed_in(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<bool> {
    let now = Utc::now();
    if let Some(session_id) = caller.session_id {
        let found = SessionRow::find_with_user(conn, session_id).await?;
        return Ok(found.is_some_and(|(session, user)| {
            session.revoked_at.is_none() && session.expires_at > now && is_active(&user)
        }));
    }
    if let Some(token_id) = caller.api_token_id {
        let Some(token) = ApiTokenRow::find(conn, token_id).await? else {
            return Ok(false);
        };
        let user = UserRow::find(conn, token.user_id).await?;
        return Ok(token.revoked_at.is_none()
            && token.expires_at.is_none_or(|at| at > now)
            && user.as_ref().is_some_and(is_active));
    }
    Ok(false)
}

pub fn is_active(user: &UserRow) -> bool {
    user.status == UserStatus::Active && user.deleted_at.is_none()
}

/// An argon2id hash verified against when there is no account, so that a sign-in for an
/// unknown email costs what a real one costs. Computed once, with the same parameters.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash("no account has this password").unwrap_or_default());

fn email_taken() -> AppError {
    FieldError::input("email", "EMAIL_TAKEN", "an account with this email already exists").into()
}

fn is_unique_violation(error: &diesel::result::Error, constraint: &str) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint)
    )
}

/// Checks an email address's shape (the database checks it again).
pub fn validate_email(email: &str) -> Result<(), FieldError> {
    let valid = email.len() <= 320
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if valid {
        Ok(())
    } else {
        Err(FieldError::input("email", "INVALID_EMAIL", "not a valid email address"))
    }
}

/// The personal organization, its default project and a default chat of a new user.
pub(super) async fn create_personal_workspace(conn: &mut AsyncPgConnection, user: &UserRow) -> AppResult<()> {
    let organization = NewOrganization {
        id: new_id(),
        name: format!("{}'s workspace", user.name),
        slug: format!("personal-{}", user.id.simple()),
        plan: None,
        is_personal: true,
        metadata: None,
    }
    .insert(conn)
    .await?;
    let owner = RoleRow::find_by_name(conn, RoleScope::Organization, "owner").await?;
    NewOrganizationMember {
        organization_id: organization.id,
        user_id: user.id,
        role_id: owner.id,
        invited_by: None,
    }
    .insert(conn)
    .await?;
    let project = NewProject {
        id: new_id(),
        organization_id: organization.id,
        name: "Personal".into(),
        description: String::new(),
        icon_url: None,
        is_default: true,
        language: None,
        created_by: Some(user.id),
    }
    .insert(conn)
    .await?;
    super::quotas::give_default(conn, project.id).await?;
    let project_owner = RoleRow::find_by_name(conn, RoleScope::Project, "owner").await?;
    NewProjectMember {
        project_id: project.id,
        user_id: user.id,
        role_id: project_owner.id,
        added_by: None,
    }
    .insert(conn)
    .await?;
    NewChat {
        id: new_id(),
        project_id: project.id,
        user_id: user.id,
        assistant_id: None,
        title: "New chat".into(),
        model: None,
        visibility: ChatVisibility::Private,
        is_default: true,
        external_id: None,
    }
    .insert(conn)
    .await?;
    UserPatch {
        default_organization_id: Some(Some(organization.id)),
        ..Default::default()
    }
    .apply(conn, user.id)
    .await?;
    Ok(())
}

/// Opens a session with its first refresh token. The session row keeps the hash of the
/// refresh token that opened it.
async fn open_session(
    conn: &mut AsyncPgConnection,
    auth: &Authenticator,
    user_id: Uuid,
    client: &ClientInfo,
) -> AppResult<(Uuid, SecretString, DateTime<Utc>)> {
    let refresh = tokens::generate(TokenKind::Refresh);
    let expires_at = Utc::now() + auth.refresh_lifetime;
    let session = NewSession {
        id: new_id(),
        user_id,
        token_hash: refresh.hash.clone(),
        user_agent: client.user_agent.clone(),
        ip_address: client.ip_address,
        expires_at,
    }
    .insert(conn)
    .await?;
    NewRefreshToken {
        id: new_id(),
        session_id: session.id,
        user_id,
        token_hash: refresh.hash,
        expires_at,
    }
    .insert(conn)
    .await?;
    Ok((session.id, refresh.secret, expires_at))
}

pub(super) fn issue(
    auth: &Authenticator,
    user: UserRow,
    (session_id, refresh_token, refresh_expires_at): (Uuid, SecretString, DateTime<Utc>),
) -> AppResult<IssuedSession> {
    let (access_token, access_expires_at) = auth.access_tokens.issue(user.id, session_id)?;
    Ok(IssuedSession {
        user,
        session_id,
        access_token,
        access_expires_at,
        refresh_token,
        refresh_expires_at,
    })
}
