//! Access review administration: onboarding.

use attest::demo::personas;

use crate::helpers::{Spawn, TestApp, spawn_admin_app};

#[tokio::test]
async fn demo_starts_onboarded() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/access-reviews").await;
    assert_eq!(page.status, 200);
    assert!(page.text(".hint").starts_with("Enabled by Dana Whitfield on 2026-11-28"), "{}", page.text(".hint"));
    assert_eq!(page.attrs("nav.main-nav a[aria-current=page]", "href"), vec!["/admin/access-reviews"]);
}

#[tokio::test]
async fn reviews_are_off_until_a_global_or_user_administrator_onboards() {
    let app = spawn_admin_app().await;
    app.exec("DELETE FROM settings WHERE key IN ('onboarded_by', 'onboarded_at')");
    let page = app.get("/admin/access-reviews").await;
    assert!(page.text(".notice").contains("Access reviews are not enabled in this directory"));
    let onboard = app.get(&page.link("Onboard")).await;
    assert_eq!(onboard.text("h1"), "Onboard access reviews");
    assert_eq!(onboard.texts("main form button"), vec!["Create"]);

    let before = app.count("audit_events");
    let done = app.post("/admin/access-reviews/onboard", &[]).await;
    assert_eq!((done.status, done.header("location").as_str()), (303, "/admin/access-reviews"));
    let page = app.get("/admin/access-reviews").await;
    assert_eq!(page.text(".banner"), "Access reviews are now enabled in this directory.");
    assert!(page.text(".hint").contains("Dana Whitfield"));
    assert_eq!(app.count("audit_events"), before + 1, "onboarding is audited");

    // Again: nothing more happens.
    app.post("/admin/access-reviews/onboard", &[]).await;
    assert_eq!(app.get("/admin/access-reviews").await.text(".banner"), "Access reviews were already enabled.");
    assert_eq!(app.count("audit_events"), before + 1);
}

#[tokio::test]
async fn identity_governance_administrators_cannot_onboard() {
    let app = spawn_admin_app().await;
    app.exec("DELETE FROM settings WHERE key IN ('onboarded_by', 'onboarded_at')");
    // Make Dana an Identity Governance Administrator only.
    let dana = app.user_id(personas::ADMIN);
    let iga = app.role_id("Identity Governance Administrator");
    app.exec(&format!("DELETE FROM role_assignments WHERE user_id = '{dana}'"));
    app.exec(&format!(
        "INSERT INTO role_assignments (id, role_id, user_id, scope, scope_name, assignment_type, start_at, end_at) \
         VALUES ('t-iga', '{iga}', '{dana}', '/', 'Directory', 'Active', '2026-01-01 00:00:00', NULL)"
    ));
    let page = app.get("/admin/access-reviews").await;
    assert_eq!(page.status, 200, "still an admin");
    assert!(page.text(".notice").contains("must enable them first"));
    assert_eq!(app.get("/admin/access-reviews/onboard").await.status, 403);
    assert_eq!(app.post("/admin/access-reviews/onboard", &[]).await.status, 403);
    assert!(app.get("/admin/access-reviews").await.text(".notice").contains("not enabled"));
}

fn form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Quarterly review of Sales Team"),
        ("description_for_reviewers", "Please confirm who still needs access."),
        ("scope", "Groups"),
        ("groups", "Sales Team"),
        ("role_assignment_types", "Both"),
        ("user_scope", "All"),
        ("inactive_days", "90"),
        ("reviewer_kind", "Owners"),
        ("fallback_reviewers", personas::ADMIN),
        ("start_date", "2026-12-01"),
        ("frequency", "Quarterly"),
        ("duration_days", "14"),
        ("end_kind", "Never"),
        ("default_decision", "None"),
        ("guest_denied_action", "RemoveAccess"),
        ("recommendations", "on"),
        ("lookback_days", "30"),
        ("mail_notifications", "on"),
    ];
    for (k, v) in extra {
        fields.retain(|(f, _)| f != k);
        fields.push((k, v));
    }
    fields
}

#[tokio::test]
async fn the_create_form_starts_with_entras_defaults() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/access-reviews/new").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.attrs("input[name=scope][checked]", "value"), vec!["Groups"]);
    assert_eq!(page.attrs("input[name=start_date]", "value"), vec!["2026-11-28"]);
    assert_eq!(page.attrs("input[name=lookback_days]", "value"), vec!["30"]);
    assert_eq!(page.attrs("input[name=recommendations][checked]", "name").len(), 1);
    assert_eq!(page.attrs("input[name=auto_apply][checked]", "name").len(), 0);
    for section in [
        "1. Basics",
        "2. What to review",
        "3. Users to review",
        "4. Reviewers",
        "5. Schedule",
        "6. Upon completion",
        "7. Advanced",
    ] {
        assert!(page.texts("form h2").iter().any(|h| h == section), "{section}");
    }
    // Every input has a label.
    for id in page.attrs("form input:not([type=hidden]), form textarea, form select", "id") {
        assert_eq!(page.attrs(&format!("label[for='{id}']"), "for").len(), 1, "label for {id}");
    }
}

#[tokio::test]
async fn invalid_forms_come_back_with_every_problem_and_the_values_kept() {
    let app = spawn_admin_app().await;
    let before = app.count("review_definitions");
    let fields = form(&[
        ("name", ""),
        ("groups", "Sales Team\nNo Such Group"),
        ("frequency", "Monthly"),
        ("duration_days", "30"),
    ]);
    let page = app.post("/admin/access-reviews/new", &fields).await;
    assert_eq!(page.status, 400);
    let summary = page.texts(".error-summary li");
    assert!(summary.contains(&"Enter a name for the review".to_owned()), "{summary:?}");
    assert!(summary.contains(&"Enter a duration of 1 to 27 days for a monthly review".to_owned()), "{summary:?}");
    assert_eq!(page.attrs(".error-summary a", "href")[0], "#name");
    assert_eq!(page.text("#duration_days-error"), "Error: Enter a duration of 1 to 27 days for a monthly review");
    assert_eq!(page.text("textarea#groups"), "Sales Team No Such Group", "values are kept");
    assert_eq!(page.attrs("select#frequency option[selected]", "value"), vec!["Monthly"]);
    assert!(page.text("title").starts_with("Error:"));
    assert_eq!(app.count("review_definitions"), before, "nothing is saved");

    // Names are checked against the directory once the rest is valid.
    let page = app
        .post(
            "/admin/access-reviews/new",
            &form(&[("groups", "Sales Team\nNo Such Group"), ("fallback_reviewers", "nobody@contoso.example")]),
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text("#groups-error").contains("No group is named “No Such Group”"));
    assert!(
        page.text("#fallback_reviewers-error").contains("No user has the user principal name nobody@contoso.example")
    );
    let zoom =
        app.post("/admin/access-reviews/new", &form(&[("scope", "Applications"), ("applications", "Zoom")])).await;
    assert!(zoom.text("#applications-error").contains("does not require assignment"));
    assert_eq!(app.count("review_definitions"), before);
}

#[tokio::test]
async fn a_valid_review_is_saved_audited_and_listed() {
    let app = spawn_admin_app().await;
    let definitions = app.count("review_definitions");
    let audit_before = app.count("audit_events");
    let page = app.post("/admin/access-reviews/new", &form(&[])).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.header("location");
    assert!(location.starts_with("/admin/access-reviews/"));
    let show = app.get(&location).await;
    assert_eq!(
        show.text(".banner"),
        "Review “Quarterly review of Sales Team” created. Its first occurrence starts on 2026-12-01."
    );
    assert_eq!(show.text("h1"), "Quarterly review of Sales Team");
    let facts = show.text(".facts");
    for fact in
        ["Group members", "All users", "Owners", "2026-12-01", "14 days", "Never", "No change", "On, look-back 30 days"]
    {
        assert!(facts.contains(fact), "{fact} in {facts}");
    }
    assert!(show.text("ul.plain").contains("Sales Team"));
    assert!(show.texts(".tag").iter().any(|t| t == "Fallback"));
    assert_eq!(app.count("review_definitions"), definitions + 1);
    assert_eq!(app.count("audit_events"), audit_before + 1);
    let list = app.get("/admin/access-reviews").await;
    let row =
        list.texts("tbody tr").into_iter().find(|r| r.contains("Quarterly review of Sales Team")).unwrap_or_default();
    assert!(
        row.contains("Quarterly review of Sales Team") && row.contains("Quarterly") && row.contains("2026-12-01"),
        "{row}"
    );
}

#[tokio::test]
async fn a_review_can_start_from_a_resource_page() {
    let app = spawn_admin_app().await;
    let group = app.get(&format!("/admin/groups/{}", app.group_id("Project Falcon"))).await;
    let new = app.get(&group.link("Review access")).await;
    assert_eq!(new.text("textarea#groups"), "Project Falcon");
    let role = app.get(&format!("/admin/roles/{}", app.role_id("Global Administrator"))).await;
    let new = app.get(&role.link("Review access")).await;
    assert_eq!(new.attrs("input[name=scope][checked]", "value"), vec!["DirectoryRoles"]);
    assert_eq!(new.text("textarea#roles"), "Global Administrator");
}

#[tokio::test]
async fn creating_needs_onboarding_first() {
    let app = spawn_admin_app().await;
    app.exec("DELETE FROM settings WHERE key IN ('onboarded_by', 'onboarded_at')");
    let page = app.get("/admin/access-reviews/new").await;
    assert_eq!(page.status, 409);
    assert!(page.text(".lead").contains("not enabled"));
    assert_eq!(app.post("/admin/access-reviews/new", &form(&[])).await.status, 409);
}

#[tokio::test]
async fn editing_changes_later_settings_and_is_audited() {
    let app = spawn_admin_app().await;
    let path = app.post("/admin/access-reviews/new", &form(&[])).await.header("location");
    let edit = app.get(&format!("{path}/edit")).await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.attrs("input#name", "value"), vec!["Quarterly review of Sales Team"]);
    assert_eq!(edit.text("textarea#fallback_reviewers"), personas::ADMIN);

    let bad = app
        .post(
            &format!("{path}/edit"),
            &[
                ("name", ""),
                ("fallback_reviewers", personas::ADMIN),
                ("end_kind", "Never"),
                ("default_decision", "None"),
                ("lookback_days", "30"),
                ("recommendations", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text(".error-summary").contains("Enter a name for the review"));

    let audit = app.count("audit_events");
    let fields = [
        ("name", "Sales Team, every quarter"),
        ("fallback_reviewers", personas::MANAGER),
        ("end_kind", "AfterOccurrences"),
        ("occurrences", "4"),
        ("default_decision", "Deny"),
        ("lookback_days", "60"),
        ("recommendations", "on"),
        // Posted but not editable: ignored.
        ("scope", "DirectoryRoles"),
        ("frequency", "Weekly"),
    ];
    let saved = app.post(&format!("{path}/edit"), &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.text("main"));
    let show = app.get(&path).await;
    assert!(show.text(".banner").contains("Changes to “Sales Team, every quarter” saved"));
    let facts = show.text(".facts");
    assert!(
        facts.contains("After 4 occurrences") && facts.contains("Remove access") && facts.contains("look-back 60 days"),
        "{facts}"
    );
    assert!(
        facts.contains("Group members") && show.texts(".tag").iter().any(|t| t == "Quarterly"),
        "scope and frequency unchanged"
    );
    assert!(show.text("main").contains("priya.raman@contoso.example"));
    assert_eq!(app.count("audit_events"), audit + 1);
}

#[tokio::test]
async fn deleting_stops_the_series_and_keeps_its_history() {
    let app = spawn_admin_app().await;
    let list = app.get("/admin/access-reviews").await;
    let path = list.link("Global Administrators");
    let confirm = app.get(&format!("{path}/delete")).await;
    assert_eq!(confirm.text("h1"), "Delete “Global Administrators”?");
    assert!(confirm.text(".notice").contains("1 review in progress will run to its end"));
    let done = app.post(&format!("{path}/delete"), &[]).await;
    assert_eq!(done.header("location"), "/admin/access-reviews");
    let list = app.get("/admin/access-reviews").await;
    assert!(list.text(".banner").contains("was deleted"));
    assert!(!list.texts("tbody tr").iter().any(|r| r.contains("Global Administrators")));
    let show = app.get(&path).await;
    assert_eq!(show.status, 200, "history stays reachable");
    assert!(show.texts(".tag").iter().any(|t| t == "Deleted"));
    assert!(show.text("tbody").contains("In progress"));
    assert_eq!(app.get(&format!("{path}/edit")).await.status, 409);
}

#[tokio::test]
async fn owners_manage_reviews_of_what_they_own_only_when_the_tenant_allows_it() {
    let admin = spawn_admin_app().await;
    let owner = TestApp { client: Spawn::client(), ..admin.share() };
    owner.sign_in("owner").await;

    // Off by default: no navigation entry, and the pages are refused.
    let settings = admin.get("/admin/access-reviews/settings").await;
    assert_eq!(settings.attrs("input#owners_manage_reviews[checked]", "id").len(), 0, "off by default");
    assert!(!owner.get("/").await.texts("nav.main-nav a").contains(&"Access reviews".to_owned()));
    assert_eq!(owner.get("/admin/access-reviews").await.status, 403);
    assert_eq!(owner.get("/admin/access-reviews/new").await.status, 403);
    // Only admins change the setting.
    assert_eq!(owner.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await.status, 403);
    assert_eq!(owner.get("/admin/access-reviews").await.status, 403);

    let audit = admin.count("audit_events");
    let saved = admin.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await;
    assert_eq!((saved.status, saved.header("location").as_str()), (303, "/admin/access-reviews/settings"));
    let settings = admin.get("/admin/access-reviews/settings").await;
    assert!(settings.text(".banner").starts_with("Settings saved: group and application owners can now"));
    assert_eq!(settings.attrs("input#owners_manage_reviews[checked]", "id").len(), 1);
    assert_eq!(admin.count("audit_events"), audit + 1, "the change is audited");
    admin.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await;
    assert_eq!(admin.count("audit_events"), audit + 1, "saving the same value changes nothing");
    let bad = admin.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "maybe")]).await;
    assert_eq!(bad.status, 400);

    // Omar owns Project Falcon: he sees its review and not the others.
    let panel = owner.get("/").await;
    assert!(panel.texts("nav.main-nav a").contains(&"Access reviews".to_owned()));
    assert!(!panel.texts("nav.main-nav a").contains(&"Directory".to_owned()), "no directory pages for owners");
    let list = owner.get("/admin/access-reviews").await;
    assert_eq!(list.status, 200);
    let names = list.texts("tbody tr td:first-child");
    assert!(names.contains(&"Project Falcon guests".to_owned()), "{names:?}");
    for other in ["Global Administrators", "Salesforce access by managers", "VPN Users: confirm your access"] {
        assert!(!names.contains(&other.to_owned()), "{other} in {names:?}");
    }
    assert_eq!(owner.get("/admin/access-reviews/settings").await.status, 403);
    assert_eq!(owner.get("/admin/users").await.status, 403);

    // Series outside his resources do not exist for him.
    let ids: Vec<(String, String)> = {
        use attest::db::schema::review_definitions::dsl::*;
        use diesel::prelude::*;
        review_definitions.select((display_name, id)).load(&mut admin.conn()).unwrap()
    };
    let id_of = |name: &str| ids.iter().find(|(n, _)| n == name).map(|(_, i)| i.clone()).unwrap();
    let falcon = id_of("Project Falcon guests");
    let admins = id_of("Global Administrators");
    assert_eq!(owner.get(&format!("/admin/access-reviews/{falcon}")).await.status, 200);
    assert_eq!(owner.get(&format!("/admin/access-reviews/{falcon}/edit")).await.status, 200);
    for path in ["", "/edit", "/delete"] {
        assert_eq!(owner.get(&format!("/admin/access-reviews/{admins}{path}")).await.status, 404, "GET {path}");
    }
    let delete = owner.post(&format!("/admin/access-reviews/{admins}/delete"), &[]).await;
    assert_eq!(delete.status, 404);
    let edit = owner.post(&format!("/admin/access-reviews/{admins}/edit"), &form(&[("name", "Mine now")])).await;
    assert_eq!(edit.status, 404);
    assert_eq!(admin.get(&format!("/admin/access-reviews/{admins}")).await.text("h1"), "Global Administrators");

    // He creates reviews of what he owns, and of nothing else.
    let new = owner.get("/admin/access-reviews/new").await;
    assert_eq!(new.attrs("input[name=scope]", "value"), vec!["Groups", "Applications"]);
    assert!(new.text("#scope .hint").contains("Project Falcon"));
    let before = admin.count("review_definitions");
    let page = owner.post("/admin/access-reviews/new", &form(&[("groups", "Sales Team")])).await;
    assert_eq!(page.status, 400);
    assert_eq!(
        page.text("#groups-error"),
        "Error: You are not an owner of “Sales Team”: you can create reviews only of groups you own"
    );
    let page = owner
        .post(
            "/admin/access-reviews/new",
            &form(&[
                ("scope", "DirectoryRoles"),
                ("roles", "Global Administrator"),
                ("reviewer_kind", "Selected"),
                ("reviewers", personas::OWNER),
            ]),
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text("#scope-error").contains("As an owner you can review the members of groups you own"));
    assert_eq!(admin.count("review_definitions"), before, "nothing saved");
    let page = owner
        .post("/admin/access-reviews/new", &form(&[("name", "Falcon members"), ("groups", "Project Falcon")]))
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let list = owner.get("/admin/access-reviews").await;
    assert!(list.texts("tbody tr td:first-child").contains(&"Falcon members".to_owned()));

    // Turned off again, the owner is back to the panel only.
    admin.post("/admin/access-reviews/settings", &[]).await;
    assert_eq!(owner.get("/admin/access-reviews").await.status, 403);
    assert_eq!(owner.get(&format!("/admin/access-reviews/{falcon}")).await.status, 403);
}

#[tokio::test]
async fn the_completion_mail_also_goes_to_the_additional_recipients() {
    let app = spawn_admin_app().await;
    let today = app.clock_now().date().format("%Y-%m-%d").to_string();
    let bad = app
        .post(
            "/admin/access-reviews/new",
            &form(&[("start_date", &today), ("additional_recipients", "nobody@contoso.example")]),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.text("#additional_recipients-error")
            .ends_with("No user has the user principal name nobody@contoso.example"),
        "{}",
        bad.text("#additional_recipients-error")
    );
    assert_eq!(
        app.count("review_definitions WHERE display_name = 'Quarterly review of Sales Team'"),
        0,
        "nothing saved"
    );

    let recipients = format!("{}\n{}\n{}", personas::OWNER, personas::MANAGER, personas::OWNER.to_uppercase());
    let created = app
        .post(
            "/admin/access-reviews/new",
            &form(&[("start_date", &today), ("frequency", "OneTime"), ("additional_recipients", &recipients)]),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.text(".error-summary"));
    let path = created.header("location");
    let edit = app.get(&format!("{path}/edit")).await;
    let saved = edit.text("textarea#additional_recipients");
    assert_eq!(saved.split_whitespace().count(), 2, "each person once: {saved}");
    assert!(app.get(&path).await.body.contains("the completion mail also goes to"));

    attest::scheduler::tick(&mut app.conn(), app.clock_now()).unwrap();
    let instance = app.instance_of("Quarterly review of Sales Team");
    let results = format!("{path}/instances/{instance}");
    assert_eq!(app.post(&format!("{results}/stop"), &[]).await.status, 303);
    let completed = |to: &str| {
        app.count(&format!(
            "outbox WHERE instance_id = '{instance}' AND kind = 'ReviewCompleted' AND recipient_address = '{to}'"
        ))
    };
    assert_eq!(completed(personas::ADMIN), 1, "the creator");
    assert_eq!(completed(personas::OWNER), 1);
    assert_eq!(completed(personas::MANAGER), 1);
    assert_eq!(app.count(&format!("outbox WHERE instance_id = '{instance}' AND kind = 'ReviewCompleted'")), 3);
}

#[tokio::test]
async fn dates_out_of_range_are_refused_next_to_their_field_not_with_a_panic() {
    let app = spawn_admin_app().await;
    let before = app.count("review_definitions");
    let weekly_until = |end: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![("frequency", "Weekly"), ("duration_days", "3"), ("end_kind", "OnDate"), ("end_date", end)]
    };
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("start_date", "+262142-12-31")],
            "start_date",
            "Enter a start date no later than 2036-11-28, 10 years from today",
        ),
        (vec![("start_date", "2036-11-29")], "start_date", "no later than 2036-11-28"),
        (vec![("start_date", "1999-12-31")], "start_date", "Enter a start date of today or later"),
        (vec![("start_date", "-262143-01-01")], "start_date", "Enter a start date of today or later"),
        (
            weekly_until("+262142-12-31"),
            "end_date",
            "Enter an end date no later than 2036-12-01: a series is planned at most 10 years ahead",
        ),
        (weekly_until("2026-11-30"), "end_date", "Enter an end date on or after the start date"),
        (weekly_until("1999-01-01"), "end_date", "Enter an end date on or after the start date"),
        (
            vec![
                ("frequency", "Weekly"),
                ("duration_days", "3"),
                ("end_kind", "AfterOccurrences"),
                ("occurrences", "4294967296"),
            ],
            "occurrences",
            "Enter a number of occurrences from 1 to 1,000",
        ),
        (vec![("duration_days", "99999999999999999999")], "duration_days", "Enter the duration as a number of days"),
    ];
    for (extra, field, message) in cases {
        let page = app.post("/admin/access-reviews/new", &form(&extra)).await;
        assert_eq!(page.status, 400, "{extra:?}: {}", page.text("main"));
        let error = page.text(&format!("#{field}-error"));
        assert!(error.contains(message), "{extra:?}: {error}");
        assert_eq!(page.attrs(".error-summary a", "href"), vec![format!("#{field}")], "{extra:?}");
        let (typed_field, typed) = extra.iter().find(|(k, _)| *k == field).copied().unwrap_or(("", ""));
        if !typed_field.is_empty() {
            assert_eq!(page.attrs(&format!("#{field}"), "value"), vec![typed.to_owned()], "what was typed is kept");
        }
    }
    assert_eq!(app.count("review_definitions"), before, "nothing is saved");
    // The edit form bounds the end of a series the same way.
    let path = app.post("/admin/access-reviews/new", &form(&[])).await.header("location");
    let edit = app
        .post(
            &format!("{path}/edit"),
            &[
                ("name", "Quarterly review of Sales Team"),
                ("end_kind", "OnDate"),
                ("end_date", "+262142-12-31"),
                ("default_decision", "None"),
                ("recommendations", "on"),
                ("lookback_days", "30"),
            ],
        )
        .await;
    assert_eq!(edit.status, 400);
    assert!(edit.text("#end_date-error").contains("no later than 2036-12-01"), "{}", edit.text("main"));
}

#[tokio::test]
async fn fallback_reviewers_are_asked_for_only_when_a_chosen_resource_has_no_owner() {
    let app = spawn_admin_app().await;
    let without_fallback = |extra: &[(&'static str, &'static str)]| {
        let mut fields = form(extra);
        fields.retain(|(k, _)| *k != "fallback_reviewers");
        fields
    };
    // Sales Team has owners: they review it, nothing falls back.
    let owned = app.post("/admin/access-reviews/new", &without_fallback(&[("name", "Owned")])).await;
    assert_eq!(owned.status, 303, "{}", owned.text("main"));
    // Managers: people without a manager go to the fallback reviewers when there are some.
    let managers = app
        .post("/admin/access-reviews/new", &without_fallback(&[("name", "Managers"), ("reviewer_kind", "Managers")]))
        .await;
    assert_eq!(managers.status, 303, "{}", managers.text("main"));

    // SRE On-call has no owner: nobody would review it.
    let before = app.count("review_definitions");
    let page = app
        .post(
            "/admin/access-reviews/new",
            &without_fallback(&[("name", "Orphan"), ("groups", "Sales Team\nSRE On-call")]),
        )
        .await;
    assert_eq!(page.status, 400);
    assert_eq!(
        page.text("#fallback_reviewers-error"),
        "Error: “SRE On-call” has no owner: enter a fallback reviewer to review it"
    );
    assert_eq!(page.attrs(".error-summary a", "href"), vec!["#fallback_reviewers"]);
    assert_eq!(app.count("review_definitions"), before);
    let hint = page.text("#fallback_reviewers-hint");
    assert!(hint.contains("without an owner") && hint.contains("without a manager"), "{hint}");
    let with_fallback = app
        .post("/admin/access-reviews/new", &form(&[("name", "Orphan"), ("groups", "Sales Team\nSRE On-call")]))
        .await;
    assert_eq!(with_fallback.status, 303);

    // Taking the fallback away later is refused the same way.
    let path = with_fallback.header("location");
    let edit = app
        .post(
            &format!("{path}/edit"),
            &[("name", "Orphan"), ("end_kind", "Never"), ("default_decision", "None"), ("lookback_days", "30")],
        )
        .await;
    assert_eq!(edit.status, 400);
    assert!(edit.text("#fallback_reviewers-error").contains("“SRE On-call” has no owner"));
}

#[tokio::test]
async fn stored_states_are_shown_in_words() {
    let app = spawn_admin_app().await;
    let list = app.get("/admin/access-reviews").await;
    let falcon = app.get(&list.link("Project Falcon guests")).await;
    let states = falcon.texts(".tag");
    assert!(states.contains(&"Active".to_owned()), "{states:?}");
    assert_eq!(falcon.texts("tbody td:nth-child(5)"), vec!["In progress"]);
    assert!(!falcon.body.contains("InProgress") && !falcon.body.contains("NotStarted"));

    // A one-time review ends with its one occurrence, not "Never".
    let once = app.post("/admin/access-reviews/new", &form(&[("frequency", "OneTime"), ("end_kind", "Never")])).await;
    let show = app.get(&once.header("location")).await;
    let facts = show.texts(".facts div");
    let ends = facts.iter().find(|f| f.starts_with("Ends")).cloned().unwrap_or_default();
    assert_eq!(ends, "Ends After its one occurrence, on 2026-12-15");
    let weekly = app.post("/admin/access-reviews/new", &form(&[("frequency", "Weekly"), ("duration_days", "3")])).await;
    let show = app.get(&weekly.header("location")).await;
    assert!(show.texts(".facts div").contains(&"Ends Never: it recurs until it is deleted".to_owned()));

    // A role review says which assignments it covers in words.
    let list = app.get("/admin/access-reviews").await;
    let admins = app.get(&list.link("Global Administrators")).await;
    let what = admins.texts(".facts div").into_iter().find(|f| f.starts_with("What")).unwrap_or_default();
    assert!(what.contains("assignments") && !what.contains("(Both)") && !what.contains("(Active)"), "{what}");

    // A deleted series, and the outbox's waiting mails.
    let path = list.link("Global Administrators");
    app.post(&format!("{path}/delete"), &[]).await;
    assert!(app.get(&path).await.texts(".tag").contains(&"Deleted".to_owned()));
    let mail: i64 = {
        use diesel::prelude::*;
        attest::db::schema::outbox::table
            .filter(attest::db::schema::outbox::status.eq("Pending"))
            .select(attest::db::schema::outbox::id)
            .first(&mut app.conn())
            .unwrap()
    };
    let page = app.get(&format!("/admin/outbox/{mail}")).await;
    let status = page.texts(".facts div").into_iter().find(|f| f.starts_with("Status")).unwrap_or_default();
    assert!(status.starts_with("Status Waiting to be sent"), "{status}");
}

#[tokio::test]
async fn the_edit_form_shows_only_the_reviewer_fields_of_its_kind() {
    let app = spawn_admin_app().await;
    let owners = app.post("/admin/access-reviews/new", &form(&[])).await.header("location");
    let edit = app.get(&format!("{owners}/edit")).await;
    assert!(edit.texts("textarea#reviewers").is_empty(), "an owners review has no selected reviewers");
    assert!(edit.text("#fallback_reviewers-hint").contains("without an owner"));
    let selected = app
        .post(
            "/admin/access-reviews/new",
            &form(&[("name", "Picked"), ("reviewer_kind", "Selected"), ("reviewers", personas::MANAGER)]),
        )
        .await
        .header("location");
    let edit = app.get(&format!("{selected}/edit")).await;
    assert_eq!(edit.text("textarea#reviewers"), personas::MANAGER);
    assert_eq!(edit.texts("textarea#fallback_reviewers").len(), 1);
    let own = app
        .post("/admin/access-reviews/new", &form(&[("name", "Own"), ("reviewer_kind", "Self")]))
        .await
        .header("location");
    let edit = app.get(&format!("{own}/edit")).await;
    assert!(edit.texts("textarea#reviewers, textarea#fallback_reviewers").is_empty());
    // A refused edit comes back with the same fields.
    let bad = app.post(&format!("{owners}/edit"), &[("name", ""), ("end_kind", "Never")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.texts("textarea#reviewers").is_empty() && bad.texts("textarea#fallback_reviewers").len() == 1);
    // Save and Cancel sit apart, as on the confirmation pages.
    assert_eq!(edit.texts(".form-actions a"), vec!["Cancel"]);
    let delete = app.get(&format!("{own}/delete")).await;
    assert_eq!(delete.texts(".form-actions button, .form-actions a"), vec!["Delete this review", "Cancel"]);
    let instance = app.instance_of("Project Falcon guests");
    let list = app.get("/admin/access-reviews").await;
    let stop = app.get(&format!("{}/instances/{instance}/stop", list.link("Project Falcon guests"))).await;
    assert_eq!(stop.texts(".form-actions button, .form-actions a"), vec!["Stop the review", "Cancel"]);
}

#[tokio::test]
async fn the_series_list_shows_resources_due_dates_and_links_to_results() {
    let app = spawn_admin_app().await;
    let list = app.get("/admin/access-reviews").await;
    let headers = list.texts("thead th");
    let column =
        |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {headers:?}")) + 1;
    let row = |name: &str| {
        list.texts("tbody tr").iter().position(|r| r.contains(name)).map(|i| i + 1).unwrap_or_else(|| panic!("{name}"))
    };
    let cell =
        |name: &str, col: &str| list.text(&format!("tbody tr:nth-child({}) td:nth-child({})", row(name), column(col)));
    assert_eq!(cell("Project Falcon guests", "Resource"), "Project Falcon");
    assert_eq!(cell("Global Administrators", "Resource"), "Global Administrator");
    // The demo's reviews started today for 14 days.
    let due = app.clock_now().date() + chrono::Days::new(14);
    assert_eq!(cell("Project Falcon guests", "Due"), due.to_string());
    // The progress leads to the results of the occurrence in progress.
    let falcon_series = list.link("Project Falcon guests");
    let instance = app.instance_of("Project Falcon guests");
    let results = list.attrs(
        &format!("tbody tr:nth-child({}) td:nth-child({}) a", row("Project Falcon guests"), column("Current progress")),
        "href",
    );
    assert_eq!(results, vec![format!("{falcon_series}/instances/{instance}")]);
    assert_eq!(app.get(&results[0]).await.status, 200);

    // A series of several groups not started yet: its resources in short, no due date.
    let created = app
        .post(
            "/admin/access-reviews/new",
            &form(&[("name", "Three groups"), ("groups", "Sales Team\nProject Falcon\nEngineering All")]),
        )
        .await;
    assert_eq!(created.status, 303);
    let list = app.get("/admin/access-reviews").await;
    let three = list.texts("tbody tr").into_iter().find(|r| r.starts_with("Three groups")).unwrap();
    assert!(three.contains(" and 2 more"), "{three}");
    assert!(three.contains("— 2026-12-01 —"), "no due date, the next start, no progress: {three}");

    // Once it runs, each resource is an instance: the list leads to the series' occurrences,
    // where each one links to its results.
    app.clock.advance(chrono::TimeDelta::days(3));
    attest::scheduler::tick(&mut app.conn(), app.clock_now()).unwrap();
    app.sign_in("admin").await; // three days idle ended the session
    let list = app.get("/admin/access-reviews").await;
    let path = created.header("location");
    assert!(list.attrs("tbody a", "href").contains(&format!("{path}#occurrences")), "{:?}", list.texts("tbody tr"));
    let show = app.get(&path).await;
    let links = show.attrs("#occurrences + .table-scroll tbody td:last-child a", "href");
    assert_eq!(links.len(), 3, "{links:?}");
    for link in links {
        assert!(link.starts_with(&format!("{path}/instances/")));
        assert_eq!(app.get(&link).await.status, 200);
    }
    assert!(show.texts("tbody td:last-child a").iter().all(|t| t.starts_with("Results of occurrence 1,")));
}

#[tokio::test]
async fn the_admin_home_counts_roles() {
    let app = spawn_admin_app().await;
    let cards = app.get("/").await.texts(".card");
    let roles = cards.iter().find(|c| c.ends_with(" roles")).unwrap_or_else(|| panic!("{cards:?}"));
    let n: i64 = roles.trim_end_matches(" roles").parse().unwrap();
    assert_eq!(n, app.count("role_definitions"));
    assert!(n > 0);
}

/// The fields a browser sends for the form at `action` on `page`, as the page left them:
/// text inputs, date and search boxes with their values, ticked radios and boxes, the
/// selected options, textareas — no buttons.
fn form_defaults(page: &crate::helpers::Page, action: &str) -> Vec<(String, String)> {
    use scraper::{ElementRef, Selector};
    let html = page.html();
    let form = Selector::parse(&format!("form[action='{action}']")).unwrap();
    let form = html.select(&form).next().unwrap_or_else(|| panic!("a form posting to {action}"));
    let fields = Selector::parse("input, textarea, select").unwrap();
    let option = Selector::parse("option").unwrap();
    let mut out = Vec::new();
    for el in form.select(&fields) {
        let v = el.value();
        let Some(name) = v.attr("name") else { continue };
        let value = match (v.name(), v.attr("type").unwrap_or("text")) {
            ("textarea", _) => Some(el.text().collect::<String>()),
            ("select", _) => {
                let options: Vec<ElementRef> = el.select(&option).collect();
                let chosen = options.iter().find(|o| o.value().attr("selected").is_some()).or(options.first());
                chosen.and_then(|o| o.value().attr("value").map(str::to_owned))
            }
            (_, "radio" | "checkbox") => v.attr("checked").map(|_| v.attr("value").unwrap_or("on").to_owned()),
            (_, "submit" | "button" | "image" | "reset") => None,
            _ => Some(v.attr("value").unwrap_or_default().to_owned()),
        };
        if let Some(value) = value {
            out.push((name.to_owned(), value));
        }
    }
    out
}

/// `fields` with `changes` applied: each name set to its value (added if missing).
fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields.to_vec();
    for (name, value) in changes {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => out.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    out
}

async fn post_pairs(app: &TestApp, path: &str, fields: &[(String, String)]) -> crate::helpers::Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form(path, &pairs).await
}

#[tokio::test]
async fn a_stranger_creates_a_review_with_the_defaults_and_a_name_and_a_group() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/access-reviews/new").await;
    let defaults = form_defaults(&page, "/admin/access-reviews/new");
    assert!(defaults.iter().any(|(k, v)| k == "csrf_token" && !v.is_empty()));
    assert_eq!(page.attrs("input#start_date", "type"), vec!["date"]);
    assert_eq!(page.attrs("input#start_date", "min"), vec!["2026-11-28"]);
    assert_eq!(page.attrs("input#start_date", "max"), vec!["2036-11-28"]);
    assert_eq!(page.attrs("input#end_date", "type"), vec!["date"]);
    // What a person must type: a name and what to review. Everything else as it comes.
    let typed = with(&defaults, &[("name", "Sales Team members"), ("groups", "Sales Team")]);
    let created = post_pairs(&app, "/admin/access-reviews/new", &typed).await;
    assert_eq!(created.status, 303, "{}", created.text("main"));
    let show = app.get(&created.header("location")).await;
    assert!(show.text(".banner").contains("Its first occurrence starts on 2026-11-28"));
    let facts = show.text(".facts");
    assert!(facts.contains("Group members") && facts.contains("Owners"), "{facts}");
    assert!(show.texts(".tag").contains(&"One time".to_owned()));
    assert!(show.text("ul.plain").contains("Sales Team"));
    // It starts today, reviewed by the group's owners.
    attest::scheduler::tick(&mut app.conn(), app.clock_now()).unwrap();
    let instance = app.instance_of("Sales Team members");
    assert_eq!(app.count(&format!("review_instance_reviewers WHERE instance_id = '{instance}'")), 1);
}

#[tokio::test]
async fn the_create_form_finds_groups_and_people_without_javascript() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/access-reviews/new").await;
    let defaults = form_defaults(&page, "/admin/access-reviews/new");
    assert_eq!(
        page.attrs("button[name=find][value=groups]", "formaction"),
        vec!["/admin/access-reviews/new#pick-groups"]
    );
    let before = app.count("review_definitions");

    // Search groups: the form comes back with the matches, everything typed kept.
    let typed = with(&defaults, &[("name", "Picked from the directory"), ("q_groups", "SAL"), ("find", "groups")]);
    let found = post_pairs(&app, "/admin/access-reviews/new", &typed).await;
    assert_eq!(found.status, 200, "{}", found.text("main"));
    assert!(found.texts(".error-summary").is_empty(), "a search is not a failed save");
    assert_eq!(found.attrs("input#name", "value"), vec!["Picked from the directory"]);
    assert!(found.attrs("input#q_groups", "value").iter().all(String::is_empty), "the search box is emptied");
    let choices = found.attrs("#pick-groups input[name=pick_groups]", "value");
    assert!(choices.contains(&"Sales Team".to_owned()), "{choices:?}");
    assert!(choices.iter().all(|c| c.to_lowercase().starts_with("sal")), "by the start of the name: {choices:?}");
    assert_eq!(found.text("#pick-groups legend").replace("“ ", "“").replace(" ”", "”"), "Groups starting with “SAL”");
    assert_eq!(app.count("review_definitions"), before, "nothing saved");

    // Tick one, and search people with Enter in the fallback box (no button).
    let mut next = form_defaults(&found, "/admin/access-reviews/new");
    next.push(("pick_groups".into(), "Sales Team".into()));
    let next = with(&next, &[("q_fallback_reviewers", "priya")]);
    let people = post_pairs(&app, "/admin/access-reviews/new", &next).await;
    assert_eq!(people.status, 200);
    assert_eq!(people.text("textarea#groups"), "Sales Team", "the ticked group joined its field");
    let upns = people.attrs("#pick-fallback_reviewers input[name=pick_fallback_reviewers]", "value");
    assert_eq!(upns, vec![personas::MANAGER.to_owned()], "people are picked by their user principal name");
    assert!(people.text("#pick-fallback_reviewers .picker-choices label").contains("Priya Raman"));
    // Searching again shows what is chosen as chosen.
    let again =
        with(&form_defaults(&people, "/admin/access-reviews/new"), &[("q_groups", "sales t"), ("find", "groups")]);
    let again = post_pairs(&app, "/admin/access-reviews/new", &again).await;
    assert!(again.text("#pick-groups .picked").contains("Sales Team"), "{}", again.text("#pick-groups"));

    // Save with the fallback ticked.
    let mut save = form_defaults(&people, "/admin/access-reviews/new");
    save.push(("pick_fallback_reviewers".into(), personas::MANAGER.into()));
    let created = post_pairs(&app, "/admin/access-reviews/new", &save).await;
    assert_eq!(created.status, 303, "{}", created.text("main"));
    let show = app.get(&created.header("location")).await;
    assert!(show.text("main").contains("priya.raman@contoso.example"));
    assert!(show.text("ul.plain").contains("Sales Team"));
}

#[tokio::test]
async fn searches_say_what_to_fix_and_stay_in_their_lane() {
    let app = spawn_admin_app().await;
    let defaults = form_defaults(&app.get("/admin/access-reviews/new").await, "/admin/access-reviews/new");
    let search = |field: &'static str, q: String| {
        with(&defaults, &[("find", field), (&*format!("q_{field}").leak(), &*q.leak())])
    };
    let empty = post_pairs(&app, "/admin/access-reviews/new", &with(&defaults, &[("find", "roles")])).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.text("#q_roles-error"), "Error: Type the start of the name of the directory roles to find");
    let long = post_pairs(&app, "/admin/access-reviews/new", &search("groups", "x".repeat(101))).await;
    assert_eq!(long.text("#q_groups-error"), "Error: Enter at most 100 characters to search");
    let none = post_pairs(&app, "/admin/access-reviews/new", &search("applications", "%_\u{202e}<b>".into())).await;
    assert!(none.text("#pick-applications").contains("No applications start with"));
    assert!(!none.body.contains("<b>"), "escaped");
    // Applications that do not require assignment cannot be reviewed: not offered.
    let apps = post_pairs(&app, "/admin/access-reviews/new", &search("applications", "z".into())).await;
    assert!(!apps.attrs("input[name=pick_applications]", "value").contains(&"Zoom".to_owned()));
    let roles = post_pairs(&app, "/admin/access-reviews/new", &search("roles", "global a".into())).await;
    assert_eq!(roles.attrs("input[name=pick_roles]", "value"), vec!["Global Administrator"]);
    // A pasted tab or line break reads as a space.
    let tab = post_pairs(&app, "/admin/access-reviews/new", &search("groups", "Sales\tTeam\r\n".into())).await;
    assert_eq!(tab.attrs("input[name=pick_groups]", "value"), vec!["Sales Team"]);
    // Text from outside is shown isolated, so a right-to-left override cannot turn the page.
    let at = none.body.find("<bdi>%_").expect("the query isolated");
    assert!(none.body[at..].starts_with("<bdi>%_\u{202e}&#60;b&#62;</bdi>"), "{}", &none.body[at..at + 40]);
}

#[tokio::test]
async fn the_directory_search_endpoint_is_bounded_by_prefix_and_for_review_managers_only() {
    let app = spawn_admin_app().await;
    let json = |page: crate::helpers::Page| -> serde_json::Value {
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.header("content-type").starts_with("application/json"));
        serde_json::from_str(&page.body).unwrap()
    };
    let values = |v: &serde_json::Value| -> Vec<String> {
        v["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap().to_owned()).collect()
    };
    let groups = json(app.get("/admin/access-reviews/directory?kind=groups&q=SALES").await);
    assert!(values(&groups).contains(&"Sales Team".to_owned()), "{groups}");
    assert!(values(&groups).iter().all(|v| v.to_lowercase().starts_with("sales")));
    let sales = groups["choices"].as_array().unwrap().iter().find(|c| c["value"] == "Sales Team").unwrap().clone();
    assert_eq!(sales["detail"], "Security group");
    let contains = json(app.get("/admin/access-reviews/directory?kind=groups&q=team").await);
    assert!(!values(&contains).contains(&"Sales Team".to_owned()), "prefix, not contains");
    // People by display name or UPN, bounded.
    let by_upn = json(app.get("/admin/access-reviews/directory?kind=users&q=priya.r").await);
    assert_eq!(values(&by_upn), vec![personas::MANAGER]);
    assert_eq!(by_upn["choices"][0]["label"], "Priya Raman");
    let many = json(app.get("/admin/access-reviews/directory?kind=users&q=").await);
    assert_eq!(values(&many).len(), 20);
    assert_eq!(many["more"], true);
    let names: Vec<String> =
        many["choices"].as_array().unwrap().iter().map(|c| c["label"].as_str().unwrap().to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    // Nobody else may search: an ordinary member gets 403, an anonymous visitor signs in.
    let member = TestApp { client: Spawn::client(), ..app.share() };
    member.sign_in("user").await;
    assert_eq!(member.get("/admin/access-reviews/directory?kind=users&q=a").await.status, 403);
    let stranger = TestApp { client: Spawn::client(), ..app.share() };
    assert_eq!(stranger.get("/admin/access-reviews/directory?kind=users&q=a").await.status, 303);
    // Disabled people cannot review: not offered.
    let tom = app.user_id(personas::USER);
    app.exec(&format!(
        "UPDATE users SET enabled = {} WHERE id = '{tom}'",
        if app.db.is_postgres() { "false" } else { "0" }
    ));
    assert!(values(&json(app.get("/admin/access-reviews/directory?kind=users&q=tom.b").await)).is_empty());
    let roles = json(app.get("/admin/access-reviews/directory?kind=resource-roles&q=").await);
    assert!(values(&roles).contains(&"Owner".to_owned()), "{roles}");
    assert_eq!(app.get("/admin/access-reviews/directory?kind=everything&q=a").await.status, 400);
    assert_eq!(app.get(&format!("/admin/access-reviews/directory?kind=users&q={}", "a".repeat(101))).await.status, 400);

    // An owner who manages reviews finds only what they own, and no roles.
    app.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await;
    let owner = TestApp { client: Spawn::client(), ..app.share() };
    owner.sign_in("owner").await;
    let theirs = json(owner.get("/admin/access-reviews/directory?kind=groups&q=").await);
    let omar = app.user_id(personas::OWNER);
    let owned = app.count(&format!("group_owners WHERE user_id = '{omar}'"));
    assert_eq!(i64::try_from(values(&theirs).len()).unwrap(), owned, "{theirs}");
    assert!(values(&theirs).contains(&"Project Falcon".to_owned()));
    assert!(values(&json(owner.get("/admin/access-reviews/directory?kind=groups&q=sales").await)).is_empty());
    assert!(values(&json(owner.get("/admin/access-reviews/directory?kind=directory-roles&q=").await)).is_empty());
}

#[tokio::test]
async fn starting_from_a_resource_names_the_review_after_it() {
    let app = spawn_admin_app().await;
    for (path, name) in [
        (format!("/admin/groups/{}", app.group_id("Project Falcon")), "Review of Project Falcon members"),
        (format!("/admin/applications/{}", app.app_id("Salesforce")), "Review of Salesforce users"),
        (format!("/admin/roles/{}", app.role_id("Global Administrator")), "Review of Global Administrator assignments"),
    ] {
        let resource = app.get(&path).await;
        let new = app.get(&resource.link("Review access")).await;
        assert_eq!(new.attrs("input#name", "value"), vec![name.to_owned()]);
    }
}

#[tokio::test]
async fn the_create_form_shows_only_the_fields_of_the_choices_made() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/access-reviews/new").await;
    // Each scope's fields carry the scope they belong to; the stylesheet hides the others.
    for (id, scope) in [
        ("groups", "for-groups"),
        ("excluded_groups", "for-guests"),
        ("applications", "for-apps"),
        ("roles", "for-roles"),
        ("resource_role", "for-resource"),
        ("resource_scope", "for-resource"),
    ] {
        let class = page.attrs(&format!(".field:has(> #{id})"), "class").join(" ");
        assert!(class.contains("scope-field") && class.contains(scope), "{id}: {class}");
    }
    assert!(page.attrs(".field:has(> #reviewers)", "class").join("").contains("for-selected"));
    assert!(page.attrs(".field:has(> #inactive_days)", "class").join("").contains("for-inactive"));
    let css = app.get("/static/app.css").await.body;
    assert!(css.contains(".review-form:has(#scope-apps:checked) .scope-field.for-apps"));
    assert_eq!(app.get("/static/picker.js").await.status, 200);
    assert_eq!(page.attrs("script[src='/static/picker.js']", "src").len(), 1);
}

#[tokio::test]
async fn a_large_review_fits_and_a_form_too_large_comes_back_with_a_message() {
    let app = spawn_admin_app().await;
    let upns: Vec<String> = {
        use attest::db::schema::users::dsl::*;
        use diesel::prelude::*;
        users.filter(enabled.eq(true)).select(upn).load(&mut app.conn()).unwrap()
    };
    assert!(upns.len() >= 450);
    let reviewers = upns.join("\n");
    let fields = form(&[("name", "Everyone reviews"), ("reviewer_kind", "Selected"), ("reviewers", &reviewers)]);
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len() * 3 / 2).sum();
    assert!(size > 16 * 1024, "more than the old 16 KiB limit: {size}");
    let created = app.post("/admin/access-reviews/new", &fields).await;
    assert_eq!(created.status, 303, "{}", created.text("main"));
    let path = created.header("location");
    let id = path.rsplit('/').next().unwrap();
    let named = app.count(&format!("review_definition_reviewers WHERE definition_id = '{id}' AND NOT fallback"));
    assert_eq!(named, i64::try_from(upns.len()).unwrap(), "every reviewer saved");
    // The edit form takes the same size.
    let edit = form_defaults(&app.get(&format!("{path}/edit")).await, &format!("{path}/edit"));
    assert_eq!(post_pairs(&app, &format!("{path}/edit"), &edit).await.status, 303);

    // Beyond 1 MiB: back to the form it came from, with a message; nothing saved.
    let before = app.count("review_definitions");
    let huge = "x".repeat(1024 * 1024 + 1);
    let token = app.csrf_token().await;
    let url = format!("{}/admin/access-reviews/new", app.address);
    let res = app
        .client
        .post(&url)
        .header("referer", &url)
        .form(&[("csrf_token", token.as_str()), ("name", "Too big"), ("description_for_admins", &huge)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/admin/access-reviews/new");
    assert_eq!(res.headers()["connection"], "close", "the unread body ends the connection");
    let form_page = app.get("/admin/access-reviews/new").await;
    assert_eq!(form_page.status, 200);
    assert!(form_page.text(".banner-error").contains("larger than 1 MiB"), "{}", form_page.text("main"));
    assert_eq!(app.count("review_definitions"), before);
}

#[tokio::test]
async fn the_date_filters_of_the_audit_log_and_the_history_report_are_bounded_too() {
    let app = spawn_admin_app().await;
    let all = "&kind=group&kind=application&kind=role&result=Approve&result=Deny&result=NotReviewed&result=DontKnow";
    for (path, field, which) in [
        ("/admin/audit?from=-262143-01-01".to_owned(), "from", "first"),
        ("/admin/audit?to=%2B262142-12-31".to_owned(), "to", "last"),
        (format!("/admin/access-reviews/history?from=-262143-01-01&to=2026-12-31{all}"), "from", "start"),
        (format!("/admin/access-reviews/history?from=2026-01-01&to=%2B262142-12-31{all}"), "to", "end"),
    ] {
        let page = app.get(&path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.text("main"));
        assert_eq!(
            page.text(&format!("#{field}-error")),
            format!("Error: Enter a {which} date from 2000-01-01 to 9999-12-31"),
            "{path}"
        );
    }
    for path in [
        "/admin/audit.csv?from=-262143-01-01",
        "/admin/access-reviews/history.csv?to=%2B262142-12-31&kind=group&result=Deny",
    ] {
        assert_eq!(app.get(path).await.status, 400, "{path}");
    }
    assert_eq!(app.get("/admin/audit?from=2000-01-01&to=9999-12-31").await.status, 200);
}
