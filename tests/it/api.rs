//! The Graph-compatible API as a script written for Microsoft Graph meets it: a client
//! registered on the command line gets a token with the client-credentials grant, pages
//! through series, occurrences and decisions by following absolute next links, filters,
//! and is refused what its permission does not allow; a reviewer's personal access token
//! sees and decides exactly what their access panel does.

use std::process::Command;

use attest::domain::api::Permission;
use attest::service::api_access;
use attest::store;
use serde_json::Value;

use crate::helpers::{Spawn, TestApp, percent_encoded, secret_key_file, spawn_admin_app};

const BASE: &str = "/v1.0/identityGovernance/accessReviews";

/// A registered client's id and secret (`attest api-client create`).
pub(crate) fn client(app: &TestApp, permission: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["api-client", "create", "--name", "GRC export", "--permission", permission])
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .env("ATTEST_SECRET_KEY_FILE", secret_key_file())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}{text}", String::from_utf8_lossy(&out.stderr));
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap_or_else(|| panic!("{text}"))
    };
    (field("client_id:"), field("client_secret:"))
}

/// A token from the token endpoint, as an SDK's client-credentials flow asks for it.
pub(crate) async fn token(app: &TestApp, id: &str, secret: &str) -> String {
    let res = app
        .client
        .post(format!("{}/contoso/oauth2/v2.0/token", app.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    body["access_token"].as_str().unwrap().to_owned()
}

/// GETs `url` (absolute, or a path) with a bearer token: (status, JSON, headers).
async fn get(app: &TestApp, bearer: &str, url: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", app.address) };
    let res = app.client.get(url).bearer_auth(bearer).send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

async fn patch(app: &TestApp, bearer: &str, path: &str, body: &Value) -> (u16, Value) {
    let res = app.client.patch(format!("{}{path}", app.address)).bearer_auth(bearer).json(body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Every value of a collection, following `@odata.nextLink`; and how many pages.
async fn all_pages(app: &TestApp, bearer: &str, first: &str) -> (Vec<Value>, usize) {
    let (mut values, mut pages, mut next) = (Vec::new(), 0, Some(first.to_owned()));
    while let Some(url) = next {
        let (status, body, _) = get(app, bearer, &url).await;
        assert_eq!(status, 200, "{url}: {body}");
        values.extend(body["value"].as_array().unwrap().iter().cloned());
        pages += 1;
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(link.starts_with("http://") && link.contains("skiptoken="), "{link}");
        }
        assert!(pages < 10_000, "paging never ends");
    }
    (values, pages)
}

fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    assert!(body["error"]["innerError"]["request-id"].as_str().is_some_and(|r| r.len() == 36), "{body}");
    assert!(body["error"]["innerError"]["date"].as_str().is_some());
}

#[tokio::test]
async fn a_client_reads_series_instances_and_every_decision_page_by_page() {
    let app = spawn_admin_app().await;
    let (id, secret) = client(&app, "AccessReview.Read.All");
    let bearer = token(&app, &id, &secret).await;

    // Series, one per page: the next link is absolute and the pages do not overlap.
    let (series, pages) = all_pages(&app, &bearer, &format!("{BASE}/definitions?$top=1")).await;
    assert!(series.len() >= 2, "the demo has reviews: {series:?}");
    assert_eq!(pages, series.len());
    let mut ids: Vec<&str> = series.iter().map(|s| s["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), series.len());
    assert_eq!(series[0]["@odata.type"], "#microsoft.graph.accessReviewScheduleDefinition");

    // A series in progress, whole: scope, reviewers, settings.
    let instance: store::instances::InstanceRow = {
        use attest::db::schema::review_instances as i;
        use diesel::prelude::*;
        i::table
            .filter(i::status.eq("InProgress"))
            .order(i::total_items.desc())
            .select(store::instances::InstanceRow::as_select())
            .first(&mut *app.conn())
            .unwrap()
    };
    let def = &instance.definition_id;
    let (status, one, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}")).await;
    assert_eq!(status, 200, "{one}");
    assert!(one["scope"]["query"].as_str().is_some(), "{one}");
    assert!(one["settings"]["instanceDurationInDays"].as_i64().is_some(), "{one}");
    assert!(one["@odata.context"].as_str().unwrap().ends_with("definitions/$entity"));
    let (_, selected, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}?$select=displayName")).await;
    assert!(selected.get("settings").is_none() && selected["displayName"].is_string(), "{selected}");

    let (status, instances, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}/instances")).await;
    assert_eq!(status, 200);
    assert!(instances["value"].as_array().unwrap().iter().any(|i| i["id"] == instance.id.as_str()));

    // Every decision, 7 a page.
    let path = format!("{BASE}/definitions/{def}/instances/{}/decisions", instance.id);
    let (decisions, pages) = all_pages(&app, &bearer, &format!("{path}?$top=7")).await;
    assert_eq!(decisions.len(), usize::try_from(instance.total_items).unwrap());
    assert_eq!(pages, decisions.len().div_ceil(7).max(1));
    let d = &decisions[0];
    assert_eq!(d["@odata.type"], "#microsoft.graph.accessReviewInstanceDecisionItem");
    assert_eq!(d["principal"]["@odata.type"], "#microsoft.graph.userIdentity");
    assert_eq!(d["resource"]["id"], instance.resource_id.as_str());
    assert!(d["principalLink"].as_str().unwrap().starts_with("http://"));
    let (status, single, _) = get(&app, &bearer, &format!("{path}/{}", d["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(single["id"], d["id"]);

    // Filters: those Graph's clients send, and a clear 400 for the rest.
    let (filtered, _) = all_pages(&app, &bearer, &format!("{path}?$filter=decision%20eq%20%27NotReviewed%27")).await;
    assert!(filtered.iter().all(|d| d["decision"] == "NotReviewed"));
    let either = "(decision eq 'NotReviewed' or decision eq 'Deny') and applyResult eq 'New'";
    let (both, _) = all_pages(&app, &bearer, &format!("{path}?$top=50&$filter={}", percent_encoded(either))).await;
    assert_eq!(both.len(), filtered.len() + decisions.iter().filter(|d| d["decision"] == "Deny").count());
    let (not_deny, _) =
        all_pages(&app, &bearer, &format!("{path}?$filter={}", percent_encoded("recommendation ne 'Deny'"))).await;
    let expected = decisions.iter().filter(|d| d["recommendation"] != "Deny").count();
    assert_eq!(not_deny.len(), expected);
    let (_, counted, _) = get(
        &app,
        &bearer,
        &format!("{path}?$top=1&$count=true&$filter={}", percent_encoded("recommendation ne 'Deny'")),
    )
    .await;
    assert_eq!(counted["@odata.count"], expected, "{counted}");
    assert_eq!(counted["value"].as_array().unwrap().len(), 1);
    let (status, bad, _) =
        get(&app, &bearer, &format!("{path}?$filter={}", percent_encoded("decision eq 'Maybe'"))).await;
    assert_eq!(status, 400);
    let message = bad["error"]["message"].as_str().unwrap();
    assert!(message.contains("'DontKnow'") && message.contains("applyResult"), "{message}");
    let (running, _) = all_pages(
        &app,
        &bearer,
        &format!("{BASE}/definitions/{def}/instances?$filter={}", percent_encoded("status eq 'InProgress'")),
    )
    .await;
    assert!(!running.is_empty() && running.iter().all(|i| i["status"] == "InProgress"), "{running:?}");
    let (status, bad, _) = get(&app, &bearer, &format!("{path}?$filter=startswith(justification,'x')")).await;
    assert_eq!(status, 400);
    assert_graph_error(&bad, "BadRequest");
    let (status, bad, _) = get(&app, &bearer, &format!("{path}?$top=0")).await;
    assert_eq!(status, 400);
    assert!(bad["error"]["message"].as_str().unwrap().contains("$top"));
    let (status, bad, _) = get(&app, &bearer, &format!("{path}?$skiptoken=forged")).await;
    assert_eq!(status, 400, "{bad}");

    // A read-only client cannot decide; unknown objects are 404 in Graph's shape.
    let (status, body) = patch(
        &app,
        &bearer,
        &format!("{path}/{}", d["id"].as_str().unwrap()),
        &serde_json::json!({"decision": "Deny"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_graph_error(&body, "Forbidden");
    let (status, body, _) = get(&app, &bearer, &format!("{BASE}/definitions/no-such-id")).await;
    assert_eq!(status, 404);
    assert_graph_error(&body, "ResourceNotFound");
}

#[tokio::test]
async fn tokens_are_refused_when_wrong_missing_or_revoked() {
    let app = spawn_admin_app().await;
    let (id, secret) = client(&app, "AccessReview.ReadWrite.All");
    // A wrong secret: OAuth's invalid_client, and the secret is not echoed.
    let res = app
        .client
        .post(format!("{}/oauth2/v2.0/token", app.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "attest_cs_wrong"),
            ("scope", ".default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // Another grant, and a scope that is not .default.
    for (grant, scope, error) in
        [("password", ".default", "unsupported_grant_type"), ("client_credentials", "User.Read", "invalid_scope")]
    {
        let res = app
            .client
            .post(format!("{}/oauth2/v2.0/token", app.address))
            .form(&[("grant_type", grant), ("client_id", &id), ("client_secret", &secret), ("scope", scope)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], error);
    }
    // No token, a forged one.
    let res = app.client.get(format!("{}{BASE}/definitions", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_graph_error(&res.json().await.unwrap(), "InvalidAuthenticationToken");
    let (status, _, _) = get(&app, "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", &format!("{BASE}/definitions")).await;
    assert_eq!(status, 401);
    // Revoked: its live token stops working at once.
    let bearer = token(&app, &id, &secret).await;
    assert_eq!(get(&app, &bearer, &format!("{BASE}/definitions")).await.0, 200);
    let now = app.clock_now();
    api_access::revoke_client(&mut app.conn(), &id, attest::service::actor::Actor::CommandLine, now).unwrap();
    assert_eq!(get(&app, &bearer, &format!("{BASE}/definitions")).await.0, 401);
    assert_eq!(app.count("audit_events WHERE action IN ('ApiClientCreated', 'ApiClientRevoked')"), 2);
    // The secret is kept hashed.
    assert_eq!(app.count(&format!("api_clients WHERE secret_hash = '{secret}'")), 0);
}

#[tokio::test]
async fn a_reviewer_with_a_personal_token_sees_and_decides_exactly_their_items() {
    let app = spawn_admin_app().await;
    // A reviewer of a review in progress who is no admin.
    let (instance, user): (store::instances::InstanceRow, store::users::UserRow) = {
        use attest::db::schema::{review_instance_reviewers as r, review_instances as i};
        use diesel::prelude::*;
        let admin = app.user_id(attest::demo::personas::ADMIN);
        let (inst, uid): (String, String) = r::table
            .inner_join(i::table)
            .filter(i::status.eq("InProgress"))
            .filter(r::user_id.ne(admin))
            .filter(r::fallback.eq(false))
            .select((r::instance_id, r::user_id))
            .first(&mut *app.conn())
            .unwrap();
        (
            store::instances::get(&mut app.conn(), &inst).unwrap().unwrap(),
            store::users::get(&mut app.conn(), &uid).unwrap().unwrap(),
        )
    };
    let now = app.clock_now();
    let (_, pat) =
        api_access::create_personal(&mut app.conn(), &user, "my script", Permission::ReadWrite, Some(30), now).unwrap();
    assert!(pat.starts_with("attest_pat_"));
    let def = &instance.definition_id;

    // Their instances and their items, with the function segment as clients send it.
    for segment in ["filterByCurrentUser(on='reviewer')", "filterByCurrentUser(on=%27reviewer%27)"] {
        let (status, body, _) = get(&app, &pat, &format!("{BASE}/definitions/{def}/instances/{segment}")).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["value"].as_array().unwrap().iter().any(|i| i["id"] == instance.id.as_str()), "{body}");
    }
    let path = format!("{BASE}/definitions/{def}/instances/{}/decisions", instance.id);
    let (mine, _) = all_pages(&app, &pat, &format!("{path}/filterByCurrentUser(on='reviewer')?$top=50")).await;
    assert!(!mine.is_empty());
    let item = mine.iter().find(|d| d["principal"]["id"] != user.id.as_str()).unwrap();
    let item_id = item["id"].as_str().unwrap();

    // Decide one, and read it back.
    let (status, body) = patch(
        &app,
        &pat,
        &format!("{path}/{item_id}"),
        &serde_json::json!({"@odata.type": "#microsoft.graph.accessReviewInstanceDecisionItem", "decision": "Deny", "justification": "Left the project", "extra": 1}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, got, _) = get(&app, &pat, &format!("{path}/{item_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["decision"], "Deny");
    assert_eq!(got["justification"], "Left the project");
    assert_eq!(got["reviewedBy"]["id"], user.id.as_str());
    assert_eq!(got["reviewedBy"]["displayName"], user.display_name.as_str());
    // A bad decision is a 400 naming it.
    let (status, body) =
        patch(&app, &pat, &format!("{path}/{item_id}"), &serde_json::json!({"decision": "Maybe"})).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("Approve, Deny or DontKnow"), "{body}");

    // Not a manager of series: the definitions collection is forbidden; an instance they do
    // not review is not found.
    let (status, body, _) = get(&app, &pat, &format!("{BASE}/definitions")).await;
    assert_eq!(status, 403, "{body}");
    // An instance this person has nothing to do with (not a reviewer, no items assigned).
    let other: String = {
        use attest::db::schema::review_instances as i;
        use diesel::prelude::*;
        let ids: Vec<String> = i::table.select(i::id).load(&mut *app.conn()).unwrap();
        ids.into_iter()
            .find(|id| attest::service::panel::access(&mut app.conn(), id, &user.id, false).unwrap().is_none())
            .expect("an instance the person does not review")
    };
    let other_def = store::instances::get(&mut app.conn(), &other).unwrap().unwrap().definition_id;
    let (status, body, _) =
        get(&app, &pat, &format!("{BASE}/definitions/{other_def}/instances/{other}/decisions")).await;
    assert_eq!(status, 404, "{body}");
    let foreign_item: String = {
        use attest::db::schema::review_decision_items as d;
        use diesel::prelude::*;
        d::table.filter(d::instance_id.eq(&other)).select(d::id).first(&mut *app.conn()).unwrap()
    };
    let (status, _) = patch(
        &app,
        &pat,
        &format!("{BASE}/definitions/{other_def}/instances/{other}/decisions/{foreign_item}"),
        &serde_json::json!({"decision": "Approve"}),
    )
    .await;
    assert_eq!(status, 404, "another reviewer's item is not found");
    // A read-only token cannot decide.
    let (_, read) = api_access::create_personal(&mut app.conn(), &user, "read", Permission::Read, None, now).unwrap();
    let (status, _) =
        patch(&app, &read, &format!("{path}/{item_id}"), &serde_json::json!({"decision": "Approve"})).await;
    assert_eq!(status, 403);
}

async fn post_json(app: &TestApp, bearer: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.post(format!("{}{path}", app.address)).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_review_runs_its_course_over_the_api_decide_in_a_batch_stop_apply_and_read_the_results() {
    let app = spawn_admin_app().await;
    // A review of a group whose owners review it, started by the scheduler.
    crate::scheduler::create(&app, &[("name", "API lifecycle"), ("groups", "Engineering All")]).await;
    crate::scheduler::tick(&app);
    let instance = app.instance_of("API lifecycle");
    let inst = store::instances::get(&mut app.conn(), &instance).unwrap().unwrap();
    let def = inst.definition_id.clone();
    let now = app.clock_now();
    let admin = store::users::by_upn(&mut app.conn(), attest::demo::personas::ADMIN).unwrap().unwrap();
    let (_, admin_pat) =
        api_access::create_personal(&mut app.conn(), &admin, "ops", Permission::ReadWrite, None, now).unwrap();
    let reviewer: store::users::UserRow = {
        use attest::db::schema::review_instance_reviewers as r;
        use diesel::prelude::*;
        let id: String = r::table
            .filter(r::instance_id.eq(&instance))
            .filter(r::fallback.eq(false))
            .select(r::user_id)
            .first(&mut *app.conn())
            .unwrap();
        store::users::get(&mut app.conn(), &id).unwrap().unwrap()
    };
    let (_, pat) =
        api_access::create_personal(&mut app.conn(), &reviewer, "bot", Permission::ReadWrite, None, now).unwrap();
    let base = format!("{BASE}/definitions/{def}/instances/{instance}");

    // The reviewer finds the series they review in, as Graph's SDKs ask.
    let (mine, _) = all_pages(&app, &pat, &format!("{BASE}/definitions/filterByCurrentUser(on=%27reviewer%27)")).await;
    assert!(mine.iter().any(|d| d["id"] == def.as_str() && d["scope"]["query"].is_string()), "{mine:?}");

    // The reviewer denies one person in a batch, then accepts the recommendations.
    let (mine, _) = all_pages(&app, &pat, &format!("{base}/decisions/filterByCurrentUser(on='reviewer')")).await;
    let target = mine.iter().find(|d| d["principal"]["id"] != reviewer.id.as_str()).unwrap();
    let principal = target["principal"]["id"].as_str().unwrap().to_owned();
    let (status, body) = post_json(
        &app,
        &pat,
        &format!("{base}/batchRecordDecisions"),
        Some(serde_json::json!({"decision": "Deny", "justification": "Moved teams", "principalId": principal})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = post_json(&app, &pat, &format!("{base}/acceptRecommendations"), None).await;
    assert!(status == 204 || status == 400, "{status} {body}");
    // Reviewers cannot stop a review; an unknown action is a 400.
    assert_eq!(post_json(&app, &pat, &format!("{base}/stop"), None).await.0, 404);
    assert_eq!(post_json(&app, &admin_pat, &format!("{base}/explode"), None).await.0, 400);

    // The admin sends a reminder (a reviewer may not); who was mailed is listed by name.
    assert_eq!(post_json(&app, &pat, &format!("{base}/sendReminder"), None).await.0, 404);
    let (status, body) = post_json(&app, &admin_pat, &format!("{base}/sendReminder"), None).await;
    assert_eq!(status, 204, "{body}");
    let (contacted, _) = all_pages(&app, &admin_pat, &format!("{base}/contactedReviewers?$top=1")).await;
    let mailed = contacted.iter().find(|r| r["id"] == reviewer.id.as_str()).expect("the reviewer was mailed");
    assert_eq!(mailed["@odata.type"], "#microsoft.graph.accessReviewReviewer");
    assert_eq!(mailed["userPrincipalName"], reviewer.upn.as_str());
    assert_eq!(get(&app, &pat, &format!("{base}/contactedReviewers")).await.0, 404);

    // The admin stops it and applies the results; the denial shows as applied.
    let (status, body) = post_json(&app, &admin_pat, &format!("{base}/stop"), None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = post_json(&app, &admin_pat, &format!("{base}/applyDecisions"), None).await;
    assert_eq!(status, 204, "{body}");
    let (status, got, _) = get(&app, &admin_pat, &base).await;
    assert_eq!(status, 200);
    assert_eq!(got["status"], "Applied");
    let (denied, _) =
        all_pages(&app, &admin_pat, &format!("{base}/decisions?$filter=decision%20eq%20%27Deny%27")).await;
    let mine = denied.iter().find(|d| d["principal"]["id"] == principal.as_str()).unwrap();
    // Engineering All is a dynamic group: attest says it cannot remove the membership.
    let stored = store::instances::items(&mut app.conn(), &instance, 10_000)
        .unwrap()
        .into_iter()
        .find(|i| i.id == mine["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(mine["applyResult"], stored.apply_result.as_str(), "{mine}");
    assert_ne!(mine["applyResult"], "New", "{mine}");
    assert_eq!(mine["justification"], "Moved teams");
    assert_eq!(mine["appliedBy"]["id"], admin.id.as_str());
    assert!(mine["appliedDateTime"].is_string());
    // Stopping again is refused with the reason, and so is a reminder.
    let (status, body) = post_json(&app, &admin_pat, &format!("{base}/stop"), None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("already ended"), "{body}");
    let (status, body) = post_json(&app, &admin_pat, &format!("{base}/sendReminder"), None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("has ended"), "{body}");
}

#[tokio::test]
async fn admins_register_clients_and_people_make_their_own_tokens_on_the_pages() {
    let app = spawn_admin_app().await;
    // An admin registers a client; its secret is shown once and works.
    let page = app.get("/admin/api-clients").await;
    assert_eq!(page.status, 200);
    let bad = app
        .post("/admin/api-clients", &[("name", ""), ("permission", "AccessReview.Read.All"), ("days", "9999")])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text(".error-summary").contains("Give a name") && bad.text(".error-summary").contains("1 to 730"));
    let created = app
        .post("/admin/api-clients", &[("name", "GRC export"), ("permission", "AccessReview.Read.All"), ("days", "90")])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), "no-store");
    let secret = created.attrs("input#secret", "value").pop().unwrap();
    let id = created.text("dl.facts code.copy");
    let id = id.split_whitespace().next().unwrap().to_owned();
    let bearer = token(&app, &id, &secret).await;
    assert_eq!(get(&app, &bearer, &format!("{BASE}/definitions")).await.0, 200);
    let list = app.get("/admin/api-clients").await;
    assert!(!list.body.contains(&secret), "the secret is never shown again");
    assert!(list.texts("table.api-clients tbody tr")[0].contains("Live"));
    // Revoked from the page: the token stops working.
    let revoked = app.post(&format!("/admin/api-clients/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(get(&app, &bearer, &format!("{BASE}/definitions")).await.0, 401);
    // Without the CSRF token, nothing is registered.
    let forged = app
        .post_form("/admin/api-clients", &[("name", "x"), ("permission", "AccessReview.Read.All"), ("days", "9")])
        .await;
    assert_ne!(forged.status, 200);

    // Anyone signed in makes their own tokens; not admins' pages.
    app.sign_in("user").await;
    assert_eq!(app.get("/admin/api-clients").await.status, 403);
    let made =
        app.post("/tokens", &[("name", "my script"), ("permission", "AccessReview.Read.All"), ("days", "30")]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let pat = made.attrs("input#token", "value").pop().unwrap();
    assert!(pat.starts_with("attest_pat_"));
    let (status, _, _) = get(&app, &pat, &format!("{BASE}/definitions")).await;
    assert_eq!(status, 403, "a plain user manages no series");
    let again = app.get("/tokens").await;
    assert!(!again.body.contains(&pat));
    let token_id: String = {
        use attest::db::schema::personal_tokens as t;
        use diesel::prelude::*;
        t::table.select(t::id).first(&mut *app.conn()).unwrap()
    };
    assert_eq!(app.post(&format!("/tokens/{token_id}/revoke"), &[]).await.status, 303);
    assert_eq!(get(&app, &pat, &format!("{BASE}/definitions")).await.0, 401);
}

/// A quarterly review of a group by its owners, as Graph's documentation creates one.
fn quarterly_series(group: &str, fallback: &str) -> Value {
    serde_json::json!({
        "@odata.type": "#microsoft.graph.accessReviewScheduleDefinition",
        "displayName": "Quarterly Engineering review",
        "descriptionForAdmins": "SOX control 4.2",
        "descriptionForReviewers": "Keep only who still needs it",
        "scope": {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope",
            "query": format!("/groups/{group}/transitiveMembers"),
            "queryType": "MicrosoftGraph"
        },
        "reviewers": [{ "query": format!("/groups/{group}/owners"), "queryType": "MicrosoftGraph" }],
        "fallbackReviewers": [{ "query": format!("/users/{fallback}"), "queryType": "MicrosoftGraph" }],
        "settings": {
            "mailNotificationsEnabled": true,
            "reminderNotificationsEnabled": true,
            "justificationRequiredOnApproval": true,
            "defaultDecisionEnabled": true,
            "defaultDecision": "Deny",
            "instanceDurationInDays": 7,
            "autoApplyDecisionsEnabled": false,
            "recommendationsEnabled": true,
            "recommendationLookBackDuration": "P30D",
            "recurrence": {
                "pattern": { "type": "absoluteMonthly", "interval": 3 },
                "range": { "type": "noEnd", "startDate": "2026-11-28" }
            }
        },
        "someFutureProperty": true
    })
}

#[tokio::test]
async fn a_script_creates_a_quarterly_series_as_graph_documents_it_and_deletes_it() {
    let app = spawn_admin_app().await;
    let now = app.clock_now();
    let admin = store::users::by_upn(&mut app.conn(), attest::demo::personas::ADMIN).unwrap().unwrap();
    let (_, pat) =
        api_access::create_personal(&mut app.conn(), &admin, "ops", Permission::ReadWrite, None, now).unwrap();
    let group = app.group_id("Engineering All");
    let body = quarterly_series(&group, &admin.id);
    let (status, created) = post_json(&app, &pat, &format!("{BASE}/definitions"), Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["displayName"], "Quarterly Engineering review");
    assert_eq!(created["scope"]["query"], format!("/groups/{group}/transitiveMembers"));
    assert_eq!(created["settings"]["recurrence"]["pattern"]["interval"], 3);
    assert_eq!(created["settings"]["defaultDecision"], "Deny");
    assert_eq!(created["settings"]["justificationRequiredOnApproval"], true);
    assert_eq!(created["fallbackReviewers"][0]["query"], format!("/users/{}", admin.id));
    // It runs like any series: the scheduler starts its first occurrence.
    crate::scheduler::tick(&app);
    let (status, instances, _) = get(&app, &pat, &format!("{BASE}/definitions/{id}/instances")).await;
    assert_eq!(status, 200);
    assert_eq!(instances["value"].as_array().unwrap().len(), 1, "{instances}");
    assert!(instances["@odata.context"].as_str().unwrap().ends_with(&format!("definitions('{id}')/instances")));

    // Bad bodies: every problem named by its Graph property.
    let mut bad = body.clone();
    bad["displayName"] = Value::String(String::new());
    bad["settings"]["instanceDurationInDays"] = serde_json::json!(0);
    let (status, err) = post_json(&app, &pat, &format!("{BASE}/definitions"), Some(bad)).await;
    assert_eq!(status, 400);
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("displayName") && message.contains("instanceDurationInDays"), "{message}");
    let mut odd = body.clone();
    odd["scope"]["query"] = Value::String("/devices".into());
    let (status, err) = post_json(&app, &pat, &format!("{BASE}/definitions"), Some(odd)).await;
    assert_eq!(status, 400);
    assert!(err["error"]["message"].as_str().unwrap().contains("not supported"), "{err}");
    let res =
        app.client.post(format!("{}{BASE}/definitions", app.address)).bearer_auth(&pat).body("{").send().await.unwrap();
    assert_eq!(res.status(), 400);

    // PATCH changes what it names and keeps the rest; PUT takes the whole object.
    let res = app
        .client
        .patch(format!("{}{BASE}/definitions/{id}", app.address))
        .bearer_auth(&pat)
        .json(&serde_json::json!({"displayName": "Quarterly Engineering (SOX)", "settings": {"defaultDecision": "Approve"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["displayName"], "Quarterly Engineering (SOX)");
    assert_eq!(changed["settings"]["defaultDecision"], "Approve");
    assert_eq!(changed["settings"]["justificationRequiredOnApproval"], true, "kept");
    assert_eq!(changed["descriptionForAdmins"], "SOX control 4.2", "kept");
    let mut whole = body.clone();
    whole["displayName"] = Value::String("Quarterly Engineering".into());
    let res = app
        .client
        .put(format!("{}{BASE}/definitions/{id}", app.address))
        .bearer_auth(&pat)
        .json(&whole)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["settings"]["defaultDecision"], "Deny");
    let res = app
        .client
        .patch(format!("{}{BASE}/definitions/{id}", app.address))
        .bearer_auth(&pat)
        .json(&serde_json::json!({"displayName": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Microsoft's Python SDK sends back a duration it read as Python writes one.
    let mut python = whole.clone();
    python["settings"]["recommendationLookBackDuration"] = Value::String("30 days, 0:00:00".into());
    let res = app
        .client
        .put(format!("{}{BASE}/definitions/{id}", app.address))
        .bearer_auth(&pat)
        .json(&python)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["settings"]["recommendationLookBackDuration"], "P30D");

    // Deleted: gone from the list, and as Graph forgets it, gone to every request.
    let delete = || app.client.delete(format!("{}{BASE}/definitions/{id}", app.address)).bearer_auth(&pat).send();
    assert_eq!(delete().await.unwrap().status(), 204);
    let (list, _) = all_pages(&app, &pat, &format!("{BASE}/definitions")).await;
    assert!(!list.iter().any(|d| d["id"] == id.as_str()));
    assert_eq!(delete().await.unwrap().status(), 404);
    assert_eq!(get(&app, &pat, &format!("{BASE}/definitions/{id}")).await.0, 404);
    assert_eq!(get(&app, &pat, &format!("{BASE}/definitions/{id}/instances")).await.0, 404);
    assert_eq!(post_json(&app, &pat, &format!("{BASE}/definitions/{id}/stop"), None).await.0, 404);
    assert_eq!(app.count("audit_events WHERE action = 'CreateReviewDefinition'"), app.count("review_definitions"));
}

/// A write client's script creates the quarterly series: (the client's id and secret, its
/// bearer token, the series as created).
async fn a_client_creates_the_quarterly_series(app: &TestApp) -> ((String, String), String, Value) {
    let (id, secret) = client(app, "AccessReview.ReadWrite.All");
    let bearer = token(app, &id, &secret).await;
    let admin = store::users::by_upn(&mut app.conn(), attest::demo::personas::ADMIN).unwrap().unwrap();
    let group = app.group_id("Engineering All");
    let (status, created) =
        post_json(app, &bearer, &format!("{BASE}/definitions"), Some(quarterly_series(&group, &admin.id))).await;
    assert_eq!(status, 201, "{created}");
    ((id, secret), bearer, created)
}

#[tokio::test]
async fn a_client_with_write_permission_runs_a_series_as_itself_and_decides_nothing() {
    let app = spawn_admin_app().await;
    // The script creates the quarterly series; it is recorded as the client's.
    let ((id, _), bearer, created) = a_client_creates_the_quarterly_series(&app).await;
    let def = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["createdBy"]["id"], id.as_str());
    assert_eq!(created["createdBy"]["displayName"], "API client GRC export");
    let page = app.get(&format!("/admin/access-reviews/{def}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text("main").contains("by API client GRC export"), "the series page names its creator");

    // The scheduler starts it; the client may not decide (a decision names a person).
    crate::scheduler::tick(&app);
    let instance = app.instance_of("Quarterly Engineering review");
    let base = format!("{BASE}/definitions/{def}/instances/{instance}");
    let (items, _) = all_pages(&app, &bearer, &format!("{base}/decisions")).await;
    let item = items[0]["id"].as_str().unwrap();
    let (status, body) =
        patch(&app, &bearer, &format!("{base}/decisions/{item}"), &serde_json::json!({"decision": "Deny"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("personal access token"), "{body}");
    let batch = serde_json::json!({"decision": "Approve", "justification": "ok"});
    assert_eq!(post_json(&app, &bearer, &format!("{base}/batchRecordDecisions"), Some(batch)).await.0, 400);
    assert_eq!(post_json(&app, &bearer, &format!("{base}/acceptRecommendations"), None).await.0, 400);

    // It stops the occurrence (the default decision, Deny, goes to everyone) and applies it.
    let (status, body) = post_json(&app, &bearer, &format!("{base}/stop"), None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = post_json(&app, &bearer, &format!("{base}/applyDecisions"), None).await;
    assert_eq!(status, 204, "{body}");
    let (_, got, _) = get(&app, &bearer, &base).await;
    assert_eq!(got["status"], "Applied");
    let (denied, _) = all_pages(&app, &bearer, &format!("{base}/decisions?$filter=decision%20eq%20%27Deny%27")).await;
    assert!(!denied.is_empty());
    assert!(denied.iter().all(|d| d["appliedBy"]["id"] == id.as_str()), "{denied:?}");
    assert_eq!(denied[0]["appliedBy"]["displayName"], "API client GRC export");

    // The audit trail names the client for each change it made.
    for action in ["CreateReviewDefinition", "ReviewStopped"] {
        let named: i64 = app.count(&format!(
            "audit_events WHERE action = '{action}' AND actor_name = 'API client GRC export' AND actor_id = '{id}'"
        ));
        assert_eq!(named, 1, "{action}");
    }
    let res = app
        .client
        .delete(format!("{}{BASE}/definitions/{def}", app.address))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.count("audit_events WHERE action = 'DeleteReviewDefinition' AND actor_name = 'API client GRC export'"),
        1
    );
}

#[tokio::test]
async fn series_filter_by_what_they_review_count_and_refuse_orders_they_are_not_kept_in() {
    let app = spawn_admin_app().await;
    let (_, bearer, created) = a_client_creates_the_quarterly_series(&app).await;
    let group = app.group_id("Engineering All");
    let ours = created["id"].as_str().unwrap().to_owned();
    let filtered = |filter: &str| format!("{BASE}/definitions?$count=true&$filter={}", percent_encoded(filter));

    // Every series, and those of groups, by the query Graph's documentation filters on.
    let (all, _) = all_pages(&app, &bearer, &format!("{BASE}/definitions?$top=2")).await;
    assert!(all.len() > 2, "the demo's series and ours");
    assert!(all.iter().all(|d| d["scope"]["query"].is_string()), "the list shows each series whole");
    let of_groups: Vec<&Value> =
        all.iter().filter(|d| d["scope"]["query"].as_str().unwrap().to_lowercase().contains("/groups")).collect();
    assert!(!of_groups.is_empty() && of_groups.len() < all.len(), "the demo reviews groups and other things");
    let (status, body, _) = get(&app, &bearer, &filtered("contains(scope/query, '/groups')")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["@odata.count"], of_groups.len());
    // Paged by one, the filtered pages hold the same series, in order, without repeats.
    let (paged, pages) = all_pages(
        &app,
        &bearer,
        &format!("{BASE}/definitions?$top=1&$filter={}", percent_encoded("contains(scope/query, '/groups')")),
    )
    .await;
    let ids = |list: &[Value]| list.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&paged), of_groups.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>());
    assert_eq!(pages, paged.len());
    // The type-qualified path, a group's id, and and/or with the name.
    let (_, body, _) = get(
        &app,
        &bearer,
        &filtered(&format!(
            "contains(scope/microsoft.graph.accessReviewQueryScope/query, '{group}') and displayName eq 'quarterly engineering review'"
        )),
    )
    .await;
    assert_eq!(ids(body["value"].as_array().unwrap()), vec![ours.clone()]);
    assert_eq!(body["@odata.count"], 1);
    let (_, body, _) = get(&app, &bearer, &filtered("contains(scope/query, '/nothing-like-this')")).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 0);
    assert_eq!(body["@odata.count"], 0);

    // What it cannot read is a 400 that says what it can.
    for bad in ["contains(decision, 'D')", "status eq 'Sleeping'", "contains(scope/query)"] {
        let (status, body, _) = get(&app, &bearer, &filtered(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("contains(scope/query, '/groups')"), "{body}");
    }
    let (status, body, _) = get(
        &app,
        &bearer,
        &format!("{BASE}/definitions?$filter={}", percent_encoded("contains(scope/query, '/groups'")),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Orders: the natural one is accepted, others are refused with the one there is.
    assert_eq!(get(&app, &bearer, &format!("{BASE}/definitions?$orderby=displayName")).await.0, 200);
    let (status, body, _) = get(&app, &bearer, &format!("{BASE}/definitions?$orderby=createdDateTime%20desc")).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("displayName"), "{body}");
    crate::scheduler::tick(&app);
    let instance = app.instance_of("Quarterly Engineering review");
    let (status, body, _) =
        get(&app, &bearer, &format!("{BASE}/definitions/{ours}/instances?$orderby=startDateTime%20desc")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["id"], instance.as_str());
    let decisions = format!("{BASE}/definitions/{ours}/instances/{instance}/decisions");
    assert_eq!(get(&app, &bearer, &format!("{decisions}?$orderby=principal/displayName")).await.0, 200);
    let (status, body, _) = get(&app, &bearer, &format!("{decisions}?$orderby=reviewedDateTime")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body, _) =
        get(&app, &bearer, &format!("{decisions}?$filter={}", percent_encoded("contains(decision, 'D')"))).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn stopping_a_series_stops_its_running_occurrence_and_starts_no_other() {
    let app = spawn_admin_app().await;
    let ((id, secret), bearer, created) = a_client_creates_the_quarterly_series(&app).await;
    let def = created["id"].as_str().unwrap().to_owned();
    crate::scheduler::tick(&app);
    let instance = app.instance_of("Quarterly Engineering review");

    let (status, body) = post_json(&app, &bearer, &format!("{BASE}/definitions/{def}/stop"), None).await;
    assert_eq!(status, 204, "{body}");
    let (_, got, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}")).await;
    assert_eq!(got["status"], "Completed");
    let (_, inst, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}/instances/{instance}")).await;
    assert_eq!(inst["status"], "Completed");
    // A quarter later nothing new starts; stopping again says why not.
    app.clock.set(app.clock_now() + chrono::TimeDelta::days(100));
    crate::scheduler::tick(&app);
    let bearer = token(&app, &id, &secret).await;
    let (_, instances, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}/instances")).await;
    assert_eq!(instances["value"].as_array().unwrap().len(), 1, "{instances}");
    let (status, body) = post_json(&app, &bearer, &format!("{BASE}/definitions/{def}/stop"), None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("already completed"), "{body}");
    assert_eq!(
        app.count("audit_events WHERE action = 'StopReviewDefinition' AND actor_name = 'API client GRC export'"),
        1
    );
    // A read-only client may not stop one.
    let (rid, rsecret) = client(&app, "AccessReview.Read.All");
    let reader = token(&app, &rid, &rsecret).await;
    assert_eq!(post_json(&app, &reader, &format!("{BASE}/definitions/{def}/stop"), None).await.0, 403);
}

#[tokio::test]
async fn a_caller_over_its_rate_is_throttled_with_retry_after_and_others_are_not() {
    // A small rate (the operator's setting): its bucket refills one request every 3 s, so
    // however slow the machine, the loop runs past the burst well before it could refill.
    const RATE: u32 = 20;
    let auth = attest::config::AuthSettings {
        api_per_minute: RATE,
        ..attest::config::AuthSettings::new("http://127.0.0.1:0")
    };
    let app = Spawn { demo: true, auth: Some(auth), ..Spawn::default() }.start().await;
    app.sign_in("admin").await;
    let (id, secret) = client(&app, "AccessReview.Read.All");
    let bearer = token(&app, &id, &secret).await;
    let url = format!("{BASE}/definitions?$top=1");
    let mut throttled = None;
    for _ in 0..RATE * 2 {
        let (status, body, headers) = get(&app, &bearer, &url).await;
        if status == 429 {
            throttled = Some((body, headers));
            break;
        }
        assert_eq!(status, 200);
    }
    let (body, headers) = throttled.expect("throttled after the rate");
    assert_graph_error(&body, "TooManyRequests");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another client is not held up.
    let (other, other_secret) = client(&app, "AccessReview.Read.All");
    let other_bearer = token(&app, &other, &other_secret).await;
    assert_eq!(get(&app, &other_bearer, &url).await.0, 200);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_what_it_answers() {
    let app = spawn_admin_app().await;
    let res = app.client.get(format!("{}/openapi.json", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], app.address.as_str());
    let (id, secret) = client(&app, "AccessReview.ReadWrite.All");
    let bearer = token(&app, &id, &secret).await;

    // Every operation is a route: with made-up ids it answers 404 (or 400 naming what to
    // fix, or the token endpoint's own errors), never the answer for an unknown segment.
    let paths = doc["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(operations, attest::api::openapi::OPERATIONS.len(), "{:?}", paths.keys());
    assert_eq!(operations, 32);
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let url = format!(
                "{}{}",
                app.address,
                path.replace("{definition}", "d1")
                    .replace("{instance}", "i1")
                    .replace("{item}", "x1")
                    .replace("{stage}", "1")
            );
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(method.clone(), &url)
                .bearer_auth(&bearer)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let documented = operations[method.as_str().to_ascii_lowercase()]["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(&status.to_string()),
                "{method} {path}: {status} is not documented: {body}"
            );
            assert!(!body.to_string().contains("Resource not found for the segment"), "{method} {path}: {body}");
        }
    }

    // What a client reads carries each property the document lists for it.
    let (_, series, _) = get(&app, &bearer, &format!("{BASE}/definitions?$top=1")).await;
    let def = series["value"][0]["id"].as_str().unwrap().to_owned();
    let (_, one, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def}")).await;
    let instance: String = {
        use attest::db::schema::review_instances as i;
        use diesel::prelude::*;
        i::table.filter(i::total_items.gt(0)).select(i::id).first(&mut *app.conn()).unwrap()
    };
    let def_of: String = store::instances::get(&mut app.conn(), &instance).unwrap().unwrap().definition_id;
    let (_, inst, _) = get(&app, &bearer, &format!("{BASE}/definitions/{def_of}/instances/{instance}")).await;
    let (_, decisions, _) =
        get(&app, &bearer, &format!("{BASE}/definitions/{def_of}/instances/{instance}/decisions?$top=1")).await;
    for (schema, object) in [("Definition", &one), ("Instance", &inst), ("DecisionItem", &decisions["value"][0])] {
        let required = doc["components"]["schemas"][schema]["required"].as_array().unwrap();
        assert!(required.len() >= 5, "{schema}: {required:?}");
        for property in required {
            let property = property.as_str().unwrap();
            assert!(object.get(property).is_some(), "{schema} lacks {property}: {object}");
        }
    }

    // People read it on a page, without a script and without signing in.
    let page = app.get("/api-docs").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("href=\"/openapi.json\""));
    for op in ["batchRecordDecisions", "filterByCurrentUser(on=&#39;reviewer&#39;)", "/oauth2/v2.0/token"] {
        assert!(page.body.contains(op), "{op} is not on the page");
    }
    assert!(page.texts("section.api-schema h3").iter().any(|t| t == "DecisionItem"));
}

#[tokio::test]
async fn ten_thousand_decisions_page_by_next_links_and_count_without_gaps_or_repeats() {
    let app = spawn_admin_app().await;
    let instance = app.instance_of(crate::exports::FALCON);
    store::instances::insert_items(&mut app.conn(), &crate::exports::bulk_items(&instance, 10_000)).unwrap();
    let total = usize::try_from(app.count(&format!("review_decision_items WHERE instance_id = '{instance}'"))).unwrap();
    let denied = usize::try_from(
        app.count(&format!("review_decision_items WHERE instance_id = '{instance}' AND decision = 'Deny'")),
    )
    .unwrap();
    let def = store::instances::get(&mut app.conn(), &instance).unwrap().unwrap().definition_id;
    let (id, secret) = client(&app, "AccessReview.Read.All");
    let bearer = token(&app, &id, &secret).await;
    let path = format!("{BASE}/definitions/{def}/instances/{instance}/decisions");

    let (all, pages) = all_pages(&app, &bearer, &format!("{path}?$top=1000&$count=true")).await;
    assert_eq!(all.len(), total);
    assert_eq!(pages, total.div_ceil(1000));
    let mut ids: Vec<&str> = all.iter().map(|d| d["id"].as_str().unwrap()).collect();
    let names: Vec<&str> = all.iter().map(|d| d["principal"]["displayName"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "pages follow one another in name order");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "no item twice");
    let (_, first, _) = get(&app, &bearer, &format!("{path}?$top=1000&$count=true")).await;
    assert_eq!(first["@odata.count"], total);
    // The next link keeps the filter, and the count is the filter's.
    let deny = format!("{path}?$top=999&$count=true&$filter={}", percent_encoded("decision eq 'Deny'"));
    let (_, first, _) = get(&app, &bearer, &deny).await;
    assert_eq!(first["@odata.count"], denied);
    assert!(first["@odata.nextLink"].as_str().unwrap().contains("filter="), "{}", first["@odata.nextLink"]);
    let (all_denied, pages) = all_pages(&app, &bearer, &deny).await;
    assert_eq!(all_denied.len(), denied);
    assert_eq!(pages, denied.div_ceil(999));
    assert!(all_denied.iter().all(|d| d["decision"] == "Deny"));
}
