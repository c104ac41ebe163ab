//! Outgoing mail: address confirmations, password resets and invitations. Sent over SMTP
//! (`CHATGRAPH_SMTP_URL`, through `lettre`) when configured; otherwise, in development, each
//! mail is written to the log and, as a `.eml` file, to a local outbox directory that tests
//! and developers read. Mail goes out after the write that asks for it has committed; a mail
//! that fails is logged (never with its text) and can be asked for again.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

/// Where mail goes.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Sends chatgraph's mail.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    app_url: String,
}

/// One mail: to whom, about what, and its plain text.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl Mailer {
    /// SMTP at `smtp_url` (`smtp://user:pass@host:587` with STARTTLS, `smtps://…:465`), or,
    /// without it, the outbox directory `outbox`. Mail comes from `from`; links in it point
    /// at `app_url`, the front end users open.
    pub fn new(smtp_url: Option<&str>, outbox: &Path, from: &str, app_url: &str) -> anyhow::Result<Mailer> {
        let from: Mailbox = from.parse().context("CHATGRAPH_MAIL_FROM is not a mail address")?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("CHATGRAPH_SMTP_URL is not a valid SMTP URL")?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(outbox)
                    .with_context(|| format!("creating the mail outbox {}", outbox.display()))?;
                Transport::Outbox(AsyncFileTransport::new(outbox), outbox.to_owned())
            }
        };
        Ok(Mailer {
            transport,
            from,
            app_url: app_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The outbox directory, when mail is not sent over SMTP.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Outbox(_, dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// The front end's page `path` with `token` as its query (`…/reset-password?token=…`).
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}/{path}?token={token}", self.app_url)
    }

    /// Sends `mail`; a failure is logged (without the mail's text), not returned: the write
    /// that asked for it stands, and the mail can be asked for again. Over SMTP the mail is
    /// handed to a background task, so the SMTP server's latency never shows in an answer
    /// (it would tell whether `requestPasswordReset` found an account); the outbox is
    /// written at once.
    pub async fn send(&self, mail: Mail) {
        let message = match self.message(&mail) {
            Ok(message) => message,
            Err(error) => return failed(&mail, &error),
        };
        match &self.transport {
            Transport::Smtp(smtp) => {
                let smtp = smtp.clone();
                tokio::spawn(async move {
                    if let Err(error) = smtp.send(message).await {
                        failed(&mail, &anyhow::Error::new(error).context("SMTP"));
                    }
                });
            }
            Transport::Outbox(outbox, dir) => match outbox.send(message).await {
                // Development only (no SMTP configured): the mail, links included, in the log.
                Ok(id) => tracing::info!(
                    mail.to = mail.to,
                    mail.subject = mail.subject,
                    mail.file = %dir.join(format!("{id}.eml")).display(),
                    "mail written to the outbox (no CHATGRAPH_SMTP_URL):\n{}",
                    mail.body
                ),
                Err(error) => failed(&mail, &anyhow::Error::new(error).context("writing to the outbox")),
            },
        }
    }

    fn message(&self, mail: &Mail) -> anyhow::Result<Message> {
        let to: Mailbox = mail.to.parse().context("the recipient is not a mail address")?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .context("building the mail")
    }
}

/// Logs a mail that could not be sent (never its text: it may carry a code).
fn failed(mail: &Mail, error: &anyhow::Error) {
    tracing::warn!(
        mail.subject = mail.subject,
        error = format!("{error:#}"),
        "sending a mail failed"
    );
}
