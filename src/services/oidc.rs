//! Sign-in with an OpenID Connect ID token. The token is verified against the provider's
//! JWKS (`auth::oidc`); the user is found by the issuer's subject (`user_identities`, and
//! `users.google_sub` for Google), else by an email the issuer verified and the account has
//! confirmed (the identity is then linked), else created with a personal workspace, like sign-up, and no password.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use super::{
    audit::{Action, AuditEvent},
    auth::{self, Authenticator, ClientInfo, IssuedSession},
};
use crate::{
    auth::oidc::IdClaims,
    db::new_id,
    error::{AppError, AppResult, FieldError},
    models::{
        identity::{NewUserIdentity, UserIdentityRow},
        user::{NewUser, UserPatch, UserRow},
    },
};

/// The provider whose subjects are also kept in `users.google_sub`.
pub const GOOGLE: &str = "google";

/// Signs in (or up) with an ID token issued by `provider`.
pub async fn sign_in_with_id_token(
    conn: &mut AsyncPgConnection,
    authenticator: &Authenticator,
    provider: &str,
    id_token: &str,
    client: &ClientInfo,
) -> AppResult<IssuedSession> {
    let claims = match authenticator.oidc.verify(provider, id_token).await {
        Ok(claims) => claims,
        Err(error) => return Err(audit_refusal(conn, client, provider, error).await),
    };
    let signed_in = conn
        .transaction::<_, AppError, _>(async |conn| {
            let user = find_or_create(conn, provider, &claims).await?;
            if !auth::is_active(&user) {
                return Err(FieldError::input("idToken", "ACCOUNT_DISABLED", "this account cannot sign in").into());
            }
            let event = AuditEvent::new(Action::AuthSignIn).details(json!({ "provider": provider }));
            auth::log_in(conn, authenticator, user.id, client, event).await
        })
        .await;
    match signed_in {
        Ok((user, refresh)) => auth::issue(authenticator, user, refresh),
        Err(error) => Err(audit_refusal(conn, client, provider, error).await),
    }
}

/// Records a refused sign-in (a user error: bad token, unknown provider, unverified email)
/// and hands the error back.
async fn audit_refusal(conn: &mut AsyncPgConnection, client: &ClientInfo, provider: &str, error: AppError) -> AppError {
    let AppError::Invalid(errors) = &error else {
        return error;
    };
    let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
    let recorded = AuditEvent::new(Action::AuthSignIn)
        .details(json!({ "provider": provider }))
        .failed(&codes.join(", "))
        .record(conn, client)
        .await;
    match recorded {
        Ok(()) => error,
        Err(audit_error) => audit_error.into(),
    }
}

/// The user behind `claims`, linking or creating them as needed.
async fn find_or_create(conn: &mut AsyncPgConnection, provider: &str, claims: &IdClaims) -> AppResult<UserRow> {
    if let Some(identity) = UserIdentityRow::find_by_subject(conn, &claims.iss, &claims.sub).await? {
        UserIdentityRow::touch(conn, identity.id).await?;
        return UserRow::find(conn, identity.user_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an identity without its user")));
    }
    let mut user = match provider {
        GOOGLE => UserRow::find_by_google_sub(conn, &claims.sub).await?,
        _ => None,
    };
    let verified_email = claims.email.as_deref().filter(|_| claims.email_is_verified());
    if user.is_none()
        && let Some(email) = verified_email
    {
        user = UserRow::find_by_email(conn, email).await?;
        // Linked by email only to an account that proved it holds the address: otherwise
        // whoever registered the address first (perhaps not its owner) would get the
        // owner's identity.
        if user.as_ref().is_some_and(|u| u.email_confirmed_at.is_none()) {
            return Err(FieldError::input(
                "idToken",
                "CONFIRM_EMAIL_FIRST",
                "an account with this email exists and has not confirmed it: sign in with its password \
                 and confirm the address (or reset the password by mail), then sign in with this provider",
            )
            .into());
        }
    }
    let user = match user {
        Some(user) => user,
        None => create(conn, provider, claims).await?,
    };
    if provider == GOOGLE && user.google_sub.is_none() {
        UserPatch {
            google_sub: Some(Some(claims.sub.clone())),
            ..Default::default()
        }
        .apply(conn, user.id)
        .await?;
    }
    NewUserIdentity {
        id: new_id(),
        user_id: user.id,
        issuer: claims.iss.clone(),
        subject: claims.sub.clone(),
        email: claims.email.clone(),
        last_sign_in_at: Some(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(user)
}

/// A new user from the token's claims, with a personal workspace and no password.
async fn create(conn: &mut AsyncPgConnection, provider: &str, claims: &IdClaims) -> AppResult<UserRow> {
    let Some(email) = claims.email.as_deref() else {
        return Err(FieldError::input(
            "idToken",
            "EMAIL_REQUIRED",
            "the ID token carries no email; allow the email scope",
        )
        .into());
    };
    auth::validate_email(email)
        .map_err(|_| FieldError::input("idToken", "INVALID_EMAIL", "the ID token's email is not valid"))?;
    if UserRow::find_by_email(conn, email).await?.is_some() {
        // An account with this email exists, but the issuer does not vouch for the address.
        return Err(FieldError::input(
            "idToken",
            "EMAIL_NOT_VERIFIED",
            "an account with this email exists; sign in with it, or verify the email at the provider",
        )
        .into());
    }
    let name: String = claims
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email))
        .trim()
        .chars()
        .take(200)
        .collect();
    let user = NewUser {
        avatar_url: claims
            .picture
            .clone()
            .filter(|url| url.len() <= 2048 && url.starts_with("https://")),
        google_sub: (provider == GOOGLE).then(|| claims.sub.clone()),
        email_confirmed_at: claims.email_is_verified().then(Utc::now),
        ..NewUser::new(email, &name)
    }
    .insert(conn)
    .await?;
    auth::create_personal_workspace(conn, &user).await?;
    Ok(user)
}
