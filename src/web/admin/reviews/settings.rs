//! The tenant's access review settings: onboarding, and whether owners manage reviews
//! of their resources.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::review::FieldError;
use crate::error::AppError;
use crate::service::onboarding::{self, Onboarded};
use crate::web::admin::FormErrors;
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State, flash};

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/onboard.html")]
pub struct OnboardPage {
    chrome: Chrome,
    onboarded: Option<Onboarded>,
}

/// `GET /admin/access-reviews/onboard`: what onboarding enables, and the button.
pub async fn onboard_page(admin: Admin, state: State, chrome: Chrome) -> Result<OnboardPage, AppError> {
    let now = state.clock.now();
    let user = admin.0.user.id.clone();
    let onboarded = state.db(move |conn| onboarding::status_for(conn, &user, now)).await?;
    Ok(OnboardPage { chrome: chrome.in_section(Section::Reviews), onboarded })
}

/// `POST /admin/access-reviews/onboard`
pub async fn onboard(admin: Admin, state: State, session: Session) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let user = admin.0.user.clone();
    let changed = state.db(move |conn| onboarding::onboard(conn, &user, now)).await?;
    flash(
        &session,
        if changed {
            "Access reviews are now enabled in this directory."
        } else {
            "Access reviews were already enabled."
        },
    );
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/admin/access-reviews")).finish())
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/settings.html")]
pub struct SettingsPage {
    chrome: Chrome,
    owners_manage_reviews: bool,
    /// The days after which an open remediation task is overdue, as shown in its field.
    remediation_days: String,
    errors: FormErrors,
}

/// The settings as stored.
async fn settings(state: &State) -> Result<(bool, i64), AppError> {
    state.db(|conn| Ok((onboarding::owners_manage_reviews(conn)?, onboarding::remediation_days(conn)?))).await
}

/// `GET /admin/access-reviews/settings`: the tenant's access review settings.
pub async fn settings_page(_admin: Admin, state: State, chrome: Chrome) -> Result<SettingsPage, AppError> {
    let (owners_manage_reviews, days) = settings(&state).await?;
    Ok(SettingsPage {
        chrome: chrome.in_section(Section::Reviews),
        owners_manage_reviews,
        remediation_days: days.to_string(),
        errors: FormErrors(Vec::new()),
    })
}

/// The remediation form.
#[derive(serde::Deserialize)]
pub struct RemediationForm {
    remediation_days: String,
}

/// `POST /admin/access-reviews/settings/remediation`: the days after which an open
/// remediation task is overdue. A value that cannot be used comes back with what to fix.
pub async fn save_remediation(
    admin: Admin,
    state: State,
    chrome: Chrome,
    session: Session,
    form: web::Form<RemediationForm>,
) -> Result<Either<HttpResponse, (SettingsPage, StatusCode)>, AppError> {
    let entered = form.into_inner().remediation_days;
    let (now, actor, value) = (state.clock.now(), admin.0.user.clone(), entered.clone());
    match state.db(move |conn| onboarding::set_remediation_days(conn, &actor, &value, now)).await? {
        Ok(changed) => {
            flash(
                &session,
                if changed {
                    "Settings saved: the days before a remediation task is overdue."
                } else {
                    "Nothing changed."
                },
            );
            Ok(Either::Left(
                HttpResponse::SeeOther().insert_header(("Location", "/admin/access-reviews/settings")).finish(),
            ))
        }
        Err(message) => {
            let (owners_manage_reviews, _) = settings(&state).await?;
            let page = SettingsPage {
                chrome: chrome.in_section(Section::Reviews),
                owners_manage_reviews,
                // Shown back as entered (escaped), capped so a huge value stays a field.
                remediation_days: entered.chars().take(20).collect(),
                errors: FormErrors(vec![FieldError { field: "remediation_days", message }]),
            };
            Ok(Either::Right((page, StatusCode::BAD_REQUEST)))
        }
    }
}

/// The settings form; an unchecked box is absent from the post.
#[derive(serde::Deserialize)]
pub struct SettingsForm {
    owners_manage_reviews: Option<String>,
}

/// `POST /admin/access-reviews/settings`
pub async fn save_settings(
    admin: Admin,
    state: State,
    session: Session,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let on = match form.owners_manage_reviews.as_deref() {
        None => false,
        Some("on") => true,
        Some(_) => return Err(AppError::BadRequest("The owners setting is either checked or not.".into())),
    };
    let now = state.clock.now();
    let actor = admin.0.user.clone();
    let changed = state.db(move |conn| onboarding::set_owners_manage_reviews(conn, &actor, on, now)).await?;
    flash(
        &session,
        match (changed, on) {
            (false, _) => "Nothing changed.",
            (true, true) => {
                "Settings saved: group and application owners can now create and manage access reviews of what they own."
            }
            (true, false) => "Settings saved: only administrators can create and manage access reviews.",
        },
    );
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/admin/access-reviews/settings")).finish())
}
