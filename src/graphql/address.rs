//! Proving an address: `confirmEmail`, `resendConfirmation`, `requestPasswordReset`,
//! `resetPassword` (the rules are in `services::addresses`).

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use secrecy::SecretString;

use super::{
    context::ContextExt,
    mutation::{UserError, user_errors, write},
    user::User,
};
use crate::services::{addresses, audit::Action};

/// Input of `confirmEmail`.
#[derive(InputObject)]
pub struct ConfirmEmailInput {
    /// The code from the confirmation mail (also the `token` of its link).
    pub token: String,
}

/// Input of `requestPasswordReset`.
#[derive(InputObject)]
pub struct RequestPasswordResetInput {
    /// The account's email address.
    pub email: String,
}

/// Input of `resetPassword`.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The code from the password-reset mail (also the `token` of its link).
    pub token: String,
    /// The new password: at least 12 characters, and not the email address.
    pub new_password: String,
}

/// The result of `confirmEmail`.
#[derive(SimpleObject)]
pub struct ConfirmEmailPayload {
    /// The user whose address is now confirmed, unless there were user errors.
    pub user: Option<User>,
    /// What was wrong with the input (`INVALID_TOKEN`: unknown, expired or used).
    pub user_errors: Vec<UserError>,
}

/// The result of `resendConfirmation`, `requestPasswordReset` and `resetPassword`.
#[derive(SimpleObject)]
pub struct AddressPayload {
    /// True when the request was taken (for `requestPasswordReset`, whether or not an
    /// account has the address: the answer does not tell).
    pub accepted: bool,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

impl AddressPayload {
    fn of(result: (Option<()>, Vec<UserError>)) -> Self {
        AddressPayload {
            accepted: result.0.is_some(),
            user_errors: result.1,
        }
    }
}

/// Address confirmation and password reset.
#[derive(Default)]
pub struct AddressMutation;

#[Object]
impl AddressMutation {
    /// Confirms the address a confirmation mail was sent to (no sign-in needed: the code is
    /// the proof). The code works once, for 48 hours, and only while the account still has
    /// that address.
    async fn confirm_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ConfirmEmailInput,
    ) -> Result<ConfirmEmailPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let token = SecretString::from(input.token);
        let result = addresses::confirm(&mut conn, &token, request.client()).await;
        let (user, user_errors) = user_errors(result).map_err(|e| ctx.error(e))?;
        Ok(ConfirmEmailPayload {
            user: user.map(User),
            user_errors,
        })
    }

    /// Mails the signed-in user a new confirmation code (earlier ones stop working).
    /// `ALREADY_CONFIRMED` when there is nothing to confirm. Limited like other writes.
    async fn resend_confirmation(&self, ctx: &Context<'_>) -> Result<AddressPayload> {
        ctx.caller()?;
        let mailer = ctx.request().authenticator().mail.clone();
        let result = write(ctx, Action::AuthConfirmationResend, async |tx| {
            addresses::resend_confirmation(tx, &mailer).await
        })
        .await?;
        Ok(AddressPayload::of(result))
    }

    /// Mails a password-reset code to the address, when an account has it. The answer is
    /// the same either way; limited per client address and per address (`RATE_LIMITED`).
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RequestPasswordResetInput,
    ) -> Result<AddressPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = addresses::request_reset(&mut conn, request.authenticator(), &input.email, request.client()).await;
        Ok(AddressPayload::of(user_errors(result).map_err(|e| ctx.error(e))?))
    }

    /// Sets a new password with the code of a password-reset mail. The code works once, for
    /// an hour; every session of the account ends, and its address counts as confirmed.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ResetPasswordInput,
    ) -> Result<AddressPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let token = SecretString::from(input.token);
        let result = addresses::reset_password(&mut conn, &token, &input.new_password, request.client()).await;
        Ok(AddressPayload::of(user_errors(result).map_err(|e| ctx.error(e))?))
    }
}
