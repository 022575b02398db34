//! A small OpenID provider for tests: discovery, keys, an authorize endpoint that signs the
//! configured person in at once, a token endpoint that checks PKCE and issues an ID
//! token — correct, or broken in the way a test asks for — and a UserInfo endpoint. The
//! user's claims go into the ID token, or (as many providers do when an access token is
//! issued, OpenID Connect Core §5.4) only to UserInfo.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, EndUserUsername, IssuerUrl, JsonWebKeyId, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};

/// How the next ID token is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Good,
    /// Signed with a key the provider never published.
    Forged,
    Expired,
    WrongAudience,
    WrongNonce,
    WrongIssuer,
}

/// How the UserInfo endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserInfo {
    /// The user's claims, for the ID token's subject.
    Good,
    /// Claims of another subject (a token substitution).
    OtherSubject,
    /// 503, as an endpoint that is down.
    Down,
}

struct ProviderState {
    issuer: String,
    client_id: String,
    now: DateTime<Utc>,
    mode: Mode,
    username: String,
    challenge: Option<String>,
    nonce: Option<String>,
    claims_in_id_token: bool,
    userinfo: UserInfo,
    userinfo_calls: usize,
    access_token: Option<String>,
}

/// A running provider.
pub struct TestProvider {
    pub issuer: String,
    state: Arc<Mutex<ProviderState>>,
}

const PROVIDER_KEY: &str = include_str!("../fixtures/oidc-provider-key.pem");
const FORGER_KEY: &str = include_str!("../fixtures/oidc-forger-key.pem");

fn signing_key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("test-key".into()))).unwrap()
}

impl TestProvider {
    /// Starts a provider whose clock reads `now` and that signs in `username`.
    pub async fn start(client_id: &str, now: DateTime<Utc>, username: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(ProviderState {
            issuer: issuer.clone(),
            client_id: client_id.to_owned(),
            now,
            mode: Mode::Good,
            username: username.to_owned(),
            challenge: None,
            nonce: None,
            claims_in_id_token: true,
            userinfo: UserInfo::Good,
            userinfo_calls: 0,
            access_token: None,
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { issuer, state }
    }

    /// Makes the next ID token broken (or good) in this way.
    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Signs in someone else from now on.
    pub fn set_username(&self, username: &str) {
        self.state.lock().unwrap().username = username.to_owned();
    }

    /// Puts `preferred_username` and `email` in the ID token (the default), or only in
    /// the UserInfo answer.
    pub fn set_claims_in_id_token(&self, yes: bool) {
        self.state.lock().unwrap().claims_in_id_token = yes;
    }

    /// Makes the UserInfo endpoint answer this way.
    pub fn set_userinfo(&self, userinfo: UserInfo) {
        self.state.lock().unwrap().userinfo = userinfo;
    }

    /// How often the UserInfo endpoint was asked, with a valid access token.
    pub fn userinfo_calls(&self) -> usize {
        self.state.lock().unwrap().userinfo_calls
    }
}

type Shared = web::Data<Arc<Mutex<ProviderState>>>;

async fn discovery(state: Shared) -> HttpResponse {
    let issuer = state.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks() -> HttpResponse {
    let key = signing_key(PROVIDER_KEY).as_verification_key();
    HttpResponse::Ok().json(serde_json::json!({ "keys": [key] }))
}

async fn authorize(state: Shared, query: web::Query<std::collections::HashMap<String, String>>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    assert_eq!(query.get("response_type").map(String::as_str), Some("code"));
    assert_eq!(query.get("code_challenge_method").map(String::as_str), Some("S256"), "PKCE S256 is used");
    assert_eq!(query.get("client_id"), Some(&s.client_id));
    s.challenge = query.get("code_challenge").cloned();
    s.nonce = query.get("nonce").cloned();
    let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
    let state_param = query.get("state").cloned().unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("{redirect}?code=the-code&state={state_param}")))
        .finish()
}

async fn token(state: Shared, form: web::Form<std::collections::HashMap<String, String>>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let verifier = PkceCodeVerifier::new(form.get("code_verifier").cloned().unwrap_or_default());
    let expected = s.challenge.clone().unwrap_or_default();
    if PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str() != expected
        || form.get("code").map(String::as_str) != Some("the-code")
    {
        return HttpResponse::BadRequest().json(serde_json::json!({ "error": "invalid_grant" }));
    }
    let (issuer, audience, nonce, issued, expires, key) = match s.mode {
        Mode::Good => {
            (s.issuer.clone(), s.client_id.clone(), s.nonce.clone(), s.now, s.now + TimeDelta::minutes(5), PROVIDER_KEY)
        }
        Mode::Forged => {
            (s.issuer.clone(), s.client_id.clone(), s.nonce.clone(), s.now, s.now + TimeDelta::minutes(5), FORGER_KEY)
        }
        Mode::Expired => (
            s.issuer.clone(),
            s.client_id.clone(),
            s.nonce.clone(),
            s.now - TimeDelta::hours(2),
            s.now - TimeDelta::hours(1),
            PROVIDER_KEY,
        ),
        Mode::WrongAudience => (
            s.issuer.clone(),
            "someone-else".into(),
            s.nonce.clone(),
            s.now,
            s.now + TimeDelta::minutes(5),
            PROVIDER_KEY,
        ),
        Mode::WrongNonce => (
            s.issuer.clone(),
            s.client_id.clone(),
            Some("another-nonce".into()),
            s.now,
            s.now + TimeDelta::minutes(5),
            PROVIDER_KEY,
        ),
        Mode::WrongIssuer => (
            "https://evil.example".into(),
            s.client_id.clone(),
            s.nonce.clone(),
            s.now,
            s.now + TimeDelta::minutes(5),
            PROVIDER_KEY,
        ),
    };
    let mut standard = StandardClaims::new(SubjectIdentifier::new(format!("sub-{}", s.username)));
    if s.claims_in_id_token {
        standard = standard
            .set_preferred_username(Some(EndUserUsername::new(s.username.clone())))
            .set_email(Some(EndUserEmail::new(s.username.clone())));
    }
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).unwrap(),
        vec![Audience::new(audience)],
        expires,
        issued,
        standard,
        EmptyAdditionalClaims {},
    )
    .set_nonce(nonce.map(Nonce::new));
    let access_token = format!("at-{}", uuid::Uuid::new_v4().simple());
    s.access_token = Some(access_token.clone());
    let id_token =
        CoreIdToken::new(claims, &signing_key(key), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap();
    HttpResponse::Ok().json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token.to_string(),
    }))
}

async fn userinfo(state: Shared, req: actix_web::HttpRequest) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let bearer =
        req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_none() || bearer != s.access_token.as_deref() {
        return HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer error=\"invalid_token\""))
            .finish();
    }
    s.userinfo_calls += 1;
    let subject = match s.userinfo {
        UserInfo::Down => return HttpResponse::ServiceUnavailable().body("maintenance"),
        UserInfo::Good => format!("sub-{}", s.username),
        UserInfo::OtherSubject => "sub-someone-else".to_owned(),
    };
    HttpResponse::Ok().json(serde_json::json!({
        "sub": subject,
        "preferred_username": s.username,
        "email": s.username,
        "name": "From UserInfo",
    }))
}
