//! Several reviewers on one person (issue 17): per stage, the last decision wins (the
//! default, no vote kept), any deny denies, or all must approve. Under the last two each
//! reviewer's decision is kept as a vote and the item's decision is the outcome: it moves the
//! counters, is shown next to each reviewer's vote, goes into the results and is applied. The
//! rule is chosen on the create and edit forms, shown on the series page, and fixed in an
//! instance when it (or its stage) starts.

use std::collections::{BTreeMap, BTreeSet};

use attest::demo::personas;
use chrono::{NaiveDate, TimeDelta};
use serde_json::Value;

use crate::helpers::{Page, TestApp, spawn_admin_app};
use crate::scheduler::tick;
use crate::stages::{
    BOARD, PORTAL, as_persona, by_item, create_board_review, create_review, decide, fields, ids, instance_end, item_of,
    post_then_get, refused, set, stage_of, status_of, strings, tickable,
};

/// Omar (owner) and Priya (manager), one UPN a line: neither is a member of [`BOARD`].
const TWO: &str = "omar.haddad@contoso.example\npriya.raman@contoso.example";

/// Creates a review of [`BOARD`] named `name` by Omar and Priya as selected reviewers, with
/// the `extra` fields (the rule); returns the series' path.
async fn board_by_two(app: &TestApp, name: &str, extra: &[(&str, &str)]) -> String {
    let mut form = vec![("reviewers", TWO)];
    form.extend_from_slice(extra);
    create_board_review(app, name, &form).await
}

/// The series' id from its path.
fn series_id(path: &str) -> String {
    path.trim_end_matches('/').rsplit('/').next().unwrap().to_owned()
}

/// The admin's results page of an instance.
fn results_of(app: &TestApp, instance: &str) -> String {
    let series = strings(app, &format!("SELECT definition_id AS t FROM review_instances WHERE id = '{instance}'"));
    format!("/admin/access-reviews/{}/instances/{instance}", series[0])
}

/// The rule fixed in the instance.
fn rule_of(app: &TestApp, instance: &str) -> String {
    strings(app, &format!("SELECT outcome_rule AS t FROM review_instances WHERE id = '{instance}'")).remove(0)
}

/// The rules a series stores: "stage rule", by stage.
fn stored_rules(app: &TestApp, series: &str) -> Vec<String> {
    strings(
        app,
        &format!(
            "SELECT CAST(stage AS TEXT) || ' ' || rule AS t FROM review_definition_outcomes \
             WHERE definition_id = '{series}' ORDER BY stage"
        ),
    )
}

fn decision_of(app: &TestApp, item: &str) -> String {
    by_item(app, &item_instance(app, item), "decision", &format!("id = '{item}'")).remove(item).unwrap()
}

fn item_instance(app: &TestApp, item: &str) -> String {
    strings(app, &format!("SELECT instance_id AS t FROM review_decision_items WHERE id = '{item}'")).remove(0)
}

/// "reviewed_by|justification" of an item ("-" for no reviewer).
fn decided_by(app: &TestApp, item: &str) -> String {
    by_item(
        app,
        &item_instance(app, item),
        "COALESCE(reviewed_by, '-') || '|' || justification",
        &format!("id = '{item}'"),
    )
    .remove(item)
    .unwrap()
}

/// The instance's votes, each as "item stage reviewer-UPN decision".
fn votes(app: &TestApp, instance: &str) -> BTreeSet<String> {
    strings(
        app,
        &format!(
            "SELECT v.item_id || ' ' || CAST(v.stage AS TEXT) || ' ' || u.upn || ' ' || v.decision AS t \
             FROM review_item_votes v JOIN users u ON u.id = v.seat WHERE v.instance_id = '{instance}'"
        ),
    )
    .into_iter()
    .collect()
}

fn vote(item: &str, stage: i32, upn: &str, decision: &str) -> String {
    format!("{item} {stage} {upn} {decision}")
}

/// The instance's counters: (not reviewed, approved, denied, don't know, total items).
fn counters(app: &TestApp, instance: &str) -> (i32, i32, i32, i32, i32) {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    review_instances
        .find(instance)
        .select((not_reviewed, approved, denied, dont_know, total_items))
        .first(&mut *app.conn())
        .unwrap()
}

/// Checks that the counters are the items' decisions and add up to the total; returns them.
fn consistent_counters(app: &TestApp, instance: &str) -> (i32, i32, i32, i32, i32) {
    let c = counters(app, instance);
    let decisions = by_item(app, instance, "decision", "1 = 1");
    let n = |d: &str| i32::try_from(decisions.values().filter(|v| *v == d).count()).unwrap();
    assert_eq!(
        (c.0, c.1, c.2, c.3, c.4),
        (n("NotReviewed"), n("Approve"), n("Deny"), n("DontKnow"), i32::try_from(decisions.len()).unwrap()),
        "counters against the items' decisions"
    );
    assert_eq!(c.0 + c.1 + c.2 + c.3, c.4, "the counters add up to the total");
    c
}

/// Each reviewer's vote as the row of `item` on `page` lists it.
fn vote_lines(page: &Page, item: &str) -> BTreeSet<String> {
    page.texts(&format!("tr[data-item='{item}'] ul.votes li")).into_iter().collect()
}

fn lines(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The decision shown in the row of `item` on `page`.
fn shown_decision(page: &Page, item: &str) -> String {
    page.text(&format!("tr[data-item='{item}'] .decision"))
}

fn notice(page: &Page) -> String {
    page.texts(".banner-success").join(" ")
}

/// The "Several reviewers on one person" fact of a series' page.
async fn rule_fact(app: &TestApp, path: &str) -> String {
    let page = app.get(path).await;
    assert_eq!(page.status, 200);
    let facts = page.texts("dl.facts div");
    facts
        .iter()
        .find(|f| f.starts_with("Several reviewers on one person"))
        .cloned()
        .unwrap_or_else(|| panic!("no outcome fact: {facts:?}"))
}

/// How many RecordDecision events about `item` carry each of `needles` in their details.
fn decision_events(app: &TestApp, item: &str, needles: &[&str]) -> i64 {
    let mut filter = format!("audit_events WHERE action = 'RecordDecision' AND target_id = '{item}'");
    for n in needles {
        filter.push_str(&format!(" AND details LIKE '%{n}%'"));
    }
    app.count(&filter)
}

/// Whether the person of `item` is still a member of `group`.
fn member(app: &TestApp, item: &str, group: &str) -> i64 {
    app.count(&format!(
        "group_member_users m JOIN review_decision_items i ON i.principal_id = m.user_id \
         WHERE i.id = '{item}' AND m.group_id = '{group}'"
    ))
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

fn one(item: &String) -> &[String] {
    std::slice::from_ref(item)
}

const ANY_DENY_SAYS: &str = "By this review's rule (“Any deny denies”), 1 person has another outcome for now";
const ALL_APPROVE_SAYS: &str = "By this review's rule (“All must approve”), 1 person has another outcome for now";

#[tokio::test]
async fn any_deny_denies_keeps_one_reviewer_s_deny_against_the_other_s_approval_and_apply_removes_the_access() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, any deny denies";
    let path = board_by_two(&app, name, &[("outcome_rule", "AnyDenyDenies"), ("mail_notifications", "on")]).await;
    assert_eq!(stored_rules(&app, &series_id(&path)), vec!["1 AnyDenyDenies"]);
    tick(&app);
    let inst = app.instance_of(name);
    assert_eq!(rule_of(&app, &inst), "AnyDenyDenies");
    let omar = as_persona(&app, "owner").await;
    let priya = as_persona(&app, "manager").await;
    let order = tickable(&omar, &inst).await;
    assert!(order.len() >= 4, "{order:?}");
    assert_eq!(set(&tickable(&priya, &inst).await), set(&order), "both reviewers review everyone");
    let (x, w, v) = (&order[0], &order[1], &order[2]);
    let (omar_id, priya_id) = (app.user_id(personas::OWNER), app.user_id(personas::MANAGER));

    // Omar approves X: the only vote, the outcome.
    let page = decide(&omar, &inst, one(x), "Approve", "Advises on the roadmap").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Approve");
    // Priya denies X: denied.
    app.clock.advance(TimeDelta::minutes(5));
    let page = decide(&priya, &inst, one(x), "Deny", "Left the board in October").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Deny");
    // Omar approves X again: his vote is replaced, the outcome stays Denied, and he is told.
    app.clock.advance(TimeDelta::minutes(5));
    let page = decide(&omar, &inst, one(x), "Approve", "Still advises us").await;
    assert!(notice(&page).contains(ANY_DENY_SAYS), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Deny");
    assert_eq!(
        votes(&app, &inst),
        set(&[vote(x, 1, personas::OWNER, "Approve"), vote(x, 1, personas::MANAGER, "Deny")]),
        "one vote per reviewer, the second replacing the first"
    );
    assert_eq!(
        app.count(&format!(
            "review_item_votes WHERE item_id = '{x}' AND seat = '{omar_id}' AND justification = 'Still advises us'"
        )),
        1
    );
    assert_eq!(app.count(&format!("review_item_votes WHERE item_id = '{x}' AND seat = '{priya_id}'")), 1);

    // W: both approve, approved. V: Omar alone denies, denied.
    decide(&omar, &inst, one(w), "Approve", "").await;
    decide(&priya, &inst, one(w), "Approve", "").await;
    decide(&omar, &inst, one(v), "Deny", "Not a customer any more").await;
    assert_eq!((decision_of(&app, w), decision_of(&app, v)), ("Approve".to_owned(), "Deny".to_owned()));
    assert_eq!(votes(&app, &inst).len(), 5);
    let total = i32::try_from(order.len()).unwrap();
    assert_eq!(consistent_counters(&app, &inst), (total - 3, 1, 2, 0, total));

    // Each decision is audited with the person's vote and the rule.
    assert_eq!(decision_events(&app, x, &[]), 3);
    assert_eq!(decision_events(&app, x, &["\"vote\":\"Approve\"", "\"outcomeRule\":\"AnyDenyDenies\""]), 2);
    assert_eq!(decision_events(&app, x, &["\"vote\":\"Deny\"", "\"outcomeRule\":\"AnyDenyDenies\""]), 1);

    // Both reviewers' pages and the results page list each vote next to the outcome.
    let both = lines(&["Omar Haddad: Approved", "Priya Raman: Denied"]);
    let results = results_of(&app, &inst);
    for (who, url) in
        [(&omar, format!("/reviews/{inst}")), (&priya, format!("/reviews/{inst}")), (&app, results.clone())]
    {
        let page = who.get(&url).await;
        assert_eq!(page.status, 200, "{url}");
        assert_eq!(vote_lines(&page, x), both, "{url}");
        assert_eq!(shown_decision(&page, x), "Denied", "{url}");
        assert_eq!(vote_lines(&page, w), lines(&["Omar Haddad: Approved", "Priya Raman: Approved"]), "{url}");
        assert_eq!(vote_lines(&page, v), lines(&["Omar Haddad: Denied"]), "{url}");
        assert_eq!(vote_lines(&page, &order[3]), BTreeSet::new(), "{url}: nobody voted");
    }

    // The review ends: the results CSV and applying use the outcome.
    app.clock.set(instance_end(&app, &inst) + TimeDelta::minutes(1));
    tick(&app);
    assert_eq!(status_of(&app, &inst), "Completed");
    app.sign_in("admin").await;
    let csv = app.get(&format!("{results}/results.csv")).await;
    assert_eq!(csv.status, 200);
    let rows = records(&csv.body);
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap_or_else(|| panic!("{name}: {:?}", rows[0]));
    let principal = by_item(&app, &inst, "principal_id", "1 = 1");
    let result: BTreeMap<String, String> =
        rows[1..].iter().map(|r| (r[col("PrincipalId")].clone(), r[col("ReviewResult")].clone())).collect();
    assert_eq!(result[&principal[x]], "Deny");
    assert_eq!(result[&principal[w]], "Approve");
    assert_eq!(result[&principal[v]], "Deny");

    let group = app.group_id(BOARD);
    assert!(order.iter().all(|i| member(&app, i, &group) == 1));
    let page = post_then_get(&app, &format!("{results}/apply"), &[]).await;
    assert!(page.text(".banner-success").contains("2 removed"), "{}", page.text(".banner-success"));
    assert_eq!((member(&app, x, &group), member(&app, v, &group), member(&app, w, &group)), (0, 0, 1));
}

#[tokio::test]
async fn all_must_approve_waits_for_every_reviewer_and_a_deny_or_don_t_know_counts_at_once() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, all must approve";
    board_by_two(&app, name, &[("outcome_rule", "AllMustApprove")]).await;
    tick(&app);
    let inst = app.instance_of(name);
    assert_eq!(rule_of(&app, &inst), "AllMustApprove");
    let omar = as_persona(&app, "owner").await;
    let priya = as_persona(&app, "manager").await;
    let order = tickable(&omar, &inst).await;
    assert!(order.len() >= 4, "{order:?}");
    let (x, y, z) = (&order[0], &order[1], &order[2]);
    let total = i32::try_from(order.len()).unwrap();
    let url = format!("/reviews/{inst}");
    let not_reviewed_tab = |page: &Page| page.text(".tabs a[data-tab=notreviewed] .count");
    let before = not_reviewed_tab(&omar.get(&url).await);
    assert_eq!(before, total.to_string());

    // Omar approves X: X waits for Priya, not reviewed, and nobody's decision yet.
    let page = decide(&omar, &inst, one(x), "Approve", "On the board until 2027").await;
    assert!(notice(&page).contains(ALL_APPROVE_SAYS), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "NotReviewed");
    assert_eq!(decided_by(&app, x), "-|");
    assert_eq!(not_reviewed_tab(&page), before, "X stays in the Not reviewed tab");
    let tab = omar.get(&page.attrs(".tabs a[data-tab=notreviewed]", "href")[0]).await;
    assert!(tab.attrs("tr[data-item]", "data-item").contains(x), "X is listed as not reviewed");
    assert_eq!(shown_decision(&tab, x), "Not reviewed");
    assert_eq!(vote_lines(&tab, x), lines(&["Omar Haddad: Approved"]));
    assert_eq!(votes(&app, &inst), set(&[vote(x, 1, personas::OWNER, "Approve")]));
    assert_eq!(consistent_counters(&app, &inst), (total, 0, 0, 0, total));
    assert_eq!(
        decision_events(
            &app,
            x,
            &["\"vote\":\"Approve\"", "\"outcomeRule\":\"AllMustApprove\"", "\"new\":\"NotReviewed\""]
        ),
        1
    );

    // Priya approves X too: approved, by her.
    app.clock.advance(TimeDelta::minutes(3));
    let page = decide(&priya, &inst, one(x), "Approve", "Confirmed").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Approve");
    assert_eq!(decided_by(&app, x), format!("{}|Confirmed", app.user_id(personas::MANAGER)));

    // Y: Omar approves, Priya does not know: don't know.
    decide(&omar, &inst, one(y), "Approve", "").await;
    app.clock.advance(TimeDelta::minutes(3));
    decide(&priya, &inst, one(y), "DontKnow", "").await;
    assert_eq!(decision_of(&app, y), "DontKnow");
    // Z: Omar denies, denied at once.
    let page = decide(&omar, &inst, one(z), "Deny", "Never attended").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, z), "Deny");
    assert_eq!(decided_by(&app, z), format!("{}|Never attended", app.user_id(personas::OWNER)));

    assert_eq!(consistent_counters(&app, &inst), (total - 3, 1, 1, 1, total));
    let page = priya.get(&url).await;
    assert_eq!(not_reviewed_tab(&page), (total - 3).to_string());
    assert_eq!(vote_lines(&page, y), lines(&["Omar Haddad: Approved", "Priya Raman: Don't know"]));
    assert_eq!(shown_decision(&page, y), "Don't know");
    let results = app.get(&results_of(&app, &inst)).await;
    assert_eq!(vote_lines(&results, x), lines(&["Omar Haddad: Approved", "Priya Raman: Approved"]));
    assert_eq!(vote_lines(&results, z), lines(&["Omar Haddad: Denied"]));
    assert_eq!(shown_decision(&results, z), "Denied");
}

#[tokio::test]
async fn all_must_approve_waits_for_every_reviewer_of_the_person_s_pool_but_the_person() {
    let app = spawn_admin_app().await;
    let name = "Partner portal, all must approve";
    let three = format!("{}\n{}\n{}", personas::OWNER, personas::MANAGER, personas::USER);
    create_review(
        &app,
        &[
            ("name", name),
            ("groups", PORTAL),
            ("reviewer_kind", "Selected"),
            ("reviewers", &three),
            ("outcome_rule", "AllMustApprove"),
        ],
    )
    .await;
    tick(&app);
    let inst = app.instance_of(name);
    let (omar, priya, tom) =
        (as_persona(&app, "owner").await, as_persona(&app, "manager").await, as_persona(&app, "user").await);
    // Priya is a member: as one of the reviewers, her own access goes to the fallback reviewer
    // (Dana), whose approval alone decides it; nobody waits for Priya's vote on herself.
    let hers = item_of(&app, &inst, personas::MANAGER);
    assert!(!refused(&priya, &inst, &hers, "Approve").await.is_empty());
    assert!(!refused(&omar, &inst, &hers, "Approve").await.is_empty());
    assert_eq!(by_item(&app, &inst, "reviewer_pool", &format!("id = '{hers}'"))[&hers], "Fallback");
    let page = decide(&app, &inst, one(&hers), "Approve", "Leads the launch").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, &hers), "Approve", "the one fallback reviewer approved");
    // Anyone else waits for all three.
    let other = tickable(&omar, &inst).await.into_iter().find(|i| *i != hers).unwrap();
    decide(&omar, &inst, one(&other), "Approve", "").await;
    decide(&tom, &inst, one(&other), "Approve", "").await;
    assert_eq!(decision_of(&app, &other), "NotReviewed", "Priya has not approved yet");
    decide(&priya, &inst, one(&other), "Approve", "").await;
    assert_eq!(decision_of(&app, &other), "Approve");
    consistent_counters(&app, &inst);
}

#[tokio::test]
async fn by_default_the_last_decision_wins_and_no_vote_is_kept() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, last decision wins";
    let path = board_by_two(&app, name, &[("outcome_rule", "")]).await;
    assert_eq!(stored_rules(&app, &series_id(&path)), Vec::<String>::new(), "the default has no row");
    assert!(
        rule_fact(&app, &path)
            .await
            .ends_with("The last decision wins: each reviewer's decision replaces the one before"),
        "{}",
        rule_fact(&app, &path).await
    );
    tick(&app);
    let inst = app.instance_of(name);
    assert_eq!(rule_of(&app, &inst), "LastDecisionWins");
    let omar = as_persona(&app, "owner").await;
    let priya = as_persona(&app, "manager").await;
    let order = tickable(&omar, &inst).await;
    let x = &order[0];
    decide(&omar, &inst, one(x), "Deny", "Left the board").await;
    app.clock.advance(TimeDelta::minutes(5));
    let page = decide(&priya, &inst, one(x), "Approve", "Rejoined").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Approve", "the last decision wins");
    assert_eq!(decided_by(&app, x), format!("{}|Rejoined", app.user_id(personas::MANAGER)));
    assert_eq!(app.count(&format!("review_item_votes WHERE instance_id = '{inst}'")), 0, "no vote is kept");
    assert!(page.texts("ul.votes li").is_empty(), "{:?}", page.texts("ul.votes li"));
    assert!(app.get(&results_of(&app, &inst)).await.texts("ul.votes li").is_empty());
    assert_eq!(decision_events(&app, x, &[]), 2);
    assert_eq!(decision_events(&app, x, &["outcomeRule"]), 0);
    assert_eq!(decision_events(&app, x, &["\"vote\""]), 0);
    let total = i32::try_from(order.len()).unwrap();
    assert_eq!(consistent_counters(&app, &inst), (total - 1, 1, 0, 0, total));
    // Without the field at all, the same.
    let path = board_by_two(&app, "Advisory board, no rule given", &[]).await;
    assert_eq!(stored_rules(&app, &series_id(&path)), Vec::<String>::new());
}

#[tokio::test]
async fn stage_2_counts_its_reviewers_by_its_own_rule() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, then two who must both approve";
    let stage2 = format!("{}\n{}", personas::MANAGER, personas::USER);
    let path = create_board_review(
        &app,
        name,
        &[
            ("stages", "2"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Selected"),
            ("stage2_reviewers", &stage2),
            ("stage2_duration_days", "7"),
            ("stage2_outcome_rule", "AllMustApprove"),
        ],
    )
    .await;
    assert_eq!(stored_rules(&app, &series_id(&path)), vec!["2 AllMustApprove"]);
    let fact = rule_fact(&app, &path).await;
    assert!(
        fact.contains("Stage 1: The last decision wins: each reviewer's decision replaces the one before")
            && fact.contains("Stage 2: All must approve: a person keeps access only when every reviewer approves"),
        "{fact}"
    );
    tick(&app);
    let inst = app.instance_of(name);
    assert_eq!((stage_of(&app, &inst), rule_of(&app, &inst)), ("1/2".to_owned(), "LastDecisionWins".to_owned()));

    // Stage 1: Omar alone, the last decision wins, no votes.
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    assert!(order.len() >= 5, "{order:?}");
    decide(&omar, &inst, &order[0..3], "Approve", "").await;
    decide(&omar, &inst, &order[0..3], "Deny", "Not seen at the last meeting").await;
    decide(&omar, &inst, &order[3..4], "Approve", "Chairs the board").await;
    assert_eq!(ids(&app, &inst, "decision = 'Deny'"), set(&order[0..3]));
    assert_eq!(app.count(&format!("review_item_votes WHERE instance_id = '{inst}'")), 0);

    // The admin ends stage 1: stage 2's rule is now the instance's.
    let results = results_of(&app, &inst);
    let stopped = app.post(&format!("{results}/stop-stage"), &[]).await;
    assert_eq!(stopped.status, 303, "{}", stopped.body);
    assert_eq!((stage_of(&app, &inst), rule_of(&app, &inst)), ("2/2".to_owned(), "AllMustApprove".to_owned()));
    let moved: BTreeSet<String> = order.iter().filter(|i| **i != order[3]).cloned().collect();
    assert_eq!(ids(&app, &inst, "stage = 2"), moved);

    let priya = as_persona(&app, "manager").await;
    let tom = as_persona(&app, "user").await;
    assert_eq!(set(&tickable(&priya, &inst).await), moved);
    assert_eq!(set(&tickable(&tom, &inst).await), moved);
    let (a, b, c) = (&order[0], &order[1], &order[2]);
    let page = decide(&priya, &inst, one(a), "Approve", "Back on the board").await;
    assert!(notice(&page).contains(ALL_APPROVE_SAYS), "{}", notice(&page));
    assert_eq!(decision_of(&app, a), "NotReviewed");
    app.clock.advance(TimeDelta::minutes(2));
    decide(&tom, &inst, one(a), "Approve", "").await;
    assert_eq!(decision_of(&app, a), "Approve");
    decide(&tom, &inst, one(b), "Deny", "").await;
    assert_eq!(decision_of(&app, b), "Deny");
    decide(&priya, &inst, one(c), "Approve", "").await;
    app.clock.advance(TimeDelta::minutes(2));
    decide(&tom, &inst, one(c), "DontKnow", "").await;
    assert_eq!(decision_of(&app, c), "DontKnow");
    assert_eq!(
        votes(&app, &inst),
        set(&[
            vote(a, 2, personas::MANAGER, "Approve"),
            vote(a, 2, personas::USER, "Approve"),
            vote(b, 2, personas::USER, "Deny"),
            vote(c, 2, personas::MANAGER, "Approve"),
            vote(c, 2, personas::USER, "DontKnow"),
        ])
    );
    consistent_counters(&app, &inst);

    // The votes say which stage they were cast in.
    let both = lines(&["Stage 2 · Priya Raman: Approved", "Stage 2 · Tom Becker: Approved"]);
    for (who, url) in
        [(&priya, format!("/reviews/{inst}")), (&tom, format!("/reviews/{inst}")), (&app, results.clone())]
    {
        let page = who.get(&url).await;
        assert_eq!(vote_lines(&page, a), both, "{url}");
        assert_eq!(vote_lines(&page, b), lines(&["Stage 2 · Tom Becker: Denied"]), "{url}");
        assert_eq!(shown_decision(&page, c), "Don't know", "{url}");
    }

    // Ending the last stage keeps stage 2's outcomes as the final decisions.
    let last = app.post(&format!("{results}/stop-stage"), &[]).await;
    assert_eq!(last.status, 303, "{}", last.body);
    assert_eq!(status_of(&app, &inst), "Completed");
    let kept = strings(
        &app,
        &format!(
            "SELECT item_id || ' ' || decision AS t FROM review_stage_decisions WHERE instance_id = '{inst}' AND stage = 2 \
             AND item_id IN ('{a}', '{b}', '{c}')"
        ),
    );
    assert_eq!(
        kept.into_iter().collect::<BTreeSet<_>>(),
        set(&[format!("{a} Approve"), format!("{b} Deny"), format!("{c} DontKnow")])
    );
    let finals = by_item(&app, &inst, "decision", "1 = 1");
    assert_eq!((finals[a].as_str(), finals[b].as_str(), finals[c].as_str()), ("Approve", "Deny", "DontKnow"));
    assert_eq!(finals[&order[3]], "Approve", "stage 1's final decision");
    consistent_counters(&app, &inst);
}

#[tokio::test]
async fn the_forms_check_save_and_show_the_rule_and_an_edit_applies_from_the_next_occurrence() {
    let app = spawn_admin_app().await;
    let definitions = app.count("review_definitions");
    let new = "/admin/access-reviews/new";
    let base = [("name", "Bad rule"), ("groups", BOARD), ("reviewer_kind", "Selected"), ("reviewers", TWO)];

    // Anything but the three rules is refused, naming the field; nothing is saved.
    let mut bad = base.to_vec();
    bad.push(("outcome_rule", "Majority"));
    let page = app.post(new, &fields(&bad)).await;
    assert_eq!(page.status, 400, "{}", page.text("main"));
    let summary = page.text(".error-summary");
    assert!(summary.contains("Choose how several reviewers' decisions count:"), "{summary}");
    assert!(page.attrs(".error-summary a", "href").contains(&"#outcome_rule".to_owned()));
    assert!(!page.texts("#outcome_rule-error").is_empty());
    let mut bad = base.to_vec();
    bad.extend([
        ("stages", "2"),
        ("stage1_moves", "Deny"),
        ("stage2_reviewer_kind", "Selected"),
        ("stage2_reviewers", personas::USER),
        ("stage2_duration_days", "7"),
        ("stage2_outcome_rule", "FirstDecisionWins"),
    ]);
    let page = app.post(new, &fields(&bad)).await;
    assert_eq!(page.status, 400, "{}", page.text("main"));
    assert!(page.text(".error-summary").contains("Choose how several reviewers' decisions count:"));
    assert!(!page.texts("#stage2_outcome_rule-error").is_empty(), "{:?}", page.texts(".error-summary li"));
    assert_eq!(app.count("review_definitions"), definitions, "nothing is created");
    assert_eq!(app.count("review_definition_outcomes"), 0);

    // A weekly series where any deny denies.
    let name = "Weekly board check";
    let path =
        board_by_two(&app, name, &[("outcome_rule", "AnyDenyDenies"), ("frequency", "Weekly"), ("duration_days", "3")])
            .await;
    let series = series_id(&path);
    assert_eq!(app.count("review_definitions"), definitions + 1);
    assert_eq!(stored_rules(&app, &series), vec!["1 AnyDenyDenies"]);
    let fact = rule_fact(&app, &path).await;
    assert!(fact.ends_with("Any deny denies: one reviewer's Deny denies, whatever the others decide"), "{fact}");
    tick(&app);
    let first = app.instance_of(name);
    assert_eq!(rule_of(&app, &first), "AnyDenyDenies");

    // The edit form shows the choice and saves a change, audited.
    let edit = app.get(&format!("{path}/edit")).await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.attrs("input[name=outcome_rule][checked]", "value"), vec!["AnyDenyDenies"]);
    let edited = |rule: &'static str| {
        vec![
            ("name", name),
            ("reviewers", TWO),
            ("fallback_reviewers", personas::ADMIN),
            ("end_kind", "Never"),
            ("default_decision", "None"),
            ("lookback_days", "30"),
            ("recommendations", "on"),
            ("outcome_rule", rule),
        ]
    };
    let bad = app.post(&format!("{path}/edit"), &edited("Unanimous")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text(".error-summary").contains("Choose how several reviewers' decisions count:"));
    assert_eq!(stored_rules(&app, &series), vec!["1 AnyDenyDenies"]);
    let audited =
        app.count(&format!("audit_events WHERE action = 'UpdateReviewDefinition' AND target_id = '{series}'"));
    let saved = app.post(&format!("{path}/edit"), &edited("AllMustApprove")).await;
    assert_eq!(saved.status, 303, "{}", saved.texts(".error-summary").join(" | "));
    assert_eq!(stored_rules(&app, &series), vec!["1 AllMustApprove"]);
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'UpdateReviewDefinition' AND target_id = '{series}' \
             AND details LIKE '%outcomeRules%' AND details LIKE '%AllMustApprove%'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!("audit_events WHERE action = 'UpdateReviewDefinition' AND target_id = '{series}'")),
        audited + 1
    );
    let fact = rule_fact(&app, &path).await;
    assert!(fact.contains("All must approve: a person keeps access only when every reviewer approves"), "{fact}");
    let edit = app.get(&format!("{path}/edit")).await;
    assert_eq!(edit.attrs("input[name=outcome_rule][checked]", "value"), vec!["AllMustApprove"]);

    // The running instance keeps its rule: one approval is the outcome.
    assert_eq!(rule_of(&app, &first), "AnyDenyDenies");
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &first).await;
    decide(&omar, &first, one(&order[0]), "Approve", "").await;
    assert_eq!(decision_of(&app, &order[0]), "Approve");

    // The Graph API's PATCH and PUT keep the rule.
    let admin = attest::store::users::by_upn(&mut app.conn(), personas::ADMIN).unwrap().unwrap();
    let (_, pat) = attest::service::api_access::create_personal(
        &mut app.conn(),
        &admin,
        "ops",
        attest::domain::api::Permission::ReadWrite,
        None,
        app.clock_now(),
    )
    .unwrap();
    let api = format!("{}/v1.0/identityGovernance/accessReviews/definitions/{series}", app.address);
    let res =
        app.client.patch(&api).bearer_auth(&pat).json(&serde_json::json!({"displayName": name})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let whole: Value = res.json().await.unwrap();
    assert_eq!(stored_rules(&app, &series), vec!["1 AllMustApprove"], "kept by PATCH");
    let res = app.client.put(&api).bearer_auth(&pat).json(&whole).send().await.unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    assert_eq!(stored_rules(&app, &series), vec!["1 AllMustApprove"], "kept by PUT");

    // The next occurrence counts by the new rule.
    app.clock.set(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap().and_hms_opt(12, 0, 0).unwrap());
    tick(&app);
    let all = strings(
        &app,
        &format!("SELECT id AS t FROM review_instances WHERE definition_id = '{series}' ORDER BY occurrence"),
    );
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0], first);
    assert_eq!(rule_of(&app, &first), "AnyDenyDenies");
    assert_eq!(rule_of(&app, &all[1]), "AllMustApprove");
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &all[1]).await;
    decide(&omar, &all[1], one(&order[0]), "Approve", "").await;
    assert_eq!(decision_of(&app, &order[0]), "NotReviewed", "waits for Priya");

    // Back to the default: no row.
    app.sign_in("admin").await;
    let saved = app.post(&format!("{path}/edit"), &edited("LastDecisionWins")).await;
    assert_eq!(saved.status, 303, "{}", saved.texts(".error-summary").join(" | "));
    assert_eq!(stored_rules(&app, &series), Vec::<String>::new());
    let edit = app.get(&format!("{path}/edit")).await;
    assert_eq!(edit.attrs("input[name=outcome_rule][checked]", "value"), vec!["LastDecisionWins"]);
}

#[tokio::test]
async fn two_reviewers_approving_the_same_person_at_the_same_moment_both_count() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, approved at once";
    board_by_two(&app, name, &[("outcome_rule", "AllMustApprove")]).await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let priya = as_persona(&app, "manager").await;
    let order = tickable(&omar, &inst).await;
    let items = &order[0..order.len().min(5)];
    let path = format!("/reviews/{inst}");
    let (omar_token, priya_token) = (omar.csrf_token().await, priya.csrf_token().await);
    for item in items {
        let form =
            |token: &str| vec![("csrf_token", token.to_owned()), ("item", item.clone()), ("action", "Approve".into())];
        let (a, b) = (form(&omar_token), form(&priya_token));
        let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let b: Vec<(&str, &str)> = b.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (done_a, done_b) = tokio::join!(omar.post_form(&path, &a), priya.post_form(&path, &b));
        for (who, done) in [(&omar, done_a), (&priya, done_b)] {
            assert_eq!(done.status, 303, "{}", done.body);
            let page = who.get(&done.header("location")).await;
            assert!(page.texts(".banner-error").is_empty(), "{:?}", page.texts(".banner-error"));
        }
        assert_eq!(decision_of(&app, item), "Approve", "{item}: both approvals count");
        assert_eq!(app.count(&format!("review_item_votes WHERE item_id = '{item}'")), 2);
    }
    let total = i32::try_from(order.len()).unwrap();
    let n = i32::try_from(items.len()).unwrap();
    assert_eq!(consistent_counters(&app, &inst), (total - n, n, 0, 0, total));
}

/// Under "any deny denies" the outcome of an item one reviewer denied is that reviewer's
/// decision: the evidence (who decided, why) must not name the other reviewer, whose later
/// approval did not change it.
#[tokio::test]
async fn a_deny_that_stands_is_credited_to_the_reviewer_who_denied() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, who denied";
    board_by_two(&app, name, &[("outcome_rule", "AnyDenyDenies")]).await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let priya = as_persona(&app, "manager").await;
    let order = tickable(&omar, &inst).await;
    let x = &order[0];
    decide(&priya, &inst, one(x), "Deny", "Left the board in October").await;
    app.clock.advance(TimeDelta::minutes(5));
    decide(&omar, &inst, one(x), "Approve", "Still advises us").await;
    assert_eq!(decision_of(&app, x), "Deny");
    assert_eq!(
        decided_by(&app, x),
        format!("{}|Left the board in October", app.user_id(personas::MANAGER)),
        "the item reads \"Denied by\" the reviewer who approved, with his reason for approving"
    );
}

/// Under "all must approve" a reviewer who has voted on everyone has nothing left to do:
/// reminders go only to the reviewer who still has to decide.
#[tokio::test]
async fn all_must_approve_reminds_only_the_reviewer_who_has_not_decided() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, reminded";
    board_by_two(&app, name, &[("outcome_rule", "AllMustApprove"), ("mail_notifications", "on")]).await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let order = tickable(&omar, &inst).await;
    decide(&omar, &inst, &order, "Approve", "All still on the board").await;
    assert_eq!(ids(&app, &inst, "decision = 'NotReviewed'"), set(&order), "everyone waits for Priya");
    let remind = app.post(&format!("{}/remind", results_of(&app, &inst)), &[]).await;
    assert_eq!(remind.status, 303, "{}", remind.body);
    let reminded = strings(
        &app,
        &format!(
            "SELECT u.upn AS t FROM outbox o JOIN users u ON u.id = o.recipient_id \
             WHERE o.instance_id = '{inst}' AND o.kind = 'Reminder' ORDER BY u.upn"
        ),
    );
    assert_eq!(reminded, vec![personas::MANAGER.to_owned()], "Omar has decided everyone");
}

/// Earlier stages' decisions are shown to a later stage's reviewers only when the series
/// says so ("Reviewers see earlier stages' decisions", off by default): stage 1's votes are
/// such decisions. Admins see them on the results page.
#[tokio::test]
async fn a_later_stage_s_reviewer_does_not_see_stage_1_s_votes_unless_the_series_shows_earlier_decisions() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, votes kept from stage 2";
    let stage1 = format!("{}\n{}", personas::OWNER, personas::USER);
    create_board_review(
        &app,
        name,
        &[
            ("reviewers", &stage1),
            ("outcome_rule", "AnyDenyDenies"),
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
    let tom = as_persona(&app, "user").await;
    let order = tickable(&omar, &inst).await;
    let x = &order[0];
    decide(&omar, &inst, one(x), "Deny", "Not seen this year").await;
    decide(&tom, &inst, one(x), "Approve", "").await;
    assert_eq!(decision_of(&app, x), "Deny");
    let results = results_of(&app, &inst);
    let stopped = app.post(&format!("{results}/stop-stage"), &[]).await;
    assert_eq!(stopped.status, 303, "{}", stopped.body);
    assert_eq!(stage_of(&app, &inst), "2/2");
    // The admin sees stage 1's votes.
    let page = app.get(&results).await;
    assert_eq!(vote_lines(&page, x), lines(&["Stage 1 · Omar Haddad: Denied", "Stage 1 · Tom Becker: Approved"]));
    // Priya reviews X in stage 2 without stage 1's decisions, as the series asks.
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{inst}")).await;
    assert!(page.attrs("tr[data-item]", "data-item").contains(x));
    let row = page.text(&format!("tr[data-item='{x}']"));
    assert!(!row.contains("Stage 1"), "stage 1's decisions are not shown to stage 2: {row}");
    assert_eq!(vote_lines(&page, x), BTreeSet::new(), "{row}");
}

#[tokio::test]
async fn a_reviewer_who_changes_their_deny_to_an_approval_lifts_it() {
    let app = spawn_admin_app().await;
    let name = "Advisory board, a deny withdrawn";
    board_by_two(&app, name, &[("outcome_rule", "AnyDenyDenies")]).await;
    tick(&app);
    let inst = app.instance_of(name);
    let omar = as_persona(&app, "owner").await;
    let priya = as_persona(&app, "manager").await;
    let order = tickable(&omar, &inst).await;
    let x = &order[0];
    decide(&omar, &inst, one(x), "Deny", "Thought he had left").await;
    app.clock.advance(TimeDelta::minutes(1));
    let page = decide(&priya, &inst, one(x), "Approve", "He is still on the board").await;
    assert!(notice(&page).contains(ANY_DENY_SAYS), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Deny");
    app.clock.advance(TimeDelta::minutes(1));
    let page = decide(&omar, &inst, one(x), "Approve", "My mistake").await;
    assert!(!notice(&page).contains("By this review's rule"), "{}", notice(&page));
    assert_eq!(decision_of(&app, x), "Approve", "no deny is left");
    assert_eq!(
        votes(&app, &inst),
        set(&[vote(x, 1, personas::OWNER, "Approve"), vote(x, 1, personas::MANAGER, "Approve")])
    );
    let total = i32::try_from(order.len()).unwrap();
    assert_eq!(consistent_counters(&app, &inst), (total - 1, 1, 0, 0, total));
}
