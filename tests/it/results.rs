//! An occurrence's results page for admins: the chart, stopping it early and resetting its
//! decisions — who may, what changes, and what is refused.

use crate::helpers::{Spawn, TestApp, spawn_demo_app};

const FALCON: &str = "Project Falcon guests";
const VPN: &str = "VPN Users: confirm your access";

async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

fn results_url(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    let series: String = review_instances.find(instance).select(definition_id).first(&mut *app.conn()).unwrap();
    format!("/admin/access-reviews/{series}/instances/{instance}")
}

fn status_of(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    review_instances.find(instance).select(status).first(&mut *app.conn()).unwrap()
}

/// The owner denies the first person and approves the second; returns their item ids.
async fn owner_decides_two(app: &TestApp, falcon: &str) -> (String, String) {
    let omar = as_persona(app, "owner").await;
    let url = format!("/reviews/{falcon}");
    let items = omar.get(&url).await.attrs("input[name=item]", "value");
    omar.post(&url, &[("item", &items[0]), ("action", "Deny"), ("reason", "Left the project")]).await;
    omar.post(&url, &[("item", &items[1]), ("action", "Approve"), ("reason", "Still on it")]).await;
    (items[0].clone(), items[1].clone())
}

#[tokio::test]
async fn the_results_page_charts_the_decisions() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    owner_decides_two(&app, &falcon).await;
    let dana = as_persona(&app, "admin").await;
    let page = dana.get(&results_url(&app, &falcon)).await;
    assert_eq!(page.status, 200);
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{falcon}'"));
    let legend = page.texts(".chart .legend li");
    assert_eq!(legend.len(), 4, "{legend:?}");
    assert!(legend[0].starts_with("Approved 1") && legend[1].starts_with("Denied 1"), "{legend:?}");
    assert!(legend[3].starts_with(&format!("Not reviewed {}", total - 2)), "{legend:?}");
    let title = page.text(".chart svg title");
    assert!(title.contains("Approved: 1") && title.contains("Denied: 1") && title.contains("Don't know: 0"));
    // One bar segment per decision that has items, widths in proportion.
    let widths: Vec<f64> =
        page.attrs(".chart svg rect:not(.chart-track)", "width").iter().map(|w| w.parse().unwrap()).collect();
    assert_eq!(widths.len(), 3, "approved, denied, not reviewed");
    assert!((widths.iter().sum::<f64>() - 100.0).abs() < 0.01);
    assert!(page.text(".results h2").contains("In progress"));
    assert!(page.texts("table.items thead th").iter().any(|h| h == "Applied"));
    let links = page.attrs(".results a", "href");
    let url = results_url(&app, &falcon);
    for action in ["results.csv", "stop", "reset"] {
        assert!(links.contains(&format!("{url}/{action}")), "{action} in {links:?}");
    }

    // Send reminder: the owner still has people to review.
    let sent = dana.post(&format!("{url}/remind"), &[]).await;
    assert_eq!(sent.status, 303);
    let page = dana.get(&url).await;
    assert_eq!(page.text(".banner-success"), "A reminder was sent to 1 reviewer.");
    let contacted = page.texts(".contacted tbody tr");
    assert!(contacted.len() == 1 && contacted[0].contains("Omar Haddad"), "{contacted:?}");
    assert!(contacted[0].contains("Waiting in the outbox"), "no SMTP server in this test: {contacted:?}");
    dana.post(&format!("{url}/stop"), &[]).await;
    dana.post(&format!("{url}/remind"), &[]).await;
    assert_eq!(
        dana.get(&url).await.text(".banner-error"),
        "This review has ended: reminders go only to reviews in progress."
    );
}

#[tokio::test]
async fn stopping_ends_the_review_with_the_default_decision_and_cannot_be_undone() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    app.exec("UPDATE review_definitions SET default_decision = 'Deny' WHERE display_name = 'Project Falcon guests'");
    let (_, approved) = owner_decides_two(&app, &falcon).await;
    let dana = as_persona(&app, "admin").await;
    let url = results_url(&app, &falcon);

    let confirm = dana.get(&format!("{url}/stop")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text("h1").starts_with("Stop “Project Falcon guests”"));
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{falcon}'"));
    assert!(confirm.text(".notice").contains(&format!("The {} people nobody reviewed are denied", total - 2)));
    assert!(confirm.text(".notice").contains("cannot be restarted"));

    let done = dana.post(&format!("{url}/stop"), &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location"), url);
    let page = dana.get(&url).await;
    assert_eq!(page.text(".banner-success"), "The review was stopped. Its decisions are final.");
    assert!(page.text(".results h2").contains("Completed"));
    assert!(page.attrs(".results a", "href").iter().all(|h| !h.ends_with("/stop") && !h.ends_with("/reset")));
    assert_eq!(status_of(&app, &falcon), "Completed");
    assert_eq!(
        app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND decision = 'Deny'")),
        total - 1
    );
    assert_eq!(app.count(&format!("review_decision_items WHERE id = '{approved}' AND decision = 'Approve'")), 1);
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{falcon}' AND action = 'ReviewStopped'")), 1);

    // Reviewers can no longer decide; stopping or resetting again is refused.
    let omar = as_persona(&app, "owner").await;
    omar.post(&format!("/reviews/{falcon}"), &[("item", &approved), ("action", "Deny")]).await;
    assert_eq!(app.count(&format!("review_decision_items WHERE id = '{approved}' AND decision = 'Approve'")), 1);
    assert_eq!(dana.get(&format!("{url}/stop")).await.status, 400);
    dana.post(&format!("{url}/stop"), &[]).await;
    assert!(dana.get(&url).await.text(".banner-error").contains("already ended"));
    dana.post(&format!("{url}/reset"), &[]).await;
    assert!(dana.get(&url).await.text(".banner-error").contains("cannot be reset"));
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{falcon}' AND action = 'ReviewStopped'")), 1);
    assert_eq!(app.count("audit_events WHERE action = 'ResetDecisions'"), 0);
    // The scheduler does not complete it a second time.
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{falcon}' AND action = 'ReviewEnded'")), 0);
}

#[tokio::test]
async fn resetting_puts_every_decision_back_and_the_audit_trail_keeps_them() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let (denied, _) = owner_decides_two(&app, &falcon).await;
    let dana = as_persona(&app, "admin").await;
    let url = results_url(&app, &falcon);
    let confirm = dana.get(&format!("{url}/reset")).await;
    assert!(confirm.text(".notice").contains("All 2 decisions made so far go back"));
    dana.post(&format!("{url}/reset"), &[]).await;
    let page = dana.get(&url).await;
    assert_eq!(page.text(".banner-success"), "2 decisions were reset to not reviewed.");
    assert_eq!(
        app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND decision <> 'NotReviewed'")),
        0
    );
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE id = '{denied}' AND justification = '' AND reviewed_by IS NULL AND reviewed_at IS NULL"
        )),
        1
    );
    assert!(page.texts(".chart .legend li")[1].starts_with("Denied 0"), "counters follow");
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{denied}' AND action = 'RecordDecision'")), 1);
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{falcon}' AND action = 'ResetDecisions'")), 1);
    assert_eq!(status_of(&app, &falcon), "InProgress", "the review keeps running");
    // The reviewer sees everyone to review again.
    let omar = as_persona(&app, "owner").await;
    assert!(
        omar.get(&format!("/reviews/{falcon}"))
            .await
            .texts("table.items .decision")
            .iter()
            .all(|d| d == "Not reviewed")
    );
}

#[tokio::test]
async fn only_those_who_manage_the_review_may_stop_or_reset_it() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let url = results_url(&app, &falcon);
    let omar = as_persona(&app, "owner").await;
    assert_eq!(omar.get(&format!("{url}/stop")).await.status, 403, "owners need the tenant setting");
    assert_eq!(omar.post(&format!("{url}/stop"), &[]).await.status, 403);
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.post(&format!("{url}/reset"), &[]).await.status, 403);
    let dana = as_persona(&app, "admin").await;
    // An occurrence of another series under this series' path, and junk ids: 404.
    let vpn = app.instance_of(VPN);
    let series = url.split('/').nth(3).unwrap().to_owned();
    assert_eq!(dana.post(&format!("/admin/access-reviews/{series}/instances/{vpn}/stop"), &[]).await.status, 404);
    assert_eq!(dana.get("/admin/access-reviews/x'y/instances/z/reset").await.status, 404);
    // Without the form's CSRF token nothing happens.
    assert_eq!(dana.post_form(&format!("{url}/stop"), &[]).await.status, 403);
    assert_eq!(status_of(&app, &falcon), "InProgress");
    assert_eq!(status_of(&app, &vpn), "InProgress");
}

#[tokio::test]
async fn denials_are_previewed_then_applied_once() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let (denied, approved) = owner_decides_two(&app, &falcon).await;
    let dana = as_persona(&app, "admin").await;
    let url = results_url(&app, &falcon);
    let member = |item: &str| {
        app.count(&format!(
            "group_member_users m JOIN review_decision_items i ON i.principal_id = m.user_id \
             WHERE i.id = '{item}' AND m.group_id = (SELECT resource_id FROM review_instances WHERE id = '{falcon}')"
        ))
    };
    assert_eq!(member(&denied), 1);

    // Not while the review runs.
    assert_eq!(dana.get(&format!("{url}/apply")).await.status, 400);
    dana.post(&format!("{url}/apply"), &[]).await;
    assert!(dana.get(&url).await.text(".banner-error").contains("still in progress"));
    assert_eq!(member(&denied), 1);

    dana.post(&format!("{url}/stop"), &[]).await;
    let results = dana.get(&url).await;
    assert!(results.attrs(".results a", "href").contains(&format!("{url}/apply")));
    let preview = dana.get(&format!("{url}/apply")).await;
    assert_eq!(preview.status, 200);
    assert!(preview.text("h1").starts_with("Apply the denials of “Project Falcon guests”"));
    let rows = preview.texts("table.items tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Will be removed") && rows[0].contains("Project Falcon"), "{rows:?}");
    assert_eq!(member(&denied), 1, "the preview changes nothing");

    let done = dana.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303);
    let page = dana.get(&url).await;
    assert_eq!(page.text(".banner-success"), "Denials applied: 1 removed.");
    assert!(page.text(".results h2").contains("Completed and applied"));
    let row = page.texts("table.items tbody tr").into_iter().find(|r| r.contains("Denied")).unwrap();
    assert!(row.contains("Removed"), "{row}");
    assert_eq!(member(&denied), 0);
    assert_eq!(member(&approved), 1, "approved access stays");
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{denied}' AND action = 'ApplyDecision'")), 1);

    // Applying again changes nothing.
    dana.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(
        dana.get(&url).await.text(".banner-success"),
        "Nothing left to apply: every denial had been applied already."
    );
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{denied}' AND action = 'ApplyDecision'")), 1);
    let again = dana.get(&format!("{url}/apply")).await;
    assert!(again.text(".notice").contains("nothing left to apply"));
    assert!(again.attrs("form[action$='/apply'] button", "type").is_empty(), "no button when nothing is left");
}

#[tokio::test]
async fn the_results_page_shows_how_far_each_reviewer_got() {
    let app = spawn_demo_app().await;
    let dana = as_persona(&app, "admin").await;
    // Managers: each reviews their own people.
    let sf = app.instance_of("Salesforce access by managers");
    let url = results_url(&app, &sf);
    let page = dana.get(&url).await;
    assert_eq!(page.status, 200);
    assert!(!page.texts("dl.facts dt").contains(&"Also reviewing".to_owned()), "that is the reviewer's page");
    let managers = app.count(&format!("review_instance_reviewers WHERE instance_id = '{sf}'"));
    let rows = page.texts("table.reviewers tbody tr");
    assert_eq!(i64::try_from(rows.len()).unwrap(), managers.min(50));
    assert!(rows.iter().all(|r| r.contains("Not started")), "{rows:?}");
    let summary = page.text(".reviewers-summary");
    assert!(summary.starts_with(&format!("{managers} of {managers} reviewers have not started.")), "{summary}");

    // Priya decides one of her people: she is no longer among those who have not started.
    let priya = as_persona(&app, "manager").await;
    let items = priya.get(&format!("/reviews/{sf}")).await.attrs("input[name=item]", "value");
    let hers = i64::try_from(items.len()).unwrap();
    app.clock.advance(chrono::TimeDelta::minutes(5));
    priya.post(&format!("/reviews/{sf}"), &[("item", &items[0]), ("action", "Approve"), ("reason", "Needs it")]).await;
    let page = dana.get(&url).await;
    let rows = page.texts("table.reviewers tbody tr");
    let last = rows.last().unwrap();
    assert!(last.contains("Priya Raman"), "the one who started comes last: {rows:?}");
    let cells = page.texts("table.reviewers tbody tr:last-child td");
    assert_eq!(
        cells,
        vec![
            hers.to_string(),
            "1".to_owned(),
            "2026-11-28 09:05 UTC".to_owned(),
            if hers == 1 { "Done" } else { "In progress" }.to_owned()
        ]
    );
    assert!(
        page.text(".reviewers-summary")
            .starts_with(&format!("{} of {managers} reviewers have not started.", managers - 1))
    );

    // Owners share the people: "Decided" counts each one's decisions.
    let falcon = app.instance_of(FALCON);
    owner_decides_two(&app, &falcon).await;
    let page = dana.get(&results_url(&app, &falcon)).await;
    let rows = page.texts("table.reviewers tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{falcon}'"));
    assert_eq!(
        page.texts("table.reviewers tbody tr td"),
        vec![total.to_string(), "2".to_owned(), "2026-11-28 09:05 UTC".to_owned(), "In progress".to_owned()]
    );
    assert!(rows[0].contains("Omar Haddad"));
    // A self-review lists no reviewers: each person answers for themselves.
    let vpn = app.instance_of(VPN);
    assert!(dana.get(&results_url(&app, &vpn)).await.texts("table.reviewers").is_empty());

    // An owner who is a member: his own access went to the fallback at start, so it is not
    // among the people he reviews but among the fallback's.
    crate::scheduler::create(&dana, &[("name", "Falcon members"), ("groups", "Project Falcon")]).await;
    assert_eq!(crate::scheduler::tick(&app).started, 1);
    let members = app.instance_of("Falcon members");
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{members}'"));
    let page = dana.get(&results_url(&app, &members)).await;
    let rows = page.texts("table.reviewers tbody tr");
    let omar = rows.iter().find(|r| r.contains("Omar Haddad")).expect("the owner is listed");
    assert!(omar.starts_with("Omar Haddad") && omar.contains(&(total - 1).to_string()), "{rows:?}");
    let fallback = rows.iter().find(|r| r.contains("Dana Whitfield")).expect("the fallback is listed");
    assert!(fallback.contains(" 1 "), "the fallback decides the owner's own access: {rows:?}");
}

#[tokio::test]
async fn the_completion_mail_reaches_the_members_of_a_named_group_once_each() {
    let app = spawn_demo_app().await;
    let dana = as_persona(&app, "admin").await;
    let group = app.group_id("Finance Approvers");
    let members = |extra: &str| {
        app.count(&format!(
            "users WHERE id IN (SELECT user_id FROM group_member_users WHERE group_id = '{group}') {extra}"
        ))
    };
    assert!(members("") >= 2, "a group with members");
    // One member is disabled; Dana (the creator) is made a member and is also named.
    let off: String = {
        use attest::db::schema::group_member_users::dsl::*;
        use diesel::prelude::*;
        group_member_users.filter(group_id.eq(&group)).select(user_id).order(user_id).first(&mut *app.conn()).unwrap()
    };
    app.exec(&format!("UPDATE users SET enabled = FALSE WHERE id = '{off}'"));
    let dana_id = app.user_id(attest::demo::personas::ADMIN);
    app.exec(&format!("INSERT INTO group_member_users (group_id, user_id) VALUES ('{group}', '{dana_id}')"));
    let mut fields = vec![
        ("name", "Recipients"),
        ("scope", "Groups"),
        ("groups", "VPN Users"),
        ("role_assignment_types", "Both"),
        ("user_scope", "All"),
        ("reviewer_kind", "Owners"),
        ("fallback_reviewers", attest::demo::personas::ADMIN),
        ("start_date", "2026-11-28"),
        ("frequency", "OneTime"),
        ("duration_days", "7"),
        ("end_kind", "Never"),
        ("default_decision", "None"),
        ("guest_denied_action", "RemoveAccess"),
        ("lookback_days", "30"),
    ];
    fields.push(("additional_recipients", "No Such Group"));
    let bad = dana.post("/admin/access-reviews/new", &fields).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.text("#additional_recipients-error").ends_with("No user or group is called No Such Group"),
        "{}",
        bad.text(".error-summary")
    );

    let created = crate::scheduler::create(
        &dana,
        &[
            ("name", "Recipients"),
            ("groups", "VPN Users"),
            ("mail_notifications", "on"),
            ("additional_recipients", &format!("finance approvers\n{}", attest::demo::personas::ADMIN)),
        ],
    )
    .await;
    let saved = dana.get(&format!("{created}/edit")).await.text("textarea#additional_recipients");
    assert!(saved.contains("Finance Approvers"), "the group as the directory spells it: {saved}");
    crate::scheduler::tick(&app);
    let instance = app.instance_of("Recipients");
    dana.post(&format!("{}/stop", results_url(&app, &instance)), &[]).await;
    let mails = |extra: &str| {
        app.count(&format!("outbox WHERE kind = 'ReviewCompleted' AND instance_id = '{instance}' {extra}"))
    };
    let reachable = members("AND enabled = TRUE AND mail IS NOT NULL");
    assert_eq!(mails(""), reachable, "each enabled member with an address once, Dana among them");
    assert_eq!(mails(&format!("AND recipient_id = '{dana_id}'")), 1, "named twice, mailed once");
    assert_eq!(mails(&format!("AND recipient_id = '{off}'")), 0, "not the disabled member");
}
