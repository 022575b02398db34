//! Benchmark: applying 50k denials (a group of 50k direct members from the 100k demo, all
//! denied) next to the floor — a raw `DELETE FROM group_member_users WHERE …` of the same
//! rows in one statement. The apply also stores each item's result and writes one chained
//! audit event per item, in batches; its phases are logged.
//!
//! `cargo bench --bench apply` (SQLite); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL and
//! `ATTEST_BENCH_USERS` / `ATTEST_BENCH_DENIALS` / `ATTEST_BENCH_BATCH` (items per
//! transaction) for other sizes. Prints numbers; asserts nothing.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a bench fails loudly")]

#[expect(dead_code, reason = "shared by the benches; each uses a part")]
mod common;

use std::time::Instant;

use attest::db::{self, DbConnection};
use attest::demo::{self, DemoOptions, personas};
use attest::store;
use attest::store::groups::GroupRow;
use chrono::{NaiveDate, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

fn main() {
    let users: usize = std::env::var("ATTEST_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let denials: usize = std::env::var("ATTEST_BENCH_DENIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let db = common::BenchDb::new("apply");
    let target = db.target.clone();
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let mut conn = db::establish(&target).expect("database opens");
    db::migrate(&mut conn).expect("migrations run");
    println!("backend: {}", target.describe());

    let t = Instant::now();
    demo::seed(&mut conn, &demo::generate(DemoOptions { users, ..DemoOptions::default() }, now)).expect("demo seeds");
    println!("demo directory of {users} users: {:.2} s", t.elapsed().as_secs_f64());
    let admin = store::users::by_upn(&mut conn, personas::ADMIN).unwrap().unwrap();
    attest::service::onboarding::onboard(&mut conn, &admin, now).unwrap();

    // A group of `denials` direct members, taken from the demo's member accounts.
    use attest::db::schema::users;
    let group = uuid::Uuid::new_v4().to_string();
    store::groups::insert_batch(
        &mut conn,
        &[GroupRow {
            id: group.clone(),
            display_name: "Bench Apply".into(),
            description: None,
            group_type: attest::domain::directory::GroupType::Security,
            membership_rule: None,
            on_premises_sync: false,
            mail_enabled: false,
            created_at: now,
        }],
    )
    .unwrap();
    let members: Vec<String> = users::table
        .filter(users::user_type.eq("Member"))
        .order(users::id)
        .limit(i64::try_from(denials).unwrap())
        .select(users::id)
        .load(&mut conn)
        .unwrap();
    let pairs: Vec<(String, String)> = members.iter().map(|u| (group.clone(), u.clone())).collect();
    for chunk in pairs.chunks(10_000) {
        store::groups::insert_member_users(&mut conn, chunk).unwrap();
    }
    common::create_group_review(&mut conn, "Bench Apply", "Bench Apply", now);
    attest::scheduler::tick(&mut conn, now).unwrap();
    let instance: String = {
        use attest::db::schema::review_instances;
        review_instances::table
            .filter(review_instances::resource_id.eq(&group))
            .select(review_instances::id)
            .first(&mut conn)
            .unwrap()
    };
    conn.batch_execute(&format!("UPDATE review_decision_items SET decision = 'Deny' WHERE instance_id = '{instance}'"))
        .unwrap();
    attest::scheduler::tick(&mut conn, now + TimeDelta::days(15)).unwrap();
    println!("{} direct members of the group, all denied", members.len());

    // The floor: one raw DELETE of the same rows, committed.
    let floor_sql = format!(
        "DELETE FROM group_member_users WHERE group_id = '{group}' AND user_id IN \
         (SELECT principal_id FROM review_decision_items WHERE instance_id = '{instance}' AND decision = 'Deny')"
    );
    settle(&mut conn);
    let t = Instant::now();
    conn.transaction(|c| c.batch_execute(&floor_sql)).unwrap();
    let floor_secs = t.elapsed().as_secs_f64();
    println!("floor: raw DELETE … WHERE of the same {} rows: {floor_secs:.3} s", members.len());

    // The rows come back for the apply.
    for chunk in pairs.chunks(10_000) {
        store::groups::insert_member_users(&mut conn, chunk).unwrap();
    }
    settle(&mut conn);
    tracing_subscriber::fmt().with_env_filter("attest=info").init();
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
    println!(
        "apply: {} removed (with results and {} audit events): {apply_secs:.3} s",
        summary.applied, summary.applied
    );
    println!("ratio: {:.2}× the floor", apply_secs / floor_secs);

    drop(conn);
    drop(db);
}

/// Lets the engine settle between the runs: checkpoint SQLite's WAL; vacuum and analyse on
/// PostgreSQL, so neither run pays for the other's dead rows.
fn settle(conn: &mut DbConnection) {
    match conn {
        DbConnection::Sqlite(_) => conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").unwrap(),
        DbConnection::Pg(_) => conn.batch_execute("VACUUM ANALYZE").unwrap(),
    }
}
