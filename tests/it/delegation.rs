//! Delegation for a period (issue 17): a person names a delegate on `/delegation`; while it
//! runs the delegate finds the person's reviews in their list, decides them on the person's
//! behalf ("X on behalf of Y", stored, audited), and gets a copy of the person's review
//! mails; before its first day, after its last, or once ended: nothing. Independence holds:
//! the delegate decides neither their own access nor the person's.

use attest::demo::personas;
use chrono::{NaiveDateTime, TimeDelta};

use crate::helpers::{Page, Spawn, TestApp, spawn_admin_app, spawn_demo_app, test_now};
use crate::stages::{as_persona, post_then_get, strings};

const FALCON: &str = "Project Falcon guests";
const VPN: &str = "VPN Users: confirm your access";
const ADMINS: &str = "Global Administrators";
/// A Microsoft 365 group owned by Omar (the owner persona).
const AGENCY: &str = "Marketing Agency Collab";

/// The test clock's day, `n` days on, as the form takes it.
fn day(n: i64) -> String {
    (test_now().date() + TimeDelta::days(n)).format("%Y-%m-%d").to_string()
}

/// Midnight (UTC) at the start of the test clock's day `n` days on.
fn midnight(n: i64) -> NaiveDateTime {
    (test_now().date() + TimeDelta::days(n)).and_hms_opt(0, 0, 0).unwrap()
}

/// Text without the bidi isolates (U+2068, U+2069) the pages put around names.
fn plain(text: &str) -> String {
    text.replace(['\u{2068}', '\u{2069}'], "")
}

fn form<'a>(to: &'a str, first: &'a str, last: &'a str, note: &'a str) -> [(&'a str, &'a str); 4] {
    [("delegate", to), ("first", first), ("last", last), ("note", note)]
}

/// Names a delegate through the form, which must succeed; returns the page it leads to.
async fn name_delegate(who: &TestApp, to: &str, first: &str, last: &str, note: &str) -> Page {
    let page = post_then_get(who, "/delegation", &form(to, first, last, note)).await;
    assert_eq!(page.status, 200);
    let banner = page.texts(".banner-success").join(" ");
    assert!(banner.contains(" is your delegate from "), "{to} {first}..{last}: {banner} {:?}", page.texts(".banner"));
    page
}

/// Posts the form, which must be refused with a 400 page; returns the error summary's
/// message.
async fn refused(who: &TestApp, fields: &[(&str, &str)]) -> String {
    let page = who.post("/delegation", fields).await;
    assert_eq!(page.status, 400, "{}: {}", fields[0].1.chars().take(80).collect::<String>(), page.body);
    assert_eq!(page.text("h1"), "Delegate your reviews", "the page again");
    let message = page.text(".error-summary li");
    assert!(message.ends_with("Nothing was saved."), "{message}");
    message
}

/// The delegate's review page for `user` in `instance`.
fn behalf(instance: &str, user: &str) -> String {
    format!("/reviews/{instance}/for/{user}")
}

/// The id of the latest delegation of `user` to `delegate`.
fn delegation_id(app: &TestApp, user: &str, delegate: &str) -> String {
    let (user, delegate) = (app.user_id(user), app.user_id(delegate));
    strings(
        app,
        &format!(
            "SELECT CAST(id AS TEXT) AS t FROM review_delegations \
             WHERE user_id = '{user}' AND delegate_id = '{delegate}' ORDER BY id DESC"
        ),
    )
    .into_iter()
    .next()
    .expect("the delegation is stored")
}

/// The rows of the delegations table on `/delegation`.
async fn delegation_rows(who: &TestApp) -> Vec<String> {
    let page = who.get("/delegation").await;
    assert_eq!(page.status, 200);
    page.texts("table.delegations tbody tr")
}

/// The rows of the person's list of reviews on the home page.
async fn home_rows(who: &TestApp) -> Vec<String> {
    who.get("/").await.texts("table.my-reviews tbody tr").iter().map(|r| plain(r)).collect()
}

fn results_url(app: &TestApp, instance: &str) -> String {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    let series: String = review_instances.find(instance).select(definition_id).first(&mut *app.conn()).unwrap();
    format!("/admin/access-reviews/{series}/instances/{instance}")
}

fn end_of(app: &TestApp, instance: &str) -> NaiveDateTime {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    review_instances.find(instance).select(end_at).first(&mut *app.conn()).unwrap()
}

/// The item of `upn` in `instance`.
fn item_of(app: &TestApp, instance: &str, upn: &str) -> String {
    let user = app.user_id(upn);
    strings(
        app,
        &format!(
            "SELECT id AS t FROM review_decision_items WHERE instance_id = '{instance}' AND principal_id = '{user}'"
        ),
    )
    .pop()
    .unwrap_or_else(|| panic!("{upn} is reviewed in {instance}"))
}

fn decision_of(app: &TestApp, item: &str) -> String {
    strings(app, &format!("SELECT decision AS t FROM review_decision_items WHERE id = '{item}'")).remove(0)
}

/// The instance's counters equal its items' decisions.
fn counters_match(app: &TestApp, instance: &str) -> bool {
    let of = |d: &str| {
        format!("(SELECT COUNT(*) FROM review_decision_items WHERE instance_id = '{instance}' AND decision = '{d}')")
    };
    app.count(&format!(
        "review_instances WHERE id = '{instance}' AND approved = {} AND denied = {} AND dont_know = {} \
         AND not_reviewed = {}",
        of("Approve"),
        of("Deny"),
        of("DontKnow"),
        of("NotReviewed")
    )) == 1
}

#[tokio::test]
async fn the_form_refuses_what_is_wrong_with_a_message_and_saves_nothing() {
    let app = spawn_demo_app().await;
    let omar = as_persona(&app, "owner").await;
    let page = omar.get("/delegation").await;
    assert_eq!(page.status, 200);
    assert!(page.text(".empty").contains("You have not delegated your reviews"));
    assert_eq!(page.attrs("input#first", "value"), vec![day(0)], "the first day is today by default");
    assert!(page.text("form[action='/delegation'] button[type=submit]").contains("Name delegate"));
    assert!(omar.get("/").await.link("Name a delegate").ends_with("/delegation"));

    let long_note = "n".repeat(501);
    let (d0, d1, d3, d366, past, month_ago) = (day(0), day(1), day(3), day(366), day(-1), day(-30));
    let cases: Vec<([(&str, &str); 4], &str)> = vec![
        (form("", &d1, &d3, ""), "Enter the user principal name or mail address of your delegate"),
        (form("   ", &d1, &d3, ""), "Enter the user principal name or mail address of your delegate"),
        (
            form("nobody@contoso.example", &d1, &d3, ""),
            "No one in the directory has the user principal name or mail address “nobody@contoso.example”",
        ),
        (form(personas::OWNER, &d1, &d3, ""), "You cannot be your own delegate"),
        (form("OMAR.HADDAD@contoso.example", &d1, &d3, ""), "You cannot be your own delegate"),
        (form(personas::USER, "", &d3, ""), "Enter the first day as a date"),
        (form(personas::USER, "tomorrow", &d3, ""), "Enter the first day as a date"),
        (form(personas::USER, "2026-02-30", &d3, ""), "Enter the first day as a date"),
        (form(personas::USER, &d1, "", ""), "Enter the last day as a date"),
        (form(personas::USER, &d1, "12/24/2026", ""), "Enter the last day as a date"),
        (form(personas::USER, &d3, &d1, ""), "The last day is before the first day"),
        (form(personas::USER, &month_ago, &past, ""), "The last day has passed already"),
        (form(personas::USER, &d0, &d366, ""), "A delegation runs at most 366 days"),
        (form(personas::USER, &d1, &d3, &long_note), "Shorten the note to at most 500 characters"),
    ];
    for (fields, message) in &cases {
        let got = refused(&omar, fields).await;
        assert!(got.starts_with(message), "{fields:?}: {got}");
    }
    // What was typed stays in the form.
    let page = omar.post("/delegation", &form("nobody@contoso.example", &day(1), &day(3), "Back soon")).await;
    assert_eq!(page.attrs("input#delegate", "value"), vec!["nobody@contoso.example"]);
    assert_eq!(page.attrs("input#last", "value"), vec![day(3)]);
    assert_eq!(page.text("textarea#note"), "Back soon");
    // A disabled account.
    app.exec(&format!("UPDATE users SET enabled = FALSE WHERE upn = '{}'", personas::USER));
    let got = refused(&omar, &form(personas::USER, &day(1), &day(3), "")).await;
    assert!(got.starts_with("Tom Becker's account is disabled"), "{got}");
    app.exec(&format!("UPDATE users SET enabled = TRUE WHERE upn = '{}'", personas::USER));
    assert_eq!(app.count("review_delegations"), 0, "nothing saved");
    assert_eq!(app.count("audit_events WHERE action = 'DelegateReviews'"), 0);

    // The longest period (366 days, both included) and note (500 characters, not bytes) are
    // taken.
    let page = name_delegate(&omar, personas::USER, &day(0), &day(365), &"é".repeat(500)).await;
    assert!(
        page.text(".banner-success").starts_with(&format!(
            "Tom Becker is your delegate from {} to {}",
            day(0),
            day(365)
        )),
        "{}",
        page.text(".banner-success")
    );
    assert_eq!(app.count("review_delegations"), 1);
    // Another delegation of the same person on some of these days: refused, naming the first.
    let got = refused(&omar, &form(personas::MANAGER, &day(100), &day(101), "")).await;
    assert!(got.starts_with("Your delegation to Tom Becker covers part of these days already"), "{got}");
    assert_eq!(app.count("review_delegations"), 1, "nothing saved");
    assert_eq!(app.count("audit_events WHERE action = 'DelegateReviews'"), 1);

    // A delegate named by mail address (any case), which differs from the UPN.
    let priya = as_persona(&app, "manager").await;
    let page = name_delegate(&priya, "Lena.Fischer@Fabrikam.example", &day(2), &day(4), "").await;
    assert!(page.text(".banner-success").starts_with("Lena Fischer is your delegate from"));
    let rows = page.texts("table.delegations tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with("You → Lena Fischer") && rows[0].contains("Planned"), "{rows:?}");
    // Someone else's overlapping days are not Priya's: Omar's delegation does not block hers.
    assert_eq!(app.count("review_delegations"), 2);
}

#[tokio::test]
async fn a_delegate_decides_on_behalf_while_it_runs_and_gets_404_after_the_last_day_or_an_early_end() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let (omar_id, tom_id) = (app.user_id(personas::OWNER), app.user_id(personas::USER));
    let path = behalf(&falcon, &omar_id);
    let omar = as_persona(&app, "owner").await;
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.get(&path).await.status, 404, "no delegation yet");

    let page = name_delegate(&omar, personas::USER, &day(0), &day(2), "Skiing").await;
    assert_eq!(
        page.text(".banner-success"),
        format!(
            "Tom Becker is your delegate from {} to {}: while it runs, your reviews also appear in their list and \
             your review mails go to them too.",
            day(0),
            day(2)
        )
    );
    let rows = page.texts("table.delegations tbody tr");
    assert!(rows[0].starts_with("You → Tom Becker") && rows[0].contains("In force") && rows[0].contains("Skiing"));
    assert!(rows[0].contains(&format!("{} to {}", day(0), day(2))) && rows[0].contains("End now"), "{rows:?}");
    let received = delegation_rows(&tom).await;
    assert!(received[0].starts_with("Omar Haddad → you") && received[0].contains("Decline"), "{received:?}");
    let event = strings(&app, "SELECT details AS t FROM audit_events WHERE action = 'DelegateReviews'");
    assert_eq!(event.len(), 1);
    let details: serde_json::Value = serde_json::from_str(&event[0]).unwrap();
    assert_eq!(details["delegateId"], tom_id.as_str());

    // Tom's list has Omar's review, with whose it is and until when; the link is his
    // delegate's page.
    let rows = home_rows(&tom).await;
    let row = rows.iter().find(|r| r.contains(FALCON)).expect("Omar's review is in Tom's list");
    assert!(row.contains(&format!("On behalf of Omar Haddad, as their delegate until {}", day(2))), "{row}");
    assert!(row.contains("0 of 9 reviewed"), "{row}");
    let home = tom.get("/").await;
    assert_eq!(home.link(FALCON), path);
    assert!(!rows.iter().any(|r| r.contains("On behalf of") && r.contains(VPN)), "self-reviews are not delegated");
    // His own page of the review is not his (own access only).
    assert_eq!(tom.get(&format!("/reviews/{falcon}")).await.status, 404);

    // Omar's view, exactly.
    let mine = omar.get(&format!("/reviews/{falcon}")).await;
    let his = tom.get(&path).await;
    assert_eq!(his.status, 200);
    assert!(
        plain(&his.texts(".why").join(" ")).contains("You review on behalf of Omar Haddad, as their delegate"),
        "{:?}",
        his.texts(".why")
    );
    assert_eq!(his.attrs("input[name=item]", "value"), mine.attrs("input[name=item]", "value"));
    assert_eq!(his.attrs("form#decide", "action"), vec![path.clone()]);
    let items = his.attrs("input[name=item]", "value");
    assert_eq!(items.len(), 9);
    assert_eq!(
        his.attrs(&format!("tr[data-item='{}'] a.person", items[0]), "href"),
        vec![format!("{path}/items/{}", items[0])]
    );

    // He decides one: stored as his, on Omar's behalf; shown so to both; audited.
    let decided =
        post_then_get(&tom, &path, &[("item", &items[0]), ("action", "Deny"), ("reason", "Left the agency")]).await;
    assert_eq!(decided.text(".banner-success"), "Denied for 1 person.");
    let row = decided.text(&format!("tr[data-item='{}']", items[0]));
    assert!(row.contains("by Tom Becker on behalf of Omar Haddad"), "{row}");
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE id = '{}' AND decision = 'Deny' AND reviewed_by = '{tom_id}' \
             AND reviewed_for = '{omar_id}'",
            items[0]
        )),
        1
    );
    assert_eq!(app.count(&format!("review_instances WHERE id = '{falcon}' AND denied = 1 AND not_reviewed = 8")), 1);
    let row = omar.get(&format!("/reviews/{falcon}")).await.text(&format!("tr[data-item='{}']", items[0]));
    assert!(row.contains("by Tom Becker on behalf of Omar Haddad"), "{row}");
    let events = strings(
        &app,
        &format!(
            "SELECT details AS t FROM audit_events WHERE action = 'RecordDecision' AND target_id = '{}'",
            items[0]
        ),
    );
    assert_eq!(events.len(), 1);
    let details: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(details["onBehalfOf"]["id"], omar_id.as_str());
    assert_eq!(details["onBehalfOf"]["name"], "Omar Haddad");
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'RecordDecision' AND target_id = '{}' AND actor_id = '{tom_id}'",
            items[0]
        )),
        1
    );

    // The person's page, on his behalf: decided from there, back there.
    let item_path = format!("{path}/items/{}", items[1]);
    let item = tom.get(&item_path).await;
    assert_eq!(item.status, 200);
    assert!(plain(&item.text(".why")).contains("You review on behalf of Omar Haddad"));
    assert_eq!(item.attrs("form.decide-one", "action"), vec![path.clone()]);
    let done = tom
        .post(&path, &[("item", &items[1]), ("from", "item"), ("action", "Approve"), ("reason", "Still on it")])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location"), item_path);
    let item = tom.get(&item_path).await;
    let history = item.texts("table.history tbody tr").iter().map(|h| plain(h)).collect::<Vec<_>>();
    assert!(history.iter().any(|h| h.contains("Tom Becker on behalf of Omar Haddad")), "{history:?}");
    assert!(plain(&item.texts(".facts").join(" ")).contains("by Tom Becker on behalf of Omar Haddad"));
    // Omar changes it back himself: his again, on nobody's behalf.
    post_then_get(&omar, &format!("/reviews/{falcon}"), &[("item", &items[1]), ("action", "DontKnow")]).await;
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE id = '{}' AND reviewed_by = '{omar_id}' AND reviewed_for IS NULL",
            items[1]
        )),
        1
    );

    // Another person's id in the path, or a broken one: 404.
    for other in [app.user_id(personas::MANAGER), app.user_id(personas::ADMIN), tom_id.clone(), "x'--".into()] {
        let page = tom.get(&behalf(&falcon, &other)).await;
        assert_eq!(page.status, 404, "{other}");
    }
    // Someone who is not the delegate: 404.
    let priya = as_persona(&app, "manager").await;
    assert_eq!(priya.get(&path).await.status, 404);
    assert_eq!(priya.post(&path, &[("item", &items[2]), ("action", "Deny")]).await.status, 404);

    // The last day passes: nothing any more. (Sessions end after 8 idle hours of the test
    // clock: both sign in again.)
    app.clock.set(midnight(3));
    let (omar, tom) = (as_persona(&app, "owner").await, as_persona(&app, "user").await);
    let gone = tom.get(&path).await;
    assert_eq!(gone.status, 404);
    assert!(gone.text(".lead").contains("no access review here for you"), "{}", gone.text(".lead"));
    assert_eq!(tom.post(&path, &[("item", &items[2]), ("action", "Deny")]).await.status, 404);
    assert_eq!(tom.get(&format!("{path}/items/{}", items[2])).await.status, 404);
    assert!(!home_rows(&tom).await.iter().any(|r| r.contains("On behalf of")), "gone from his list");
    let rows = delegation_rows(&omar).await;
    assert!(rows[0].contains("Ended") && !rows[0].contains("End now"), "{rows:?}");
    assert_eq!(decision_of(&app, &items[2]), "NotReviewed");

    // Another one, ended early by "End now".
    name_delegate(&omar, personas::USER, &day(3), &day(5), "").await;
    assert_eq!(tom.get(&path).await.status, 200);
    let id = delegation_id(&app, personas::OWNER, personas::USER);
    let page = omar.get("/delegation").await;
    assert!(page.attrs("table.delegations form", "action").contains(&format!("/delegation/{id}/end")));
    let ended = post_then_get(&omar, &format!("/delegation/{id}/end"), &[]).await;
    assert!(ended.text(".banner-success").starts_with("The delegation is ended:"), "{}", ended.text(".banner"));
    assert!(ended.texts("table.delegations tbody tr").iter().all(|r| r.contains("Ended")));
    assert_eq!(tom.get(&path).await.status, 404);
    assert_eq!(tom.post(&path, &[("item", &items[2]), ("action", "Deny")]).await.status, 404);
    assert!(!home_rows(&tom).await.iter().any(|r| r.contains("On behalf of")));
    assert_eq!(app.count("audit_events WHERE action = 'EndDelegation'"), 1);
    // Ending it again changes nothing.
    let again = post_then_get(&omar, &format!("/delegation/{id}/end"), &[]).await;
    assert_eq!(again.text(".banner-success"), "This delegation had ended already; nothing was changed.");
    assert_eq!(app.count("audit_events WHERE action = 'EndDelegation'"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'DelegateReviews'"), 2);
    assert_eq!(decision_of(&app, &items[2]), "NotReviewed");
}

#[tokio::test]
async fn a_planned_delegation_starts_on_its_first_day_and_one_declined_before_never_does() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let path = behalf(&falcon, &app.user_id(personas::OWNER));
    let omar = as_persona(&app, "owner").await;
    let tom = as_persona(&app, "user").await;

    let page = name_delegate(&omar, personas::USER, &day(2), &day(4), "").await;
    let rows = page.texts("table.delegations tbody tr");
    assert!(rows[0].contains("Planned") && rows[0].contains("End now"), "{rows:?}");
    let received = delegation_rows(&tom).await;
    assert!(received[0].contains("Planned") && received[0].contains("Decline"), "{received:?}");
    for at in [test_now() + TimeDelta::hours(7), midnight(2) - TimeDelta::seconds(1)] {
        app.clock.set(at);
        // Sessions end after 8 idle hours of the test clock: sign in again.
        let tom = as_persona(&app, "user").await;
        assert_eq!(tom.get(&path).await.status, 404, "{at}");
        assert!(!home_rows(&tom).await.iter().any(|r| r.contains("On behalf of")), "{at}");
    }
    // Its first day, from midnight.
    app.clock.set(midnight(2));
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.get(&path).await.status, 200);
    assert!(home_rows(&tom).await.iter().any(|r| r.contains(FALCON) && r.contains("On behalf of Omar Haddad")));
    assert!(delegation_rows(&tom).await[0].contains("In force"));
    // Until the end of its last day.
    app.clock.set(midnight(5) - TimeDelta::seconds(1));
    let tom = as_persona(&app, "user").await;
    assert_eq!(tom.get(&path).await.status, 200);
    app.clock.set(midnight(5));
    assert_eq!(tom.get(&path).await.status, 404);
    assert!(delegation_rows(&tom).await[0].contains("Ended"));

    // Planned for Priya, who declines it before it starts: it never does.
    let (omar, priya) = (as_persona(&app, "owner").await, as_persona(&app, "manager").await);
    name_delegate(&omar, personas::MANAGER, &day(6), &day(7), "").await;
    let id = delegation_id(&app, personas::OWNER, personas::MANAGER);
    let declined = post_then_get(&priya, &format!("/delegation/{id}/end"), &[]).await;
    assert!(declined.text(".banner-success").starts_with("The delegation is ended:"));
    let rows = declined.texts("table.delegations tbody tr");
    assert!(rows[0].starts_with("Omar Haddad → you") && rows[0].contains("Ended"), "{rows:?}");
    assert!(!rows[0].contains("Decline"), "{rows:?}");
    app.clock.set(midnight(6) + TimeDelta::hours(9));
    assert!(app.clock_now() < end_of(&app, &falcon), "the review still runs");
    let (omar, tom, priya) =
        (as_persona(&app, "owner").await, as_persona(&app, "user").await, as_persona(&app, "manager").await);
    assert_eq!(priya.get(&path).await.status, 404);
    assert!(!home_rows(&priya).await.iter().any(|r| r.contains("On behalf of")));
    let audit = strings(&app, "SELECT actor_name AS t FROM audit_events WHERE action = 'EndDelegation'");
    assert_eq!(audit, vec!["Priya Raman"], "the delegate who declined");
    // Its days are free again.
    name_delegate(&omar, personas::USER, &day(6), &day(7), "").await;
    assert_eq!(tom.get(&path).await.status, 200);
}

#[tokio::test]
async fn a_delegate_decides_neither_their_own_access_nor_the_persons_they_act_for() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let omar = as_persona(&app, "owner").await;
    let lena = as_persona(&app, "guest").await;
    // Lena, a guest of Project Falcon, is Omar's delegate: her own access is in his review.
    name_delegate(&omar, personas::GUEST, &day(0), &day(5), "").await;
    let path = behalf(&falcon, &app.user_id(personas::OWNER));
    let own = item_of(&app, &falcon, personas::GUEST);
    let rows = home_rows(&lena).await;
    assert!(rows.iter().any(|r| r.contains(FALCON) && r.contains("On behalf of Omar Haddad")), "{rows:?}");
    let page = lena.get(&path).await;
    assert_eq!(page.status, 200);
    let row = page.text(&format!("tr[data-item='{own}']"));
    assert!(row.contains("Lena Fischer") && row.contains("Your own access —"), "{row}");
    assert_eq!(page.attrs(&format!("tr[data-item='{own}']"), "class"), vec!["is-blocked"]);
    assert!(!page.attrs("input[name=item]", "value").contains(&own));
    let others = page.attrs("input[name=item]", "value");
    assert_eq!(others.len(), 8);
    let decided = |app: &TestApp| {
        app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND decision <> 'NotReviewed'"))
    };

    // Ticking it anyway is refused, alone or with another; nothing changes.
    let page = post_then_get(&lena, &path, &[("item", &own), ("action", "Approve"), ("reason", "Still on it")]).await;
    assert!(page.text(".banner-error").starts_with("You cannot decide on your own access"), "{}", page.text(".banner"));
    let page = post_then_get(&lena, &path, &[("item", &others[0]), ("item", &own), ("action", "Deny")]).await;
    assert!(page.text(".banner-error").starts_with("You cannot decide on your own access"), "{}", page.text(".banner"));
    assert_eq!(decided(&app), 0, "nothing half-written");
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{own}'")), 0);
    // "Everyone in this list" decides the others and leaves hers out.
    let page = post_then_get(&lena, &path, &[("action", "DontKnow"), ("apply_to", "matching")]).await;
    assert!(page.text(".banner-success").contains("left out"), "{}", page.text(".banner"));
    assert_eq!(decision_of(&app, &own), "NotReviewed");
    assert_eq!(decided(&app), 8);
    assert!(counters_match(&app, &falcon));
    // Omar, for whom it is not his own access, still decides it.
    post_then_get(&omar, &format!("/reviews/{falcon}"), &[("item", &own), ("action", "Deny")]).await;
    assert_eq!(decision_of(&app, &own), "Deny");

    // Dana reviews the Global Administrators and is one; Tom is her delegate.
    let ga = app.instance_of(ADMINS);
    let dana = as_persona(&app, "admin").await;
    name_delegate(&dana, personas::USER, &day(0), &day(5), "").await;
    let tom = as_persona(&app, "user").await;
    let rows = home_rows(&tom).await;
    assert!(rows.iter().any(|r| r.contains(ADMINS) && r.contains("On behalf of Dana Whitfield")), "{rows:?}");
    let path = behalf(&ga, &app.user_id(personas::ADMIN));
    let hers = item_of(&app, &ga, personas::ADMIN);
    let page = tom.get(&path).await;
    assert_eq!(page.status, 200);
    let row = page.text(&format!("tr[data-item='{hers}']"));
    assert!(row.contains("Their own access —"), "{row}");
    assert!(!page.attrs("input[name=item]", "value").contains(&hers));
    assert!(page.texts(".results").is_empty(), "Dana's administration is not delegated");
    assert_eq!(tom.get(&format!("/reviews/{ga}")).await.status, 404, "Tom's own access is unchanged");
    let before = app.count(&format!("review_decision_items WHERE instance_id = '{ga}' AND decision <> 'NotReviewed'"));
    let page = post_then_get(&tom, &path, &[("item", &hers), ("action", "Deny"), ("reason", "Too many admins")]).await;
    assert!(
        page.text(".banner-error").starts_with("The person you review for cannot decide on their own access"),
        "{}",
        page.text(".banner")
    );
    assert_eq!(decision_of(&app, &hers), "NotReviewed");
    assert_eq!(
        app.count(&format!("review_decision_items WHERE instance_id = '{ga}' AND decision <> 'NotReviewed'")),
        before
    );
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{hers}'")), 0);
    // Her item's own page, on her behalf: shown, not decidable.
    let item = tom.get(&format!("{path}/items/{hers}")).await;
    assert_eq!(item.status, 200);
    assert!(item.text(".own-access").starts_with("Their own access —"), "{}", item.text(".own-access"));
    assert!(item.texts("form.decide-one").is_empty());
}

#[tokio::test]
async fn review_mails_go_to_the_delegate_too_while_it_runs_and_never_after() {
    let app = spawn_admin_app().await;
    let falcon = app.instance_of(FALCON);
    let (omar_id, tom_id) = (app.user_id(personas::OWNER), app.user_id(personas::USER));
    let omar = as_persona(&app, "owner").await;
    name_delegate(&omar, personas::USER, &day(0), &day(12), "").await;
    let to_tom = |app: &TestApp, kind: &str, instance: &str| {
        strings(
            app,
            &format!(
                "SELECT CAST(id AS TEXT) AS t FROM outbox WHERE recipient_id = '{tom_id}' AND kind = '{kind}' \
                 AND instance_id = '{instance}' ORDER BY id"
            ),
        )
    };
    let to_omar = |app: &TestApp, kind: &str| {
        app.count(&format!("outbox WHERE recipient_id = '{omar_id}' AND kind = '{kind}' AND instance_id = '{falcon}'"))
    };

    // "Send reminder" on the results page: Omar and, for him, Tom.
    let url = results_url(&app, &falcon);
    let sent = app.post(&format!("{url}/remind"), &[]).await;
    assert_eq!(sent.status, 303);
    assert_eq!(to_omar(&app, "Reminder"), 1);
    let copies = to_tom(&app, "Reminder", &falcon);
    assert_eq!(copies.len(), 1, "a copy to the delegate");
    let facts = strings(&app, &format!("SELECT facts AS t FROM outbox WHERE id = {}", copies[0]));
    let facts: serde_json::Value = serde_json::from_str(&facts[0]).unwrap();
    assert_eq!(facts["on_behalf"]["id"], omar_id.as_str(), "{facts}");
    let subject = strings(&app, &format!("SELECT subject AS t FROM outbox WHERE id = {}", copies[0])).remove(0);
    assert!(plain(&subject).starts_with("For Omar Haddad: Reminder"), "{subject}");
    // Omar's own has no "For": it is his.
    let own = strings(
        &app,
        &format!("SELECT subject AS t FROM outbox WHERE recipient_id = '{omar_id}' AND kind = 'Reminder'"),
    );
    assert!(own[0].starts_with("Reminder"), "{own:?}");
    // The rendered copy: whose it is, and the button opens the delegate's page, which works.
    let mail = app.get(&format!("/admin/outbox/{}", copies[0])).await;
    assert_eq!(mail.status, 200);
    let link = mail.attrs(".facts a", "href").remove(0);
    assert!(link.ends_with(&behalf(&falcon, &omar_id)), "{link}");
    let text = plain(&mail.text("pre.mail-text"));
    assert!(text.contains("You receive this mail as Omar Haddad's delegate"), "{text}");
    let tom = as_persona(&app, "user").await;
    let path = &link[link.find("/reviews/").unwrap()..];
    assert_eq!(tom.get(path).await.status, 200);

    // A review that starts while the delegation runs: the start mail too.
    crate::stages::create_review(&app, &[("name", "Agency members"), ("groups", AGENCY), ("mail_notifications", "on")])
        .await;
    assert_eq!(crate::scheduler::tick(&app).started, 1);
    let agency = app.instance_of("Agency members");
    let started = to_tom(&app, "ReviewStarted", &agency);
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(
        app.count(&format!(
            "outbox WHERE id = {} AND instance_id = '{agency}' AND facts LIKE '%\"on_behalf\"%{omar_id}%'",
            started[0]
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "outbox WHERE kind = 'ReviewStarted' AND recipient_id = '{omar_id}' AND instance_id = '{agency}'"
        )),
        1
    );

    // The half-time round of the scheduler: both once.
    let end = end_of(&app, &falcon);
    let start = test_now();
    app.clock.set(start + (end - start) / 2 + TimeDelta::minutes(1));
    assert!(app.clock_now() < midnight(13), "the delegation still runs");
    crate::scheduler::tick(&app);
    crate::scheduler::tick(&app);
    // Sessions end after 8 idle hours of the test clock: everyone signs in again.
    app.sign_in("admin").await;
    let (omar, tom) = (as_persona(&app, "owner").await, as_persona(&app, "user").await);
    assert_eq!(to_omar(&app, "Reminder"), 2);
    assert_eq!(to_tom(&app, "Reminder", &falcon).len(), 2, "one copy of the round");

    // A reassignment to Priya, whose delegate is Lena: both told.
    let priya = as_persona(&app, "manager").await;
    name_delegate(&priya, personas::GUEST, &day(0), &day(12), "").await;
    let items = omar.get(&format!("/reviews/{falcon}")).await.attrs("input[name=item]", "value");
    let moved = post_then_get(
        &omar,
        &format!("/reviews/{falcon}"),
        &[("item", &items[0]), ("action", "Reassign"), ("apply_to", "selected"), ("to", personas::MANAGER)],
    )
    .await;
    assert!(moved.text(".banner-success").starts_with("Reassigned 1 person to Priya Raman"));
    let lena_id = app.user_id(personas::GUEST);
    let copy = strings(
        &app,
        &format!("SELECT subject AS t FROM outbox WHERE kind = 'Reassigned' AND recipient_id = '{lena_id}'"),
    );
    assert_eq!(copy.len(), 1, "{copy:?}");
    assert!(plain(&copy[0]).starts_with("For Priya Raman: "), "{copy:?}");

    // Self-reviews are each person's own: Tom's delegate gets no copy of his.
    let vpn = app.instance_of(VPN);
    name_delegate(&tom, personas::MANAGER, &day(0), &day(12), "").await;
    let priya_id = app.user_id(personas::MANAGER);
    let toms = |app: &TestApp| {
        app.count(&format!("outbox WHERE kind = 'Reminder' AND instance_id = '{vpn}' AND recipient_id = '{tom_id}'"))
    };
    let before = toms(&app);
    assert_eq!(app.post(&format!("{}/remind", results_url(&app, &vpn)), &[]).await.status, 303);
    assert_eq!(toms(&app), before + 1, "Tom is reminded of his own");
    // (Priya is in VPN Users herself: her own self-review reminder is hers, not a copy.)
    assert_eq!(
        app.count(&format!(
            "outbox WHERE instance_id = '{vpn}' AND recipient_id = '{priya_id}' AND subject LIKE 'For %'"
        )),
        0,
        "no copy of a self-review"
    );
    assert_eq!(app.count(&format!("outbox WHERE instance_id = '{vpn}' AND facts LIKE '%on_behalf%'")), 0);

    // Omar ends it: the next reminder is his alone.
    let id = delegation_id(&app, personas::OWNER, personas::USER);
    post_then_get(&omar, &format!("/delegation/{id}/end"), &[]).await;
    assert_eq!(app.post(&format!("{url}/remind"), &[]).await.status, 303);
    assert_eq!(to_omar(&app, "Reminder"), 3);
    assert_eq!(to_tom(&app, "Reminder", &falcon).len(), 2, "nothing more to Tom");
}

#[tokio::test]
async fn a_reviewer_and_their_delegate_deciding_at_once_leave_consistent_counts() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let (omar_id, tom_id) = (app.user_id(personas::OWNER), app.user_id(personas::USER));
    let omar = as_persona(&app, "owner").await;
    let tom = as_persona(&app, "user").await;
    name_delegate(&omar, personas::USER, &day(0), &day(3), "").await;
    let own = format!("/reviews/{falcon}");
    let path = behalf(&falcon, &omar_id);
    let items = omar.get(&own).await.attrs("input[name=item]", "value");
    assert_eq!(items.len(), 9);
    let (a, b) = (omar.csrf_token().await, tom.csrf_token().await);
    for round in 0..4 {
        let (mine, his) = (&items[2 * round], &items[2 * round + 1]);
        let x_form = [("csrf_token", a.as_str()), ("item", mine), ("action", "Deny"), ("reason", "Gone")];
        let y_form = [("csrf_token", b.as_str()), ("item", his), ("action", "Approve"), ("reason", "Needed")];
        let (x, y) = tokio::join!(omar.post_form(&own, &x_form), tom.post_form(&path, &y_form));
        assert_eq!((x.status, y.status), (303, 303), "round {round}");
        assert!(counters_match(&app, &falcon), "round {round}");
    }
    // Both on the same person at once: one wins, the counters still add up.
    let last = &items[8];
    let x_form = [("csrf_token", a.as_str()), ("item", last), ("action", "Deny")];
    let y_form = [("csrf_token", b.as_str()), ("item", last), ("action", "DontKnow")];
    let (x, y) = tokio::join!(omar.post_form(&own, &x_form), tom.post_form(&path, &y_form));
    assert_eq!((x.status, y.status), (303, 303));
    assert!(counters_match(&app, &falcon));
    assert_eq!(app.count(&format!("review_instances WHERE id = '{falcon}' AND not_reviewed = 0")), 1);
    assert_eq!(app.count(&format!("review_instances WHERE id = '{falcon}' AND approved >= 4 AND denied >= 4")), 1);
    // Each decision is stored with who made it and for whom, and audited once.
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE instance_id = '{falcon}' AND reviewed_by = '{tom_id}' \
             AND reviewed_for = '{omar_id}'"
        )) + app.count(&format!(
            "review_decision_items WHERE instance_id = '{falcon}' AND reviewed_by = '{omar_id}' AND reviewed_for IS NULL"
        )),
        9
    );
    assert_eq!(app.count("audit_events WHERE action = 'RecordDecision'"), 10);
    assert_eq!(
        app.count(&format!("audit_events WHERE action = 'RecordDecision' AND actor_id = '{tom_id}'")),
        app.count("audit_events WHERE action = 'RecordDecision' AND details LIKE '%onBehalfOf%'")
    );
}

/// One delegate at a time: the overlap check and the insert must not race (on PostgreSQL,
/// whose transactions read committed, two requests could both find no overlap without the
/// person's lock).
#[tokio::test]
async fn naming_delegates_at_once_never_leaves_two_for_the_same_days() {
    let app = spawn_demo_app().await;
    let omar = as_persona(&app, "owner").await;
    let token = omar.csrf_token().await;
    for round in 0..6 {
        let (first, last) = (day(10 * round), day(10 * round + 2));
        let post = |to: &'static str| {
            let fields = [
                ("csrf_token", token.clone()),
                ("delegate", to.into()),
                ("first", first.clone()),
                ("last", last.clone()),
            ];
            let omar = &omar;
            async move {
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                omar.post_form("/delegation", &fields).await.status
            }
        };
        let (a, b, c) = tokio::join!(post(personas::USER), post(personas::MANAGER), post(personas::GUEST));
        let mut statuses = [a, b, c];
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 400, 400], "round {round}: exactly one is taken");
        assert_eq!(app.count("review_delegations"), round + 1, "round {round}: one delegate at a time");
    }
    assert_eq!(app.count("audit_events WHERE action = 'DelegateReviews'"), 6);
}

#[tokio::test]
async fn someone_elses_delegation_cannot_be_ended() {
    let app = spawn_demo_app().await;
    let omar = as_persona(&app, "owner").await;
    name_delegate(&omar, personas::USER, &day(0), &day(3), "").await;
    let id = delegation_id(&app, personas::OWNER, personas::USER);
    for persona in ["manager", "admin", "guest"] {
        let other = as_persona(&app, persona).await;
        let page = other.post(&format!("/delegation/{id}/end"), &[]).await;
        assert_eq!(page.status, 404, "{persona}");
        let rows = delegation_rows(&other).await;
        assert!(rows.is_empty(), "{persona} sees no delegation of others: {rows:?}");
    }
    for bad in ["0", "-1", "abc", "99999999999999999999", "1%20OR%201=1"] {
        assert_eq!(omar.post(&format!("/delegation/{bad}/end"), &[]).await.status, 404, "{bad}");
    }
    assert_eq!(app.count("review_delegations WHERE ended_at IS NULL"), 1, "still running");
    assert_eq!(app.count("audit_events WHERE action = 'EndDelegation'"), 0);
    // Without the CSRF token: refused, whoever it is.
    let page = omar.post_form(&format!("/delegation/{id}/end"), &[]).await;
    assert!(page.status >= 400 && page.status != 500, "{}", page.status);
    let page = omar.post_form("/delegation", &form(personas::MANAGER, &day(5), &day(6), "")).await;
    assert!(page.status >= 400 && page.status != 500, "{}", page.status);
    assert_eq!(app.count("review_delegations"), 1);
    assert_eq!(app.count("review_delegations WHERE ended_at IS NULL"), 1);
    // Signed out: to the sign-in page.
    let anonymous = TestApp { client: Spawn::client(), ..app.share() };
    assert_eq!(anonymous.get("/delegation").await.status, 303);
}

/// Names Tom Omar's delegate with `note`; returns Omar and Tom signed in, or `None` when
/// the note was refused (a 400 with what to fix, which is fine too).
async fn delegated_with_note(app: &TestApp, note: &str) -> Option<(TestApp, TestApp)> {
    let omar = as_persona(app, "owner").await;
    let done = omar.post("/delegation", &form(personas::USER, &day(0), &day(3), note)).await;
    assert!([303, 400].contains(&done.status), "never a server error: {} {}", done.status, done.body);
    if done.status == 400 {
        assert!(done.text(".error-summary li").ends_with("Nothing was saved."));
        assert_eq!(app.count("review_delegations"), 0);
        return None;
    }
    Some((omar, as_persona(app, "user").await))
}

#[tokio::test]
async fn a_note_with_markup_and_a_bidi_override_is_shown_escaped_and_isolated() {
    let app = spawn_demo_app().await;
    let note = "\u{202e}gnikiks <script>alert(1)</script> \"quoted\" & more";
    let Some((omar, tom)) = delegated_with_note(&app, note).await else { return };
    for who in [&omar, &tom] {
        let page = who.get("/delegation").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("<script>alert"), "markup is escaped");
        let row = page.text("table.delegations tbody tr");
        assert!(row.contains("gnikiks <script>alert(1)</script> \"quoted\" & more"), "{row}");
        // The override is isolated: it cannot reorder the rest of the row.
        let cell = page.body.find("gnikiks").unwrap();
        let open = page.body[..cell].rfind("<bdi>").unwrap();
        assert!(!page.body[open..cell].contains("</bdi>"), "the note is inside a <bdi>");
        let close = cell + page.body[cell..].find("</bdi>").unwrap();
        assert!(!page.body[cell..close].contains('<'), "nothing of the note is markup");
    }
}

/// Control characters in a note are dropped, as the project cleans other text it shows
/// back.
#[tokio::test]
async fn a_note_with_control_characters_is_never_shown_with_them_raw() {
    let app = spawn_demo_app().await;
    let note = "away \u{7}bell \u{1b}[31mred \u{8}\u{8}back";
    let Some((omar, tom)) = delegated_with_note(&app, note).await else { return };
    for who in [&omar, &tom] {
        let page = who.get("/delegation").await;
        assert_eq!(page.status, 200);
        assert!(page.text("table.delegations tbody tr").contains("away"));
        let raw: Vec<char> = page.body.chars().filter(|c| c.is_control() && !['\n', '\r', '\t'].contains(c)).collect();
        assert!(raw.is_empty(), "raw control characters on the page: {raw:?}");
    }
}

/// A NUL in a note is dropped: PostgreSQL would refuse it (a 500), SQLite would show it.
#[tokio::test]
async fn a_note_with_a_nul_is_refused_or_kept_without_it_never_a_500() {
    let app = spawn_demo_app().await;
    let Some((omar, _)) = delegated_with_note(&app, "away\u{0}back").await else { return };
    let page = omar.get("/delegation").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains('\u{0}'), "no raw NUL on the page");
}

#[tokio::test]
async fn a_huge_or_nul_delegate_or_date_is_refused_with_a_message_never_a_500() {
    let app = spawn_demo_app().await;
    let omar = as_persona(&app, "owner").await;
    let huge = "a".repeat(10_000);
    let got = refused(&omar, &form(&huge, &day(0), &day(3), "")).await;
    assert!(got.starts_with("No one in the directory has the user principal name or mail address"), "{got}");
    assert!(got.chars().count() < 1_000, "the message does not repeat all of it: {} characters", got.chars().count());
    let huge_upn = format!("{}@contoso.example", "x".repeat(10_000));
    refused(&omar, &form(&huge_upn, &day(0), &day(3), "")).await;
    let got = refused(&omar, &form(personas::USER, &format!("{}\u{0}", day(0)), &day(3), "")).await;
    assert!(got.starts_with("Enter the first day as a date"), "{got}");
    refused(&omar, &form(personas::USER, &"9".repeat(10_000), &day(3), "")).await;
    refused(&omar, &form(personas::USER, &day(0), "+262143-12-31", "")).await;
    // A NUL: PostgreSQL refuses it in any query parameter, so it must be refused before the
    // lookup.
    let nul = format!("{}\u{0}", personas::USER);
    let got = refused(&omar, &form(&nul, &day(0), &day(3), "")).await;
    assert!(got.starts_with("No one in the directory has"), "{got}");
    assert_eq!(app.count("review_delegations"), 0);
    assert_eq!(omar.get("/delegation").await.status, 200);
}
