//! Directory → Sources: what each source holds, its errors, its tokens (shown once, usable,
//! revocable), the New SCIM source form, who may see them, and each directory object's
//! source on the directory pages.

use attest::domain::source::SourceKind;
use attest::service::sources;

use crate::helpers::{TestApp, spawn_admin_app, spawn_demo_app};

/// A CSV source holding the first `n` users by UPN and the group `group`.
fn csv_source_holding(app: &TestApp, n: i64, group: &str) -> String {
    let id = sources::ensure(&mut app.conn(), "HR export", SourceKind::Csv, app.clock_now()).unwrap().id;
    app.exec(&format!(
        "UPDATE users SET source_id = '{id}' WHERE id IN (SELECT id FROM users ORDER BY upn LIMIT {n});
         UPDATE groups SET source_id = '{id}' WHERE display_name = '{group}'"
    ));
    id
}

fn row_of(page: &crate::helpers::Page, name: &str) -> String {
    page.texts("table.sources tbody tr").into_iter().find(|r| r.starts_with(name)).unwrap_or_else(|| panic!("{name}"))
}

#[tokio::test]
async fn the_sources_page_lists_what_each_source_holds_and_its_errors() {
    let app = spawn_admin_app().await;
    let hr = csv_source_holding(&app, 3, "VPN Users");
    sources::record_error(&mut app.conn(), &hr, "line 4: <script>alert(1)</script> \u{202e}txt", app.clock_now())
        .unwrap();
    app.exec(&format!("UPDATE sources SET changed_at = '2026-11-27 08:30:00' WHERE id = '{hr}'"));
    let page = app.get("/admin/directory/sources").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.attrs("nav.tabs a[aria-current=page]", "href"), ["/admin/directory/sources"]);
    let row = row_of(&page, "HR export");
    assert!(row.contains("CSV import") && row.contains("3 users") && row.contains("1 group"), "{row}");
    assert!(row.contains("2026-11-27 08:30 UTC") && row.contains("line 4:"), "{row}");
    assert!(!page.body.contains("<script>alert"), "escaped");
    let local = row_of(&page, "local");
    assert!(local.contains("attest") && local.contains("memberships"), "{local}");
    assert!(row_of(&page, "local").contains("Never") || local.contains("UTC"));
    // A source's page: the same details.
    let one = app.get(&format!("/admin/directory/sources/{hr}")).await;
    assert_eq!(one.status, 200);
    assert!(one.text(".holdings").starts_with("3 users, 1 group"), "{}", one.text(".holdings"));
    assert!(one.text(".source-errors").contains("line 4:"));
    assert_eq!(one.link("Import CSV files"), "/admin/directory/import");
    assert_eq!(app.get("/admin/directory/sources/no-such-source").await.status, 404);
    assert_eq!(app.get("/admin/directory/sources/bad%00id").await.status, 404);
}

#[tokio::test]
async fn a_new_scim_source_gets_a_token_shown_once_usable_and_revocable() {
    let app = spawn_admin_app().await;
    let created = app.post("/admin/directory/sources", &[("name", "Entra ID"), ("token_name", "prod")]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), "no-store");
    let token = created.attrs("input#token", "value").pop().unwrap();
    assert!(token.len() >= 32, "{token}");
    assert!(created.text(".facts").contains(&format!("{}/scim/v2", app.address)));
    let now = app.clock_now();
    let client = sources::authenticate(&mut app.conn(), &token, now).unwrap().expect("the token works");
    assert_eq!(client.source.name, "Entra ID");
    assert_eq!(client.source.kind, SourceKind::Scim);
    // Only a hash is kept, and the token is on no later page.
    assert_eq!(app.count(&format!("source_tokens WHERE token_hash = '{token}'")), 0);
    let id = client.source.id.clone();
    let page = app.get(&format!("/admin/directory/sources/{id}")).await;
    assert!(!page.body.contains(&token));
    let tokens = page.texts("table.tokens tbody tr");
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].starts_with("prod") && tokens[0].contains("Live"), "{tokens:?}");
    assert_eq!(page.text("code.copy"), format!("{}/scim/v2", app.address));

    // A second token, then the first revoked: it stops working, the second does not.
    let second = app.post(&format!("/admin/directory/sources/{id}/tokens"), &[("token_name", "rotation")]).await;
    assert_eq!(second.status, 200);
    let token2 = second.attrs("input#token", "value").pop().unwrap();
    assert_ne!(token, token2);
    let revoke = format!("/admin/directory/sources/{id}/tokens/{}/revoke", client.token_id);
    assert_eq!(app.post_form(&revoke, &[]).await.status, 403, "CSRF");
    assert!(sources::authenticate(&mut app.conn(), &token, now).unwrap().is_some());
    let done = app.post(&revoke, &[]).await;
    assert_eq!(done.status, 303);
    assert!(sources::authenticate(&mut app.conn(), &token, now).unwrap().is_none());
    assert!(sources::authenticate(&mut app.conn(), &token2, now).unwrap().is_some());
    let page = app.get(&format!("/admin/directory/sources/{id}")).await;
    assert!(page.text(".banner-success").contains("The token \"prod\" is revoked"));
    assert!(page.texts("table.tokens tbody tr").iter().any(|r| r.starts_with("prod") && r.contains("Revoked")));
    assert_eq!(app.post(&revoke, &[]).await.status, 404, "revoked once");
    assert_eq!(app.count("audit_events WHERE action = 'SourceTokenCreated'"), 2);
    assert_eq!(app.count("audit_events WHERE action = 'SourceTokenRevoked'"), 1);

    // Bad input comes back with what to fix; nothing is created.
    let taken = app.post("/admin/directory/sources", &[("name", "entra id"), ("token_name", "x")]).await;
    assert_eq!(taken.status, 400);
    assert!(taken.text(".error-summary").contains("There is a source named \"Entra ID\" already"));
    let bad = app.post("/admin/directory/sources", &[("name", "a/<b>"), ("token_name", "x")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text("#name-error").contains("may hold letters"));
    assert_eq!(bad.attrs("#name", "value"), ["a/<b>"]);
    let unnamed = app.post("/admin/directory/sources", &[("name", "Okta"), ("token_name", " ")]).await;
    assert_eq!(unnamed.status, 400);
    assert!(unnamed.text("#token_name-error").contains("Name the token"));
    let huge = app.post("/admin/directory/sources", &[("name", &"x".repeat(10_000)), ("token_name", "x")]).await;
    assert_eq!(huge.status, 400);
    assert_eq!(app.count("sources"), 2, "local and Entra ID");
    assert_eq!(app.post_form("/admin/directory/sources", &[("name", "Okta"), ("token_name", "x")]).await.status, 403);
    // Tokens are for SCIM sources only.
    let local = app.post("/admin/directory/sources/local/tokens", &[("token_name", "x")]).await;
    assert_eq!(local.status, 400);
    assert!(local.text(".error-summary").contains("Tokens are for SCIM connections"));
}

#[tokio::test]
async fn only_admins_see_and_change_sources() {
    let app = spawn_demo_app().await;
    assert_eq!(app.get("/admin/directory/sources").await.status, 303, "signed out: to the sign-in page");
    for persona in ["owner", "manager", "user", "guest"] {
        app.sign_in(persona).await;
        assert_eq!(app.get("/admin/directory/sources").await.status, 403, "{persona}");
        assert_eq!(app.get("/admin/directory/sources/local").await.status, 403, "{persona}");
        let post = app.post("/admin/directory/sources", &[("name", "Mine"), ("token_name", "x")]).await;
        assert_eq!(post.status, 403, "{persona}");
        app.sign_out().await;
    }
    assert_eq!(app.count("sources"), 1);
    assert_eq!(app.count("source_tokens"), 0);
}

#[tokio::test]
async fn directory_pages_name_each_objects_source() {
    let app = spawn_admin_app().await;
    csv_source_holding(&app, 1, "VPN Users");
    let users = app.get("/admin/users").await;
    let sources = users.texts("table td.source");
    assert_eq!(sources.len(), users.texts("table tbody tr").len());
    assert!(sources.contains(&"HR export".to_owned()) && sources.contains(&"local".to_owned()), "{sources:?}");
    let groups = app.get("/admin/groups?q=VPN").await;
    assert!(groups.texts("table td.source").contains(&"HR export".to_owned()));
    let vpn = app.get(&format!("/admin/groups/{}", app.group_id("VPN Users"))).await;
    assert_eq!(vpn.text("dd.source"), "HR export");
    let apps = app.get("/admin/applications").await;
    assert!(apps.texts("table td.source").iter().all(|s| s == "local"));
    let jira = app.get(&format!("/admin/applications/{}", app.app_id("Jira"))).await;
    assert_eq!(jira.text("dd.source"), "local");
    let admin = app.get(&format!("/admin/users/{}", app.user_id(attest::demo::personas::ADMIN))).await;
    assert!(!admin.text("dd.source").is_empty());
}
