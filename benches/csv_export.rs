//! Benchmark: downloading the results of a 100k-item review as CSV through the HTTP
//! endpoint (streamed from the database), next to the floor — the database's own CSV
//! writer running the same query to the same columns: `sqlite3 -csv` on SQLite, `COPY (…)
//! TO STDOUT WITH CSV` through `psql` on PostgreSQL.
//!
//! `cargo bench --bench csv_export` (SQLite); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL and
//! `ATTEST_BENCH_ITEMS` for another size. Needs the `sqlite3` or `psql` client (Debian
//! packages `sqlite3`, `postgresql-client`); without it, only attest's side is measured.
//! Prints the median of 5 runs each; asserts nothing.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a bench fails loudly")]

#[expect(dead_code, reason = "shared by the benches; each uses a part")]
mod common;

use attest::domain::apply::ApplyResult;
use attest::domain::decision::{Decision, Pool};
use attest::domain::directory::UserType;
use attest::domain::recommendation::Recommendation;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use attest::clock::FixedClock;
use attest::config::{AuthSettings, DatabaseTarget};
use attest::startup::{Application, Settings};
use attest::store::instances::ItemRow;
use chrono::NaiveDate;

const RUNS: usize = 5;

#[tokio::main]
async fn main() {
    let items: usize = std::env::var("ATTEST_BENCH_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let db = common::BenchDb::new("csv-bench");
    let database = db.target.clone();
    println!("backend: {}", database.describe());
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let settings = Settings {
        mail: attest::config::MailSettings::default(),
        auth: AuthSettings::new("http://127.0.0.1"),
        database: database.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_users: 500,
        pool_size: 4,
        workers: Some(2),
        scheduler_interval: None,
    };
    let app = Application::build(&settings, Arc::new(FixedClock::new(now))).expect("the portal starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    tokio::spawn(app.run_until_stopped());

    // The demo's review of Project Falcon, grown to `items` decision items: a third of
    // them denied by the demo admin with a reason, the rest not reviewed.
    let (series, instance) = tokio::task::spawn_blocking(move || {
        use attest::db::schema::{review_definitions, review_instances, users};
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        let (instance, series): (String, String) = review_instances::table
            .inner_join(review_definitions::table)
            .filter(review_definitions::display_name.eq("Project Falcon guests"))
            .select((review_instances::id, review_instances::definition_id))
            .first(&mut conn)
            .unwrap();
        let admin: String = users::table
            .filter(users::upn.eq(attest::demo::personas::ADMIN))
            .select(users::id)
            .first(&mut conn)
            .unwrap();
        let rows: Vec<ItemRow> = (0..items).map(|k| item(&instance, &admin, k, now)).collect();
        let t = Instant::now();
        attest::store::instances::insert_items(&mut conn, &rows).unwrap();
        println!("inserted {items} items in {:.2} s", t.elapsed().as_secs_f64());
        (series, instance)
    })
    .await
    .unwrap();

    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let html = client.get(format!("{base}/auth/sign-in")).send().await.unwrap().text().await.unwrap();
    let token = html.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let signed = client
        .post(format!("{base}/auth/demo"))
        .form(&[("csrf_token", token.as_str()), ("persona", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303, "signed in");

    let url = format!("{base}/admin/access-reviews/{series}/instances/{instance}/results.csv");
    let mut attest_runs = Vec::new();
    let mut attest_bytes = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut res = client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mut bytes = 0;
        while let Some(chunk) = res.chunk().await.unwrap() {
            bytes += chunk.len();
        }
        attest_runs.push(t.elapsed().as_secs_f64());
        attest_bytes = bytes;
    }
    let attest_secs = median(&mut attest_runs);
    println!("attest: GET results.csv, {items} rows, {attest_bytes} bytes: {:.3} s (median of {RUNS})", attest_secs);

    let sql = floor_query(&instance);
    let floor = match &database {
        DatabaseTarget::Sqlite(path) => {
            let path = path.to_string_lossy().into_owned();
            run_floor("sqlite3 -csv", "sqlite3", &["-csv", &path, &sql])
        }
        DatabaseTarget::Postgres(url) => {
            let copy = format!("COPY ({sql}) TO STDOUT WITH CSV");
            run_floor("psql COPY … TO STDOUT WITH CSV", "psql", &["-X", "-q", url, "-c", &copy])
        }
    };
    if let Some((what, secs, bytes)) = floor {
        println!("floor: {what}, same query and columns, {bytes} bytes: {secs:.3} s (median of {RUNS})");
        println!("ratio: {:.2}× the floor", attest_secs / secs);
    }
    drop(client);
    drop(db);
}

/// Runs the database's own CSV writer `RUNS` times; `None` (with a message) when the
/// client program is not installed.
fn run_floor(what: &str, program: &str, args: &[&str]) -> Option<(String, f64, usize)> {
    let mut runs = Vec::new();
    let mut bytes = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = match Command::new(program).args(args).stderr(Stdio::inherit()).output() {
            Ok(out) => out,
            Err(e) => {
                println!("floor skipped: cannot run `{program}` ({e}); install it to compare");
                return None;
            }
        };
        runs.push(t.elapsed().as_secs_f64());
        assert!(out.status.success(), "{program} failed");
        bytes = out.stdout.len();
    }
    Some((what.to_owned(), median(&mut runs), bytes))
}

fn median(runs: &mut [f64]) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// The export's query, written out: the same rows, columns and order as attest writes
/// (times as the database prints them).
fn floor_query(instance: &str) -> String {
    let kind = "CASE d.scope_kind WHEN 'Applications' THEN 'application' \
                WHEN 'DirectoryRoles' THEN 'role' WHEN 'ResourceRoles' THEN 'role' ELSE 'group' END";
    format!(
        "SELECT i.id, d.id, {kind}, i.resource_name, d.display_name, i.start_at, i.end_at, i.status, \
         t.principal_id, t.principal_name, t.principal_upn, t.principal_type, t.reviewed_at, t.decision, \
         t.justification, t.reviewed_by, r.display_name, r.upn, COALESCE(a.display_name, t.applied_by), \
         t.applied_at, t.recommendation, t.apply_result \
         FROM review_decision_items t \
         JOIN review_instances i ON i.id = t.instance_id \
         JOIN review_definitions d ON d.id = i.definition_id \
         LEFT JOIN users r ON r.id = t.reviewed_by \
         LEFT JOIN users a ON a.id = t.applied_by \
         WHERE t.instance_id = '{instance}' \
         ORDER BY t.principal_name, t.id"
    )
}

fn item(instance: &str, reviewer: &str, k: usize, now: chrono::NaiveDateTime) -> ItemRow {
    let denied = k % 3 == 0;
    ItemRow {
        id: format!("bench-item-{k:07}"),
        instance_id: instance.to_owned(),
        principal_id: format!("bench-user-{k:07}"),
        principal_name: format!("Person {:07}", (k * 7919) % 1_000_003),
        principal_upn: format!("person.{k:07}@contoso.example"),
        principal_type: if k % 10 == 0 { UserType::Guest } else { UserType::Member },
        access_path: "Direct".into(),
        access_direct: true,
        access_detail: String::new(),
        reviewer_id: None,
        last_sign_in: Some(now),
        recommendation: if denied { Recommendation::Deny } else { Recommendation::Approve },
        recommendation_reason: String::new(),
        decision: if denied { Decision::Deny } else { Decision::NotReviewed },
        justification: if denied {
            "Left the project in October, access no longer needed".into()
        } else {
            String::new()
        },
        reviewed_by: denied.then(|| reviewer.to_owned()),
        reviewed_for: None,
        reviewed_at: denied.then_some(now),
        apply_result: ApplyResult::New,
        apply_detail: String::new(),
        applied_by: None,
        applied_at: None,
        reviewer_pool: Pool::Reviewers,
        principal_job_title: String::new(),
        principal_department: String::new(),
        principal_manager: String::new(),
        stage: 1,
    }
}
