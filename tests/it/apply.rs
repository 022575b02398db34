//! Applying results: each apply result, the last Global Administrator, idempotence, the
//! preview, guests blocked then deleted, auto-apply, refusals, and an apply killed half-way
//! in a separate process that finishes on the next run without applying anything twice.

use std::process::Command;

use attest::demo::personas;
use attest::domain::apply::ApplyResult;
use attest::domain::decision::Decision;
use attest::domain::directory::{GroupType, UserType};
use attest::scheduler;
use attest::service::apply::{self, ApplySummary, Planned};
use attest::service::panel::Refused;
use attest::store;
use attest::store::instances::ItemRow;
use attest::store::users::UserRow;
use chrono::TimeDelta;

use crate::helpers::{TestApp, spawn_admin_app};
use crate::scheduler::{create, tick};

/// A review to create: its name, extra form fields, and the SQL condition on the items to deny.
pub(crate) type ReviewSpec<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

/// Creates each review, starts them, denies the chosen items and lets the reviews end.
/// Returns the instances.
pub(crate) async fn completed(app: &TestApp, reviews: &[ReviewSpec<'_>]) -> Vec<String> {
    for (name, extra, _) in reviews {
        let mut fields = vec![("name", *name)];
        fields.extend_from_slice(extra);
        create(app, &fields).await;
    }
    tick(app);
    let ids: Vec<String> = reviews.iter().map(|(name, _, _)| app.instance_of(name)).collect();
    for (id, (_, _, deny)) in ids.iter().zip(reviews) {
        app.exec(&format!(
            "UPDATE review_decision_items SET decision = 'Deny' WHERE instance_id = '{id}' AND ({deny})"
        ));
    }
    app.clock.advance(TimeDelta::days(8));
    tick(app);
    for id in &ids {
        assert_eq!(status(app, id), "Completed");
    }
    ids
}

fn admin(app: &TestApp) -> UserRow {
    store::users::by_upn(&mut app.conn(), personas::ADMIN).unwrap().unwrap()
}

fn run(app: &TestApp, instance: &str) -> Result<ApplySummary, Refused> {
    let admin = admin(app);
    apply::apply(&mut app.conn(), instance, attest::service::actor::Actor::Person(&admin), app.clock_now()).unwrap()
}

fn items(app: &TestApp, instance: &str) -> Vec<ItemRow> {
    store::instances::items(&mut app.conn(), instance, 100_000).unwrap()
}

fn status(app: &TestApp, instance: &str) -> String {
    store::instances::get(&mut app.conn(), instance).unwrap().unwrap().status.to_string()
}

fn events(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

#[tokio::test]
async fn group_results_each_say_what_happened() {
    let app = spawn_admin_app().await;
    let tom = app.user_id(personas::USER);
    let ids = completed(
        &app,
        &[
            // Tom is approved; everyone else denied.
            ("Direct", &[("groups", "VPN Users")], &format!("principal_id <> '{tom}'")),
            ("Nested", &[("groups", "Engineering All")], "1 = 1"),
            ("Dynamic", &[("groups", "Sales – Dynamic")], "1 = 1"),
            ("Synced", &[("groups", "SG-VPN-Users")], "1 = 1"),
        ],
    )
    .await;
    let (direct, nested, dynamic, synced) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let vpn = app.group_id("VPN Users");
    // One denied member left the group before the apply.
    let gone = items(&app, direct).into_iter().find(|i| i.principal_id != tom).unwrap();
    app.exec(&format!("DELETE FROM group_member_users WHERE group_id = '{vpn}' AND user_id = '{}'", gone.principal_id));
    let members_before = app.count(&format!("group_member_users WHERE group_id = '{vpn}'"));

    let summary = run(&app, direct).unwrap();
    let all = items(&app, direct);
    let denied = i64::try_from(all.iter().filter(|i| i.decision == Decision::Deny).count()).unwrap();
    assert_eq!(summary, ApplySummary { applied: denied - 1, not_found: 1, ..ApplySummary::default() });
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{vpn}'")), members_before - (denied - 1));
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{vpn}' AND user_id = '{tom}'")), 1);
    let dana = admin(&app);
    for i in &all {
        match (i.decision.as_str(), i.principal_id == gone.principal_id) {
            ("Deny", true) => {
                assert_eq!(i.apply_result, ApplyResult::AppliedSuccessfullyButObjectNotFound);
                assert_eq!(i.apply_detail, "No longer a direct member of VPN Users");
            }
            ("Deny", false) => {
                assert_eq!(i.apply_result, ApplyResult::AppliedSuccessfully);
                assert!(i.apply_detail.starts_with("Removed from the group VPN Users"), "{}", i.apply_detail);
            }
            // Not denied: untouched, as in Entra.
            _ => assert_eq!((i.apply_result.as_str(), i.applied_at), ("New", None)),
        }
        if i.decision == Decision::Deny {
            assert_eq!(i.applied_by.as_deref(), Some(dana.id.as_str()));
            assert_eq!(i.applied_at, Some(app.clock_now()));
        }
    }
    assert_eq!(status(&app, direct), "Applied");
    assert_eq!(events(&app, "ApplyDecision"), denied);
    assert_eq!((events(&app, "ApplyStarted"), events(&app, "ApplyCompleted")), (1, 1));

    let summary = run(&app, nested).unwrap();
    let nested_items = items(&app, nested);
    let via: Vec<&ItemRow> = nested_items.iter().filter(|i| !i.access_direct).collect();
    assert!(!via.is_empty());
    // The head of Engineering is its one direct member, and a member of a nested group too:
    // the direct membership goes, the access stays, and it is not counted as removed.
    let head: Vec<&ItemRow> = nested_items.iter().filter(|i| i.access_direct).collect();
    assert_eq!(head.len(), 1);
    assert!(head[0].access_path.starts_with("Direct; Via "), "{}", head[0].access_path);
    assert_eq!(
        summary,
        ApplySummary {
            applied: 0,
            not_supported: i64::try_from(via.len()).unwrap() + 1,
            access_remains: 1,
            ..ApplySummary::default()
        }
    );
    assert_eq!(
        items(&app, nested).iter().find(|i| i.access_direct).unwrap().apply_result,
        ApplyResult::ApplyNotSupported
    );
    let backend = via.iter().find(|i| i.access_path == "Via Backend Developers").unwrap();
    assert_eq!(backend.apply_result, ApplyResult::ApplyNotSupported);
    assert!(
        backend.apply_detail.starts_with("Membership through the nested group Backend Developers"),
        "{}",
        backend.apply_detail
    );
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{}'", app.group_id("Engineering All"))), 0);
    assert!(app.count(&format!("group_member_users WHERE group_id = '{}'", app.group_id("Backend Developers"))) > 0);

    for (id, words) in [(dynamic, "dynamic rule of Sales – Dynamic"), (synced, "synced from on-premises")] {
        let members = app.count("group_member_users");
        let s = run(&app, id).unwrap();
        assert!(s.not_supported > 0 && s.applied == 0, "{s:?}");
        assert_eq!(app.count("group_member_users"), members);
        for i in items(&app, id) {
            assert_eq!(i.apply_result, ApplyResult::ApplyNotSupported);
            assert!(i.apply_detail.contains(words), "{}", i.apply_detail);
        }
    }
}

#[tokio::test]
async fn applications_and_roles() {
    let app = spawn_admin_app().await;
    let ids = completed(
        &app,
        &[
            ("Jira", &[("scope", "Applications"), ("applications", "Jira")], "1 = 1"),
            (
                "Security admins",
                &[
                    ("scope", "DirectoryRoles"),
                    ("roles", "Security Administrator"),
                    ("reviewer_kind", "Selected"),
                    ("reviewers", personas::ADMIN),
                ],
                "1 = 1",
            ),
        ],
    )
    .await;
    let jira = app.app_id("Jira");
    let s = run(&app, &ids[0]).unwrap();
    assert!(s.applied > 0 && s.not_supported > 0, "{s:?}");
    assert_eq!(app.count(&format!("app_user_assignments WHERE app_id = '{jira}'")), 0);
    assert!(app.count(&format!("app_group_assignments WHERE app_id = '{jira}'")) > 0, "group assignments stay");
    let via = items(&app, &ids[0]).into_iter().find(|i| !i.access_direct).unwrap();
    assert!(
        via.apply_detail.starts_with("Access through the group Engineering All assigned to Jira"),
        "{}",
        via.apply_detail
    );

    let role = app.role_id("Security Administrator");
    let kinds =
        app.count(&format!("role_assignments WHERE role_id = '{role}' AND assignment_type IN ('Active', 'Eligible')"));
    assert_eq!(kinds, 2, "one active, one eligible in the demo");
    let s = run(&app, &ids[1]).unwrap();
    assert_eq!(s, ApplySummary { applied: 2, ..ApplySummary::default() });
    assert_eq!(app.count(&format!("role_assignments WHERE role_id = '{role}'")), 0);
    let details: Vec<String> = items(&app, &ids[1]).into_iter().map(|i| i.apply_detail).collect();
    assert!(
        details.iter().any(|d| d == "Removed the Active assignment of Security Administrator at Directory"),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d == "Removed the Eligible assignment of Security Administrator at Directory"),
        "{details:?}"
    );
}

#[tokio::test]
async fn the_last_global_administrator_is_never_removed_and_preview_matches() {
    let app = spawn_admin_app().await;
    let ga = app.role_id("Global Administrator");
    let ids = completed(
        &app,
        &[(
            "Admins",
            &[
                ("scope", "DirectoryRoles"),
                ("roles", "Global Administrator"),
                ("reviewer_kind", "Selected"),
                ("reviewers", personas::ADMIN),
            ],
            "1 = 1",
        )],
    )
    .await;
    let active =
        |app: &TestApp| app.count(&format!("role_assignments WHERE role_id = '{ga}' AND assignment_type = 'Active'"));
    assert_eq!(active(&app), 2);
    let dana = admin(&app);
    let events_before = app.count("audit_events");
    let preview = apply::preview(&mut app.conn(), &ids[0], &dana, app.clock_now()).unwrap().unwrap();
    assert_eq!((preview.counts.remove, preview.counts.refused, preview.already_applied), (2, 1, 0), "{preview:?}");
    assert!(
        preview.warnings.iter().any(|w| w.contains("Global Administrator is a privileged role")),
        "{:?}",
        preview.warnings
    );
    let hers = preview.items.iter().find(|i| i.principal_upn == personas::ADMIN).unwrap();
    if hers.outcome == Planned::Remove {
        assert!(preview.warnings.iter().any(|w| w.starts_with("Your own access is among the removals")));
    }
    let refused = preview.items.iter().find(|i| matches!(i.outcome, Planned::Refused(_))).unwrap();
    assert!(matches!(&refused.outcome, Planned::Refused(r) if r.contains("last active Global Administrator")));
    assert_eq!(app.count("audit_events"), events_before, "a preview changes nothing");
    assert_eq!(status(&app, &ids[0]), "Completed");

    let s = run(&app, &ids[0]).unwrap();
    assert_eq!(
        s,
        ApplySummary {
            applied: preview.counts.remove,
            not_found: preview.counts.already_gone,
            not_supported: preview.counts.not_supported + preview.counts.access_remains,
            access_remains: preview.counts.access_remains,
            refused: preview.counts.refused
        }
    );
    assert_eq!(active(&app), 1, "one active Global Administrator is left");
    let kept = items(&app, &ids[0]).into_iter().find(|i| i.apply_result == ApplyResult::NotApplied).unwrap();
    assert_eq!(kept.id, refused.item_id);
    assert!(kept.apply_detail.contains("last active Global Administrator"));

    // Applying again changes nothing and records nothing.
    let events_after = app.count("audit_events");
    assert_eq!(run(&app, &ids[0]).unwrap(), ApplySummary::default());
    assert_eq!(app.count("audit_events"), events_after);
    let again = apply::preview(&mut app.conn(), &ids[0], &dana, app.clock_now()).unwrap().unwrap();
    assert_eq!((again.counts.total(), again.already_applied, again.items.len()), (0, 3, 0));
}

#[tokio::test]
async fn an_instance_in_progress_is_refused_and_unknown_ones_are_not_found() {
    let app = spawn_admin_app().await;
    let falcon = app.instance_of("Project Falcon guests");
    let refused = run(&app, &falcon).unwrap_err();
    assert_eq!(refused.0, "This review is still in progress: stop it or wait for its end before applying.");
    assert_eq!(events(&app, "ApplyStarted"), 0);
    let dana = admin(&app);
    assert!(apply::preview(&mut app.conn(), "no-such-id", &dana, app.clock_now()).unwrap().is_none());
    let err =
        apply::apply(&mut app.conn(), "no-such-id", attest::service::actor::Actor::Person(&dana), app.clock_now())
            .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

#[tokio::test]
async fn denied_guests_are_blocked_then_deleted_after_30_days() {
    let app = spawn_admin_app().await;
    let ids = completed(
        &app,
        &[(
            "Guests",
            &[("groups", "Project Falcon"), ("user_scope", "Guests"), ("guest_denied_action", "BlockThenDelete")],
            "1 = 1",
        )],
    )
    .await;
    let guests: Vec<String> = items(&app, &ids[0]).into_iter().map(|i| i.principal_id).collect();
    assert!(!guests.is_empty());
    let s = run(&app, &ids[0]).unwrap();
    assert_eq!(s.applied, i64::try_from(guests.len()).unwrap());
    let list = guests.iter().map(|g| format!("'{g}'")).collect::<Vec<_>>().join(", ");
    assert_eq!(app.count(&format!("users WHERE id IN ({list}) AND enabled = FALSE")), s.applied);
    assert_eq!(app.count(&format!("guest_deletions WHERE user_id IN ({list})")), s.applied);
    // Blocked, not yet removed: their memberships wait for the deletion.
    assert!(app.count(&format!("group_member_users WHERE user_id IN ({list})")) >= s.applied);

    app.clock.advance(TimeDelta::days(29));
    assert_eq!(tick(&app).guests_deleted, 0, "not before 30 days");
    assert_eq!(app.count(&format!("users WHERE id IN ({list})")), s.applied);
    app.clock.advance(TimeDelta::days(1));
    let report = tick(&app);
    assert_eq!(report.guests_deleted, guests.len());
    assert_eq!(app.count(&format!("users WHERE id IN ({list})")), 0);
    for table in ["group_member_users", "app_user_assignments", "role_assignments", "sign_ins", "guest_deletions"] {
        assert_eq!(app.count(&format!("{table} WHERE user_id IN ({list})")), 0, "{table}");
    }
    assert_eq!(events(&app, "GuestDeleted"), s.applied);
    assert_eq!(tick(&app).guests_deleted, 0);
}

#[tokio::test]
async fn a_guest_enabled_again_is_kept() {
    let app = spawn_admin_app().await;
    let ids = completed(
        &app,
        &[(
            "Guests",
            &[("groups", "Project Falcon"), ("user_scope", "Guests"), ("guest_denied_action", "BlockThenDelete")],
            "1 = 1",
        )],
    )
    .await;
    run(&app, &ids[0]).unwrap();
    let lena = items(&app, &ids[0]).into_iter().next().unwrap().principal_id;
    app.exec(&format!("UPDATE users SET enabled = TRUE WHERE id = '{lena}'"));
    app.clock.advance(TimeDelta::days(31));
    tick(&app);
    assert_eq!(app.count(&format!("users WHERE id = '{lena}'")), 1);
    assert_eq!(app.count(&format!("guest_deletions WHERE user_id = '{lena}'")), 0);
    assert_eq!(events(&app, "GuestDeletionCancelled"), 1);
}

#[tokio::test]
async fn the_scheduler_applies_auto_apply_reviews() {
    let app = spawn_admin_app().await;
    create(&app, &[("name", "Auto"), ("groups", "VPN Users"), ("auto_apply", "on")]).await;
    create(&app, &[("name", "Manual"), ("groups", "Finance Approvers")]).await;
    tick(&app);
    let (auto, manual) = (app.instance_of("Auto"), app.instance_of("Manual"));
    app.exec("UPDATE review_decision_items SET decision = 'Deny'");
    app.clock.advance(TimeDelta::days(8));
    let report = tick(&app);
    assert_eq!(report.applied, 1, "{report:?}");
    assert_eq!(status(&app, &auto), "Applied");
    assert_eq!(status(&app, &manual), "Completed");
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{}'", app.group_id("VPN Users"))), 0);
    let by: Vec<Option<String>> = items(&app, &auto).into_iter().map(|i| i.applied_by).collect();
    assert!(by.iter().all(Option::is_none), "applied by the scheduler");
    assert_eq!(tick(&app), scheduler::TickReport::default());
}

/// A group of `n` direct members, none of them in anything else.
fn big_group(app: &TestApp, name: &str, n: usize) {
    use attest::store::groups::GroupRow;
    let now = app.clock_now();
    let mut conn = app.conn();
    let group = uuid::Uuid::new_v4().to_string();
    store::groups::insert_batch(
        &mut conn,
        &[GroupRow {
            id: group.clone(),
            display_name: name.into(),
            description: None,
            group_type: GroupType::Security,
            membership_rule: None,
            on_premises_sync: false,
            mail_enabled: false,
            created_at: now,
        }],
    )
    .unwrap();
    let users: Vec<UserRow> = (0..n)
        .map(|k| UserRow {
            id: uuid::Uuid::new_v4().to_string(),
            upn: format!("kill.{k}@contoso.example"),
            display_name: format!("Kill Test {k:05}"),
            mail: None,
            user_type: UserType::Member,
            enabled: true,
            manager_id: None,
            department: None,
            job_title: None,
            created_at: now,
            last_sign_in_at: None,
        })
        .collect();
    for chunk in users.chunks(2_000) {
        store::users::insert_batch(&mut conn, chunk).unwrap();
        let pairs: Vec<(String, String)> = chunk.iter().map(|u| (group.clone(), u.id.clone())).collect();
        store::groups::insert_member_users(&mut conn, &pairs).unwrap();
    }
}

#[tokio::test]
async fn an_apply_killed_half_way_finishes_on_the_next_run_without_applying_twice() {
    const N: i64 = 10_000;
    let app = spawn_admin_app().await;
    big_group(&app, "Kill Test", 10_000);
    let ids = completed(&app, &[("Kill", &[("groups", "Kill Test")], "1 = 1")]).await;
    let id = &ids[0];
    let group = app.group_id("Kill Test");
    let applied = |app: &TestApp| {
        app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND apply_result <> 'New'"))
    };
    let attest = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_attest"));
        cmd.args(["apply", "--instance", id])
            .env("DATABASE_URL", app.db.url())
            .env("ATTEST_LOG", "warn")
            // Small batches: hundreds of transactions, so the kill lands between two.
            .env("ATTEST_APPLY_BATCH", "20");
        cmd
    };

    let mut child = attest().stdout(std::process::Stdio::null()).spawn().unwrap();
    let started = std::time::Instant::now();
    while applied(&app) == 0 && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no chance to finish the batch or clean up
    child.wait().unwrap();
    let half = applied(&app);
    assert!(half > 0 && half < N, "the kill landed half-way: {half} of {N} applied");
    assert_eq!(half % 20, 0, "whole batches only: {half}");
    assert_eq!(status(&app, id), "Applying");
    assert_eq!(events(&app, "ApplyDecision"), half);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{group}'")), N - half);

    let out = attest().output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.contains(&format!("{} removed, 0 already gone", N - half)), "{line}");

    // Every item applied exactly once: all removed by someone (none "already gone", which
    // a removal without its result would have left), one event each, all memberships gone.
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE instance_id = '{id}' AND apply_result = 'AppliedSuccessfully'"
        )),
        N
    );
    assert_eq!(events(&app, "ApplyDecision"), N);
    assert_eq!(app.count("(SELECT DISTINCT target_id FROM audit_events WHERE action = 'ApplyDecision') AS t"), N);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{group}'")), 0);
    assert_eq!(status(&app, id), "Applied");
    assert_eq!((events(&app, "ApplyStarted"), events(&app, "ApplyCompleted")), (2, 1));

    let verify = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("the audit trail is intact"));
    // A third run finds nothing to do.
    let out = attest().output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 removed, 0 already gone, 0 not supported, 0 refused"));
}

pub(crate) fn results_url(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    let series: String = review_instances.find(instance).select(definition_id).first(&mut *app.conn()).unwrap();
    format!("/admin/access-reviews/{series}/instances/{instance}")
}

#[tokio::test]
async fn access_that_stays_through_a_group_is_not_shown_or_counted_as_removed() {
    let app = spawn_admin_app().await;
    // Salesforce is assigned to Sales Team; some of Sales are assigned directly as well.
    let ids = completed(
        &app,
        &[("Salesforce", &[("scope", "Applications"), ("applications", "Salesforce")], "access_direct = TRUE")],
    )
    .await;
    let id = &ids[0];
    let both: Vec<ItemRow> = items(&app, id).into_iter().filter(|i| i.decision == Decision::Deny).collect();
    assert!(!both.is_empty());
    assert!(both.iter().all(|i| i.access_path == "Direct; Via Sales Team"), "{:?}", both[0].access_path);
    let n = both.len();
    let url = results_url(&app, id);
    app.sign_in("admin").await; // eight days passed: the session ended

    let preview = app.get(&format!("{url}/apply")).await;
    assert_eq!(preview.status, 200);
    let rows = preview.texts("table.items tbody tr");
    assert_eq!(rows.len(), n);
    for row in &rows {
        assert!(!row.contains("Will be removed"), "{row}");
        assert!(
            row.contains("Access stays")
                && row.contains(
                    "Access remains via Sales Team: remove them from Sales Team or unassign it from Salesforce"
                ),
            "{row}"
        );
    }
    assert!(preview.text(".not-applied").contains(&format!("{n} people keep the access through a group")));
    assert_eq!(preview.text("form[action$='/apply'] button"), "Record the results", "nothing loses the access");

    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303);
    let page = app.get(&url).await;
    assert_eq!(
        page.text(".banner-success"),
        format!(
            "Denials applied: 0 removed, {n} still have the access through a group although the direct link was removed. See the rows marked below."
        )
    );
    // The results page's notice counts them, and no row says "Removed".
    assert!(page.text(".results .error-summary").starts_with(&format!("{n} denials were not applied")));
    assert!(page.texts("table.items .apply-ok").is_empty(), "{:?}", page.texts("table.items .apply-ok"));
    let applied: Vec<String> =
        page.texts("table.items tbody tr").into_iter().filter(|r| r.contains("Denied")).collect();
    assert!(!applied.is_empty());
    for row in &applied {
        assert!(
            row.contains("Not applied")
                && row.contains("Direct assignment to Salesforce removed; access remains via Sales Team"),
            "{row}"
        );
    }
    // The direct assignments went; the group's did not, and the people keep the access.
    let sf = app.app_id("Salesforce");
    let list = both.iter().map(|i| format!("'{}'", i.principal_id)).collect::<Vec<_>>().join(", ");
    assert_eq!(app.count(&format!("app_user_assignments WHERE app_id = '{sf}' AND user_id IN ({list})")), 0);
    assert!(app.count(&format!("app_group_assignments WHERE app_id = '{sf}'")) > 0);
    for i in items(&app, id).into_iter().filter(|i| i.decision == Decision::Deny) {
        assert_eq!(i.apply_result, ApplyResult::ApplyNotSupported);
        assert!(i.apply_detail.starts_with("Direct assignment to Salesforce removed; access remains via Sales Team"));
    }
    // The CSV says so too.
    let csv = app.get(&format!("{url}/results.csv")).await;
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_reader(csv.body.as_bytes()).records().map(Result::unwrap).collect();
    let denied_rows: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[13] == "Deny").collect();
    assert_eq!(denied_rows.len(), n);
    assert!(denied_rows.iter().all(|r| &r[21] == "ApplyNotSupported"), "{denied_rows:?}");
}

#[tokio::test]
async fn a_direct_member_also_in_a_nested_group_stays_a_member() {
    let app = spawn_admin_app().await;
    let (all, backend) = (app.group_id("Engineering All"), app.group_id("Backend Developers"));
    // Someone of Backend Developers (nested in Engineering All) is made a direct member too.
    let dev: String = {
        use attest::db::schema::group_member_users::dsl::*;
        use diesel::prelude::*;
        group_member_users.filter(group_id.eq(&backend)).select(user_id).order(user_id).first(&mut *app.conn()).unwrap()
    };
    app.exec(&format!("INSERT INTO group_member_users (group_id, user_id) VALUES ('{all}', '{dev}')"));
    let ids = completed(&app, &[("Engineering", &[("groups", "Engineering All")], "access_direct = TRUE")]).await;
    let id = &ids[0];
    let item = items(&app, id).into_iter().find(|i| i.principal_id == dev).unwrap();
    assert_eq!((item.access_path.as_str(), item.decision.as_str()), ("Direct; Via Backend Developers", "Deny"));

    let dana = admin(&app);
    let preview = apply::preview(&mut app.conn(), id, &dana, app.clock_now()).unwrap().unwrap();
    let planned = preview.items.iter().find(|i| i.item_id == item.id).unwrap();
    assert_eq!(
        planned.outcome,
        Planned::AccessRemains(
            "Access remains via Backend Developers: remove them from Backend Developers or review that group separately"
                .into()
        )
    );
    let s = run(&app, id).unwrap();
    assert!(s.access_remains >= 1 && s.not_supported >= s.access_remains, "{s:?}");
    let item = items(&app, id).into_iter().find(|i| i.principal_id == dev).unwrap();
    assert_eq!(item.apply_result, ApplyResult::ApplyNotSupported);
    assert!(
        item.apply_detail
            .starts_with("Direct membership of Engineering All removed; access remains via Backend Developers"),
        "{}",
        item.apply_detail
    );
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{all}' AND user_id = '{dev}'")), 0);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{backend}' AND user_id = '{dev}'")), 1);
    // The audit event records what was done and that the access stays.
    let details: Vec<String> = {
        use attest::db::schema::audit_events::dsl::*;
        use diesel::prelude::*;
        audit_events
            .filter(action.eq("ApplyDecision"))
            .filter(target_id.eq(&item.id))
            .select(details)
            .load(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(details.len(), 1);
    assert!(details[0].contains("\"result\":\"ApplyNotSupported\""), "{}", details[0]);
    assert!(details[0].contains("access remains via Backend Developers"), "{}", details[0]);
}

#[tokio::test]
async fn the_apply_button_counts_only_what_will_be_applied() {
    let app = spawn_admin_app().await;
    let ids = completed(
        &app,
        &[(
            "Admins",
            &[
                ("scope", "DirectoryRoles"),
                ("roles", "Global Administrator"),
                ("reviewer_kind", "Selected"),
                ("reviewers", personas::ADMIN),
            ],
            "1 = 1",
        )],
    )
    .await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await; // eight days passed: the session ended
    let preview = app.get(&format!("{url}/apply")).await;
    assert_eq!(preview.status, 200);
    // Three denied, one of them the last active Global Administrator: two are applied.
    assert_eq!(preview.texts("table.items tbody tr").len(), 3);
    assert_eq!(preview.text("form[action$='/apply'] button"), "Apply 2 denials");
    let not_applied = preview.texts(".not-applied li");
    assert_eq!(not_applied.len(), 1, "{not_applied:?}");
    assert!(not_applied[0].starts_with("1 person keeps the access because attest refuses"), "{not_applied:?}");
    app.post(&format!("{url}/apply"), &[]).await;
    // Dana may have removed her own Global Administrator role: the message waits on her home.
    assert_eq!(
        app.get("/").await.text(".banner-success"),
        "Denials applied: 2 removed, 1 refused. See the rows marked below."
    );
}

async fn signed_in(app: &TestApp, persona: &str) -> TestApp {
    let other = TestApp { client: crate::helpers::Spawn::client(), ..app.share() };
    other.sign_in(persona).await;
    other
}

#[tokio::test]
async fn a_guest_who_created_a_review_is_deleted_and_the_review_keeps_its_history() {
    let app = spawn_admin_app().await;
    app.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await;
    let lena = app.user_id(personas::GUEST);
    let falcon = app.group_id("Project Falcon");
    app.exec(&format!("INSERT INTO group_owners (group_id, user_id) VALUES ('{falcon}', '{lena}')"));
    let guest = signed_in(&app, "guest").await;
    let hers = create(&guest, &[("name", "Falcon by Lena"), ("groups", "Project Falcon")]).await;
    assert_eq!(app.count(&format!("review_definitions WHERE created_by = '{lena}'")), 1);

    // A review blocks then deletes the denied guests of Project Falcon, Lena among them.
    let ids = completed(
        &app,
        &[(
            "Guests",
            &[("groups", "Project Falcon"), ("user_scope", "Guests"), ("guest_denied_action", "BlockThenDelete")],
            "1 = 1",
        )],
    )
    .await;
    assert!(items(&app, &ids[0]).iter().any(|i| i.principal_id == lena));
    run(&app, &ids[0]).unwrap();
    app.clock.advance(TimeDelta::days(30));
    let report = tick(&app);
    assert_eq!(app.count(&format!("users WHERE id = '{lena}'")), 0, "the account goes");
    assert_eq!(report.guests_deleted, usize::try_from(events(&app, "GuestDeleted")).unwrap());
    assert_eq!(app.count(&format!("audit_events WHERE action = 'GuestDeleted' AND target_id = '{lena}'")), 1);
    // The series stays, with who created it.
    assert_eq!(app.count(&format!("review_definitions WHERE created_by = '{lena}'")), 1);
    app.sign_in("admin").await; // weeks passed: the session ended
    let page = app.get(&hers).await;
    assert_eq!(page.status, 200);
    assert!(
        page.texts("dl div").iter().any(|f| f.starts_with("Created") && f.ends_with("by Lena Fischer")),
        "{:?}",
        page.texts("dl div")
    );
    assert_eq!(
        app.count(&format!("audit_events WHERE action = 'CreateReviewDefinition' AND actor_id = '{lena}'")),
        1,
        "and the audit trail"
    );
}

#[tokio::test]
async fn two_appliers_at_once_apply_each_denial_once() {
    const N: i64 = 3_000;
    let app = spawn_admin_app().await;
    big_group(&app, "Race Test", 3_000);
    let ids = completed(&app, &[("Race", &[("groups", "Race Test")], "1 = 1")]).await;
    let id = ids[0].clone();
    let group = app.group_id("Race Test");
    let url = results_url(&app, &id);
    app.sign_in("admin").await; // eight days passed: the session ended
    let applied = |app: &TestApp| {
        app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND apply_result <> 'New'"))
    };

    // `attest apply` in another process, in small batches, and meanwhile two admins press
    // Apply on the results page.
    let cli = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["apply", "--instance", &id])
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .env("ATTEST_APPLY_BATCH", "25")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while applied(&app) == 0 && started.elapsed() < std::time::Duration::from_secs(60) {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let other = signed_in(&app, "admin").await;
    let apply_url = format!("{url}/apply");
    let (a, b) = tokio::join!(app.post(&apply_url, &[]), other.post(&apply_url, &[]));
    assert_eq!((a.status, b.status), (303, 303));
    let out = tokio::task::spawn_blocking(move || cli.wait_with_output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let halfway = String::from_utf8_lossy(&out.stdout).to_string();

    // Each denial applied once: removed by exactly one of them, one audit event each.
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE instance_id = '{id}' AND apply_result = 'AppliedSuccessfully'"
        )),
        N,
        "{halfway}"
    );
    assert_eq!(events(&app, "ApplyDecision"), N);
    assert_eq!(app.count("(SELECT DISTINCT target_id FROM audit_events WHERE action = 'ApplyDecision') AS t"), N);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{group}'")), 0);
    assert_eq!(status(&app, &id), "Applied");
    assert_eq!(events(&app, "ApplyCompleted"), 1);
    // What each applier said adds up to the whole.
    let said: Vec<String> = {
        let mut banners = Vec::new();
        for who in [&app, &other] {
            banners.push(who.get(&url).await.text(".banner-success"));
        }
        banners
    };
    // "Denials applied: 2975 removed." or "Nothing left to apply: …" (0).
    let by_page: i64 = said
        .iter()
        .filter_map(|s| s.strip_prefix("Denials applied: "))
        .map(|rest| rest.split(' ').next().and_then(|n| n.parse::<i64>().ok()).unwrap())
        .sum();
    let by_cli: i64 =
        halfway.split(": ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    assert_eq!(by_page + by_cli, N, "{said:?} {halfway}");

    let verify = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("the audit trail is intact"));
}
