//! The access panel: the list of a person's reviews, a review's page, decisions and
//! self-review, and who may see what.

use attest::demo::personas;

use crate::helpers::{Page, Spawn, TestApp, spawn_admin_app, spawn_demo_app};

const FALCON: &str = "Project Falcon guests";
const SALESFORCE: &str = "Salesforce access by managers";
const VPN: &str = "VPN Users: confirm your access";
const ADMINS: &str = "Global Administrators";

async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

#[tokio::test]
async fn each_person_sees_the_reviews_they_do() {
    let app = spawn_demo_app().await;
    let omar = as_persona(&app, "owner").await;
    let panel = omar.get("/").await;
    let rows = panel.texts("table.my-reviews tbody tr");
    let falcon = rows.iter().find(|r| r.contains(FALCON)).expect("Omar reviews his group");
    assert!(falcon.contains("0 of 9 reviewed") && falcon.contains("Due in 13 days"), "{falcon}");
    assert!(!rows.iter().any(|r| r.contains(ADMINS) || r.contains(SALESFORCE)), "{rows:?}");

    let tom = as_persona(&app, "user").await;
    let rows = tom.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains(VPN) && r.contains("Your access to VPN Users") && r.contains("0 of 1")));

    let priya = as_persona(&app, "manager").await;
    let rows = priya.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains(SALESFORCE)), "{rows:?}");

    let lena = as_persona(&app, "guest").await;
    let panel = lena.get("/").await;
    assert!(panel.text(".empty").contains("You have no access reviews to do"));
    let past = lena.get("/?view=past").await;
    assert!(past.text(".empty").contains("No past reviews yet"));
    assert_eq!(lena.get("/?view=later").await.status, 400);
}

#[tokio::test]
async fn only_reviewers_see_a_review_and_others_get_404() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let anonymous = app.get(&format!("/reviews/{falcon}")).await;
    assert_eq!(anonymous.status, 303);
    let tom = as_persona(&app, "user").await;
    for path in [format!("/reviews/{falcon}"), "/reviews/not-an-id".into(), "/reviews/00000000-0000".into()] {
        let page = tom.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text(".lead").contains("no access review here for you"));
    }
    let post = tom.post(&format!("/reviews/{falcon}"), &[("action", "Deny"), ("apply_to", "matching")]).await;
    assert_eq!(post.status, 404);
    assert_eq!(app.count("review_decision_items WHERE decision <> 'NotReviewed'"), 0);
    // Admins are not reviewers of a review they did not get: 404 as well.
    let dana = as_persona(&app, "admin").await;
    assert_eq!(dana.get(&format!("/reviews/{falcon}")).await.status, 404);
    let omar = as_persona(&app, "owner").await;
    assert_eq!(omar.get(&format!("/reviews/{falcon}")).await.status, 200);
}

#[tokio::test]
async fn an_owner_accepts_recommendations_denies_one_and_changes_it_back() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{falcon}");
    let page = omar.get(&url).await;
    assert_eq!(page.text("h1"), FALCON);
    assert!(page.text(".lead").contains("Members of the group Project Falcon"));
    let names = page.texts("table.items tbody th[scope=row] .person");
    let total = i64::try_from(names.len()).unwrap();
    assert!(total > 0);
    assert!(page.texts("table.items tbody tr").iter().all(|r| r.contains("Guest")), "a guests-only review");
    assert!(page.texts(".rec").iter().all(|r| ["Approve", "Deny", "No information"].contains(&r.as_str())));
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {total}"));

    // Accept the recommendations for everyone not reviewed yet.
    let audit = app.count("audit_events");
    let with_rec = app.count(&format!(
        "review_decision_items WHERE instance_id = '{falcon}' AND recommendation IN ('Approve', 'Deny')"
    ));
    let done = omar
        .post(&url, &[("action", "AcceptRecommendations"), ("apply_to", "matching"), ("show", "notreviewed")])
        .await;
    assert_eq!((done.status, done.header("location")), (303, format!("{url}?show=notreviewed")));
    let page = omar.get(&done.header("location")).await;
    assert_eq!(page.text(".banner"), format!("Recommendations accepted for {}.", people(with_rec)));
    assert_eq!(app.count("audit_events"), audit + with_rec, "one audit event per decision");
    let counters =
        app.count(&format!("review_instances WHERE id = '{falcon}' AND not_reviewed = {}", total - with_rec));
    assert_eq!(counters, 1, "counters follow the decisions");
    // Accepting again changes nothing: decisions are never overwritten by it.
    let again = omar.post(&url, &[("action", "AcceptRecommendations"), ("apply_to", "matching")]).await;
    assert!(omar.get(&again.header("location")).await.text(".banner").starts_with("Nothing changed"));

    // Deny one person with a reason, then approve them again.
    let first = omar.get(&url).await;
    let item = first.attrs("input[name=item]", "value")[0].clone();
    let person = first.texts("table.items tbody .person")[0].clone();
    omar.post(&url, &[("item", &item), ("action", "Deny"), ("reason", "Left the project in October")]).await;
    let page = omar.get(&url).await;
    assert_eq!(page.text(".banner"), "Denied for 1 person.");
    let row = page.texts("table.items tbody tr")[0].clone();
    assert!(row.contains(&person) && row.contains("Denied") && row.contains("by Omar Haddad"), "{row}");
    assert!(row.contains("“Left the project in October”"), "{row}");
    omar.post(&url, &[("item", &item), ("action", "Approve"), ("reason", "Back on the project")]).await;
    let row = omar.get(&url).await.texts("table.items tbody tr")[0].clone();
    assert!(row.contains("Approved") && row.contains("Back on the project"), "the last decision wins: {row}");
    let denied = omar.get(&format!("{url}?show=denied")).await;
    assert!(!denied.texts("table.items tbody .person").contains(&person));
    let events = app.count(&format!("audit_events WHERE target_id = '{item}' AND action = 'RecordDecision'"));
    assert!(events >= 2, "each decision is audited with the previous value");

    // The admin sees the decisions from the series' page, read-only.
    let dana = as_persona(&app, "admin").await;
    let series: String = {
        use attest::db::schema::review_instances::dsl::*;
        use diesel::prelude::*;
        review_instances.find(&falcon).select(definition_id).first(&mut *app.conn()).unwrap()
    };
    let show = dana.get(&format!("/admin/access-reviews/{series}")).await;
    let results_url = format!("/admin/access-reviews/{series}/instances/{falcon}");
    assert!(show.attrs("a", "href").contains(&results_url));
    let results = dana.get(&results_url).await;
    assert_eq!(results.status, 200);
    let row = results.texts("table.items tbody tr").into_iter().find(|r| r.contains(&person)).unwrap();
    assert!(row.contains("Approved") && row.contains("by Omar Haddad") && row.contains("Back on the project"), "{row}");
    assert!(results.attrs("button[value=Approve]", "value").is_empty(), "admins do not decide here");
    // Admins tick rows on a running review's results page only to reassign them.
    assert_eq!(results.attrs("form#decide", "action"), vec![format!("{results_url}/reassign")]);
    assert_eq!(omar.get(&results_url).await.status, 403, "owners without the tenant setting");
    assert_eq!(
        dana.get(&format!("/admin/access-reviews/{series}/instances/{}", app.instance_of(VPN))).await.status,
        404
    );
}

fn people(n: i64) -> String {
    if n == 1 { "1 person".into() } else { format!("{n} people") }
}

#[tokio::test]
async fn bad_decisions_are_refused_and_change_nothing() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let vpn = app.instance_of(VPN);
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{falcon}");
    let item = omar.get(&url).await.attrs("input[name=item]", "value")[0].clone();
    let decided =
        || app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND decision <> 'NotReviewed'"));

    // Nothing selected.
    let page = omar.post(&url, &[("action", "Deny")]).await;
    assert_eq!(page.status, 303);
    assert_eq!(omar.get(&url).await.text(".banner-error"), "Select at least one person, then choose a decision.");
    // An item of another instance.
    let foreign: String = {
        use attest::db::schema::review_decision_items::dsl::*;
        use diesel::prelude::*;
        review_decision_items.filter(instance_id.eq(&vpn)).select(id).first(&mut *app.conn()).unwrap()
    };
    omar.post(&url, &[("item", &item), ("item", &foreign), ("action", "Deny")]).await;
    assert!(omar.get(&url).await.text(".banner-error").contains("not in this review for you to decide"));
    // A reason is required to approve when the review says so.
    app.exec(&format!("UPDATE review_instances SET justification_required = TRUE WHERE id = '{falcon}'"));
    omar.post(&url, &[("item", &item), ("action", "Approve"), ("reason", "  ")]).await;
    assert_eq!(
        omar.get(&url).await.text(".banner-error"),
        "Enter a reason: this review requires one to approve access."
    );
    // Unknown actions and selections.
    omar.post(&url, &[("item", &item), ("action", "Delete")]).await;
    assert!(omar.get(&url).await.text(".banner-error").contains("Choose Approve, Deny"));
    assert_eq!(omar.post(&url, &[("item", &item), ("action", "Deny"), ("apply_to", "everything")]).await.status, 400);
    assert_eq!(omar.post(&url, &[("item", "x' OR 1=1 --"), ("action", "Deny")]).await.status, 400);
    assert_eq!(omar.post(&url, &[("item", &item), ("action", "Deny"), ("show", "mine")]).await.status, 400);
    assert_eq!(decided(), 0, "nothing changed");
    // Once the review has ended, nothing can be decided.
    app.exec(&format!("UPDATE review_instances SET end_at = '2026-11-01 00:00:00' WHERE id = '{falcon}'"));
    omar.post(&url, &[("item", &item), ("action", "Deny")]).await;
    let page = omar.get(&url).await;
    assert!(page.text(".banner-error").starts_with("This review ended on 2026-11-01 00:00 UTC"));
    assert!(page.text(".notice").contains("This review has ended"));
    assert!(page.attrs("input[name=item]", "value").is_empty(), "no selection on an ended review");
    assert_eq!(decided(), 0);
}

#[tokio::test]
async fn a_self_reviewer_answers_for_their_own_access_only() {
    let app = spawn_demo_app().await;
    let vpn = app.instance_of(VPN);
    let tom = as_persona(&app, "user").await;
    let url = format!("/reviews/{vpn}");
    let page = tom.get(&url).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("form.self-review legend"), "Do you still need access to VPN Users?");
    assert_eq!(page.texts("form.self-review button"), vec!["Yes", "No"]);
    let own = page.attrs("input[name=item]", "value")[0].clone();
    let tom_id = app.user_id(personas::USER);
    let other: String = {
        use attest::db::schema::review_decision_items::dsl::*;
        use diesel::prelude::*;
        review_decision_items
            .filter(instance_id.eq(&vpn))
            .filter(principal_id.ne(&tom_id))
            .select(id)
            .first(&mut *app.conn())
            .unwrap()
    };
    tom.post(&url, &[("item", &other), ("action", "Deny")]).await;
    assert!(tom.get(&url).await.text(".banner-error").contains("not in this review for you to decide"));
    tom.post(&url, &[("item", &own), ("action", "Deny"), ("reason", "I moved to the office")]).await;
    let page = tom.get(&url).await;
    // Spoken to about their own access, not "Denied for 1 person."
    assert_eq!(
        page.text(".banner"),
        "You said you no longer need access to VPN Users. It will be removed when the review ends \
         (2026-12-12 00:00 UTC); you can change your answer until then."
    );
    assert!(page.text(".notice").contains("You answered No"), "{}", page.text(".notice"));
    assert!(page.text(".notice").contains("I moved to the office"));
    assert_eq!(app.count(&format!("review_decision_items WHERE instance_id = '{vpn}' AND decision = 'Deny'")), 1);
    let rows = tom.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains(VPN) && r.contains("1 of 1 reviewed")), "{rows:?}");
    // Yes, through the page's own form.
    let page = tom.get(&url).await;
    let yes = submit(&tom, &page, "form.self-review", "Yes", &[("reason", "On call from home")]).await;
    assert_eq!(yes.status, 303);
    assert_eq!(
        tom.get(&url).await.text(".banner"),
        "You said you still need access to VPN Users. You can change your answer until the review ends \
         (2026-12-12 00:00 UTC)."
    );
    assert_eq!(app.count(&format!("review_decision_items WHERE instance_id = '{vpn}' AND decision = 'Approve'")), 1);
}

#[tokio::test]
async fn managers_see_only_their_own_people() {
    let app = spawn_demo_app().await;
    let salesforce = app.instance_of(SALESFORCE);
    let priya_id = app.user_id(personas::MANAGER);
    let mine =
        app.count(&format!("review_decision_items WHERE instance_id = '{salesforce}' AND reviewer_id = '{priya_id}'"));
    let all = app.count(&format!("review_decision_items WHERE instance_id = '{salesforce}'"));
    assert!(mine > 0 && mine < all, "{mine} of {all}");
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{salesforce}")).await;
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {mine}"));
    assert!(page.text(".facts").contains("Each person's own reviewer"));
    let decided = priya
        .post(
            &format!("/reviews/{salesforce}"),
            &[("action", "Deny"), ("apply_to", "matching"), ("reason", "Moving to HubSpot")],
        )
        .await;
    assert_eq!(decided.status, 303);
    assert_eq!(
        app.count(&format!("review_decision_items WHERE instance_id = '{salesforce}' AND decision = 'Deny'")),
        mine
    );
}

#[tokio::test]
async fn the_fallback_of_a_manager_review_reviews_the_people_without_a_manager() {
    let app = spawn_demo_app().await;
    let salesforce = app.instance_of(SALESFORCE);
    let dana_id = app.user_id(personas::ADMIN);
    let fallback = app.count(&format!(
        "review_instance_reviewers WHERE instance_id = '{salesforce}' AND user_id = '{dana_id}' AND fallback = TRUE"
    ));
    assert_eq!(fallback, 1, "the demo's manager review has Dana as its fallback");
    let nobody =
        app.count(&format!("review_decision_items WHERE instance_id = '{salesforce}' AND reviewer_id IS NULL"));
    let hers =
        app.count(&format!("review_decision_items WHERE instance_id = '{salesforce}' AND reviewer_id = '{dana_id}'"));
    assert!(nobody > 0);
    let dana = as_persona(&app, "admin").await;
    let rows = dana.get("/").await.texts("table.my-reviews tbody tr");
    let row = rows.iter().find(|r| r.contains(SALESFORCE)).expect("listed for the fallback");
    assert!(row.contains(&format!("0 of {} reviewed", nobody + hers)), "{row}");
    assert!(row.contains("You review the people without a manager"), "told why: {row}");
    let page = dana.get(&format!("/reviews/{salesforce}")).await;
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {}", nobody + hers));
    assert_eq!(page.text(".why"), "You review the people without a manager: you are this review's fallback reviewer.");
}

#[tokio::test]
async fn big_reviews_page_filter_and_search() {
    let app = spawn_admin_app().await;
    crate::scheduler::create(
        &app,
        &[
            ("name", "All staff"),
            ("groups", "All Employees"),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::ADMIN),
        ],
    )
    .await;
    assert_eq!(crate::scheduler::tick(&app).started, 1);
    let id = app.instance_of("All staff");
    let url = format!("/reviews/{id}");
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{id}'"));
    assert!(total > 100, "{total}");
    let first = app.get(&url).await;
    assert_eq!(first.texts("table.items tbody tr").len(), 50);
    assert_eq!(first.text(".tabs a[aria-current=page]"), format!("All {total}"));
    let next = first.attrs("a[rel=next]", "href")[0].clone();
    let second = app.get(&next).await;
    assert_eq!(second.status, 200);
    let (a, b) = (first.texts("table.items tbody .person"), second.texts("table.items tbody .person"));
    assert!(a.last() <= b.first() && !b.contains(&a[49]), "pages continue in name order");
    let back = app.get(&second.attrs("a[rel=prev]", "href")[0]).await;
    assert_eq!(back.texts("table.items tbody .person"), a);

    let deny = app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND recommendation = 'Deny'"));
    let filtered = app.get(&format!("{url}?show=recommendeddeny")).await;
    assert_eq!(filtered.text(".tabs a[aria-current=page]"), format!("Recommended deny {deny}"));
    assert!(filtered.texts(".rec").iter().all(|r| r == "Deny"));
    let who = a[3].clone();
    let found = app.get(&format!("{url}?q={}", who.replace(' ', "+"))).await;
    assert!(found.texts("table.items tbody .person").contains(&who));
    assert!(found.texts("table.items tbody .person").len() < 50);
    let none = app.get(&format!("{url}?q=zzzzqqq")).await;
    assert_eq!(none.text(".empty"), "No one matches “zzzzqqq”.");
    assert_eq!(app.get(&format!("{url}?show=mine")).await.status, 400);
    assert_eq!(app.get(&format!("{url}?q={}", "x".repeat(201))).await.status, 400);
    assert_eq!(app.get(&format!("{url}?after=bogus%27")).await.status, 400);

    // "All matching" decides the whole filtered list at once, page or not.
    let post = app.post(&url, &[("action", "DontKnow"), ("apply_to", "matching"), ("show", "recommendeddeny")]).await;
    assert_eq!(post.status, 303);
    assert_eq!(app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND decision = 'DontKnow'")), deny);
    let page = app.get(&url).await;
    assert_eq!(page.text(".tabs a[data-tab=dontknow] .count"), deny.to_string());
}

/// Two reviewers deciding on one review at once, each with 50 requests in flight: every
/// decision lands (no "database is locked", no lost update) and the counters add up.
#[tokio::test]
async fn two_reviewers_deciding_at_once_lose_nothing() {
    let app = spawn_admin_app().await;
    let reviewers = format!("{}\n{}", personas::ADMIN, personas::OWNER);
    crate::scheduler::create(
        &app,
        &[
            ("name", "All staff"),
            ("groups", "All Employees"),
            ("reviewer_kind", "Selected"),
            ("reviewers", reviewers.as_str()),
        ],
    )
    .await;
    assert_eq!(crate::scheduler::tick(&app).started, 1);
    let id = app.instance_of("All staff");
    let (admin, owner) = (app.user_id(personas::ADMIN), app.user_id(personas::OWNER));
    let items: Vec<String> = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Item {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        let sql = format!(
            "SELECT id FROM review_decision_items WHERE instance_id = '{id}' \
             AND principal_id NOT IN ('{admin}', '{owner}') ORDER BY id LIMIT 200"
        );
        diesel::sql_query(sql).load::<Item>(&mut *app.conn()).unwrap().into_iter().map(|i| i.id).collect()
    };
    assert_eq!(items.len(), 200);
    let dana = as_persona(&app, "admin").await;
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{id}");
    let mut tasks = tokio::task::JoinSet::new();
    for (n, chunk) in items.chunks(2).enumerate() {
        let who = if n % 2 == 0 { dana.share() } else { omar.share() };
        let (url, chunk) = (url.clone(), chunk.to_vec());
        let action = if n % 3 == 0 { "Deny" } else { "DontKnow" };
        tasks.spawn(async move {
            let mut fields = vec![("action", action.to_owned()), ("apply_to", "selected".to_owned())];
            fields.extend(chunk.iter().map(|i| ("item", i.clone())));
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = who.post(&url, &fields).await;
            (page.status, page.header("location"))
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.push(done.unwrap());
    }
    assert_eq!(statuses.len(), 100);
    assert!(statuses.iter().all(|(s, _)| *s == 303), "{statuses:?}");
    let decided = app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND decision <> 'NotReviewed'"));
    assert_eq!(decided, 200);
    // The counters kept on the instance match the items, and the messages said so.
    let page = dana.get(&url).await;
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{id}'"));
    assert_eq!(page.text(".tabs a[data-tab=notreviewed] .count"), (total - 200).to_string());
    let denied = app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND decision = 'Deny'"));
    assert_eq!(page.text(".tabs a[data-tab=denied] .count"), denied.to_string());
    let unsure = app.count(&format!("review_decision_items WHERE instance_id = '{id}' AND decision = 'DontKnow'"));
    assert_eq!(denied + unsure, 200);
    assert_eq!(page.text(".tabs a[data-tab=dontknow] .count"), unsure.to_string());
    let events = app.count("audit_events WHERE action = 'RecordDecision'");
    assert_eq!(events, 200);
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

/// The fields a browser sends for the form `form` of `page` left at its defaults, with
/// `changes` applied (by name, a textarea or text field typed into) and the submit button
/// whose text starts with `button` pressed.
fn form_defaults(page: &Page, form: &str, button: &str, changes: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    use scraper::Selector;
    let html = page.html();
    let form = html.select(&Selector::parse(form).unwrap()).next().expect("the form is on the page");
    let action = form.value().attr("action").unwrap_or_default().to_owned();
    let mut fields: Vec<(String, String)> = Vec::new();
    for input in form.select(&Selector::parse("input[name]").unwrap()) {
        let (name, value) = (input.value().attr("name").unwrap(), input.value().attr("value").unwrap_or("on"));
        let checkable = matches!(input.value().attr("type"), Some("checkbox" | "radio"));
        if !checkable || input.value().attr("checked").is_some() {
            fields.push((name.to_owned(), value.to_owned()));
        }
    }
    for area in form.select(&Selector::parse("textarea[name]").unwrap()) {
        fields.push((area.value().attr("name").unwrap().to_owned(), area.text().collect()));
    }
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    let pressed = form
        .select(&Selector::parse("button[type=submit][name]").unwrap())
        .find(|b| b.text().collect::<String>().trim().starts_with(button))
        .unwrap_or_else(|| panic!("no button {button:?} in the form"));
    fields.push((pressed.value().attr("name").unwrap().to_owned(), pressed.value().attr("value").unwrap().to_owned()));
    (action, fields)
}

/// Submits the form as [`form_defaults`] fills it.
async fn submit(who: &TestApp, page: &Page, form: &str, button: &str, changes: &[(&str, &str)]) -> Page {
    let (action, fields) = form_defaults(page, form, button, changes);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    who.post_form(&action, &fields).await
}

fn decided_in(app: &TestApp, instance: &str) -> i64 {
    app.count(&format!("review_decision_items WHERE instance_id = '{instance}' AND decision <> 'NotReviewed'"))
}

#[tokio::test]
async fn accept_recommendations_on_its_own_decides_the_current_list() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{falcon}");
    let pending = |rec: &str| {
        app.count(&format!(
            "review_decision_items WHERE instance_id = '{falcon}' AND decision = 'NotReviewed' AND recommendation IN ({rec})"
        ))
    };
    let (all, deny) = (pending("'Approve', 'Deny'"), pending("'Deny'"));
    assert!(all > deny && deny > 0, "{all} {deny}");

    // On the "Recommended deny" tab, the button counts and decides that tab only.
    let page = omar.get(&format!("{url}?show=recommendeddeny")).await;
    assert_eq!(page.text("#accept"), format!("Accept {deny} recommendation{}", if deny == 1 { "" } else { "s" }));
    let done = submit(&omar, &page, "form#decide", "Accept", &[]).await;
    assert_eq!((done.status, done.header("location")), (303, format!("{url}?show=recommendeddeny")));
    let page = omar.get(&done.header("location")).await;
    assert_eq!(page.text(".banner"), format!("Recommendations accepted for {}.", people(deny)));
    assert_eq!(decided_in(&app, &falcon), deny);
    assert!(page.attrs("#accept", "id").is_empty(), "nothing left to accept in this tab");

    // With rows ticked, only those.
    let page = omar.get(&url).await;
    let left = all - deny;
    assert_eq!(page.text("#accept"), format!("Accept {left} recommendation{}", if left == 1 { "" } else { "s" }));
    let rows = page.texts("table.items tbody tr");
    let ticked: Vec<String> = page
        .attrs("input[name=item]", "value")
        .into_iter()
        .zip(&rows)
        .filter(|(_, row)| row.contains("Not reviewed") && row.contains("Approve"))
        .map(|(id, _)| id)
        .take(1)
        .collect();
    assert_eq!(ticked.len(), 1);
    let done = submit(&omar, &page, "form#decide", "Accept", &[("item", &ticked[0])]).await;
    assert_eq!(omar.get(&done.header("location")).await.text(".banner"), "Recommendations accepted for 1 person.");
    assert_eq!(decided_in(&app, &falcon), deny + 1);

    // The page's own form, as it comes, with only the button pressed: the whole list.
    let page = omar.get(&url).await;
    let (_, fields) = form_defaults(&page, "form#decide", "Accept", &[]);
    assert!(fields.contains(&("apply_to".into(), "selected".into())), "the radio's default: {fields:?}");
    assert!(!fields.iter().any(|(k, _)| k == "item"), "nothing ticked");
    let done = submit(&omar, &page, "form#decide", "Accept", &[]).await;
    let page = omar.get(&done.header("location")).await;
    assert_eq!(page.text(".banner"), format!("Recommendations accepted for {}.", people(left - 1)));
    assert_eq!(decided_in(&app, &falcon), all);
    let counters = app.count(&format!(
        "review_instances WHERE id = '{falcon}' AND pending_approve = 0 AND pending_deny = 0 AND not_reviewed = {}",
        app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND decision = 'NotReviewed'"))
    ));
    assert_eq!(counters, 1, "the counters follow");
    assert!(page.attrs("#accept", "id").is_empty());
    assert!(page.text(".decide-panel").contains("No recommendations to accept in this list"));

    // A search narrows the list, and the count, to the people it finds.
    app.exec(&format!(
        "UPDATE review_decision_items SET decision = 'NotReviewed', justification = '', reviewed_by = NULL \
         WHERE instance_id = '{falcon}'"
    ));
    app.exec(&format!(
        "UPDATE review_instances SET not_reviewed = total_items, approved = 0, denied = 0, dont_know = 0, \
         pending_approve = {}, pending_deny = {deny} WHERE id = '{falcon}'",
        all - deny
    ));
    let list = omar.get(&url).await;
    let recs = list.texts("table.items tbody .rec");
    let persons = list.texts("table.items tbody .person");
    let who = persons.iter().zip(&recs).find(|(_, r)| *r == "Approve").map(|(p, _)| p.clone()).unwrap();
    let found = omar.get(&format!("{url}?q={}", who.replace(' ', "+"))).await;
    let matches = found.texts("table.items tbody .rec").iter().filter(|r| *r != "No information").count();
    assert!(matches >= 1 && found.texts("table.items tbody tr").len() < persons.len(), "a narrower list");
    assert_eq!(
        found.text("#accept"),
        format!("Accept {matches} recommendation{}", if matches == 1 { "" } else { "s" })
    );
    let done = submit(&omar, &found, "form#decide", "Accept", &[]).await;
    let encoded: String =
        openidconnect::url::form_urlencoded::Serializer::new(String::new()).append_pair("q", &who).finish();
    assert_eq!(done.header("location"), format!("{url}?{encoded}"), "back to the same list");
    assert_eq!(decided_in(&app, &falcon), i64::try_from(matches).unwrap());
}

#[tokio::test]
async fn accepting_recommendations_that_approve_needs_the_required_reason() {
    let app = spawn_demo_app().await;
    let falcon = app.instance_of(FALCON);
    app.exec(&format!("UPDATE review_instances SET justification_required = TRUE WHERE id = '{falcon}'"));
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{falcon}");
    let page = omar.get(&url).await;
    // The page says the reason is needed for that button too.
    assert!(page.text("label[for=reason]").contains("and to accept recommendations that approve"));
    assert!(page.text(".decide-panel").contains("also when accepting a recommendation to approve"));
    let approvals = app.count(&format!(
        "review_decision_items WHERE instance_id = '{falcon}' AND decision = 'NotReviewed' AND recommendation = 'Approve'"
    ));
    assert!(approvals > 0);
    let done = submit(&omar, &page, "form#decide", "Accept", &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(
        omar.get(&url).await.text(".banner-error"),
        format!(
            "Enter a reason: this review requires one to approve access, and accepting these recommendations \
             approves {}. Nothing was changed.",
            people(approvals)
        )
    );
    assert_eq!(decided_in(&app, &falcon), 0, "nothing is half-written");
    // Denials alone need no reason.
    let denials = omar.get(&format!("{url}?show=recommendeddeny")).await;
    submit(&omar, &denials, "form#decide", "Accept", &[]).await;
    let deny = app.count(&format!("review_decision_items WHERE instance_id = '{falcon}' AND recommendation = 'Deny'"));
    assert_eq!(decided_in(&app, &falcon), deny);
    // With a reason, the approvals go through and carry it.
    let page = omar.get(&url).await;
    submit(&omar, &page, "form#decide", "Accept", &[("reason", "Confirmed with the agency")]).await;
    assert_eq!(
        app.count(&format!(
            "review_decision_items WHERE instance_id = '{falcon}' AND decision = 'Approve' \
             AND justification = 'Confirmed with the agency'"
        )),
        approvals
    );
}

fn texts_of(app: &TestApp, sql: &str) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    diesel::sql_query(sql).load::<T>(&mut *app.conn()).unwrap().into_iter().map(|r| r.t).collect()
}

/// The item of `upn` in `instance`.
fn item_of(app: &TestApp, instance: &str, upn: &str) -> String {
    let user = app.user_id(upn);
    texts_of(
        app,
        &format!(
            "SELECT id AS t FROM review_decision_items WHERE instance_id = '{instance}' AND principal_id = '{user}'"
        ),
    )
    .pop()
    .unwrap_or_else(|| panic!("{upn} is reviewed in {instance}"))
}

fn decision_of(app: &TestApp, item: &str) -> String {
    texts_of(app, &format!("SELECT decision AS t FROM review_decision_items WHERE id = '{item}'")).remove(0)
}

/// Starts a one-time review made with the create form (extra fields over the defaults).
async fn start_review(app: &TestApp, name: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("name", name)];
    all.extend_from_slice(fields);
    crate::scheduler::create(app, &all).await;
    assert_eq!(crate::scheduler::tick(app).started, 1);
    app.instance_of(name)
}

const OWN_FALLBACK: &str = "Your own access — decided by the fallback reviewer";

#[tokio::test]
async fn an_owner_who_is_a_member_never_decides_their_own_access() {
    let app = spawn_admin_app().await;
    let id = start_review(
        &app,
        "Marketing members",
        &[
            ("groups", "Marketing Team"),
            ("reviewer_kind", "Owners"),
            ("fallback_reviewers", personas::ADMIN),
            ("mail_notifications", "on"),
        ],
    )
    .await;
    let url = format!("/reviews/{id}");
    let own = item_of(&app, &id, personas::OWNER);
    let omar = as_persona(&app, "owner").await;
    let page = omar.get(&url).await;
    // Shown, marked, and without a box to tick.
    let row = page.text(&format!("tr[data-item='{own}']"));
    assert!(row.contains("Omar Haddad") && row.contains(OWN_FALLBACK), "{row}");
    assert_eq!(page.attrs(&format!("tr[data-item='{own}']"), "class"), vec!["is-blocked"]);
    assert!(!page.attrs("input[name=item]", "value").contains(&own));
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{id}'"));
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {total}"), "the owner sees everyone");
    assert!(page.text(".facts").contains("Dana Whitfield (fallback reviewer)"), "{}", page.text(".facts"));

    // Accepting recommendations (the page's form as it comes) leaves his own access out.
    let done = submit(&omar, &page, "form#decide", "Accept", &[]).await;
    let banner = omar.get(&done.header("location")).await.text(".banner");
    assert!(banner.ends_with("Your own access was left out: it is decided by the fallback reviewer."), "{banner}");
    assert_eq!(decision_of(&app, &own), "NotReviewed");
    // Ticking it (a crafted request) is refused, and nothing changes.
    let before = decided_in(&app, &id);
    omar.post(&url, &[("item", &own), ("action", "Approve"), ("reason", "Still the owner")]).await;
    assert_eq!(
        omar.get(&url).await.text(".banner-error"),
        "You cannot decide on your own access: it is decided by the fallback reviewer. Nothing was changed."
    );
    let other = page.attrs("input[name=item]", "value")[0].clone();
    omar.post(&url, &[("item", &other), ("item", &own), ("action", "Deny")]).await;
    assert!(omar.get(&url).await.text(".banner-error").starts_with("You cannot decide on your own access"));
    assert_eq!(decided_in(&app, &id), before, "nothing half-written");
    // "Everyone in this list" decides the others and says it left him out.
    omar.post(&url, &[("action", "DontKnow"), ("apply_to", "matching")]).await;
    let banner = omar.get(&url).await.text(".banner");
    assert_eq!(
        banner,
        format!(
            "Marked “don't know” for {}. Your own access was left out: it is decided by the fallback reviewer.",
            people(total - 1)
        )
    );
    assert_eq!(decision_of(&app, &own), "NotReviewed");
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{own}'")), 0);

    // The fallback reviewer is told why, sees exactly that item, and decides it.
    let dana = as_persona(&app, "admin").await;
    let rows = dana.get("/").await.texts("table.my-reviews tbody tr");
    let row = rows.iter().find(|r| r.contains("Marketing members")).expect("listed for the fallback");
    assert!(
        row.contains("0 of 1 reviewed") && row.contains("You review the access of this review's own reviewers"),
        "{row}"
    );
    let page = dana.get(&url).await;
    assert!(page.text(".why").contains("nobody decides their own access"));
    assert_eq!(page.attrs("input[name=item]", "value"), vec![own.clone()]);
    assert_eq!(page.text(".tabs a[aria-current=page]"), "All 1");
    let done = submit(&dana, &page, "form#decide", "Approve", &[("item", &own), ("reason", "Owns the team")]).await;
    assert_eq!(dana.get(&done.header("location")).await.text(".banner"), "Approved for 1 person.");
    assert_eq!(decision_of(&app, &own), "Approve");
    // Anyone else: 404.
    assert_eq!(as_persona(&app, "user").await.get(&url).await.status, 404);

    // The start mails counted that way too: the owner all but himself, the fallback one.
    let started = texts_of(
        &app,
        &format!(
            "SELECT recipient_address || ' ' || facts AS t FROM outbox \
             WHERE instance_id = '{id}' AND kind = 'ReviewStarted' ORDER BY recipient_address"
        ),
    );
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started[0].starts_with(personas::ADMIN) && started[0].contains("\"items\":1,"), "{}", started[0]);
    assert!(started[1].starts_with(personas::OWNER) && started[1].contains(&format!("\"items\":{},", total - 1)));
    // Having decided everyone else, the owner is not reminded about his own access.
    let reminders = {
        use attest::store::outbox::reviewers_with_items;
        reviewers_with_items(&mut app.conn(), &id, 1, true).unwrap()
    };
    assert!(reminders.is_empty(), "everyone decided what is theirs: {reminders:?}");
}

#[tokio::test]
async fn a_selected_reviewer_in_the_group_goes_to_the_fallback_or_else_an_admin() {
    let app = spawn_admin_app().await;
    let with_fallback = start_review(
        &app,
        "Sales with fallback",
        &[
            ("groups", "Sales Team"),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::MANAGER),
            ("fallback_reviewers", personas::ADMIN),
        ],
    )
    .await;
    let own = item_of(&app, &with_fallback, personas::MANAGER);
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{with_fallback}?q=Priya+Raman")).await;
    assert!(page.text(&format!("tr[data-item='{own}']")).contains(OWN_FALLBACK));
    let dana = as_persona(&app, "admin").await;
    let page = dana.get(&format!("/reviews/{with_fallback}")).await;
    assert_eq!(page.attrs("input[name=item]", "value"), vec![own.clone()], "exactly her item");

    // No fallback reviewer: any portal admin who is not the principal decides it.
    let admins_only = start_review(
        &app,
        "Sales without fallback",
        &[
            ("groups", "Sales Team"),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::MANAGER),
            ("fallback_reviewers", ""),
        ],
    )
    .await;
    let own = item_of(&app, &admins_only, personas::MANAGER);
    assert_eq!(app.count(&format!("review_instances WHERE id = '{admins_only}' AND routed_to_admins = 1")), 1);
    let page = priya.get(&format!("/reviews/{admins_only}?q=Priya+Raman")).await;
    assert!(page.text(&format!("tr[data-item='{own}']")).contains("Your own access — decided by an administrator"));
    let rows = dana.get("/").await.texts("table.my-reviews tbody tr");
    let row = rows.iter().find(|r| r.contains("Sales without fallback")).expect("listed for the admins");
    assert!(row.contains("As an administrator") && row.contains("0 of 1 reviewed"), "{row}");
    let page = dana.get(&format!("/reviews/{admins_only}")).await;
    assert_eq!(page.attrs("input[name=item]", "value"), vec![own.clone()]);
    dana.post(&format!("/reviews/{admins_only}"), &[("action", "Deny"), ("apply_to", "matching")]).await;
    assert_eq!(decision_of(&app, &own), "Deny");
    // Not an admin, not a reviewer: 404.
    assert_eq!(as_persona(&app, "owner").await.get(&format!("/reviews/{admins_only}")).await.status, 404);
}

#[tokio::test]
async fn the_global_administrators_reviewer_does_not_review_herself() {
    let app = spawn_demo_app().await;
    let ga = app.instance_of(ADMINS);
    let own = item_of(&app, &ga, personas::ADMIN);
    // The demo routes Dana's own access to its fallback: another Global Administrator.
    let fallbacks = texts_of(
        &app,
        &format!(
            "SELECT u.upn AS t FROM review_instance_reviewers r JOIN users u ON u.id = r.user_id \
             WHERE r.instance_id = '{ga}' AND r.fallback = TRUE"
        ),
    );
    assert_eq!(fallbacks.len(), 1);
    assert_ne!(fallbacks[0], personas::ADMIN);
    let dana = as_persona(&app, "admin").await;
    let url = format!("/reviews/{ga}");
    let page = dana.get(&url).await;
    assert!(page.text(&format!("tr[data-item='{own}']")).contains(OWN_FALLBACK));
    dana.post(&url, &[("action", "Approve"), ("apply_to", "matching"), ("reason", "Needed")]).await;
    let banner = dana.get(&url).await.text(".banner");
    assert!(banner.ends_with("Your own access was left out: it is decided by the fallback reviewer."), "{banner}");
    assert_eq!(decision_of(&app, &own), "NotReviewed");

    // The fallback sees exactly that item and decides it (a persona as the fallback here).
    let dana_admin = TestApp { client: dana.client.clone(), ..app.share() };
    let id = start_review(
        &dana_admin,
        "Global Administrators, checked by Priya",
        &[
            ("scope", "DirectoryRoles"),
            ("roles", "Global Administrator"),
            ("reviewer_kind", "Selected"),
            ("reviewers", personas::ADMIN),
            ("fallback_reviewers", personas::MANAGER),
        ],
    )
    .await;
    let own = item_of(&app, &id, personas::ADMIN);
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{id}")).await;
    assert_eq!(page.attrs("input[name=item]", "value"), vec![own.clone()]);
    assert_eq!(page.texts("table.items tbody .person"), vec!["Dana Whitfield"]);
    priya.post(&format!("/reviews/{id}"), &[("item", &own), ("action", "Approve"), ("reason", "Runs IT")]).await;
    assert_eq!(decision_of(&app, &own), "Approve");
}

#[tokio::test]
async fn a_manager_review_whose_fallback_has_no_manager() {
    let app = spawn_admin_app().await;
    let tom_id = app.user_id(personas::USER);
    app.exec(&format!("UPDATE users SET manager_id = NULL WHERE id = '{tom_id}'"));
    // Tom is the only fallback and one of the people without a manager: an admin decides him.
    let alone = start_review(
        &app,
        "Support by managers",
        &[("groups", "Customer Support Team"), ("reviewer_kind", "Managers"), ("fallback_reviewers", personas::USER)],
    )
    .await;
    let own = item_of(&app, &alone, personas::USER);
    let nobody = app.count(&format!(
        "review_decision_items WHERE instance_id = '{alone}' AND reviewer_id IS NULL AND reviewer_pool = 'Fallback'"
    ));
    assert!(nobody > 0, "others without a manager");
    let tom = as_persona(&app, "user").await;
    let page = tom.get(&format!("/reviews/{alone}")).await;
    assert!(page.text(".why").starts_with("You review the people without a manager"));
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {nobody}"));
    assert!(!page.texts("table.items tbody .person").contains(&"Tom Becker".to_owned()));
    let rows = tom.get("/").await.texts("table.my-reviews tbody tr");
    assert!(
        rows.iter().any(|r| r.contains("Support by managers") && r.contains("You review the people without a manager"))
    );
    let dana = as_persona(&app, "admin").await;
    let page = dana.get(&format!("/reviews/{alone}")).await;
    assert_eq!(page.attrs("input[name=item]", "value"), vec![own.clone()]);

    // With a second fallback, that one decides Tom; Tom sees his row marked.
    let two = format!("{}\n{}", personas::USER, personas::ADMIN);
    let shared = start_review(
        &app,
        "Support by managers, two fallbacks",
        &[("groups", "Customer Support Team"), ("reviewer_kind", "Managers"), ("fallback_reviewers", two.as_str())],
    )
    .await;
    let own = item_of(&app, &shared, personas::USER);
    let page = tom.get(&format!("/reviews/{shared}")).await;
    assert!(page.text(&format!("tr[data-item='{own}']")).contains(OWN_FALLBACK));
    tom.post(&format!("/reviews/{shared}"), &[("action", "Approve"), ("apply_to", "matching")]).await;
    assert_eq!(decision_of(&app, &own), "NotReviewed");
    let page = dana.get(&format!("/reviews/{shared}")).await;
    assert!(page.attrs("input[name=item]", "value").contains(&own));
    dana.post(&format!("/reviews/{shared}"), &[("item", &own), ("action", "Deny")]).await;
    assert_eq!(decision_of(&app, &own), "Deny");
}

#[tokio::test]
async fn the_fallback_of_a_resource_without_owner_is_told_why() {
    let app = spawn_admin_app().await;
    let group = texts_of(
        &app,
        "SELECT g.display_name AS t FROM groups g WHERE g.membership_rule IS NULL \
         AND NOT EXISTS (SELECT 1 FROM group_owners o WHERE o.group_id = g.id) \
         AND EXISTS (SELECT 1 FROM group_member_users m WHERE m.group_id = g.id) ORDER BY g.display_name",
    )
    .into_iter()
    .next()
    .expect("a group without owners");
    let id = start_review(
        &app,
        "Ownerless",
        &[("groups", group.as_str()), ("reviewer_kind", "Owners"), ("fallback_reviewers", personas::ADMIN)],
    )
    .await;
    let total = app.count(&format!("review_decision_items WHERE instance_id = '{id}'"));
    let dana = as_persona(&app, "admin").await;
    let page = dana.get(&format!("/reviews/{id}")).await;
    assert_eq!(
        page.text(".why"),
        format!("You review everyone here because {group} has no owner: you are this review's fallback reviewer.")
    );
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {total}"));
    let rows = dana.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains("Ownerless") && r.contains(&format!("because {group} has no owner"))));
}

#[tokio::test]
async fn a_person_page_shows_context_paths_sign_ins_earlier_decisions_and_history() {
    let app = spawn_demo_app().await;
    let first = app.instance_of(SALESFORCE);
    let priya = as_persona(&app, "manager").await;
    let url = format!("/reviews/{first}");
    let page = priya.get(&url).await;
    // Each row carries job title, department and manager, snapshotted at start.
    let item = page.attrs("input[name=item]", "value")[0].clone();
    let principal =
        texts_of(&app, &format!("SELECT principal_id AS t FROM review_decision_items WHERE id = '{item}'")).remove(0);
    let (title, department) = {
        let row =
            texts_of(&app, &format!("SELECT job_title || '|' || department AS t FROM users WHERE id = '{principal}'"))
                .remove(0);
        let (t, d) = row.split_once('|').unwrap();
        (t.to_owned(), d.to_owned())
    };
    let cell = page.text(&format!("tr[data-item='{item}'] th[scope=row]"));
    assert!(cell.contains(&format!("{title} · {department}")) && cell.contains("Manager: Priya Raman"), "{cell}");
    // The name links to the person's page.
    assert_eq!(page.attrs(&format!("tr[data-item='{item}'] a.person"), "href"), vec![format!("{url}/items/{item}")]);
    priya.post(&url, &[("item", &item), ("action", "Deny"), ("reason", "Moved to HubSpot")]).await;

    // A month later, the next occurrence: the earlier decision is on the person's page.
    app.clock.advance(chrono::TimeDelta::days(31));
    assert_eq!(crate::scheduler::tick(&app).started, 1);
    let second = texts_of(
        &app,
        &format!(
            "SELECT i.id AS t FROM review_instances i JOIN review_definitions d ON d.id = i.definition_id \
             WHERE d.display_name = '{SALESFORCE}' AND i.occurrence = 1"
        ),
    )
    .remove(0);
    let again = texts_of(
        &app,
        &format!(
            "SELECT id AS t FROM review_decision_items WHERE instance_id = '{second}' AND principal_id = '{principal}'"
        ),
    )
    .remove(0);
    let priya = as_persona(&app, "manager").await;
    let person = format!("/reviews/{second}/items/{again}");
    let page = priya.get(&person).await;
    assert_eq!(page.status, 200);
    let name = texts_of(&app, &format!("SELECT display_name AS t FROM users WHERE id = '{principal}'")).remove(0);
    assert_eq!(page.text("h1"), name);
    let facts = page.text(".facts");
    assert!(facts.contains(&title) && facts.contains(&department) && facts.contains("Priya Raman"), "{facts}");
    assert!(!page.texts(".paths li").is_empty());
    let sign_ins = page.text("section[aria-labelledby=sign-ins-heading]");
    assert!(sign_ins.contains("Last sign-in to the directory"), "{sign_ins}");
    assert!(sign_ins.contains("Last sign-in to the application"), "an application review: {sign_ins}");
    let earlier = page.texts("table.earlier tbody tr");
    assert_eq!(earlier.len(), 1, "{earlier:?}");
    assert!(
        earlier[0].starts_with("#1") && earlier[0].contains("Denied") && earlier[0].contains("Priya Raman"),
        "{}",
        earlier[0]
    );
    assert!(earlier[0].contains("“Moved to HubSpot”"));
    assert!(page.text("section[aria-labelledby=history-heading]").contains("No decision yet"));

    // Deciding from the person's page comes back to it, and the history shows it.
    let done = submit(&priya, &page, "form.decide-one", "Approve", &[("reason", "Back on the enterprise deals")]).await;
    assert_eq!(done.header("location"), person);
    let page = priya.get(&person).await;
    assert_eq!(page.text(".banner"), "Approved for 1 person.");
    let history = page.texts("table.history tbody tr");
    assert_eq!(history.len(), 1);
    assert!(
        history[0].contains("Priya Raman")
            && history[0].contains("Not reviewed → Approved")
            && history[0].contains("Back on the enterprise deals"),
        "{}",
        history[0]
    );

    // Guarded like the review page: not her item, not this review, not an id, not hers: 404.
    let not_hers = texts_of(
        &app,
        &format!(
            "SELECT id AS t FROM review_decision_items WHERE instance_id = '{second}' \
             AND (reviewer_id IS NULL OR reviewer_id <> '{}')",
            app.user_id(personas::MANAGER)
        ),
    )
    .remove(0);
    for path in [
        format!("/reviews/{second}/items/{not_hers}"),
        format!("/reviews/{second}/items/{item}"),
        format!("/reviews/{second}/items/x'y"),
    ] {
        let page = priya.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text(".lead").contains("no access review here for you"));
    }
    assert_eq!(as_persona(&app, "user").await.get(&person).await.status, 404);
}

#[tokio::test]
async fn the_accept_count_is_what_accepting_decides_for_an_admin_who_reviews() {
    let app = spawn_admin_app().await;
    // Dana and Priya review everyone, both are in the group, no fallback: both their items
    // go to the admins. Dana, an admin, decides Priya's; nobody but another admin, Dana's.
    let reviewers = format!("{}\n{}", personas::ADMIN, personas::MANAGER);
    let id = start_review(
        &app,
        "Everyone, no fallback",
        &[
            ("groups", "All Employees"),
            ("reviewer_kind", "Selected"),
            ("reviewers", reviewers.as_str()),
            ("fallback_reviewers", ""),
        ],
    )
    .await;
    assert_eq!(app.count(&format!("review_instances WHERE id = '{id}' AND routed_to_admins = 2")), 1);
    let (dana_item, priya_item) = (item_of(&app, &id, personas::ADMIN), item_of(&app, &id, personas::MANAGER));
    app.exec(&format!(
        "UPDATE review_decision_items SET recommendation = 'Approve' WHERE id IN ('{dana_item}', '{priya_item}')"
    ));
    app.exec(&format!(
        "UPDATE review_instances SET pending_approve = (SELECT COUNT(*) FROM review_decision_items t \
         WHERE t.instance_id = '{id}' AND t.recommendation = 'Approve') WHERE id = '{id}'"
    ));
    let pending = app
        .count(&format!("review_decision_items WHERE instance_id = '{id}' AND recommendation IN ('Approve', 'Deny')"));
    let dana = as_persona(&app, "admin").await;
    let url = format!("/reviews/{id}?show=notreviewed");
    let page = dana.get(&url).await;
    assert_eq!(page.text("#accept"), format!("Accept {} recommendations", pending - 1), "all but her own");
    assert!(page.texts(".why").iter().any(|w| w.starts_with("As an administrator")));
    submit(&dana, &page, "form#decide", "Accept", &[("reason", "Quarterly check")]).await;
    assert_eq!(decided_in(&app, &id), pending - 1);
    assert_eq!(decision_of(&app, &priya_item), "Approve");
    assert_eq!(decision_of(&app, &dana_item), "NotReviewed");
    // Priya, not an admin, decides neither her own item nor Dana's.
    let priya = as_persona(&app, "manager").await;
    let page = priya.get(&format!("/reviews/{id}?q=Dana+Whitfield")).await;
    assert!(
        page.text(&format!("tr[data-item='{dana_item}']"))
            .contains("A reviewer's own access — decided by an administrator")
    );
}
