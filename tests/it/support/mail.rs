//! The mail the test servers send: without SMTP, chatgraph writes each mail as a `.eml` file
//! to its outbox, which for tests is one directory per test process. Tests read the codes
//! (confirmation, password reset, invitation) from there, as a person reads their inbox.

use std::path::PathBuf;

use serde_json::json;

use super::Api;

/// The outbox of this test process's servers.
pub fn outbox() -> PathBuf {
    std::env::temp_dir().join(format!("chatgraph-test-outbox-{}", std::process::id()))
}

/// One mail as written to the outbox.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    pub body: String,
}

/// The mails to `address`, newest first (body decoded from quoted-printable).
pub fn mails_to(address: &str) -> Vec<Received> {
    let Ok(entries) = std::fs::read_dir(outbox()) else {
        return Vec::new();
    };
    let mut mails: Vec<(std::time::SystemTime, Received)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            let text = std::fs::read_to_string(entry.path()).ok()?;
            let (head, body) = text.split_once("\r\n\r\n")?;
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_owned())
            };
            let to = header("To: ")?;
            if !to.eq_ignore_ascii_case(address)
                && !to.to_lowercase().contains(&format!("<{}>", address.to_lowercase()))
            {
                return None;
            }
            let body = match header("Content-Transfer-Encoding: ").as_deref() {
                Some("quoted-printable") => body.replace("=\r\n", "").replace("=3D", "="),
                _ => body.to_owned(),
            };
            Some((
                modified,
                Received {
                    subject: header("Subject: ").unwrap_or_default(),
                    body,
                },
            ))
        })
        .collect();
    mails.sort_by_key(|mail| std::cmp::Reverse(mail.0));
    mails.into_iter().map(|(_, mail)| mail).collect()
}

/// The codes starting with `prefix` (`cgm_` mailed tokens, `cgi_` invitations) in the mails
/// to `address` whose subject starts with `subject`, newest first.
pub fn codes_to(address: &str, subject: &str, prefix: &str) -> Vec<String> {
    mails_to(address)
        .into_iter()
        .filter(|m| m.subject.starts_with(subject))
        .filter_map(|m| {
            let start = m.body.find(&format!("code to the app: {prefix}"))? + "code to the app: ".len();
            let code: String = m.body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            Some(code)
        })
        .collect()
}

pub const CONFIRM: &str =
    "mutation($input: ConfirmEmailInput!) { confirmEmail(input: $input) { user { email } userErrors { field code } } }";

impl Api {
    /// Confirms `address` with the code of its confirmation mail (several test servers of
    /// one process may have mailed it: the first code this server knows is the one).
    pub async fn confirm(&self, address: &str) {
        for code in codes_to(address, "Confirm your email", "cgm_") {
            let (_, body) = self.run(None, CONFIRM, json!({ "input": { "token": code } })).await;
            if body["data"]["confirmEmail"]["user"].is_object() {
                return;
            }
        }
        panic!("no confirmation mail to {address} that this server accepts");
    }

    /// Signs up `address` and confirms it; returns the `signUp` payload.
    pub async fn sign_up_confirmed(&self, address: &str) -> serde_json::Value {
        let payload = self.sign_up(address).await;
        self.confirm(address).await;
        payload
    }
}
