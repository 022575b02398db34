//! The landing page and the health check.

use actix_web::HttpResponse;
use askama::Template;
use askama_web::WebTemplate;
use diesel::connection::SimpleConnection;

use super::{Chrome, Section, State};
use crate::error::AppError;
use crate::store;

/// The landing page: what is in the directory, and where to go.
#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    chrome: Chrome,
    users: i64,
    groups: i64,
    apps: i64,
}

/// `GET /`
pub async fn index(state: State, chrome: Chrome) -> Result<HomePage, AppError> {
    let (users, groups, apps) = state
        .db(|conn| Ok((store::users::count(conn)?, store::groups::count(conn)?, store::apps::count(conn)?)))
        .await?;
    Ok(HomePage { chrome: chrome.in_section(Section::Home), users, groups, apps })
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
