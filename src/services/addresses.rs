//! Proving that a user holds their address. Sign-up mails a confirmation token
//! (`confirmEmail`; `resendConfirmation` for a new one); a password is reset through a token
//! mailed to the address (`requestPasswordReset`, `resetPassword`), which also proves it.
//! Tokens are single-use, expire, are stored as SHA-256 only, and a new one of a purpose ends
//! the user's older ones. A confirmed address is what accepting an invitation and linking an
//! OpenID Connect identity by email require.
//!
//! `requestPasswordReset` answers the same whether or not an account has the address (no
//! account enumeration); mail goes out only after the transaction that stored its token
//! committed.

use std::sync::Arc;

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{
    audit::{Action, AuditEvent},
    auth::{Authenticator, ClientInfo, is_active},
    auth_limits,
    write::{RecordIn, Tx},
};
use crate::{
    auth::{
        password,
        tokens::{self, TokenKind},
    },
    db::new_id,
    error::{AppError, AppResult, FieldError},
    mail::{Mail, Mailer},
    models::{
        email_token::{EmailTokenRow, NewEmailToken, Purpose},
        session::SessionRow,
        user::{UserPatch, UserRow},
    },
};

/// How long a confirmation token is valid.
pub const CONFIRMATION_LIFETIME_HOURS: i64 = 48;
/// How long a password-reset token is valid.
pub const RESET_LIFETIME_MINUTES: i64 = 60;

/// Stores a new token of `purpose` for `user`'s current address (ending their older ones)
/// and returns it; it is to be mailed once the transaction commits.
pub async fn issue(conn: &mut AsyncPgConnection, user: &UserRow, purpose: Purpose) -> AppResult<SecretString> {
    EmailTokenRow::end_all(conn, user.id, purpose).await?;
    let token = tokens::generate(TokenKind::Mail);
    let lifetime = match purpose {
        Purpose::ConfirmEmail => Duration::hours(CONFIRMATION_LIFETIME_HOURS),
        Purpose::ResetPassword => Duration::minutes(RESET_LIFETIME_MINUTES),
    };
    NewEmailToken {
        id: new_id(),
        user_id: user.id,
        purpose,
        email: user.email.clone(),
        token_hash: token.hash,
        expires_at: Utc::now() + lifetime,
    }
    .insert(conn)
    .await?;
    Ok(token.secret)
}

/// The mail that carries a token of `purpose` to `to`.
pub fn mail(mailer: &Mailer, purpose: Purpose, to: &str, token: &SecretString) -> Mail {
    let token = token.expose_secret();
    let (subject, page, text, lifetime) = match purpose {
        Purpose::ConfirmEmail => (
            "Confirm your email address",
            "confirm-email",
            "Confirm that this address is yours",
            format!("{CONFIRMATION_LIFETIME_HOURS} hours"),
        ),
        Purpose::ResetPassword => (
            "Reset your password",
            "reset-password",
            "Choose a new password",
            format!("{RESET_LIFETIME_MINUTES} minutes"),
        ),
    };
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        body: format!(
            "{text}:\n\n{link}\n\nor give this code to the app: {token}\n\nIt works once, for {lifetime}. \
             If you did not ask for this, ignore this mail.\n",
            link = mailer.link(page, token),
        ),
    }
}

fn invalid_token() -> AppError {
    FieldError::input(
        "token",
        "INVALID_TOKEN",
        "the code does not exist, has expired, or was used already",
    )
    .into()
}

/// Confirms the address a confirmation `token` was sent to; the account must still have
/// that address. Returns the user.
pub async fn confirm(conn: &mut AsyncPgConnection, token: &SecretString, client: &ClientInfo) -> AppResult<UserRow> {
    let hash = tokens::hash(token.expose_secret().trim());
    conn.transaction::<_, AppError, _>(async |conn| {
        let user = redeem(conn, Purpose::ConfirmEmail, &hash).await?;
        let user = confirmed(conn, user).await?;
        AuditEvent::new(Action::AuthEmailConfirm)
            .by_user(Some(user.id))
            .record(conn, client)
            .await?;
        Ok(user)
    })
    .await
}

/// Uses the live token of `purpose` with this hash; its user, who must still be active and
/// have the address it was sent to (INVALID_TOKEN otherwise).
async fn redeem(conn: &mut AsyncPgConnection, purpose: Purpose, hash: &[u8]) -> AppResult<UserRow> {
    let redeemed = EmailTokenRow::redeem(conn, purpose, hash)
        .await?
        .ok_or_else(invalid_token)?;
    UserRow::find(conn, redeemed.user_id)
        .await?
        .filter(|u| is_active(u) && u.email.eq_ignore_ascii_case(&redeemed.email))
        .ok_or_else(invalid_token)
}

/// `user` with their address marked confirmed (now, unless it was already).
async fn confirmed(conn: &mut AsyncPgConnection, user: UserRow) -> AppResult<UserRow> {
    if user.email_confirmed_at.is_some() {
        return Ok(user);
    }
    Ok(UserPatch {
        email_confirmed_at: Some(Some(Utc::now())),
        ..Default::default()
    }
    .apply(conn, user.id)
    .await?)
}

/// Mails the signed-in caller a new confirmation token (their older ones end).
pub async fn resend_confirmation(tx: &mut Tx, mailer: &Arc<Mailer>) -> AppResult<()> {
    let caller = tx.account_holder()?;
    let user = UserRow::find(tx.conn(), caller.user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.email_confirmed_at.is_some() {
        return Err(FieldError::request("ALREADY_CONFIRMED", "your address is confirmed already").into());
    }
    let token = issue(tx.conn(), &user, Purpose::ConfirmEmail).await?;
    tx.event().record_in(tx).await?;
    let (mailer, mail) = (mailer.clone(), mail(mailer, Purpose::ConfirmEmail, &user.email, &token));
    tx.after_commit(async move { mailer.send(mail).await });
    Ok(())
}

/// Mails a password-reset token to `email` when an active account has it; answers the same
/// either way. Limited per client address and per email (RATE_LIMITED).
pub async fn request_reset(
    conn: &mut AsyncPgConnection,
    auth: &Authenticator,
    email: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    super::auth::validate_email(email.trim())?;
    auth_limits::count_reset_request(conn, auth.limits, email, client).await?;
    let issued = conn
        .transaction::<_, AppError, _>(async |conn| {
            let Some(user) = UserRow::find_by_email(conn, email.trim()).await?.filter(is_active) else {
                return Ok(None);
            };
            let token = issue(conn, &user, Purpose::ResetPassword).await?;
            AuditEvent::new(Action::AuthPasswordResetRequest)
                .by_user(Some(user.id))
                .record(conn, client)
                .await?;
            Ok(Some((user.email, token)))
        })
        .await?;
    if let Some((to, token)) = issued {
        auth.mail
            .send(mail(&auth.mail, Purpose::ResetPassword, &to, &token))
            .await;
    }
    Ok(())
}

/// Sets a new password with a reset `token`: the token is used up, every session of the
/// account is revoked (whoever knew the old password is signed out), and the address counts
/// as confirmed (the mail reached its owner).
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    token: &SecretString,
    new_password: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    let hash = tokens::hash(token.expose_secret().trim());
    // A weak password rolls the redemption back: the token stays usable.
    let user = conn
        .transaction::<_, AppError, _>(async |conn| {
            let user = redeem(conn, Purpose::ResetPassword, &hash).await?;
            if let Err(AppError::BadUserInput(message)) = password::check_policy(new_password, &user.email) {
                return Err(FieldError::input("newPassword", "WEAK_PASSWORD", message).into());
            }
            Ok(user)
        })
        .await?;
    let password_hash = password::hash_async(new_password).await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let user = confirmed(conn, user).await?;
        UserPatch {
            password_hash: Some(Some(password_hash)),
            ..Default::default()
        }
        .apply(conn, user.id)
        .await?;
        let revoked = SessionRow::revoke_all(conn, user.id).await?;
        EmailTokenRow::end_all(conn, user.id, Purpose::ResetPassword).await?;
        AuditEvent::new(Action::AuthPasswordReset)
            .by_user(Some(user.id))
            .details(json!({ "revokedSessions": revoked }))
            .record(conn, client)
            .await?;
        Ok(())
    })
    .await
}
