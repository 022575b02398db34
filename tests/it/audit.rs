//! The audit log page and its CSV: who may see it, sign-in and sign-out events, filters,
//! paging, escaping and the chain head.

use attest::demo::personas;
use attest::store::audit::NewEvent;

use crate::helpers::{Spawn, TestApp, spawn_admin_app, spawn_demo_app};

async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

fn records(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Rows of the events table: time, who, action, target, details, hash.
fn rows(page: &crate::helpers::Page) -> Vec<String> {
    page.texts("table.audit tbody tr")
}

#[tokio::test]
async fn only_admins_read_the_audit_log() {
    let app = spawn_demo_app().await;
    let anonymous = app.get("/admin/audit").await;
    assert_eq!(anonymous.status, 303);
    for persona in ["owner", "manager", "user", "guest"] {
        let who = as_persona(&app, persona).await;
        assert_eq!(who.get("/admin/audit").await.status, 403, "{persona}");
        assert_eq!(who.get("/admin/audit.csv").await.status, 403, "{persona}");
        assert!(!who.get("/").await.texts("nav.main-nav a").contains(&"Audit".to_owned()));
    }
    let dana = as_persona(&app, "admin").await;
    let page = dana.get("/admin/audit").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("nav.main-nav a[aria-current=page]"), "Audit");
    for id in ["actor", "action", "target", "from", "to"] {
        assert_eq!(page.attrs(&format!("label[for={id}]"), "for").len(), 1, "a label for {id}");
    }
}

#[tokio::test]
async fn sign_in_and_sign_out_are_recorded_and_shown_newest_first() {
    let app = spawn_demo_app().await;
    let tom = as_persona(&app, "user").await;
    let tom_id = app.user_id(personas::USER);
    assert_eq!(app.count(&format!("audit_events WHERE action = 'SignIn' AND actor_id = '{tom_id}'")), 1);
    assert_eq!(tom.sign_out().await.status, 303);
    assert_eq!(app.count(&format!("audit_events WHERE action = 'SignOut' AND target_id = '{tom_id}'")), 1);

    let dana = as_persona(&app, "admin").await;
    let page = dana.get("/admin/audit").await;
    let all = rows(&page);
    assert!(all[0].contains("Dana Whitfield") && all[0].contains("Signed in"), "newest first: {all:?}");
    assert!(all[1].contains("Tom Becker") && all[1].contains("Signed out") && all[1].contains(personas::USER));
    assert!(all[2].contains("Tom Becker") && all[2].contains("Signed in"));
    assert_eq!(page.attrs("table.audit tbody tr:nth-child(2) td a", "href")[0], format!("/admin/users/{tom_id}"));
    // The hash prefix and the chain head.
    let (id, head): (i64, String) = {
        use attest::db::schema::audit_events::dsl::*;
        use diesel::prelude::*;
        audit_events.order(id.desc()).select((id, hash)).first(&mut *app.conn()).unwrap()
    };
    assert_eq!(page.texts("table.audit tbody tr td code.hash")[0], head[..12]);
    assert_eq!(page.text("code.chain-head"), head);
    assert!(page.body.contains(&format!("number {id}")));
    assert!(page.body.contains("attest audit verify"));
}

#[tokio::test]
async fn filters_narrow_the_log_and_bad_ones_say_what_to_fix() {
    let app = spawn_admin_app().await;
    let tom = as_persona(&app, "user").await;
    tom.sign_out().await;
    let tom_id = app.user_id(personas::USER);
    let only = |page: &crate::helpers::Page, what: &str| {
        let all = rows(page);
        assert!(!all.is_empty(), "{what}: nothing listed");
        assert!(all.iter().all(|r| r.contains(what)), "{what}: {all:?}");
        all.len()
    };
    assert_eq!(only(&app.get("/admin/audit?actor=becker").await, "Tom Becker"), 2, "by part of the name");
    assert_eq!(only(&app.get("/admin/audit?actor=TOM.BECKER%40").await, "Tom Becker"), 2, "by part of the UPN");
    assert_eq!(only(&app.get(&format!("/admin/audit?actor={tom_id}")).await, "Tom Becker"), 2, "by id");
    assert_eq!(only(&app.get("/admin/audit?actor=becker&action=SignOut").await, "Signed out"), 1);
    let page = app.get(&format!("/admin/audit?target={tom_id}")).await;
    assert_eq!(only(&page, "Tom Becker"), 2);
    assert!(page.attrs("select#action option[selected]", "value").is_empty(), "any action");
    let scheduled = app.get("/admin/audit?action=ReviewInstanceStarted").await;
    assert!(only(&scheduled, "attest scheduler") >= 4);
    assert_eq!(scheduled.attrs("select#action option[selected]", "value"), vec!["ReviewInstanceStarted"]);
    assert!(rows(&app.get("/admin/audit?from=2026-11-29").await).is_empty());
    assert_eq!(rows(&app.get("/admin/audit?to=2026-11-27").await).len(), 0);
    assert!(!rows(&app.get("/admin/audit?from=2026-11-28&to=2026-11-28").await).is_empty());
    let none = app.get("/admin/audit?actor=%25_nobody").await;
    assert_eq!(none.text(".empty"), "No event matches these filters.");

    let bad = app.get("/admin/audit?action=DropTables&from=2026-02-30&to=2026-01-01").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.text("#action-error"), "Error: Choose an action from the list");
    assert_eq!(bad.text("#from-error"), "Error: Enter the first date as year-month-day, for example 2026-09-30");
    assert_eq!(bad.attrs(".error-summary a", "href"), vec!["#action", "#from"]);
    let backwards = app.get("/admin/audit?from=2026-11-28&to=2026-11-01").await;
    assert_eq!(backwards.status, 400);
    assert_eq!(backwards.text("#to-error"), "Error: Enter a last date on or after 2026-11-28");
    assert_eq!(app.get("/admin/audit.csv?to=soon").await.status, 400);
    assert_eq!(app.get("/admin/audit?after=1%20OR%201").await.status, 400);
    assert_eq!(app.get(&format!("/admin/audit?actor={}", "x".repeat(201))).await.status, 400);
}

#[tokio::test]
async fn the_log_pages_by_keyset_escapes_details_and_downloads_as_csv() {
    let app = spawn_admin_app().await;
    let now = app.clock_now();
    let base = app.count("audit_events");
    {
        let mut conn = app.conn();
        let details =
            |k: usize| serde_json::json!({ "name": { "old": format!("<script>alert({k})</script>"), "new": "=cmd" } });
        let events: Vec<NewEvent> =
            (0..120).map(|k| NewEvent::by_system(now, "UpdateReviewDefinition", ("Test", "t-1"), details(k))).collect();
        attest::store::audit::append_all(&mut conn, &events).unwrap();
    }
    let first = app.get("/admin/audit?target=t-1").await;
    assert_eq!(rows(&first).len(), 50);
    assert!(first.attrs("a[rel=prev]", "href").is_empty());
    assert!(!first.body.contains("<script>alert"), "escaped");
    let detail = first.texts("table.audit tbody tr td ul.details li")[0].clone();
    assert!(detail.starts_with("Name") && detail.ends_with("<script>alert(119)</script> → =cmd"), "{detail}");
    let next = first.attrs("a[rel=next]", "href")[0].clone();
    assert!(next.starts_with("/admin/audit?target=t-1&after="), "{next}");
    let second = app.get(&next).await;
    assert_eq!(rows(&second).len(), 50);
    assert!(second.body.contains("alert(69)") && !second.body.contains("alert(70)"));
    let third = app.get(&second.attrs("a[rel=next]", "href")[0]).await;
    assert_eq!(rows(&third).len(), 20);
    assert!(third.attrs("a[rel=next]", "href").is_empty(), "the last page");
    let back = app.get(&third.attrs("a[rel=prev]", "href")[0]).await;
    assert_eq!(rows(&back), rows(&second));
    let back = app.get(&back.attrs("a[rel=prev]", "href")[0]).await;
    assert_eq!(rows(&back), rows(&first));
    assert!(back.attrs("a[rel=prev]", "href").is_empty(), "back at the newest");

    // The CSV: the same filters, every event, oldest first, formulas defused.
    let link = first.link("Download CSV");
    assert_eq!(link, "/admin/audit.csv?target=t-1");
    let csv = app.get(&link).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(csv.header("content-disposition"), "attachment; filename=\"attest-audit-2026-11-28.csv\"");
    let all = records(&csv.body);
    assert_eq!(all[0][..5], ["Id", "Time", "ActorId", "ActorName", "Action"]);
    assert_eq!(all.len(), 121);
    assert!(all[1][7].contains("alert(0)") && all[120][7].contains("alert(119)"), "oldest first");
    assert_eq!(all[1][1], "2026-11-28T09:00:00Z");
    assert_eq!(all[120][9], first.text("code.chain-head"));
    assert!(all.windows(2).skip(1).all(|w| w[1][8] == w[0][9]), "each event names the hash before it");
    let everything = records(&app.get("/admin/audit.csv").await.body);
    assert_eq!(everything.len() - 1, usize::try_from(base + 120).unwrap());
}

#[tokio::test]
async fn the_log_names_what_each_event_is_about_and_reads_as_sentences() {
    let app = spawn_admin_app().await;
    let falcon = app.instance_of("Project Falcon guests");
    let omar = as_persona(&app, "owner").await;
    let review = omar.get(&format!("/reviews/{falcon}")).await;
    let item = review.attrs("input[name=item]", "value")[0].clone();
    let person = review.texts("table.items tbody .person")[0].clone();
    app.clock.advance(chrono::TimeDelta::seconds(7));
    omar.post(&format!("/reviews/{falcon}"), &[("item", &item), ("action", "Deny"), ("reason", "Left the project")])
        .await;

    let page = app.get(&format!("/admin/audit?target={item}")).await;
    assert_eq!(page.status, 200);
    let row = rows(&page);
    assert_eq!(row.len(), 1, "{row:?}");
    // Seconds in the time.
    assert_eq!(page.text("table.audit tbody tr td.nowrap"), "2026-11-28 09:00:07 UTC");
    // The target by name, where it belongs (occurrences counted from 1), with its page.
    assert_eq!(page.text("table.audit .target-name"), person);
    assert_eq!(page.text("table.audit .target-context"), "Project Falcon guests · Project Falcon, occurrence 1");
    let series: String = {
        use attest::db::schema::review_instances::dsl::*;
        use diesel::prelude::*;
        review_instances.find(&falcon).select(definition_id).first(&mut *app.conn()).unwrap()
    };
    assert_eq!(
        page.attrs("table.audit a.target-name", "href"),
        vec![format!("/admin/access-reviews/{series}/instances/{falcon}")]
    );
    assert!(!page.text("table.audit tbody tr").contains(&item), "the id is not what people read");
    assert_eq!(page.attrs("table.audit a.target", "href"), vec![format!("/admin/audit?target={item}")]);
    // Details in words, not JSON.
    let details = page.texts("table.audit ul.details li");
    assert_eq!(
        details,
        vec![
            "Decision: Not reviewed → Deny",
            "Reason: Left the project",
            "Action: Deny",
            format!("Person: {person}").as_str()
        ]
    );
    assert!(!page.text("table.audit tbody").contains('{'), "no JSON");
    // The short hash, whole on one line; the full one in its title.
    let hash = page.text("table.audit code.hash");
    assert_eq!(hash.len(), 12);
    assert!(page.attrs("table.audit code.hash", "title")[0].contains(&hash));
    let css = app.get("/static/app.css").await.body;
    assert!(css.contains(".audit code.hash { white-space: nowrap;"), "does not wrap");

    // The start of the review: the occurrence as people count it.
    let started = app.get(&format!("/admin/audit?target={falcon}&action=ReviewInstanceStarted")).await;
    let lines = started.texts("table.audit ul.details li");
    assert!(lines.contains(&"Occurrence: 1".to_owned()), "{lines:?}");
    assert!(lines.contains(&"Resource: Project Falcon".to_owned()), "{lines:?}");
    assert!(lines.iter().all(|l| !l.to_lowercase().contains("definitionid")), "{lines:?}");
    assert_eq!(started.text("table.audit .target-name"), "Project Falcon guests");

    // A user who signed in; a series; the directory.
    let all = app.get("/admin/audit").await;
    let targets = all.texts("table.audit .target-name");
    assert!(targets.contains(&"Dana Whitfield".to_owned()), "{targets:?}");
    assert!(targets.contains(&"Omar Haddad".to_owned()), "{targets:?}");
    let created = app.get("/admin/audit?action=CreateReviewDefinition").await;
    assert!(created.texts("table.audit .target-name").contains(&"Project Falcon guests".to_owned()));
    let lines = created.texts("table.audit ul.details li");
    assert!(lines.iter().any(|l| l == "Resources: 1 group"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "Reviewers: Group owners" || l.starts_with("Reviewers: ")), "{lines:?}");
    let onboarded = app.get("/admin/audit?action=OnboardDirectory").await;
    assert_eq!(onboarded.text("table.audit .target-name"), "The directory");
    assert_eq!(onboarded.texts("table.audit ul.details li"), vec!["Access reviews turned on: No → Yes"]);

    // The CSV keeps the full data.
    let csv = records(&app.get(&format!("/admin/audit.csv?target={item}")).await.body);
    assert_eq!(csv.len(), 2);
    assert_eq!(csv[1][6], item);
    assert!(csv[1][7].contains("\"decision\":{\"new\":\"Deny\",\"old\":\"NotReviewed\"}"), "{}", csv[1][7]);
    assert_eq!(csv[1][9].len(), 64);
}
