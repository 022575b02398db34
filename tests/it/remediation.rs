//! Removals attest cannot make: a denied membership that a push source owns is not removed
//! but becomes a remediation task (on the results page and in its CSV), marked removed at
//! source when that source's later write shows it gone, overdue after the admin's days;
//! and items whose access a source deleted while the review runs show "No longer exists".

use attest::db::DbConnection;
use attest::domain::apply::ApplyResult;
use attest::domain::decision::Decision;
use attest::domain::source::SourceKind;
use attest::service::sources;
use attest::store;
use chrono::TimeDelta;

use crate::apply::{completed, results_url};
use crate::helpers::{TestApp, spawn_admin_app};
use crate::scheduler::{create, tick};

/// A SCIM source named `name`, created as the provisioning edge would.
fn push_source(app: &TestApp, name: &str) -> String {
    sources::ensure(&mut app.conn(), name, SourceKind::Scim, app.clock_now()).unwrap().id
}

/// Direct members of `group`, by user id, without the signed-in admin.
fn direct_members(app: &TestApp, group: &str, n: i64) -> Vec<String> {
    use attest::db::schema::group_member_users as m;
    use diesel::prelude::*;
    let admin = app.user_id(attest::demo::personas::ADMIN);
    m::table
        .filter(m::group_id.eq(group))
        .filter(m::user_id.ne(admin))
        .order(m::user_id)
        .select(m::user_id)
        .limit(n)
        .load(&mut *app.conn())
        .unwrap()
}

/// Hands these memberships of `group` to `source`, as a SCIM client creating them would.
fn hand_over(app: &TestApp, group: &str, users: &[&str], source: &str) {
    let list = users.iter().map(|u| format!("'{u}'")).collect::<Vec<_>>().join(", ");
    app.exec(&format!(
        "UPDATE group_member_users SET source_id = '{source}' WHERE group_id = '{group}' AND user_id IN ({list})"
    ));
}

/// What a source's write ends with: its `changed` hook, in the write's transaction.
fn source_changed(app: &TestApp, source: &str) -> usize {
    let now = app.clock_now();
    let mut conn = app.conn();
    let conn: &mut DbConnection = &mut conn;
    conn.write(|c| sources::changed(c, source, now)).unwrap()
}

/// The row of `user` in the items table of the review page at `path`, found by searching.
async fn item_row(app: &TestApp, path: &str, user: &str) -> String {
    let upn = store::users::get(&mut app.conn(), user).unwrap().unwrap().upn;
    let page = app.get(&format!("{path}?q={upn}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    row_of(&page, "table.items tbody tr", &upn)
}

fn name_of(app: &TestApp, user: &str) -> String {
    store::users::get(&mut app.conn(), user).unwrap().unwrap().display_name
}

fn row_of(page: &crate::helpers::Page, selector: &str, name: &str) -> String {
    let rows = page.texts(selector);
    rows.iter().find(|r| r.contains(name)).cloned().unwrap_or_else(|| panic!("no row of {name} in {rows:?}"))
}

#[tokio::test]
async fn a_denied_membership_a_push_source_owns_becomes_a_task_verified_by_its_next_write() {
    let app = spawn_admin_app().await;
    let okta = push_source(&app, "Okta");
    let vpn = app.group_id("VPN Users");
    let m = direct_members(&app, &vpn, 3);
    let (pushed, pushed2, local) = (m[0].as_str(), m[1].as_str(), m[2].as_str());
    hand_over(&app, &vpn, &[pushed, pushed2], &okta);
    let deny = format!("principal_id IN ('{pushed}', '{pushed2}', '{local}')");
    let ids = completed(&app, &[("Okta VPN", &[("groups", "VPN Users")], &deny)]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await; // eight days passed: the session ended

    // The preview and the apply agree: attest does not touch what Okta owns.
    let preview = app.get(&format!("{url}/apply")).await;
    assert_eq!(preview.status, 200);
    let (p1, p2, l) = (name_of(&app, pushed), name_of(&app, pushed2), name_of(&app, local));
    assert!(row_of(&preview, "table.items tbody tr", &p1).contains("managed by Okta: remove it there"));
    assert_eq!(preview.text("form[action$='/apply'] button"), "Apply 1 denial");
    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    for item in store::instances::items(&mut app.conn(), &ids[0], 10_000).unwrap() {
        if item.decision != Decision::Deny {
            continue;
        }
        if item.principal_id == local {
            assert_eq!(item.apply_result, ApplyResult::AppliedSuccessfully);
        } else {
            assert_eq!(item.apply_result, ApplyResult::ApplyNotSupported);
            assert_eq!(item.apply_detail, "managed by Okta: remove it there");
        }
    }
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{vpn}' AND source_id = '{okta}'")), 2);
    assert_eq!(app.count("remediation_tasks"), 2);

    // The results page lists the tasks: who, what, where, open.
    let page = app.get(&url).await;
    assert!(
        page.text(".remediation-summary").starts_with("2 removals must be made"),
        "{}",
        page.text(".remediation-summary")
    );
    let row = row_of(&page, "table.remediation tbody tr", &p1);
    assert!(row.contains("Direct") && row.contains("Okta") && row.contains("Open"), "{row}");
    assert!(!page.texts("table.remediation tbody tr").iter().any(|r| r.contains(&l)), "local removals are no tasks");
    // And the CSV, one row per removal to make where.
    let csv = app.get(&format!("{url}/remediation.csv")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-disposition").contains("remediation-"));
    let mut reader = csv::Reader::from_reader(csv.body.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("Source"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| &r[0] == "Okta" && &r[2] == "VPN Users" && &r[6] == "Denied" && &r[10] == "Open"));

    // Okta removes one membership; its write's hook sees it gone.
    app.exec(&format!("DELETE FROM group_member_users WHERE group_id = '{vpn}' AND user_id = '{pushed}'"));
    assert_eq!(source_changed(&app, &okta), 1);
    assert_eq!(source_changed(&app, &okta), 0, "a task is verified once");
    assert_eq!(app.count("audit_events WHERE action = 'RemediationVerified'"), 1);
    let page = app.get(&url).await;
    let row = row_of(&page, "table.remediation tbody tr", &p1);
    assert!(row.contains("Removed at source") && row.contains("seen 2026-12-06 09:00 UTC"), "{row}");
    assert!(row_of(&page, "table.remediation tbody tr", &p2).contains("Open"));
    // The removed membership no longer exists; the item stays in the snapshot.
    let item = item_row(&app, &url, pushed).await;
    assert!(item.contains("No longer exists"), "{item}");
    assert!(!item_row(&app, &url, local).await.contains("No longer exists"), "removed here as decided");
    let csv = app.get(&format!("{url}/remediation.csv")).await;
    assert!(csv.body.contains("Removed at source,2026-12-06T09:00:00Z"), "{}", csv.body);

    // After 14 days (the default) the open task is overdue; the admin may allow longer.
    app.clock.advance(TimeDelta::days(15));
    app.sign_in("admin").await;
    let page = app.get(&url).await;
    assert!(row_of(&page, "table.remediation tbody tr", &p2).contains("Overdue"));
    assert!(page.text(".remediation-summary").contains("1 overdue (open longer than 14 days)"));
    let bad = app.post("/admin/access-reviews/settings/remediation", &[("remediation_days", "0")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text(".error-summary").contains("whole number of days from 1 to 365"));
    let huge = app.post("/admin/access-reviews/settings/remediation", &[("remediation_days", &"9".repeat(5000))]).await;
    assert_eq!(huge.status, 400);
    let ok = app.post("/admin/access-reviews/settings/remediation", &[("remediation_days", "30")]).await;
    assert_eq!(ok.status, 303);
    assert_eq!(app.get("/admin/access-reviews/settings").await.attrs("#remediation_days", "value"), ["30"]);
    let page = app.get(&url).await;
    assert!(row_of(&page, "table.remediation tbody tr", &p2).contains("Open"));
    assert!(!page.text(".remediation-summary").contains("overdue"));
    // Without the CSRF token nothing changes.
    let forged = app.post_form("/admin/access-reviews/settings/remediation", &[("remediation_days", "7")]).await;
    assert_eq!(forged.status, 403);
}

#[tokio::test]
async fn an_access_deleted_by_its_source_while_the_review_runs_shows_no_longer_exists() {
    let app = spawn_admin_app().await;
    let okta = push_source(&app, "Okta");
    let vpn = app.group_id("VPN Users");
    app.exec(&format!("UPDATE groups SET source_id = '{okta}' WHERE id = '{vpn}'"));
    let m = direct_members(&app, &vpn, 2);
    hand_over(&app, &vpn, &[&m[0], &m[1]], &okta);
    create(
        &app,
        &[
            ("name", "Running"),
            ("groups", "VPN Users"),
            ("reviewer_kind", "Selected"),
            ("reviewers", attest::demo::personas::ADMIN),
        ],
    )
    .await;
    tick(&app);
    let instance = app.instance_of("Running");
    let review = format!("/reviews/{instance}");
    let page = app.get(&review).await;
    assert!(page.texts("table.items .gone").is_empty(), "nothing is gone yet");

    // Okta deletes one membership and, for another review's sake, a user entirely.
    app.exec(&format!("DELETE FROM group_member_users WHERE group_id = '{vpn}' AND user_id = '{}'", m[0]));
    source_changed(&app, &okta);
    let row = item_row(&app, &review, &m[0]).await;
    assert!(row.contains("No longer exists") && row.contains("(source: Okta)"), "{row}");
    assert!(!item_row(&app, &review, &m[1]).await.contains("No longer exists"));
    // The results page of the running review says so too.
    assert!(item_row(&app, &results_url(&app, &instance), &m[0]).await.contains("No longer exists"));

    // A deleted group: every item of it.
    app.exec(&format!("DELETE FROM groups WHERE id = '{vpn}'"));
    let page = app.get(&review).await;
    assert_eq!(page.texts("table.items .gone").len(), page.texts("table.items tbody tr").len());
}

#[tokio::test]
async fn many_tasks_page_by_keyset_and_all_reach_the_csv() {
    let app = spawn_admin_app().await;
    let okta = push_source(&app, "Okta");
    let vpn = app.group_id("VPN Users");
    app.exec(&format!("UPDATE group_member_users SET source_id = '{okta}' WHERE group_id = '{vpn}'"));
    let ids = completed(&app, &[("All VPN", &[("groups", "VPN Users")], "access_direct = TRUE")]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await;
    assert_eq!(app.post(&format!("{url}/apply"), &[]).await.status, 303);
    let n = app.count("remediation_tasks");
    assert!(n > 60, "{n} tasks: enough for two pages");
    // The results page shows the first 20 and links to all of them.
    let results = app.get(&url).await;
    assert_eq!(results.texts("table.remediation tbody tr").len(), 20);
    let all = results.link("All remediation tasks");
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(all);
    while let Some(path) = next {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        seen.extend(page.texts("table.remediation tbody tr th"));
        next = page.attrs("a[rel=next]", "href").pop();
    }
    assert_eq!(i64::try_from(seen.len()).unwrap(), n);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no task twice");
    let csv = app.get(&format!("{url}/remediation.csv")).await;
    let rows = csv::Reader::from_reader(csv.body.trim_start_matches('\u{feff}').as_bytes()).records().count();
    assert_eq!(i64::try_from(rows).unwrap(), n);
    // A stale cursor is refused with a message, not an error page.
    assert_eq!(app.get(&format!("{url}/remediation?after=nope")).await.status, 400);
    // Someone who may not manage the review sees none of it.
    app.sign_in("user").await;
    assert_eq!(app.get(&format!("{url}/remediation")).await.status, 403);
    assert_eq!(app.get(&format!("{url}/remediation.csv")).await.status, 403);
}
