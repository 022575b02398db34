//! Benchmark: starting a review instance over a group of ~100k members (population with
//! access paths, recommendations, decision items in batches, one transaction) next to the
//! floor — the same rows written by the plainest client-side bulk insert (a prepared
//! single-row INSERT in a loop on SQLite, `COPY` on PostgreSQL) into the same table.
//!
//! `cargo bench --bench start_instance` (SQLite, 100k users); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL and
//! `ATTEST_BENCH_USERS` for another size. Prints numbers; asserts nothing.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a bench fails loudly")]

#[expect(dead_code, reason = "shared by the benches; each uses a part")]
mod common;

use std::time::Instant;

use attest::db::{self, DbConnection};
use attest::demo::{self, DemoOptions, personas};
use chrono::NaiveDate;
use diesel::connection::SimpleConnection;

fn main() {
    let users: usize = std::env::var("ATTEST_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let db = common::BenchDb::new("bench");
    let target = db.target.clone();
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let mut conn = db::establish(&target).expect("database opens");
    db::migrate(&mut conn).expect("migrations run");
    println!("backend: {}", target.describe());

    let t = Instant::now();
    demo::seed(&mut conn, &demo::generate(DemoOptions { users, ..DemoOptions::default() }, now)).expect("demo seeds");
    println!("demo directory of {users} users: {:.2} s", t.elapsed().as_secs_f64());
    let admin = attest::store::users::by_upn(&mut conn, personas::ADMIN).unwrap().unwrap();
    attest::service::onboarding::onboard(&mut conn, &admin, now).unwrap();
    common::create_everyone_review(&mut conn, "Bench", now);

    tracing_subscriber::fmt().with_env_filter("attest=info").init();
    let t = Instant::now();
    let started = attest::service::start::start_due(&mut conn, now).unwrap();
    let start_secs = t.elapsed().as_secs_f64();
    let items = count(&mut conn, "SELECT COUNT(*) AS n FROM review_decision_items");
    println!("start {started} instance(s), {items} decision items with recommendations: {start_secs:.2} s");

    // The floor: the same rows written by the plainest client-side bulk insert — a
    // prepared single-row INSERT in a loop on SQLite, one COPY on PostgreSQL — into the
    // same table with the same indexes, in one transaction.
    use attest::db::schema::review_decision_items::dsl::review_decision_items;
    use attest::store::instances::ItemRow;
    use diesel::prelude::*;
    let rows: Vec<ItemRow> = review_decision_items.select(ItemRow::as_select()).load(&mut conn).unwrap();
    // Emptied the way each engine empties a table cleanly (SQLite's DELETE without WHERE
    // truncates), so the floor does not pay for dead index entries.
    match &mut conn {
        DbConnection::Sqlite(_) => conn.batch_execute("DELETE FROM review_decision_items").unwrap(),
        DbConnection::Pg(_) => conn.batch_execute("TRUNCATE review_decision_items").unwrap(),
    }
    let t = Instant::now();
    conn.transaction(|conn| match conn {
        DbConnection::Sqlite(c) => {
            for row in &rows {
                diesel::insert_into(review_decision_items).values(row).execute(c)?;
            }
            Ok::<_, diesel::result::Error>(())
        }
        DbConnection::Pg(c) => diesel::copy_from(review_decision_items).from_insertable(&rows).execute(c).map(drop),
    })
    .unwrap();
    let floor_secs = t.elapsed().as_secs_f64();
    let how = if matches!(conn, DbConnection::Sqlite(_)) { "prepared INSERT per row" } else { "COPY" };
    println!("floor: {how} of the same {} rows: {floor_secs:.2} s", rows.len());
    println!("ratio: {:.2}× the floor", start_secs / floor_secs);

    drop(conn);
    drop(db);
}

fn count(conn: &mut DbConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).get_result::<N>(conn).map(|r| r.n).unwrap_or(0)
}
