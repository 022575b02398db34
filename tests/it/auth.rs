//! Sign-in, sessions and authorization: demo personas, OpenID Connect against a test
//! provider (good and bad ID tokens), CSRF, cookies, sign-out, idle timeout, rate limit,
//! and which role may open which page.

use attest::config::{AuthSettings, OidcSettings, TrustedProxies, UserClaim};
use attest::demo::personas;
use chrono::TimeDelta;

use crate::helpers::{Page, Spawn, TestApp, spawn_demo_app, test_now};
use crate::oidc_provider::{Mode, TestProvider, UserInfo};

const REDIRECT: &str = "http://127.0.0.1/auth/callback";

async fn oidc_app(username: &str) -> (TestApp, TestProvider) {
    oidc_app_with(username, true).await
}

async fn oidc_app_with(username: &str, demo: bool) -> (TestApp, TestProvider) {
    let provider = TestProvider::start("attest-test", test_now().and_utc(), username).await;
    let mut auth = AuthSettings::new("http://127.0.0.1");
    auth.oidc = Some(OidcSettings {
        issuer: provider.issuer.clone(),
        client_id: "attest-test".into(),
        client_secret: Some("s3cret".into()),
        redirect_url: REDIRECT.into(),
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        user_claims: vec![UserClaim::PreferredUsername, UserClaim::Email],
    });
    // Some tests sign in more often than the default rate limit allows.
    auth.sign_in_per_minute = 1000;
    // Tests that need a directory without --demo load the same generated one.
    let app = Spawn { demo: true, auth: Some(auth.clone()), ..Spawn::default() }.start().await;
    if demo {
        return (app, provider);
    }
    let plain =
        Spawn { demo: false, auth: Some(auth), db: Some(crate::helpers::TestDb::reuse(&app.db)), ..Spawn::default() }
            .start()
            .await;
    (TestApp { db: app.db.clone(), ..plain.share() }, provider)
}

/// Walks the redirects of a sign-in: attest → provider → attest's callback.
async fn oidc_sign_in(app: &TestApp) -> Page {
    let start = app.get("/auth/oidc?return_to=%2Fadmin%2Fusers").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let at_provider = app.get(&start.header("location")).await;
    assert_eq!(at_provider.status, 303);
    let back = at_provider
        .header("location")
        .replace("http://127.0.0.1/auth/callback", &format!("{}/auth/callback", app.address));
    app.get(&back).await
}

fn session_cookie(page: &Page) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("attest_session="))
        .map(str::to_owned)
}

#[tokio::test]
async fn demo_personas_sign_in_and_land_on_the_access_panel() {
    let app = spawn_demo_app().await;
    let page = app.get("/auth/sign-in").await;
    assert!(page.text("#demo-h").contains("This is a demo"));
    assert_eq!(
        page.texts(".persona-name"),
        vec!["Dana Whitfield", "Omar Haddad", "Priya Raman", "Lena Fischer", "Tom Becker"]
    );
    app.sign_in("owner").await;
    let panel = app.get("/").await;
    assert_eq!(panel.status, 200);
    assert_eq!(panel.text("h1"), "My access reviews");
    assert_eq!(panel.text(".user-name"), "Omar Haddad");
    assert_eq!(panel.attrs("nav.main-nav a", "href"), vec!["/"], "no admin navigation for an owner");
    // Signed-in visitors of the sign-in page go on to where they were going.
    assert_eq!(app.get("/auth/sign-in?return_to=/admin/roles").await.header("location"), "/admin/roles");
}

#[tokio::test]
async fn demo_sign_in_does_not_exist_without_demo() {
    let (app, _provider) = oidc_app_with(personas::USER, false).await;
    let page = app.get("/auth/sign-in").await;
    assert!(page.texts(".persona").is_empty() && page.texts(".tag-demo").is_empty());
    assert_eq!(oidc_sign_in(&app).await.status, 303);
    // Even with a valid token, the demo sign-in is not there.
    let page = app.post("/auth/demo", &[("persona", "admin")]).await;
    assert_eq!(page.status, 404);
    assert_eq!(app.get("/").await.text(".user-name"), "Tom Becker");
}

#[tokio::test]
async fn unknown_persona_is_a_clear_400() {
    let app = spawn_demo_app().await;
    let page = app.post("/auth/demo", &[("persona", "root")]).await;
    assert_eq!(page.status, 400);
    assert!(page.text(".lead").contains("Choose one of the demo people"));
}

#[tokio::test]
async fn every_route_by_role() {
    let app = spawn_demo_app().await;
    let dana = app.user_id(personas::ADMIN);
    let routes = [
        "/".to_owned(),
        "/admin/access-reviews".to_owned(),
        "/admin/access-reviews/onboard".to_owned(),
        "/admin/access-reviews/settings".to_owned(),
        "/admin/access-reviews/new".to_owned(),
        "/admin/users".to_owned(),
        format!("/admin/users/{dana}"),
        "/admin/groups".to_owned(),
        format!("/admin/groups/{}", app.group_id("Project Falcon")),
        "/admin/applications".to_owned(),
        format!("/admin/applications/{}", app.app_id("Slack")),
        "/admin/roles".to_owned(),
        format!("/admin/roles/{}", app.role_id("Global Administrator")),
    ];
    // (persona, may open admin pages)
    let roles = [
        (None, false),
        (Some("user"), false),
        (Some("guest"), false),
        (Some("owner"), false),
        (Some("manager"), false),
        (Some("admin"), true),
    ];
    for (persona, admin) in roles {
        let client = Spawn::client();
        let viewer = TestApp { client, ..app.share() };
        if let Some(p) = persona {
            viewer.sign_in(p).await;
        }
        for route in &routes {
            let page = viewer.get(route).await;
            let expected = match (persona, route.as_str(), admin) {
                (None, _, _) => 303,
                (Some(_), "/", _) => 200,
                (Some(_), _, true) => 200,
                (Some(_), _, false) => 403,
            };
            assert_eq!(page.status, expected, "{persona:?} GET {route}");
            if expected == 303 {
                let location = page.header("location");
                assert!(location.starts_with("/auth/sign-in?return_to=%2F"), "{location}");
            }
            if expected == 403 {
                assert_eq!(page.text("h1"), "You do not have access");
            }
        }
    }
}

#[tokio::test]
async fn posts_without_a_valid_csrf_token_change_nothing() {
    let app = spawn_demo_app().await;
    let _ = app.get("/auth/sign-in").await; // a session with a token exists
    let sessions = app.count("web_sessions");
    let sign_ins = app.count("sign_ins");
    for fields in [vec![("persona", "admin")], vec![("persona", "admin"), ("csrf_token", "forged")]] {
        let page = app.post_form("/auth/demo", &fields).await;
        assert_eq!(page.status, 403);
        assert!(page.text(".lead").contains("nothing was changed"));
    }
    assert_eq!((app.count("web_sessions"), app.count("sign_ins")), (sessions, sign_ins));

    // A token from another session is just as wrong.
    let other = TestApp { client: Spawn::client(), ..app.share() };
    let foreign = other.csrf_token().await;
    assert_eq!(app.post_form("/auth/demo", &[("persona", "admin"), ("csrf_token", &foreign)]).await.status, 403);

    app.sign_in("user").await;
    let page = app.post_form("/auth/sign-out", &[]).await;
    assert_eq!(page.status, 403);
    assert_eq!(app.get("/").await.status, 200, "still signed in");
    // A header carries the token as well as a form field does.
    let token = app.csrf_token().await;
    let res =
        app.client.post(format!("{}/auth/sign-out", app.address)).header("X-CSRF-Token", token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn session_cookie_flags() {
    let app = spawn_demo_app().await;
    let page = app.get("/auth/sign-in").await;
    let cookie = session_cookie(&page).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    let https =
        Spawn { demo: true, auth: Some(AuthSettings::new("https://attest.example")), ..Spawn::default() }.start().await;
    let cookie = session_cookie(&https.get("/auth/sign-in").await).expect("a session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn sign_in_renews_the_session_and_its_token() {
    let app = spawn_demo_app().await;
    let before = session_cookie(&app.get("/auth/sign-in").await).unwrap();
    let token_before = app.csrf_token().await;
    let page = app.post("/auth/demo", &[("persona", "user")]).await;
    let after = session_cookie(&page).expect("sign-in sets a new cookie");
    assert_ne!(before, after);
    assert_ne!(app.csrf_token().await, token_before, "the CSRF token changes at sign-in");

    // The cookie from before sign-in does not carry the sign-in.
    let old = TestApp { client: Spawn::client(), ..app.share() };
    let value = before.split(';').next().unwrap();
    let res = old.client.get(format!("{}/", app.address)).header("Cookie", value).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn sign_out_invalidates_the_session_everywhere() {
    let app = spawn_demo_app().await;
    let signed_in = app.post("/auth/demo", &[("persona", "user")]).await;
    let cookie = session_cookie(&signed_in).unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(app.count("web_sessions"), 1);
    // The database keeps the SHA-256 (64 hex digits) of the session id, never the 43
    // characters of base64 the cookie carries.
    assert_eq!(app.count("web_sessions WHERE length(id) = 64"), 1, "stored ids are hashes");
    let out = app.sign_out().await;
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), "/auth/sign-in");
    assert_eq!(app.get("/auth/sign-in").await.text(".banner"), "You have signed out.");
    assert_eq!(app.count("web_sessions"), 0);
    // A copy of the old cookie no longer works.
    let thief = Spawn::client();
    let res = thief.get(format!("{}/", app.address)).header("Cookie", cookie).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = spawn_demo_app().await;
    app.sign_in("user").await;
    app.clock.advance(TimeDelta::hours(7));
    assert_eq!(app.get("/").await.status, 200, "7 hours idle is within the 8-hour default");
    app.clock.advance(TimeDelta::hours(7));
    assert_eq!(app.get("/").await.status, 200, "activity renewed the session");
    app.clock.advance(TimeDelta::hours(8) + TimeDelta::minutes(2));
    assert_eq!(app.get("/").await.status, 303);
    assert_eq!(app.count("web_sessions"), 0);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = spawn_demo_app().await;
    app.sign_in("user").await;
    // A second server on the same database reads the same session key.
    let second =
        Spawn { demo: true, db: Some(crate::helpers::TestDb::reuse(&app.db)), ..Spawn::default() }.start().await;
    let page = TestApp { client: app.client.clone(), ..second.share() }.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text(".user-name"), "Tom Becker");
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let mut auth = AuthSettings::new("http://127.0.0.1");
    auth.sign_in_per_minute = 2;
    let app = Spawn { demo: true, auth: Some(auth), ..Spawn::default() }.start().await;
    for _ in 0..2 {
        assert_eq!(app.post("/auth/demo", &[("persona", "nobody")]).await.status, 400);
    }
    let page = app.post("/auth/demo", &[("persona", "user")]).await;
    assert_eq!(page.status, 429);
    assert_eq!(page.text("h1"), "Too many attempts");
    assert_eq!(app.count("web_sessions"), 0);
}

/// One demo sign-in attempt (for nobody, so it is refused with 400 unless rate-limited)
/// carrying `forwarded_for` as X-Forwarded-For; its status.
async fn attempt_from(app: &TestApp, forwarded_for: &str) -> u16 {
    let token = app.csrf_token().await;
    let res = app
        .client
        .post(format!("{}/auth/demo", app.address))
        .header("X-Forwarded-For", forwarded_for)
        .form(&[("csrf_token", token.as_str()), ("persona", "nobody")])
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn limited_app(trusted: &str) -> TestApp {
    let mut auth = AuthSettings::new("http://127.0.0.1");
    auth.sign_in_per_minute = 2;
    auth.trusted_proxies = TrustedProxies::parse(trusted).unwrap();
    Spawn { demo: true, auth: Some(auth), ..Spawn::default() }.start().await
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit() {
    // The test connects from 127.0.0.1: that is the reverse proxy here.
    let app = limited_app("127.0.0.1, 10.0.0.0/8").await;
    // One client, through two trusted hops.
    assert_eq!(attempt_from(&app, "198.51.100.7, 10.1.2.3").await, 400);
    assert_eq!(attempt_from(&app, "198.51.100.7").await, 400);
    assert_eq!(attempt_from(&app, "198.51.100.7").await, 429, "the same client, however many trusted hops");
    // Another client behind the same proxy has a bucket of its own.
    assert_eq!(attempt_from(&app, "203.0.113.9").await, 400);
    assert_eq!(attempt_from(&app, "2001:db8::9").await, 400);
    // Writing another address in front of the one the proxy appends does not help.
    assert_eq!(attempt_from(&app, "192.0.2.1, 198.51.100.7").await, 429);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // Only 10.0.0.0/8 is trusted: the test's own address (127.0.0.1) is a client.
    let app = limited_app("10.0.0.0/8").await;
    assert_eq!(attempt_from(&app, "198.51.100.1").await, 400);
    assert_eq!(attempt_from(&app, "198.51.100.2").await, 400);
    assert_eq!(attempt_from(&app, "198.51.100.3").await, 429, "a spoofed X-Forwarded-For opens no new bucket");
    assert_eq!(attempt_from(&app, "10.0.0.7").await, 429);
}

#[tokio::test]
async fn disabled_accounts_cannot_sign_in_and_are_signed_out() {
    let app = spawn_demo_app().await;
    app.sign_in("user").await;
    app.exec(&format!("UPDATE users SET enabled = FALSE WHERE upn = '{}'", personas::USER));
    assert_eq!(app.get("/").await.status, 303, "disabled while signed in: signed out");
    let page = app.post("/auth/demo", &[("persona", "user")]).await;
    assert_eq!(page.status, 403);
    assert_eq!(page.text("h1"), "Your account is disabled");
}

#[tokio::test]
async fn only_active_unexpired_admin_roles_make_an_admin() {
    let app = spawn_demo_app().await;
    app.sign_in("admin").await;
    assert_eq!(app.get("/admin/users").await.status, 200);
    let dana = app.user_id(personas::ADMIN);
    app.exec(&format!("UPDATE role_assignments SET assignment_type = 'Eligible' WHERE user_id = '{dana}'"));
    assert_eq!(app.get("/admin/users").await.status, 403, "eligible is not active");
    app.exec(&format!("UPDATE role_assignments SET assignment_type = 'Active', end_at = '2026-11-01 00:00:00' WHERE user_id = '{dana}'"));
    assert_eq!(app.get("/admin/users").await.status, 403, "expired");
}

/// `return_to` values that must never lead off the site (or break the answer), as they
/// arrive once the query string or form is decoded.
const HOSTILE_RETURN_TO: &[&str] = &[
    "//evil.example/x",
    "https://evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "/\t\\evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\n/evil.example",
    "/\0",
    "/\u{7f}/evil.example",
    "/\u{85}/evil.example",
    "/.//evil.example",
    "/a/..//evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "/\u{202e}elpmaxe.live//",
];

/// Counts of what a sign-in writes: sessions and SignIn audit events.
fn sign_in_rows(app: &TestApp) -> (i64, i64) {
    (app.count("web_sessions"), app.count("audit_events WHERE action = 'SignIn'"))
}

/// A sign-in answered with `page` either went through to "/" with one session and one
/// SignIn event, or was refused (4xx) with nothing written; never a 5xx.
fn assert_safe_sign_in(page: &Page, before: (i64, i64), after: (i64, i64), what: &str) {
    match page.status {
        303 => {
            assert_eq!(page.header("location"), "/", "{what}");
            assert_eq!(after, (before.0 + 1, before.1 + 1), "{what}: one session and one SignIn event");
        }
        400..=499 => assert_eq!(after, before, "{what}: a refused sign-in writes nothing"),
        other => panic!("{what}: answered {other}: {}", page.body),
    }
}

#[tokio::test]
async fn return_to_stays_on_this_site() {
    let app = spawn_demo_app().await;
    for target in HOSTILE_RETURN_TO {
        let before = sign_in_rows(&app);
        let page = app.post("/auth/demo", &[("persona", "user"), ("return_to", target)]).await;
        assert_safe_sign_in(&page, before, sign_in_rows(&app), &format!("{target:?}"));
        if page.status == 303 {
            app.sign_out().await;
        }
    }
    // The sign-in page keeps only a safe value in its forms and links.
    for target in HOSTILE_RETURN_TO {
        let query: String = openidconnect::url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", target)
            .finish();
        let page = app.get(&format!("/auth/sign-in?{query}")).await;
        assert_eq!(page.status, 200, "{target:?}");
        assert_eq!(page.attrs("input[name=return_to]", "value")[0], "/", "{target:?}");
    }
    // A local path with a query is kept as it is.
    let page = app.post("/auth/demo", &[("persona", "user"), ("return_to", "/admin/users?q=Tom%20Becker&x=1")]).await;
    assert_eq!(page.header("location"), "/admin/users?q=Tom%20Becker&x=1");
    // Signed-in visitors of the sign-in page are sent on, to this site only.
    assert_eq!(app.get("/auth/sign-in?return_to=%2F%09%2Fevil.example").await.header("location"), "/");
}

#[tokio::test]
async fn oidc_return_to_stays_on_this_site_and_writes_nothing_for_a_refusal() {
    let (app, provider) = oidc_app(personas::USER).await;
    for target in HOSTILE_RETURN_TO {
        let query: String = openidconnect::url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", target)
            .finish();
        let before = sign_in_rows(&app);
        let start = app.get(&format!("/auth/oidc?{query}")).await;
        assert_eq!(start.status, 303, "{target:?}: {}", start.body);
        let at_provider = app.get(&start.header("location")).await;
        let back = at_provider.header("location").replace(REDIRECT, &format!("{}/auth/callback", app.address));
        let page = app.get(&back).await;
        assert_safe_sign_in(&page, before, sign_in_rows(&app), &format!("{target:?}"));
        app.sign_out().await;
    }
    // A refused callback (a forged token) with a hostile return_to writes nothing.
    provider.set_mode(Mode::Forged);
    let before = sign_in_rows(&app);
    let start = app.get("/auth/oidc?return_to=%2F%0A%2Fevil.example").await;
    let at_provider = app.get(&start.header("location")).await;
    let back = at_provider.header("location").replace(REDIRECT, &format!("{}/auth/callback", app.address));
    let page = app.get(&back).await;
    assert_eq!(page.status, 401);
    assert_eq!(sign_in_rows(&app), before);
}

#[tokio::test]
async fn oidc_sign_in_lands_on_the_page_asked_for_and_records_the_sign_in() {
    let (app, _provider) = oidc_app(personas::ADMIN).await;
    let sign_ins = app.count("sign_ins");
    let page = oidc_sign_in(&app).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.header("location"), "/admin/users");
    let users = app.get("/admin/users").await;
    assert_eq!(users.status, 200);
    assert_eq!(users.text(".user-name"), "Dana Whitfield");
    assert_eq!(app.count("sign_ins"), sign_ins + 1);
    // The sign-in shows as the user's last sign-in.
    let detail = app.get(&format!("/admin/users/{}", app.user_id(personas::ADMIN))).await;
    assert!(detail.text(".facts").contains("2026-11-28 (today)"), "{}", detail.text(".facts"));
}

#[tokio::test]
async fn claims_in_the_id_token_need_no_userinfo_request() {
    let (app, provider) = oidc_app(personas::USER).await;
    assert_eq!(oidc_sign_in(&app).await.status, 303);
    assert_eq!(app.get("/").await.text(".user-name"), "Tom Becker");
    assert_eq!(provider.userinfo_calls(), 0);
}

#[tokio::test]
async fn claims_only_in_userinfo_are_fetched_from_it() {
    let (app, provider) = oidc_app(personas::ADMIN).await;
    provider.set_claims_in_id_token(false);
    let page = oidc_sign_in(&app).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.header("location"), "/admin/users");
    assert_eq!(app.get("/").await.text(".user-name"), "Dana Whitfield");
    assert_eq!(provider.userinfo_calls(), 1);
    assert_eq!(app.count("audit_events WHERE action = 'SignIn'"), 1);
}

#[tokio::test]
async fn userinfo_about_another_subject_is_refused() {
    let (app, provider) = oidc_app(personas::ADMIN).await;
    provider.set_claims_in_id_token(false);
    provider.set_userinfo(UserInfo::OtherSubject);
    let page = oidc_sign_in(&app).await;
    assert_eq!(page.status, 401, "{}", page.body);
    assert_eq!(page.text("h1"), "Sign-in did not work");
    assert_eq!(provider.userinfo_calls(), 1);
    assert_eq!(app.get("/").await.status, 303, "not signed in");
    assert_eq!((app.count("web_sessions"), app.count("audit_events WHERE action = 'SignIn'")), (0, 0));
}

#[tokio::test]
async fn userinfo_that_is_down_is_explained() {
    let (app, provider) = oidc_app(personas::ADMIN).await;
    provider.set_claims_in_id_token(false);
    provider.set_userinfo(UserInfo::Down);
    let page = oidc_sign_in(&app).await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert_eq!(page.text("h1"), "Your identity provider could not be reached");
    assert_eq!((app.count("web_sessions"), app.count("audit_events WHERE action = 'SignIn'")), (0, 0));
    // Back up: the next attempt works.
    provider.set_userinfo(UserInfo::Good);
    assert_eq!(oidc_sign_in(&app).await.status, 303);
}

#[tokio::test]
async fn oidc_matches_the_upn_case_insensitively() {
    let (app, _provider) = oidc_app("TOM.Becker@Contoso.Example").await;
    assert_eq!(oidc_sign_in(&app).await.status, 303);
    assert_eq!(app.get("/").await.text(".user-name"), "Tom Becker");
}

#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let (app, provider) = oidc_app(personas::ADMIN).await;
    for mode in [Mode::Forged, Mode::Expired, Mode::WrongAudience, Mode::WrongNonce, Mode::WrongIssuer] {
        provider.set_mode(mode);
        let page = oidc_sign_in(&app).await;
        assert_eq!(page.status, 401, "{mode:?}");
        assert_eq!(page.text("h1"), "Sign-in did not work", "{mode:?}");
        assert_eq!(app.get("/").await.status, 303, "{mode:?}: not signed in");
    }
    assert_eq!(app.count("web_sessions"), 0);
}

#[tokio::test]
async fn unknown_people_are_told_they_are_not_in_the_directory() {
    let (app, _provider) = oidc_app("stranger@elsewhere.example").await;
    let page = oidc_sign_in(&app).await;
    assert_eq!(page.status, 403);
    assert_eq!(page.text("h1"), "Your account is not in this directory");
    assert!(page.text(".lead").contains("stranger@elsewhere.example"));
    assert_eq!(app.count("web_sessions"), 0);
}

#[tokio::test]
async fn claims_with_control_or_bidi_characters_match_nobody_and_are_shown_clean() {
    let (app, provider) = oidc_app(personas::USER).await;
    for hostile in [
        "tom.becker@contoso.example\u{0}",
        "tom.becker@contoso.example\u{202e}",
        "tom.becker@contoso.example\r\nX: y",
        "\u{2066}tom.becker@contoso.example",
    ] {
        provider.set_username(hostile);
        let page = oidc_sign_in(&app).await;
        assert_eq!(page.status, 403, "{hostile:?}: {}", page.body);
        assert_eq!(page.text("h1"), "Your account is not in this directory", "{hostile:?}");
        assert!(page.text(".lead").contains("tom.becker@contoso.example"), "{hostile:?}");
        assert!(!page.body.contains(['\u{0}', '\u{202e}', '\u{2066}', '\r']), "{hostile:?}: shown cleaned");
    }
    assert_eq!((app.count("web_sessions"), app.count("audit_events WHERE action = 'SignIn'")), (0, 0));
    provider.set_username(personas::USER);
    assert_eq!(oidc_sign_in(&app).await.status, 303);
}

#[tokio::test]
async fn tampered_or_replayed_callbacks_are_refused() {
    let (app, provider) = oidc_app(personas::USER).await;
    let start = app.get("/auth/oidc").await;
    let at_provider = app.get(&start.header("location")).await;
    let back = at_provider.header("location").replace(REDIRECT, &format!("{}/auth/callback", app.address));
    let tampered = back.replace("state=", "state=x");
    assert_eq!(app.get(&tampered).await.status, 401);
    // The pending sign-in was used up: even the genuine answer is now refused.
    let replay = app.get(&back).await;
    assert_eq!(replay.status, 400);
    assert!(replay.text(".lead").contains("Start again"));
    provider.set_username(personas::USER);
    assert_eq!(oidc_sign_in(&app).await.status, 303, "a fresh attempt works");
}

#[tokio::test]
async fn an_unreachable_provider_is_explained() {
    let mut auth = AuthSettings::new("http://127.0.0.1");
    auth.oidc = Some(OidcSettings {
        issuer: "http://127.0.0.1:9".into(),
        client_id: "x".into(),
        client_secret: None,
        redirect_url: REDIRECT.into(),
        scopes: vec!["openid".into()],
        user_claims: vec![UserClaim::PreferredUsername],
    });
    let app = Spawn { auth: Some(auth), ..Spawn::default() }.start().await;
    let page = app.get("/auth/oidc").await;
    assert_eq!(page.status, 502);
    assert_eq!(page.text("h1"), "Your identity provider could not be reached");
    let sign_in = app.get("/auth/sign-in").await;
    assert_eq!(sign_in.link("Sign in with your organisation"), "/auth/oidc?return_to=/");
}
