//! Benchmark: starting a review instance over a group of ~100k members (population with
//! access paths, recommendations, decision items in batches, one transaction) next to the
//! floor — an in-engine `INSERT … SELECT` of the same rows into a table of the same shape
//! and indexes, which no client-side insert can beat.
//!
//! `cargo bench --bench start_instance` (SQLite, 100k users); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL and
//! `ATTEST_BENCH_USERS` for another size. Prints numbers; asserts nothing.

use std::time::Instant;

use attest::config::DatabaseTarget;
use attest::db::{self, DbConnection};
use attest::demo::{self, DemoOptions, personas};
use attest::domain::review::ReviewForm;
use chrono::NaiveDate;
use diesel::Connection;
use diesel::connection::SimpleConnection;

fn main() {
    let users: usize = std::env::var("ATTEST_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile_dir();
    let (target, cleanup) = match std::env::var("ATTEST_BENCH_POSTGRES_URL") {
        Ok(admin) => {
            let name = format!("attest_bench_{}", std::process::id());
            let mut c = diesel::PgConnection::establish(&admin).expect("PostgreSQL reachable");
            c.batch_execute(&format!("CREATE DATABASE {name}")).expect("create database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
            (DatabaseTarget::Postgres(format!("{base}/{name}")), Some((admin, name)))
        }
        Err(_) => (DatabaseTarget::Sqlite(dir.join("bench.db")), None),
    };
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let mut conn = db::establish(&target).expect("database opens");
    db::migrate(&mut conn).expect("migrations run");
    println!("backend: {}", target.describe());

    let t = Instant::now();
    demo::seed(&mut conn, &demo::generate(DemoOptions { users, ..DemoOptions::default() }, now)).expect("demo seeds");
    println!("demo directory of {users} users: {:.2} s", t.elapsed().as_secs_f64());
    let admin = attest::store::users::by_upn(&mut conn, personas::ADMIN).unwrap().unwrap();
    attest::service::onboarding::onboard(&mut conn, &admin, now).unwrap();
    let form = ReviewForm {
        name: "Bench".into(),
        groups: "All Employees".into(),
        reviewer_kind: "Selected".into(),
        reviewers: personas::ADMIN.into(),
        ..ReviewForm::with_defaults(now.date())
    };
    let draft = form.validate(now.date()).unwrap();
    attest::service::reviews::create(&mut conn, &draft, &attest::domain::review::ReviewScope::All, &admin, now)
        .unwrap()
        .unwrap();

    let t = Instant::now();
    let started = attest::scheduler::start_due(&mut conn, now).unwrap();
    let start_secs = t.elapsed().as_secs_f64();
    let items = count(&mut conn, "SELECT COUNT(*) AS n FROM review_decision_items");
    println!("start {started} instance(s), {items} decision items with recommendations: {start_secs:.2} s");

    // The floor: the same rows, copied inside the engine into an identical table.
    let ddl = match &conn {
        DbConnection::Sqlite(_) => "CREATE TABLE bench_items AS SELECT * FROM review_decision_items WHERE 1 = 0",
        DbConnection::Pg(_) => "CREATE TABLE bench_items (LIKE review_decision_items INCLUDING DEFAULTS)",
    };
    conn.batch_execute(ddl).unwrap();
    conn.batch_execute(
        "CREATE UNIQUE INDEX bench_once ON bench_items (instance_id, principal_id); \
         CREATE INDEX bench_page ON bench_items (instance_id, principal_name, id); \
         CREATE INDEX bench_decision ON bench_items (instance_id, decision, principal_name, id); \
         CREATE INDEX bench_reviewer ON bench_items (reviewer_id, instance_id);",
    )
    .unwrap();
    let t = Instant::now();
    conn.transaction(|c| c.batch_execute("INSERT INTO bench_items SELECT * FROM review_decision_items")).unwrap();
    let floor_secs = t.elapsed().as_secs_f64();
    println!("floor: INSERT … SELECT of the same {items} rows: {floor_secs:.2} s");
    println!("ratio: {:.2}× the floor", start_secs / floor_secs);

    drop(conn);
    if let Some((admin, name)) = cleanup
        && let Ok(mut c) = diesel::PgConnection::establish(&admin)
    {
        let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
    let _ = std::fs::remove_dir_all(dir);
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

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("attest-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
