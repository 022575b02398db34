//! The access panel: the list of a person's reviews, a review's page, decisions and
//! self-review, and who may see what.

use attest::demo::personas;

use crate::helpers::{Spawn, TestApp, spawn_admin_app, spawn_demo_app};

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
    assert!(results.attrs("input[name=item]", "value").is_empty(), "read-only for admins");
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
    assert_eq!(page.text(".banner"), "Denied for 1 person.");
    assert!(page.text(".notice").contains("You answered No"), "{}", page.text(".notice"));
    assert!(page.text(".notice").contains("I moved to the office"));
    assert_eq!(app.count(&format!("review_decision_items WHERE instance_id = '{vpn}' AND decision = 'Deny'")), 1);
    let rows = tom.get("/").await.texts("table.my-reviews tbody tr");
    assert!(rows.iter().any(|r| r.contains(VPN) && r.contains("1 of 1 reviewed")), "{rows:?}");
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
    let page = dana.get(&format!("/reviews/{salesforce}")).await;
    assert_eq!(page.text(".tabs a[aria-current=page]"), format!("All {}", nobody + hers));
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
