//! CSV downloads of review results: one review's decisions, and the review-history report
//! across reviews with its form.

use actix_web::http::StatusCode;
use actix_web::{Either, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use openidconnect::url::form_urlencoded;

use crate::domain::decision::Decision;
use crate::domain::directory::ObjectId;
use crate::domain::export::{HistoryFilter, HistoryParams};
use crate::domain::review::FieldError;
use crate::domain::review::{InstanceStatus, ResourceKind};
use crate::error::AppError;
use crate::service::exports;
use crate::service::reviews::managed;
use crate::web::admin::FormErrors;
use crate::web::format;
use crate::web::guard::{Admin, ReviewManager};
use crate::web::{Chrome, Section, State, stream};

/// `text` reduced to letters, digits and dashes, for a file name.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(60).collect();
    if out.is_empty() { "review".to_owned() } else { out }
}

/// `GET /admin/access-reviews/{id}/instances/{instance}/results.csv`: the decisions of one
/// review as CSV, streamed, while it runs and after. Admins, and owners who manage the
/// series; other series answer 404.
pub async fn results_csv(
    manager: ReviewManager,
    state: State,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    let (definition, instance) = path.into_inner();
    let (definition, instance) = (definition.into_string(), instance.into_string());
    let (conn, (i, d)) = stream::checked(&state.pool, move |conn| {
        let d = managed(conn, &manager.scope, &definition)?;
        let i = crate::service::results::instance(conn, &d, &instance)?;
        if i.status == InstanceStatus::NotStarted {
            return Err(AppError::Conflict(
                "This review has not started yet, so it has no results to download.".into(),
            ));
        }
        Ok((i, d))
    })
    .await?;
    let file = format!("{}-{}-{}.csv", slug(&d.display_name), slug(&i.resource_name), format::date(i.start_at));
    Ok(stream::csv(conn, &file, move |conn, out| exports::results_csv(conn, &i, &d, out)))
}

/// A matching review on the history page.
pub struct HistoryItem {
    review: String,
    series_id: String,
    instance_id: String,
    resource: String,
    kind: &'static str,
    start: String,
    end: String,
    status: String,
    total: i32,
}

/// How many matching reviews the history page lists.
const PREVIEW: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "admin/history.html")]
pub struct HistoryPage {
    chrome: Chrome,
    params: HistoryParams,
    errors: FormErrors,
    kinds: Vec<(&'static str, &'static str)>,
    results: Vec<(&'static str, &'static str)>,
    /// The reviews the report covers (first [`PREVIEW`]), once the form was sent.
    items: Option<Vec<HistoryItem>>,
    /// The query string of the CSV link.
    query: String,
}

impl HistoryPage {
    fn new(chrome: Chrome, params: HistoryParams, errors: Vec<FieldError>, items: Option<Vec<HistoryItem>>) -> Self {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("from", &params.from).append_pair("to", &params.to);
        for k in &params.kinds {
            query.append_pair("kind", k);
        }
        for r in &params.results {
            query.append_pair("result", r);
        }
        Self {
            chrome: chrome.in_section(Section::Reviews),
            errors: FormErrors(errors),
            kinds: ResourceKind::ALL.iter().map(|k| (k.report_name(), k.plural_label())).collect(),
            results: Decision::ALL.iter().map(|d| (d.as_str(), d.label())).collect(),
            items,
            query: query.finish(),
            params,
        }
    }

    /// Whether the checkbox `value` of `list` is checked.
    fn checked(&self, list: &str, value: &str) -> bool {
        self.params.has(list, value)
    }

    /// "the page limit was reached".
    fn capped(&self) -> bool {
        self.items.as_ref().is_some_and(|i| i.len() as i64 >= PREVIEW)
    }
}

fn history_params(req: &HttpRequest) -> HistoryParams {
    HistoryParams::from_pairs(form_urlencoded::parse(req.query_string().as_bytes()))
}

/// `GET /admin/access-reviews/history`: the review-history report's form and, once sent,
/// the reviews it covers. Bad input gets the form back with what to fix.
pub async fn history_page(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    req: HttpRequest,
) -> Result<(HistoryPage, StatusCode), AppError> {
    let params = history_params(&req);
    let filter = match params.validate() {
        Ok(filter) => filter,
        Err(errors) => return Ok((HistoryPage::new(chrome, params, errors, None), StatusCode::BAD_REQUEST)),
    };
    let items = if params.submitted {
        let found = state.db(move |conn| exports::history_preview(conn, &filter, PREVIEW)).await?;
        Some(
            found
                .into_iter()
                .map(|(i, d)| HistoryItem {
                    kind: ResourceKind::of_scope(d.scope_kind).plural_label(),
                    review: d.display_name,
                    series_id: d.id,
                    instance_id: i.id,
                    resource: i.resource_name,
                    start: format::datetime(i.start_at),
                    end: format::end_of(i.end_at, i.completed_at),
                    status: i.status.report_label().to_owned(),
                    total: i.total_items,
                })
                .collect(),
        )
    } else {
        None
    };
    Ok((HistoryPage::new(chrome, params, Vec::new(), items), StatusCode::OK))
}

/// `GET /admin/access-reviews/history.csv`: the review-history report, streamed. Bad input
/// gets the form back with what to fix.
pub async fn history_csv(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    req: HttpRequest,
) -> Result<Either<HttpResponse, (HistoryPage, StatusCode)>, AppError> {
    let params = history_params(&req);
    let filter: HistoryFilter = match params.validate() {
        Ok(filter) => filter,
        Err(errors) => {
            return Ok(Either::Right((HistoryPage::new(chrome, params, errors, None), StatusCode::BAD_REQUEST)));
        }
    };
    let (conn, ()) = stream::checked(&state.pool, |_| Ok(())).await?;
    let file = filter.file_name();
    Ok(Either::Left(stream::csv(conn, &file, move |conn, out| exports::history_csv(conn, &filter, out))))
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(slug("VPN Users: confirm your access"), "vpn-users-confirm-your-access");
        assert_eq!(slug("Ünïcode / ../x"), "n-code-x");
        assert_eq!(slug("—"), "review");
    }
}
