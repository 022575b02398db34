//! CSV exports: one review's results, the review-history report, who may download them,
//! formula escaping, and streaming in bounded memory.

use attest::demo::personas;
use attest::domain::apply::ApplyResult;
use attest::domain::decision::{Decision, Pool};
use attest::domain::directory::UserType;
use attest::domain::export::RESULT_COLUMNS;
use attest::domain::recommendation::Recommendation;
use attest::store::instances::ItemRow;

use crate::helpers::{Spawn, TestApp, spawn_admin_app, spawn_demo_app};

pub(crate) const FALCON: &str = "Project Falcon guests";
const VPN: &str = "VPN Users: confirm your access";

async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

/// The series of an instance.
fn series_of(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    review_instances.find(instance).select(definition_id).first(&mut *app.conn()).unwrap()
}

fn results_url(app: &TestApp, instance: &str) -> String {
    format!("/admin/access-reviews/{}/instances/{instance}/results.csv", series_of(app, instance))
}

/// The records of a CSV body, header first.
fn records(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn column(name: &str) -> usize {
    RESULT_COLUMNS.iter().position(|c| *c == name).unwrap()
}

#[tokio::test]
async fn a_decided_review_downloads_as_csv_with_formulas_defused() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let omar = as_persona(&app, "owner").await;
    let panel = format!("/reviews/{falcon}");
    let page = omar.get(&panel).await;
    let items = page.attrs("input[name=item]", "value");
    let people = page.texts("table.items tbody .person");
    // A reason that a spreadsheet would run as a formula, and a name that would too.
    let evil = "=HYPERLINK(\"http://evil.example\",\"click\")";
    omar.post(&panel, &[("item", &items[0]), ("action", "Deny"), ("reason", evil)]).await;
    omar.post(&panel, &[("item", &items[1]), ("action", "Approve"), ("reason", "Still on the project")]).await;
    app.exec(&format!(
        "UPDATE review_decision_items SET principal_name = '@SUM(1+1)' WHERE instance_id = '{falcon}' AND id = '{}'",
        items[2]
    ));

    let dana = as_persona(&app, "admin").await;
    let url = results_url(&app, &falcon);
    let res = dana.get(&url).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        res.header("content-disposition"),
        "attachment; filename=\"project-falcon-guests-project-falcon-2026-11-28.csv\""
    );
    let rows = records(&res.body);
    assert_eq!(rows[0], RESULT_COLUMNS.map(str::to_owned).to_vec(), "Entra's columns");
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{falcon}'"));
    assert_eq!(rows.len() - 1, usize::try_from(total).unwrap(), "one row per person");
    let series = series_of(&app, &falcon);
    for row in &rows[1..] {
        assert_eq!(row.len(), RESULT_COLUMNS.len());
        assert_eq!((row[0].as_str(), row[1].as_str(), row[2].as_str()), (falcon.as_str(), series.as_str(), "group"));
        assert_eq!((row[3].as_str(), row[4].as_str()), ("Project Falcon", FALCON));
        assert_eq!((row[5].as_str(), row[7].as_str()), ("2026-11-28T00:00:00Z", "InProgress"));
        assert_eq!(row[column("PrincipalType")], "Guest");
    }
    let by_name = |name: &str| rows.iter().find(|r| r[column("PrincipalName")] == name).unwrap().clone();
    let denied = by_name(&people[0]);
    assert_eq!(denied[column("ReviewResult")], "Deny");
    assert_eq!(denied[column("Justification")], format!("'{evil}"), "a formula is written as text");
    assert_eq!(denied[column("ReviewerName")], "Omar Haddad");
    assert_eq!(denied[column("ReviewerUPN")], personas::OWNER);
    assert_eq!(denied[column("ReviewerId")], app.user_id(personas::OWNER));
    assert_eq!(denied[column("ReviewDate")], "2026-11-28T09:00:00Z");
    assert!(["Approve", "Deny", "NoInfoAvailable"].contains(&denied[column("AccessRecommendation")].as_str()));
    assert_eq!(denied[column("ApplyResult")], "New");
    let approved = by_name(&people[1]);
    assert_eq!((approved[13].as_str(), approved[14].as_str()), ("Approve", "Still on the project"));
    assert_eq!(by_name("'@SUM(1+1)")[column("ReviewResult")], "NotReviewed");
    let undecided = rows.iter().filter(|r| r[column("ReviewResult")] == "NotReviewed").count();
    assert_eq!(undecided, rows.len() - 3);
    assert!(rows.iter().skip(1).filter(|r| r[13] == "NotReviewed").all(|r| r[12].is_empty() && r[16].is_empty()));
}

#[tokio::test]
async fn only_admins_and_owners_managing_the_series_download_results() {
    let app = spawn_admin_app().await;
    let falcon = app.instance_of(FALCON);
    let vpn = app.instance_of(VPN);
    let (falcon_url, vpn_url) = (results_url(&app, &falcon), results_url(&app, &vpn));
    assert_eq!(app.get(&vpn_url).await.status, 200);

    let anonymous = TestApp { client: Spawn::client(), ..app.share() };
    let page = anonymous.get(&falcon_url).await;
    assert_eq!(page.status, 303, "sign in first");
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.get(&falcon_url).await.status, 403);
    let omar = as_persona(&app, "owner").await;
    assert_eq!(omar.get(&falcon_url).await.status, 403, "owners while the tenant setting is off");

    app.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await;
    assert_eq!(omar.get(&falcon_url).await.status, 200, "his own group's review");
    let other = omar.get(&vpn_url).await;
    assert_eq!(other.status, 404, "a series he does not manage does not exist for him");
    assert!(!other.body.contains("PrincipalName"));
    // An instance of another series under his series' id.
    let mixed = format!("/admin/access-reviews/{}/instances/{vpn}/results.csv", series_of(&app, &falcon));
    assert_eq!(omar.get(&mixed).await.status, 404);
    assert_eq!(app.get(&mixed).await.status, 404);
    assert_eq!(app.get("/admin/access-reviews/nope/instances/x'y/results.csv").await.status, 404);
}
/// `n` items of `instance`, every third denied with a reason, for tests of volume.
pub(crate) fn bulk_items(instance: &str, n: usize) -> Vec<ItemRow> {
    (0..n)
        .map(|k| ItemRow {
            id: format!("bulk-{k:06}"),
            instance_id: instance.to_owned(),
            principal_id: format!("bulk-user-{k:06}"),
            principal_name: format!("Bulk Person {k:06}"),
            principal_upn: format!("bulk.{k:06}@contoso.example"),
            principal_type: UserType::Member,
            access_path: "Direct".into(),
            access_direct: true,
            access_detail: String::new(),
            reviewer_id: None,
            last_sign_in: None,
            recommendation: Recommendation::Approve,
            recommendation_reason: "Signed in recently".into(),
            decision: if k % 3 == 0 { Decision::Deny } else { Decision::NotReviewed },
            justification: if k % 3 == 0 { "Left the company, replaced by a contractor".into() } else { String::new() },
            reviewed_by: None,
            reviewed_for: None,
            reviewed_at: None,
            apply_result: ApplyResult::New,
            apply_detail: String::new(),
            applied_by: None,
            applied_at: None,
            reviewer_pool: Pool::Reviewers,
            principal_job_title: String::new(),
            principal_department: String::new(),
            principal_manager: String::new(),
            stage: 1,
        })
        .collect()
}

#[tokio::test]
async fn a_100k_row_export_streams_while_the_database_is_read() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    const N: usize = 100_000;
    attest::store::instances::insert_items(&mut app.conn(), &bulk_items(&falcon, N)).unwrap();
    app.sign_in("admin").await;
    let total = usize::try_from(app.count(&format!("review_decision_items WHERE instance_id = '{falcon}'"))).unwrap();

    let url = format!("{}{}", app.address, results_url(&app, &falcon));
    let mut res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.content_length(), None, "no length: the body is sent as it is produced");
    assert_eq!(res.headers().get("transfer-encoding").unwrap(), "chunked");
    let first = res.chunk().await.unwrap().expect("a first chunk");
    assert!(first.starts_with(b"\xEF\xBB\xBFAccessReviewId,SeriesId,"), "the mark and the header in one chunk");
    // Stop reading for longer than the whole export takes. A buffered export (or one
    // whose channel had no bound) would meanwhile read every row and hand its connection
    // back; a streamed one stays blocked on the full channel, holding it: the file is far
    // bigger than the channel and the socket buffers together.
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let state = app.pool.state();
        assert_eq!(state.connections - state.idle_connections, 1, "the producer waits for the reader");
    }

    let mut body = first.to_vec();
    let mut chunks = 1;
    while let Some(chunk) = res.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(body.len() > 10_000_000, "{} bytes", body.len());
    assert!(chunks > 50, "{chunks} chunks");
    let text = String::from_utf8(body).unwrap().trim_start_matches('\u{feff}').to_owned();
    let rows = records(&text);
    assert_eq!(rows.len(), total + 1);
    assert_eq!(
        rows.iter().filter(|r| r[column("Justification")] == "Left the company, replaced by a contractor").count(),
        N.div_ceil(3)
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[column("PrincipalName")].as_str()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "by name");
    // Done: the connection goes back to the pool.
    for _ in 0..50 {
        let s = app.pool.state();
        if s.connections == s.idle_connections {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the export kept its connection after the end");
}

#[tokio::test]
async fn the_history_report_filters_by_period_kind_and_result() {
    let app = spawn_admin_app().await;
    // Its route is matched before the series' `/{id}`.
    let page = app.get("/admin/access-reviews/history").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("h1"), "Review history report");
    for id in ["from", "to", "kind-group", "kind-application", "kind-role", "result-Deny"] {
        assert_eq!(page.attrs(&format!("label[for={id}]"), "for").len(), 1, "a label for {id}");
    }
    assert_eq!(page.attrs("input[type=checkbox][checked]", "id").len(), 7, "everything by default");
    assert!(page.texts("table.history").is_empty(), "nothing listed before the form is sent");

    let omar = as_persona(&app, "owner").await;
    assert_eq!(omar.get("/admin/access-reviews/history").await.status, 403);
    assert_eq!(omar.get("/admin/access-reviews/history.csv").await.status, 403);

    // Deny one Falcon guest, so the report has a decision.
    let falcon = app.instance_of(FALCON);
    let item = omar.get(&format!("/reviews/{falcon}")).await.attrs("input[name=item]", "value")[0].clone();
    omar.post(&format!("/reviews/{falcon}"), &[("item", &item), ("action", "Deny"), ("reason", "Gone")]).await;

    let shown = app.get("/admin/access-reviews/history?from=2026-11-01&to=2026-11-30&kind=group&result=Deny").await;
    assert_eq!(shown.status, 200);
    let listed = shown.texts("table.history tbody tr");
    assert!(listed.iter().any(|r| r.contains(FALCON)), "{listed:?}");
    assert!(listed.iter().all(|r| r.contains("Groups")), "{listed:?}");
    let link = shown.link("Download CSV of these reviews");
    let csv = app.get(&link).await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"access-review-history-2026-11-01-to-2026-11-30.csv\""
    );
    let rows = records(&csv.body);
    assert_eq!(rows[0].len(), RESULT_COLUMNS.len());
    assert_eq!(rows.len(), 2, "the one denial: {rows:?}");
    assert_eq!((rows[1][0].as_str(), rows[1][13].as_str(), rows[1][14].as_str()), (falcon.as_str(), "Deny", "Gone"));

    // Every result of every kind: each item of each instance once.
    let all = records(&app.get("/admin/access-reviews/history.csv").await.body);
    assert_eq!(all.len() - 1, usize::try_from(app.count("review_decision_items")).unwrap());
    let roles = records(&app.get("/admin/access-reviews/history.csv?kind=role&result=NotReviewed").await.body);
    assert!(roles.len() > 1 && roles[1..].iter().all(|r| r[2] == "role" && r[13] == "NotReviewed"));
    // A period before any review: the header only.
    let before = app.get("/admin/access-reviews/history.csv?to=2025-01-01&kind=group&result=Deny").await;
    assert_eq!(records(&before.body).len(), 1);
    let empty = app.get("/admin/access-reviews/history?to=2025-01-01&kind=group&result=Deny").await;
    assert!(empty.text(".empty").starts_with("No review ran in this period"));
}

#[tokio::test]
async fn bad_history_filters_get_the_form_back_with_what_to_fix() {
    let app = spawn_admin_app().await;
    for path in ["/admin/access-reviews/history", "/admin/access-reviews/history.csv"] {
        let page = app.get(&format!("{path}?from=2026-11-30&to=2026-11-01&kind=group&result=Deny")).await;
        assert_eq!(page.status, 400, "{path}");
        assert_eq!(page.text("#to-error"), "Error: Enter an end date on or after the start date (2026-11-30)");
        assert_eq!(page.attrs(".error-summary a", "href"), vec!["#to"]);
        assert_eq!(page.attrs("input#from", "value"), vec!["2026-11-30"], "values kept");

        let page = app.get(&format!("{path}?from=30%2F11%2F2026&kind=printer&result=Maybe")).await;
        assert_eq!(page.status, 400);
        assert_eq!(page.text("#from-error"), "Error: Enter the start date as year-month-day, for example 2026-09-30");
        assert!(page.text("#kind-error").contains("“printer” is not a kind of resource"));
        assert!(page.text("#result-error").contains("“Maybe” is not a result"));

        let page = app.get(&format!("{path}?from=&to=")).await;
        assert_eq!(page.status, 400);
        assert_eq!(page.text("#kind-error"), "Error: Select at least one kind of resource");
        assert_eq!(page.text("#result-error"), "Error: Select at least one result");
        assert!(!page.body.contains("AccessReviewId"));
    }
}

/// The raw bytes of a download (the helpers' `get` decodes text, which drops the mark).
async fn raw(app: &TestApp, path: &str) -> (u16, Vec<u8>) {
    let res = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn every_csv_download_starts_with_a_byte_order_mark() {
    let app = spawn_admin_app().await;
    let falcon = app.instance_of(FALCON);
    app.exec(&format!(
        "UPDATE review_decision_items SET principal_name = 'Mette Sørensen' WHERE id = \
         (SELECT id FROM review_decision_items WHERE instance_id = '{falcon}' ORDER BY id LIMIT 1)"
    ));
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    for (path, header) in [
        (results_url(&app, &falcon), "AccessReviewId,"),
        ("/admin/access-reviews/history.csv".to_owned(), "AccessReviewId,"),
        // No review in this period: the file holds its header, and the mark.
        ("/admin/access-reviews/history.csv?to=2025-01-01&kind=group&result=Deny".to_owned(), "AccessReviewId,"),
        ("/admin/audit.csv".to_owned(), "Id,Time,"),
        ("/admin/audit.csv?actor=nobody-at-all".to_owned(), "Id,Time,"),
    ] {
        let (status, body) = raw(&app, &path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(&body[..3], BOM, "{path} starts with the UTF-8 byte order mark");
        assert!(body[3..].starts_with(header.as_bytes()), "{path}: {:?}", String::from_utf8_lossy(&body[..40]));
        assert_eq!(body.windows(3).filter(|w| *w == BOM).count(), 1, "{path}: one mark, at the start");
    }
    let (_, body) = raw(&app, &results_url(&app, &falcon)).await;
    assert!(String::from_utf8(body).unwrap().contains(",Mette Sørensen,"), "UTF-8 after the mark");
}

#[tokio::test]
async fn recommendation_reasons_read_well_on_the_page_in_justifications_and_exports() {
    let app = spawn_admin_app().await;
    let sf = app.instance_of("Salesforce access by managers");
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{sf}")).await;
    assert_eq!(page.status, 200);
    let cells: Vec<String> = page
        .texts("table.items tbody td")
        .into_iter()
        .filter(|c| c.contains("sign-in") || c.contains("Signed in"))
        .collect();
    assert!(!cells.is_empty(), "{}", page.body);
    for c in &cells {
        // Application reviews look at sign-ins to the application, and say so.
        assert!(c.contains("to Salesforce") || c.contains("disabled"), "{c}");
        assert!(!c.contains(" 0 days") && !c.contains(" 1 days"), "{c}");
        assert!(c.contains("on record") || c.contains("(look-back 30 days)") || c.contains("disabled"), "{c}");
    }
    // Every reason in the database reads the same (not only this page's).
    let stored: Vec<String> = {
        use attest::db::schema::review_decision_items::dsl::*;
        use diesel::prelude::*;
        review_decision_items.filter(instance_id.eq(&sf)).select(recommendation_reason).load(&mut *app.conn()).unwrap()
    };
    assert!(stored.iter().any(|r| r.starts_with("Signed in to Salesforce")), "{stored:?}");
    assert!(
        stored.iter().all(|r| (r.contains(" to Salesforce ") || r == "The account is disabled")
            && !r.contains(" 0 days")
            && !r.contains(" 1 days")),
        "{stored:?}"
    );
    // A group review names the directory sign-in without "to".
    let falcon = app.instance_of(FALCON);
    let falcon_reasons: Vec<String> = {
        use attest::db::schema::review_decision_items::dsl::*;
        use diesel::prelude::*;
        review_decision_items
            .filter(instance_id.eq(&falcon))
            .select(recommendation_reason)
            .load(&mut *app.conn())
            .unwrap()
    };
    assert!(
        falcon_reasons.iter().all(|r| r.starts_with("Signed in ")
            || r.starts_with("No sign-in for ")
            || r.starts_with("No sign-in on record")
            || r == "The account is disabled"),
        "{falcon_reasons:?}"
    );
    assert!(falcon_reasons.iter().all(|r| !r.contains(" to ")), "{falcon_reasons:?}");

    // Accepting the recommendations puts the reason in the justification, the CSV and the
    // audit trail as it reads on the page.
    let items = page.attrs("input[name=item]", "value");
    let mut form: Vec<(&str, &str)> = items.iter().map(|i| ("item", i.as_str())).collect();
    form.extend([("action", "AcceptRecommendations"), ("apply_to", "selected")]);
    assert_eq!(priya.post(&format!("/reviews/{sf}"), &form).await.status, 303);
    let csv = records(&app.get(&results_url(&app, &sf)).await.body);
    let justifications: Vec<&str> = csv[1..]
        .iter()
        .map(|r| r[column("Justification")].as_str())
        .filter(|j| j.starts_with("Accepted the recommendation: "))
        .collect();
    assert!(!justifications.is_empty(), "{csv:?}");
    for j in &justifications {
        assert!(j.contains("Salesforce") && j.ends_with("(look-back 30 days)"), "{j}");
    }
    let audit = app.get("/admin/audit.csv?action=RecordDecision").await.body;
    assert!(audit.contains("Accepted the recommendation: ") && audit.contains("(look-back 30 days)"));
    assert!(!audit.contains(" 1 days ago") && !audit.contains(" 0 days ago"));
}

#[tokio::test]
async fn a_stopped_review_ends_when_it_was_stopped_everywhere() {
    let app = spawn_admin_app().await;
    let falcon = app.instance_of(FALCON);
    let (end_at, series): (chrono::NaiveDateTime, String) = {
        use attest::db::schema::review_instances::dsl::*;
        use diesel::prelude::*;
        review_instances.find(&falcon).select((end_at, definition_id)).first(&mut *app.conn()).unwrap()
    };
    let planned = end_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let url = format!("/admin/access-reviews/{series}/instances/{falcon}");
    app.clock.advance(chrono::TimeDelta::hours(3));
    assert_eq!(app.post(&format!("{url}/stop"), &[]).await.status, 303);
    let stopped = "Stopped on 2026-11-28 12:00 UTC";

    // The results page.
    let page = app.get(&url).await;
    let facts = page.texts("dl.facts div");
    assert!(facts.iter().any(|f| *f == format!("Ended {stopped} (planned end {planned})")), "{facts:?}");
    // The CSV: its end is the stop.
    let rows = records(&app.get(&format!("{url}/results.csv")).await.body);
    assert!(rows[1..].iter().all(|r| r[column("ReviewEndDate")] == "2026-11-28T12:00:00Z"), "{:?}", rows[1]);
    assert!(rows[1..].iter().all(|r| r[column("ReviewStatus")] == "Completed"));
    // The history report: labels, not stored states, and the real end.
    let history = app.get("/admin/access-reviews/history?from=2026-11-01&to=2026-12-31&kind=group&kind=application&kind=role&result=Deny").await;
    let listed = history.texts("table.history tbody tr");
    let falcon_row = listed.iter().find(|r| r.contains(FALCON)).unwrap();
    assert!(falcon_row.contains(&format!("{stopped} (planned end {planned})")), "{falcon_row}");
    assert!(falcon_row.contains("Completed"), "{falcon_row}");
    assert!(listed.iter().any(|r| r.contains("In progress")), "{listed:?}");
    assert!(!history.body.contains("InProgress"), "no stored state on the page");
    let history_csv = records(&app.get("/admin/access-reviews/history.csv?kind=group&result=Approve&result=Deny&result=DontKnow&result=NotReviewed").await.body);
    let falcon_rows: Vec<_> = history_csv[1..].iter().filter(|r| r[0] == falcon).collect();
    assert!(
        !falcon_rows.is_empty() && falcon_rows.iter().all(|r| r[column("ReviewEndDate")] == "2026-11-28T12:00:00Z")
    );
    // A period after the stop no longer holds it, though its planned end is later.
    let later = app.get("/admin/access-reviews/history?from=2026-11-29&kind=group&result=Deny").await;
    assert!(!later.texts("table.history tbody tr").iter().any(|r| r.contains(FALCON)));
    // The owner's past reviews.
    let omar = as_persona(&app, "owner").await;
    let past = omar.get("/?view=past").await;
    let row = past.texts("table.my-reviews tbody tr").into_iter().find(|r| r.contains(FALCON)).unwrap();
    assert!(row.contains("Stopped on 2026-11-28"), "{row}");
    // And the owner's review page says it ended.
    let review = omar.get(&format!("/reviews/{falcon}")).await;
    assert!(review.texts("dl.facts div").iter().any(|f| f.starts_with(&format!("Ended {stopped}"))));
}
