//! Error pages keep the page frame — the header with the signed-in person and the
//! navigation of their role — and lead back to where the person came from.

use crate::helpers::{Page, Spawn, TestApp, spawn_admin_app, spawn_demo_app};

/// GETs `path` with a `Referer` header.
async fn get_from(app: &TestApp, path: &str, referer: &str) -> Page {
    let res = app.client.get(format!("{}{path}", app.address)).header("referer", referer).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    Page { status, headers, body: res.text().await.unwrap() }
}

fn nav(page: &Page) -> Vec<String> {
    page.texts("nav.main-nav a")
}

fn back(page: &Page) -> (String, String) {
    (page.attrs("a.back-link", "href").join(""), page.text("a.back-link"))
}

#[tokio::test]
async fn a_refusal_keeps_the_frame_and_leads_back() {
    let app = spawn_demo_app().await;
    app.sign_in("user").await;
    let from = format!("{}/?view=past", app.address);
    let page = get_from(&app, "/admin/users", &from).await;
    assert_eq!(page.status, 403);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_eq!(page.text("h1"), "You do not have access");
    assert_eq!(page.text(".user-name"), "Tom Becker", "the signed-in person is shown");
    assert_eq!(nav(&page), vec!["My access reviews"], "the navigation of their role");
    assert_eq!(page.texts("form[action='/auth/sign-out'] button"), vec!["Sign out"]);
    assert_eq!(back(&page), ("/?view=past".to_owned(), "Go back to the page you came from".to_owned()));
    // Without a Referer: the section's start is not theirs to see, so home.
    let page = app.get("/admin/access-reviews/new").await;
    assert_eq!(page.status, 403);
    assert_eq!(back(&page), ("/".to_owned(), "Go to the home page".to_owned()));
}

#[tokio::test]
async fn not_found_and_bad_requests_lead_to_the_start_of_their_section() {
    let app = spawn_admin_app().await;
    let missing = app.get("/admin/groups/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text(".user-name"), "Dana Whitfield");
    assert!(nav(&missing).contains(&"Outbox".to_owned()), "admin navigation: {:?}", nav(&missing));
    assert_eq!(missing.attrs("nav.main-nav a[aria-current=page]", "href"), vec!["/admin/users"]);
    assert_eq!(back(&missing), ("/admin/groups".to_owned(), "Go to the list of groups".to_owned()));
    assert!(missing.text(".lead").contains("go back to the list"), "the message stays");

    let bad = app.get("/admin/users?after=..%2F..").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.text(".user-name"), "Dana Whitfield");
    assert_eq!(back(&bad), ("/admin/users".to_owned(), "Go to the list of users".to_owned()));

    let series = app.get("/admin/access-reviews/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(series.status, 404);
    assert_eq!(back(&series), ("/admin/access-reviews".to_owned(), "Go to Access reviews".to_owned()));
    let nowhere = app.get("/no/such/page").await;
    assert_eq!((nowhere.status, nowhere.text(".user-name")), (404, "Dana Whitfield".to_owned()));
    assert_eq!(back(&nowhere), ("/".to_owned(), "Go to the home page".to_owned()));
    // A method a route does not take gets the page too, not an empty answer.
    let res = app.client.delete(format!("{}/admin/users", app.address)).send().await.unwrap();
    assert!(res.status().is_client_error());
    let body = res.text().await.unwrap();
    assert!(body.contains("class=\"user-name\""), "{body}");
}

#[tokio::test]
async fn the_csrf_refusal_keeps_the_frame_and_leads_back_to_the_form() {
    let app = spawn_admin_app().await;
    let form = format!("{}/admin/access-reviews/new", app.address);
    let res = app.client.post(&form).header("referer", &form).form(&[("name", "No token")]).send().await.unwrap();
    let page = Page { status: res.status().as_u16(), headers: res.headers().clone(), body: res.text().await.unwrap() };
    assert_eq!(page.status, 403);
    assert!(page.text(".lead").contains("nothing was changed"));
    assert_eq!(page.text(".user-name"), "Dana Whitfield");
    assert_eq!(page.attrs("nav.main-nav a[aria-current=page]", "href"), vec!["/admin/access-reviews"]);
    assert_eq!(back(&page), ("/admin/access-reviews/new".to_owned(), "Go back to the page you came from".to_owned()));
    // The sign-out button of the frame carries the session's real token.
    let token = page.attrs("form[action='/auth/sign-out'] input[name=csrf_token]", "value").join("");
    assert_eq!(token, app.csrf_token().await);
}

#[tokio::test]
async fn only_a_page_of_this_site_is_a_way_back() {
    let app = spawn_admin_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    for hostile in [
        "https://evil.example/admin/users".to_owned(),
        format!("http://127.0.0.1:{port}//evil.example/x"),
        format!("http://127.0.0.1:{port}/\\evil.example"),
        format!("http://127.0.0.1:{port}.evil.example/admin/users"),
        format!("http://127.0.0.1:{}/admin/users", port.parse::<u16>().unwrap().wrapping_add(1)),
        "javascript:alert(1)".to_owned(),
        "//evil.example/".to_owned(),
    ] {
        let page = get_from(&app, "/admin/groups/00000000-0000-4000-8000-000000000000", &hostile).await;
        assert_eq!(page.status, 404);
        assert_eq!(back(&page).0, "/admin/groups", "{hostile}");
    }
    // A Referer that is the failing page itself is no way out either.
    let here = format!("{}/admin/users?after=x", app.address);
    let page = get_from(&app, "/admin/users?after=x", &here).await;
    assert_eq!(page.status, 400);
    assert_eq!(back(&page).0, "/admin/users");
    // Control characters are percent-encoded, never passed on.
    let page =
        get_from(&app, "/no/such/page", &format!("http://127.0.0.1:{port}/admin/audit?q=%0d%0aSet-Cookie:x")).await;
    assert_eq!(back(&page).0, "/admin/audit?q=%0d%0aSet-Cookie:x");
}

#[tokio::test]
async fn internal_errors_keep_the_frame_and_show_only_the_request_id() {
    let app = spawn_admin_app().await;
    let slack = app.app_id("Slack");
    app.exec("DROP TABLE sign_ins");
    let page = app.get(&format!("/admin/applications/{slack}")).await;
    assert_eq!(page.status, 500);
    assert_eq!(page.text("h1"), "Sorry, something went wrong");
    assert_eq!(page.text(".user-name"), "Dana Whitfield");
    assert_eq!(page.text(".request-id"), page.header("x-request-id"));
    assert_eq!(back(&page).0, "/admin/applications");
    assert!(!page.body.to_lowercase().contains("sign_ins"));
}

#[tokio::test]
async fn anonymous_visitors_get_the_bare_frame() {
    let app = Spawn { demo: true, ..Spawn::default() }.start().await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.texts(".user-name").is_empty() && nav(&page).is_empty());
    assert_eq!(page.text(".directory-name"), "Contoso (demo)");
    assert_eq!(back(&page), ("/".to_owned(), "Go to the home page".to_owned()));
}
