//! LDAP and Active Directory against a real slapd: a connection added on the command line,
//! synced in (users, managers, a locked account, nested groups, members outside the base
//! DNs), a review of an LDAP group whose denials are removed in LDAP and read back, a
//! removal granted again by hand and flagged, a server that is down while applying, and the
//! messages of a connection that cannot work. Then the hard parts: the Active Directory
//! preset against slapd speaking AD's schema, paged reads past the server's size limit,
//! hostile values from the directory, scheduled syncs, syncs racing each other and an
//! apply, and the details of applying (already gone, nested, refused).

use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{NaiveDate, TimeDelta};

use attest::domain::apply::ApplyResult;
use attest::domain::decision::Decision;
use attest::store;

use crate::apply::{completed, results_url};
use crate::helpers::{TestApp, secret_key_file, spawn_admin_app};
use crate::ldap_server::{ADMIN_DN, ADMIN_PASSWORD, FIXTURE, Options, READER_DN, READER_PASSWORD, Slapd, reader_entry};

const FINANCE: &str = "cn=finance,ou=groups,dc=example,dc=org";
const TOM: &str = "uid=tom,ou=people,dc=example,dc=org";
const LENA: &str = "uid=lena,ou=people,dc=example,dc=org";
const OMAR: &str = "uid=omar,ou=people,dc=example,dc=org";
const AUDITORS: &str = "cn=auditors,ou=groups,dc=example,dc=org";
/// The directory in Active Directory's shape (see the fixture's comments).
const AD_FIXTURE: &str = include_str!("../fixtures/ldap/ad.ldif");

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

fn at(y: i32, m: u32, d: u32, h: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
}

fn fails(out: &Output) -> String {
    assert!(!out.status.success(), "should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Adds the Active Directory connection "Corp AD" to a server loaded with the AD fixture.
fn add_ad(app: &TestApp, server: &Slapd, name: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--no-tls",
        "--preset",
        "ad",
        "--users-base",
        "OU=Staff,DC=example,DC=org",
        "--groups-base",
        "OU=Groups,DC=example,DC=org",
    ];
    args.extend_from_slice(extra);
    add_connection(app, server, name, &args)
}

fn ad_server() -> Slapd {
    Slapd::start_with(AD_FIXTURE, &Options { ad_schema: true, ..Options::default() })
}

#[tokio::test]
async fn the_active_directory_preset_reads_people_security_groups_disabled_accounts_and_last_logons() {
    let server = ad_server();
    let app = spawn_admin_app().await;
    stdout(&add_ad(&app, &server, "Corp AD", &[]));
    let test = stdout(&attest(&app, &["source", "test", "Corp AD"], None));
    assert!(test.contains("The connection works"), "{test}");

    let out = stdout(&attest(&app, &["source", "sync", "Corp AD"], None));
    // Four people; the computer account (objectClass user too) is left out by the filter,
    // not reported as a user without a userPrincipalName.
    assert!(out.contains("users: 4 added"), "{out}");
    assert!(!out.contains("without the userPrincipalName"), "{out}");
    // The two security groups, not the distribution list: slapd evaluates AD's bitwise
    // matching rule (1.2.840.113556.1.4.803) on groupType as AD does.
    assert!(out.contains("groups: 2 added"), "{out}");
    assert!(out.contains("group members: 5 added"), "{out}");
    assert_eq!(app.count("groups WHERE display_name = 'Staff Newsletter'"), 0);

    let ann = user(&app, "ann@corp.example");
    assert!(ann.enabled);
    assert_eq!(ann.last_sign_in_at, Some(at(2026, 11, 20, 8)), "lastLogonTimestamp is a FILETIME");
    assert_eq!(ann.department.as_deref(), Some("IT"));
    assert_eq!(ann.job_title.as_deref(), Some("IT Manager"));
    assert_eq!(ann.mail.as_deref(), Some("ann.admin@corp.example"));
    let bob = user(&app, "bob@corp.example");
    assert_eq!(bob.manager_id.as_deref(), Some(ann.id.as_str()));
    assert_eq!(bob.last_sign_in_at, Some(at(2026, 10, 1, 12)));
    assert!(user(&app, "carl@corp.example").enabled, "66048 has bit 2 clear");
    let dina = user(&app, "dina@corp.example");
    assert!(!dina.enabled, "514 = 512 | ACCOUNTDISABLE");
    assert_eq!(dina.last_sign_in_at, None, "0 means never");

    // The nested security group is a group-in-group membership.
    let admins = app.group_id("IT Admins");
    let helpdesk = app.group_id("Helpdesk");
    assert_eq!(
        app.count(&format!("group_member_groups WHERE group_id = '{admins}' AND member_group_id = '{helpdesk}'")),
        1
    );
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{helpdesk}'")), 2);

    // A disabled account that comes back, and a group that becomes a distribution list.
    server.modify(
        "dn: CN=Dina Gone,OU=Staff,DC=example,DC=org\nchangetype: modify\nreplace: userAccountControl\n\
         userAccountControl: 512\n\n\
         dn: CN=Helpdesk,OU=Groups,DC=example,DC=org\nchangetype: modify\nreplace: groupType\ngroupType: 4\n",
    );
    let again = stdout(&attest(&app, &["source", "sync", "Corp AD"], None));
    assert!(again.contains("users: 0 added, 1 changed"), "{again}");
    assert!(again.contains("groups: 0 added, 0 changed, 1 removed"), "{again}");
    assert!(user(&app, "dina@corp.example").enabled);
    assert_eq!(app.count("groups WHERE display_name = 'Helpdesk'"), 0);
}

/// An LDIF of `n` people under ou=people and the group cn=everyone holding all of them.
fn bulk_ldif(n: usize) -> String {
    let mut out = String::from(
        "dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,dc=example,dc=org\nobjectClass: organizationalUnit\nou: groups\n",
    );
    out.push_str(&reader_entry());
    for i in 0..n {
        out.push_str(&format!(
            "\ndn: uid=p{i},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: p{i}\ncn: Person {i}\n\
             sn: {i}\ndisplayName: Person {i}\nmail: p{i}@bulk.example\n"
        ));
    }
    out.push_str("\ndn: cn=everyone,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: everyone\n");
    for i in 0..n {
        out.push_str(&format!("member: uid=p{i},ou=people,dc=example,dc=org\n"));
    }
    out
}

#[tokio::test]
async fn a_sync_reads_past_the_servers_size_limit_in_pages() {
    const N: usize = 2500;
    let server = Slapd::start(&bulk_ldif(N));
    // The server answers at most 1,000 entries to one search of this bind user...
    let plain = server.search_as(READER_DN, READER_PASSWORD, &["-b", "ou=people,dc=example,dc=org", "1.1"]);
    assert_eq!(plain.status.code(), Some(4), "size limit exceeded: {}", String::from_utf8_lossy(&plain.stderr));
    let app = spawn_admin_app().await;
    let out = attest(
        &app,
        &[
            "source",
            "add-ldap",
            "--name",
            "Bulk reader",
            "--url",
            &server.url,
            "--no-tls",
            "--bind-dn",
            READER_DN,
            "--password-env",
            "TEST_LDAP_PASSWORD",
            "--users-base",
            "ou=people,dc=example,dc=org",
            "--groups-base",
            "ou=groups,dc=example,dc=org",
            "--page-size",
            "400",
        ],
        Some(READER_PASSWORD),
    );
    stdout(&out);
    // ... yet all 2,500 come in, a page of 400 at a time (RFC 2696).
    let synced = stdout(&attest(&app, &["source", "sync", "Bulk reader"], None));
    assert!(synced.contains(&format!("users: {N} added")), "{synced}");
    assert!(synced.contains(&format!("group members: {N} added")), "{synced}");
    assert_eq!(app.count("users WHERE upn LIKE '%@bulk.example'"), N as i64);
    let everyone = app.group_id("everyone");
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{everyone}'")), N as i64);
    let again = stdout(&attest(&app, &["source", "sync", "Bulk reader"], None));
    assert!(again.contains(&format!("users: 0 added, 0 changed, 0 removed, {N} unchanged")), "{again}");
}

fn b64(text: &str) -> String {
    BASE64.encode(text.as_bytes())
}

#[tokio::test]
async fn hostile_values_from_the_directory_are_refused_naming_the_entry_and_attribute_and_nothing_is_written() {
    let (app, server) = synced().await;
    let users_before = app.count("users");
    let members_before = app.count("group_member_users");
    let long = "x".repeat(300);
    server.modify(&format!(
        "dn: uid=mallory,ou=people,dc=example,dc=org\nchangetype: add\nobjectClass: inetOrgPerson\nuid: mallory\n\
         cn: Mallory\nsn: M\nmail: mallory@example.org\ndisplayName:: {bidi}\n\n\
         dn: uid=bell,ou=people,dc=example,dc=org\nchangetype: add\nobjectClass: inetOrgPerson\nuid: bell\n\
         cn: Bell\nsn: B\nmail: bell@example.org\ndepartmentNumber:: {control}\n\n\
         dn: uid=long,ou=people,dc=example,dc=org\nchangetype: add\nobjectClass: inetOrgPerson\nuid: long\n\
         cn: Long\nsn: L\nmail: long@example.org\ntitle: {long}\n\n\
         dn: uid=noat,ou=people,dc=example,dc=org\nchangetype: add\nobjectClass: inetOrgPerson\nuid: noat\n\
         cn: No At\nsn: N\nmail: noat.example.org\n\n\
         dn: {TOM}\nchangetype: modify\nreplace: title\ntitle: Chief\n",
        bidi = b64("Invoice\u{202e}fdp.exe"),
        control = b64("Fin\u{1b}[31mance"),
    ));
    let err = fails(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    assert!(err.contains("4 problem(s)"), "{err}");
    for expected in [
        "entry uid=mallory,ou=people,dc=example,dc=org: displayName: the value holds the bidirectional control U+202E",
        "entry uid=bell,ou=people,dc=example,dc=org: departmentNumber: the value holds the control character U+001B",
        "entry uid=long,ou=people,dc=example,dc=org: title: the value is 300 characters long",
        "entry uid=noat,ou=people,dc=example,dc=org: mail: \"noat.example.org\" is not a userPrincipalName",
    ] {
        assert!(err.contains(expected), "{err}\nshould contain {expected}");
    }
    // Nothing was written, not even the harmless change.
    assert_eq!(app.count("users"), users_before);
    assert_eq!(app.count("group_member_users"), members_before);
    assert_eq!(user(&app, "tom@example.org").job_title.as_deref(), Some("Accountant"));
    // The connection's page shows the refusal.
    let source = store::sources::by_name(&mut app.conn(), "Corp LDAP").unwrap().unwrap();
    let page = app.get(&format!("/admin/directory/sources/{}", source.id)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("refused with 4 problem(s)"), "{}", page.body);
    assert!(page.body.contains("uid=mallory,ou=people,dc=example,dc=org"), "the error names the entry");
    assert!(!page.body.contains('\u{202e}'), "the bidi override is never shown as is");
    assert!(source.sync_attempted_at.is_some());
}

#[tokio::test]
async fn a_scheduled_sync_runs_on_its_interval_and_a_failing_one_is_recorded_without_stopping_the_tick() {
    let mut failing = Slapd::start(FIXTURE);
    let ad = ad_server();
    let app = spawn_admin_app().await;
    // Ticks run in name order: the connection that will fail comes first.
    stdout(&add_connection(&app, &failing, "A directory", &["--no-tls", "--sync-interval", "60"]));
    stdout(&add_ad(&app, &ad, "B directory", &["--sync-interval", "60"]));
    stdout(&add_ad(&app, &ad, "On demand", &["--sync-interval", "0"]));
    let tick = || crate::scheduler::tick(&app);
    let source = |name: &str| store::sources::by_name(&mut app.conn(), name).unwrap().unwrap();

    assert_eq!(tick().synced, 2, "both interval connections sync the first time; on-demand ones never do");
    assert!(store::users::by_upn(&mut app.conn(), "tom@example.org").unwrap().is_some());
    assert!(store::users::by_upn(&mut app.conn(), "ann@corp.example").unwrap().is_some());
    let first = app.clock_now();
    assert_eq!(source("A directory").synced_at, Some(first));
    assert_eq!(tick().synced, 0, "not again until the interval has passed");
    app.clock.advance(TimeDelta::minutes(59));
    assert_eq!(tick().synced, 0);
    app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(tick().synced, 2, "60 minutes after the last attempt");
    let second = app.clock_now();
    assert_eq!(app.count("audit_events WHERE action = 'DirectorySynced'"), 4);

    // The first server goes down: its sync fails, is recorded, keeps the last good sync,
    // and the other connection still syncs in the same tick.
    failing.stop();
    app.clock.advance(TimeDelta::minutes(60));
    assert_eq!(tick().synced, 1);
    let a = source("A directory");
    assert_eq!(a.synced_at, Some(second), "the last good sync is kept");
    assert_eq!(a.sync_attempted_at, Some(app.clock_now()));
    assert_eq!(source("B directory").synced_at, Some(app.clock_now()));
    let errors: Vec<String> =
        store::sources::recent_errors(&mut app.conn(), &a.id, 10).unwrap().into_iter().map(|e| e.message).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("A sync failed") && errors[0].contains("cannot be reached"), "{errors:?}");
    assert!(store::users::by_upn(&mut app.conn(), "tom@example.org").unwrap().is_some(), "nothing was removed");
    // Attempts, not successes, set the pace: no retry storm while the server is down.
    app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(tick().synced, 0);
    failing.restart();
    app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(tick().synced, 2);
    assert_eq!(source("A directory").synced_at, Some(app.clock_now()));
}

/// Starts `attest source sync NAME` without waiting for it.
fn spawn_sync(app: &TestApp, name: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["source", "sync", name])
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .env("ATTEST_SECRET_KEY_FILE", secret_key_file())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

#[tokio::test]
async fn syncs_of_one_connection_at_once_queue_and_leave_no_duplicates() {
    let server = Slapd::start(FIXTURE);
    let app = spawn_admin_app().await;
    stdout(&add_connection(&app, &server, "Corp LDAP", &["--no-tls"]));
    for round in 0..2 {
        if round == 1 {
            server.modify(&format!("dn: {TOM}\nchangetype: modify\nreplace: title\ntitle: Controller\n"));
        }
        let children: Vec<_> = (0..3).map(|_| spawn_sync(&app, "Corp LDAP")).collect();
        for child in children {
            stdout(&child.wait_with_output().unwrap());
        }
    }
    assert_eq!(app.count("users WHERE upn = 'tom@example.org'"), 1);
    assert_eq!(user(&app, "tom@example.org").job_title.as_deref(), Some("Controller"));
    let finance = app.group_id("finance");
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{finance}'")), 4);
    assert_eq!(app.count(&format!("group_member_groups WHERE group_id = '{finance}'")), 1);
    let source = store::sources::by_name(&mut app.conn(), "Corp LDAP").unwrap().unwrap();
    let holdings = store::sources::holdings(&mut app.conn(), &source.id).unwrap();
    assert_eq!((holdings.users, holdings.groups), (6, 2));
    assert_eq!(app.count("audit_events WHERE action = 'DirectorySynced'"), 6);
    assert_eq!(app.count(&format!("source_errors WHERE source_id = '{}'", source.id)), 0);
}

#[tokio::test]
async fn a_sync_while_a_review_is_applied_leaves_the_removals_made_and_flags_nothing() {
    let (app, server) = synced().await;
    let deny = "principal_upn IN ('tom@example.org', 'lena@example.org')";
    let ids = completed(&app, &[("Finance access", &[("groups", "finance")], deny)]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await;
    // A change for the sync to write, while the apply removes Tom and Lena.
    server.modify(&format!("dn: {OMAR}\nchangetype: modify\nreplace: title\ntitle: Auditor\n"));
    let syncs: Vec<_> = (0..2).map(|_| spawn_sync(&app, "Corp LDAP")).collect();
    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    for child in syncs {
        stdout(&child.wait_with_output().unwrap());
    }
    let items = store::instances::items(&mut app.conn(), &ids[0], 1000).unwrap();
    assert!(
        items
            .iter()
            .filter(|i| i.decision == Decision::Deny)
            .all(|i| i.apply_result == ApplyResult::AppliedSuccessfully),
        "{items:?}"
    );
    assert!(!server.values(FINANCE, "member").iter().any(|m| m == TOM || m == LENA));
    // Whatever order they ran in, the next sync agrees with the directory, and no removal
    // is mistaken for a grant made again.
    stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    let finance = app.group_id("finance");
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{finance}'")), 2);
    assert_eq!(app.count("users WHERE upn = 'tom@example.org'"), 1);
    assert_eq!(user(&app, "omar@example.org").job_title.as_deref(), Some("Auditor"));
    assert_eq!(app.count("audit_events WHERE action = 'AccessRegranted'"), 0);
    assert_eq!(app.count("remediation_tasks WHERE regranted_at IS NOT NULL"), 0);
}

#[tokio::test]
async fn the_last_member_of_an_openldap_group_is_kept_with_a_message_saying_why() {
    let (app, server) = synced().await;
    // auditors is a groupOfUniqueNames of Omar and Ivy: the server keeps at least one.
    let deny = "principal_upn IN ('omar@example.org', 'ivy@example.org')";
    let ids = completed(&app, &[("Auditors access", &[("groups", "auditors")], deny)]).await;
    let url = results_url(&app, &ids[0]);
    app.sign_in("admin").await;
    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(server.values("cn=auditors,ou=groups,dc=example,dc=org", "uniqueMember").len(), 1);
    let items = store::instances::items(&mut app.conn(), &ids[0], 1000).unwrap();
    let denied: Vec<_> = items.iter().filter(|i| i.decision == Decision::Deny).collect();
    assert_eq!(denied.iter().filter(|i| i.apply_result == ApplyResult::AppliedSuccessfully).count(), 1, "{denied:?}");
    let kept = denied.iter().find(|i| i.apply_result == ApplyResult::New).expect("the last member stays to apply");
    assert!(kept.apply_detail.contains("must keep one member"), "{}", kept.apply_detail);
    let page = app.get(&url).await;
    assert!(page.body.contains("must keep one member"), "the results page says why");
}

#[tokio::test]
async fn applying_says_already_gone_names_the_nested_group_and_keeps_a_refused_write_to_retry() {
    // A writer that may change everything but Lena's membership of finance.
    let writer = "cn=writer,dc=example,dc=org";
    let config = format!(
        "access to attrs=userPassword by anonymous auth by * none\n\
         access to dn.base=\"{FINANCE}\" attrs=member val.base=\"{LENA}\" by * read\n\
         access to * by dn.exact=\"{writer}\" write by * read\n"
    );
    let fixture = format!("{FIXTURE}\ndn: {writer}\nobjectClass: person\ncn: writer\nsn: writer\nuserPassword: w\n");
    let server = Slapd::start_with(&fixture, &Options { config: &config, ..Options::default() });
    let app = spawn_admin_app().await;
    let out = attest(
        &app,
        &[
            "source",
            "add-ldap",
            "--name",
            "Corp LDAP",
            "--url",
            &server.url,
            "--no-tls",
            "--bind-dn",
            writer,
            "--password-env",
            "TEST_LDAP_PASSWORD",
            "--users-base",
            "ou=people,dc=example,dc=org",
            "--groups-base",
            "ou=groups,dc=example,dc=org",
        ],
        Some("w"),
    );
    stdout(&out);
    stdout(&attest(&app, &["source", "sync", "Corp LDAP"], None));
    // Tom, Lena and Maria are denied directly; Omar through auditors.
    let deny = "principal_upn IN ('tom@example.org', 'lena@example.org', 'maria@example.org', 'omar@example.org')";
    let ids = completed(&app, &[("Finance access", &[("groups", "finance")], deny)]).await;
    let url = results_url(&app, &ids[0]);
    // Someone removes Maria by hand before the apply.
    server.modify(&format!(
        "dn: {FINANCE}\nchangetype: modify\ndelete: member\nmember: uid=maria,ou=people,dc=example,dc=org\n"
    ));
    app.sign_in("admin").await;
    let preview = app.get(&format!("{url}/apply")).await;
    assert_eq!(preview.status, 200);
    let omar_row = preview.texts("table.items tbody tr").into_iter().find(|r| r.contains("Omar")).expect("Omar's row");
    assert!(omar_row.contains("nested group auditors"), "{omar_row}");
    let done = app.post(&format!("{url}/apply"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);

    let items = store::instances::items(&mut app.conn(), &ids[0], 1000).unwrap();
    let result = |upn: &str| items.iter().find(|i| i.principal_upn == upn).unwrap_or_else(|| panic!("{upn}"));
    assert_eq!(result("tom@example.org").apply_result, ApplyResult::AppliedSuccessfully);
    let maria = result("maria@example.org");
    assert_eq!(maria.apply_result, ApplyResult::AppliedSuccessfullyButObjectNotFound);
    assert!(maria.apply_detail.contains("already gone"), "{}", maria.apply_detail);
    let omar = result("omar@example.org");
    assert_eq!(omar.apply_result, ApplyResult::ApplyNotSupported);
    assert!(omar.apply_detail.contains("nested group auditors"), "{}", omar.apply_detail);
    let lena = result("lena@example.org");
    assert_eq!(lena.apply_result, ApplyResult::New);
    assert!(
        lena.apply_detail.contains("Not removed in the directory yet") && lena.apply_detail.contains("result code 50"),
        "{}",
        lena.apply_detail
    );
    // In LDAP: Tom gone, Lena kept (refused), Omar still in auditors, auditors still in finance.
    let members = server.values(FINANCE, "member");
    assert!(!members.iter().any(|m| m == TOM) && members.iter().any(|m| m == LENA), "{members:?}");
    assert!(members.iter().any(|m| m == AUDITORS), "{members:?}");
    assert!(server.values(AUDITORS, "uniqueMember").iter().any(|m| m == OMAR));
    // The results page shows why Lena's removal waits; the review is not applied yet.
    let page = app.get(&url).await;
    assert!(page.body.contains("Insufficient access") || page.body.contains("result code 50"), "{}", page.body);
    assert_ne!(store::instances::get(&mut app.conn(), &ids[0]).unwrap().unwrap().status.to_string(), "Applied");
}
