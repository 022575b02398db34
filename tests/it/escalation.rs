//! Escalation (issue 17): N days before the end of a review (with stages, of the current
//! stage) the scheduler gives each item still not reviewed to the manager of its reviewer or
//! to the fallback reviewers, once per instance and stage; they are mailed, see the review
//! with the escalated rows marked, and can decide them while the original reviewer still
//! can; nobody gets their own access or an item they already review. The settings come from
//! the create and edit forms, which refuse what cannot work naming the field.

use std::collections::{BTreeMap, BTreeSet};

use attest::demo::personas;
use chrono::{NaiveDateTime, TimeDelta};

use crate::helpers::{Page, TestApp, spawn_admin_app};
use crate::scheduler::tick;
use crate::stages::{
    BOARD, PORTAL, as_persona, by_item, create_board_review, create_review, decide, fields, ids, instance_end, item_of,
    refused, set, stage_of, status_of, strings, tickable, window,
};

fn decision_of(app: &TestApp, item: &str) -> String {
    strings(app, &format!("SELECT decision AS t FROM review_decision_items WHERE id = '{item}'")).remove(0)
}

fn reviewed_by(app: &TestApp, item: &str) -> String {
    strings(app, &format!("SELECT COALESCE(reviewed_by, '') AS t FROM review_decision_items WHERE id = '{item}'"))
        .remove(0)
}

/// The instance's escalations: (item, user) pairs.
fn escalations(app: &TestApp, instance: &str) -> BTreeSet<(String, String)> {
    strings(
        app,
        &format!("SELECT item_id || '|' || user_id AS t FROM review_item_escalations WHERE instance_id = '{instance}'"),
    )
    .into_iter()
    .map(|t| {
        let (item, user) = t.split_once('|').unwrap();
        (item.to_owned(), user.to_owned())
    })
    .collect()
}

/// The items escalated to `user`.
fn escalated_to(pairs: &BTreeSet<(String, String)>, user: &str) -> BTreeSet<String> {
    pairs.iter().filter(|(_, u)| u == user).map(|(i, _)| i.clone()).collect()
}

/// The instance's escalation rounds: (stage, at, items).
fn rounds(app: &TestApp, instance: &str) -> Vec<(i32, NaiveDateTime, i32)> {
    use attest::db::schema::review_escalation_rounds::dsl::*;
    use diesel::prelude::*;
    review_escalation_rounds
        .filter(instance_id.eq(instance))
        .order(stage)
        .select((stage, at, items))
        .load(&mut *app.conn())
        .unwrap()
}

/// When each of the instance's escalations was made, by (item, user).
fn escalated_at(app: &TestApp, instance: &str) -> BTreeSet<NaiveDateTime> {
    use attest::db::schema::review_item_escalations::dsl::*;
    use diesel::prelude::*;
    review_item_escalations
        .filter(instance_id.eq(instance))
        .select(at)
        .load::<NaiveDateTime>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .collect()
}

/// Audit events of the escalation about the instance or its items.
fn escalation_events(app: &TestApp, instance: &str) -> i64 {
    app.count(&format!(
        "audit_events WHERE action = 'EscalateDecisionItems' AND (target_id = '{instance}' \
         OR target_id IN (SELECT id FROM review_decision_items WHERE instance_id = '{instance}'))"
    ))
}

/// (recipient id, subject, facts) of the instance's mails of this kind, by recipient.
fn mails(app: &TestApp, instance: &str, kind: &str) -> Vec<(String, String, String)> {
    strings(
        app,
        &format!(
            "SELECT COALESCE(recipient_id, '') || '|' || subject || '|' || facts AS t FROM outbox \
             WHERE instance_id = '{instance}' AND kind = '{kind}' ORDER BY recipient_id, id"
        ),
    )
    .into_iter()
    .map(|t| {
        let mut parts = t.splitn(3, '|');
        let (who, subject, facts) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        (who.to_owned(), subject.replace(['\u{2068}', '\u{2069}'], ""), facts.to_owned())
    })
    .collect()
}

/// Checks the Escalated mails of an instance: exactly one per person in `expected`
/// (user id → items escalated to them), its subject naming how many people and the review.
fn assert_escalated_mails(app: &TestApp, instance: &str, review: &str, expected: &BTreeMap<String, usize>) {
    let sent = mails(app, instance, "Escalated");
    let mut to: Vec<&str> = sent.iter().map(|(u, _, _)| u.as_str()).collect();
    to.sort_unstable();
    let wanted: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(to, wanted, "one mail per person escalated to: {sent:?}");
    for (user, subject, _) in &sent {
        let n = expected[user];
        let people = if n == 1 { "1 person" } else { &format!("{n} people") };
        assert!(subject.contains(people), "{user}: {n} escalated, subject {subject:?}");
        assert!(subject.contains(review), "{user}: the subject names the review: {subject:?}");
    }
}

/// Manager of every user (empty when none).
fn managers(app: &TestApp) -> BTreeMap<String, String> {
    strings(app, "SELECT id || '|' || COALESCE(manager_id, '') AS t FROM users")
        .into_iter()
        .map(|t| {
            let (id, m) = t.split_once('|').unwrap();
            (id.to_owned(), m.to_owned())
        })
        .collect()
}

/// The instance's fallback reviewers.
fn fallbacks(app: &TestApp, instance: &str) -> BTreeSet<String> {
    strings(
        app,
        &format!(
            "SELECT user_id AS t FROM review_instance_reviewers WHERE instance_id = '{instance}' AND fallback = TRUE"
        ),
    )
    .into_iter()
    .collect()
}

/// The escalations the brief asks for with target Managers, for the items not reviewed:
/// the manager of the item's reviewer; the fallback reviewers when the item has no one
/// person as reviewer or its reviewer has no manager; never the person under review nor
/// anyone who already reviews the item.
fn expected_to_managers(app: &TestApp, instance: &str, fallback: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    let manager = managers(app);
    let rows = strings(
        app,
        &format!(
            "SELECT id || '|' || principal_id || '|' || COALESCE(reviewer_id, '') || '|' || reviewer_pool AS t \
             FROM review_decision_items WHERE instance_id = '{instance}' AND decision = 'NotReviewed'"
        ),
    );
    let mut out = BTreeSet::new();
    for row in rows {
        let parts: Vec<&str> = row.split('|').collect();
        let (item, principal, reviewer, pool) = (parts[0], parts[1], parts[2], parts[3]);
        let reviews_it: BTreeSet<String> = if !reviewer.is_empty() {
            BTreeSet::from([reviewer.to_owned()])
        } else if pool == "Fallback" {
            fallback.clone()
        } else {
            BTreeSet::new()
        };
        let to: BTreeSet<String> = match manager.get(reviewer).filter(|m| !reviewer.is_empty() && !m.is_empty()) {
            Some(m) => BTreeSet::from([m.clone()]),
            None => fallback.clone(),
        };
        for user in to {
            if user != principal && !reviews_it.contains(&user) {
                out.insert((item.to_owned(), user));
            }
        }
    }
    out
}

/// How many items each person got.
fn per_person(pairs: &BTreeSet<(String, String)>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, user) in pairs {
        *out.entry(user.clone()).or_default() += 1;
    }
    out
}

/// The text of the row of `item` on `page`.
fn row(page: &Page, item: &str) -> String {
    page.texts(&format!("tr[data-item='{item}']")).into_iter().next().unwrap_or_default()
}

#[tokio::test]
async fn managers_target_escalates_the_items_not_reviewed_to_the_reviewers_managers_once() {
    let app = spawn_admin_app().await;
    let omar = app.user_id(personas::OWNER);
    let priya = app.user_id(personas::MANAGER);
    let dana = app.user_id(personas::ADMIN);
    // Arranged: Priya reports to Omar, who has no manager; every manager can sign in.
    app.exec(&format!("UPDATE users SET manager_id = '{omar}' WHERE id = '{priya}'"));
    app.exec(&format!("UPDATE users SET manager_id = NULL WHERE id = '{omar}'"));
    app.exec("UPDATE users SET enabled = TRUE WHERE id IN (SELECT manager_id FROM users WHERE manager_id IS NOT NULL)");
    let name = "Partner portal by managers, escalated";
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", PORTAL),
            ("reviewer_kind", "Managers"),
            ("mail_notifications", "on"),
            ("escalation", "on"),
            ("escalation_days", "2"),
            ("escalation_target", "Managers"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let url = format!("/reviews/{inst}");
    let end = instance_end(&app, &inst);
    assert_eq!(fallbacks(&app, &inst), BTreeSet::from([dana.clone()]));
    let priya_s = ids(&app, &inst, &format!("reviewer_id = '{priya}'"));
    assert!(priya_s.len() >= 4, "Priya reviews her direct reports: {priya_s:?}");
    let own = item_of(&app, &inst, personas::MANAGER);
    assert_eq!(by_item(&app, &inst, "COALESCE(reviewer_id, '')", &format!("id = '{own}'"))[&own], omar);
    let by_team_managers =
        ids(&app, &inst, &format!("reviewer_id IS NOT NULL AND reviewer_id NOT IN ('{priya}', '{omar}')"));
    assert!(!by_team_managers.is_empty(), "some people are reviewed by Priya's reports");

    // Before the escalation Priya decides two of hers; Omar has no part in the review.
    let priya_app = as_persona(&app, "manager").await;
    let mine: Vec<String> = priya_s.iter().cloned().collect();
    decide(&priya_app, &inst, &mine[0..2], "Approve", "Leads a launch team").await;
    // Omar, Priya's manager, reviews her only.
    let omar_app = as_persona(&app, "owner").await;
    assert_eq!(set(&tickable(&omar_app, &inst).await), BTreeSet::from([own.clone()]));

    // The day before the escalation: nothing.
    app.clock.set(end - TimeDelta::days(2) - TimeDelta::hours(1));
    tick(&app);
    assert!(escalations(&app, &inst).is_empty());
    assert!(rounds(&app, &inst).is_empty());

    // Two days before the end: everyone not reviewed is escalated.
    let expected = expected_to_managers(&app, &inst, &BTreeSet::from([dana.clone()]));
    let not_reviewed = ids(&app, &inst, "decision = 'NotReviewed'");
    let now = end - TimeDelta::days(2) + TimeDelta::minutes(1);
    app.clock.set(now);
    tick(&app);
    let pairs = escalations(&app, &inst);
    assert_eq!(pairs, expected, "escalated as the brief says");
    let escalated: BTreeSet<String> = pairs.iter().map(|(i, _)| i.clone()).collect();
    assert!(escalated.is_subset(&not_reviewed));
    assert!(!escalated.contains(&mine[0]) && !escalated.contains(&mine[1]), "decided before: not escalated");
    // Priya's direct reports go to Omar, her own access (Omar has no manager) to Dana, the
    // people of her reports to her.
    assert_eq!(escalated_to(&pairs, &omar), &priya_s - &ids(&app, &inst, "decision <> 'NotReviewed'"));
    assert!(pairs.contains(&(own.clone(), dana.clone())), "Omar has no manager: his item goes to the fallback");
    let to_priya = escalated_to(&pairs, &priya);
    assert!(!to_priya.is_empty() && to_priya.is_subset(&by_team_managers), "{to_priya:?}");
    assert!(!to_priya.contains(&own), "never her own access");
    // The people without a manager are the fallback's already: nothing more.
    for item in ids(&app, &inst, "reviewer_pool = 'Fallback' AND reviewer_id IS NULL") {
        assert!(pairs.iter().all(|(i, _)| *i != item), "{item} is Dana's already");
    }
    assert_eq!(rounds(&app, &inst), vec![(1, now, i32::try_from(escalated.len()).unwrap())]);
    assert_eq!(escalated_at(&app, &inst), BTreeSet::from([now]));
    assert!(escalation_events(&app, &inst) >= 1, "audited");
    let events = escalation_events(&app, &inst);
    let counts = per_person(&pairs);
    assert_escalated_mails(&app, &inst, name, &counts);

    // Omar sees the review in his list and on its page what was escalated to him besides
    // Priya, marked so. (Sessions end when the clock jumps days: everyone signs in again.)
    let omar_app = as_persona(&app, "owner").await;
    let priya_app = as_persona(&app, "manager").await;
    let list = omar_app.get("/").await.texts("table.my-reviews tbody tr");
    let n = escalated_to(&pairs, &omar).len() + 1;
    assert!(list.iter().any(|r| r.contains(name) && r.contains(&format!("0 of {n} reviewed"))), "{n}: {list:?}");
    // Priya's list counts her own people and those escalated to her; two are decided.
    let list = priya_app.get("/").await.texts("table.my-reviews tbody tr");
    let hers_all = priya_s.len() + to_priya.len();
    assert!(
        list.iter().any(|r| r.contains(name) && r.contains(&format!("2 of {hers_all} reviewed"))),
        "{hers_all}: {list:?}"
    );
    let page = omar_app.get(&url).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {n}"));
    let his: BTreeSet<String> = page.attrs("input[name=item]", "value").into_iter().collect();
    assert_eq!(his, &escalated_to(&pairs, &omar) | &BTreeSet::from([own.clone()]));
    assert!(!row(&page, &own).contains("Escalated to you"), "{}", row(&page, &own));
    let his = escalated_to(&pairs, &omar);
    for item in &his {
        assert!(row(&page, item).contains("Escalated to you"), "{}", row(&page, item));
    }
    // He decides one of them, and cannot decide what was not escalated to him.
    let his: Vec<String> = his.into_iter().collect();
    decide(&omar_app, &inst, &his[0..1], "Deny", "Moved to another team").await;
    assert_eq!((decision_of(&app, &his[0]), reviewed_by(&app, &his[0])), ("Deny".to_owned(), omar.clone()));
    let not_his = to_priya.iter().next().unwrap();
    refused(&omar_app, &inst, not_his, "Approve").await;
    assert_eq!(decision_of(&app, not_his), "NotReviewed");

    // Priya still decides her own people, and also those escalated to her; only those are
    // marked on her page.
    let page = priya_app.get(&url).await;
    let hers: BTreeSet<String> = page.attrs("input[name=item]", "value").into_iter().collect();
    assert_eq!(hers, &priya_s | &to_priya);
    for item in &priya_s {
        assert!(!row(&page, item).contains("Escalated to you"), "{}", row(&page, item));
    }
    for item in &to_priya {
        assert!(row(&page, item).contains("Escalated to you"), "{}", row(&page, item));
    }
    let still_hers = his.get(1).cloned().expect("Omar got at least two of Priya's people");
    decide(&priya_app, &inst, std::slice::from_ref(&still_hers), "Approve", "Still on the launch").await;
    assert_eq!((decision_of(&app, &still_hers), reviewed_by(&app, &still_hers)), ("Approve".to_owned(), priya.clone()));
    let escalated_one = to_priya.iter().next().unwrap().clone();
    decide(&priya_app, &inst, std::slice::from_ref(&escalated_one), "Deny", "Left the launch team").await;
    assert_eq!(reviewed_by(&app, &escalated_one), priya);

    // Later ticks escalate nothing again and mail nobody again.
    app.clock.set(now + TimeDelta::hours(5));
    tick(&app);
    tick(&app);
    assert_eq!(escalations(&app, &inst), pairs);
    assert_eq!(rounds(&app, &inst).len(), 1);
    assert_eq!(escalation_events(&app, &inst), events);
    assert_escalated_mails(&app, &inst, name, &counts);
}

#[tokio::test]
async fn fallback_target_escalates_to_the_fallback_reviewers_but_never_their_own_access() {
    let app = spawn_admin_app().await;
    let omar = app.user_id(personas::OWNER);
    let priya = app.user_id(personas::MANAGER);
    let tom = app.user_id(personas::USER);
    let name = "Partner portal by Omar, escalated to the fallbacks";
    let both = format!("{}\n{}", personas::MANAGER, personas::USER);
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", PORTAL),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::OWNER),
            ("fallback_reviewers", &both),
            ("mail_notifications", "on"),
            ("escalation", "on"),
            ("escalation_days", "3"),
            ("escalation_target", "Fallback"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let url = format!("/reviews/{inst}");
    let end = instance_end(&app, &inst);
    let all = ids(&app, &inst, "1 = 1");
    let own = item_of(&app, &inst, personas::MANAGER);
    let tom_app = as_persona(&app, "user").await;
    assert_eq!(tom_app.get(&url).await.status, 404, "the fallbacks have nothing to review yet");

    // Omar decides three (never Priya) before the escalation.
    let omar_app = as_persona(&app, "owner").await;
    let order: Vec<String> = set(&tickable(&omar_app, &inst).await).into_iter().filter(|i| *i != own).collect();
    assert_eq!(order.len() + 1, all.len());
    decide(&omar_app, &inst, &order[0..3], "Approve", "Partner contact").await;

    app.clock.set(end - TimeDelta::days(3) - TimeDelta::minutes(1));
    tick(&app);
    assert!(escalations(&app, &inst).is_empty());

    let now = end - TimeDelta::days(3) + TimeDelta::minutes(1);
    app.clock.set(now);
    tick(&app);
    let not_reviewed = ids(&app, &inst, "decision = 'NotReviewed'");
    assert_eq!(not_reviewed.len(), all.len() - 3);
    let pairs = escalations(&app, &inst);
    let mut expected = BTreeSet::new();
    for item in &not_reviewed {
        expected.insert((item.clone(), tom.clone()));
        if *item != own {
            expected.insert((item.clone(), priya.clone()));
        }
    }
    assert_eq!(pairs, expected, "every item not reviewed to both fallbacks, Priya's own to Tom only");
    assert!(pairs.iter().all(|(_, u)| *u != omar), "Omar reviews them already");
    assert_eq!(rounds(&app, &inst), vec![(1, now, i32::try_from(not_reviewed.len()).unwrap())]);
    assert!(escalation_events(&app, &inst) >= 1, "audited");
    assert_escalated_mails(&app, &inst, name, &per_person(&pairs));

    // Priya sees the escalated people but cannot decide her own access; Tom can. (Sessions
    // end when the clock jumps days: everyone signs in again.)
    let priya_app = as_persona(&app, "manager").await;
    let tom_app = as_persona(&app, "user").await;
    let omar_app = as_persona(&app, "owner").await;
    // Their lists count what was escalated to them.
    for (who, persona) in [(&priya_app, &priya), (&tom_app, &tom)] {
        let list = who.get("/").await.texts("table.my-reviews tbody tr");
        let n = escalated_to(&pairs, persona).len();
        assert!(list.iter().any(|r| r.contains(name) && r.contains(&format!("0 of {n} reviewed"))), "{n}: {list:?}");
    }
    let page = priya_app.get(&url).await;
    let hers: BTreeSet<String> = page.attrs("input[name=item]", "value").into_iter().collect();
    assert_eq!(hers, escalated_to(&pairs, &priya));
    assert!(!hers.contains(&own));
    let told = refused(&priya_app, &inst, &own, "Approve").await;
    assert_eq!(decision_of(&app, &own), "NotReviewed", "{told}");
    let page = tom_app.get(&url).await;
    assert_eq!(page.status, 200);
    assert!(row(&page, &own).contains("Escalated to you"), "{}", row(&page, &own));
    decide(&tom_app, &inst, std::slice::from_ref(&own), "Approve", "Runs the launch").await;
    assert_eq!((decision_of(&app, &own), reviewed_by(&app, &own)), ("Approve".to_owned(), tom.clone()));

    // Priya decides one, Omar, the original reviewer, another.
    let rest: Vec<String> = hers.into_iter().collect();
    decide(&priya_app, &inst, &rest[0..1], "Deny", "Not on the launch team").await;
    assert_eq!(reviewed_by(&app, &rest[0]), priya);
    decide(&omar_app, &inst, &rest[1..2], "Approve", "").await;
    assert_eq!(reviewed_by(&app, &rest[1]), omar);

    // Once is enough.
    app.clock.set(now + TimeDelta::days(1));
    tick(&app);
    assert_eq!(escalations(&app, &inst), pairs);
    assert_eq!(rounds(&app, &inst).len(), 1);
    assert_eq!(mails(&app, &inst, "Escalated").len(), 2);
}

#[tokio::test]
async fn nothing_is_escalated_before_the_day_nor_when_escalation_is_off() {
    let app = spawn_admin_app().await;
    let tom = app.user_id(personas::USER);
    let review = |name: &'static str, on: bool| {
        let mut fields = vec![
            ("name", name),
            ("groups", BOARD),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::OWNER),
            ("fallback_reviewers", personas::USER),
            ("mail_notifications", "on"),
        ];
        if on {
            fields.extend([("escalation", "on"), ("escalation_days", "3"), ("escalation_target", "Fallback")]);
        }
        fields
    };
    create_review(&app, &review("Board, escalated", true)).await;
    create_review(&app, &review("Board, never escalated", false)).await;
    tick(&app);
    let on = app.instance_of("Board, escalated");
    let off = app.instance_of("Board, never escalated");
    let end = instance_end(&app, &on);
    assert_eq!(instance_end(&app, &off), end);
    let nothing = |inst: &str| {
        escalations(&app, inst).is_empty() && rounds(&app, inst).is_empty() && mails(&app, inst, "Escalated").is_empty()
    };

    // Every day until three days before the end: nothing.
    let mut at = app.clock_now();
    while at < end - TimeDelta::days(3) {
        app.clock.set(at);
        tick(&app);
        assert!(nothing(&on) && nothing(&off), "at {at}");
        at += TimeDelta::hours(12);
    }
    app.clock.set(end - TimeDelta::days(3) - TimeDelta::seconds(30));
    tick(&app);
    assert!(nothing(&on) && nothing(&off));
    let tom_app = as_persona(&app, "user").await;
    assert!(tickable(&tom_app, &on).await.is_empty());

    // Three days before: only the review with escalation on.
    app.clock.set(end - TimeDelta::days(3) + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(escalated_to(&escalations(&app, &on), &tom), ids(&app, &on, "1 = 1"));
    assert_eq!(mails(&app, &on, "Escalated").len(), 1);
    assert!(nothing(&off));
    assert_eq!(app.count(&format!("audit_events WHERE action = 'EscalateDecisionItems' AND target_id = '{off}'")), 0);

    // Until it ends and after, the other never escalates, and Tom never sees it.
    for at in [end - TimeDelta::days(1), end - TimeDelta::minutes(1), end + TimeDelta::minutes(1)] {
        app.clock.set(at);
        tick(&app);
        assert!(nothing(&off), "at {at}");
    }
    assert_eq!(status_of(&app, &off), "Completed");
    let tom_app = as_persona(&app, "user").await;
    assert!(tickable(&tom_app, &off).await.is_empty());
    let list = tom_app.get("/").await.texts("table.my-reviews tbody tr");
    assert!(!list.iter().any(|r| r.contains("Board, never escalated")), "{list:?}");
}

#[tokio::test]
async fn escalation_settings_that_cannot_work_are_refused_naming_the_field() {
    let app = spawn_admin_app().await;
    let definitions = app.count("review_definitions");
    let on = [
        ("name", "Escalated review"),
        ("escalation", "on"),
        ("escalation_days", "2"),
        ("escalation_target", "Managers"),
    ];
    let two_stages: [(&str, &str); 5] = [
        ("stages", "2"),
        ("stage1_moves", "NotReviewed"),
        ("stage2_reviewer_kind", "Selected"),
        ("stage2_reviewers", personas::MANAGER),
        ("stage2_duration_days", "3"),
    ];
    // (fields left out, fields changed or added, the field named)
    type Case<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (&[], vec![("escalation_days", "7")], "escalation_days"),
        (&[], vec![("escalation_days", "30")], "escalation_days"),
        (&[], vec![("escalation_days", "0")], "escalation_days"),
        (&[], vec![("escalation_days", "-1")], "escalation_days"),
        (&[], vec![("escalation_days", "two")], "escalation_days"),
        (&[], vec![("escalation_days", "1.5")], "escalation_days"),
        (&["escalation_days"], vec![], "escalation_days"),
        (&[], vec![("duration_days", "2")], "escalation_days"),
        (&["escalation_target"], vec![], "escalation_target"),
        (&[], vec![("escalation_target", "")], "escalation_target"),
        (&[], vec![("escalation_target", "Owners")], "escalation_target"),
        // With stages, less than each stage's duration: stage 2 lasts 3 days.
        (&[], [two_stages.to_vec(), vec![("escalation_days", "3")]].concat(), "escalation_days"),
        (&[], [two_stages.to_vec(), vec![("escalation_days", "5")]].concat(), "escalation_days"),
    ];
    for (left_out, changed, field) in &cases {
        let mut extra: Vec<(&str, &str)> =
            on.iter().filter(|(k, _)| !left_out.contains(k) && !changed.iter().any(|(c, _)| c == k)).copied().collect();
        extra.extend(changed.iter().copied());
        let page = app.post("/admin/access-reviews/new", &fields(&extra)).await;
        assert_eq!(page.status, 400, "{changed:?} without {left_out:?} was accepted");
        let errors = page.texts(&format!("#{field}-error"));
        assert!(
            errors.iter().any(|e| !e.is_empty()),
            "{field}, {changed:?}: {errors:?} / {:?}",
            page.texts(".error-summary li")
        );
        let links = page.attrs(".error-summary a", "href");
        assert!(links.contains(&format!("#{field}")), "{field}, {changed:?}: {links:?}");
        // What was chosen comes back.
        assert_eq!(page.attrs("input[name=escalation][checked]", "name").len(), 1, "{changed:?}: ticked still");
    }
    assert_eq!(app.count("review_definitions"), definitions, "nothing is saved");
    assert_eq!(app.count("review_definition_escalations"), 0);

    // Right, it is saved; two stages of 7 and 3 days take 2 days.
    let path = create_review(
        &app,
        &[
            ("name", "Escalated right"),
            ("escalation", "on"),
            ("escalation_days", "6"),
            ("escalation_target", "Fallback"),
        ],
    )
    .await;
    let staged = [
        two_stages.to_vec(),
        vec![
            ("name", "Staged escalation"),
            ("escalation", "on"),
            ("escalation_days", "2"),
            ("escalation_target", "Managers"),
        ],
    ]
    .concat();
    create_review(&app, &staged).await;
    create_review(&app, &[("name", "Not escalated")]).await;
    let saved = |name: &str| {
        strings(
            &app,
            &format!(
                "SELECT CAST(e.days_before AS TEXT) || ' ' || e.target AS t FROM review_definition_escalations e \
                 JOIN review_definitions d ON d.id = e.definition_id WHERE d.display_name = '{name}'"
            ),
        )
    };
    assert_eq!(saved("Escalated right"), vec!["6 Fallback"]);
    assert_eq!(saved("Staged escalation"), vec!["2 Managers"]);
    assert!(saved("Not escalated").is_empty());

    // The edit form shows and changes the same settings.
    let edit = app.get(&format!("{path}/edit")).await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.attrs("input[name=escalation][checked]", "name").len(), 1, "escalation is on");
    assert_eq!(edit.attrs("input[name=escalation_days]", "value"), vec!["6"]);
    let target: Vec<String> = [
        edit.attrs("input[name=escalation_target][checked]", "value"),
        edit.attrs("select[name=escalation_target] option[selected]", "value"),
    ]
    .concat();
    assert_eq!(target, vec!["Fallback"]);
    let base = [
        ("name", "Escalated right"),
        ("fallback_reviewers", personas::ADMIN),
        ("end_kind", "Never"),
        ("default_decision", "None"),
        ("lookback_days", "30"),
        ("recommendations", "on"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| [base.to_vec(), extra.to_vec()].concat();
    let bad = app
        .post(
            &format!("{path}/edit"),
            &with(&[("escalation", "on"), ("escalation_days", "7"), ("escalation_target", "Managers")]),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text("main"));
    assert!(!bad.texts("#escalation_days-error").is_empty(), "{:?}", bad.texts(".error-summary li"));
    let bad = app.post(&format!("{path}/edit"), &with(&[("escalation", "on"), ("escalation_days", "3")])).await;
    assert_eq!(bad.status, 400);
    assert!(!bad.texts("#escalation_target-error").is_empty(), "{:?}", bad.texts(".error-summary li"));
    assert_eq!(saved("Escalated right"), vec!["6 Fallback"]);
    let good = app
        .post(
            &format!("{path}/edit"),
            &with(&[("escalation", "on"), ("escalation_days", "3"), ("escalation_target", "Managers")]),
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.texts(".error-summary").join(" | "));
    assert_eq!(saved("Escalated right"), vec!["3 Managers"]);
    // Unticked, it is off.
    let off = app.post(&format!("{path}/edit"), &with(&[])).await;
    assert_eq!(off.status, 303, "{}", off.texts(".error-summary").join(" | "));
    assert!(saved("Escalated right").is_empty());
}

#[tokio::test]
async fn with_two_stages_each_stage_escalates_before_its_own_end_and_only_its_items() {
    let app = spawn_admin_app().await;
    let tom = app.user_id(personas::USER);
    let dana = app.user_id(personas::ADMIN);
    let name = "Advisory board in two stages, escalated";
    create_board_review(
        &app,
        name,
        &[
            ("fallback_reviewers", personas::USER),
            ("mail_notifications", "on"),
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_fallback_reviewers", personas::ADMIN),
            ("stage2_duration_days", "7"),
            ("escalation", "on"),
            ("escalation_days", "2"),
            ("escalation_target", "Fallback"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let (_, s1_end, _) = window(&app, &inst, 1);
    let (s2_start, s2_end, _) = window(&app, &inst, 2);
    assert_eq!((s2_start, s2_end - s2_start), (s1_end, TimeDelta::days(7)));
    let omar_app = as_persona(&app, "owner").await;
    let order: Vec<String> = set(&tickable(&omar_app, &inst).await).into_iter().collect();
    assert!(order.len() >= 8, "{order:?}");
    // Stage 1: two approved (final), two denied (move on), the rest not reviewed.
    decide(&omar_app, &inst, &order[0..2], "Approve", "Active board member").await;
    decide(&omar_app, &inst, &order[2..4], "Deny", "Left the board").await;

    // Stage 1 escalates two days before its own end, to stage 1's fallback.
    app.clock.set(s1_end - TimeDelta::days(2) - TimeDelta::hours(1));
    tick(&app);
    assert!(rounds(&app, &inst).is_empty());
    let first = s1_end - TimeDelta::days(2) + TimeDelta::minutes(1);
    app.clock.set(first);
    tick(&app);
    let stage1_open: BTreeSet<String> = order[4..].iter().cloned().collect();
    let expected1: BTreeSet<(String, String)> = stage1_open.iter().map(|i| (i.clone(), tom.clone())).collect();
    assert_eq!(escalations(&app, &inst), expected1, "stage 1: the items not reviewed, to Tom");
    assert_eq!(rounds(&app, &inst), vec![(1, first, i32::try_from(stage1_open.len()).unwrap())]);
    let tom_app = as_persona(&app, "user").await;
    assert_eq!(set(&tickable(&tom_app, &inst).await), stage1_open);
    decide(&tom_app, &inst, &order[4..5], "Approve", "Still advises").await;

    // Stage 2 begins: the denied and the not reviewed move on; nothing escalates at once.
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(stage_of(&app, &inst), "2/2");
    let moved: BTreeSet<String> = order[2..4].iter().chain(&order[5..]).cloned().collect();
    assert_eq!(ids(&app, &inst, "stage = 2"), moved);
    assert_eq!(rounds(&app, &inst).len(), 1, "stage 2 escalates before its own end only");
    // Tom's escalation was for stage 1: he no longer decides.
    let tom_app = as_persona(&app, "user").await;
    refused(&tom_app, &inst, &order[5], "Approve").await;
    assert_eq!(decision_of(&app, &order[5]), "NotReviewed");
    assert!(tickable(&tom_app, &inst).await.is_empty(), "nothing of stage 2 is Tom's");
    let priya_app = as_persona(&app, "manager").await;
    let stage2: Vec<String> = moved.iter().cloned().collect();
    decide(&priya_app, &inst, &stage2[0..1], "Approve", "Rejoined").await;

    app.clock.set(s2_end - TimeDelta::days(2) - TimeDelta::hours(1));
    tick(&app);
    assert_eq!(rounds(&app, &inst).len(), 1);
    assert!(escalated_to(&escalations(&app, &inst), &dana).is_empty());

    // Two days before stage 2's end: its items not reviewed go to stage 2's fallback.
    let second = s2_end - TimeDelta::days(2) + TimeDelta::minutes(1);
    app.clock.set(second);
    tick(&app);
    let stage2_open = ids(&app, &inst, "stage = 2 AND decision = 'NotReviewed'");
    assert_eq!(stage2_open.len(), moved.len() - 1);
    let pairs = escalations(&app, &inst);
    assert_eq!(escalated_to(&pairs, &dana), stage2_open, "stage 2: its items not reviewed, to Dana");
    assert_eq!(escalated_to(&pairs, &tom), stage1_open, "stage 1's escalations are kept as they were");
    assert_eq!(pairs.len(), stage1_open.len() + stage2_open.len(), "{pairs:?}");
    let r = rounds(&app, &inst);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[1], (2, second, i32::try_from(stage2_open.len()).unwrap()));
    let sent = mails(&app, &inst, "Escalated");
    let to: BTreeSet<&str> = sent.iter().map(|(u, _, _)| u.as_str()).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(to, BTreeSet::from([tom.as_str(), dana.as_str()]));
    let dana_mail = &sent.iter().find(|(u, _, _)| *u == dana).unwrap().1;
    assert!(dana_mail.contains(&format!("{} people", stage2_open.len())) && dana_mail.contains(name), "{dana_mail}");

    // Dana decides one; Priya still decides another.
    let dana_app = as_persona(&app, "admin").await;
    let priya_app = as_persona(&app, "manager").await;
    let page = dana_app.get(&format!("/reviews/{inst}")).await;
    assert_eq!(page.attrs("input[name=item]", "value").into_iter().collect::<BTreeSet<_>>(), stage2_open);
    let open: Vec<String> = stage2_open.iter().cloned().collect();
    assert!(row(&page, &open[0]).contains("Escalated to you"), "{}", row(&page, &open[0]));
    decide(&dana_app, &inst, &open[0..1], "Deny", "Not on the board").await;
    assert_eq!(reviewed_by(&app, &open[0]), dana);
    decide(&priya_app, &inst, &open[1..2], "Approve", "").await;

    // Once per stage.
    app.clock.set(second + TimeDelta::days(1));
    tick(&app);
    assert_eq!(rounds(&app, &inst).len(), 2);
    assert_eq!(mails(&app, &inst, "Escalated").len(), 2);
    assert_eq!(escalations(&app, &inst), pairs);
}

#[tokio::test]
async fn the_same_fallback_in_both_stages_gets_stage_2_s_escalation_too() {
    let app = spawn_admin_app().await;
    let tom = app.user_id(personas::USER);
    let name = "Advisory board, one fallback for both stages";
    create_board_review(
        &app,
        name,
        &[
            ("fallback_reviewers", personas::USER),
            ("mail_notifications", "on"),
            ("stages", "2"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", personas::MANAGER),
            ("stage2_fallback_reviewers", personas::USER),
            ("stage2_duration_days", "7"),
            ("escalation", "on"),
            ("escalation_days", "2"),
            ("escalation_target", "Fallback"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let all = ids(&app, &inst, "1 = 1");
    let (_, s1_end, _) = window(&app, &inst, 1);
    let (_, s2_end, _) = window(&app, &inst, 2);

    // Nobody decides in stage 1: everything goes to Tom, then on to stage 2.
    app.clock.set(s1_end - TimeDelta::days(2) + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(escalated_to(&escalations(&app, &inst), &tom), all);
    app.clock.set(s1_end + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(stage_of(&app, &inst), "2/2");
    assert_eq!(ids(&app, &inst, "stage = 2"), all);

    // Stage 2 escalates the same people to the same fallback: the tick works, the round is
    // recorded, Tom is told again and decides.
    let second = s2_end - TimeDelta::days(2) + TimeDelta::minutes(1);
    app.clock.set(second);
    tick(&app);
    let r = rounds(&app, &inst);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[1], (2, second, i32::try_from(all.len()).unwrap()));
    assert_eq!(mails(&app, &inst, "Escalated").len(), 2, "once per stage");
    let tom_app = as_persona(&app, "user").await;
    let his = set(&tickable(&tom_app, &inst).await);
    assert_eq!(his, all);
    let first: Vec<String> = his.into_iter().take(1).collect();
    decide(&tom_app, &inst, &first, "Deny", "Not on the board").await;
    assert_eq!(reviewed_by(&app, &first[0]), tom);
}

#[tokio::test]
async fn racing_schedulers_escalate_once() {
    let app = spawn_admin_app().await;
    let tom = app.user_id(personas::USER);
    let name = "Board, raced";
    create_board_review(
        &app,
        name,
        &[
            ("fallback_reviewers", personas::USER),
            ("mail_notifications", "on"),
            ("escalation", "on"),
            ("escalation_days", "2"),
            ("escalation_target", "Fallback"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let now = instance_end(&app, &inst) - TimeDelta::days(2) + TimeDelta::minutes(1);
    app.clock.set(now);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = app.pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                // A losing racer may see the other's lock or unique key; neither may
                // escalate twice.
                let _ = attest::scheduler::tick(&mut conn, now);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    tick(&app);
    assert_eq!(rounds(&app, &inst).len(), 1);
    assert_eq!(escalated_to(&escalations(&app, &inst), &tom), ids(&app, &inst, "1 = 1"));
    assert_eq!(mails(&app, &inst, "Escalated").len(), 1);
    assert_eq!(app.count(&format!("audit_events WHERE action = 'EscalateDecisionItems' AND target_id = '{inst}'")), 1);
}
