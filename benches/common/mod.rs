//! What the benchmarks share: a fresh database on the backend asked for.

use attest::config::DatabaseTarget;
use diesel::Connection;
use diesel::connection::SimpleConnection;

/// A fresh database for one benchmark run: SQLite in a temporary directory, or a new
/// PostgreSQL database when `ATTEST_BENCH_POSTGRES_URL` names a server. Dropped with it.
pub struct BenchDb {
    /// Where it is.
    pub target: DatabaseTarget,
    dir: std::path::PathBuf,
    pg: Option<(String, String)>,
}

impl BenchDb {
    /// Creates the database; `tag` names it.
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("attest-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        match std::env::var("ATTEST_BENCH_POSTGRES_URL") {
            Ok(admin) => {
                let name = format!("attest_{}_{}", tag.replace('-', "_"), std::process::id());
                let mut c = diesel::PgConnection::establish(&admin).expect("PostgreSQL reachable");
                c.batch_execute(&format!("CREATE DATABASE {name}")).expect("create database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
                Self { target: DatabaseTarget::Postgres(format!("{base}/{name}")), dir, pg: Some((admin, name)) }
            }
            Err(_) => Self { target: DatabaseTarget::Sqlite(dir.join("bench.db")), dir, pg: None },
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        // ATTEST_BENCH_KEEP=1 leaves the database behind, to look into with sqlite3/psql.
        if std::env::var_os("ATTEST_BENCH_KEEP").is_some() {
            println!("kept: {}", self.target.describe());
            return;
        }
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = diesel::PgConnection::establish(admin)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates a one-time review of the dynamic *All Employees* group reviewed by the demo
/// admin, starting on `now`'s date (the directory must be onboarded).
pub fn create_everyone_review(conn: &mut attest::db::DbConnection, name: &str, now: chrono::NaiveDateTime) {
    use attest::demo::personas;
    use attest::domain::review::{ReviewForm, ReviewScope};
    let admin = attest::store::users::by_upn(conn, personas::ADMIN).unwrap().unwrap();
    let form = ReviewForm {
        name: name.into(),
        groups: "All Employees".into(),
        reviewer_kind: "Selected".into(),
        reviewers: personas::ADMIN.into(),
        ..ReviewForm::with_defaults(now.date())
    };
    let draft = form.validate(now.date()).unwrap();
    attest::service::reviews::create(
        conn,
        &draft,
        &ReviewScope::All,
        attest::service::actor::Actor::Person(&admin),
        now,
    )
    .unwrap()
    .unwrap();
}

/// Creates a one-time review of the groups `groups` (one per line) reviewed by the demo
/// admin, starting on `now`'s date (the directory must be onboarded).
pub fn create_group_review(conn: &mut attest::db::DbConnection, name: &str, groups: &str, now: chrono::NaiveDateTime) {
    use attest::demo::personas;
    use attest::domain::review::{ReviewForm, ReviewScope};
    let admin = attest::store::users::by_upn(conn, personas::ADMIN).unwrap().unwrap();
    let form = ReviewForm {
        name: name.into(),
        groups: groups.into(),
        reviewer_kind: "Selected".into(),
        reviewers: personas::ADMIN.into(),
        ..ReviewForm::with_defaults(now.date())
    };
    let draft = form.validate(now.date()).unwrap();
    attest::service::reviews::create(
        conn,
        &draft,
        &ReviewScope::All,
        attest::service::actor::Actor::Person(&admin),
        now,
    )
    .unwrap()
    .unwrap();
}
