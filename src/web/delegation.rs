//! "Away? Name a delegate" (`/delegation`): every signed-in person names who reviews on
//! their behalf for a period, sees whom they delegated to and who delegated to them, and
//! ends a delegation early.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::delegation::{DelegationError, MAX_NOTE_LEN};
use crate::domain::review::FieldError;
use crate::error::AppError;
use crate::service::delegation::{self, DelegationLine};
use crate::web::admin::FormErrors;
use crate::web::guard::CurrentUser;
use crate::web::{Chrome, Section, State, flash, format};

/// What the form posts.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DelegationForm {
    /// The delegate's UPN or mail address.
    #[serde(default)]
    pub delegate: String,
    /// First day (`YYYY-MM-DD`).
    #[serde(default)]
    pub first: String,
    /// Last day (`YYYY-MM-DD`).
    #[serde(default)]
    pub last: String,
    #[serde(default)]
    pub note: String,
}

/// A delegation as the page lists it.
pub struct DelegationItem {
    id: i64,
    /// "You → Kim Lee", or "Ana Ruiz → you".
    mine: bool,
    other: String,
    period: String,
    note: String,
    /// "In force", "Planned", "Ended".
    state: &'static str,
    open: bool,
}

impl DelegationItem {
    fn of(line: DelegationLine, me: &str) -> Self {
        let mine = line.row.user_id == me;
        let state = match (line.in_force, line.open) {
            (true, _) => "In force",
            (false, true) => "Planned",
            (false, false) => "Ended",
        };
        Self {
            id: line.row.id,
            other: if mine { line.delegate_name } else { line.user_name },
            period: format!("{} to {}", format::date(line.row.starts_at), line.last_day.format("%Y-%m-%d")),
            note: line.row.note,
            state,
            open: line.open,
            mine,
        }
    }
}

/// The delegation page.
#[derive(Template, WebTemplate)]
#[template(path = "delegation.html")]
pub struct DelegationPage {
    chrome: Chrome,
    items: Vec<DelegationItem>,
    errors: FormErrors,
    form: DelegationForm,
    max_note: usize,
}

async fn render(
    state: &State,
    chrome: Chrome,
    me: String,
    errors: FormErrors,
    form: DelegationForm,
) -> Result<DelegationPage, AppError> {
    let now = state.clock.now();
    let who = me.clone();
    let lines = state.db(move |conn| delegation::list(conn, &who, now)).await?;
    Ok(DelegationPage {
        chrome: chrome.in_section(Section::Home),
        items: lines.into_iter().map(|l| DelegationItem::of(l, &me)).collect(),
        errors,
        form,
        max_note: MAX_NOTE_LEN,
    })
}

/// `GET /delegation`
pub async fn page(me: CurrentUser, state: State, chrome: Chrome) -> Result<DelegationPage, AppError> {
    let today = state.clock.now().date().format("%Y-%m-%d").to_string();
    let form = DelegationForm { first: today, ..DelegationForm::default() };
    render(&state, chrome, me.0.user.id, FormErrors(Vec::new()), form).await
}

/// The form field a refusal is about.
fn field_of(e: &DelegationError) -> &'static str {
    match e {
        DelegationError::NoDelegate
        | DelegationError::Unknown(_)
        | DelegationError::Disabled(_)
        | DelegationError::ToSelf => "delegate",
        DelegationError::BadDate("first day") | DelegationError::Overlaps(_) => "first",
        DelegationError::BadDate(_)
        | DelegationError::EndsBeforeStart
        | DelegationError::InThePast
        | DelegationError::TooLong => "last",
        DelegationError::NoteTooLong => "note",
    }
}

/// `POST /delegation`: names a delegate; the page again with what to fix when refused.
pub async fn create(
    me: CurrentUser,
    state: State,
    chrome: Chrome,
    session: Session,
    form: web::Form<DelegationForm>,
) -> Result<Either<HttpResponse, (DelegationPage, StatusCode)>, AppError> {
    let form = form.into_inner();
    let (now, user) = (state.clock.now(), me.0.user);
    let (actor, to, first, last, note) =
        (user.clone(), form.delegate.clone(), form.first.clone(), form.last.clone(), form.note.clone());
    let done = state.db(move |conn| delegation::delegate(conn, &actor, &to, (&first, &last), &note, now)).await?;
    match done {
        Ok(name) => {
            flash(
                &session,
                &format!(
                    "{name} is your delegate from {} to {}: while it runs, your reviews also appear in their list \
                     and your review mails go to them too.",
                    form.first.trim(),
                    form.last.trim()
                ),
            );
            Ok(Either::Left(HttpResponse::SeeOther().insert_header(("Location", "/delegation")).finish()))
        }
        Err(e) => {
            let errors = FormErrors(vec![FieldError { field: field_of(&e), message: e.message() }]);
            let page = render(&state, chrome, user.id, errors, form).await?;
            Ok(Either::Right((page, StatusCode::BAD_REQUEST)))
        }
    }
}

/// `POST /delegation/{id}/end`: ends one of the person's delegations (made or received).
pub async fn end(
    me: CurrentUser,
    state: State,
    session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: i64 =
        id.into_inner().parse().map_err(|_| AppError::NotFound("There is no such delegation of yours.".into()))?;
    let (now, user) = (state.clock.now(), me.0.user);
    let ended = state.db(move |conn| delegation::end(conn, &user, id, now)).await?;
    flash(
        &session,
        if ended {
            "The delegation is ended: from now on the delegate no longer reviews on the other person's behalf."
        } else {
            "This delegation had ended already; nothing was changed."
        },
    );
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/delegation")).finish())
}
