//! LDAP connections in the pages, against a real slapd: an admin adds one through the form
//! (every problem named at its field, the password never shown back), tests it, syncs it
//! after a dry run, changes it without retyping the password; only admins reach any of it,
//! and only with the form's CSRF token. The results page of a review of an LDAP group says
//! which removals attest made and verified there, and which were granted again.

use crate::apply::{completed, results_url};
use crate::helpers::{Page, TestApp, spawn_admin_app, spawn_demo_app};
use crate::ldap::{add_connection, attest};
use crate::ldap_server::{ADMIN_DN, ADMIN_PASSWORD, FIXTURE, Slapd};

const NEW: &str = "/admin/directory/sources/ldap/new";
const FINANCE: &str = "cn=finance,ou=groups,dc=example,dc=org";
const TOM: &str = "uid=tom,ou=people,dc=example,dc=org";
/// A password that no page may ever show.
const WRONG_PASSWORD: &str = "Wr0ng-but-private";

/// The form's fields for a working connection to `server`, with `changes` applied.
fn fields<'a>(server: &'a Slapd, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut out = vec![
        ("name", "Corp LDAP"),
        ("preset", "openldap"),
        ("url", server.url.as_str()),
        ("security", "plain"),
        ("bind_dn", ADMIN_DN),
        ("password", ADMIN_PASSWORD),
        ("users_base", "ou=people,dc=example,dc=org"),
        ("users_filter", ""),
        ("groups_base", "ou=groups,dc=example,dc=org"),
        ("groups_filter", ""),
        ("upn_attribute", ""),
        ("sync_interval", "60"),
        ("timeout", "5"),
        ("page_size", "500"),
    ];
    for (name, value) in changes {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => out.push((name, value)),
        }
    }
    out
}

fn no_password(page: &Page) {
    assert!(!page.body.contains(&format!("\"{ADMIN_PASSWORD}\"")), "the password is never shown back");
    assert!(!page.body.contains(WRONG_PASSWORD), "the password is never shown back");
    assert!(page.attrs("#password", "value").iter().all(String::is_empty), "{:?}", page.attrs("#password", "value"));
}

/// Follows a redirect.
async fn follow(app: &TestApp, answer: &Page) -> Page {
    assert_eq!(answer.status, 303, "{}", answer.body);
    app.get(&answer.header("location")).await
}

#[tokio::test]
async fn an_admin_adds_a_connection_in_the_form_tests_it_syncs_it_after_a_dry_run_and_edits_it() {
    let mut server = Slapd::start(FIXTURE);
    let app = spawn_admin_app().await;
    let sources = app.get("/admin/directory/sources").await;
    assert_eq!(sources.link("Add an LDAP connection"), NEW);
    let form = app.get(NEW).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.attrs("#password", "type"), ["password"]);
    assert_eq!(form.attrs("#password", "autocomplete"), ["new-password"]);
    assert!(form.text("#security-plain-warning").contains("cross the network in the clear"));

    // Bad input: every problem named at its field, the values kept but the password.
    let bad = app
        .post(
            NEW,
            &fields(
                &server,
                &[
                    ("name", ""),
                    ("url", "http://ldap.example.org"),
                    ("users_base", ""),
                    ("groups_filter", "objectClass=group"),
                    ("timeout", "soon"),
                    ("password", WRONG_PASSWORD),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let summary = bad.texts(".error-summary li");
    for start in ["Name:", "URL:", "Users base DN:", "Groups filter:", "Time-out:"] {
        assert!(summary.iter().any(|s| s.starts_with(start)), "{start} in {summary:?}");
    }
    assert!(bad.text("#url-error").contains("is not an LDAP URL"));
    assert!(bad.text("#users_base-error").contains("give a DN"));
    assert!(bad.text("#timeout-error").contains("whole number of seconds"));
    assert_eq!(bad.attrs("#url", "value"), ["http://ldap.example.org"]);
    assert_eq!(bad.attrs("#groups_filter", "value"), ["objectClass=group"]);
    no_password(&bad);
    assert_eq!(app.count("sources WHERE kind = 'Ldap'"), 0);

    // Test connection tries the entered settings before saving: a wrong password…
    let wrong = app.post(NEW, &fields(&server, &[("password", WRONG_PASSWORD), ("action", "test")])).await;
    assert_eq!(wrong.status, 200, "{}", wrong.body);
    assert!(
        wrong
            .text(".test-result")
            .contains("refused the bind as cn=admin,dc=example,dc=org: check the bind DN and password"),
        "{}",
        wrong.text(".test-result")
    );
    no_password(&wrong);
    // … and the right one.
    let works = app.post(NEW, &fields(&server, &[("action", "test")])).await;
    assert_eq!(works.status, 200);
    let said = works.text(".test-result");
    assert!(said.starts_with("The connection works:") && said.contains("users") && said.contains("groups"), "{said}");
    no_password(&works);
    assert_eq!(app.count("sources WHERE kind = 'Ldap'"), 0, "testing saves nothing");

    // Saved: the page shows the settings, never the password.
    let page = follow(&app, &app.post(NEW, &fields(&server, &[("action", "save")])).await).await;
    assert!(page.text(".banner").contains("Added the LDAP connection \"Corp LDAP\""));
    assert_eq!(page.text("h1"), "Corp LDAP");
    assert_eq!(page.text("dd.password-state"), "Stored");
    assert!(page.body.contains(&server.url) && page.body.contains("(objectClass=inetOrgPerson)"), "preset filter");
    assert_eq!(page.text("dd.last-sync"), "Never");
    no_password(&page);
    let conn_url = page.link("Edit").trim_end_matches("/edit").to_owned();
    let settings: String = attest::store::sources::by_name(&mut app.conn(), "Corp LDAP").unwrap().unwrap().settings;
    assert!(!settings.contains(ADMIN_PASSWORD), "sealed");
    assert_eq!(app.count(&format!("audit_events WHERE details LIKE '%\"{ADMIN_PASSWORD}\"%'")), 0, "not audited");
    assert_eq!(app.count("audit_events WHERE action = 'LdapConnectionAdded'"), 1);
    // The same name again is refused at the name.
    let again = app.post(NEW, &fields(&server, &[("name", "corp ldap")])).await;
    assert_eq!(again.status, 400);
    assert!(again.text("#name-error").contains("There is a source named \"Corp LDAP\" already"));

    // Test connection on its page.
    let tested = follow(&app, &app.post(&format!("{conn_url}/test"), &[]).await).await;
    assert!(tested.text(".banner").starts_with("The connection works:"), "{}", tested.text(".banner"));

    // Sync now: the dry run first, with what it would add and what it leaves out.
    let dry = app.post(&format!("{conn_url}/sync"), &[]).await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let rows = dry.texts("table.sync-diff tbody tr");
    assert!(rows.iter().any(|r| r.starts_with("users 6 0 0 0")), "{rows:?}");
    assert!(rows.iter().any(|r| r.starts_with("group members 7 0 0")), "{rows:?}");
    let left = dry.text(".sync-leftovers");
    assert!(
        left.contains("1 member value is outside") && left.contains("uid=zed,ou=contractors,dc=example,dc=org"),
        "{left}"
    );
    assert!(left.contains("1 user entry has no mail attribute"), "{left}");
    assert_eq!(app.count("users WHERE upn = 'tom@example.org'"), 0, "a dry run writes nothing");
    let confirm = dry.attrs("form[action$='/sync/confirm']", "action").pop().expect("a Sync button");

    // Confirmed: synced, and the page says what changed.
    let synced = follow(&app, &app.post(&confirm, &[]).await).await;
    assert!(synced.text(".banner").contains("Synced \"Corp LDAP\". users: 6 added"), "{}", synced.text(".banner"));
    assert_ne!(synced.text("dd.last-sync"), "Never");
    let users = app.get("/admin/users?q=tom").await;
    assert!(users.texts("table td.source").contains(&"Corp LDAP".to_owned()), "{:?}", users.texts("table td.source"));
    let tom = app.get(&format!("/admin/users/{}", app.user_id("tom@example.org"))).await;
    assert_eq!(tom.text("dd.source"), "Corp LDAP");

    // Edit: the password is stored, not shown; left empty it stays.
    let edit = app.get(&format!("{conn_url}/edit")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.text("#password-hint").contains("Stored; leave empty to keep it"));
    assert_eq!(edit.attrs("#url", "value"), [server.url.clone()]);
    no_password(&edit);
    let bad_edit = app
        .post(&format!("{conn_url}/edit"), &fields(&server, &[("page_size", "0"), ("password", WRONG_PASSWORD)]))
        .await;
    assert_eq!(bad_edit.status, 400);
    assert!(bad_edit.text("#page_size-error").contains("between 1 and 5000"));
    no_password(&bad_edit);
    // Test from the edit form with the stored password.
    let stored = app.post(&format!("{conn_url}/edit"), &fields(&server, &[("password", ""), ("action", "test")])).await;
    assert!(stored.text(".test-result").starts_with("The connection works:"), "{}", stored.text(".test-result"));
    let saved = app
        .post(
            &format!("{conn_url}/edit"),
            &fields(&server, &[("password", ""), ("sync_interval", "0"), ("action", "save")]),
        )
        .await;
    let page = follow(&app, &saved).await;
    assert!(page.text(".banner").contains("Saved the changes"), "{}", page.text(".banner"));
    assert!(page.body.contains("On demand only"));
    assert_eq!(page.text("dd.password-state"), "Stored");
    // A later sync still binds with the kept password.
    server.modify(&format!("dn: {TOM}\nchangetype: modify\nreplace: title\ntitle: Senior Accountant\n"));
    let dry = app.post(&format!("{conn_url}/sync"), &[]).await;
    assert!(dry.texts("table.sync-diff tbody tr").iter().any(|r| r.starts_with("users 0 1 0")), "{}", dry.body);
    let synced = follow(&app, &app.post(&confirm, &[]).await).await;
    assert!(synced.text(".banner").contains("users: 0 added, 1 changed"), "{}", synced.text(".banner"));

    // A server that is down: the message, and nothing changed.
    server.stop();
    let down = app.post(&format!("{conn_url}/sync"), &[]).await;
    assert_eq!(down.status, 200);
    assert!(down.text(".error-summary").contains("Nothing was changed"));
    assert!(down.text(".error-summary").contains("cannot be reached"), "{}", down.text(".error-summary"));
    assert!(down.attrs("form[action$='/sync/confirm']", "action").is_empty(), "nothing to confirm");
    let failed = follow(&app, &app.post(&confirm, &[]).await).await;
    assert!(failed.text(".banner-error").contains("cannot be reached"), "{}", failed.body);
    assert!(failed.text(".source-errors").contains("A sync failed"));
    assert_ne!(failed.text("dd.last-sync"), "Never", "the last good sync stays");
    assert_eq!(app.count("users WHERE upn = 'tom@example.org'"), 1);
}

#[tokio::test]
async fn only_admins_reach_ldap_connections_and_only_with_the_forms_csrf_token() {
    let server = Slapd::start(FIXTURE);
    let app = spawn_demo_app().await;
    app.sign_in("admin").await;
    let out = add_connection(&app, &server, "Corp LDAP", &["--no-tls"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = attest::store::sources::by_name(&mut app.conn(), "Corp LDAP").unwrap().unwrap().id;
    let base = format!("/admin/directory/sources/{id}");
    // Without the CSRF token nothing happens.
    for path in [
        NEW.to_owned(),
        format!("{base}/edit"),
        format!("{base}/test"),
        format!("{base}/sync"),
        format!("{base}/sync/confirm"),
    ] {
        assert_eq!(app.post_form(&path, &fields(&server, &[])).await.status, 403, "{path}");
    }
    assert_eq!(app.count("sources WHERE kind = 'Ldap'"), 1);
    assert_eq!(app.count("users WHERE upn = 'tom@example.org'"), 0, "not synced");
    // A SCIM or local source has no LDAP settings to edit.
    assert_eq!(app.get("/admin/directory/sources/local/edit").await.status, 404);
    app.sign_out().await;
    assert_eq!(app.get(NEW).await.status, 303, "signed out: to the sign-in page");
    for persona in ["owner", "manager", "user", "guest"] {
        app.sign_in(persona).await;
        assert_eq!(app.get(NEW).await.status, 403, "{persona}");
        assert_eq!(app.get(&format!("{base}/edit")).await.status, 403, "{persona}");
        for path in [
            NEW.to_owned(),
            format!("{base}/edit"),
            format!("{base}/test"),
            format!("{base}/sync"),
            format!("{base}/sync/confirm"),
        ] {
            assert_eq!(app.post(&path, &fields(&server, &[("name", "Mine")])).await.status, 403, "{persona} {path}");
        }
        app.sign_out().await;
    }
    assert_eq!(app.count("sources WHERE kind = 'Ldap'"), 1);
    assert_eq!(app.count("users WHERE upn = 'tom@example.org'"), 0);
}

#[tokio::test]
async fn the_results_page_says_which_removals_attest_made_and_verified_in_ldap_and_flags_regrants() {
    let server = Slapd::start(FIXTURE);
    let app = spawn_admin_app().await;
    assert!(add_connection(&app, &server, "Corp LDAP", &["--no-tls"]).status.success());
    assert!(attest(&app, &["source", "sync", "Corp LDAP"], None).status.success());
    let deny = "principal_upn IN ('tom@example.org', 'lena@example.org')";
    let ids = completed(&app, &[("Finance access", &[("groups", "finance")], deny)]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await;
    assert_eq!(app.post(&format!("{url}/apply"), &[]).await.status, 303);

    let tom_row = |page: &Page| {
        page.texts("table.remediation tbody tr")
            .into_iter()
            .find(|r| r.contains("tom@example.org"))
            .unwrap_or_else(|| panic!("Tom's task: {}", page.body))
    };
    let page = app.get(&url).await;
    let row = tom_row(&page);
    assert!(row.contains("Removed in Corp LDAP, verified") && row.contains("removed by attest"), "{row}");
    assert!(!row.contains("Re-granted"), "{row}");

    // Someone adds Tom again by hand; a sync from the connection's page flags it.
    server.modify(&format!("dn: {FINANCE}\nchangetype: modify\nadd: member\nmember: {TOM}\n"));
    let id = attest::store::sources::by_name(&mut app.conn(), "Corp LDAP").unwrap().unwrap().id;
    let synced = app.post(&format!("/admin/directory/sources/{id}/sync/confirm"), &[]).await;
    assert_eq!(synced.status, 303);
    let page = app.get(&url).await;
    let row = tom_row(&page);
    assert!(row.contains("Re-granted after removal"), "{row}");
    let lena = page.texts("table.remediation tbody tr").into_iter().find(|r| r.contains("lena@example.org")).unwrap();
    assert!(lena.contains("verified") && !lena.contains("Re-granted"), "{lena}");
    // And in the CSV.
    let csv = app.get(&format!("{url}/remediation.csv")).await;
    let mut reader = csv::Reader::from_reader(csv.body.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == "RegrantedAt").expect("a RegrantedAt column");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let regranted: Vec<&str> = rows.iter().filter(|r| !r[at].is_empty()).map(|r| &r[3]).collect();
    assert_eq!(regranted, ["tom@example.org"]);
}
