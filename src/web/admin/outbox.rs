//! The outbox for admins: mails waiting, sent and failed (with the error), newest first
//! with keyset paging, and each mail readable as it is (or was) sent.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::domain::notify::MailStatus;
use crate::domain::paging::PAGE_SIZE;
use crate::error::AppError;
use crate::notify::{Rendered, render};
use crate::service::rows::{Folder, MailCursor, MailRow};
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State, flash, flash_error, format};

/// The outbox page's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutboxParams {
    /// "pending" (the default), "sent" or "failed".
    #[serde(default, rename = "box")]
    pub folder: String,
    /// Continue with mails older than this id.
    pub after: Option<String>,
    /// Page back to mails newer than this id.
    pub before: Option<String>,
}

impl OutboxParams {
    fn parse(&self) -> Result<(Folder, &'static str, MailCursor), AppError> {
        let (folder, name) = match self.folder.as_str() {
            "" | "pending" => (Folder::Pending, "pending"),
            "sent" => (Folder::Sent, "sent"),
            "failed" => (Folder::Failed, "failed"),
            _ => return Err(AppError::BadRequest("Choose the pending, sent or failed mails.".into())),
        };
        let id = |s: &str| {
            s.parse::<i64>().map_err(|_| {
                AppError::BadRequest("This page link is out of date. Start again from the first page.".into())
            })
        };
        let cursor = match (self.after.as_deref(), self.before.as_deref()) {
            (Some(a), _) => MailCursor::Before(id(a)?),
            (None, Some(b)) => MailCursor::After(id(b)?),
            (None, None) => MailCursor::Newest,
        };
        Ok((folder, name, cursor))
    }
}

/// A mail as the list shows it.
pub struct MailItem {
    id: i64,
    created: String,
    kind: &'static str,
    to: String,
    address: String,
    subject: String,
    /// Where it stands, for the page's choices.
    status: MailStatus,
    /// In words.
    status_label: &'static str,
    attempts: i32,
    /// When it was sent, or when it is tried next.
    when: String,
    error: Option<String>,
}

impl MailItem {
    fn new(m: MailRow) -> Self {
        let when = match (m.status, m.sent_at) {
            (_, Some(at)) => format::datetime(at),
            (MailStatus::Pending, None) => format::datetime(m.next_attempt_at),
            _ => String::new(),
        };
        Self {
            id: m.id,
            created: format::datetime(m.created_at),
            kind: m.kind.label(),
            to: m.recipient_name,
            address: m.recipient_address,
            subject: m.subject,
            status_label: m.status.label(),
            status: m.status,
            attempts: m.attempts,
            when,
            error: m.last_error,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    chrome: Chrome,
    folder: &'static str,
    mails: Vec<MailItem>,
    counts: (i64, i64, i64),
    newer: Option<i64>,
    older: Option<i64>,
    smtp_configured: bool,
}

/// `GET /admin/outbox`: one box of the outbox, newest first, paged.
pub async fn index(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<OutboxParams>,
) -> Result<OutboxPage, AppError> {
    let (folder, name, cursor) = params.parse()?;
    let (mut rows, counts) =
        state.db(move |conn| crate::service::notify::outbox_page(conn, folder, cursor, PAGE_SIZE)).await?;
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    if matches!(cursor, MailCursor::After(_)) {
        rows.reverse();
    }
    let (has_newer, has_older) = match cursor {
        MailCursor::Newest => (false, more),
        MailCursor::Before(_) => (true, more),
        MailCursor::After(_) => (more, true),
    };
    Ok(OutboxPage {
        chrome: chrome.in_section(Section::Outbox),
        folder: name,
        newer: if has_newer { rows.first().map(|m| m.id) } else { None },
        older: if has_older { rows.last().map(|m| m.id) } else { None },
        mails: rows.into_iter().map(MailItem::new).collect(),
        counts,
        smtp_configured: state.mail_configured,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox_mail.html")]
pub struct MailPage {
    chrome: Chrome,
    mail: MailItem,
    message_id: String,
    parts: Rendered,
}

fn mail_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::NotFound("There is no such mail in the outbox.".into()))
}

/// `GET /admin/outbox/{id}`: one mail, its parts as text (the HTML part as its source).
pub async fn show(_admin: Admin, state: State, chrome: Chrome, id: web::Path<String>) -> Result<MailPage, AppError> {
    let not_found = || AppError::NotFound("There is no such mail in the outbox.".into());
    let id = mail_id(&id)?;
    let row = state.db(move |conn| crate::service::notify::outbox_mail(conn, id)).await?.ok_or_else(not_found)?;
    let parts = render(&row, &state.auth.public_url)?;
    Ok(MailPage {
        chrome: chrome.in_section(Section::Outbox),
        message_id: row.message_id.clone(),
        mail: MailItem::new(row),
        parts,
    })
}

/// `POST /admin/outbox/{id}/resend`: "Send again" on a failed mail.
pub async fn resend(
    admin: Admin,
    state: State,
    session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = mail_id(&id)?;
    let (now, actor) = (state.clock.now(), admin.0.user.clone());
    match state.db(move |conn| crate::service::notify::resend(conn, id, &actor, now)).await {
        Ok(()) => flash(&session, "The mail is back in the queue and will be sent again shortly."),
        Err(AppError::Conflict(message)) => flash_error(&session, &message),
        Err(other) => return Err(other),
    }
    Ok(HttpResponse::SeeOther().insert_header(("Location", format!("/admin/outbox/{id}"))).finish())
}
