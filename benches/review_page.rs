//! Benchmark: the review page of an instance of ~88k items (100k-user demo directory) under
//! `wrk` at 32 connections, next to actix serving the same HTML bytes from memory in the
//! same run. Prints requests/s and p99 latency for: the first page filtered to "not
//! reviewed", a page deep in the list, and the in-memory floor.
//!
//! `cargo bench --bench review_page` (SQLite); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL,
//! `ATTEST_BENCH_USERS` for another size. Needs `wrk` (Debian package). Asserts nothing.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a bench fails loudly")]

#[expect(dead_code, reason = "shared by the benches; each uses a part")]
mod common;

use std::process::Command;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use attest::clock::{Clock, FixedClock};
use attest::config::AuthSettings;
use attest::startup::{Application, Settings};
use chrono::NaiveDate;

#[tokio::main]
async fn main() {
    let users: u32 = std::env::var("ATTEST_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let db = common::BenchDb::new("page-bench");
    let database = db.target.clone();
    println!("backend: {}", database.describe());
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let clock = FixedClock::new(now);
    let settings = Settings {
        mail: attest::config::MailSettings::default(),
        auth: AuthSettings::new("http://127.0.0.1"),
        database,
        bind: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_users: users,
        pool_size: 4,
        workers: Some(2),
        scheduler_interval: None,
    };
    let app = Application::build(&settings, Arc::new(clock.clone())).expect("the portal starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    tokio::spawn(app.run_until_stopped());

    // A review of everyone, reviewed by the demo admin, started now.
    let instance = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        common::create_everyone_review(&mut conn, "Everyone", clock.now());
        attest::scheduler::tick(&mut conn, clock.now()).unwrap();
        use attest::db::schema::{review_definitions, review_instances};
        use diesel::prelude::*;
        review_instances::table
            .inner_join(review_definitions::table)
            .filter(review_definitions::display_name.eq("Everyone"))
            .select((review_instances::id, review_instances::total_items))
            .first::<(String, i32)>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap();
    println!("instance of {} items", instance.1);

    // Sign in as the reviewer and keep the session cookie for wrk.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sign_in = client.get(format!("{base}/auth/sign-in")).send().await.unwrap();
    let mut cookie = session_cookie(&sign_in);
    let html = sign_in.text().await.unwrap();
    let token = html.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let signed = client
        .post(format!("{base}/auth/demo"))
        .header("Cookie", &cookie)
        .form(&[("csrf_token", token.as_str()), ("persona", "admin")])
        .send()
        .await
        .unwrap();
    cookie = session_cookie(&signed);

    let first = format!("{base}/reviews/{}?show=notreviewed", instance.0);
    let body = client.get(&first).header("Cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("class=\"items\""), "the review page renders");
    // A cursor half-way down the list, as a reviewer paging on would reach.
    let deep_cursor = {
        let mut conn = app_pool_conn(&settings);
        use attest::db::schema::review_decision_items as items;
        use diesel::prelude::*;
        items::table
            .filter(items::instance_id.eq(&instance.0))
            .order((items::principal_name, items::id))
            .offset(i64::from(instance.1 / 2))
            .select(items::id)
            .first::<String>(&mut conn)
            .unwrap()
    };
    let deep = format!("{base}/reviews/{}?show=notreviewed&after={deep_cursor}", instance.0);

    // The floor: the same bytes from memory, by actix, in this process.
    let bytes = web::Bytes::from(body.clone());
    let floor = HttpServer::new(move || {
        let bytes = bytes.clone();
        App::new().default_service(web::to(move || {
            let bytes = bytes.clone();
            async move { HttpResponse::Ok().content_type("text/html; charset=utf-8").body(bytes) }
        }))
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let floor_url = format!("http://{}/", floor.addrs()[0]);
    tokio::spawn(floor.run());

    println!("page size: {} bytes", body.len());
    let health = format!("{base}/healthz");
    let home = format!("{base}/");
    let missing = format!("{base}/reviews/00000000-0000-0000-0000-000000000000");
    if std::env::var_os("ATTEST_BENCH_QUICK").is_some() {
        drop(db);
        std::process::exit(0);
    }
    for (what, url, cookie) in [
        ("in-memory floor", floor_url.as_str(), ""),
        ("/healthz (one trivial query)", health.as_str(), ""),
        ("access panel list (session, identity)", home.as_str(), cookie.as_str()),
        ("a review that does not exist (404)", missing.as_str(), cookie.as_str()),
        ("review page 1 (not reviewed, with counts)", first.as_str(), cookie.as_str()),
        ("review page half-way down", deep.as_str(), cookie.as_str()),
    ] {
        for connections in [8, 32] {
            let (rps, p99) = wrk(url, cookie, connections);
            println!("{what:<44} c={connections:<3} {rps:>9.0} req/s   p99 {p99}");
        }
    }

    drop(db);
    std::process::exit(0);
}

fn app_pool_conn(settings: &Settings) -> attest::db::DbConnection {
    attest::db::establish(&settings.database).unwrap()
}

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs wrk for 10 s; returns requests/s and the p99 latency as wrk prints it.
fn wrk(url: &str, cookie: &str, connections: u32) -> (f64, String) {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", &format!("-c{connections}"), "-d10s", "--latency"]);
    if !cookie.is_empty() {
        cmd.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let out = cmd.arg(url).output().expect("wrk is installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?")
        .to_owned();
    if text.contains("Non-2xx") {
        println!("warning: non-2xx answers from {url}");
    }
    (rps, p99)
}
