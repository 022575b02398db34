//! The access panel (every signed-in user's landing page) and the health check.

use actix_web::HttpResponse;
use askama::Template;
use askama_web::WebTemplate;
use diesel::connection::SimpleConnection;

use super::{Chrome, Section, State};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::store;

/// Directory totals an admin sees on the panel.
pub struct DirectoryCounts {
    users: i64,
    groups: i64,
    apps: i64,
}

/// "My access reviews": what the signed-in person has to review; admins also see the
/// directory at a glance.
#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    chrome: Chrome,
    first_name: String,
    directory: Option<DirectoryCounts>,
}

/// `GET /`
pub async fn index(state: State, chrome: Chrome, user: CurrentUser) -> Result<HomePage, AppError> {
    let directory = if user.0.is_admin {
        Some(
            state
                .db(|conn| {
                    Ok(DirectoryCounts {
                        users: store::users::count(conn)?,
                        groups: store::groups::count(conn)?,
                        apps: store::apps::count(conn)?,
                    })
                })
                .await?,
        )
    } else {
        None
    };
    let first_name = user.0.user.display_name.split_whitespace().next().unwrap_or_default().to_owned();
    Ok(HomePage { chrome: chrome.in_section(Section::Home), first_name, directory })
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise (for load balancers).
pub async fn healthz(state: State) -> HttpResponse {
    match state.db(|conn| conn.batch_execute("SELECT 1").map_err(AppError::from)).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
