//! `/v1.0/identityGovernance/accessReviews`: review series (definitions), their
//! occurrences (instances) and decision items, in Graph v1.0's shapes.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::model;
use super::odata::{Options, collection, json_of, select};
use super::{ApiError, ApiResult, Authed};
use crate::domain::apply::ApplyResult;
use crate::domain::decision::Decision;
use crate::domain::odata::{self as odata_filter, Filter, Op};
use crate::domain::recommendation::Recommendation;
use crate::domain::recurrence::{EndKind, Frequency};
use crate::domain::review::InstanceStatus;
use crate::domain::review::{DefaultDecision, DefinitionStatus, ResourceKind, ReviewerKind, ScopeKind, UserScopeKind};
use crate::domain::stage::{Move, Moves};
use crate::service::graph;
use crate::service::reviews::DefinitionDetail;
use crate::service::rows::UserRef;
use crate::store::decisions::{ItemFilter, ItemTest, ListedItem};
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;
use crate::web::State;

/// The routes below the base.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/definitions", web::get().to(list_definitions))
        .route("/definitions", web::post().to(create_definition))
        .route("/definitions/{definition}", web::get().to(get_definition))
        .route("/definitions/{definition}", web::delete().to(delete_definition))
        .route("/definitions/{definition}", web::patch().to(patch_definition))
        .route("/definitions/{definition}", web::put().to(put_definition))
        .route("/definitions/{definition}/stop", web::post().to(stop_definition))
        .route("/definitions/{definition}/instances", web::get().to(list_instances))
        .route("/definitions/{definition}/instances/{instance}", web::get().to(get_instance))
        .route("/definitions/{definition}/instances/{instance}/{action}", web::post().to(instance_action))
        .route("/definitions/{definition}/instances/{instance}/stages", web::get().to(list_stages))
        .route("/definitions/{definition}/instances/{instance}/stages/{stage}/stop", web::post().to(stop_stage))
        .route("/definitions/{definition}/instances/{instance}/decisions", web::get().to(list_decisions))
        .route("/definitions/{definition}/instances/{instance}/contactedReviewers", web::get().to(contacted_reviewers))
        .route("/definitions/{definition}/instances/{instance}/decisions/{item}", web::get().to(get_decision))
        .route("/definitions/{definition}/instances/{instance}/decisions/{item}", web::patch().to(patch_decision));
}

/// A time as Graph writes it.
fn time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether a path segment is Graph's `filterByCurrentUser(on='reviewer')` (quotes raw or
/// percent-encoded: the path arrives decoded); another `on` is a 400.
fn current_user_filter(segment: &str) -> Result<bool, ApiError> {
    let Some(inner) = segment.strip_prefix("filterByCurrentUser(").and_then(|s| s.strip_suffix(')')) else {
        return Ok(false);
    };
    let on = inner.trim().strip_prefix("on=").map(|v| v.trim().trim_matches(['\'', '"']));
    match on {
        Some("reviewer") => Ok(true),
        _ => {
            Err(ApiError::bad_request(format!("filterByCurrentUser: only on='reviewer' is supported, not {inner:?}.")))
        }
    }
}

async fn list_definitions(state: State, req: HttpRequest, caller: Authed) -> ApiResult {
    let options = Options::parse(&req)?;
    options.natural_order("displayName")?;
    let filter = definition_filter(options.filter.as_deref())?;
    let (after, top, count, now) = (options.after.clone(), options.top, options.count, state.clock.now());
    let keep = move |d: &DefinitionDetail| filter.as_ref().is_none_or(|f| definition_holds(f, &definition_json(d)));
    let (rows, total) =
        state.db(move |conn| graph::definitions(conn, &caller.0, &after, (top, count), keep, now)).await?;
    let context = "identityGovernance/accessReviews/definitions";
    let mut body = collection(
        &req,
        &state.auth.public_url,
        context,
        &options,
        rows,
        |d| (d.definition.display_name.clone(), d.definition.id.clone()),
        definition_json,
    );
    if let Some(n) = total {
        body["@odata.count"] = n.into();
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn get_definition(state: State, req: HttpRequest, caller: Authed, path: web::Path<String>) -> ApiResult {
    let options = Options::parse(&req)?;
    let (id, now) = (path.into_inner(), state.clock.now());
    if current_user_filter(&id)? {
        // The series the caller reviews in, whole, by name: few for one person, one page.
        let rows = state.db(move |conn| graph::my_definitions(conn, &caller.0, now)).await?;
        let context = "identityGovernance/accessReviews/definitions";
        let options = Options { top: rows.len().max(1), ..options };
        let key = |d: &DefinitionDetail| (d.definition.display_name.clone(), d.definition.id.clone());
        let body = collection(&req, &state.auth.public_url, context, &options, rows, key, definition_json);
        return Ok(HttpResponse::Ok().json(body));
    }
    let detail = state.db(move |conn| graph::definition(conn, &caller.0, &id, now)).await?;
    let mut body = select(json_of(&definition_json(&detail)), &options.select);
    body["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#identityGovernance/accessReviews/definitions/$entity",
        state.auth.public_url.trim_end_matches('/')
    ));
    Ok(HttpResponse::Ok().json(body))
}

async fn list_instances(state: State, req: HttpRequest, caller: Authed, path: web::Path<String>) -> ApiResult {
    let options = Options::parse(&req)?;
    let (definition, now) = (path.into_inner(), state.clock.now());
    let id = definition.clone();
    let rows = state.db(move |conn| graph::instances(conn, &caller.0, &id, 1000, now)).await?;
    instances_page(&state, &req, &options, &definition, rows)
}

fn instances_page(
    state: &State,
    req: &HttpRequest,
    options: &Options,
    definition: &str,
    rows: Vec<InstanceRow>,
) -> ApiResult {
    let filter = instance_filter(options.filter.as_deref())?;
    let mut rows: Vec<InstanceRow> = match filter {
        Some(f) => rows.into_iter().filter(|r| f.holds(&|status, _, _| r.status == *status)).collect(),
        None => rows,
    };
    // Few per series (one per occurrence and resource): one page, newest first unless
    // `$orderby` asks for another order of their times.
    match options.order_by.as_slice() {
        [] => {}
        [(property, descending)] if property == "startDateTime" || property == "endDateTime" => {
            let by_start = property == "startDateTime";
            rows.sort_by_key(|r| (if by_start { r.start_at } else { r.end_at }, r.id.clone()));
            if *descending {
                rows.reverse();
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "$orderby: order instances by startDateTime or endDateTime, asc or desc.",
            ));
        }
    }
    let context = format!("identityGovernance/accessReviews/definitions('{definition}')/instances");
    let options = Options { top: rows.len().max(1), ..options.clone() };
    let count = rows.len();
    let mut body = collection(
        req,
        &state.auth.public_url,
        &context,
        &options,
        rows,
        |i| (i.id.clone(), i.id.clone()),
        instance_json,
    );
    if options.count {
        body["@odata.count"] = count.into();
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn get_instance(state: State, req: HttpRequest, caller: Authed, path: web::Path<(String, String)>) -> ApiResult {
    let options = Options::parse(&req)?;
    let (definition, instance) = path.into_inner();
    let now = state.clock.now();
    if current_user_filter(&instance)? {
        let id = definition.clone();
        let rows = state.db(move |conn| graph::my_instances(conn, &caller.0, &id, now)).await?;
        return instances_page(&state, &req, &options, &definition, rows);
    }
    let row = state.db(move |conn| graph::instance(conn, &caller.0, &definition, &instance, now)).await?;
    Ok(HttpResponse::Ok().json(select(json_of(&instance_json(&row)), &options.select)))
}

/// What a collection's `$filter` may compare with `eq` and `ne`, for the message of one it
/// cannot read.
fn filter_help(properties: &[(&str, &[&str])]) -> String {
    let each: Vec<String> = properties
        .iter()
        .map(|(p, values)| {
            let values: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            format!("{p} ({})", values.join(", "))
        })
        .collect();
    format!("compare {} with eq or ne, joined by and, or and parentheses", each.join(", "))
}

/// Reads a `$filter`, each comparison checked by `check`; a 400 naming what to fix, with
/// `help` saying what the collection understands.
fn read_filter<Q>(
    filter: Option<&str>,
    help: &str,
    check: impl Fn(&str, Op, &str) -> Option<Q>,
) -> Result<Option<Filter<Q>>, ApiError> {
    let Some(text) = filter.map(str::trim).filter(|f| !f.is_empty()) else { return Ok(None) };
    let refuse = |why: String| ApiError::bad_request(format!("$filter {text:?}: {why}; {help}."));
    let parsed = odata_filter::parse(text).map_err(refuse)?;
    let mapped = parsed
        .map(&|p: &String, op: Op, v: &str| {
            check(p, op, v).ok_or_else(|| match op {
                Op::Contains => format!("contains({p}, '{v}') is not a test it knows"),
                Op::Eq | Op::Ne => format!("{p} eq '{v}' is not a comparison it knows"),
            })
        })
        .map_err(refuse)?;
    Ok(Some(mapped))
}

/// What a series' `$filter` may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefinitionProperty {
    /// `scope/query` (also written with the scope's type, `scope/microsoft.graph.…/query`).
    ScopeQuery,
    /// `instanceEnumerationScope/query`.
    EnumerationQuery,
    /// `displayName`.
    DisplayName,
    /// `status`.
    Status,
}

/// The series' `$filter`: `contains`, `eq` and `ne` on `scope/query`,
/// `instanceEnumerationScope/query` and `displayName`; `eq` and `ne` on `status`.
fn definition_filter(filter: Option<&str>) -> Result<Option<Filter<DefinitionProperty>>, ApiError> {
    let statuses = [DefinitionStatus::Active, DefinitionStatus::Completed].map(definition_status);
    let help = format!(
        "test scope/query, instanceEnumerationScope/query or displayName with contains(property, 'text'), \
         eq or ne, or status with eq or ne ('{}'), joined by and, or and parentheses, \
         e.g. contains(scope/query, '/groups')",
        statuses.join("', '")
    );
    read_filter(filter, &help, |p, op, v| {
        let scope_type = p.strip_prefix("scope/").and_then(|rest| rest.strip_suffix("/query"));
        match p {
            "scope/query" => Some(DefinitionProperty::ScopeQuery),
            _ if scope_type.is_some_and(|t| t.starts_with("microsoft.graph.")) => Some(DefinitionProperty::ScopeQuery),
            "instanceEnumerationScope/query" => Some(DefinitionProperty::EnumerationQuery),
            "displayName" => Some(DefinitionProperty::DisplayName),
            "status" if op != Op::Contains && statuses.contains(&v) => Some(DefinitionProperty::Status),
            _ => None,
        }
    })
}

/// Whether a series as the API shows it passes a `$filter`. Text is compared without
/// regard to case, as Graph compares strings.
fn definition_holds(filter: &Filter<DefinitionProperty>, d: &model::Definition) -> bool {
    let query = |s: &Option<model::Scope>| s.as_ref().map_or(String::new(), |s| s.query.clone());
    filter.holds(&|p, op, v| {
        let text = match p {
            DefinitionProperty::ScopeQuery => query(&d.scope),
            DefinitionProperty::EnumerationQuery => query(&d.instance_enumeration_scope),
            DefinitionProperty::DisplayName => d.display_name.clone(),
            DefinitionProperty::Status => d.status.to_owned(),
        };
        match op {
            Op::Contains => text.to_lowercase().contains(&v.to_lowercase()),
            Op::Eq | Op::Ne => text.to_lowercase() == v.to_lowercase(),
        }
    })
}

fn names<const N: usize, T: Copy>(all: [T; N], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.into_iter().map(name).collect()
}

/// The decisions' `$filter`: `decision`, `recommendation` and `applyResult`, compared with
/// `eq` and `ne`, joined by `and` and `or`.
fn decision_filter(filter: Option<&str>) -> Result<ItemFilter, ApiError> {
    let decisions = names(Decision::ALL, Decision::as_str);
    let recommendations = names(Recommendation::ALL, Recommendation::as_str);
    let results = names(ApplyResult::ALL, ApplyResult::as_str);
    let properties: [(&str, &[&str]); 3] =
        [("decision", &decisions), ("recommendation", &recommendations), ("applyResult", &results)];
    let expression = read_filter(filter, &filter_help(&properties), |p, op, v| match p {
        _ if op == Op::Contains => None,
        "decision" => Decision::parse(v).map(ItemTest::Decision),
        "recommendation" => Recommendation::parse(v).map(ItemTest::Recommendation),
        "applyResult" => ApplyResult::parse(v).map(ItemTest::ApplyResult),
        _ => None,
    })?;
    Ok(ItemFilter { expression, ..ItemFilter::default() })
}

/// The instances' `$filter`: `status` compared with `eq` and `ne`.
fn instance_filter(filter: Option<&str>) -> Result<Option<Filter<InstanceStatus>>, ApiError> {
    let statuses = names(InstanceStatus::ALL, InstanceStatus::as_str);
    read_filter(filter, &filter_help(&[("status", &statuses)]), |p, op, v| match p {
        _ if op == Op::Contains => None,
        "status" => InstanceStatus::parse(v),
        _ => None,
    })
}

async fn list_decisions(
    state: State,
    req: HttpRequest,
    caller: Authed,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (definition, instance) = path.into_inner();
    decisions_page(state, req, caller, definition, instance, false).await
}

async fn decisions_page(
    state: State,
    req: HttpRequest,
    caller: Authed,
    definition: String,
    instance: String,
    mine: bool,
) -> ApiResult {
    let options = Options::parse(&req)?;
    options.natural_order("principal/displayName")?;
    let filter = decision_filter(options.filter.as_deref())?;
    let (after, top, now) = (options.after.clone(), options.top, state.clock.now());
    let (def, inst) = (definition.clone(), instance.clone());
    let count = options.count;
    let page = state
        .db(move |conn| graph::decisions(conn, &caller.0, &def, &inst, mine, &filter, &after, (top, count), now))
        .await?;
    let context =
        format!("identityGovernance/accessReviews/definitions('{definition}')/instances('{instance}')/decisions");
    let (names, inst_row) = (page.names, page.instance);
    let public_url = state.auth.public_url.clone();
    let mut body = collection(
        &req,
        &public_url,
        &context,
        &options,
        page.items,
        |i| (i.principal_name.clone(), i.id.clone()),
        |i| decision_json(i, &inst_row, &names, &public_url),
    );
    if let Some(n) = page.count {
        body["@odata.count"] = n.into();
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `GET …/instances/{id}/contactedReviewers`: who the occurrence's mails went to, by name.
/// `GET …/instances/{instance}/stages`: the stages of a multi-stage instance (none for one
/// stage), in order.
async fn list_stages(state: State, caller: Authed, path: web::Path<(String, String)>) -> ApiResult {
    let (definition, instance) = path.into_inner();
    let now = state.clock.now();
    let (d, i) = (definition.clone(), instance.clone());
    let (row, stages) = state.db(move |conn| graph::instance_stages(conn, &caller.0, &d, &i, now)).await?;
    let value: Vec<model::Stage> = stages
        .iter()
        .map(|s| model::Stage {
            odata_type: "#microsoft.graph.accessReviewStage",
            id: s.stage.to_string(),
            start_date_time: time(s.start_at),
            end_date_time: time(s.ended_at.unwrap_or(s.end_at)),
            // A stage's status in the words of an instance's.
            status: match (s.stage.cmp(&row.stage), s.ended_at, row.status.is_open()) {
                (std::cmp::Ordering::Greater, _, true) => InstanceStatus::NotStarted,
                (std::cmp::Ordering::Equal, None, true) => InstanceStatus::InProgress,
                _ => InstanceStatus::Completed,
            }
            .as_str(),
        })
        .collect();
    let base = state.auth.public_url.trim_end_matches('/');
    Ok(HttpResponse::Ok().json(json!({
        "@odata.context": format!(
            "{base}/v1.0/$metadata#identityGovernance/accessReviews/definitions('{definition}')/instances('{instance}')/stages"
        ),
        "value": value,
    })))
}

/// `POST …/instances/{instance}/stages/{stage}/stop`: ends the stage in progress now (the
/// next starts, or the review completes after its last).
async fn stop_stage(state: State, caller: Authed, path: web::Path<(String, String, String)>) -> ApiResult {
    caller.writer()?;
    let (definition, instance, stage) = path.into_inner();
    let now = state.clock.now();
    let done = state.db(move |conn| graph::stop_stage(conn, &caller.0, (&definition, &instance), &stage, now)).await?;
    match done {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(refused) => Err(ApiError::bad_request(refused.0)),
    }
}

async fn contacted_reviewers(
    state: State,
    req: HttpRequest,
    caller: Authed,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let options = Options::parse(&req)?.no_count()?;
    options.natural_order("displayName")?;
    let (definition, instance) = path.into_inner();
    let (after, top, now) = (options.after.clone(), options.top, state.clock.now());
    let (d, i) = (definition.clone(), instance.clone());
    let (rows, upns) =
        state.db(move |conn| graph::contacted_reviewers(conn, &caller.0, &d, &i, &after, top, now)).await?;
    let context = format!(
        "identityGovernance/accessReviews/definitions('{definition}')/instances('{instance}')/contactedReviewers"
    );
    Ok(HttpResponse::Ok().json(collection(
        &req,
        &state.auth.public_url,
        &context,
        &options,
        rows,
        |r| (r.display_name.clone(), r.user_id.clone()),
        |r| model::Reviewer {
            odata_type: "#microsoft.graph.accessReviewReviewer",
            id: r.user_id.clone(),
            display_name: r.display_name.clone(),
            user_principal_name: upns.get(&r.user_id).cloned(),
            created_date_time: time(r.last_notified_at),
        },
    )))
}

async fn get_decision(
    state: State,
    req: HttpRequest,
    caller: Authed,
    path: web::Path<(String, String, String)>,
) -> ApiResult {
    let (definition, instance, item) = path.into_inner();
    if current_user_filter(&item)? {
        return decisions_page(state, req, caller, definition, instance, true).await;
    }
    let options = Options::parse(&req)?;
    let now = state.clock.now();
    let found = state.db(move |conn| graph::decision(conn, &caller.0, &definition, &instance, &item, now)).await?;
    let item = found.items.first().ok_or_else(|| ApiError::not_found("No such decision."))?;
    let body = decision_json(item, &found.instance, &found.names, &state.auth.public_url);
    Ok(HttpResponse::Ok().json(select(json_of(&body), &options.select)))
}

async fn patch_decision(
    state: State,
    caller: Authed,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> ApiResult {
    caller.writer()?;
    super::within_limit(&body)?;
    let patch: model::DecisionPatch = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body is not a decision: {e}. Send {{\"decision\": \"Approve\", \"justification\": \"…\"}}."
        ))
    })?;
    let decision = match patch.decision.as_deref() {
        Some(d) => Decision::parse(d)
            .ok_or_else(|| ApiError::bad_request(format!("decision: use Approve, Deny or DontKnow, not {d:?}.")))?,
        None => return Err(ApiError::bad_request("decision is missing: send Approve, Deny or DontKnow.")),
    };
    let justification = patch.justification.unwrap_or_default();
    let (definition, instance, item) = path.into_inner();
    let now = state.clock.now();
    let done = state
        .db(move |conn| {
            graph::record_decision(conn, &caller.0, &definition, &instance, &item, decision, &justification, now)
        })
        .await?;
    match done {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(refused) => Err(ApiError::bad_request(refused.0)),
    }
}

/// `POST /definitions/{id}/stop`: the series' occurrences in progress stop and no further
/// one starts; 204.
async fn stop_definition(state: State, caller: Authed, path: web::Path<String>) -> ApiResult {
    caller.writer()?;
    let (id, now) = (path.into_inner(), state.clock.now());
    match state.db(move |conn| graph::stop_definition(conn, &caller.0, &id, now)).await? {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(refused) => Err(ApiError::bad_request(refused.0)),
    }
}

/// `POST …/instances/{id}/stop | resetDecisions | applyDecisions | acceptRecommendations |
/// batchRecordDecisions | sendReminder`: 204 when done.
async fn instance_action(
    state: State,
    caller: Authed,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> ApiResult {
    caller.writer()?;
    let (definition, instance, action) = path.into_inner();
    let action = match action.as_str() {
        "stop" => graph::InstanceAction::Stop,
        "resetDecisions" => graph::InstanceAction::ResetDecisions,
        "applyDecisions" => graph::InstanceAction::ApplyDecisions,
        "acceptRecommendations" => graph::InstanceAction::AcceptRecommendations,
        "sendReminder" => graph::InstanceAction::SendReminder,
        "batchRecordDecisions" => {
            let b: model::BatchBody = if body.is_empty() {
                model::BatchBody::default()
            } else {
                serde_json::from_slice(&body)
                    .map_err(|e| ApiError::bad_request(format!("The body cannot be read: {e}.")))?
            };
            let decision = b
                .decision
                .as_deref()
                .and_then(Decision::parse)
                .ok_or_else(|| ApiError::bad_request("decision: send Approve, Deny or DontKnow."))?;
            graph::InstanceAction::BatchRecordDecisions {
                decision,
                justification: b.justification.unwrap_or_default(),
                principal: b.principal_id,
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "{other} is not an action of an access review instance: use stop, resetDecisions, applyDecisions, \
                 acceptRecommendations, batchRecordDecisions or sendReminder."
            )));
        }
    };
    let now = state.clock.now();
    let done =
        state.db(move |conn| graph::instance_action(conn, &caller.0, &definition, &instance, action, now)).await?;
    match done {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(refused) => Err(ApiError::bad_request(refused.0)),
    }
}

/// `POST /definitions`: 201 with the created series, defaults filled.
async fn create_definition(state: State, caller: Authed, body: web::Bytes) -> ApiResult {
    caller.writer()?;
    let value = super::json_body(&body)?;
    let input = parse_definition(&value)?;
    let now = state.clock.now();
    let created = state.db(move |conn| graph::create_definition(conn, &caller.0, &input, now)).await?;
    match created {
        Ok(detail) => {
            let mut body = definition_json(&detail);
            body.odata_context = Some(format!(
                "{}/v1.0/$metadata#identityGovernance/accessReviews/definitions/$entity",
                state.auth.public_url.trim_end_matches('/')
            ));
            let location = format!(
                "{}{}/definitions/{}",
                state.auth.public_url.trim_end_matches('/'),
                super::BASE,
                detail.definition.id
            );
            Ok(HttpResponse::Created().insert_header(("Location", location)).json(body))
        }
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(|e| format!("{}: {}", graph_field(e.field), e.message)).collect();
            Err(ApiError::bad_request(format!("The definition cannot be created. {}.", list.join("; "))))
        }
    }
}

/// Merges a PATCH body into a series' JSON: properties replace properties, `settings`
/// replaces setting by setting.
fn merge(mut current: Value, patch: &Value) -> Value {
    if let (Some(cur), Some(p)) = (current.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            match (k.as_str(), cur.get_mut(k)) {
                ("settings", Some(Value::Object(settings))) if v.is_object() => {
                    for (sk, sv) in v.as_object().into_iter().flatten() {
                        settings.insert(sk.clone(), sv.clone());
                    }
                }
                _ => {
                    cur.insert(k.clone(), v.clone());
                }
            }
        }
    }
    current
}

/// `PATCH /definitions/{id}` (what Graph's .NET and JavaScript SDKs send): 200 with the
/// changed series.
async fn patch_definition(state: State, caller: Authed, path: web::Path<String>, body: web::Bytes) -> ApiResult {
    change_definition(state, caller, path.into_inner(), body, true).await
}

/// `PUT /definitions/{id}` (what Graph documents, and the Python SDK's only way: the whole
/// object): 200 with the series.
async fn put_definition(state: State, caller: Authed, path: web::Path<String>, body: web::Bytes) -> ApiResult {
    change_definition(state, caller, path.into_inner(), body, false).await
}

async fn change_definition(state: State, caller: Authed, id: String, body: web::Bytes, patch: bool) -> ApiResult {
    caller.writer()?;
    let sent = super::json_body(&body)?;
    let now = state.clock.now();
    let caller = caller.0;
    let (c, i) = (caller.clone(), id.clone());
    // A PATCH changes what it names: the rest is the series as it is.
    let whole = if patch {
        let current = state.db(move |conn| graph::definition(conn, &c, &i, now)).await?;
        merge(json_of(&definition_json(&current)), &sent)
    } else {
        sent
    };
    let input = parse_definition(&whole)?;
    let changed = state.db(move |conn| graph::update_definition(conn, &caller, &id, &input, now)).await?;
    match changed {
        Ok(detail) => Ok(HttpResponse::Ok().json(definition_json(&detail))),
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(|e| format!("{}: {}", graph_field(e.field), e.message)).collect();
            Err(ApiError::bad_request(format!("The definition cannot be changed. {}.", list.join("; "))))
        }
    }
}

/// `DELETE /definitions/{id}`: 204.
async fn delete_definition(state: State, caller: Authed, path: web::Path<String>) -> ApiResult {
    caller.writer()?;
    let (id, now) = (path.into_inner(), state.clock.now());
    state.db(move |conn| graph::delete_definition(conn, &caller.0, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The Graph property a form field's problem is about.
fn graph_field(field: &str) -> &str {
    match field {
        "name" => "displayName",
        "description_for_reviewers" => "descriptionForReviewers",
        "description_for_admins" => "descriptionForAdmins",
        "scope" | "groups" | "applications" | "roles" | "user_scope" | "inactive_days" => "scope",
        "reviewer_kind" | "reviewers" => "reviewers",
        "fallback_reviewers" => "fallbackReviewers",
        "start_date" | "frequency" | "end_kind" | "end_date" | "occurrences" => "settings.recurrence",
        "duration_days" => "settings.instanceDurationInDays",
        "default_decision" => "settings.defaultDecision",
        "guest_denied_action" => "settings.applyActions",
        "lookback_days" => "settings.recommendationLookBackDuration",
        "additional_recipients" => "additionalNotificationRecipients",
        other => other,
    }
}

/// Days of an ISO 8601 duration such as `P30D` (or `P2W`).
fn iso_days(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(t) = text.strip_prefix('P') {
        if let Some(d) = t.strip_suffix('D') {
            return d.parse().ok();
        }
        return t.strip_suffix('W')?.parse::<i64>().ok()?.checked_mul(7);
    }
    // Microsoft's Python SDK writes a duration it read as Python's `str(timedelta)` when it
    // sends a series back (its only way to change one is PUT): "30 days, 0:00:00".
    let (days, clock) = text.split_once(", ").unwrap_or(("0 days", text));
    let days: i64 = days.strip_suffix(" days").or_else(|| days.strip_suffix(" day"))?.trim().parse().ok()?;
    (clock.trim() == "0:00:00").then_some(days)
}

/// The id in a query such as `/groups/{id}/transitiveMembers`, after `prefix`.
fn id_after<'a>(query: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = query.strip_prefix(prefix)?;
    let id = rest.split(['/', '?']).next()?;
    (!id.is_empty()).then_some(id)
}

/// The ids of an `id eq 'a' or id eq 'b'` filter.
fn quoted_ids(query: &str, key: &str) -> Vec<String> {
    query
        .split(key)
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('\'')?.split('\'').next())
        .map(str::to_owned)
        .collect()
}

/// Reads a Graph `accessReviewScheduleDefinition` body (unknown properties and
/// `@odata.type` accepted); a shape attest cannot review is a 400 saying what is supported.
fn parse_definition(v: &Value) -> Result<graph::GraphDefinition, ApiError> {
    // Multi-stage series are made on the create page; dropping the stages a client sent
    // would make a different review than the one asked for.
    if v.get("stageSettings").and_then(Value::as_array).is_some_and(|stages| !stages.is_empty()) {
        return Err(ApiError::bad_request(
            "stageSettings are not supported through the API yet: create a multi-stage review on the portal's \
             New access review page, or leave stageSettings out for a one-stage review.",
        ));
    }
    let text = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let scope =
        v.get("scope").ok_or_else(|| ApiError::bad_request("scope is missing: give an accessReviewQueryScope."))?;
    let query = scope.get("query").and_then(Value::as_str).unwrap_or_default();
    let guests_only = query.contains("userType eq 'Guest'");
    let inactive_days = match scope.get("inactiveDuration").and_then(Value::as_str) {
        Some(d) => Some(iso_days(d).ok_or_else(|| {
            ApiError::bad_request(format!("scope.inactiveDuration: {d:?} is not a duration such as P30D."))
        })?),
        None => None,
    };
    let unsupported = || {
        ApiError::bad_request(format!(
            "scope.query {query:?} is not supported: use /groups/{{id}}/transitiveMembers, \
             /servicePrincipals/{{id}}/appRoleAssignedTo, a role's roleAssignmentScheduleInstances or \
             roleEligibilityScheduleInstances filtered by roleDefinitionId, or ./members with an instanceEnumerationScope \
             of /groups"
        ))
    };
    let enumeration = v.get("instanceEnumerationScope").and_then(|s| s.get("query")).and_then(Value::as_str);
    let scope = if let Some(id) = id_after(query, "/groups/") {
        graph::GraphScope::Groups(vec![id.to_owned()])
    } else if let Some(id) = id_after(query, "/servicePrincipals/") {
        graph::GraphScope::Applications(vec![id.to_owned()])
    } else if query.contains("roleDefinitionId eq") {
        graph::GraphScope::DirectoryRoles(quoted_ids(query, "roleDefinitionId eq"))
    } else if query.starts_with("./members") || query.starts_with("/members") {
        match enumeration {
            Some(e) if e.contains("Unified") => graph::GraphScope::GuestGroups,
            Some(e) if e.starts_with("/groups") => graph::GraphScope::Groups(quoted_ids(e, "id eq")),
            _ => return Err(unsupported()),
        }
    } else {
        return Err(unsupported());
    };
    let reviewer_ids = |key: &str| -> Result<Vec<String>, ApiError> {
        let Some(list) = v.get(key).and_then(Value::as_array) else { return Ok(Vec::new()) };
        list.iter()
            .map(|r| {
                let q = r.get("query").and_then(Value::as_str).unwrap_or_default();
                id_after(q, "/users/").map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request(format!("{key}: {q:?} is not supported here: give users as /users/{{id}}."))
                })
            })
            .collect()
    };
    let reviewers = match v.get("reviewers").and_then(Value::as_array) {
        None => graph::GraphReviewers::Owners,
        Some(list) if list.is_empty() => graph::GraphReviewers::SelfReview,
        Some(list) => {
            let first = list[0].get("query").and_then(Value::as_str).unwrap_or_default();
            if first.contains("manager") {
                graph::GraphReviewers::Managers
            } else if first.ends_with("/owners") || first.contains("owners") {
                graph::GraphReviewers::Owners
            } else {
                graph::GraphReviewers::Users(reviewer_ids("reviewers")?)
            }
        }
    };
    let settings = v.get("settings").cloned().unwrap_or(Value::Null);
    let flag = |key: &str, default: bool| settings.get(key).and_then(Value::as_bool).unwrap_or(default);
    let default_decision = if flag("defaultDecisionEnabled", false) {
        settings.get("defaultDecision").and_then(Value::as_str).unwrap_or(DefaultDecision::None.as_str()).to_owned()
    } else {
        DefaultDecision::None.as_str().to_owned()
    };
    let lookback = match settings.get("recommendationLookBackDuration").and_then(Value::as_str) {
        Some(d) => iso_days(d).ok_or_else(|| {
            ApiError::bad_request(format!(
                "settings.recommendationLookBackDuration: {d:?} is not a duration such as P30D."
            ))
        })?,
        None => 30,
    };
    let block_then_delete = settings.get("applyActions").and_then(Value::as_array).is_some_and(|a| {
        a.iter().any(|x| x.get("@odata.type").and_then(Value::as_str).is_some_and(|t| t.contains("disableAndDelete")))
    });
    let recurrence = settings.get("recurrence").cloned().unwrap_or(Value::Null);
    let pattern = recurrence.get("pattern").filter(|p| !p.is_null());
    let range = recurrence.get("range").cloned().unwrap_or(Value::Null);
    let range_text = |key: &str| range.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let frequency = match pattern {
        None => Frequency::OneTime,
        Some(p) => {
            let kind = p.get("type").and_then(Value::as_str).unwrap_or_default();
            let interval = p.get("interval").and_then(Value::as_i64).unwrap_or(1);
            match (kind, interval) {
                ("weekly", 1) => Frequency::Weekly,
                ("absoluteMonthly", 1) => Frequency::Monthly,
                ("absoluteMonthly", 3) => Frequency::Quarterly,
                ("absoluteMonthly", 6) => Frequency::SemiAnnually,
                ("absoluteMonthly", 12) | ("absoluteYearly", 1) => Frequency::Annually,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "settings.recurrence.pattern: {kind} every {interval} is not supported: use weekly (1) or \
                         absoluteMonthly (1, 3, 6 or 12)."
                    )));
                }
            }
        }
    };
    let (end_kind, end_date, occurrences) = match range_text("type").as_str() {
        "endDate" => (EndKind::OnDate, range_text("endDate"), String::new()),
        "numbered" => (
            EndKind::AfterOccurrences,
            String::new(),
            range.get("numberOfOccurrences").and_then(Value::as_i64).unwrap_or(1).to_string(),
        ),
        _ => (EndKind::Never, String::new(), String::new()),
    };
    let start_date = range_text("startDate");
    Ok(graph::GraphDefinition {
        display_name: text("displayName"),
        description_for_reviewers: text("descriptionForReviewers"),
        description_for_admins: text("descriptionForAdmins"),
        scope,
        guests_only,
        inactive_days,
        reviewers,
        fallback_reviewers: reviewer_ids("fallbackReviewers")?,
        additional_recipients: v
            .get("additionalNotificationRecipients")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|r| r.pointer("/notificationRecipientScope/query").and_then(Value::as_str))
                    .filter_map(|q| id_after(q, "/users/").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        mail_notifications: flag("mailNotificationsEnabled", true),
        reminders: flag("reminderNotificationsEnabled", true),
        justification_required: flag("justificationRequiredOnApproval", false),
        default_decision,
        duration_days: settings.get("instanceDurationInDays").and_then(Value::as_i64).unwrap_or(14),
        auto_apply: flag("autoApplyDecisionsEnabled", false),
        recommendations: flag("recommendationsEnabled", true),
        lookback_days: lookback,
        block_then_delete,
        frequency: frequency.as_str().to_owned(),
        // Empty: the service starts it today.
        start_date: start_date.chars().take(10).collect(),
        end_kind: end_kind.as_str().to_owned(),
        end_date: end_date.chars().take(10).collect(),
        occurrences,
    })
}

/// Graph's status of a series.
fn definition_status(status: DefinitionStatus) -> &'static str {
    use crate::domain::review::InstanceStatus;
    match status {
        DefinitionStatus::Active => InstanceStatus::InProgress.as_str(),
        DefinitionStatus::Completed | DefinitionStatus::Deleted => InstanceStatus::Completed.as_str(),
    }
}

/// ISO 8601 days (`P30D`).
fn days(n: i32) -> String {
    format!("P{n}D")
}

/// A series as the list shows it (without resources and reviewers, which the list does
/// not read).
fn definition_summary(d: &DefinitionRow) -> model::Definition {
    model::Definition {
        odata_context: None,
        odata_type: model::DEFINITION_TYPE,
        id: d.id.clone(),
        display_name: d.display_name.clone(),
        created_date_time: time(d.created_at),
        last_modified_date_time: time(d.updated_at),
        status: definition_status(d.status),
        description_for_admins: d.description_for_admins.clone(),
        description_for_reviewers: d.description_for_reviewers.clone(),
        created_by: model::UserIdentity::new(d.created_by.clone(), d.created_by_name.clone(), None),
        settings: settings_json(d),
        additional_notification_recipients: d
            .additional_recipients
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|upn| model::NotificationRecipient {
                odata_type: "#microsoft.graph.accessReviewNotificationRecipientItem",
                notification_template_type: "CompletedAdditionalRecipients",
                notification_recipient_scope: model::Scope::new(
                    "#microsoft.graph.accessReviewNotificationRecipientQueryScope",
                    format!("/users/{}", upn.trim()),
                    None,
                ),
            })
            .collect(),
        scope: None,
        instance_enumeration_scope: None,
        reviewers: None,
        fallback_reviewers: None,
        stage_settings: None,
    }
}

fn settings_json(d: &DefinitionRow) -> model::Settings {
    let pattern = |interval| Some(model::Pattern { kind: "absoluteMonthly", interval });
    let pattern = match d.frequency {
        Frequency::OneTime => None,
        Frequency::Weekly => Some(model::Pattern { kind: "weekly", interval: 1 }),
        Frequency::Monthly => pattern(1),
        Frequency::Quarterly => pattern(3),
        Frequency::SemiAnnually => pattern(6),
        Frequency::Annually => pattern(12),
    };
    let start_date = d.start_date.to_string();
    let range = match (d.frequency, d.end_kind) {
        (Frequency::OneTime, _) => {
            model::Range { kind: "numbered", start_date, end_date: None, number_of_occurrences: 1 }
        }
        (_, EndKind::Never) => model::Range { kind: "noEnd", start_date, end_date: None, number_of_occurrences: 0 },
        (_, EndKind::OnDate) => model::Range {
            kind: "endDate",
            start_date,
            end_date: d.end_date.map(|e| e.to_string()),
            number_of_occurrences: 0,
        },
        (_, EndKind::AfterOccurrences) => model::Range {
            kind: "numbered",
            start_date,
            end_date: None,
            number_of_occurrences: d.occurrences.unwrap_or(1),
        },
    };
    let apply = match d.guest_denied_action {
        crate::domain::review::GuestDeniedAction::BlockThenDelete => "#microsoft.graph.disableAndDeleteUserApplyAction",
        _ => "#microsoft.graph.removeAccessApplyAction",
    };
    model::Settings {
        odata_type: "#microsoft.graph.accessReviewScheduleSettings",
        mail_notifications_enabled: d.mail_notifications,
        reminder_notifications_enabled: d.reminders().is_some(),
        justification_required_on_approval: d.justification_required,
        default_decision_enabled: d.default_decision != DefaultDecision::None,
        default_decision: d.default_decision.as_str(),
        instance_duration_in_days: d.duration_days,
        auto_apply_decisions_enabled: d.auto_apply,
        recommendations_enabled: d.recommendations_enabled,
        recommendation_look_back_duration: days(d.lookback_days),
        apply_actions: vec![model::ApplyAction { odata_type: apply }],
        recurrence: model::Recurrence { pattern, range },
        decision_histories_for_reviewers_enabled: None,
    }
}

/// Graph's filter of a guests-only scope.
const GUESTS_ONLY: &str = "$count=true&$filter=(userType eq 'Guest')";

/// The Graph query naming a resource's principals.
fn resource_query(kind: ResourceKind, id: &str, guests: bool) -> String {
    match kind {
        ResourceKind::Group if guests => {
            format!("/groups/{id}/transitiveMembers/microsoft.graph.user/?{GUESTS_ONLY}")
        }
        ResourceKind::Group => format!("/groups/{id}/transitiveMembers"),
        ResourceKind::Application => format!("/servicePrincipals/{id}/appRoleAssignedTo"),
        ResourceKind::Role => format!(
            "/roleManagement/directory/roleAssignmentScheduleInstances?$expand=principal&$filter=(isof(principal,'microsoft.graph.user') and roleDefinitionId eq '{id}')"
        ),
    }
}

/// Where a resource is in Graph.
fn resource_path(kind: ResourceKind, id: &str) -> String {
    match kind {
        ResourceKind::Group => format!("/groups/{id}"),
        ResourceKind::Application => format!("/servicePrincipals/{id}"),
        ResourceKind::Role => format!("/roleManagement/directory/roleDefinitions/{id}"),
    }
}

/// How Graph types a decision's resource.
fn resource_type(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Group => "group",
        ResourceKind::Application => "servicePrincipal",
        ResourceKind::Role => "directoryRole",
    }
}

/// A whole series: scope, instance enumeration, reviewers and settings.
fn definition_json(detail: &DefinitionDetail) -> model::Definition {
    use model::{QUERY_SCOPE_TYPE, REVIEWER_SCOPE_TYPE, Scope};
    let d = &detail.definition;
    let mut out = definition_summary(d);
    let reviewed: Vec<_> = detail.resources.iter().filter(|r| !r.excluded).collect();
    let guests = d.user_scope == UserScopeKind::Guests || d.scope_kind == ScopeKind::GuestGroups;
    let mut scope = match reviewed.as_slice() {
        [one] => Scope::new(QUERY_SCOPE_TYPE, resource_query(one.kind, &one.id, guests), None),
        _ if guests => Scope::new(QUERY_SCOPE_TYPE, format!("./members/microsoft.graph.user/?{GUESTS_ONLY}"), None),
        _ => Scope::new(QUERY_SCOPE_TYPE, "./members", None),
    };
    if let (Some(inactive), UserScopeKind::Inactive) = (d.inactive_days, d.user_scope) {
        scope.odata_type = model::INACTIVE_SCOPE_TYPE;
        scope.inactive_duration = Some(days(inactive));
    }
    out.scope = Some(scope);
    if reviewed.len() > 1 || d.scope_kind == ScopeKind::GuestGroups {
        let ids: Vec<String> = reviewed.iter().map(|r| format!("id eq '{}'", r.id)).collect();
        let query = if reviewed.is_empty() {
            "/groups?$filter=(groupTypes/any(c:c+eq+'Unified'))".to_owned()
        } else {
            format!("/groups?$filter=({})", ids.join(" or "))
        };
        out.instance_enumeration_scope = Some(Scope::new(QUERY_SCOPE_TYPE, query, None));
    }
    // Who reviews, as Graph says it: named people, or a query (owners of the one resource,
    // the manager, nobody for a self-review).
    let scopes = |kind: ReviewerKind, named: &[(UserRef, bool)], fallback: bool| -> Vec<Scope> {
        let reviewer = |query: String| vec![Scope::new(REVIEWER_SCOPE_TYPE, query, None)];
        match (kind, fallback) {
            (ReviewerKind::Selected, _) | (_, true) => named
                .iter()
                .filter(|(_, f)| *f == fallback)
                .map(|(u, _)| Scope::new(REVIEWER_SCOPE_TYPE, format!("/users/{}", u.id), None))
                .collect(),
            (ReviewerKind::Self_, false) => Vec::new(),
            (ReviewerKind::Managers, false) => vec![Scope::new(REVIEWER_SCOPE_TYPE, "./manager", Some("decisions"))],
            (ReviewerKind::Owners, false) => match reviewed.as_slice() {
                [one] if one.kind == ResourceKind::Group => reviewer(format!("/groups/{}/owners", one.id)),
                [one] if one.kind == ResourceKind::Application => {
                    reviewer(format!("/servicePrincipals/{}/owners", one.id))
                }
                _ => reviewer("./owners".into()),
            },
        }
    };
    out.reviewers = Some(scopes(d.reviewer_kind, &detail.reviewers, false));
    out.fallback_reviewers = Some(scopes(d.reviewer_kind, &detail.reviewers, true));
    if !detail.stages.is_empty() {
        out.settings.decision_histories_for_reviewers_enabled =
            Some(detail.stages.iter().any(|(s, _)| s.decision_histories));
        let last = detail.stages.len();
        out.stage_settings = Some(
            detail
                .stages
                .iter()
                .enumerate()
                .map(|(i, (s, named))| model::StageSettings {
                    stage_id: s.stage.to_string(),
                    depends_on: if s.stage > 1 { vec![(s.stage - 1).to_string()] } else { Vec::new() },
                    duration_in_days: s.duration_days,
                    recommendations_enabled: s.recommendations_enabled,
                    decisions_that_will_move_to_next_stage: if i + 1 == last {
                        Vec::new()
                    } else {
                        Moves::stored(&s.moves).unwrap_or_default().iter().map(Move::as_str).collect()
                    },
                    reviewers: scopes(s.reviewer_kind, named, false),
                    fallback_reviewers: scopes(s.reviewer_kind, named, true),
                })
                .collect(),
        );
    }
    out
}

fn instance_json(i: &InstanceRow) -> model::Instance {
    model::Instance {
        odata_type: model::INSTANCE_TYPE,
        id: i.id.clone(),
        start_date_time: time(i.start_at),
        end_date_time: time(i.end_at),
        status: i.status.as_str(),
        scope: model::Scope::new(model::QUERY_SCOPE_TYPE, resource_query(i.resource_type, &i.resource_id, false), None),
    }
}

fn decision_json(
    i: &ListedItem,
    instance: &InstanceRow,
    names: &std::collections::HashMap<String, String>,
    public_url: &str,
) -> model::DecisionItem {
    let base = format!("{}/v1.0", public_url.trim_end_matches('/'));
    let identity = |id: &Option<String>| match id {
        Some(id) => model::UserIdentity::new(id.clone(), names.get(id).cloned().unwrap_or_default(), None),
        None => model::UserIdentity::nobody(),
    };
    model::DecisionItem {
        odata_type: model::DECISION_TYPE,
        id: i.id.clone(),
        access_review_id: instance.id.clone(),
        decision: i.decision.as_str(),
        justification: i.justification.clone(),
        recommendation: i.recommendation.as_str(),
        reviewed_date_time: i.reviewed_at.map(time),
        reviewed_by: identity(&i.reviewed_by),
        applied_date_time: i.applied_at.map(time),
        apply_result: i.apply_result.as_str(),
        applied_by: identity(&i.applied_by),
        principal_link: format!("{base}/users/{}", i.principal_id),
        resource_link: format!("{base}{}", resource_path(instance.resource_type, &instance.resource_id)),
        principal: model::UserIdentity::new(
            i.principal_id.clone(),
            i.principal_name.clone(),
            Some(i.principal_upn.clone()),
        ),
        resource: model::DecisionResource {
            odata_type: "#microsoft.graph.accessReviewInstanceDecisionItemResource",
            id: instance.resource_id.clone(),
            display_name: instance.resource_name.clone(),
            kind: resource_type(instance.resource_type),
        },
        insights: vec![model::SignInInsight {
            odata_type: "#microsoft.graph.userSignInInsight",
            insight_created_date_time: None,
            last_sign_in_date_time: i.last_sign_in.map(time),
        }],
    }
}
