//! The scheduler with a fixed clock: instances start once, snapshot population and
//! reviewers, carry recommendations, complete with default decisions, honour the series
//! end, catch up without bursts, and never duplicate when schedulers race.

use attest::demo::personas;
use attest::scheduler;
use chrono::TimeDelta;

use crate::helpers::{TestApp, spawn_admin_app, test_now};

pub(crate) fn tick(app: &TestApp) -> scheduler::TickReport {
    let mut conn = app.conn();
    scheduler::tick(&mut conn, app.clock_now()).unwrap()
}

/// The create form's fields for a one-time review of a group by its owners.
pub(crate) const FORM: [(&str, &str); 15] = [
    ("name", "Test review"),
    ("scope", "Groups"),
    ("groups", "Engineering All"),
    ("role_assignment_types", "Both"),
    ("user_scope", "All"),
    ("reviewer_kind", "Owners"),
    ("fallback_reviewers", personas::ADMIN),
    ("start_date", "2026-11-28"),
    ("frequency", "OneTime"),
    ("duration_days", "7"),
    ("end_kind", "Never"),
    ("default_decision", "None"),
    ("guest_denied_action", "RemoveAccess"),
    ("recommendations", "on"),
    ("lookback_days", "30"),
];

/// Creates a review through the form; returns its page's path.
pub(crate) async fn create(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut fields: Vec<(&str, &str)> = FORM.to_vec();
    for (k, v) in extra {
        fields.retain(|(f, _)| f != k);
        fields.push((k, v));
    }
    let page = app.post("/admin/access-reviews/new", &fields).await;
    assert_eq!(page.status, 303, "{}", page.text(".error-summary"));
    page.header("location")
}

fn scalar(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let mut conn = app.conn();
    diesel::sql_query(sql).get_result::<N>(&mut *conn).unwrap().n
}

fn text(app: &TestApp, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    use diesel::RunQueryDsl;
    let mut conn = app.conn();
    diesel::sql_query(sql).load::<T>(&mut *conn).unwrap().into_iter().map(|r| r.t).collect()
}

#[tokio::test]
async fn the_demo_has_reviews_in_progress() {
    let app = spawn_admin_app().await;
    assert_eq!(app.count("review_instances"), 4);
    let list = app.get("/admin/access-reviews").await;
    assert_eq!(list.texts("tbody tr").len(), 4);
    assert!(
        list.texts("tbody tr td:last-child").iter().all(|p| p.starts_with("0 of ")),
        "{:?}",
        list.texts("tbody tr td:last-child")
    );
    let falcon = app.get(&list.link("Project Falcon guests")).await;
    let row = falcon.text("tbody tr");
    assert!(row.contains("Project Falcon") && row.contains("In progress") && row.contains("0 of"), "{row}");
    // A guests-only review holds guests only.
    let types = text(
        &app,
        "SELECT DISTINCT d.principal_type AS t FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id WHERE i.resource_name = 'Project Falcon'",
    );
    assert_eq!(types, vec!["Guest"]);
    assert_eq!(tick(&app), scheduler::TickReport::default(), "a second tick changes nothing");
    assert_eq!(app.count("review_instances"), 4);
}

#[tokio::test]
async fn an_instance_snapshots_population_paths_reviewers_and_recommendations() {
    let app = spawn_admin_app().await;
    let page = create(&app, &[]).await;
    assert_eq!(tick(&app).started, 1);
    let members = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review'",
    );
    assert!(members > 20, "{members}");
    let paths = text(
        &app,
        "SELECT DISTINCT d.access_path AS t FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review'",
    );
    assert!(paths.iter().any(|p| p == "Via Backend Developers"), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("Direct")), "{paths:?}");
    let reasons = text(
        &app,
        "SELECT DISTINCT d.recommendation || ': ' || d.recommendation_reason AS t FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review'",
    );
    assert!(reasons.iter().any(|r| r.starts_with("Deny: No sign-in for ")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("Approve: Signed in ")), "{reasons:?}");
    // Engineering All has an owner: the owner reviews; the fallback only gets the owner's
    // own access, if the owner is a member (nobody decides their own access).
    let fallbacks = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM review_instance_reviewers x JOIN review_instances i ON i.id = x.instance_id JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review' AND x.fallback = TRUE",
    );
    let owners_own = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review' AND d.reviewer_pool <> 'Reviewers'",
    );
    assert_eq!(fallbacks, owners_own.min(1), "{owners_own} owners' own items");

    // Later changes to the directory do not leak into the running instance.
    let tom = app.user_id(personas::USER);
    app.exec(&format!(
        "INSERT INTO group_member_users (group_id, user_id) VALUES ('{}', '{tom}')",
        app.group_id("Backend Developers")
    ));
    tick(&app);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id \
                 JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review' AND d.principal_id = '{tom}'"
            )
        ),
        0,
        "Tom joined after the start"
    );
    let show = app.get(&page).await;
    assert!(show.text("tbody tr").contains(&format!("0 of {members} reviewed")));
}

#[tokio::test]
async fn fallback_reviewers_stand_in_for_missing_owners() {
    let app = spawn_admin_app().await;
    create(&app, &[("groups", "SRE On-call"), ("fallback_reviewers", personas::MANAGER)]).await;
    tick(&app);
    let reviewers = text(
        &app,
        "SELECT u.upn AS t FROM review_instance_reviewers r JOIN users u ON u.id = r.user_id JOIN review_instances i ON i.id = r.instance_id WHERE i.resource_name = 'SRE On-call' AND r.fallback = TRUE",
    );
    assert_eq!(reviewers, vec![personas::MANAGER]);
}

#[tokio::test]
async fn default_decisions_apply_when_an_instance_ends() {
    let app = spawn_admin_app().await;
    create(&app, &[("default_decision", "Recommendation"), ("duration_days", "1")]).await;
    tick(&app);
    app.clock.advance(TimeDelta::days(2));
    let report = tick(&app);
    assert!(report.completed >= 1, "{report:?}");
    let left = text(
        &app,
        "SELECT DISTINCT d.decision || '/' || d.recommendation AS t FROM review_decision_items d JOIN review_instances i ON i.id = d.instance_id JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review' ORDER BY 1",
    );
    assert!(
        left.iter().all(|x| x == "Approve/Approve" || x == "Deny/Deny" || x == "NotReviewed/NoInfoAvailable"),
        "{left:?}"
    );
    let status = text(&app, "SELECT status AS t FROM review_definitions WHERE display_name = 'Test review'");
    assert_eq!(status, vec!["Completed"], "a one-time series completes with its instance");
    assert_eq!(scalar(&app, "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'ReviewEnded'"), 1);
}

#[tokio::test]
async fn series_end_after_n_occurrences() {
    let app = spawn_admin_app().await;
    create(
        &app,
        &[("frequency", "Weekly"), ("duration_days", "3"), ("end_kind", "AfterOccurrences"), ("occurrences", "2")],
    )
    .await;
    for _ in 0..4 {
        tick(&app);
        app.clock.advance(TimeDelta::days(7));
    }
    tick(&app);
    let n = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM review_instances i JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review'",
    );
    assert_eq!(n, 2);
    assert_eq!(
        text(&app, "SELECT status AS t FROM review_definitions WHERE display_name = 'Test review'"),
        vec!["Completed"]
    );
}

#[tokio::test]
async fn downtime_does_not_create_a_burst() {
    let app = spawn_admin_app().await;
    create(&app, &[("frequency", "Weekly"), ("duration_days", "3")]).await;
    tick(&app);
    // Down for three weeks; back on the first day of the fourth week's window.
    app.clock.set(test_now() + TimeDelta::days(21) + TimeDelta::hours(1));
    tick(&app);
    let occurrences = text(
        &app,
        "SELECT CAST(i.occurrence AS TEXT) AS t FROM review_instances i JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review' ORDER BY i.occurrence",
    );
    assert_eq!(occurrences, vec!["0", "3"], "weeks 1 and 2 passed whole and were skipped");
    assert_eq!(scalar(&app, "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'OccurrencesSkipped'"), 1);
}

#[tokio::test]
async fn racing_schedulers_never_duplicate() {
    let app = spawn_admin_app().await;
    create(&app, &[("groups", "All Employees")]).await;
    let now = app.clock_now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = app.pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                // A losing racer may see the other's lock or unique key; neither may
                // produce a second instance.
                let _ = scheduler::tick(&mut conn, now);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    tick(&app);
    let n = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM review_instances i JOIN review_definitions r ON r.id = i.definition_id WHERE r.display_name = 'Test review'",
    );
    assert_eq!(n, 1);
}
