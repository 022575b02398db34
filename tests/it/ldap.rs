//! LDAP and Active Directory against a real slapd: a connection added on the command line,
//! synced in (users, managers, a locked account, nested groups, members outside the base
//! DNs), a review of an LDAP group whose denials are removed in LDAP and read back, a
//! removal granted again by hand and flagged, a server that is down while applying, and the
//! messages of a connection that cannot work.

use std::process::{Command, Output};

use attest::domain::apply::ApplyResult;
use attest::domain::decision::Decision;
use attest::store;

use crate::apply::{completed, results_url};
use crate::helpers::{TestApp, secret_key_file, spawn_admin_app};
use crate::ldap_server::{ADMIN_DN, ADMIN_PASSWORD, FIXTURE, Slapd};

const FINANCE: &str = "cn=finance,ou=groups,dc=example,dc=org";
const TOM: &str = "uid=tom,ou=people,dc=example,dc=org";
const LENA: &str = "uid=lena,ou=people,dc=example,dc=org";

/// Runs `attest` on the app's database with the test process's secret key.
pub(crate) fn attest(app: &TestApp, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attest"));
    cmd.args(args)
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .env("ATTEST_SECRET_KEY_FILE", secret_key_file());
    if let Some(p) = password {
        cmd.env("TEST_LDAP_PASSWORD", p);
    }
    cmd.output().expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "attest failed: {}{text}", String::from_utf8_lossy(&out.stderr));
    text
}

/// Adds the connection `name` to `server` as an admin would, with the OpenLDAP preset;
/// `extra` flags replace the defaults of the same name.
pub(crate) fn add_connection(app: &TestApp, server: &Slapd, name: &str, extra: &[&str]) -> Output {
    let defaults = [
        ("--name", name),
        ("--url", server.url.as_str()),
        ("--preset", "openldap"),
        ("--bind-dn", ADMIN_DN),
        ("--password-env", "TEST_LDAP_PASSWORD"),
        ("--users-base", "ou=people,dc=example,dc=org"),
        ("--groups-base", "ou=groups,dc=example,dc=org"),
        ("--timeout", "5"),
    ];
    let mut args = vec!["source", "add-ldap"];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    attest(app, &args, Some(ADMIN_PASSWORD))
}

/// A synced connection "Corp LDAP" on a fresh server.
async fn synced() -> (TestApp, Slapd) {
    let server = Slapd::start(FIXTURE);
    let app = spawn_admin_app().await;
    stdout(&add_connection(&app, &server, "Corp LDAP", &["--no-tls"]));
    stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    (app, server)
}

fn user(app: &TestApp, upn: &str) -> attest::store::users::UserRow {
    store::users::by_upn(&mut app.conn(), upn).unwrap().unwrap_or_else(|| panic!("{upn} was synced"))
}

#[tokio::test]
async fn a_sync_brings_people_managers_locked_accounts_and_nested_groups_and_reports_what_it_left_out() {
    let server = Slapd::start(FIXTURE);
    let app = spawn_admin_app().await;
    let added = stdout(&add_connection(&app, &server, "Corp LDAP", &["--no-tls"]));
    assert!(added.contains("Added the LDAP connection"), "{added}");
    // The password is stored sealed, never as given.
    let settings: String = store::sources::by_name(&mut app.conn(), "Corp LDAP").unwrap().unwrap().settings;
    assert!(!settings.contains(ADMIN_PASSWORD) && settings.contains("\"password\":\"v1:"), "{settings}");

    let test = stdout(&attest(&app, &["source", "test", "Corp LDAP"], None));
    assert!(test.contains("The connection works"), "{test}");

    // A dry run shows the difference and writes nothing.
    let dry = stdout(&attest(&app, &["source", "sync", "Corp LDAP", "--dry-run"], None));
    assert!(dry.contains("users: 6 added, 0 changed, 0 removed"), "{dry}");
    assert!(dry.contains("group members: 7 added"), "{dry}");
    assert!(dry.contains("1 user entr(ies) without the mail attribute were not synced"), "{dry}");
    assert!(dry.contains("1 member value(s) are outside") && dry.contains("uid=zed,ou=contractors"), "{dry}");
    assert!(dry.contains("Dry run: nothing was written"), "{dry}");
    assert!(store::users::by_upn(&mut app.conn(), "tom@example.org").unwrap().is_none());

    let out = stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    assert!(out.contains("users: 6 added"), "{out}");
    let tom = user(&app, "tom@example.org");
    let maria = user(&app, "maria@example.org");
    assert_eq!(tom.manager_id.as_deref(), Some(maria.id.as_str()));
    assert_eq!(tom.department.as_deref(), Some("Finance"));
    assert!(tom.enabled);
    assert!(!user(&app, "gus@example.org").enabled, "pwdAccountLockedTime means disabled");
    // The nested group is a group-in-group membership: reviews show "via auditors".
    let finance = app.group_id("finance");
    let auditors = app.group_id("auditors");
    assert_eq!(
        app.count(&format!("group_member_groups WHERE group_id = '{finance}' AND member_group_id = '{auditors}'")),
        1
    );

    // Again: nothing changes.
    let again = stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    assert!(again.contains("users: 0 added, 0 changed, 0 removed, 6 unchanged"), "{again}");

    // Changes in the directory come in: a new title, a member removed, a person deleted.
    server.modify(&format!(
        "dn: {TOM}\nchangetype: modify\nreplace: title\ntitle: Senior Accountant\n\n\
         dn: {FINANCE}\nchangetype: modify\ndelete: member\nmember: {LENA}\n\n\
         dn: uid=ivy,ou=people,dc=example,dc=org\nchangetype: delete\n"
    ));
    let changed = stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    assert!(changed.contains("users: 0 added, 1 changed, 1 removed"), "{changed}");
    assert!(changed.contains("tom@example.org (jobTitle)"), "{changed}");
    assert!(changed.contains("group members: 0 added, 0 changed, 2 removed"), "{changed}");
    assert_eq!(user(&app, "tom@example.org").job_title.as_deref(), Some("Senior Accountant"));
    assert!(store::users::by_upn(&mut app.conn(), "ivy@example.org").unwrap().is_none());
    assert_eq!(app.count("audit_events WHERE action = 'DirectorySynced'"), 3);
}

#[tokio::test]
async fn denied_members_of_an_ldap_group_are_removed_in_ldap_read_back_and_a_regrant_is_flagged() {
    let (app, server) = synced().await;
    let deny = "principal_upn IN ('tom@example.org', 'lena@example.org')";
    let ids = completed(&app, &[("Finance access", &[("groups", "finance")], deny)]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await;
    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);

    // Exactly those two values are gone from LDAP, as ldapsearch sees it.
    let mut members = server.values(FINANCE, "member");
    members.sort();
    assert_eq!(
        members,
        vec![
            "cn=auditors,ou=groups,dc=example,dc=org",
            "uid=gone,ou=people,dc=example,dc=org",
            "uid=maria,ou=people,dc=example,dc=org",
            "uid=zed,ou=contractors,dc=example,dc=org",
        ]
    );
    let items = store::instances::items(&mut app.conn(), &ids[0], 1000).unwrap();
    let denied: Vec<_> = items.iter().filter(|i| i.decision == Decision::Deny).collect();
    assert_eq!(denied.len(), 2);
    assert!(denied.iter().all(|i| i.apply_result == ApplyResult::AppliedSuccessfully), "{denied:?}");
    assert_eq!(app.count("audit_events WHERE action = 'LdapWrite'"), 2);
    // Read back: both removals are verified.
    assert_eq!(app.count("remediation_tasks WHERE removed_at_source_at IS NOT NULL AND regranted_at IS NULL"), 2);
    assert_eq!(store::instances::get(&mut app.conn(), &ids[0]).unwrap().unwrap().status.to_string(), "Applied");

    // Someone adds Tom again by hand; the next sync flags it.
    server.modify(&format!("dn: {FINANCE}\nchangetype: modify\nadd: member\nmember: {TOM}\n"));
    stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    assert_eq!(app.count("remediation_tasks WHERE regranted_at IS NOT NULL"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'AccessRegranted'"), 1);
    // A second sync does not flag it twice.
    stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    assert_eq!(app.count("audit_events WHERE action = 'AccessRegranted'"), 1);
}

#[tokio::test]
async fn a_server_down_while_applying_leaves_the_items_to_apply_and_the_next_apply_finishes_them() {
    let (app, mut server) = synced().await;
    let deny = "principal_upn IN ('tom@example.org', 'lena@example.org')";
    let ids = completed(&app, &[("Finance access", &[("groups", "finance")], deny)]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await;
    server.stop();
    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let items = store::instances::items(&mut app.conn(), &ids[0], 1000).unwrap();
    for item in items.iter().filter(|i| i.decision == Decision::Deny) {
        assert_eq!(item.apply_result, ApplyResult::New);
        assert!(item.apply_detail.contains("cannot be reached"), "{}", item.apply_detail);
    }
    // Nothing was removed from attest's copy either.
    let finance = app.group_id("finance");
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{finance}'")), 4);
    let page = app.get(&url).await;
    assert!(page.body.contains("cannot be reached"), "the error is shown on the results page");

    server.restart();
    crate::scheduler::tick(&app);
    let items = store::instances::items(&mut app.conn(), &ids[0], 1000).unwrap();
    assert!(
        items
            .iter()
            .filter(|i| i.decision == Decision::Deny)
            .all(|i| i.apply_result == ApplyResult::AppliedSuccessfully),
        "{items:?}"
    );
    assert!(!server.values(FINANCE, "member").iter().any(|m| m == TOM || m == LENA));
    assert_eq!(store::instances::get(&mut app.conn(), &ids[0]).unwrap().unwrap().status.to_string(), "Applied");
}

#[tokio::test]
async fn a_connection_that_cannot_work_says_exactly_what_failed() {
    let server = Slapd::start(FIXTURE);
    let app = spawn_admin_app().await;
    let fails = |name: &str, expected: &str| {
        let out = attest(&app, &["source", "test", name], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} should fail");
        assert!(stderr.contains(expected), "{name}: {stderr:?} should contain {expected:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    };
    let wrong = attest(
        &app,
        &[
            "source",
            "add-ldap",
            "--name",
            "Wrong password",
            "--url",
            &server.url,
            "--no-tls",
            "--bind-dn",
            ADMIN_DN,
            "--password-env",
            "TEST_LDAP_PASSWORD",
            "--users-base",
            "ou=people,dc=example,dc=org",
            "--groups-base",
            "ou=groups,dc=example,dc=org",
        ],
        Some("not the password"),
    );
    stdout(&wrong);
    fails("Wrong password", "refused the bind as cn=admin,dc=example,dc=org: check the bind DN and password");
    stdout(&add_connection(&app, &server, "Wrong base", &["--no-tls", "--users-base", "ou=staff,dc=example,dc=org"]));
    fails("Wrong base", "the users base DN ou=staff,dc=example,dc=org was not found");
    // StartTLS (the default for ldap://) against a server without TLS.
    stdout(&add_connection(&app, &server, "Needs TLS", &[]));
    fails("Needs TLS", "refused StartTLS");
    let ldaps = server.url.replace("ldap://", "ldaps://");
    stdout(&add_connection(&app, &server, "LDAPS", &["--url", &ldaps]));
    fails("LDAPS", "TLS with ldaps://");
    stdout(&add_connection(&app, &server, "No match", &["--no-tls", "--users-filter", "(uid=nobody)"]));
    fails("No match", "no entries matched the users filter (uid=nobody)");
    let mut stopped = Slapd::start(FIXTURE);
    stdout(&add_connection(&app, &stopped, "Down", &["--no-tls"]));
    stopped.stop();
    fails("Down", "cannot be reached");
    // A failed sync changes nothing and shows on the connection.
    let out = attest(&app, &["source", "sync", "Down"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was synced"));
    let down = store::sources::by_name(&mut app.conn(), "Down").unwrap().unwrap();
    assert!(down.sync_attempted_at.is_some() && down.synced_at.is_none());
    assert_eq!(app.count(&format!("source_errors WHERE source_id = '{}'", down.id)), 1);
}
