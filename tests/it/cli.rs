//! The command line: wrong settings end in one clear line and a non-zero exit, never a
//! panic; `migrate` and `demo-data` do their jobs.

use std::process::{Command, Output};

use crate::helpers::TestDb;

fn attest(args: &[&str], database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("ATTEST_LOG", "warn")
        .env_remove("ATTEST_BIND")
        .output()
        .expect("the binary runs")
}

/// Asserts a failure with exactly one line on stderr containing `expected`.
fn fails_with(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(expected), "{stderr:?} should contain {expected:?}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

fn temp_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    (dir, url)
}

#[test]
fn unknown_flag_is_named() {
    let out = attest(&["serve", "--frobnicate"], "sqlite://unused.db");
    fails_with(&out, "--frobnicate");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_flag_values_are_named() {
    fails_with(&attest(&["serve", "--bind", "localhost"], "sqlite://unused.db"), "--bind");
    fails_with(&attest(&["serve", "--pool-size", "0"], "sqlite://unused.db"), "--pool-size");
    fails_with(&attest(&["demo-data", "--users", "lots"], "sqlite://unused.db"), "--users");
}

#[test]
fn unsupported_database_url_is_named() {
    fails_with(&attest(&["migrate"], "mysql://root@localhost/attest"), "DATABASE_URL: unsupported database 'mysql'");
    fails_with(&attest(&["migrate"], "attest.db"), "DATABASE_URL");
}

#[test]
fn unreachable_postgres_is_one_line() {
    let out = attest(&["migrate"], "postgres://attest:secret@127.0.0.1:1/attest");
    fails_with(&out, "cannot connect to PostgreSQL postgres://attest:***@127.0.0.1:1/attest");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"), "no password in messages");
}

#[test]
fn missing_sqlite_directory_is_named() {
    fails_with(&attest(&["migrate"], "sqlite:///no/such/dir/attest.db"), "the directory /no/such/dir does not exist");
    let dir = tempfile::tempdir().unwrap();
    fails_with(&attest(&["migrate"], &format!("sqlite://{}", dir.path().display())), "it is a directory");
}

#[test]
fn taken_port_is_named() {
    let (_dir, url) = temp_sqlite();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let out = attest(&["serve", "--bind", &format!("127.0.0.1:{port}")], &url);
    fails_with(&out, &format!("cannot listen on 127.0.0.1:{port}"));
}

#[test]
fn migrate_then_demo_data_then_refuse_a_second_load() {
    let db = TestDb::new();
    let url = db.url();
    let out = attest(&["migrate"], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration(s) applied"));
    let again = attest(&["migrate"], &url);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 migration(s) applied"));

    let out = attest(&["demo-data", "--users", "120", "--seed", "9"], &url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("120 users"), "{stdout}");
    fails_with(&attest(&["demo-data"], &url), "already has a directory (120 users)");
}

#[test]
fn bad_sign_in_settings_are_named() {
    let (_dir, url) = temp_sqlite();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_attest"));
        cmd.args(["serve", "--bind", "127.0.0.1:0"]).env("DATABASE_URL", &url).env("ATTEST_LOG", "warn");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    fails_with(&run(&[("ATTEST_SESSION_KEY", "c2hvcnQ=")]), "ATTEST_SESSION_KEY: 5 bytes is too short");
    fails_with(&run(&[("ATTEST_OIDC_ISSUER", "https://login.example.com")]), "ATTEST_OIDC_CLIENT_ID");
    fails_with(&run(&[("ATTEST_OIDC_CLIENT_ID", "x")]), "ATTEST_OIDC_ISSUER");
    fails_with(
        &run(&[
            ("ATTEST_OIDC_ISSUER", "https://login.example.com"),
            ("ATTEST_OIDC_CLIENT_ID", "x"),
            ("ATTEST_OIDC_USER_CLAIM", "upn"),
        ]),
        "ATTEST_OIDC_USER_CLAIM: unknown claim 'upn'",
    );
    fails_with(&run(&[("ATTEST_PUBLIC_URL", "attest.example.com")]), "ATTEST_PUBLIC_URL");
    fails_with(&run(&[("ATTEST_SESSION_IDLE_MINUTES", "0")]), "--session-idle-minutes");
}

/// `attest audit verify` on the database of a demo portal (which has written onboarding,
/// series and instance events), after `tamper` has been run on it.
async fn verify_after(tamper: impl FnOnce(&crate::helpers::TestApp, i64)) -> Output {
    let app = crate::helpers::spawn_admin_app().await;
    // Some events of a person too: the owners setting on and off again.
    app.post("/admin/access-reviews/settings", &[("owners_manage_reviews", "on")]).await;
    app.post("/admin/access-reviews/settings", &[]).await;
    let third: i64 = {
        use attest::db::schema::audit_events::dsl::*;
        use diesel::prelude::*;
        audit_events.order(id).offset(2).select(id).first(&mut *app.conn()).unwrap()
    };
    tamper(&app, third);
    attest(&["audit", "verify"], &app.db.url())
}

#[tokio::test]
async fn audit_verify_passes_a_clean_chain_and_names_the_first_broken_link() {
    let clean = verify_after(|_, _| {}).await;
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert!(stdout.contains("the audit trail is intact:") && stdout.contains("newest hash"), "{stdout}");

    let changed = verify_after(|app, id| {
        app.exec(&format!("UPDATE audit_events SET details = '{{}}' WHERE id = {id}"));
    })
    .await;
    fails_with(&changed, "changed after it was written");
    let stderr = String::from_utf8_lossy(&changed.stderr);
    assert!(stderr.contains("broken at event") && stderr.contains("(2 earlier event(s) are intact)"), "{stderr}");

    let deleted = verify_after(|app, id| app.exec(&format!("DELETE FROM audit_events WHERE id = {id}"))).await;
    fails_with(&deleted, "an event was deleted or inserted just before it");

    let inserted = verify_after(|app, id| {
        app.exec(&format!(
            "INSERT INTO audit_events (id, at, actor_id, actor_name, action, target_type, target_id, details, prev_hash, hash) \
             SELECT {id} * 1000, at, actor_id, actor_name, 'ForgedEvent', target_type, target_id, details, prev_hash, hash \
             FROM audit_events WHERE id = {id}"
        ));
    })
    .await;
    fails_with(&inserted, "deleted or inserted");
}

/// A newcomer who loads the demo with `demo-data` and then serves it finds the same
/// ready-to-try portal as `serve --demo`: onboarded, reviews running, personas to sign in.
#[tokio::test]
async fn demo_data_then_serve_is_ready_to_try() {
    let db = TestDb::new();
    let url = db.url();
    let out = tokio::task::spawn_blocking(move || attest(&["demo-data", "--users", "150"], &url)).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("attest serve --demo"), "says what to run next: {stdout}");
    let app = crate::helpers::Spawn { demo: true, db: Some(db), ..Default::default() }.start().await;
    app.sign_in("owner").await;
    let panel = app.get("/").await;
    assert!(panel.texts("table.my-reviews tbody tr").iter().any(|r| r.contains("Project Falcon guests")));
    app.sign_in("admin").await;
    let reviews = app.get("/admin/access-reviews").await;
    assert_eq!(reviews.status, 200);
    assert!(reviews.body.contains("Global Administrators"), "onboarded with its reviews");
}

#[test]
fn scim_tokens_are_created_listed_and_revoked_on_the_command_line() {
    let db = TestDb::new();
    let url = db.url();
    let out = attest(&["scim-token", "create", "--source", "Entra ID", "--name", "prod"], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(token.starts_with("attest_") && token.len() > 40, "{token}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown once"));

    // The source was created; a second token for it (any case of its name) joins it.
    let second = attest(&["scim-token", "create", "--source", "entra id"], &url);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert_ne!(String::from_utf8_lossy(&second.stdout).trim(), token);

    let list = attest(&["scim-token", "list", "--source", "Entra ID"], &url);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("prod") && listed.contains("never used") && listed.contains("live"), "{listed}");
    assert!(!listed.contains(&token), "a token is never shown again");

    let sources = attest(&["source", "list"], &url);
    let sources = String::from_utf8_lossy(&sources.stdout);
    assert!(sources.contains("Entra ID (SCIM provisioning): 0 users"), "{sources}");
    assert!(sources.contains("local (attest)"), "{sources}");

    let revoked = attest(&["scim-token", "revoke", "--source", "Entra ID", "prod"], &url);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    let list = attest(&["scim-token", "list", "--source", "Entra ID"], &url);
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"));
    fails_with(&attest(&["scim-token", "revoke", "--source", "Entra ID", "prod"], &url), "no live token \"prod\"");
    fails_with(&attest(&["scim-token", "list", "--source", "Okta"], &url), "no source named \"Okta\"");
    fails_with(&attest(&["scim-token", "create", "--source", "bad/name"], &url), "not \"/\"");
    fails_with(&attest(&["scim-token", "create", "--source", "local"], &url), "not a SCIM provisioning one");
}
