//! Graph's review-history reports (`historyDefinitions`) as a script written for Microsoft
//! Graph meets them: a client asks for a report of a period, lists and reads it, gets a
//! download link that works without a token for 24 hours, and fetches the CSV, which is
//! the admin page's review-history download for the same filters, byte for byte. Only
//! admins and application clients may; changes need write permission; bad bodies are
//! refused naming the property; a tampered or expired link is refused; a deleted report
//! is gone.

use attest::domain::api::Permission;
use attest::service::api_access;
use attest::store;
use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::api::{client, token};
use crate::helpers::{Spawn, TestApp, spawn_admin_app};

const BASE: &str = "/v1.0/identityGovernance/accessReviews";
const HISTORY: &str = "/v1.0/identityGovernance/accessReviews/historyDefinitions";
const QUERY_SCOPE: &str = "#microsoft.graph.accessReviewQueryScope";

/// A client's bearer token with `permission`, and the client's id.
async fn client_token(app: &TestApp, permission: &str) -> (String, String) {
    let (id, secret) = client(app, permission);
    (token(app, &id, &secret).await, id)
}

/// A request with a bearer token and an optional JSON body: (status, JSON, headers).
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    bearer: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = app.client.request(method, format!("{}{path}", app.address)).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

async fn get(app: &TestApp, bearer: &str, path: &str) -> (u16, Value) {
    let (status, body, _) = call(app, reqwest::Method::GET, bearer, path, None).await;
    (status, body)
}

async fn post(app: &TestApp, bearer: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, body, _) = call(app, reqwest::Method::POST, bearer, path, body).await;
    (status, body)
}

async fn delete(app: &TestApp, bearer: &str, path: &str) -> u16 {
    call(app, reqwest::Method::DELETE, bearer, path, None).await.0
}

fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty(), "{body}");
    assert!(body["error"]["innerError"]["request-id"].as_str().is_some_and(|r| r.len() == 36), "{body}");
}

/// The message of a 400, after checking it is one.
fn bad_request_message(status: u16, body: &Value) -> String {
    assert_eq!(status, 400, "{body}");
    assert_graph_error(body, "BadRequest");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// Graph's scope for the reviews of one kind of resource, as its documentation writes it.
fn scope(kind: &str) -> Value {
    json!({
        "@odata.type": QUERY_SCOPE,
        "queryType": "MicrosoftGraph",
        "query": format!("/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '{kind}')"),
        "queryRoot": null
    })
}

/// A report of November 2026 (the demo's reviews run then).
fn november(decisions: &[&str], scopes: &[Value]) -> Value {
    json!({
        "displayName": "November evidence",
        "decisions": decisions,
        "reviewHistoryPeriodStartDateTime": "2026-11-01T00:00:00Z",
        "reviewHistoryPeriodEndDateTime": "2026-11-30T23:59:59Z",
        "scopes": scopes,
        "someFutureProperty": {"nested": true}
    })
}

/// The body of a GET without any credential (no token, no cookie), as a script fetches
/// Graph's download link: (status, content type, body).
async fn fetch_plain(url: &str) -> (u16, String, Vec<u8>) {
    let res = Spawn::client().get(url).send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

/// The admin page's review-history CSV for `query`, as the signed-in admin downloads it.
async fn page_csv(app: &TestApp, query: &str) -> Vec<u8> {
    let res = app.client.get(format!("{}/admin/access-reviews/history.csv?{query}", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

/// The download link of a report, generated with `bearer`.
async fn download_uri(app: &TestApp, bearer: &str, id: &str) -> (String, Value) {
    let (status, instance) =
        post(app, bearer, &format!("{HISTORY}/{id}/instances/{id}/generateDownloadUri"), None).await;
    assert_eq!(status, 200, "{instance}");
    (instance["downloadUri"].as_str().unwrap().to_owned(), instance)
}

fn rows(csv: &[u8]) -> usize {
    String::from_utf8_lossy(csv).lines().count()
}

#[tokio::test]
async fn a_client_asks_for_a_report_reads_it_and_deletes_it_and_each_change_is_audited() {
    let app = spawn_admin_app().await;
    let (writer, client_id) = client_token(&app, "AccessReview.ReadWrite.All").await;
    let (reader, _) = client_token(&app, "AccessReview.Read.All").await;

    let body = november(&["approve", "Deny", "notNotified"], &[scope("/groups"), scope("/servicePrincipals")]);
    let (status, created, headers) = call(&app, reqwest::Method::POST, &writer, HISTORY, Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"].to_str().unwrap(), format!("{}{HISTORY}/{id}", app.address));
    assert_eq!(created["@odata.type"], "#microsoft.graph.accessReviewHistoryDefinition");
    assert!(created["@odata.context"].as_str().unwrap().ends_with("historyDefinitions/$entity"), "{created}");
    assert_eq!(created["displayName"], "November evidence");
    assert_eq!(created["reviewHistoryPeriodStartDateTime"], "2026-11-01T00:00:00Z");
    assert_eq!(created["reviewHistoryPeriodEndDateTime"], "2026-11-30T23:59:59Z");
    assert_eq!(created["decisions"], json!(["approve", "deny", "notNotified"]));
    assert_eq!(created["scopes"], json!([scope("/groups"), scope("/servicePrincipals")]), "scopes as sent");
    assert_eq!(created["status"], "done");
    assert_eq!(created["createdDateTime"], "2026-11-28T09:00:00Z");
    assert_eq!(created["fulfilledDateTime"], "2026-11-28T09:00:00Z");
    assert_eq!(created["createdBy"]["id"], client_id.as_str());
    assert_eq!(created["createdBy"]["displayName"], "API client GRC export");
    assert_eq!(app.count(&format!("audit_events WHERE action = 'CreateReviewHistoryDefinition' AND target_id = '{id}' AND actor_id = '{client_id}'")), 1);

    // Every decision and every kind when the body names none.
    let (status, all) = post(
        &app,
        &writer,
        HISTORY,
        Some(&json!({"displayName": "All of 2026", "reviewHistoryPeriodStartDateTime": "2026-01-01T00:00:00+02:00", "reviewHistoryPeriodEndDateTime": "2026-12-31T00:00:00Z"})),
    )
    .await;
    assert_eq!(status, 201, "{all}");
    assert_eq!(all["decisions"], json!(["approve", "deny", "notReviewed", "dontKnow", "notNotified"]));
    assert_eq!(all["scopes"], json!([]));
    assert_eq!(all["reviewHistoryPeriodStartDateTime"], "2025-12-31T22:00:00Z", "times are kept in UTC");

    // A reader lists, pages and reads them.
    let (status, list) = get(&app, &reader, &format!("{HISTORY}?$top=1")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["value"][0]["displayName"], "All of 2026", "by name");
    let next = list["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}{HISTORY}?", app.address)), "{next}");
    let res = app.client.get(next).bearer_auth(&reader).send().await.unwrap();
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["value"][0]["id"], id.as_str());
    assert!(second.get("@odata.nextLink").is_none(), "{second}");
    let (status, one) = get(&app, &reader, &format!("{HISTORY}/{id}")).await;
    assert_eq!(status, 200);
    for property in
        ["id", "displayName", "decisions", "scopes", "status", "createdBy", "reviewHistoryPeriodEndDateTime"]
    {
        assert_eq!(one[property], created[property], "{property}");
    }
    let (_, selected) = get(&app, &reader, &format!("{HISTORY}/{id}?$select=displayName")).await;
    assert!(selected.get("decisions").is_none() && selected["displayName"] == "November evidence", "{selected}");

    // Its one instance, with the report's id; no link until one is generated.
    let (status, instances) = get(&app, &reader, &format!("{HISTORY}/{id}/instances")).await;
    assert_eq!(status, 200, "{instances}");
    let values = instances["value"].as_array().unwrap();
    assert_eq!(values.len(), 1, "{instances}");
    let instance = &values[0];
    assert_eq!(instance["@odata.type"], "#microsoft.graph.accessReviewHistoryInstance");
    assert_eq!(instance["id"], id.as_str());
    assert_eq!(instance["status"], "done");
    assert_eq!(instance["reviewHistoryPeriodStartDateTime"], "2026-11-01T00:00:00Z");
    assert_eq!(instance["runDateTime"], "2026-11-28T09:00:00Z");
    assert!(instance["downloadUri"].is_null() && instance["expirationDateTime"].is_null(), "{instance}");

    // A reader changes nothing, not even a link.
    for (status, body) in [
        post(&app, &reader, HISTORY, Some(&body)).await,
        post(&app, &reader, &format!("{HISTORY}/{id}/instances/{id}/generateDownloadUri"), None).await,
    ] {
        assert_eq!(status, 403, "{body}");
        assert_graph_error(&body, "Forbidden");
    }
    assert_eq!(delete(&app, &reader, &format!("{HISTORY}/{id}")).await, 403);

    // Deleted: gone, and audited.
    assert_eq!(delete(&app, &writer, &format!("{HISTORY}/{id}")).await, 204);
    let (status, body) = get(&app, &reader, &format!("{HISTORY}/{id}")).await;
    assert_eq!(status, 404);
    assert_graph_error(&body, "ResourceNotFound");
    assert_eq!(get(&app, &reader, &format!("{HISTORY}/{id}/instances")).await.0, 404);
    assert_eq!(delete(&app, &writer, &format!("{HISTORY}/{id}")).await, 404);
    assert_eq!(
        app.count(&format!("audit_events WHERE action = 'DeleteReviewHistoryDefinition' AND target_id = '{id}'")),
        1
    );
    // The series' own routes are untouched by the reports'.
    assert_eq!(get(&app, &reader, &format!("{BASE}/definitions?$top=1")).await.0, 200);
}

#[tokio::test]
async fn people_need_an_admin_role_for_reports() {
    let app = spawn_admin_app().await;
    let now = app.clock_now();
    let admin = store::users::by_upn(&mut app.conn(), attest::demo::personas::ADMIN).unwrap().unwrap();
    let user = store::users::by_upn(&mut app.conn(), attest::demo::personas::USER).unwrap().unwrap();
    let owner = store::users::by_upn(&mut app.conn(), attest::demo::personas::OWNER).unwrap().unwrap();
    let (_, admin_pat) =
        api_access::create_personal(&mut app.conn(), &admin, "ops", Permission::ReadWrite, None, now).unwrap();
    let body = november(&["deny"], &[scope("/groups")]);

    let (status, created) = post(&app, &admin_pat, HISTORY, Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["createdBy"]["id"], admin.id.as_str());
    assert_eq!(created["createdBy"]["displayName"], admin.display_name.as_str());
    assert_eq!(created["createdBy"]["userPrincipalName"], admin.upn.as_str());
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'CreateReviewHistoryDefinition' AND actor_id = '{}'",
            admin.id
        )),
        1
    );

    // Neither a plain user nor an owner who manages their own reviews reads every decision.
    for person in [&user, &owner] {
        let (_, pat) =
            api_access::create_personal(&mut app.conn(), person, "script", Permission::ReadWrite, None, now).unwrap();
        for (status, answer) in [
            get(&app, &pat, HISTORY).await,
            get(&app, &pat, &format!("{HISTORY}/{id}")).await,
            post(&app, &pat, HISTORY, Some(&body)).await,
            post(&app, &pat, &format!("{HISTORY}/{id}/instances/{id}/generateDownloadUri"), None).await,
        ] {
            assert_eq!(status, 403, "{}: {answer}", person.upn);
            assert_graph_error(&answer, "Forbidden");
        }
        assert_eq!(delete(&app, &pat, &format!("{HISTORY}/{id}")).await, 403);
    }
    assert_eq!(app.count("review_history_definitions"), 1);
    // No token at all: 401, as everywhere in the API.
    let res = Spawn::client().get(format!("{}{HISTORY}", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_what_to_fix_and_nothing_is_stored() {
    let app = spawn_admin_app().await;
    let (writer, _) = client_token(&app, "AccessReview.ReadWrite.All").await;
    let good = november(&["approve"], &[scope("/groups")]);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (
            with("reviewHistoryPeriodEndDateTime", json!("2026-10-01T00:00:00Z")),
            &["reviewHistoryPeriodEndDateTime", "on or after"],
        ),
        // The same day, the end's time before the start's.
        (
            json!({"displayName": "x", "reviewHistoryPeriodStartDateTime": "2026-11-01T12:00:00Z", "reviewHistoryPeriodEndDateTime": "2026-11-01T08:00:00Z"}),
            &["reviewHistoryPeriodEndDateTime"],
        ),
        (with("decisions", json!(["approve", "maybe"])), &["decisions", "maybe", "notReviewed"]),
        (with("decisions", json!("approve")), &["decisions"]),
        (with("scopes", json!([scope("/printers")])), &["scopes", "/printers", "/groups"]),
        (with("scopes", json!([{"queryType": "MicrosoftGraph"}])), &["scopes[0]", "query"]),
        (
            with("reviewHistoryPeriodStartDateTime", json!("yesterday")),
            &["reviewHistoryPeriodStartDateTime", "RFC 3339"],
        ),
        (
            with("reviewHistoryPeriodStartDateTime", json!("1999-12-31T00:00:00Z")),
            &["reviewHistoryPeriodStartDateTime", "2000-01-01"],
        ),
        (with("reviewHistoryPeriodEndDateTime", Value::Null), &["reviewHistoryPeriodEndDateTime", "missing"]),
        (with("displayName", json!("  ")), &["displayName"]),
        (with("displayName", json!("x".repeat(257))), &["displayName", "256"]),
        (json!(["not", "an", "object"]), &["JSON object"]),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&app, &writer, HISTORY, Some(&body)).await;
        let message = bad_request_message(status, &answer);
        for part in expected {
            assert!(message.contains(part), "{part:?} not in {message:?} for {body}");
        }
    }
    // Every problem at once.
    let (status, answer) = post(
        &app,
        &writer,
        HISTORY,
        Some(&json!({"displayName": "", "decisions": ["maybe"], "scopes": [scope("/users")], "reviewHistoryPeriodStartDateTime": "2026-11-02T00:00:00Z", "reviewHistoryPeriodEndDateTime": "2026-11-01T00:00:00Z"})),
    )
    .await;
    let message = bad_request_message(status, &answer);
    for field in ["displayName", "decisions", "scopes", "reviewHistoryPeriodEndDateTime"] {
        assert!(message.contains(field), "{field} not in {message}");
    }
    // Not JSON at all.
    let res = app
        .client
        .post(format!("{}{HISTORY}", app.address))
        .bearer_auth(&writer)
        .header("content-type", "application/json")
        .body("{displayName")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("review_history_definitions"), 0);
    assert_eq!(app.count("audit_events WHERE action = 'CreateReviewHistoryDefinition'"), 0);
}

#[tokio::test]
async fn the_download_link_serves_the_admin_pages_csv_without_a_token_until_it_expires() {
    let app = spawn_admin_app().await;
    let (client_id, secret) = client(&app, "AccessReview.ReadWrite.All");
    let writer = token(&app, &client_id, &secret).await;
    // Decisions to filter on (the demo's reviews have only just started), one reason a
    // formula that the report must not let a spreadsheet run. Only in reviews of groups and
    // applications: the role reviews keep people not reviewed, whatever the random ids.
    let not_roles = format!(
        "instance_id IN (SELECT id FROM review_instances WHERE resource_type <> '{}')",
        attest::domain::review::ResourceKind::Role.as_str()
    );
    app.exec(&format!(
        "UPDATE review_decision_items SET decision = 'Deny', justification = '=HYPERLINK(\"http://x\")' \
         WHERE id IN (SELECT id FROM review_decision_items WHERE {not_roles} ORDER BY id LIMIT 60)"
    ));
    app.exec(&format!(
        "UPDATE review_decision_items SET decision = 'Approve' WHERE id IN \
         (SELECT id FROM review_decision_items WHERE decision = 'NotReviewed' AND {not_roles} \
         ORDER BY principal_id LIMIT 60)"
    ));

    // Every decision of every kind of review in November, and the denials and approvals of
    // groups and applications only: each the page's CSV for the same filters.
    let all_results = "result=Approve&result=Deny&result=DontKnow&result=NotReviewed";
    let cases = [
        (
            november(&[], &[]),
            format!("from=2026-11-01&to=2026-11-30&kind=group&kind=application&kind=role&{all_results}"),
        ),
        (
            november(&["deny", "APPROVE"], &[scope("/groups"), scope("/servicePrincipals")]),
            "from=2026-11-01&to=2026-11-30&kind=group&kind=application&result=Deny&result=Approve".to_owned(),
        ),
        (
            november(&["notReviewed"], &[json!({"query": "/roleManagement/directory/roleDefinitions"})]),
            "from=2026-11-01&to=2026-11-30&kind=role&result=NotReviewed".to_owned(),
        ),
    ];
    let mut first = None;
    for (body, query) in &cases {
        let (status, created) = post(&app, &writer, HISTORY, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        let (uri, instance) = download_uri(&app, &writer, &id).await;
        assert_eq!(instance["id"], id.as_str());
        assert_eq!(instance["status"], "done");
        assert_eq!(instance["expirationDateTime"], "2026-11-29T09:00:00Z", "24 hours");
        let prefix = format!("{}{HISTORY}/{id}/instances/{id}/report.csv?", app.address);
        assert!(uri.starts_with(&prefix), "{uri}");

        let (status, kind, csv) = fetch_plain(&uri).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&csv));
        assert!(kind.starts_with("text/csv"), "{kind}");
        assert!(csv.starts_with(b"\xEF\xBB\xBFAccessReviewId,SeriesId,ReviewType"), "the page's columns");
        let expected = page_csv(&app, query).await;
        assert!(rows(&expected) > 1, "the demo has rows for {query}");
        assert_eq!(String::from_utf8_lossy(&csv), String::from_utf8_lossy(&expected), "{query}");
        if query.contains("Deny") {
            let text = String::from_utf8_lossy(&csv);
            assert!(text.contains("\"'=HYPERLINK("), "formula cells are guarded");
            assert!(!text.contains(",=HYPERLINK") && !text.contains(",\"=HYPERLINK"), "no bare formula");
        }
        first.get_or_insert((id, uri));
    }
    let (id, uri) = first.unwrap();

    // notNotified alone: attest notifies every reviewer, so the report has no row.
    let (_, only) = post(&app, &writer, HISTORY, Some(&november(&["notNotified"], &[]))).await;
    let (empty_uri, _) = download_uri(&app, &writer, only["id"].as_str().unwrap()).await;
    let (status, _, csv) = fetch_plain(&empty_uri).await;
    assert_eq!(status, 200);
    assert_eq!(rows(&csv), 1, "{}", String::from_utf8_lossy(&csv));

    // A link that is not the one attest signed is refused: another signature, another
    // expiry, another report, or none.
    let (base, query) = uri.split_once('?').unwrap();
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let value = |name: &str| params.iter().find(|(k, _)| k == name).unwrap().1.clone();
    let (expires, sig) = (value("expires"), value("sig"));
    let flipped = {
        let mut s = sig.clone();
        let last = s.pop().unwrap();
        s.push(if last == 'A' { 'B' } else { 'A' });
        s
    };
    let later: i64 = expires.parse::<i64>().unwrap() + 3600;
    let other_report = base.replace(&id, only["id"].as_str().unwrap());
    for tampered in [
        format!("{base}?expires={expires}&sig={flipped}"),
        format!("{base}?expires={later}&sig={sig}"),
        format!("{other_report}?expires={expires}&sig={sig}"),
        format!("{base}?expires={expires}"),
        base.to_owned(),
    ] {
        let (status, kind, body) = fetch_plain(&tampered).await;
        assert_eq!(status, 403, "{tampered}");
        assert!(kind.starts_with("application/json"), "{kind}");
        assert_graph_error(&serde_json::from_slice(&body).unwrap(), "Forbidden");
    }
    // A bearer token is no substitute for the signature.
    let res = app.client.get(base).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(res.status(), 403);

    // A day later the link has expired; a new one works.
    app.clock.advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    let (status, _, body) = fetch_plain(&uri).await;
    assert_eq!(status, 403);
    let message = serde_json::from_slice::<Value>(&body).unwrap()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("generateDownloadUri"), "{message}");
    // (The client's hour-long token has expired too.)
    let writer = token(&app, &client_id, &secret).await;
    let (fresh, instance) = download_uri(&app, &writer, &id).await;
    assert_eq!(instance["expirationDateTime"], "2026-11-30T09:00:01Z");
    assert_eq!(fetch_plain(&fresh).await.0, 200);

    // Deleted: its links find nothing.
    assert_eq!(delete(&app, &writer, &format!("{HISTORY}/{id}")).await, 204);
    let (status, _, body) = fetch_plain(&fresh).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert_graph_error(&serde_json::from_slice(&body).unwrap(), "ResourceNotFound");
    let (status, _) = post(&app, &writer, &format!("{HISTORY}/{id}/instances/{id}/generateDownloadUri"), None).await;
    assert_eq!(status, 404);
}
