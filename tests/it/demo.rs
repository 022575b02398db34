//! Seeding the demo directory with `serve --demo`: once, and not again on restart.

use std::sync::Arc;

use attest::clock::FixedClock;
use attest::startup::{Application, Settings};

use crate::helpers::{Spawn, TestDb, test_now};

#[tokio::test]
async fn demo_is_seeded_once_and_kept_on_restart() {
    let db = TestDb::new();
    let settings = Settings {
        mail: attest::config::MailSettings::default(),
        database: db.target.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_users: 200,
        pool_size: 2,
        workers: Some(1),
        scheduler_interval: None,
        auth: attest::config::AuthSettings::new("http://127.0.0.1"),
    };
    let clock = Arc::new(FixedClock::new(test_now()));
    let first = Application::build(&settings, clock.clone()).unwrap();
    drop(first);
    let app = Spawn { demo: true, demo_users: Some(200), db: Some(db), ..Spawn::default() }.start().await;
    app.sign_in("admin").await;
    assert_eq!(app.count("users"), 200, "a restart does not duplicate the demo directory");
    let groups = app.count("groups");
    assert!(groups >= 35, "{groups}");
    let page = app.get("/admin/users").await;
    assert_eq!(page.text("h1"), "Users 200");
}

#[tokio::test]
async fn about_a_fifth_of_users_are_inactive() {
    let app = Spawn { demo: true, ..Spawn::default() }.start().await;
    let cutoff = (test_now() - chrono::TimeDelta::days(30)).format("%Y-%m-%d %H:%M:%S").to_string();
    app.exec("CREATE TABLE probe (n BIGINT)");
    app.exec(&format!(
        "INSERT INTO probe SELECT COUNT(*) FROM users u WHERE NOT EXISTS \
         (SELECT 1 FROM sign_ins s WHERE s.user_id = u.id AND s.signed_in_at >= '{cutoff}')"
    ));
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let mut conn = app.conn();
    let inactive = diesel::sql_query("SELECT n FROM probe").get_result::<N>(&mut *conn).unwrap().n;
    assert!((60..=150).contains(&inactive), "{inactive} of 500 inactive for 30 days");
}
