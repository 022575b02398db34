//! The audit log for admins: events newest first with filters and keyset paging, the
//! chain's head, and the same events as a streamed CSV file.

use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use std::collections::HashMap;

use crate::domain::audit::{ACTIONS, AuditFilter, AuditParams, DetailLine, EventPage, action_label, describe};
use crate::domain::paging::PAGE_SIZE;
use crate::domain::review::FieldError;
use crate::error::AppError;
use crate::service::exports;
use crate::service::rows::{EventCursor, EventFilter, EventRow, NamedObject};
use crate::web::admin::FormErrors;
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State, format, stream};

/// How many characters of an event's hash the table shows (the full hash is in its title
/// and in the CSV).
const HASH_PREFIX: usize = 12;

/// What an event is about, as the table names it.
pub struct TargetView {
    /// The kind in words ("Decision", "Review occurrence").
    kind: &'static str,
    /// Its name ("Ada Lovelace"), or the id when it no longer exists.
    name: String,
    /// Where it belongs ("Salesforce access by managers · Salesforce, occurrence 1").
    context: String,
    /// Its page, when it has one.
    href: Option<String>,
}

impl TargetView {
    fn new(target_type: &str, id: &str, names: &HashMap<String, NamedObject>) -> Self {
        let kind = match target_type {
            "AccessReviewDecisionItem" => "Decision",
            "AccessReviewInstance" => "Review occurrence",
            "AccessReviewDefinition" => "Review series",
            "User" => "User",
            "OutboxMail" => "Mail",
            "Directory" => "Directory",
            _ => "Other",
        };
        let results =
            |n: &NamedObject| format!("/admin/access-reviews/{}/instances/{}", n.definition_id, n.instance_id);
        let occurrence = |n: &NamedObject| {
            format!("{} · {}, occurrence {}", n.review, n.resource, i64::from(n.occurrence).saturating_add(1))
        };
        match (names.get(id), target_type) {
            (Some(n), _) if n.kind == "Item" => {
                Self { kind, name: n.name.clone(), context: occurrence(n), href: Some(results(n)) }
            }
            (Some(n), _) if n.kind == "Instance" => {
                Self { kind, name: n.review.clone(), context: occurrence(n), href: Some(results(n)) }
            }
            (Some(n), _) if n.kind == "Definition" => Self {
                kind,
                name: n.name.clone(),
                context: String::new(),
                href: Some(format!("/admin/access-reviews/{}", n.definition_id)),
            },
            (Some(n), _) if n.kind == "User" => {
                Self { kind, name: n.name.clone(), context: n.review.clone(), href: Some(format!("/admin/users/{id}")) }
            }
            (_, "OutboxMail") => Self {
                kind,
                name: format!("Mail {id}"),
                context: String::new(),
                href: Some(format!("/admin/outbox/{id}")),
            },
            (_, "Directory") => Self { kind, name: "The directory".into(), context: String::new(), href: None },
            // Deleted since (a guest deleted after a review, say): the id is all there is.
            _ => Self { kind, name: id.to_owned(), context: "no longer exists".into(), href: None },
        }
    }
}

/// An event as the table shows it.
pub struct EventItem {
    id: i64,
    at: String,
    actor_id: Option<String>,
    actor_name: String,
    action: String,
    action_label: String,
    target: TargetView,
    target_id: String,
    details: Vec<DetailLine>,
    hash: String,
    hash_prefix: String,
}

impl EventItem {
    fn new(e: EventRow, names: &HashMap<String, NamedObject>) -> Self {
        Self {
            id: e.id,
            at: format::datetime_seconds(e.at),
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            action_label: action_label(&e.action).to_owned(),
            action: e.action,
            target: TargetView::new(&e.target_type, &e.target_id, names),
            target_id: e.target_id,
            details: describe(&e.details),
            hash_prefix: e.hash.chars().take(HASH_PREFIX).collect(),
            hash: e.hash,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    chrome: Chrome,
    params: AuditParams,
    errors: FormErrors,
    actions: &'static [(&'static str, &'static str)],
    events: Vec<EventItem>,
    /// The filters as a query string, for page links and the CSV link.
    query: String,
    /// Id to page to newer events from.
    newer: Option<i64>,
    /// Id to page to older events from.
    older: Option<i64>,
    /// The newest event's id and hash.
    head: Option<(i64, String)>,
    filtered: bool,
}

impl AuditPage {
    /// "?filters&" or "?" before a paging parameter.
    fn page_prefix(&self) -> String {
        if self.query.is_empty() { "?".to_owned() } else { format!("?{}&", self.query) }
    }
}

fn store_filter(f: &AuditFilter) -> EventFilter {
    EventFilter {
        actor: f.actor.clone(),
        action: f.action.clone(),
        target: f.target.clone(),
        from: f.from_time(),
        until: f.until_time(),
    }
}

fn form_again(chrome: Chrome, params: AuditParams, errors: Vec<FieldError>) -> (AuditPage, StatusCode) {
    let query = params.filter_query();
    (
        AuditPage {
            chrome: chrome.in_section(Section::Audit),
            params,
            errors: FormErrors(errors),
            actions: ACTIONS,
            events: Vec::new(),
            query,
            newer: None,
            older: None,
            head: None,
            filtered: true,
        },
        StatusCode::BAD_REQUEST,
    )
}

/// `GET /admin/audit`: the audit log, newest first, filtered and paged.
pub async fn index(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<AuditParams>,
) -> Result<(AuditPage, StatusCode), AppError> {
    let params = params.into_inner();
    let (filter, page) = match params.validate() {
        Ok(valid) => valid,
        Err(errors) => return Ok(form_again(chrome, params, errors)),
    };
    let filtered = filter != AuditFilter::default();
    let store_filter = store_filter(&filter);
    let cursor = match page {
        EventPage::Newest => EventCursor::Newest,
        EventPage::OlderThan(id) => EventCursor::Before(id),
        EventPage::NewerThan(id) => EventCursor::After(id),
    };
    let found = state.db(move |conn| crate::service::audit::page(conn, &store_filter, cursor, PAGE_SIZE)).await?;
    let (mut rows, names, head) = (found.events, found.names, found.head);
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    if matches!(cursor, EventCursor::After(_)) {
        rows.reverse();
    }
    let (has_newer, has_older) = match cursor {
        EventCursor::Newest => (false, more),
        EventCursor::Before(_) => (true, more),
        EventCursor::After(_) => (more, true),
    };
    let newer = if has_newer { rows.first().map(|e| e.id) } else { None };
    let older = if has_older { rows.last().map(|e| e.id) } else { None };
    let query = params.filter_query();
    Ok((
        AuditPage {
            chrome: chrome.in_section(Section::Audit),
            params,
            errors: FormErrors(Vec::new()),
            actions: ACTIONS,
            events: rows.into_iter().map(|e| EventItem::new(e, &names)).collect(),
            query,
            newer,
            older,
            head,
            filtered,
        },
        StatusCode::OK,
    ))
}

/// `GET /admin/audit.csv`: the events the same filters select, oldest first, streamed.
pub async fn csv(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<AuditParams>,
) -> Result<Either<HttpResponse, (AuditPage, StatusCode)>, AppError> {
    let params = params.into_inner();
    let filter = match params.validate() {
        Ok((filter, _)) => filter,
        Err(errors) => return Ok(Either::Right(form_again(chrome, params, errors))),
    };
    let (conn, ()) = stream::checked(&state.pool, |_| Ok(())).await?;
    let file = format!("attest-audit-{}.csv", state.clock.now().format("%Y-%m-%d"));
    let filter = store_filter(&filter);
    Ok(Either::Left(stream::csv(conn, &file, move |conn, out| exports::audit_csv(conn, &filter, out))))
}
