//! Multi-stage reviews (issue 17): stage 1's reviewers decide first; when the stage ends
//! (or an admin ends it early) its decisions are kept, the people whose decision moves on go
//! to the next stage's reviewers as not reviewed, the others keep their decision as final;
//! nobody decides their own access in any stage; mails and reminders go to the current
//! stage's reviewers only; results, the CSV and apply use the final decisions.

use std::collections::{BTreeMap, BTreeSet};

use attest::demo::personas;
use chrono::{NaiveDateTime, TimeDelta};
use scraper::Selector;

use crate::helpers::{Page, Spawn, TestApp, spawn_admin_app};
use crate::scheduler::{FORM, tick};

/// A Microsoft 365 group owned by Omar (the owner persona), who is not a member; neither
/// Priya (manager) nor Tom (user) is a member.
const AGENCY: &str = "Marketing Agency Collab";
/// A group whose members include Priya and her direct reports; neither Omar nor Tom is a
/// member.
pub(crate) const PORTAL: &str = "Partner Portal Launch";
/// A group none of the personas is a member of.
pub(crate) const BOARD: &str = "Customer Advisory Board";

/// `app` with a client of its own, signed in as `persona`.
pub(crate) async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

/// The create form's fields: the one-stage form of the scheduler tests with the `extra`
/// fields instead of theirs (a field given several times, like `stage1_moves`, is sent with
/// each value).
pub(crate) fn fields<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> =
        FORM.iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).copied().collect();
    fields.extend_from_slice(extra);
    fields
}

/// Creates a review through the form with [`fields`]; returns the series' path.
pub(crate) async fn create_review(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let page = app.post("/admin/access-reviews/new", &fields(extra)).await;
    assert_eq!(page.status, 303, "{}", page.texts(".error-summary").join(" | "));
    page.header("location")
}

/// Creates a review of [`BOARD`] named `name`, reviewed by the owner persona unless
/// `extra` names other reviewers, with the `extra` fields (stages, fallbacks, escalation);
/// returns the series' path.
pub(crate) async fn create_board_review(app: &TestApp, name: &str, extra: &[(&str, &str)]) -> String {
    let mut form: Vec<(&str, &str)> =
        [("name", name), ("groups", BOARD), ("reviewer_kind", "Selected"), ("reviewers", personas::OWNER)]
            .into_iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
    form.extend_from_slice(extra);
    create_review(app, &form).await
}

/// Posts a form, expects a redirect, and returns the page it leads to.
pub(crate) async fn post_then_get(who: &TestApp, path: &str, fields: &[(&str, &str)]) -> Page {
    let done = who.post(path, fields).await;
    assert_eq!(done.status, 303, "{path}: {}", done.body);
    who.get(&done.header("location")).await
}

/// Decides `items` on the review page as `who`, which must succeed.
pub(crate) async fn decide(who: &TestApp, instance: &str, items: &[String], action: &str, reason: &str) -> Page {
    let mut form: Vec<(&str, &str)> = items.iter().map(|i| ("item", i.as_str())).collect();
    form.extend([("action", action), ("reason", reason)]);
    let page = post_then_get(who, &format!("/reviews/{instance}"), &form).await;
    assert!(page.texts(".banner-error").is_empty(), "{action} {items:?}: {:?}", page.texts(".banner-error"));
    assert!(!page.texts(".banner-success").is_empty(), "{action} {items:?}: no confirmation");
    page
}

/// Tries to decide `item` as `who`, which must be refused; returns what they were told
/// (the banner, or the status when the review is not theirs at all).
pub(crate) async fn refused(who: &TestApp, instance: &str, item: &str, action: &str) -> String {
    let path = format!("/reviews/{instance}");
    let done = who.post(&path, &[("item", item), ("action", action), ("reason", "")]).await;
    if done.status != 303 {
        assert!([400, 403, 404].contains(&done.status), "{}: {}", done.status, done.body);
        return format!("status {}", done.status);
    }
    let page = who.get(&done.header("location")).await;
    let errors = page.texts(".banner-error");
    assert!(
        !errors.is_empty(),
        "{action} on {item} was taken: {:?} (redirected to {} {}: {:?})",
        page.texts(".banner-success"),
        done.header("location"),
        page.status,
        page.texts(".banner, main h1")
    );
    errors.join(" ")
}

/// The item ids `who` may tick on the review page, in the page's order (none when the page
/// is not theirs).
pub(crate) async fn tickable(who: &TestApp, instance: &str) -> Vec<String> {
    let page = who.get(&format!("/reviews/{instance}")).await;
    if page.status == 404 {
        return Vec::new();
    }
    assert_eq!(page.status, 200, "{} {}", page.header("location"), page.body);
    page.attrs("input[name=item]", "value")
}

/// The items as a set.
pub(crate) fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

pub(crate) fn strings(app: &TestApp, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).load::<T>(&mut *app.conn()).unwrap().into_iter().map(|r| r.t).collect()
}

/// `expr` of the instance's items matching `filter`, by item id.
pub(crate) fn by_item(app: &TestApp, instance: &str, expr: &str, filter: &str) -> BTreeMap<String, String> {
    strings(
        app,
        &format!(
            "SELECT id || '|' || {expr} AS t FROM review_decision_items WHERE instance_id = '{instance}' AND ({filter})"
        ),
    )
    .into_iter()
    .map(|t| {
        let (id, value) = t.split_once('|').unwrap();
        (id.to_owned(), value.to_owned())
    })
    .collect()
}

/// The ids of the instance's items matching `filter`.
pub(crate) fn ids(app: &TestApp, instance: &str, filter: &str) -> BTreeSet<String> {
    by_item(app, instance, "decision", filter).into_keys().collect()
}

/// The item of the instance about the person with this UPN.
pub(crate) fn item_of(app: &TestApp, instance: &str, upn: &str) -> String {
    let found = ids(app, instance, &format!("principal_upn = '{upn}'"));
    assert_eq!(found.len(), 1, "{upn} in {instance}");
    found.into_iter().next().unwrap()
}

/// Each stage's kept decision of stage `stage`, by item id: "decision|justification".
fn kept(app: &TestApp, instance: &str, stage: i32) -> BTreeMap<String, String> {
    strings(
        app,
        &format!(
            "SELECT item_id || '|' || decision || '|' || justification AS t FROM review_stage_decisions \
             WHERE instance_id = '{instance}' AND stage = {stage}"
        ),
    )
    .into_iter()
    .map(|t| {
        let (id, rest) = t.split_once('|').unwrap();
        (id.to_owned(), rest.to_owned())
    })
    .collect()
}

/// "stage/stages" of an instance, e.g. "2/3".
pub(crate) fn stage_of(app: &TestApp, instance: &str) -> String {
    strings(
        app,
        &format!(
            "SELECT CAST(stage AS TEXT) || '/' || CAST(stage_count AS TEXT) AS t FROM review_instances WHERE id = '{instance}'"
        ),
    )
    .remove(0)
}

pub(crate) fn status_of(app: &TestApp, instance: &str) -> String {
    strings(app, &format!("SELECT status AS t FROM review_instances WHERE id = '{instance}'")).remove(0)
}

/// A stage's planned start and end, and when it actually ended.
pub(crate) fn window(app: &TestApp, instance: &str, n: i32) -> (NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>) {
    use attest::db::schema::review_instance_stages::dsl::*;
    use diesel::prelude::*;
    review_instance_stages
        .filter(instance_id.eq(instance))
        .filter(stage.eq(n))
        .select((start_at, end_at, ended_at))
        .first(&mut *app.conn())
        .unwrap()
}

pub(crate) fn instance_end(app: &TestApp, instance: &str) -> NaiveDateTime {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    review_instances.find(instance).select(end_at).first(&mut *app.conn()).unwrap()
}

fn results_url(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    let series: String = review_instances.find(instance).select(definition_id).first(&mut *app.conn()).unwrap();
    format!("/admin/access-reviews/{series}/instances/{instance}")
}

/// (recipient UPN, subject) of the instance's mails of this kind, by recipient.
fn mails(app: &TestApp, instance: &str, kind: &str) -> Vec<(String, String)> {
    strings(
        app,
        &format!(
            "SELECT u.upn || '|' || o.subject AS t FROM outbox o JOIN users u ON u.id = o.recipient_id \
             WHERE o.instance_id = '{instance}' AND o.kind = '{kind}' ORDER BY u.upn, o.id"
        ),
    )
    .into_iter()
    .map(|t| {
        let (upn, subject) = t.split_once('|').unwrap();
        (upn.to_owned(), subject.to_owned())
    })
    .collect()
}

fn day(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The records of a CSV body, header first.
fn records(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// A decision as stored, whether a CSV cell spells it as stored or as a label.
fn stored(cell: &str) -> String {
    match cell {
        "Approved" => "Approve",
        "Denied" => "Deny",
        "Don't know" | "Don’t know" => "DontKnow",
        "Not reviewed" => "NotReviewed",
        other => other,
    }
    .to_owned()
}

#[tokio::test]
async fn three_stages_pass_on_only_the_chosen_decisions_and_keep_each_stage_s_decisions() {
    let app = spawn_admin_app().await;
    let name = "Agency access in three stages";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", AGENCY),
            ("mail_notifications", "on"),
            ("stages", "3"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "5"),
            ("stage2_recommendations", "on"),
            ("stage2_moves", "NotReviewed"),
            ("stage3_reviewer_kind", "Selected"),
            ("stage3_reviewers", personas::USER),
            ("stage3_duration_days", "4"),
            ("decision_histories", "on"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let url = format!("/reviews/{inst}");
    assert_eq!(stage_of(&app, &inst), "1/3");
    let all = ids(&app, &inst, "1 = 1");
    assert!(all.len() >= 10, "{all:?}");
    assert_eq!(ids(&app, &inst, "stage = 1"), all, "every item starts in stage 1");

    // The stages follow each other; the occurrence lasts them all (7 + 5 + 4 days).
    let (s1_start, s1_end, _) = window(&app, &inst, 1);
    let (s2_start, s2_end, _) = window(&app, &inst, 2);
    let (s3_start, s3_end, _) = window(&app, &inst, 3);
    assert_eq!((s1_end - s1_start, s2_start, s2_end - s2_start), (TimeDelta::days(7), s1_end, TimeDelta::days(5)));
    assert_eq!((s3_start, s3_end - s3_start), (s2_end, TimeDelta::days(4)));
    assert_eq!(instance_end(&app, &inst), s3_end);

    // At the start only stage 1's reviewer is told, and only they see the review.
    let started = mails(&app, &inst, "ReviewStarted");
    assert_eq!(started.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(), vec![personas::OWNER], "{started:?}");
    for persona in ["manager", "user"] {
        let later = as_persona(&app, persona).await;
        assert_eq!(later.get(&url).await.status, 404, "{persona} reviews a later stage only");
    }
    let omar = as_persona(&app, "owner").await;
    let page = omar.get(&url).await;
    let facts = page.texts("dl.facts div");
    assert!(facts.iter().any(|f| f.contains("Stage 1 of 3")), "{facts:?}");
    assert!(facts.iter().any(|f| f.contains(&day(s1_end))), "stage 1's due date: {facts:?}");
    let order = page.attrs("input[name=item]", "value");
    assert_eq!(set(&order), all);

    // Stage 1: three approved, three denied, one "don't know", the rest not reviewed.
    let (approved, denied, dont_know, rest) = (&order[0..3], &order[3..6], &order[6..7], &order[7..]);
    decide(&omar, &inst, approved, "Approve", "Works with the agency").await;
    decide(&omar, &inst, denied, "Deny", "Left the agency").await;
    decide(&omar, &inst, dont_know, "DontKnow", "").await;

    // Once stage 1's window has passed, even before the scheduler moves on, its reviewer no
    // longer decides.
    app.clock.set(s1_end + TimeDelta::minutes(1));
    let omar = as_persona(&app, "owner").await;
    let late = refused(&omar, &inst, &rest[0], "Approve").await;
    assert!(late.starts_with("Stage 1 of this review ended on"), "{late}");

    tick(&app);
    assert_eq!(stage_of(&app, &inst), "2/3");
    assert_eq!(app.count(&format!("audit_events WHERE action = 'ReviewStageEnded' AND target_id = '{inst}'")), 1);
    // Stage 1's decisions are kept, with their reasons.
    let kept1 = kept(&app, &inst, 1);
    assert_eq!(kept1.keys().cloned().collect::<BTreeSet<_>>(), all);
    for (items, expected) in [
        (approved, "Approve|Works with the agency"),
        (denied, "Deny|Left the agency"),
        (dont_know, "DontKnow|"),
        (rest, "NotReviewed|"),
    ] {
        for i in items {
            assert_eq!(kept1[i], expected);
        }
    }
    let omar_id = app.user_id(personas::OWNER);
    assert_eq!(
        app.count(&format!(
            "review_stage_decisions WHERE instance_id = '{inst}' AND stage = 1 AND decision = 'Deny' AND reviewed_by = '{omar_id}'"
        )),
        3
    );
    // The denied and the not reviewed move on, not reviewed again; the others are final.
    let moved: BTreeSet<String> = denied.iter().chain(rest).cloned().collect();
    assert_eq!(ids(&app, &inst, "stage = 2"), moved);
    assert_eq!(ids(&app, &inst, "stage = 2 AND decision = 'NotReviewed'"), moved);
    let finals = by_item(&app, &inst, "decision", "stage = 1");
    assert_eq!(finals.len(), approved.len() + dont_know.len());
    assert!(approved.iter().all(|i| finals[i] == "Approve") && finals[&dont_know[0]] == "DontKnow", "{finals:?}");

    // Stage 2's reviewer is told, with the stage and its due date.
    let to_priya: Vec<_> =
        mails(&app, &inst, "ReviewStarted").into_iter().filter(|(u, _)| u != personas::OWNER).collect();
    assert_eq!(to_priya.len(), 1, "{to_priya:?}");
    assert_eq!(to_priya[0].0, personas::MANAGER);
    assert!(to_priya[0].1.contains(&format!(", stage 2 of 3 (due {})", day(s2_end))), "{}", to_priya[0].1);

    // Priya sees exactly the people who moved on, with what stage 1 decided.
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&url).await;
    assert_eq!(page.status, 200);
    let facts = page.texts("dl.facts div");
    assert!(facts.iter().any(|f| f.contains("Stage 2 of 3")), "{facts:?}");
    assert!(facts.iter().any(|f| f.contains(&day(s2_end))), "stage 2's due date: {facts:?}");
    assert_eq!(set(&page.attrs("input[name=item]", "value")), moved);
    assert_eq!(set(&page.attrs("tr[data-item]", "data-item")), moved, "final decisions are not shown");
    for i in denied {
        let row = page.text(&format!("tr[data-item='{i}']"));
        assert!(row.contains("Stage 1: Denied by Omar Haddad") && row.contains("Left the agency"), "{row}");
    }
    for i in rest {
        let row = page.text(&format!("tr[data-item='{i}']"));
        assert!(row.contains("Stage 1: Not reviewed"), "{row}");
    }
    // Omar no longer decides.
    let told = refused(&omar, &inst, &denied[0], "Approve").await;
    assert_eq!(by_item(&app, &inst, "decision", &format!("id = '{}'", denied[0]))[&denied[0]], "NotReviewed", "{told}");

    // Stage 2: two denials overridden, one of the not reviewed denied, the rest left.
    decide(&priya, &inst, &denied[0..2], "Approve", "Still needed for the campaign").await;
    decide(&priya, &inst, &rest[0..1], "Deny", "Unknown to the team").await;
    app.clock.set(s2_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(stage_of(&app, &inst), "3/3");
    let moved3: BTreeSet<String> = denied[2..].iter().chain(&rest[1..]).cloned().collect();
    assert_eq!(ids(&app, &inst, "stage = 3"), moved3, "only the not reviewed move on from stage 2");
    let kept2 = kept(&app, &inst, 2);
    assert_eq!(kept2.keys().cloned().collect::<BTreeSet<_>>(), moved);
    assert_eq!(kept2[&denied[0]], "Approve|Still needed for the campaign");
    assert_eq!(kept2[&rest[0]], "Deny|Unknown to the team");
    assert_eq!(kept2[&denied[2]], "NotReviewed|");
    let to_tom: Vec<_> = mails(&app, &inst, "ReviewStarted").into_iter().filter(|(u, _)| u == personas::USER).collect();
    assert_eq!(to_tom.len(), 1, "{to_tom:?}");
    assert!(to_tom[0].1.contains(&format!(", stage 3 of 3 (due {})", day(s3_end))), "{}", to_tom[0].1);

    // Tom sees stage 3's people with both earlier stages' decisions.
    let tom = as_persona(&app, "user").await;
    let page = tom.get(&url).await;
    assert_eq!(set(&page.attrs("input[name=item]", "value")), moved3);
    assert!(page.texts("dl.facts div").iter().any(|f| f.contains("Stage 3 of 3")));
    let row = page.text(&format!("tr[data-item='{}']", denied[2]));
    assert!(row.contains("Stage 1: Denied by Omar Haddad") && row.contains("Stage 2: Not reviewed"), "{row}");
    let priya = as_persona(&app, "manager").await;
    refused(&priya, &inst, &denied[2], "Approve").await;
    decide(&tom, &inst, &[denied[2].clone(), rest[1].clone()], "Deny", "No longer with the agency").await;
    decide(&tom, &inst, &rest[2..3], "Approve", "Confirmed by the agency").await;

    // The last stage ends with the occurrence.
    app.clock.set(s3_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(status_of(&app, &inst), "Completed");
    assert_eq!(kept(&app, &inst, 3).keys().cloned().collect::<BTreeSet<_>>(), moved3);
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (items, decision) in [
        (approved, "Approve"),
        (dont_know, "DontKnow"),
        (&denied[0..2], "Approve"),
        (&rest[0..1], "Deny"),
        (&denied[2..3], "Deny"),
        (&rest[1..2], "Deny"),
        (&rest[2..3], "Approve"),
        (&rest[3..], "NotReviewed"),
    ] {
        for i in items {
            expected.insert(i.clone(), decision.to_owned());
        }
    }
    assert_eq!(by_item(&app, &inst, "decision", "1 = 1"), expected, "a later stage's decision is final");

    // The CSV: the final decision, and each stage's.
    app.sign_in("admin").await;
    let results = results_url(&app, &inst);
    let csv = app.get(&format!("{results}/results.csv")).await;
    assert_eq!(csv.status, 200);
    let rows = records(&csv.body);
    let header = &rows[0];
    // A stage's column as the brief names it ("Stage 1 decision") or in the CSV's own
    // style ("Stage1Decision").
    let col = |name: &str| {
        let compact = name
            .replace("Stage ", "Stage")
            .replace(" decision", "Decision")
            .replace(" reviewed by", "ReviewerName")
            .replace(" reason", "Justification");
        header.iter().position(|c| c == name || *c == compact).unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    for n in 1..=3 {
        for what in ["decision", "reviewed by", "reason"] {
            col(&format!("Stage {n} {what}"));
        }
    }
    let principal = by_item(&app, &inst, "principal_id", "1 = 1");
    let item_of_principal: BTreeMap<&String, &String> = principal.iter().map(|(i, p)| (p, i)).collect();
    assert_eq!(rows.len() - 1, all.len());
    let kept2 = kept(&app, &inst, 2);
    let kept3 = kept(&app, &inst, 3);
    for row in &rows[1..] {
        let item = item_of_principal[&row[col("PrincipalId")]];
        assert_eq!(row[col("ReviewResult")], expected[item], "{row:?}");
        let stage_decision = |k: &BTreeMap<String, String>| {
            k.get(item).map(|v| v.split('|').next().unwrap().to_owned()).unwrap_or_default()
        };
        assert_eq!(stored(&row[col("Stage 1 decision")]), stage_decision(&kept1), "{row:?}");
        assert_eq!(stored(&row[col("Stage 2 decision")]), stage_decision(&kept2), "{row:?}");
        assert_eq!(stored(&row[col("Stage 3 decision")]), stage_decision(&kept3), "{row:?}");
    }
    let overridden = rows[1..].iter().find(|r| item_of_principal[&r[col("PrincipalId")]] == &denied[0]).unwrap();
    assert!(
        overridden[col("Stage 1 reviewed by")].contains("Omar Haddad")
            || overridden[col("Stage 1 reviewed by")].contains(personas::OWNER),
        "{overridden:?}"
    );
    assert_eq!(overridden[col("Stage 1 reason")], "Left the agency");
    assert!(
        overridden[col("Stage 2 reviewed by")].contains("Priya Raman")
            || overridden[col("Stage 2 reviewed by")].contains(personas::MANAGER),
        "{overridden:?}"
    );
    assert_eq!(overridden[col("Stage 2 reason")], "Still needed for the campaign");

    // The results page: final decisions, and the earlier ones beside them.
    let page = app.get(&results).await;
    let row = page.text(&format!("tr[data-item='{}']", denied[0]));
    assert!(row.contains("Approved") && row.contains("Stage 1: Denied by Omar Haddad"), "{row}");
    // Its counts are the final decisions of everyone, whatever stage decided them.
    let count = |d: &str| expected.values().filter(|v| *v == d).count();
    let legend = page.texts(".chart .legend li");
    for (label, decision) in [("Approved", "Approve"), ("Denied", "Deny")] {
        assert!(legend.iter().any(|l| l.starts_with(&format!("{label} {} ", count(decision)))), "{label}: {legend:?}");
    }
    let progress = page.texts("dl.facts div").into_iter().find(|f| f.starts_with("Progress")).unwrap_or_default();
    assert!(
        progress.ends_with(&format!("{} of {} reviewed", all.len() - count("NotReviewed"), all.len())),
        "{progress}"
    );
}

#[tokio::test]
async fn an_admin_ends_stage_1_early_and_stage_2_starts_at_once_keeping_its_planned_end() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, ended early";
    create_board_review(
        &app,
        name,
        &[
            ("mail_notifications", "on"),
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "7"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let (_, s1_end, _) = window(&app, &inst, 1);
    let (_, s2_end, _) = window(&app, &inst, 2);
    let end = instance_end(&app, &inst);
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    decide(&omar, &inst, &order[0..2], "Deny", "Not on the board any more").await;
    decide(&omar, &inst, &order[2..3], "Approve", "").await;

    app.clock.advance(TimeDelta::hours(2));
    let now = app.clock_now();
    assert!(now < s1_end);
    let results = results_url(&app, &inst);
    let stop = format!("{results}/stop-stage");
    let page = app.get(&results).await;
    assert!(page.texts("dl.facts div").iter().any(|f| f.contains("Stage 1 of 2")), "{:?}", page.texts("dl.facts div"));
    // Only those who manage the review may, and only with the form's token.
    assert_eq!(omar.post(&stop, &[]).await.status, 403);
    assert_eq!(app.post_form(&stop, &[]).await.status, 403);
    assert_eq!(stage_of(&app, &inst), "1/2");

    let stopped = app.post(&stop, &[]).await;
    assert_eq!(stopped.status, 303, "{}", stopped.body);
    assert_eq!(stopped.header("location"), results);
    assert_eq!(stage_of(&app, &inst), "2/2");
    let (_, _, ended) = window(&app, &inst, 1);
    assert_eq!(ended, Some(now), "stage 1 ended when it was stopped");
    let (start2, end2, _) = window(&app, &inst, 2);
    assert_eq!((start2, end2), (now, s2_end), "stage 2 starts now and keeps its planned end");
    assert_eq!(instance_end(&app, &inst), end);
    assert_eq!(app.count(&format!("audit_events WHERE action = 'ReviewStageEnded' AND target_id = '{inst}'")), 1);
    let moved: BTreeSet<String> = order.iter().filter(|i| **i != order[2]).cloned().collect();
    assert_eq!(ids(&app, &inst, "stage = 2"), moved);
    let to_priya = mails(&app, &inst, "ReviewStarted");
    assert!(
        to_priya
            .iter()
            .any(|(u, s)| u == personas::MANAGER && s.contains(&format!(", stage 2 of 2 (due {})", day(s2_end)))),
        "{to_priya:?}"
    );
    let page = app.get(&results).await;
    assert!(page.texts("dl.facts div").iter().any(|f| f.contains("Stage 2 of 2")), "{:?}", page.texts("dl.facts div"));

    // Stage 2's reviewer decides at once; stage 1's no longer can.
    let priya = as_persona(&app, "manager").await;
    assert_eq!(set(&tickable(&priya, &inst).await), moved);
    decide(&priya, &inst, &order[0..1], "Approve", "Rejoined the board").await;
    refused(&omar, &inst, &order[1], "Approve").await;
    assert_eq!(by_item(&app, &inst, "decision", &format!("id = '{}'", order[1]))[&order[1]], "NotReviewed");

    // On the last stage, ending the stage stops the review.
    let last = app.post(&stop, &[]).await;
    assert_eq!(last.status, 303, "{}", last.body);
    assert_eq!(status_of(&app, &inst), "Completed");
    assert_eq!(kept(&app, &inst, 2)[&order[0]], "Approve|Rejoined the board");
    let finals = by_item(&app, &inst, "decision", "1 = 1");
    assert_eq!((finals[&order[0]].as_str(), finals[&order[2]].as_str()), ("Approve", "Approve"));
    refused(&priya, &inst, &order[1], "Deny").await;
}

#[tokio::test]
async fn a_stage_1_reviewer_is_told_their_stage_has_ended_once_stage_2_began() {
    let app = spawn_admin_app().await;
    let name = "Told the stage ended";
    create_board_review(
        &app,
        name,
        &[
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "7"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    decide(&omar, &inst, &order[0..1], "Approve", "").await;
    let (_, s1_end, _) = window(&app, &inst, 1);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(stage_of(&app, &inst), "2/2");

    // A stage-1 reviewer no longer decides after stage 1 ended: the review is no longer
    // theirs (404), and the page says why instead of a bare "not found".
    let omar = as_persona(&app, "owner").await;
    let path = format!("/reviews/{inst}");
    let done = omar.post(&path, &[("item", order[1].as_str()), ("action", "Deny"), ("reason", "")]).await;
    assert_eq!(by_item(&app, &inst, "decision", &format!("id = '{}'", order[1]))[&order[1]], "NotReviewed");
    assert_eq!(done.status, 404, "{}", done.body);
    assert!(done.body.contains("Stage 1 of this review has ended and stage 2 has begun"), "{}", done.body);
    let page = omar.get(&path).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("your part is done"), "{}", page.body);
    // Someone who never had a part learns nothing about the review.
    let stranger = as_persona(&app, "user").await;
    let page = stranger.get(&path).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Stage 1"), "{}", page.body);
}

/// The hidden fields of the decision form on `page` (what a browser sends back with it).
fn hidden_fields(page: &Page) -> Vec<(String, String)> {
    let sel = Selector::parse("form#decide input[type=hidden]").unwrap();
    page.html()
        .select(&sel)
        .filter_map(|e| Some((e.value().attr("name")?.to_owned(), e.value().attr("value").unwrap_or("").to_owned())))
        .filter(|(k, _)| k != "csrf_token")
        .collect()
}

#[tokio::test]
async fn a_decision_from_a_page_read_in_stage_1_is_refused_once_stage_2_has_begun() {
    let app = spawn_admin_app().await;
    let name = "Same reviewer twice";
    create_board_review(
        &app,
        name,
        &[
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::OWNER),
            ("stage2_duration_days", "7"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    // Omar reads the page in stage 1 ...
    let page = omar.get(&format!("/reviews/{inst}")).await;
    let order = page.attrs("input[name=item]", "value");
    let hidden = hidden_fields(&page);
    // ... the admin ends stage 1 meanwhile ...
    let stopped = app.post(&format!("{}/stop-stage", results_url(&app, &inst)), &[]).await;
    assert_eq!(stopped.status, 303, "{}", stopped.body);
    assert_eq!(stage_of(&app, &inst), "2/2");
    // ... and Omar approves someone from the page he read: that was a stage-1 decision.
    let mut form: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.extend([("item", order[0].as_str()), ("action", "Approve"), ("reason", "")]);
    let after = post_then_get(&omar, &format!("/reviews/{inst}"), &form).await;
    let error = after.texts(".banner-error").join(" ");
    assert!(
        error.starts_with("Stage 1 of this review has ended and stage 2 has begun"),
        "told: {error:?}, {:?}; the item is now {:?}",
        after.texts(".banner-success"),
        by_item(&app, &inst, "decision || ' by ' || COALESCE(reviewed_by, '-')", &format!("id = '{}'", order[0]))
    );
    assert_eq!(by_item(&app, &inst, "decision", &format!("id = '{}'", order[0]))[&order[0]], "NotReviewed");
}

#[tokio::test]
async fn managers_review_first_then_a_selected_reviewer_gets_what_managers_did_not_review() {
    let app = spawn_admin_app().await;
    let name = "Partner portal: managers, then the security team";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", PORTAL),
            ("reviewer_kind", "Managers"),
            ("mail_notifications", "on"),
            ("stages", "2"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::USER),
            ("stage2_duration_days", "7"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let all = ids(&app, &inst, "1 = 1");
    let url = format!("/reviews/{inst}");
    let started = mails(&app, &inst, "ReviewStarted");
    assert!(started.iter().all(|(u, _)| u != personas::USER), "{started:?}");
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.get(&url).await.status, 404, "Tom reviews stage 2 only");

    // Priya decides three of her people and leaves the others.
    let priya = as_persona(&app, "manager").await;
    let hers = tickable(&priya, &inst).await;
    let priya_id = app.user_id(personas::MANAGER);
    assert_eq!(set(&hers), ids(&app, &inst, &format!("reviewer_id = '{priya_id}'")));
    assert!(hers.len() >= 4, "{hers:?}");
    decide(&priya, &inst, &hers[0..2], "Approve", "Leads the launch").await;
    decide(&priya, &inst, &hers[2..3], "Deny", "Moved to another team").await;
    // Dana, stage 1's fallback reviewer, decides one of those without a manager.
    let fallback = tickable(&app, &inst).await;
    assert!(!fallback.is_empty());
    decide(&app, &inst, &fallback[0..1], "Approve", "Partner contact").await;
    let decided: BTreeSet<String> = hers[0..3].iter().chain(&fallback[0..1]).cloned().collect();

    let (_, s1_end, _) = window(&app, &inst, 1);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(stage_of(&app, &inst), "2/2");
    let moved: BTreeSet<String> = all.difference(&decided).cloned().collect();
    assert_eq!(ids(&app, &inst, "stage = 2"), moved, "only what nobody reviewed moves on");
    assert_eq!(ids(&app, &inst, "stage = 1"), decided);
    let finals = by_item(&app, &inst, "decision", "stage = 1");
    assert_eq!(finals[&hers[2]], "Deny", "the manager's denial is final");
    // Stage 2's mail goes to Tom only; the managers get nothing more.
    let stage2: Vec<_> =
        mails(&app, &inst, "ReviewStarted").into_iter().filter(|(_, s)| s.contains("stage 2 of 2")).collect();
    assert_eq!(stage2.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(), vec![personas::USER], "{stage2:?}");

    let tom = as_persona(&app, "user").await;
    let his = tickable(&tom, &inst).await;
    assert_eq!(set(&his), moved);
    let priya = as_persona(&app, "manager").await;
    refused(&priya, &inst, &hers[3], "Approve").await;
    decide(&tom, &inst, &his[0..1], "Deny", "No manager vouched for this").await;

    let end = instance_end(&app, &inst);
    app.clock.set(end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(status_of(&app, &inst), "Completed");
    let finals = by_item(&app, &inst, "decision", "1 = 1");
    assert_eq!(finals[&his[0]], "Deny");
    assert_eq!((finals[&hers[0]].as_str(), finals[&hers[2]].as_str()), ("Approve", "Deny"));
    assert_eq!(kept(&app, &inst, 1).len(), all.len());
    assert_eq!(kept(&app, &inst, 2).len(), moved.len());
}

#[tokio::test]
async fn a_later_stage_reviewer_never_decides_their_own_access() {
    let app = spawn_admin_app().await;
    let stage_two = |name: &'static str, fallback: &'static str| {
        let mut fields = vec![
            ("name", name),
            ("groups", PORTAL),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::OWNER),
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "7"),
        ];
        if !fallback.is_empty() {
            fields.push(("stage2_fallback_reviewers", fallback));
        }
        fields
    };
    create_review(&app, &stage_two("With a stage-2 fallback", personas::USER)).await;
    create_review(&app, &stage_two("Without a stage-2 fallback", "")).await;
    tick(&app);
    let with = app.instance_of("With a stage-2 fallback");
    let without = app.instance_of("Without a stage-2 fallback");

    // Omar denies Priya and two others in both reviews.
    let omar = as_persona(&app, "owner").await;
    let mut others = BTreeMap::new();
    for inst in [&with, &without] {
        let own = item_of(&app, inst, personas::MANAGER);
        let two: Vec<String> = tickable(&omar, inst).await.into_iter().filter(|i| *i != own).take(2).collect();
        let mut denied = two.clone();
        denied.push(own);
        decide(&omar, inst, &denied, "Deny", "Not on the launch team").await;
        others.insert(inst.clone(), two);
    }
    let (_, s1_end, _) = window(&app, &with, 1);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!((stage_of(&app, &with), stage_of(&app, &without)), ("2/2".to_owned(), "2/2".to_owned()));

    // Priya reviews the other two, never herself; her own access went to the fallback.
    let priya = as_persona(&app, "manager").await;
    let own = item_of(&app, &with, personas::MANAGER);
    assert_eq!(set(&tickable(&priya, &with).await), set(&others[&with]));
    let page = priya.get(&format!("/reviews/{with}")).await;
    assert!(!page.body.contains("Stage 1:"), "decision histories are off");
    let told = refused(&priya, &with, &own, "Approve").await;
    assert_eq!(by_item(&app, &with, "decision", &format!("id = '{own}'"))[&own], "NotReviewed", "{told}");
    let tom = as_persona(&app, "user").await;
    assert_eq!(tickable(&tom, &with).await, vec![own.clone()]);
    decide(&tom, &with, std::slice::from_ref(&own), "Approve", "Priya runs the launch").await;
    assert_eq!(by_item(&app, &with, "decision", &format!("id = '{own}'"))[&own], "Approve");
    assert_eq!(
        strings(&app, &format!("SELECT reviewed_by AS t FROM review_decision_items WHERE id = '{own}'")),
        vec![app.user_id(personas::USER)]
    );

    // Without a fallback, her own access goes to the admins.
    let own = item_of(&app, &without, personas::MANAGER);
    assert_eq!(app.count(&format!("review_instances WHERE id = '{without}' AND routed_to_admins = 1")), 1);
    assert_eq!(set(&tickable(&priya, &without).await), set(&others[&without]));
    refused(&priya, &without, &own, "Approve").await;
    let dana = as_persona(&app, "admin").await;
    assert_eq!(tickable(&dana, &without).await, vec![own.clone()]);
    decide(&dana, &without, std::slice::from_ref(&own), "Deny", "Confirmed with HR").await;
    assert_eq!(by_item(&app, &without, "decision", &format!("id = '{own}'"))[&own], "Deny");
}

#[tokio::test]
async fn stage_settings_that_cannot_work_come_back_on_the_form_naming_the_field() {
    let app = spawn_admin_app().await;
    let definitions = app.count("review_definitions");
    let two: [(&str, &str); 6] = [
        ("name", "Staged"),
        ("stages", "2"),
        ("stage1_moves", "Deny"),
        ("stage2_reviewer_kind", "Selected"),
        ("stage2_reviewers", personas::MANAGER),
        ("stage2_duration_days", "7"),
    ];
    let third: [(&str, &str); 4] = [
        ("stages", "3"),
        ("stage3_reviewer_kind", "Selected"),
        ("stage3_reviewers", personas::USER),
        ("stage3_duration_days", "3"),
    ];
    // (fields left out, fields changed or added, the field named, what it says)
    type Case<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (&["stage1_moves"], vec![], "stage1_moves", "Tick at least one decision that moves on to stage 2"),
        (&[], vec![("stage2_reviewer_kind", "Self")], "stage2_reviewer_kind", "Stage 2 cannot be a self-review"),
        (&[], vec![("duration_days", "100"), ("stage2_duration_days", "100")], "duration_days", "200"),
        (
            &[],
            vec![("frequency", "Weekly"), ("duration_days", "3"), ("stage2_duration_days", "4")],
            "duration_days",
            "7",
        ),
        (&["stage2_reviewers"], vec![], "stage2_reviewers", "at least one reviewer for stage 2"),
        (&[], vec![("stage2_reviewers", "nobody@contoso.example")], "stage2_reviewers", "nobody@contoso.example"),
        (&[], vec![("stage2_duration_days", "0")], "stage2_duration_days", "Enter a duration of 1 to 180 days"),
        (&["recommendations"], vec![("stage2_recommendations", "on")], "stage2_recommendations", "recommendations"),
        (&[], third.to_vec(), "stage2_moves", "Tick at least one decision that moves on to stage 3"),
    ];
    for (left_out, changed, field, says) in &cases {
        let mut fields: Vec<(&str, &str)> = FORM
            .iter()
            .chain(&two)
            .filter(|(k, _)| !left_out.contains(k) && !changed.iter().any(|(c, _)| c == k))
            .copied()
            .collect();
        fields.extend(changed.iter().copied());
        let page = app.post("/admin/access-reviews/new", &fields).await;
        assert_eq!(page.status, 400, "{changed:?}: {}", page.text("main"));
        let errors = page.texts(&format!("#{field}-error"));
        assert!(
            errors.iter().any(|e| e.contains(says)),
            "{field}, {changed:?}: {errors:?} / {:?}",
            page.texts(".error-summary li")
        );
        let links = page.attrs(".error-summary a", "href");
        assert!(links.contains(&format!("#{field}")), "{field}: {links:?}");
        // What was chosen is kept.
        assert_eq!(page.attrs("#stages-2[checked], #stages-3[checked]", "value").len(), 1, "{field}");
    }
    // The moves ticked and the reviewers typed come back as they were.
    let mut fields: Vec<(&str, &str)> = FORM.iter().chain(&two).copied().collect();
    fields.push(("stage2_duration_days", "0"));
    fields.retain(|(k, v)| *k != "stage2_duration_days" || *v == "0");
    let page = app.post("/admin/access-reviews/new", &fields).await;
    assert_eq!(page.status, 400);
    assert_eq!(page.attrs("#stage1_moves-Deny", "checked").len(), 1);
    assert!(page.attrs("#stage1_moves-Approve", "checked").is_empty());
    assert_eq!(page.text("textarea#stage2_reviewers"), personas::MANAGER);
    assert_eq!(app.count("review_definitions"), definitions, "nothing is saved");
    assert_eq!(app.count("review_definition_stages"), 0);

    // The same stages, right, are saved.
    let mut good: Vec<(&str, &str)> = two.to_vec();
    good.retain(|(k, _)| *k != "stages");
    good.extend(third);
    good.extend([("stage2_moves", "NotReviewed"), ("name", "Staged right")]);
    good.retain(|(k, v)| *k != "name" || *v == "Staged right");
    create_review(&app, &good).await;
    assert_eq!(app.count("review_definitions"), definitions + 1);
    assert_eq!(app.count("review_definition_stages"), 3);
}

#[tokio::test]
async fn only_the_current_stage_s_reviewers_are_mailed_and_reminded() {
    let app = spawn_admin_app().await;
    let name = "Reminded stage by stage";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", AGENCY),
            ("mail_notifications", "on"),
            ("reminders", "on"),
            ("reminder_half_time", "on"),
            ("reminder_days", "2"),
            ("duration_days", "3"),
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "7"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let (start, s1_end, _) = window(&app, &inst, 1);
    let (_, s2_end, _) = window(&app, &inst, 2);
    let end = instance_end(&app, &inst);
    assert_eq!(end - start, TimeDelta::days(10));

    // Stage 1: Omar is told, with stage 1's due date.
    let started = mails(&app, &inst, "ReviewStarted");
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(started[0].0, personas::OWNER);
    // He denies two and leaves everyone else: only denials move on, so those stay as they are.
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    decide(&omar, &inst, &order[0..2], "Deny", "Contract ended").await;

    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(stage_of(&app, &inst), "2/2");
    let stage2: Vec<_> =
        mails(&app, &inst, "ReviewStarted").into_iter().filter(|(u, _)| u != personas::OWNER).collect();
    assert_eq!(stage2.len(), 1, "{stage2:?}");
    assert_eq!(stage2[0].0, personas::MANAGER);
    assert!(stage2[0].1.contains(&format!(", stage 2 of 2 (due {})", day(s2_end))), "{}", stage2[0].1);
    assert_eq!(
        app.count(&format!(
            "outbox WHERE instance_id = '{inst}' AND kind = 'ReviewStarted' AND facts LIKE '%\"items\":2%'"
        )),
        1,
        "Priya is told of the two people who moved on"
    );

    // Stage 2 reminds on its own window: at its half-time Priya is reminded, Omar (whose
    // people not reviewed stayed in stage 1) is not; again two days before the end.
    let (s2_start, _, _) = window(&app, &inst, 2);
    app.clock.set(s2_start + (s2_end - s2_start) / 2 + TimeDelta::hours(1));
    tick(&app);
    tick(&app);
    let reminded = mails(&app, &inst, "Reminder");
    assert_eq!(reminded.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(), vec![personas::MANAGER], "{reminded:?}");
    app.clock.set(end - TimeDelta::days(2) + TimeDelta::hours(1));
    tick(&app);
    let reminded = mails(&app, &inst, "Reminder");
    assert_eq!(
        reminded.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
        vec![personas::MANAGER; 2],
        "{reminded:?}"
    );

    // "Send reminder" by an admin goes to stage 2's reviewer too, never to Omar.
    app.sign_in("admin").await;
    let remind = app.post(&format!("{}/remind", results_url(&app, &inst)), &[]).await;
    assert_eq!(remind.status, 303, "{}", remind.body);
    let reminded = mails(&app, &inst, "Reminder");
    assert!(reminded.iter().all(|(u, _)| u == personas::MANAGER), "{reminded:?}");
    assert_eq!(reminded.len(), 3, "{reminded:?}");

    // Stage 1's mail gave stage 1's due date, not the occurrence's: Omar could decide only
    // until then.
    assert!(started[0].1.contains(&format!(", stage 1 of 2 (due {})", day(s1_end))), "{}", started[0].1);
}

#[tokio::test]
async fn when_nothing_moves_on_the_review_completes_at_the_end_of_stage_1() {
    let app = spawn_admin_app().await;
    let name = "Nothing to pass on";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", AGENCY),
            ("mail_notifications", "on"),
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "7"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    decide(&omar, &inst, &order[0..2], "Approve", "").await;
    let (_, s1_end, _) = window(&app, &inst, 1);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(status_of(&app, &inst), "Completed", "stage 2 would have nobody to review");
    assert_eq!(ids(&app, &inst, "stage = 2"), BTreeSet::new());
    assert!(mails(&app, &inst, "ReviewStarted").iter().all(|(u, _)| u == personas::OWNER));
    let finals = by_item(&app, &inst, "decision", "1 = 1");
    assert_eq!(finals.values().filter(|d| *d == "Approve").count(), 2);
    assert_eq!(finals.values().filter(|d| *d == "NotReviewed").count(), order.len() - 2);
    // The results count everyone.
    app.sign_in("admin").await;
    let results = app.get(&results_url(&app, &inst)).await;
    let progress = results.texts("dl.facts div").into_iter().find(|f| f.starts_with("Progress")).unwrap_or_default();
    assert!(progress.ends_with(&format!("2 of {} reviewed", order.len())), "{progress}");
    // Stage 2 never began: its reviewer has nothing to see.
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{inst}")).await;
    assert_eq!(
        page.status,
        404,
        "stage {}: {:?} {:?}",
        stage_of(&app, &inst),
        page.texts("dl.facts div"),
        page.texts("table.items tbody tr")
    );
    assert_eq!(kept(&app, &inst, 1).len(), order.len());
}

#[tokio::test]
async fn decided_as_recommended_moves_on_and_a_stage_without_recommendations_does_not_show_them() {
    let app = spawn_admin_app().await;
    let name = "Recommendations checked";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", AGENCY),
            ("stages", "2"),
            ("stage1_moves", "Recommendation"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "5"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    // Four people with known recommendations (arranged): A and D recommended for approval,
    // B and C for denial.
    let (a, b, c, d) = (&order[0], &order[1], &order[2], &order[3]);
    for (item, recommendation) in [(a, "Approve"), (b, "Deny"), (c, "Deny"), (d, "Approve")] {
        app.exec(&format!(
            "UPDATE review_decision_items SET recommendation = '{recommendation}', \
             recommendation_reason = 'Arranged: {recommendation} {item}' WHERE id = '{item}'"
        ));
    }
    app.exec(&format!(
        "UPDATE review_decision_items SET recommendation = 'NoInfoAvailable', recommendation_reason = '' \
         WHERE instance_id = '{inst}' AND id NOT IN ('{a}', '{b}', '{c}', '{d}')"
    ));
    decide(&omar, &inst, &[a.clone(), b.clone()], "Approve", "").await;
    decide(&omar, &inst, &[c.clone(), d.clone()], "Deny", "").await;
    let (_, s1_end, _) = window(&app, &inst, 1);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    // A (approved as recommended) and C (denied as recommended) move on; B and D, decided
    // against the recommendation, and those not reviewed are final.
    let moved = set(&[a.clone(), c.clone()]);
    assert_eq!(ids(&app, &inst, "stage = 2"), moved);
    let finals = by_item(&app, &inst, "decision", "stage = 1");
    assert_eq!((finals[b].as_str(), finals[d].as_str()), ("Approve", "Deny"));

    // Stage 2 does not show recommendations.
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{inst}")).await;
    assert_eq!(set(&page.attrs("input[name=item]", "value")), moved);
    assert!(!page.body.contains("Arranged:"), "{:?}", page.texts("table.items tbody tr"));
    assert!(page.texts("#accept").is_empty(), "no recommendation to accept");
    decide(&priya, &inst, std::slice::from_ref(a), "Deny", "Not needed").await;

    // The evidence keeps what was recommended.
    let end = instance_end(&app, &inst);
    app.clock.set(end + TimeDelta::minutes(1));
    tick(&app);
    app.sign_in("admin").await;
    let rows = records(&app.get(&format!("{}/results.csv", results_url(&app, &inst))).await.body);
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let principal = by_item(&app, &inst, "principal_id", "1 = 1");
    let recommended: BTreeMap<String, String> =
        rows[1..].iter().map(|r| (r[col("PrincipalId")].clone(), r[col("AccessRecommendation")].clone())).collect();
    for (item, expected) in [(a, "Approve"), (b, "Deny"), (c, "Deny"), (d, "Approve")] {
        assert_eq!(recommended[&principal[item]], expected, "{item}: {recommended:?}");
    }
}

#[tokio::test]
async fn applying_a_staged_review_removes_exactly_the_final_denials() {
    let app = spawn_admin_app().await;
    let name = "Approvals checked twice";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", AGENCY),
            ("stages", "2"),
            ("stage1_moves", "Approve"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_duration_days", "5"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    // Omar denies two (final: only approvals move on) and approves three; the rest he
    // leaves, and they stay not reviewed.
    decide(&omar, &inst, &order[0..2], "Deny", "Contract ended").await;
    decide(&omar, &inst, &order[2..5], "Approve", "").await;
    let (_, s1_end, _) = window(&app, &inst, 1);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(ids(&app, &inst, "stage = 2"), set(&order[2..5]));
    // Priya denies one of the approved, confirms one, leaves one.
    let priya = as_persona(&app, "manager").await;
    decide(&priya, &inst, &order[2..3], "Deny", "No agency work this year").await;
    decide(&priya, &inst, &order[3..4], "Approve", "").await;
    let end = instance_end(&app, &inst);
    app.clock.set(end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(status_of(&app, &inst), "Completed");
    let denied: BTreeSet<String> = order[0..3].iter().cloned().collect();
    assert_eq!(ids(&app, &inst, "decision = 'Deny'"), denied);

    let group = app.group_id(AGENCY);
    let member = |item: &str| {
        app.count(&format!(
            "group_member_users m JOIN review_decision_items i ON i.principal_id = m.user_id \
             WHERE i.id = '{item}' AND m.group_id = '{group}'"
        ))
    };
    assert!(order.iter().all(|i| member(i) == 1));
    app.sign_in("admin").await;
    let url = results_url(&app, &inst);
    let page = post_then_get(&app, &format!("{url}/apply"), &[]).await;
    assert!(page.text(".banner-success").contains("3 removed"), "{}", page.text(".banner-success"));
    for i in &order {
        assert_eq!(member(i), i64::from(!denied.contains(i)), "{i}: denied {}", denied.contains(i));
    }
    assert_eq!(app.count(&format!("audit_events WHERE action = 'ApplyDecision' AND target_id IN (SELECT id FROM review_decision_items WHERE instance_id = '{inst}')")), 3);
    let results = by_item(&app, &inst, "apply_result", "1 = 1");
    for (item, result) in &results {
        let expected = if denied.contains(item) { "AppliedSuccessfully" } else { "New" };
        assert_eq!(result, expected, "{item}");
    }
}

/// A Graph client reading a multi-stage series sees its stages as Entra's
/// `stageSettings`; creating one with `stageSettings` through the API is refused with what
/// to do instead.
#[tokio::test]
async fn a_graph_client_reads_the_stages_of_a_series() {
    use crate::api::{client, token};
    let app = spawn_admin_app().await;
    let name = "Board, two stages, read by a client";
    let series = create_board_review(
        &app,
        name,
        &[
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_fallback_reviewers", personas::USER),
            ("stage2_duration_days", "5"),
            ("decision_histories", "on"),
        ],
    )
    .await;
    let def = series.rsplit('/').next().unwrap().to_owned();
    let (id, secret) = client(&app, "AccessReview.ReadWrite.All");
    let bearer = token(&app, &id, &secret).await;
    let base = format!("{}/v1.0/identityGovernance/accessReviews", app.address);
    let read = |url: String| {
        let (client, bearer) = (app.client.clone(), bearer.clone());
        async move {
            let res = client.get(url).bearer_auth(bearer).send().await.unwrap();
            (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, one) = read(format!("{base}/definitions/{def}")).await;
    assert_eq!(status, 200, "{one}");
    let stages = one["stageSettings"].as_array().unwrap_or_else(|| panic!("{one}"));
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0]["stageId"], "1");
    assert_eq!(stages[0]["dependsOn"], serde_json::json!([]));
    assert_eq!(stages[0]["decisionsThatWillMoveToNextStage"], serde_json::json!(["Deny", "NotReviewed"]));
    assert_eq!(stages[0]["reviewers"][0]["query"], format!("/users/{}", app.user_id(personas::OWNER)));
    assert_eq!(stages[1]["stageId"], "2");
    assert_eq!(stages[1]["dependsOn"], serde_json::json!(["1"]));
    assert_eq!(stages[1]["durationInDays"], 5);
    assert_eq!(stages[1]["decisionsThatWillMoveToNextStage"], serde_json::json!([]));
    assert_eq!(stages[1]["reviewers"][0]["query"], format!("/users/{}", app.user_id(personas::MANAGER)));
    assert_eq!(stages[1]["fallbackReviewers"][0]["query"], format!("/users/{}", app.user_id(personas::USER)));
    assert_eq!(one["settings"]["decisionHistoriesForReviewersEnabled"], true);
    let (_, list) = read(format!("{base}/definitions")).await;
    let listed = list["value"].as_array().unwrap().iter().find(|d| d["id"] == def.as_str()).cloned().unwrap();
    assert_eq!(listed["stageSettings"], one["stageSettings"], "the list says the same");

    // Its instance's stages, and "stop" on the stage in progress (only on that one).
    tick(&app);
    let inst = app.instance_of(name);
    let stages_url = format!("{base}/definitions/{def}/instances/{inst}/stages");
    let (status, listed) = read(stages_url.clone()).await;
    assert_eq!(status, 200, "{listed}");
    let states: Vec<(&str, &str)> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("1", "InProgress"), ("2", "NotStarted")]);
    let post = |path: String| {
        let (client, bearer) = (app.client.clone(), bearer.clone());
        async move { client.post(path).bearer_auth(bearer).send().await.unwrap() }
    };
    let wrong = post(format!("{base}/definitions/{def}/instances/{inst}/stages/2/stop")).await;
    assert_eq!(wrong.status(), 400);
    let error: serde_json::Value = wrong.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("not the stage in progress"), "{error}");
    assert_eq!(post(format!("{base}/definitions/{def}/instances/{inst}/stages/9/stop")).await.status(), 404);
    assert_eq!(post(format!("{base}/definitions/{def}/instances/{inst}/stages/1/stop")).await.status(), 204);
    assert_eq!(stage_of(&app, &inst), "2/2");
    let (_, listed) = read(stages_url).await;
    assert_eq!(listed["value"][0]["status"], "Completed");
    assert_eq!(listed["value"][1]["status"], "InProgress");
    // A reader may list them, not stop them.
    let (reader, reader_secret) = client(&app, "AccessReview.Read.All");
    let reader = token(&app, &reader, &reader_secret).await;
    let res = app
        .client
        .post(format!("{base}/definitions/{def}/instances/{inst}/stages/2/stop"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Creating one through the API is refused, saying where to do it.
    let mut body = one.clone();
    body.as_object_mut().unwrap().retain(|k, _| !["id", "@odata.context", "createdDateTime"].contains(&k.as_str()));
    body["displayName"] = "Made by a client".into();
    let res = app.client.post(format!("{base}/definitions")).bearer_auth(&bearer).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let error: serde_json::Value = res.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("stageSettings are not supported"), "{error}");
}
