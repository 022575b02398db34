//! The test harness: a real server on a random port with a fresh database per test
//! (a temporary SQLite file, or a new PostgreSQL database when ATTEST_TEST_POSTGRES_URL is
//! set), a cookie-keeping HTTP client, and HTML helpers.

use std::sync::Arc;

use attest::clock::FixedClock;
use attest::config::{AuthSettings, DatabaseTarget};
use attest::db::{DbConnection, Pool};
use attest::startup::{Application, Settings};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use scraper::{Html, Selector};

/// The fixed "now" of every test.
pub fn test_now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap()
}

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub target: DatabaseTarget,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    /// A fresh, empty database on the backend the environment selects.
    pub fn new() -> Self {
        match std::env::var("ATTEST_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let name = format!("attest_t_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("ATTEST_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}"));
                admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let url = with_database(&admin_url, &name);
                TestDb { target: DatabaseTarget::Postgres(url), _dir: None, pg_admin: Some((admin_url, name)) }
            }
            None => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("attest.db");
                TestDb { target: DatabaseTarget::Sqlite(path), _dir: Some(dir), pg_admin: None }
            }
        }
    }

    /// Another handle on the same database, for a second server; only the first one
    /// removes it.
    pub fn reuse(other: &TestDb) -> Self {
        TestDb { target: other.target.clone(), _dir: None, pg_admin: None }
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> String {
        match &self.target {
            DatabaseTarget::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseTarget::Postgres(url) => url.clone(),
        }
    }

    /// Whether this test runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.target, DatabaseTarget::Postgres(_))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.pg_admin
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Replaces the database name of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The key file sealing stored secrets, one per test process: every in-process server
/// uses it, and command-line runs get it through ATTEST_SECRET_KEY_FILE.
pub fn secret_key_file() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let path = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path().join("attest-secret.key");
    attest::auth::secrets::configure(path.clone());
    path
}

/// A running portal and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    /// The fixed clock the server reads; tests move it.
    pub clock: FixedClock,
    /// Kept so the database lives as long as the server.
    pub db: Arc<TestDb>,
}

/// Options of a test server.
#[derive(Default)]
pub struct Spawn {
    pub demo: bool,
    pub demo_users: Option<u32>,
    pub db: Option<TestDb>,
    pub auth: Option<AuthSettings>,
    pub clock: Option<FixedClock>,
    /// Mail delivery (default: none, mails stay in the outbox).
    pub mail: Option<attest::config::MailSettings>,
}

impl Spawn {
    /// Starts the server.
    pub async fn start(self) -> TestApp {
        let db = self.db.unwrap_or_else(TestDb::new);
        secret_key_file();
        let clock = self.clock.unwrap_or_else(|| FixedClock::new(test_now()));
        let settings = Settings {
            // Port 0: the public URL names the port the server takes (absolute links work).
            auth: self.auth.unwrap_or_else(|| AuthSettings::new("http://127.0.0.1:0")),
            database: db.target.clone(),
            bind: "127.0.0.1:0".parse().unwrap(),
            demo: self.demo,
            demo_users: self.demo_users.unwrap_or(500),
            pool_size: 2,
            workers: Some(1),
            scheduler_interval: None,
            mail: self.mail.unwrap_or_default(),
        };
        let app = Application::build(&settings, Arc::new(clock.clone())).expect("the app starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let pool = app.pool();
        tokio::spawn(app.run_until_stopped());
        TestApp { address, client: Self::client(), pool, clock, db: Arc::new(db) }
    }

    /// A client that keeps cookies and does not follow redirects. It drops idle
    /// connections well before the server's keep-alive of 5 s would close them: reusing one
    /// just as the server closes it fails the request (seen after a test's long insert).
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap()
    }
}

/// A server on an empty directory.
pub async fn spawn_app() -> TestApp {
    Spawn::default().start().await
}

/// A server on the default demo directory.
pub async fn spawn_demo_app() -> TestApp {
    Spawn { demo: true, ..Spawn::default() }.start().await
}

/// A server on the demo directory with the Global Administrator persona signed in.
pub async fn spawn_admin_app() -> TestApp {
    let app = spawn_demo_app().await;
    app.sign_in("admin").await;
    app
}

/// A response as a test looks at it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The body parsed as HTML. Names are isolated in `<bdi>` elements, which only matter
    /// to how text is laid out; they are left out so that a name reads as the text around it
    /// (the text helpers join an element's text nodes with spaces).
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body.replace("<bdi>", "").replace("</bdi>", ""))
    }

    /// Text of every element matching `selector`, whitespace collapsed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .map(|e| e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// Text of the first element matching `selector`.
    pub fn text(&self, selector: &str) -> String {
        self.texts(selector).into_iter().next().unwrap_or_else(|| panic!("no element matches {selector}"))
    }

    /// The attribute `attr` of every element matching `selector`.
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html().select(&sel).filter_map(|e| e.value().attr(attr).map(str::to_owned)).collect()
    }

    /// The href of the link whose text contains `text`.
    pub fn link(&self, text: &str) -> String {
        let sel = Selector::parse("a").unwrap();
        self.html()
            .select(&sel)
            .find(|a| a.text().collect::<String>().contains(text))
            .and_then(|a| a.value().attr("href").map(str::to_owned))
            .unwrap_or_else(|| panic!("no link with text {text:?}"))
    }

    /// The header's value.
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

impl TestApp {
    /// The same server, for another client (set `client` after).
    pub fn share(&self) -> Self {
        Self {
            address: self.address.clone(),
            client: self.client.clone(),
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            db: self.db.clone(),
        }
    }

    /// The server's current time.
    pub fn clock_now(&self) -> chrono::NaiveDateTime {
        use attest::clock::Clock;
        self.clock.now()
    }

    /// GETs a path (or a full URL) and reads the whole answer.
    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.address) };
        let res = self.client.get(url).send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        Page { status, headers, body: res.text().await.unwrap() }
    }

    /// POSTs a form (fields as given, nothing added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let res = self.client.post(format!("{}{path}", self.address)).form(fields).send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        Page { status, headers, body: res.text().await.unwrap() }
    }

    /// The session's CSRF token, as the pages' forms carry it.
    pub async fn csrf_token(&self) -> String {
        let mut page = self.get("/auth/sign-in").await;
        if page.status == 303 {
            page = self.get("/").await;
        }
        page.attrs("input[name=csrf_token]", "value").into_iter().next().expect("a form with a CSRF token")
    }

    /// POSTs a form with the session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token().await;
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// Signs in as a demo persona ("admin", "owner", "manager", "guest", "user").
    pub async fn sign_in(&self, persona: &str) {
        let page = self.post("/auth/demo", &[("persona", persona)]).await;
        assert_eq!(page.status, 303, "demo sign-in as {persona}: {}", page.body);
    }

    /// Signs out (POST with the token).
    pub async fn sign_out(&self) -> Page {
        self.post("/auth/sign-out", &[]).await
    }

    /// A connection to the test's database.
    pub fn conn(&self) -> r2d2::PooledConnection<attest::db::Manager> {
        self.pool.get().unwrap()
    }

    /// Runs SQL directly (to arrange or break things).
    pub fn exec(&self, sql: &str) {
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        conn.batch_execute(sql).unwrap();
    }

    /// The id of the user with this UPN.
    pub fn user_id(&self, upn: &str) -> String {
        use attest::db::schema::users;
        use diesel::prelude::*;
        let mut conn = self.conn();
        users::table.filter(users::upn.eq(upn)).select(users::id).first(&mut *conn).unwrap()
    }

    /// The id of the group with this name.
    pub fn group_id(&self, name: &str) -> String {
        use attest::db::schema::groups;
        use diesel::prelude::*;
        let mut conn = self.conn();
        groups::table.filter(groups::display_name.eq(name)).select(groups::id).first(&mut *conn).unwrap()
    }

    /// The id of the application with this name.
    pub fn app_id(&self, name: &str) -> String {
        use attest::db::schema::applications;
        use diesel::prelude::*;
        let mut conn = self.conn();
        applications::table
            .filter(applications::display_name.eq(name))
            .select(applications::id)
            .first(&mut *conn)
            .unwrap()
    }

    /// The id of the role with this name.
    pub fn role_id(&self, name: &str) -> String {
        use attest::db::schema::role_definitions;
        use diesel::prelude::*;
        let mut conn = self.conn();
        role_definitions::table
            .filter(role_definitions::display_name.eq(name))
            .select(role_definitions::id)
            .first(&mut *conn)
            .unwrap()
    }

    /// The id of the (first) instance of the review series with this name.
    pub fn instance_of(&self, series: &str) -> String {
        use attest::db::schema::{review_definitions, review_instances};
        use diesel::prelude::*;
        let mut conn = self.conn();
        review_instances::table
            .inner_join(review_definitions::table)
            .filter(review_definitions::display_name.eq(series))
            .order(review_instances::occurrence)
            .select(review_instances::id)
            .first(&mut *conn)
            .unwrap()
    }

    /// How many rows `table` has (a `WHERE` may follow the name).
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result::<N>(&mut *conn).unwrap().n
    }
}

/// `text` percent-encoded for a query string.
pub fn percent_encoded(text: &str) -> String {
    openidconnect::url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
