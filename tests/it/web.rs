//! The page frame: health check, static files, error pages, security headers.

use attest::config::AuthSettings;

use crate::helpers::{Spawn, spawn_admin_app, spawn_app};

#[tokio::test]
async fn health_check_reports_the_database() {
    let app = spawn_app().await;
    let page = app.get("/healthz").await;
    assert_eq!(page.status, 200);
    let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["database"], "ok");
}

#[tokio::test]
async fn home_page_has_the_frame_and_counts() {
    let app = spawn_admin_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("h1").len(), 1, "one h1 per page");
    assert_eq!(page.text(".directory-name"), "Contoso (demo)");
    assert_eq!(page.text(".tag-demo"), "Demo");
    assert_eq!(page.attrs("a.skip-link", "href"), vec!["#main"]);
    assert_eq!(page.text("h1"), "My access reviews");
    assert_eq!(page.text(".user-name"), "Dana Whitfield");
    assert!(page.texts(".card").iter().any(|t| t == "500 users"), "{:?}", page.texts(".card"));
    assert_eq!(page.attrs("nav.main-nav a[aria-current=page]", "href"), vec!["/"]);
}

#[tokio::test]
async fn without_a_provider_or_demo_the_sign_in_page_says_what_to_set() {
    let app = spawn_app().await;
    let page = app.get("/auth/sign-in").await;
    assert_eq!(page.status, 200);
    assert!(page.text(".notice").contains("ATTEST_OIDC_ISSUER"));
    assert!(page.texts(".tag-demo").is_empty(), "no demo marker without --demo");
    assert!(page.attrs("form[action='/auth/demo']", "action").is_empty(), "no personas without --demo");
}

#[tokio::test]
async fn stylesheet_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/static/app.css").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/css"));
    assert!(page.body.contains(":focus-visible"));
    assert_eq!(app.get("/static/nope.js").await.status, 404);
    assert_eq!(app.get("/static/..%2fCargo.toml").await.status, 404);
}

#[tokio::test]
async fn unknown_pages_get_a_404_page() {
    let app = spawn_app().await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_eq!(page.text("h1"), "Page not found");
    assert_eq!(page.link("home page"), "/");
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    for path in ["/", "/admin/users", "/no/such/page", "/healthz"] {
        let page = app.get(path).await;
        let csp = page.header("content-security-policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: no inline script or style");
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(page.header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(page.header("x-request-id").len(), 12, "{path}");
    }
}

#[tokio::test]
async fn pages_are_never_stored_and_powerful_browser_features_are_off() {
    let app = spawn_admin_app().await;
    let dana = app.user_id(attest::demo::personas::ADMIN);
    let pages = ["/".to_owned(), "/admin/users".to_owned(), format!("/admin/users/{dana}"), "/no/such/page".to_owned()];
    for path in pages.iter().map(String::as_str).chain(["/admin/audit.csv", "/auth/sign-in?return_to=/admin"]) {
        let page = app.get(path).await;
        assert_eq!(page.header("cache-control"), "no-store", "{path}");
    }
    // The refusal of a form without a token, and the sign-in page of someone signed out.
    assert_eq!(app.post_form("/admin/access-reviews/settings", &[]).await.header("cache-control"), "no-store");
    let anonymous = crate::helpers::TestApp { client: Spawn::client(), ..app.share() };
    assert_eq!(anonymous.get("/auth/sign-in").await.header("cache-control"), "no-store");
    // Static files may be cached; the health check is left alone.
    assert_eq!(app.get("/static/app.css").await.header("cache-control"), "public, max-age=3600");
    assert_eq!(app.get("/healthz").await.header("cache-control"), "");

    for path in ["/", "/static/app.css", "/healthz", "/no/such/page"] {
        let page = app.get(path).await;
        let policy = page.header("permissions-policy");
        for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()", "serial=()"] {
            assert!(policy.split(", ").any(|f| f == feature), "{path}: {feature} in {policy}");
        }
        assert_eq!(page.header("strict-transport-security"), "", "{path}: no HSTS over plain http");
    }
}

#[tokio::test]
async fn an_https_portal_asks_browsers_to_keep_to_https() {
    let app = Spawn { auth: Some(AuthSettings::new("https://attest.example")), ..Spawn::default() }.start().await;
    for path in ["/auth/sign-in", "/healthz", "/static/app.css", "/no/such/page"] {
        assert_eq!(app.get(path).await.header("strict-transport-security"), "max-age=31536000", "{path}");
    }
}

#[tokio::test]
async fn internal_errors_show_a_request_id_and_never_the_cause() {
    let app = spawn_admin_app().await;
    // Break the database under the running server (an application's page reads sign-ins).
    let slack = app.app_id("Slack");
    app.exec("DROP TABLE sign_ins");
    let page = app.get(&format!("/admin/applications/{slack}")).await;
    assert_eq!(page.status, 500);
    assert_eq!(page.text("h1"), "Sorry, something went wrong");
    let id = page.text(".request-id");
    assert_eq!(id, page.header("x-request-id"));
    // The page that replaces the error carries the same headers as every other page.
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page.header("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(page.header("permissions-policy").contains("camera=()"));
    let lower = page.body.to_lowercase();
    for leak in ["sign_ins", "no such table", "relation", "diesel", "sql"] {
        assert!(!lower.contains(leak), "the page reveals {leak:?}");
    }
}

/// Names from the directory are shown in `<bdi>`: one holding U+202E RIGHT-TO-LEFT OVERRIDE
/// cannot reverse the text around it (the columns beside it, the words after it).
#[tokio::test]
async fn names_are_isolated_so_an_override_cannot_reverse_the_text_around_them() {
    let app = crate::helpers::spawn_demo_app().await;
    let falcon = app.instance_of("Project Falcon guests");
    let guest = app.user_id(attest::demo::personas::GUEST);
    let hostile = "Lena \u{202e}rehcsiF";
    app.exec(&format!("UPDATE users SET display_name = '{hostile}' WHERE id = '{guest}'"));
    app.exec(&format!("UPDATE review_decision_items SET principal_name = '{hostile}' WHERE principal_id = '{guest}'"));
    app.exec("UPDATE groups SET display_name = 'Project \u{202e}noclaF' WHERE display_name = 'Project Falcon'");
    let isolated = format!("<bdi>{hostile}</bdi>");

    app.sign_in("owner").await;
    let review = app.get(&format!("/reviews/{falcon}")).await;
    assert_eq!(review.status, 200);
    assert!(review.body.contains(&isolated), "the review table isolates the person's name");
    assert_eq!(review.body.matches(hostile).count(), review.body.matches(&isolated).count(), "never bare");

    app.sign_in("admin").await;
    let user = app.get(&format!("/admin/users/{guest}")).await;
    assert!(user.body.contains(&format!("<h1>{isolated}</h1>")), "{}", user.text("h1"));
    let group = app.get(&format!("/admin/groups/{}", app.group_id("Project \u{202e}noclaF"))).await;
    assert!(group.body.contains("<h1><bdi>Project \u{202e}noclaF</bdi></h1>"));
    assert!(group.body.contains(&isolated), "members are isolated too");
}
