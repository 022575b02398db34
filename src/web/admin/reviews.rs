//! Access review pages for admins: onboarding, and the list of review series.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Admin;
use crate::error::AppError;
use crate::service::onboarding::{self, Onboarded};
use crate::web::{Chrome, Section, State, flash};

/// Routes under `/admin/access-reviews`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(index))
        .route("/onboard", web::get().to(onboard_page))
        .route("/onboard", web::post().to(onboard));
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/index.html")]
pub struct ReviewsPage {
    chrome: Chrome,
    onboarded: Option<Onboarded>,
    may_onboard: bool,
}

/// `GET /admin/access-reviews`
pub async fn index(admin: Admin, state: State, chrome: Chrome) -> Result<ReviewsPage, AppError> {
    let now = state.clock.now();
    let user = admin.0.user.id.clone();
    let (onboarded, may_onboard) =
        state.db(move |conn| Ok((onboarding::status(conn)?, onboarding::may_onboard(conn, &user, now)?))).await?;
    Ok(ReviewsPage { chrome: chrome.in_section(Section::Reviews), onboarded, may_onboard })
}

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
    let onboarded = state
        .db(move |conn| {
            if !onboarding::may_onboard(conn, &user, now)? {
                return Err(AppError::Forbidden);
            }
            onboarding::status(conn)
        })
        .await?;
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
