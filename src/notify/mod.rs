//! Mail: rendering an outbox entry into its text and HTML parts, and the sender worker
//! that delivers pending mails over SMTP with retries and back-off.
//!
//! Delivery is at most once. A mail is claimed (status `Sending`, committed) before it
//! goes to the SMTP server and marked after; if attest stops in between, nobody knows
//! whether the server took it, so the next sender marks it failed with a message saying
//! so instead of sending it a second time.

use std::time::Duration;

use askama::Template;
use chrono::TimeDelta;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

use crate::clock::{Clock, SharedClock};
use crate::config::{SmtpSettings, TlsMode};
use crate::db::{DbConnection, Pool};
use crate::domain::directory::clean_display_text;
use crate::domain::notify::{MailFacts, MailKind, error_summary, header_text, retry_delay};
use crate::error::AppError;
use crate::store;
use crate::store::outbox::MailRow;

/// A mail's parts, ready to send or show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The deep link the mail's button leads to.
    pub link: String,
}

#[derive(Template)]
#[template(path = "mail/mail.txt")]
struct TextPart<'a> {
    m: &'a MailFacts,
    kind: MailKind,
    due: String,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/mail.html")]
struct HtmlPart<'a> {
    m: &'a MailFacts,
    kind: MailKind,
    due: String,
    link: &'a str,
    subject: &'a str,
}

/// Renders a stored mail with links under `base_url` (the public URL, no trailing slash).
pub fn render(row: &MailRow, base_url: &str) -> Result<Rendered, AppError> {
    let kind = row.kind;
    let facts: MailFacts = serde_json::from_str(&row.facts).map_err(AppError::internal)?;
    let link = format!("{}{}", base_url.trim_end_matches('/'), facts.link_path(kind));
    let due = facts.due.format("%Y-%m-%d %H:%M UTC").to_string();
    let text = TextPart { m: &facts, kind, due: due.clone(), link: &link }.render().map_err(AppError::internal)?;
    let html =
        HtmlPart { m: &facts, kind, due, link: &link, subject: &row.subject }.render().map_err(AppError::internal)?;
    Ok(Rendered { subject: row.subject.clone(), text: tidy(&text), html, link })
}

/// Collapses the blank lines the template's tags leave behind into single ones.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = true;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    out
}

/// Runs `build`, turning a panic into an error. The mail library panics on header values
/// it cannot encode (a name with a line break did); one such mail must fail alone, with a
/// message, instead of ending the sender's pass and leaving the mail in `Sending`.
fn without_panic<T>(build: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(build))
        .unwrap_or_else(|_| Err("the mail could not be built: the mail library refused one of its headers".into()))
}

/// What one pass of the sender did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    /// Mails the SMTP server accepted.
    pub sent: usize,
    /// Attempts that failed (retried later or given up).
    pub failed: usize,
}

/// Delivers outbox mails through one SMTP server.
pub struct Sender {
    transport: SmtpTransport,
    from: Mailbox,
    base_url: String,
}

/// How long a claim may stay unmarked before its sender is taken to have stopped.
const ABANDONED_AFTER: TimeDelta = TimeDelta::minutes(15);

/// Mails looked at per pass.
const BATCH: i64 = 100;

impl Sender {
    /// A sender for `smtp`, with links under `base_url`. The error says which setting is wrong.
    pub fn new(smtp: &SmtpSettings, base_url: &str) -> Result<Self, String> {
        let from: Mailbox =
            smtp.from.parse().map_err(|e| format!("ATTEST_MAIL_FROM: '{}' is not a mail address ({e})", smtp.from))?;
        let builder = match smtp.tls {
            TlsMode::None => SmtpTransport::builder_dangerous(smtp.host.as_str()),
            TlsMode::StartTls => SmtpTransport::starttls_relay(&smtp.host)
                .map_err(|e| format!("ATTEST_SMTP_HOST: cannot use '{}' with TLS ({e})", smtp.host))?,
            TlsMode::Tls => SmtpTransport::relay(&smtp.host)
                .map_err(|e| format!("ATTEST_SMTP_HOST: cannot use '{}' with TLS ({e})", smtp.host))?,
        };
        // Say hello with the portal's own host name: some servers refuse "localhost".
        let hello = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
        let hello = hello.split(['/', ':']).next().filter(|h| !h.is_empty()).unwrap_or("localhost");
        let mut builder = builder
            .port(smtp.port)
            .hello_name(ClientId::Domain(hello.to_owned()))
            .timeout(Some(Duration::from_secs(30)));
        if let Some(user) = &smtp.user {
            builder = builder.credentials(Credentials::new(user.clone(), smtp.password.clone().unwrap_or_default()));
        }
        Ok(Self { transport: builder.build(), from, base_url: base_url.trim_end_matches('/').to_owned() })
    }

    /// Builds the message of an outbox row. Header values are cleaned here, whatever the
    /// row holds (rows written before names were cleaned on the way in, or hostile data
    /// put in the database some other way): a line break in a name must never start a
    /// header of its own.
    fn message(&self, row: &MailRow) -> Result<Message, String> {
        let parts = render(row, &self.base_url).map_err(|e| format!("the mail could not be rendered: {e}"))?;
        let name = clean_display_text(&row.recipient_name);
        let address = row.recipient_address.trim();
        let to = Mailbox::new(
            (!name.is_empty()).then_some(name),
            address.parse().map_err(|e| format!("'{}' is not a mail address ({e})", header_text(address)))?,
        );
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_text(&parts.subject))
            .message_id(Some(header_text(&row.message_id)))
            .multipart(MultiPart::alternative_plain_html(parts.text, parts.html))
            .map_err(|e| format!("the mail could not be built: {e}"))
    }

    /// [`Self::message`], with a panic turned into an error (see [`without_panic`]).
    fn message_or_error(&self, row: &MailRow) -> Result<Message, String> {
        without_panic(|| self.message(row))
    }

    /// One pass: gives up on mails whose sender stopped mid-send, then sends the pending
    /// mails that are due, oldest first. A failure the server calls permanent fails the
    /// mail for good; any other failure is retried after a back-off and ends the pass (the
    /// server is likely down, and the other mails should not spend their attempts on it).
    ///
    /// Each claim and outcome carries the clock's time of that moment, not of the pass's
    /// start: a slow pass must not make its own later claims look abandoned to another
    /// attest process.
    pub fn send_due(&self, conn: &mut DbConnection, clock: &dyn Clock) -> Result<SendReport, AppError> {
        let now = clock.now();
        let abandoned = store::outbox::fail_abandoned(
            conn,
            now - ABANDONED_AFTER,
            "attest stopped while handing this mail to the mail server, so it may or may not have been \
             delivered; it is not sent again automatically",
        )?;
        if abandoned > 0 {
            tracing::warn!(mails = abandoned, "mails interrupted while sending were marked failed");
        }
        let mut report = SendReport::default();
        for id in store::outbox::due(conn, now, BATCH)? {
            let now = clock.now();
            if !store::outbox::claim(conn, id, now)? {
                continue;
            }
            let Some(row) = store::outbox::get(conn, id)? else { continue };
            let message = match self.message_or_error(&row) {
                Ok(m) => m,
                Err(error) => {
                    tracing::warn!(mail = id, error = %error, "a mail could not be built; it is failed, the others go on");
                    store::outbox::mark_attempt_failed(conn, id, &error_summary(&error), None)?;
                    report.failed += 1;
                    continue;
                }
            };
            let result = self.transport.send(&message);
            let now = clock.now();
            match result {
                Ok(_) => {
                    store::outbox::mark_sent(conn, id, now)?;
                    report.sent += 1;
                }
                Err(err) => {
                    report.failed += 1;
                    let error = error_summary(&err.to_string());
                    let retry_at = if err.is_permanent() { None } else { retry_delay(row.attempts).map(|d| now + d) };
                    store::outbox::mark_attempt_failed(conn, id, &error, retry_at)?;
                    tracing::warn!(mail = id, attempt = row.attempts, retry = retry_at.is_some(), error = %error, "a mail could not be sent");
                    if !err.is_permanent() {
                        break;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Runs the sender in the background of the server, every `interval`. A plain tokio task
/// (not actix's thread-local one), so it also runs under a test's runtime and ends with it.
pub fn spawn(pool: Pool, clock: SharedClock, sender: Sender, interval: Duration) {
    let sender = std::sync::Arc::new(sender);
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            let pool = pool.clone();
            let sender = sender.clone();
            let clock = clock.clone();
            let result = tokio::task::spawn_blocking(move || -> Result<SendReport, AppError> {
                let mut conn = pool.get()?;
                sender.send_due(&mut conn, clock.as_ref())
            })
            .await;
            match result {
                Ok(Ok(report)) if report != SendReport::default() => {
                    tracing::info!(sent = report.sent, failed = report.failed, "mail sender pass");
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "mail sender pass failed"),
                Err(err) => tracing::error!(error = %err, "mail sender pass could not run"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_building_a_mail_is_an_error() {
        assert_eq!(without_panic(|| Ok::<_, String>(1)), Ok(1));
        assert_eq!(without_panic(|| Err::<u8, _>("no".to_owned())), Err("no".to_owned()));
        let err = without_panic::<u8>(|| panic!("writing `Mailbox` returned an error")).unwrap_err();
        assert!(err.starts_with("the mail could not be built"), "{err}");
    }
}
