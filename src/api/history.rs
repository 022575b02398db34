//! `/v1.0/identityGovernance/accessReviews/historyDefinitions`: review-history reports in
//! Graph v1.0's shapes (`accessReviewHistoryDefinition`, `accessReviewHistoryInstance`).
//! The report is the admin page's review-history CSV, streamed the same way; its download
//! link (`generateDownloadUri`) is signed and needs no token, as Graph's.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime};
use serde_json::{Value, json};

use super::model;
use super::odata::{Options, collection, json_of, select};
use super::{ApiError, ApiResult, Authed, BASE};
use crate::error::AppError;
use crate::service::exports;
use crate::service::history::{
    self, DownloadLink, END_FIELD, HistoryDefinition, HistoryRequest, HistoryScope, START_FIELD,
};
use crate::web::{State, stream};

/// Where the reports are, below the base.
const PATH: &str = "/historyDefinitions";
/// Graph's status of a report that is ready.
const DONE: &str = "done";
/// The file name of a report's download, after its instance.
const REPORT_FILE: &str = "report.csv";

/// The routes below the base.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/historyDefinitions", web::get().to(list_definitions))
        .route("/historyDefinitions", web::post().to(create_definition))
        .route("/historyDefinitions/{definition}", web::get().to(get_definition))
        .route("/historyDefinitions/{definition}", web::delete().to(delete_definition))
        .route("/historyDefinitions/{definition}/instances", web::get().to(list_instances))
        .route(
            "/historyDefinitions/{definition}/instances/{instance}/generateDownloadUri",
            web::post().to(generate_download_uri),
        )
        .route("/historyDefinitions/{definition}/instances/{instance}/report.csv", web::get().to(download));
}

/// A time as Graph writes it.
fn time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The public URL without its trailing slash.
fn public_url(state: &State) -> &str {
    state.auth.public_url.trim_end_matches('/')
}

fn definition_json(d: &HistoryDefinition) -> model::HistoryDefinition {
    let row = &d.row;
    let created_by = match &row.created_by_id {
        Some(id) => model::UserIdentity::new(id.clone(), row.created_by_name.clone(), row.created_by_upn.clone()),
        // attest itself (not through the API today); named as it was recorded.
        None => model::UserIdentity { display_name: row.created_by_name.clone(), ..model::UserIdentity::nobody() },
    };
    model::HistoryDefinition {
        odata_context: None,
        odata_type: model::HISTORY_DEFINITION_TYPE,
        id: row.id.clone(),
        display_name: row.display_name.clone(),
        review_history_period_start_date_time: time(row.period_start),
        review_history_period_end_date_time: time(row.period_end),
        decisions: d.decisions.clone(),
        scopes: d
            .scopes
            .iter()
            .map(|s| model::HistoryScope {
                odata_type: s.odata_type.clone(),
                query: s.query.clone(),
                query_type: s.query_type.clone(),
                query_root: s.query_root.clone(),
            })
            .collect(),
        status: DONE,
        created_date_time: time(row.created_at),
        fulfilled_date_time: time(row.created_at),
        created_by,
    }
}

/// The one instance of a report: the definition's id, run when it was asked for.
fn instance_json(d: &HistoryDefinition, link: Option<(String, NaiveDateTime)>) -> model::HistoryInstance {
    let (download_uri, expires) = link.map_or((None, None), |(uri, at)| (Some(uri), Some(time(at))));
    model::HistoryInstance {
        odata_type: model::HISTORY_INSTANCE_TYPE,
        id: d.row.id.clone(),
        review_history_period_start_date_time: time(d.row.period_start),
        review_history_period_end_date_time: time(d.row.period_end),
        status: DONE,
        run_date_time: time(d.row.created_at),
        fulfilled_date_time: time(d.row.created_at),
        expiration_date_time: expires,
        download_uri,
    }
}

/// A time as RFC 3339 (`2026-09-01T00:00:00Z`, any offset, converted to UTC), or ISO 8601
/// without an offset, read as UTC.
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.naive_utc());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

/// Reads a request body into a report request; a 400 naming every property to fix.
fn parse_request(v: &Value) -> Result<HistoryRequest, ApiError> {
    let refuse = |problems: &[String]| {
        ApiError::bad_request(format!("The history definition cannot be created. {}.", problems.join("; ")))
    };
    if !v.is_object() {
        return Err(refuse(&["send a JSON object with displayName, decisions, reviewHistoryPeriodStartDateTime, \
                             reviewHistoryPeriodEndDateTime and scopes"
            .to_owned()]));
    }
    let mut problems = Vec::new();
    let display_name = match v.get("displayName") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            problems.push("displayName: give the report's name as text".to_owned());
            String::new()
        }
    };
    let mut time_of = |key: &str| match v.get(key) {
        Some(Value::String(s)) => parse_time(s).or_else(|| {
            let shown: String = s.chars().take(40).collect();
            problems.push(format!(
                "{key}: “{shown}” is not a date and time: write it as RFC 3339, for example 2026-09-01T00:00:00Z"
            ));
            None
        }),
        None | Some(Value::Null) => {
            problems.push(format!("{key} is missing: give a date and time such as 2026-09-01T00:00:00Z"));
            None
        }
        Some(_) => {
            problems.push(format!("{key}: give a date and time as text, such as \"2026-09-01T00:00:00Z\""));
            None
        }
    };
    let start = time_of(START_FIELD);
    let end = time_of(END_FIELD);
    let decisions = match v.get("decisions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            list.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(_) => {
            problems.push("decisions: send a list such as [\"approve\", \"deny\"]".to_owned());
            Vec::new()
        }
    };
    let scopes = match v.get("scopes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            let mut scopes = Vec::new();
            for (n, scope) in list.iter().enumerate() {
                let text = |key: &str| scope.get(key).and_then(Value::as_str).map(str::to_owned);
                match text("query") {
                    Some(query) => scopes.push(HistoryScope {
                        odata_type: text("@odata.type").unwrap_or_else(|| model::QUERY_SCOPE_TYPE.to_owned()),
                        query,
                        query_type: text("queryType").unwrap_or_else(|| "MicrosoftGraph".to_owned()),
                        query_root: text("queryRoot"),
                    }),
                    None => problems.push(format!(
                        "scopes[{n}]: give each scope a query, such as \
                         /identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '/groups')"
                    )),
                }
            }
            scopes
        }
        Some(_) => {
            problems.push("scopes: send a list of scopes, each with a query".to_owned());
            Vec::new()
        }
    };
    match (start, end) {
        (Some(start), Some(end)) if problems.is_empty() => {
            Ok(HistoryRequest { display_name, start, end, decisions, scopes })
        }
        _ => Err(refuse(&problems)),
    }
}

/// `GET /historyDefinitions`: a page of the reports by name.
async fn list_definitions(state: State, req: HttpRequest, caller: Authed) -> ApiResult {
    let options = Options::parse(&req)?.no_count()?;
    if options.filter.is_some() {
        return Err(ApiError::bad_request("$filter is not supported on historyDefinitions yet."));
    }
    let (after, top, now) = (options.after.clone(), options.top, state.clock.now());
    let rows = state.db(move |conn| history::definitions(conn, &caller.0, &after, top, now)).await?;
    Ok(HttpResponse::Ok().json(collection(
        &req,
        &state.auth.public_url,
        "identityGovernance/accessReviews/historyDefinitions",
        &options,
        rows,
        |d| (d.row.display_name.clone(), d.row.id.clone()),
        definition_json,
    )))
}

/// The metadata URL of one report.
fn entity_context(state: &State) -> String {
    format!("{}/v1.0/$metadata#identityGovernance/accessReviews/historyDefinitions/$entity", public_url(state))
}

/// `POST /historyDefinitions`: 201 with the report, ready at once.
async fn create_definition(state: State, caller: Authed, body: web::Bytes) -> ApiResult {
    caller.writer()?;
    let value = super::json_body(&body)?;
    let request = parse_request(&value)?;
    let now = state.clock.now();
    match state.db(move |conn| history::create(conn, &caller.0, &request, now)).await? {
        Ok(created) => {
            let mut body = definition_json(&created);
            body.odata_context = Some(entity_context(&state));
            let location = format!("{}{BASE}{PATH}/{}", public_url(&state), created.row.id);
            Ok(HttpResponse::Created().insert_header(("Location", location)).json(body))
        }
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
            Err(ApiError::bad_request(format!("The history definition cannot be created. {}.", list.join("; "))))
        }
    }
}

/// `GET /historyDefinitions/{id}`.
async fn get_definition(state: State, req: HttpRequest, caller: Authed, path: web::Path<String>) -> ApiResult {
    let options = Options::parse(&req)?;
    let (id, now) = (path.into_inner(), state.clock.now());
    let found = state.db(move |conn| history::definition(conn, &caller.0, &id, now)).await?;
    let mut body = select(json_of(&definition_json(&found)), &options.select);
    body["@odata.context"] = json!(entity_context(&state));
    Ok(HttpResponse::Ok().json(body))
}

/// `DELETE /historyDefinitions/{id}`: 204; its download links stop working.
async fn delete_definition(state: State, caller: Authed, path: web::Path<String>) -> ApiResult {
    caller.writer()?;
    let (id, now) = (path.into_inner(), state.clock.now());
    state.db(move |conn| history::delete(conn, &caller.0, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /historyDefinitions/{id}/instances`: the report's one instance.
async fn list_instances(state: State, req: HttpRequest, caller: Authed, path: web::Path<String>) -> ApiResult {
    let options = Options::parse(&req)?;
    if options.filter.is_some() {
        return Err(ApiError::bad_request("$filter is not supported on a history definition's instances."));
    }
    let (id, now) = (path.into_inner(), state.clock.now());
    let found = state.db(move |conn| history::definition(conn, &caller.0, &id, now)).await?;
    let id = found.row.id.clone();
    // One instance, keyed (id, id): a page after it is empty.
    let rows = match &options.after {
        Some(after) if (after.0.as_str(), after.1.as_str()) >= (id.as_str(), id.as_str()) => Vec::new(),
        _ => vec![found],
    };
    let count = rows.len();
    let context = format!("identityGovernance/accessReviews/historyDefinitions('{id}')/instances");
    let mut body = collection(
        &req,
        &state.auth.public_url,
        &context,
        &options,
        rows,
        |d| (d.row.id.clone(), d.row.id.clone()),
        |d| instance_json(d, None),
    );
    if options.count {
        body["@odata.count"] = count.into();
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /historyDefinitions/{id}/instances/{id}/generateDownloadUri`: the instance with a
/// link to its CSV that works without a token for 24 hours.
async fn generate_download_uri(state: State, caller: Authed, path: web::Path<(String, String)>) -> ApiResult {
    caller.writer()?;
    let (id, instance) = path.into_inner();
    let now = state.clock.now();
    let (found, link) = state.db(move |conn| history::download_link(conn, &caller.0, &id, &instance, now)).await?;
    let DownloadLink { expires_at, expires, sig } = link;
    let id = &found.row.id;
    let uri =
        format!("{}{BASE}{PATH}/{id}/instances/{id}/{REPORT_FILE}?expires={expires}&sig={sig}", public_url(&state));
    Ok(HttpResponse::Ok().json(instance_json(&found, Some((uri, expires_at)))))
}

/// `GET /historyDefinitions/{id}/instances/{id}/report.csv?expires=…&sig=…`: the report as
/// CSV, streamed as the admin page's download. The signature is the proof, not a token; a
/// link that is not attest's or has expired is a 403, one to a deleted report a 404.
async fn download(state: State, req: HttpRequest, path: web::Path<(String, String)>) -> ApiResult {
    let query: HashMap<String, String> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let expires = query.get("expires").cloned().unwrap_or_default();
    let sig = query.get("sig").cloned().unwrap_or_default();
    let (id, instance) = path.into_inner();
    let now = state.clock.now();
    let (conn, filter) =
        stream::checked(&state.pool, move |conn| history::linked_report(conn, &id, &instance, &expires, &sig, now))
            .await
            .map_err(|e| match e {
                AppError::Forbidden => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "This download link is not valid or has expired: get a new one with generateDownloadUri.",
                ),
                other => ApiError::from(other),
            })?;
    let file = filter.file_name();
    Ok(stream::csv(conn, &file, move |conn, out| exports::history_csv(conn, &filter, out)))
}
