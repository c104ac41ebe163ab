//! Proving an address (`services::addresses`) through the HTTP endpoint: the confirmation
//! mailed at sign-up, resending it, and resetting a password by mail, with the mail read from
//! the test outbox as a person reads their inbox.

use serde_json::{Value, json};

use crate::support::{
    Api, PASSWORD, TestDb, code,
    mail::{CONFIRM, codes_to},
    token, user_errors,
};

const ME: &str = "{ viewer { email emailConfirmedAt } }";
const RESEND: &str = "mutation { resendConfirmation { accepted userErrors { field code } } }";
const REQUEST_RESET: &str = "mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) { \
    accepted userErrors { field code } } }";
const RESET: &str = "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { \
    accepted userErrors { field code } } }";

async fn confirmed_at(api: &Api, access: &str) -> Value {
    api.run(Some(access), ME, json!({})).await.1["data"]["viewer"]["emailConfirmedAt"].clone()
}

async fn confirm(api: &Api, code: &str) -> Value {
    api.run(None, CONFIRM, json!({ "input": { "token": code } })).await.1["data"]["confirmEmail"].clone()
}

#[tokio::test]
async fn sign_up_mails_a_confirmation_code_that_works_once() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let ada = token(&api.sign_up("ada@example.com").await, "accessToken");
    assert!(confirmed_at(&api, &ada).await.is_null());
    let codes = codes_to("ada@example.com", "Confirm your email address", "cgm_");
    assert_eq!(codes.len(), 1, "one mail at sign-up");

    assert_eq!(
        user_errors(&confirm(&api, "cgm_not-a-code").await),
        vec!["input.token:INVALID_TOKEN"]
    );
    // A new code ends the old one.
    let (_, body) = api.run(Some(&ada), RESEND, json!({})).await;
    assert_eq!(body["data"]["resendConfirmation"]["accepted"], true, "{body}");
    assert_eq!(
        user_errors(&confirm(&api, &codes[0]).await),
        vec!["input.token:INVALID_TOKEN"]
    );
    let latest = codes_to("ada@example.com", "Confirm your email address", "cgm_");
    assert_eq!(latest.len(), 2);
    let confirmed = confirm(&api, &latest[0]).await;
    assert_eq!(confirmed["user"]["email"], "ada@example.com", "{confirmed}");
    assert!(confirmed_at(&api, &ada).await.is_string());
    // Once only; and nothing left to resend.
    assert_eq!(
        user_errors(&confirm(&api, &latest[0]).await),
        vec!["input.token:INVALID_TOKEN"]
    );
    let (_, body) = api.run(Some(&ada), RESEND, json!({})).await;
    assert_eq!(
        user_errors(&body["data"]["resendConfirmation"]),
        vec![":ALREADY_CONFIRMED"]
    );
    let (_, body) = api.run(None, RESEND, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(!db.stores_in_clear(&latest[0]), "codes are stored hashed");
}

#[tokio::test]
async fn a_password_is_reset_by_mail_and_every_session_ends() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let signed_up = api.sign_up("bea@example.com").await;
    let (access, refresh) = (token(&signed_up, "accessToken"), token(&signed_up, "refreshToken"));
    let request = |email: &str| json!({ "input": { "email": email } });
    let reset_codes = || codes_to("bea@example.com", "Reset your password", "cgm_");

    // Known and unknown addresses get the same answer; only an account's address gets mail.
    let (_, known) = api.run(None, REQUEST_RESET, request("bea@example.com")).await;
    let (_, unknown) = api.run(None, REQUEST_RESET, request("nobody@example.com")).await;
    assert_eq!(known, unknown);
    assert_eq!(known["data"]["requestPasswordReset"]["accepted"], true, "{known}");
    assert!(codes_to("nobody@example.com", "Reset", "cgm_").is_empty());
    let code_sent = reset_codes();
    assert_eq!(code_sent.len(), 1);

    // A weak password is refused and does not use the code up.
    let reset = |token: &str, password: &str| json!({ "input": { "token": token, "newPassword": password } });
    let (_, body) = api.run(None, RESET, reset(&code_sent[0], "short")).await;
    assert_eq!(
        user_errors(&body["data"]["resetPassword"]),
        vec!["input.newPassword:WEAK_PASSWORD"]
    );
    let new_password = "another long passphrase";
    let (_, body) = api.run(None, RESET, reset(&code_sent[0], new_password)).await;
    assert_eq!(body["data"]["resetPassword"]["accepted"], true, "{body}");
    let (_, body) = api
        .run(None, RESET, reset(&code_sent[0], "yet another passphrase"))
        .await;
    assert_eq!(
        user_errors(&body["data"]["resetPassword"]),
        vec!["input.token:INVALID_TOKEN"]
    );

    // Whoever held the old password is signed out everywhere; the new one works.
    let (_, body) = api.run(Some(&access), ME, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    assert!(api.refresh(&refresh).await["data"]["refreshSession"]["session"].is_null());
    assert!(api.sign_in("bea@example.com", PASSWORD).await["session"].is_null());
    let signed_in = api.sign_in("bea@example.com", new_password).await;
    // The mail reached the address's owner: it counts as confirmed.
    assert!(confirmed_at(&api, &token(&signed_in, "accessToken")).await.is_string());

    // Requests are limited per address: no inbox is buried in them.
    let mut last = Value::Null;
    for _ in 0..3 {
        last = api.run(None, REQUEST_RESET, request("bea@example.com")).await.1;
    }
    assert_eq!(code(&last), "RATE_LIMITED", "{last}");
    assert_eq!(reset_codes().len(), 3, "two more mails, then none");
}
