//! Reassigning (issue 17): a reviewer hands some of their people to someone else with a
//! note, an admin moves anyone's; the new reviewer is mailed and decides them, the old one
//! no longer can but sees who has them; independence holds; the history is on the item
//! and in the audit log.

use attest::demo::personas;

use crate::helpers::{Page, Spawn, TestApp, spawn_demo_app};

const FALCON: &str = "Project Falcon guests";
const NOTE: &str = "I am away in December: Priya knows the agency";

async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

/// Posts a form, follows its redirect and returns the page it leads to.
async fn post_then_get(who: &TestApp, path: &str, fields: &[(&str, &str)]) -> Page {
    let done = who.post(path, fields).await;
    assert_eq!(done.status, 303, "{path}: {}", done.body);
    who.get(&done.header("location")).await
}

fn reassign_form<'a>(items: &'a [String], to: &'a str, note: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = items.iter().map(|i| ("item", i.as_str())).collect();
    form.extend([("action", "Reassign"), ("apply_to", "selected"), ("to", to), ("note", note)]);
    form
}

/// Items of the instance assigned to someone by name.
fn assigned(app: &TestApp, instance: &str) -> i64 {
    app.count(&format!("review_decision_items WHERE instance_id = '{instance}' AND reviewer_id IS NOT NULL"))
}

#[tokio::test]
async fn a_reviewer_reassigns_two_people_who_are_decided_by_the_new_reviewer() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let url = format!("/reviews/{falcon}");
    let omar = as_persona(&app, "owner").await;
    let page = omar.get(&url).await;
    assert!(page.text(".reassign-panel summary").contains("Reassign"));
    assert_eq!(page.attrs("#reassign-to", "name"), vec!["to"]);
    let items = page.attrs("input[name=item]", "value");
    let two = items[..2].to_vec();
    let names: Vec<String> = two.iter().map(|i| page.text(&format!("tr[data-item='{i}'] .person"))).collect();
    let audit = app.count("audit_events");

    let after = post_then_get(&omar, &url, &reassign_form(&two, personas::MANAGER, NOTE)).await;
    assert_eq!(after.text(".banner-success"), "Reassigned 2 people to Priya Raman. They were told by mail.");
    // Decisions, and so the instance's counters, do not change; the two are Priya's now.
    assert_eq!(app.count(&format!("review_instances WHERE id = '{falcon}' AND not_reviewed = 9")), 1);
    let priya_id = app.user_id(personas::MANAGER);
    assert_eq!(
        app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND reviewer_id = '{priya_id}'")),
        2
    );
    // Omar still sees them, says who has them, and cannot tick them.
    for (item, name) in two.iter().zip(&names) {
        let row = after.text(&format!("tr[data-item='{item}']"));
        assert!(row.contains(name) && row.contains("Reassigned to Priya Raman"), "{row}");
    }
    assert!(after.attrs("input[name=item]", "value").iter().all(|i| !two.contains(i)));
    let handed = after.texts("table.handed-on tbody tr");
    assert_eq!(handed.len(), 2, "{handed:?}");
    assert!(handed.iter().all(|r| r.contains("Priya Raman") && r.contains(NOTE)), "{handed:?}");

    // Priya finds the review in her panel with exactly those two, and decides one.
    let priya = as_persona(&app, "manager").await;
    let rows = priya.get("/").await.texts("table.my-reviews tbody tr");
    let row = rows.iter().find(|r| r.contains(FALCON)).expect("the review is in Priya's panel");
    assert!(row.contains("0 of 2 reviewed"), "{row}");
    let hers = priya.get(&url).await;
    let mut listed = hers.attrs("input[name=item]", "value");
    listed.sort();
    let mut expected = two.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let decided =
        post_then_get(&priya, &url, &[("item", &two[0]), ("action", "Deny"), ("reason", "Left the agency")]).await;
    assert_eq!(decided.text(".banner-success"), "Denied for 1 person.");
    let rows = priya.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains(FALCON) && r.contains("1 of 2 reviewed")), "{rows:?}");
    assert_eq!(app.count(&format!("review_instances WHERE id = '{falcon}' AND not_reviewed = 8 AND denied = 1")), 1);

    // Omar may no longer decide them: refused, naming who has them.
    let refused = post_then_get(&omar, &url, &[("item", &two[1]), ("action", "Approve")]).await;
    assert_eq!(
        refused.text(".banner-error"),
        "Some of the selected people are now reviewed by Priya Raman. Nothing was changed."
    );
    assert_eq!(app.count(&format!("review_decision_items WHERE id = '{}' AND decision = 'NotReviewed'", two[1])), 1);
    // "Everyone in this list" leaves them out.
    let all = post_then_get(&omar, &url, &[("action", "DontKnow"), ("apply_to", "matching")]).await;
    assert!(all.text(".banner-success").contains("Left out 2 people decided by another reviewer"), "{}", all.body);

    // The item's page shows the history, to both.
    for who in [&omar, &priya] {
        let item = who.get(&format!("{url}/items/{}", two[1])).await;
        assert_eq!(item.status, 200);
        let line = item.text("table.reassignments tbody tr");
        assert!(
            line.contains("The reviewers") && line.contains("Priya Raman") && line.contains("Omar Haddad"),
            "{line}"
        );
        assert!(line.contains(NOTE), "{line}");
        let history = item.texts("table.history tbody tr");
        assert!(history.iter().any(|h| h.contains("Reassigned from The reviewers to Priya Raman")), "{history:?}");
    }

    // Priya was told by mail, with the note and the link; each move is audited.
    let mails = app.count(&format!(
        "outbox WHERE kind = 'Reassigned' AND recipient_id = '{priya_id}' AND instance_id = '{falcon}' \
         AND subject LIKE '2 people were reassigned to you%'"
    ));
    assert_eq!(mails, 1);
    assert_eq!(app.count(&format!("outbox WHERE kind = 'Reassigned' AND facts LIKE '%{NOTE}%'")), 1);
    let admin = as_persona(&app, "admin").await;
    let outbox = admin.get("/admin/outbox").await;
    assert!(outbox.body.contains("Reassigned to you"), "the outbox names the kind");
    let events = app.count("audit_events WHERE action = 'ReassignDecisionItem'");
    assert_eq!(events, 2);
    let signed_in = app.count("audit_events WHERE action = 'SignIn'");
    assert_eq!(app.count("audit_events"), audit + 2 + 1 + 7 + 2, "2 moves, Priya's decision, Omar's 7, 2 sign-ins");
    assert_eq!(signed_in, 3);
    let log = admin.get("/admin/audit?action=ReassignDecisionItem").await;
    assert!(log.body.contains("Reassigned a person"), "{}", log.body);
    assert!(log.body.contains(NOTE));
}

#[tokio::test]
async fn reassigning_is_refused_with_what_to_fix_and_changes_nothing() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let url = format!("/reviews/{falcon}");
    let omar = as_persona(&app, "owner").await;
    let page = omar.get(&url).await;
    let items = page.attrs("input[name=item]", "value");
    let two = items[..2].to_vec();
    // The person whose access one of the items is.
    let principal_upn = page.text(&format!("tr[data-item='{}'] .upn", two[0]));
    let principal_name = page.text(&format!("tr[data-item='{}'] .person", two[0]));

    let cases: Vec<(&str, String)> = vec![
        (principal_upn.as_str(), format!("{principal_name} cannot review the selected people: their own access")),
        (
            "nobody@contoso.example",
            "No one in the directory has the user principal name “nobody@contoso.example”".into(),
        ),
        (personas::OWNER, "You already review these people".into()),
        ("", "Enter the user principal name".into()),
    ];
    for (to, message) in &cases {
        let refused = post_then_get(&omar, &url, &reassign_form(&two, to, "")).await;
        assert!(refused.text(".banner-error").starts_with(message.as_str()), "{to}: {}", refused.text(".banner-error"));
    }
    // Nobody ticked.
    let none = post_then_get(&omar, &url, &[("action", "Reassign"), ("to", personas::MANAGER)]).await;
    assert!(none.text(".banner-error").starts_with("Select at least one person"));
    // A disabled account.
    app.exec(&format!("UPDATE users SET enabled = FALSE WHERE upn = '{}'", personas::USER));
    let disabled = post_then_get(&omar, &url, &reassign_form(&two, personas::USER, "")).await;
    assert!(disabled.text(".banner-error").contains("Tom Becker's account is disabled"));
    app.exec(&format!("UPDATE users SET enabled = TRUE WHERE upn = '{}'", personas::USER));
    // A note too long.
    let long = "n".repeat(501);
    let too_long = post_then_get(&omar, &url, &reassign_form(&two, personas::MANAGER, &long)).await;
    assert!(too_long.text(".banner-error").starts_with("Shorten the note to at most 500 characters"));
    // Another review's item, or a forged one.
    assert_eq!(omar.post(&url, &reassign_form(&["x' OR 1=1".to_owned()], personas::MANAGER, "")).await.status, 400);
    // After the end.
    app.exec(&format!("UPDATE review_instances SET end_at = '2026-11-01 00:00:00' WHERE id = '{falcon}'"));
    let ended = post_then_get(&omar, &url, &reassign_form(&two, personas::MANAGER, "")).await;
    assert!(ended.text(".banner-error").starts_with("This review ended on 2026-11-01 00:00 UTC"));
    assert!(ended.texts(".reassign-panel").is_empty(), "no reassigning on an ended review");

    assert_eq!(assigned(&app, &falcon), 0, "nothing changed");
    assert_eq!(app.count("review_reassignments"), 0);
    assert_eq!(app.count("outbox WHERE kind = 'Reassigned'"), 0);
    assert_eq!(app.count("audit_events WHERE action = 'ReassignDecisionItem'"), 0);
    // Somebody who is not a reviewer here gets 404, as for the review.
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.post(&url, &reassign_form(&two, personas::MANAGER, "")).await.status, 404);
}

fn results_url(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    let series: String = review_instances.find(instance).select(definition_id).first(&mut *app.conn()).unwrap();
    format!("/admin/access-reviews/{series}/instances/{instance}")
}

#[tokio::test]
async fn an_admin_reassigns_another_reviewers_people_from_the_results_page() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let url = format!("/reviews/{falcon}");
    let omar = as_persona(&app, "owner").await;
    let items = omar.get(&url).await.attrs("input[name=item]", "value");
    let two = items[..2].to_vec();
    post_then_get(&omar, &url, &reassign_form(&two, personas::MANAGER, NOTE)).await;

    let dana = as_persona(&app, "admin").await;
    let results = results_url(&app, &falcon);
    let page = dana.get(&results).await;
    assert_eq!(page.attrs("form#decide", "action"), vec![format!("{results}/reassign")]);
    assert!(page.attrs("button[value=Approve]", "value").is_empty(), "admins do not decide here");
    let mut ticked = page.attrs("input[name=item]", "value");
    ticked.sort();
    let mut all = items.clone();
    all.sort();
    assert_eq!(ticked, all, "any row can be ticked");

    let moved =
        post_then_get(&dana, &format!("{results}/reassign"), &reassign_form(&two[..1], personas::USER, "Priya is off"))
            .await;
    assert_eq!(moved.text(".banner-success"), "Reassigned 1 person to Tom Becker. They were told by mail.");
    let tom = as_persona(&app, "user").await;
    let rows = tom.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains(FALCON) && r.contains("0 of 1 reviewed")), "{rows:?}");
    assert_eq!(tom.get(&url).await.attrs("input[name=item]", "value"), vec![two[0].clone()]);
    // Priya keeps the other, and sees who has the one taken from her.
    let priya = as_persona(&app, "manager").await;
    let hers = priya.get(&url).await;
    assert_eq!(hers.attrs("input[name=item]", "value"), vec![two[1].clone()]);
    assert!(hers.text("table.handed-on tbody tr").contains("Tom Becker"));
    // The item's history has both moves; the audit log both.
    let item = tom.get(&format!("{url}/items/{}", two[0])).await;
    let lines = item.texts("table.reassignments tbody tr");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("Priya Raman") && lines[1].contains("Tom Becker") && lines[1].contains("Dana Whitfield"));
    assert_eq!(app.count("audit_events WHERE action = 'ReassignDecisionItem'"), 3);
    assert_eq!(app.count("outbox WHERE kind = 'Reassigned'"), 2);
    // Even an admin cannot give someone their own access.
    let upn = page.text(&format!("tr[data-item='{}'] .upn", two[1]));
    let refused = post_then_get(&dana, &format!("{results}/reassign"), &reassign_form(&two[1..], &upn, "")).await;
    assert!(refused.text(".banner-error").contains("their own access"));
    // Owners who may not manage reviews cannot post there.
    assert_eq!(omar.post(&format!("{results}/reassign"), &reassign_form(&two, personas::USER, "")).await.status, 403);
}

#[tokio::test]
async fn two_people_reassigning_at_once_leave_consistent_counts() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let url = format!("/reviews/{falcon}");
    let omar = as_persona(&app, "owner").await;
    let dana = as_persona(&app, "admin").await;
    let results = results_url(&app, &falcon);
    let items = omar.get(&url).await.attrs("input[name=item]", "value");
    let admin_path = format!("{results}/reassign");
    for round in 0..3 {
        // Omar hands everyone he still decides to Priya while Dana hands three to Tom.
        let everyone = [("action", "Reassign"), ("apply_to", "matching"), ("to", personas::MANAGER), ("note", "")];
        let some = reassign_form(&items[round..round + 3], personas::USER, "");
        let (a, b) = tokio::join!(omar.post(&url, &everyone), dana.post(&admin_path, &some));
        assert_eq!((a.status, b.status), (303, 303));
        let priya = app.user_id(personas::MANAGER);
        let tom = app.user_id(personas::USER);
        // Each item is where its last reassignment put it; every move is audited.
        let moves = app.count("review_reassignments");
        assert_eq!(app.count("audit_events WHERE action = 'ReassignDecisionItem'"), moves);
        let stray = app.count(&format!(
            "review_decision_items i WHERE instance_id = '{falcon}' AND reviewer_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM review_reassignments r WHERE r.item_id = i.id AND r.to_user = i.reviewer_id \
             AND r.id = (SELECT MAX(l.id) FROM review_reassignments l WHERE l.item_id = i.id))"
        ));
        assert_eq!(stray, 0, "round {round}: every item is where its last reassignment put it");
        assert_eq!(app.count("(SELECT DISTINCT item_id FROM review_reassignments) moved"), assigned(&app, &falcon));
        let (to_priya, to_tom) = (
            app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND reviewer_id = '{priya}'")),
            app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND reviewer_id = '{tom}'")),
        );
        assert_eq!(to_priya + to_tom, assigned(&app, &falcon));
        assert!(to_tom >= 1 || to_priya == 9, "round {round}: {to_priya} / {to_tom}");
        // Counters did not move; the reviewers' panels add up to the instance.
        assert_eq!(app.count(&format!("review_instances WHERE id = '{falcon}' AND not_reviewed = 9")), 1);
        for (persona, n) in [("manager", to_priya), ("user", to_tom)] {
            let who = as_persona(&app, persona).await;
            let rows = who.get("/").await.texts("table.my-reviews tbody tr");
            let row = rows.into_iter().find(|r| r.contains(FALCON)).unwrap_or_default();
            assert!(n == 0 || row.contains(&format!("0 of {n} reviewed")), "round {round}, {persona}: {row}");
        }
        // Mails: one per request that moved someone.
        assert!(app.count("outbox WHERE kind = 'Reassigned'") <= 2 * (i64::try_from(round).unwrap() + 1));
    }
}
