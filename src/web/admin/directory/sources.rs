//! Directory → Sources: every source with what it holds, when it last changed and its
//! recent errors; a source's page with its bearer tokens (created and shown once, revoked)
//! and the SCIM base URL, or an LDAP connection's settings (never its password); and the
//! form creating a SCIM source with its first token. LDAP connections' forms and syncs are
//! in [`super::ldap`].

use actix_session::Session;
use actix_web::CustomizeResponder;
use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{Either, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;

use super::not_found;
use crate::domain::directory::ObjectId;
use crate::domain::review::FieldError;
use crate::domain::source::SourceKind;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::ldap;
use crate::service::sources::{self, SourceRow, SourceSummary, TokenRow};
use crate::sources::ldap::{LdapConfig, Security};
use crate::web::admin::FormErrors;
use crate::web::format;
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State, flash};

/// A source as the pages show it.
pub struct SourceItem {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub scim: bool,
    pub csv: bool,
    pub local: bool,
    pub ldap: bool,
    pub created: String,
    /// When a sync was last tried, or "Never" (LDAP).
    pub last_attempt: String,
    /// When a sync last worked, or "Never" (LDAP).
    pub last_sync: String,
    /// When it last changed an object, or "Never".
    pub changed: String,
    /// What it holds, per kind of object: "3 users", "1 group", …
    pub holdings: Vec<String>,
    /// Whether it holds nothing.
    pub empty: bool,
    /// Its newest errors: (when, message), newest first.
    pub errors: Vec<(String, String)>,
    pub live_tokens: usize,
}

impl From<SourceSummary> for SourceItem {
    fn from(s: SourceSummary) -> Self {
        let h = s.holdings;
        Self {
            kind: s.source.kind.label(),
            scim: s.source.kind == SourceKind::Scim,
            csv: s.source.kind == SourceKind::Csv,
            local: s.source.kind == SourceKind::Local,
            ldap: s.source.kind == SourceKind::Ldap,
            created: format::datetime(s.source.created_at),
            last_attempt: format::datetime_or_never(s.source.sync_attempted_at),
            last_sync: format::datetime_or_never(s.source.synced_at),
            changed: format::datetime_or_never(s.source.changed_at),
            holdings: [
                (h.users, "user", "users"),
                (h.groups, "group", "groups"),
                (h.memberships, "membership", "memberships"),
                (h.owners, "owner", "owners"),
                (h.applications, "application", "applications"),
                (h.app_assignments, "app assignment", "app assignments"),
                (h.role_assignments, "role assignment", "role assignments"),
            ]
            .into_iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, one, many)| format::count(n, one, many))
            .collect(),
            empty: [h.users, h.groups, h.memberships, h.owners, h.applications, h.app_assignments, h.role_assignments]
                .iter()
                .all(|n| *n == 0),
            errors: s.errors.into_iter().map(|e| (format::datetime(e.at), e.message)).collect(),
            live_tokens: s.live_tokens,
            id: s.source.id,
            name: s.source.name,
        }
    }
}

/// A token as the source's page lists it (never the token itself: only its hash is kept).
pub struct TokenItem {
    pub id: String,
    pub name: String,
    pub created: String,
    pub created_by: String,
    pub last_used: String,
    pub revoked: String,
}

impl From<TokenRow> for TokenItem {
    fn from(t: TokenRow) -> Self {
        Self {
            created: format::datetime(t.created_at),
            last_used: format::datetime_or_never(t.last_used_at),
            revoked: t.revoked_at.map(format::datetime).unwrap_or_default(),
            id: t.id,
            name: t.name,
            created_by: t.created_by_name,
        }
    }
}

/// The SCIM base URL clients are given.
fn scim_url(state: &State) -> String {
    format!("{}/scim/v2", state.auth.public_url.trim_end_matches('/'))
}

/// A form's value shown back: capped, so that a huge value stays a field.
fn shown_back(value: &str) -> String {
    value.chars().take(200).collect()
}

/// A service's refusal of a form as a field error; anything else stays an error.
fn field_error(err: AppError, field: &'static str) -> Result<FormErrors, AppError> {
    match err {
        AppError::BadRequest(message) | AppError::Conflict(message) => {
            Ok(FormErrors(vec![FieldError { field, message }]))
        }
        other => Err(other),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sources.html")]
pub struct SourcesPage {
    chrome: Chrome,
    sources: Vec<SourceItem>,
    errors: FormErrors,
    name: String,
    token_name: String,
}

async fn sources_page(
    state: &State,
    chrome: Chrome,
    errors: FormErrors,
    name: String,
    token_name: String,
) -> Result<SourcesPage, AppError> {
    let all = state.db(sources::overview).await?;
    Ok(SourcesPage {
        chrome: chrome.in_section(Section::Directory),
        sources: all.into_iter().map(SourceItem::from).collect(),
        errors,
        name,
        token_name,
    })
}

/// `GET /admin/directory/sources`
pub async fn list(_admin: Admin, state: State, chrome: Chrome) -> Result<SourcesPage, AppError> {
    sources_page(&state, chrome, FormErrors(Vec::new()), String::new(), "Provisioning".to_owned()).await
}

/// The new SCIM source form.
#[derive(serde::Deserialize)]
pub struct NewSourceForm {
    name: String,
    token_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/source_token.html")]
pub struct TokenPage {
    chrome: Chrome,
    source_id: String,
    source_name: String,
    token_name: String,
    token: String,
    scim_url: String,
    new_source: bool,
}

/// The page showing a new token, once: never cached, never in a URL.
fn token_page(
    state: &State,
    chrome: Chrome,
    (source, row, token): (SourceRow, TokenRow, String),
    new_source: bool,
) -> CustomizeResponder<TokenPage> {
    let page = TokenPage {
        chrome: chrome.in_section(Section::Directory),
        source_id: source.id,
        source_name: source.name,
        token_name: row.name,
        token,
        scim_url: scim_url(state),
        new_source,
    };
    // The page's request is a POST, so the token is in no URL; no-store keeps it out of
    // caches and the back button.
    page.customize().insert_header(CacheControl(vec![CacheDirective::NoStore]))
}

/// `POST /admin/directory/sources`: a new SCIM source with its first token.
pub async fn create(
    admin: Admin,
    state: State,
    chrome: Chrome,
    form: web::Form<NewSourceForm>,
) -> Result<Either<CustomizeResponder<TokenPage>, (SourcesPage, StatusCode)>, AppError> {
    let NewSourceForm { name, token_name } = form.into_inner();
    let (now, user) = (state.clock.now(), admin.0.user.clone());
    let (n, t) = (name.clone(), token_name.clone());
    let created = state.db(move |conn| sources::new_scim_source(conn, &n, &t, Actor::Person(&user), now)).await;
    match created {
        Ok(done) => Ok(Either::Left(token_page(&state, chrome, done, true))),
        Err(err) => {
            // A bad token name is reported at its field, anything else at the source's name.
            let field = if matches!(&err, AppError::BadRequest(m) if m.starts_with("Name the token")) {
                "token_name"
            } else {
                "name"
            };
            let errors = field_error(err, field)?;
            let page = sources_page(&state, chrome, errors, shown_back(&name), shown_back(&token_name)).await?;
            Ok(Either::Right((page, StatusCode::BAD_REQUEST)))
        }
    }
}

/// An LDAP connection's settings as its page shows them: everything but the password, of
/// which the page says only whether one is stored.
pub struct LdapFacts {
    pub url: String,
    pub security: &'static str,
    /// Plain LDAP: the page warns that the password crosses the network in the clear.
    pub plain: bool,
    pub bind_dn: String,
    pub password_stored: bool,
    pub preset: &'static str,
    pub users_base: String,
    pub users_filter: String,
    pub groups_base: String,
    pub groups_filter: String,
    pub upn: String,
    pub interval: String,
    pub timeout: String,
    pub page_size: u32,
}

impl From<LdapConfig> for LdapFacts {
    fn from(c: LdapConfig) -> Self {
        Self {
            security: c.security.label(),
            plain: c.security == Security::Plain,
            bind_dn: if c.bind_dn.is_empty() { "None (anonymous)".to_owned() } else { c.bind_dn },
            password_stored: !c.password.is_empty(),
            preset: c.preset.label(),
            url: c.url,
            users_base: c.users_base,
            users_filter: c.users_filter,
            groups_base: c.groups_base,
            groups_filter: c.groups_filter,
            upn: c.mapping.upn,
            interval: match c.sync_interval_minutes {
                0 => "On demand only".to_owned(),
                n => format!("Every {}", format::count(i64::from(n), "minute", "minutes")),
            },
            timeout: format::count(i64::from(c.timeout_seconds), "second", "seconds"),
            page_size: c.page_size,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/source.html")]
pub struct SourcePage {
    chrome: Chrome,
    s: SourceItem,
    ldap: Option<LdapFacts>,
    tokens: Vec<TokenItem>,
    scim_url: String,
    errors: FormErrors,
    token_name: String,
}

async fn source_page(
    state: &State,
    chrome: Chrome,
    id: String,
    errors: FormErrors,
    token_name: String,
) -> Result<SourcePage, AppError> {
    let (summary, tokens, config) = state
        .db(move |conn| match ldap::source_page(conn, &id) {
            Err(AppError::NotFound(_)) => Err(not_found("source")),
            other => other,
        })
        .await?;
    Ok(SourcePage {
        chrome: chrome.in_section(Section::Directory),
        s: SourceItem::from(summary),
        ldap: config.map(LdapFacts::from),
        tokens: tokens.into_iter().map(TokenItem::from).collect(),
        scim_url: scim_url(state),
        errors,
        token_name,
    })
}

/// `GET /admin/directory/sources/{id}`
pub async fn show(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
) -> Result<SourcePage, AppError> {
    source_page(&state, chrome, id.into_inner().into_string(), FormErrors(Vec::new()), String::new()).await
}

/// The create-token form.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    token_name: String,
}

/// `POST /admin/directory/sources/{id}/tokens`: a new token, shown once.
pub async fn create_token(
    admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
    form: web::Form<TokenForm>,
) -> Result<Either<CustomizeResponder<TokenPage>, (SourcePage, StatusCode)>, AppError> {
    let id = id.into_inner().into_string();
    let token_name = form.into_inner().token_name;
    let (now, user, source_id, t) = (state.clock.now(), admin.0.user.clone(), id.clone(), token_name.clone());
    let created =
        state.db(move |conn| sources::create_token_for(conn, &source_id, &t, Actor::Person(&user), now)).await;
    match created {
        Ok(done) => Ok(Either::Left(token_page(&state, chrome, done, false))),
        Err(AppError::NotFound(_)) => Err(not_found("source")),
        Err(err) => {
            let errors = field_error(err, "token_name")?;
            let page = source_page(&state, chrome, id, errors, shown_back(&token_name)).await?;
            Ok(Either::Right((page, StatusCode::BAD_REQUEST)))
        }
    }
}

/// `POST /admin/directory/sources/{id}/tokens/{token}/revoke`: requests with the token are
/// refused from now on.
pub async fn revoke(
    admin: Admin,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    let (id, token) = path.into_inner();
    let (id, token) = (id.into_string(), token.into_string());
    let (now, user, source_id) = (state.clock.now(), admin.0.user.clone(), id.clone());
    let revoked =
        state.db(move |conn| sources::revoke_token(conn, &source_id, &token, Actor::Person(&user), now)).await?;
    flash(&session, &format!("The token \"{}\" is revoked: requests with it are refused from now on.", revoked.name));
    Ok(HttpResponse::SeeOther().insert_header(("Location", format!("/admin/directory/sources/{id}"))).finish())
}
