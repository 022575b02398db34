//! The access panel (every signed-in user's landing page) and the health check.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::{Chrome, Section, State, format, panel};
use crate::domain::review::InstanceStatus;
use crate::error::AppError;
use crate::service::directory::{self, Totals};
use crate::web::guard::CurrentUser;

/// "My access reviews": what the signed-in person has to review; admins also see the
/// directory at a glance.
#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    chrome: Chrome,
    first_name: String,
    directory: Option<Totals>,
    /// Showing past reviews instead of current ones.
    past: bool,
    reviews: Vec<ReviewItem>,
    /// How many reviews the other tab holds.
    other_count: usize,
}

/// One review in the panel's list.
pub struct ReviewItem {
    /// Its review page (a delegate's names whom they act for).
    href: String,
    name: String,
    resource: String,
    due: String,
    /// "Overdue", "Due in 2 days", or the status of a past review.
    due_note: String,
    urgent: bool,
    progress: String,
    percent: i64,
    reviewed: i64,
    total: i64,
    status: &'static str,
    /// Why the person reviews it, when it needs saying (fallback reviewers, admins).
    why: Vec<String>,
}

/// The query of the panel: `?view=past` for completed reviews.
#[derive(serde::Deserialize)]
pub struct HomeQuery {
    view: Option<String>,
}

/// `GET /`
pub async fn index(
    state: State,
    chrome: Chrome,
    user: CurrentUser,
    query: web::Query<HomeQuery>,
) -> Result<HomePage, AppError> {
    let past = match query.view.as_deref() {
        None | Some("" | "current") => false,
        Some("past") => true,
        Some(_) => return Err(AppError::BadRequest("Choose current or past reviews.".into())),
    };
    let is_admin = user.0.is_admin;
    let me = user.0.user.id.clone();
    let now = state.clock.now();
    // Counting 100k users costs more than the rest of the page: admins see totals at most
    // a minute old.
    let cached = if is_admin { fresh_counts(&state) } else { None };
    let (counted, mine) = state
        .db(move |conn| {
            let counted = if is_admin && cached.is_none() { Some(directory::totals(conn)?) } else { None };
            let mut mine = crate::service::panel::my_reviews(conn, &me, is_admin)?;
            mine.extend(crate::service::panel::delegated_reviews(conn, &me, now)?);
            Ok((counted, mine))
        })
        .await?;
    if let (Some(counts), Ok(mut slot)) = (counted, state.directory_counts.lock()) {
        *slot = Some((std::time::Instant::now(), counts));
    }
    let directory = cached.or(counted);
    let (current, done) = panel::split_reviews(mine);
    let (shown, other_count) = if past { (done, current.len()) } else { (current, done.len()) };
    let reviews = shown
        .iter()
        .map(|r| {
            let days = (r.instance.end_at - now).num_days();
            let (due_note, urgent) = match r.instance.status {
                InstanceStatus::InProgress if r.instance.end_at <= now => ("Overdue".to_owned(), true),
                InstanceStatus::InProgress if days < 1 => ("Due today".to_owned(), true),
                InstanceStatus::InProgress => (format!("Due in {}", format::count(days, "day", "days")), days <= 3),
                // A stopped review ended then, not at its planned end.
                _ => match crate::domain::occurrence::stopped_at(r.instance.end_at, r.instance.completed_at) {
                    Some(at) => (format!("Stopped on {}", format::date(at)), false),
                    None => (String::new(), false),
                },
            };
            let (href, on_behalf) = match &r.on_behalf_of {
                Some((user, name, until)) => (
                    format!("/reviews/{}/for/{user}", r.instance.id),
                    Some(format!(
                        "On behalf of {}, as their delegate until {}",
                        crate::domain::notify::isolate(name),
                        format::date(crate::domain::delegation::last_day(*until).and_time(chrono::NaiveTime::MIN))
                    )),
                ),
                None => (format!("/reviews/{}", r.instance.id), None),
            };
            ReviewItem {
                href,
                name: r.name.clone(),
                resource: if r.self_review {
                    format!("Your access to {}", r.instance.resource_name)
                } else {
                    r.instance.resource_name.clone()
                },
                due: format::date(r.instance.end_at),
                due_note,
                urgent,
                progress: panel::progress_of(r),
                percent: panel::percent(r.reviewed, r.total),
                reviewed: r.reviewed,
                total: r.total,
                status: r.instance.status.short_label(),
                why: on_behalf
                    .into_iter()
                    .chain(panel::why_you(r.reviewer_kind, &r.instance.resource_name, &r.scope))
                    .collect(),
            }
        })
        .collect();
    let first_name = user.0.user.display_name.split_whitespace().next().unwrap_or_default().to_owned();
    Ok(HomePage { chrome: chrome.in_section(Section::Home), first_name, directory, past, reviews, other_count })
}

/// The directory totals counted less than a minute ago, if any.
fn fresh_counts(state: &State) -> Option<Totals> {
    let slot = state.directory_counts.lock().ok()?;
    slot.as_ref().filter(|(at, _)| at.elapsed() < std::time::Duration::from_secs(60)).map(|(_, counts)| *counts)
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise (for load balancers).
pub async fn healthz(state: State) -> HttpResponse {
    match state.db(crate::service::health::database_answers).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
