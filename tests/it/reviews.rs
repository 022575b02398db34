//! Access review administration: onboarding.

use attest::demo::personas;

use crate::helpers::spawn_admin_app;

#[tokio::test]
async fn demo_starts_onboarded() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/access-reviews").await;
    assert_eq!(page.status, 200);
    assert!(page.text(".hint").starts_with("Enabled by Dana Whitfield on 2026-11-28"), "{}", page.text(".hint"));
    assert_eq!(page.attrs("nav.main-nav a[aria-current=page]", "href"), vec!["/admin/access-reviews"]);
}

#[tokio::test]
async fn reviews_are_off_until_a_global_or_user_administrator_onboards() {
    let app = spawn_admin_app().await;
    app.exec("DELETE FROM settings WHERE key IN ('onboarded_by', 'onboarded_at')");
    let page = app.get("/admin/access-reviews").await;
    assert!(page.text(".notice").contains("Access reviews are not enabled in this directory"));
    let onboard = app.get(&page.link("Onboard")).await;
    assert_eq!(onboard.text("h1"), "Onboard access reviews");
    assert_eq!(onboard.texts("main form button"), vec!["Create"]);

    let before = app.count("audit_events");
    let done = app.post("/admin/access-reviews/onboard", &[]).await;
    assert_eq!((done.status, done.header("location").as_str()), (303, "/admin/access-reviews"));
    let page = app.get("/admin/access-reviews").await;
    assert_eq!(page.text(".banner"), "Access reviews are now enabled in this directory.");
    assert!(page.text(".hint").contains("Dana Whitfield"));
    assert_eq!(app.count("audit_events"), before + 1, "onboarding is audited");

    // Again: nothing more happens.
    app.post("/admin/access-reviews/onboard", &[]).await;
    assert_eq!(app.get("/admin/access-reviews").await.text(".banner"), "Access reviews were already enabled.");
    assert_eq!(app.count("audit_events"), before + 1);
}

#[tokio::test]
async fn identity_governance_administrators_cannot_onboard() {
    let app = spawn_admin_app().await;
    app.exec("DELETE FROM settings WHERE key IN ('onboarded_by', 'onboarded_at')");
    // Make Dana an Identity Governance Administrator only.
    let dana = app.user_id(personas::ADMIN);
    let iga = app.role_id("Identity Governance Administrator");
    app.exec(&format!("DELETE FROM role_assignments WHERE user_id = '{dana}'"));
    app.exec(&format!(
        "INSERT INTO role_assignments (id, role_id, user_id, scope, scope_name, assignment_type, start_at, end_at) \
         VALUES ('t-iga', '{iga}', '{dana}', '/', 'Directory', 'Active', '2026-01-01 00:00:00', NULL)"
    ));
    let page = app.get("/admin/access-reviews").await;
    assert_eq!(page.status, 200, "still an admin");
    assert!(page.text(".notice").contains("must enable them first"));
    assert_eq!(app.get("/admin/access-reviews/onboard").await.status, 403);
    assert_eq!(app.post("/admin/access-reviews/onboard", &[]).await.status, 403);
    assert!(app.get("/admin/access-reviews").await.text(".notice").contains("not enabled"));
}
