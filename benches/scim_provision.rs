//! Benchmark: provisioning a directory over SCIM the way a provisioning client does it —
//! one POST per user, one POST per group, then one PATCH per group adding its members —
//! against a real server, next to the demo generator's raw insert of a directory of the
//! same number of users in the same run (one transaction of multi-row inserts / `COPY`).
//!
//! `cargo bench --bench scim_provision` (SQLite); set
//! `ATTEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres` for PostgreSQL,
//! `ATTEST_BENCH_USERS` (100000), `ATTEST_BENCH_GROUPS` (1000),
//! `ATTEST_BENCH_MEMBERSHIPS` (400000) and `ATTEST_BENCH_CLIENTS` (concurrent requests,
//! 16) for other sizes. Prints numbers; asserts nothing.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a bench fails loudly")]

#[expect(dead_code, reason = "shared by the benches; each uses a part")]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use attest::clock::FixedClock;
use attest::config::AuthSettings;
use attest::demo::{self, DemoOptions};
use attest::service::actor::Actor;
use attest::service::sources;
use attest::startup::{Application, Settings};
use chrono::NaiveDate;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends `n` requests, `clients` at a time; `make(i)` builds the i-th. Returns the ids
/// (or nothing) the answers carry, in order.
async fn run(
    client: &reqwest::Client,
    clients: usize,
    n: usize,
    make: impl Fn(usize) -> (reqwest::Method, String, Value) + Send + Sync + 'static,
    token: &str,
) -> Vec<Option<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, make, client, token) = (next.clone(), make.clone(), client.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (method, url, body) = make(i);
                let res = client
                    .request(method, url)
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let text = res.text().await.unwrap();
                assert!(status.is_success(), "{status}: {text}");
                let id = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["id"].as_str().map(str::to_owned));
                out.push((i, id));
            }
            out
        }));
    }
    let mut all = vec![None; n];
    for task in tasks {
        for (i, id) in task.await.unwrap() {
            all[i] = id;
        }
    }
    all
}

#[tokio::main]
async fn main() {
    let users = env("ATTEST_BENCH_USERS", 100_000);
    let groups = env("ATTEST_BENCH_GROUPS", 1_000).max(1);
    let memberships = env("ATTEST_BENCH_MEMBERSHIPS", 400_000);
    let clients = env("ATTEST_BENCH_CLIENTS", 16).max(1);
    let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();

    // The floor: the demo generator's raw insert of a directory of as many users.
    let floor_db = common::BenchDb::new("scim-floor");
    let mut conn = attest::db::establish(&floor_db.target).unwrap();
    attest::db::migrate(&mut conn).unwrap();
    println!("backend: {}", floor_db.target.describe());
    let directory = demo::generate(DemoOptions { users, ..DemoOptions::default() }, now);
    let t = Instant::now();
    let counts = demo::seed(&mut conn, &directory).unwrap();
    let floor = t.elapsed().as_secs_f64();
    println!(
        "floor: demo-data raw insert of {} users, {} groups, {} memberships, {} sign-ins (and assignments): {floor:.2} s",
        counts.users, counts.groups, counts.memberships, counts.sign_ins
    );
    drop(conn);
    drop(floor_db);

    let db = common::BenchDb::new("scim");
    let settings = Settings {
        mail: attest::config::MailSettings::default(),
        auth: AuthSettings::new("http://127.0.0.1"),
        database: db.target.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        demo: false,
        demo_users: 0,
        pool_size: 8,
        workers: Some(2),
        scheduler_interval: None,
    };
    let app = Application::build(&settings, Arc::new(FixedClock::new(now))).expect("the portal starts");
    let base = format!("http://127.0.0.1:{}/scim/v2", app.port());
    let pool = app.pool();
    tokio::spawn(app.run_until_stopped());
    let token = {
        let mut conn = pool.get().unwrap();
        sources::create_token(&mut conn, "Entra ID", "bench", Actor::CommandLine, now).unwrap().2
    };
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();

    let total = Instant::now();
    let t = Instant::now();
    let url = base.clone();
    let user_ids = run(
        &client,
        clients,
        users,
        move |i| {
            let body = json!({
                "schemas": [USER], "userName": format!("user{i}@bench.example"), "externalId": format!("ext-{i}"),
                "displayName": format!("User {i}"), "active": true,
                "name": {"givenName": "User", "familyName": format!("{i}")},
                "emails": [{"value": format!("user{i}@bench.example"), "type": "work", "primary": true}]
            });
            (reqwest::Method::POST, format!("{url}/Users"), body)
        },
        &token,
    )
    .await;
    let users_s = t.elapsed().as_secs_f64();
    println!("POST /Users × {users}: {users_s:.2} s, {:.0} requests/s", users as f64 / users_s);

    let t = Instant::now();
    let url = base.clone();
    let group_ids = run(
        &client,
        clients,
        groups,
        move |i| {
            let body = json!({"schemas": [GROUP], "displayName": format!("Group {i}"), "externalId": format!("g-{i}")});
            (reqwest::Method::POST, format!("{url}/Groups"), body)
        },
        &token,
    )
    .await;
    let groups_s = t.elapsed().as_secs_f64();
    println!("POST /Groups × {groups}: {groups_s:.2} s, {:.0} requests/s", groups as f64 / groups_s);

    // Each group gets memberships / groups members, spread over the users.
    let user_ids: Arc<Vec<String>> = Arc::new(user_ids.into_iter().map(Option::unwrap).collect());
    let group_ids: Arc<Vec<String>> = Arc::new(group_ids.into_iter().map(Option::unwrap).collect());
    let per_group = memberships / groups;
    let t = Instant::now();
    let url = base.clone();
    let (uids, gids) = (user_ids.clone(), group_ids.clone());
    run(
        &client,
        clients,
        groups,
        move |g| {
            let members: Vec<Value> =
                (0..per_group).map(|k| json!({"value": uids[(g * 397 + k * 7919) % uids.len()]})).collect();
            let body = json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": members}]});
            (reqwest::Method::PATCH, format!("{url}/Groups/{}", gids[g]), body)
        },
        &token,
    )
    .await;
    let members_s = t.elapsed().as_secs_f64();
    println!(
        "PATCH /Groups × {groups} adding {per_group} members each ({} memberships): {members_s:.2} s, {:.0} requests/s, {:.0} memberships/s",
        per_group * groups,
        groups as f64 / members_s,
        (per_group * groups) as f64 / members_s
    );
    let total_s = total.elapsed().as_secs_f64();
    let requests = users + 2 * groups;
    println!(
        "SCIM total: {total_s:.2} s for {requests} requests ({:.0} requests/s); ratio to the demo generator's raw insert: {:.1}×",
        requests as f64 / total_s,
        total_s / floor
    );
    let mut conn = pool.get().unwrap();
    let source = sources::named(&mut conn, "Entra ID").unwrap();
    let holdings = attest::store::sources::holdings(&mut conn, &source.id).unwrap();
    println!(
        "held by the source: {} users, {} groups, {} memberships",
        holdings.users, holdings.groups, holdings.memberships
    );
}
