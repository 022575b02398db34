//! Benchmark: syncing an OpenLDAP directory (Debian's slapd, started here on a random port)
//! of 100k people and 10k groups, and applying 10k denials back to it — each next to its
//! floor measured in the same run against the same server:
//!
//! - sync: `ldapsearch` with the same paged-results control, bases, filters and attributes,
//!   its LDIF written to /dev/null (reading the directory and nothing else);
//! - apply: `ldapmodify` deleting the same 10k member values, one modify each, over one
//!   connection (the writes alone, without attest's read-first, read-back and records).
//!
//! `cargo bench --bench ldap_sync` (SQLite); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL and
//! `ATTEST_BENCH_USERS` (100000), `ATTEST_BENCH_GROUPS` (10000), `ATTEST_BENCH_MEMBERS`
//! (members per group, 20) and `ATTEST_BENCH_DENIALS` (10000) for other sizes. Needs
//! `slapd` and `ldap-utils`. Prints numbers and peak memory; asserts nothing.

#![expect(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a bench fails loudly")]

#[expect(dead_code, reason = "shared by the benches; each uses a part")]
mod common;
#[expect(dead_code, reason = "the tests' slapd; the bench uses a part")]
#[path = "../tests/it/ldap_server.rs"]
mod ldap_server;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use attest::db;
use attest::demo::{self, DemoOptions, personas};
use attest::service::actor::Actor;
use attest::service::ldap::{self, ConnectionInput};
use attest::sources::ldap::{LdapConfig, Preset, Security};
use chrono::{NaiveDate, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use ldap_server::{ADMIN_DN, ADMIN_PASSWORD, Slapd};

const PEOPLE: &str = "ou=people,dc=example,dc=org";
const GROUPS: &str = "ou=groups,dc=example,dc=org";
const BIG: &str = "cn=bench-apply,ou=groups,dc=example,dc=org";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn user_dn(i: usize) -> String {
    format!("uid=u{i},{PEOPLE}")
}

/// The directory: people with a manager each (the first of every ten manages the other
/// nine), `groups` groups of `members` people each, and one group of `denials` people and
/// one more (an OpenLDAP groupOfNames keeps at least one member).
fn directory(users: usize, groups: usize, members: usize, denials: usize) -> String {
    let mut l = String::with_capacity(users * 300 + groups * members * 40);
    l.push_str("dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n");
    let _ = write!(l, "dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n");
    let _ = write!(l, "dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n");
    for i in 0..users {
        let _ = write!(
            l,
            "dn: {dn}\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: User {i}\nsn: {i}\ngivenName: User\n\
             displayName: User {i}\nmail: u{i}@example.org\ndepartmentNumber: D{d}\ntitle: Engineer\n\
             employeeNumber: {i}\n",
            dn = user_dn(i),
            d = i % 50,
        );
        if i % 10 != 0 {
            let _ = writeln!(l, "manager: {}", user_dn(i - i % 10));
        }
        l.push('\n');
    }
    for g in 0..groups {
        let _ = write!(l, "dn: cn=g{g},{GROUPS}\nobjectClass: groupOfNames\ncn: g{g}\ndescription: Group {g}\n");
        for m in 0..members {
            let _ = writeln!(l, "member: {}", user_dn((g * members + m * 7) % users));
        }
        l.push('\n');
    }
    let _ = write!(l, "dn: {BIG}\nobjectClass: groupOfNames\ncn: bench-apply\n");
    for i in 0..=denials.min(users - 1) {
        let _ = writeln!(l, "member: {}", user_dn(i));
    }
    l
}

/// Runs one of ldap-utils bound as the administrator; returns the seconds it took.
fn ldap_tool(url: &str, tool: &str, args: &[&str], stdin: Option<&str>) -> f64 {
    let mut cmd = Command::new(tool);
    cmd.args(["-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD]).args(args);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let t = Instant::now();
    let mut child = cmd.spawn().expect("ldap-utils are installed");
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    t.elapsed().as_secs_f64()
}

/// This process's peak resident memory, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() {
    let users = env("ATTEST_BENCH_USERS", 100_000);
    let groups = env("ATTEST_BENCH_GROUPS", 10_000);
    let members = env("ATTEST_BENCH_MEMBERS", 20);
    let denials = env("ATTEST_BENCH_DENIALS", 10_000).min(users - 1);
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();

    let t = Instant::now();
    let server = Slapd::start(&directory(users, groups, members, denials));
    println!(
        "slapd loaded with {users} people, {} groups, {} memberships: {:.1} s",
        groups + 1,
        groups * members + denials + 1,
        t.elapsed().as_secs_f64()
    );

    let db = common::BenchDb::new("ldap-sync");
    let mut conn = db::establish(&db.target).expect("database opens");
    db::migrate(&mut conn).expect("migrations run");
    println!("backend: {}", db.target.describe());
    // A small demo directory for the admin who reviews; the LDAP people come on top.
    demo::seed(&mut conn, &demo::generate(DemoOptions { users: 50, ..DemoOptions::default() }, now)).unwrap();
    let admin = attest::store::users::by_upn(&mut conn, personas::ADMIN).unwrap().unwrap();
    attest::service::onboarding::onboard(&mut conn, &admin, now).unwrap();
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::remove_file(key.path()).unwrap();
    attest::auth::secrets::configure(key.path().to_path_buf());
    let preset = Preset::Openldap;
    let config = LdapConfig {
        url: server.url.clone(),
        security: Security::Plain,
        bind_dn: ADMIN_DN.into(),
        password: String::new(),
        preset,
        users_base: PEOPLE.into(),
        users_filter: preset.users_filter().into(),
        groups_base: GROUPS.into(),
        groups_filter: preset.groups_filter().into(),
        mapping: preset.mapping(),
        sync_interval_minutes: 0,
        timeout_seconds: 120,
        page_size: 500,
    };
    let input =
        ConnectionInput { name: "Bench LDAP".into(), config: config.clone(), password: Some(ADMIN_PASSWORD.into()) };
    ldap::add(&mut conn, input, Actor::CommandLine, now).unwrap();

    // The floor of a sync: the same searches, paged the same way, output thrown away.
    let search = |base: &str, filter: &str, attrs: &[String]| {
        let mut args = vec!["-LLL", "-E", "pr=500/noprompt", "-b", base, filter];
        args.extend(attrs.iter().map(String::as_str));
        ldap_tool(&server.url, "ldapsearch", &args, None)
    };
    let floor_read = search(PEOPLE, &config.users_filter, &config.mapping.user_attributes())
        + search(GROUPS, &config.groups_filter, &config.mapping.group_attributes());
    println!("floor: ldapsearch of the same entries, paged by 500: {floor_read:.2} s");

    let sync = |conn: &mut db::DbConnection, at| {
        let t = Instant::now();
        let report = ldap::sync(conn, "Bench LDAP", false, Actor::CommandLine, at).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let summary: Vec<String> = report
            .import
            .kinds
            .iter()
            .map(|k| format!("{}: +{} ~{} -{}", k.kind.slug(), k.added, k.changed, k.removed))
            .collect();
        (secs, summary.join(", "))
    };
    let (first, what) = sync(&mut conn, now);
    println!(
        "first sync ({what}): {first:.2} s, {:.2}× the floor; peak RSS {:.0} MiB",
        first / floor_read,
        peak_rss_mib()
    );
    let (again, what) = sync(&mut conn, now + TimeDelta::hours(1));
    println!("sync with nothing changed ({what}): {again:.2} s, {:.2}× the floor", again / floor_read);

    // Applying: a review of the big group, every member but the last denied.
    common::create_group_review(&mut conn, "Bench LDAP apply", "bench-apply", now);
    attest::scheduler::tick(&mut conn, now).unwrap();
    let instance: String = {
        use attest::db::schema::review_instances;
        review_instances::table
            .filter(review_instances::resource_name.eq("bench-apply"))
            .select(review_instances::id)
            .first(&mut conn)
            .unwrap()
    };
    conn.batch_execute(&format!(
        "UPDATE review_decision_items SET decision = 'Deny' WHERE instance_id = '{instance}' \
         AND principal_upn <> 'u{denials}@example.org'"
    ))
    .unwrap();
    attest::scheduler::tick(&mut conn, now + TimeDelta::days(15)).unwrap();

    // The floor of applying: the same deletions, one modify each, over one connection.
    let mut deletions = String::new();
    let mut additions = format!("dn: {BIG}\nchangetype: modify\nadd: member\n");
    for i in 0..denials {
        let _ = write!(deletions, "dn: {BIG}\nchangetype: modify\ndelete: member\nmember: {}\n\n", user_dn(i));
        let _ = writeln!(additions, "member: {}", user_dn(i));
    }
    let floor_write = ldap_tool(&server.url, "ldapmodify", &[], Some(&deletions));
    println!("floor: ldapmodify deleting {denials} member values one modify each: {floor_write:.2} s");
    ldap_tool(&server.url, "ldapmodify", &[], Some(&additions));

    let t = Instant::now();
    let summary = attest::service::apply::apply(
        &mut conn,
        &instance,
        attest::service::actor::Actor::Person(&admin),
        now + TimeDelta::days(15),
    )
    .unwrap()
    .unwrap();
    let apply_secs = t.elapsed().as_secs_f64();
    let verified: i64 = {
        use attest::db::schema::remediation_tasks;
        remediation_tasks::table
            .filter(remediation_tasks::instance_id.eq(&instance))
            .filter(remediation_tasks::removed_at_source_at.is_not_null())
            .count()
            .get_result(&mut conn)
            .unwrap()
    };
    println!(
        "apply: {} removed in LDAP, {verified} verified by reading back: {apply_secs:.2} s, {:.2}× the floor",
        summary.applied,
        apply_secs / floor_write
    );
    drop(conn);
    drop(db);
    drop(server);
}
