//! Callers of the Graph-compatible API, in the pages: admins register application clients
//! (Admin → API clients: the secret shown once, revocation, last use) and every signed-in
//! person manages their own personal access tokens (`/tokens`), which act as them.

use actix_session::Session;
use actix_web::CustomizeResponder;
use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{Either, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::api::{self, Permission};
use crate::domain::directory::ObjectId;
use crate::domain::review::FieldError;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::api_access::{self, ClientRow, PersonalTokenRow};
use crate::web::admin::FormErrors;
use crate::web::format;
use crate::web::guard::{Admin, CurrentUser};
use crate::web::{Chrome, Section, State, flash};

/// A client or token as the lists show it.
pub struct CredentialItem {
    pub id: String,
    pub name: String,
    pub permission: &'static str,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    /// "Live", "Revoked" or "Expired".
    pub state: &'static str,
    pub live: bool,
}

fn state_of(
    expires_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
    now: chrono::NaiveDateTime,
) -> (&'static str, bool) {
    if revoked_at.is_some() {
        ("Revoked", false)
    } else if api::is_live(expires_at, None, now) {
        ("Live", true)
    } else {
        ("Expired", false)
    }
}

fn client_item(c: ClientRow, now: chrono::NaiveDateTime) -> CredentialItem {
    let (state, live) = state_of(c.expires_at, c.revoked_at, now);
    CredentialItem {
        id: c.id,
        name: c.name,
        permission: c.permission.as_str(),
        created: format!("{} by {}", format::datetime(c.created_at), c.created_by_name),
        expires: format::datetime_or_never(c.expires_at),
        last_used: format::datetime_or_never(c.last_used_at),
        state,
        live,
    }
}

fn token_item(t: PersonalTokenRow, now: chrono::NaiveDateTime) -> CredentialItem {
    let (state, live) = state_of(Some(t.expires_at), t.revoked_at, now);
    CredentialItem {
        id: t.id,
        name: t.name,
        permission: t.permission.as_str(),
        created: format::datetime(t.created_at),
        expires: format::datetime(t.expires_at),
        last_used: format::datetime_or_never(t.last_used_at),
        state,
        live,
    }
}

/// What the create forms post.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CredentialForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub permission: String,
    #[serde(default)]
    pub days: String,
}

impl CredentialForm {
    /// The permission and days, or the fields' problems.
    fn parse(&self) -> Result<(Permission, i64), FormErrors> {
        let mut errors = Vec::new();
        let permission = Permission::parse(&self.permission);
        if permission.is_none() {
            errors.push(FieldError { field: "permission", message: "Choose read, or read and change.".into() });
        }
        let days = self.days.trim().parse::<i64>().ok().filter(|d| (1..=api::MAX_CREDENTIAL_DAYS).contains(d));
        if days.is_none() {
            errors.push(FieldError {
                field: "days",
                message: format!("Give the days until it expires, from 1 to {}.", api::MAX_CREDENTIAL_DAYS),
            });
        }
        if let Some(p) = api::name_problem(&self.name) {
            errors.insert(0, FieldError { field: "name", message: p });
        }
        match (permission, days) {
            (Some(p), Some(d)) if errors.is_empty() => Ok((p, d)),
            _ => Err(FormErrors(errors)),
        }
    }
}

// ---- application clients (admins) ----

#[derive(Template, WebTemplate)]
#[template(path = "admin/api_clients.html")]
pub struct ClientsPage {
    chrome: Chrome,
    clients: Vec<CredentialItem>,
    errors: FormErrors,
    form: CredentialForm,
    token_url: String,
    api_url: String,
}

async fn clients_page(
    state: &State,
    chrome: Chrome,
    errors: FormErrors,
    form: CredentialForm,
) -> Result<ClientsPage, AppError> {
    let now = state.clock.now();
    let clients = state.db(api_access::clients).await?.into_iter().map(|c| client_item(c, now)).collect();
    let base = state.auth.public_url.trim_end_matches('/').to_owned();
    Ok(ClientsPage {
        chrome: chrome.in_section(Section::Directory),
        clients,
        errors,
        form,
        token_url: format!("{base}/oauth2/v2.0/token"),
        api_url: format!("{base}/v1.0"),
    })
}

/// `GET /admin/api-clients`.
pub async fn clients(_admin: Admin, state: State, chrome: Chrome) -> Result<ClientsPage, AppError> {
    let form = CredentialForm { days: api::DEFAULT_CREDENTIAL_DAYS.to_string(), ..CredentialForm::default() };
    clients_page(&state, chrome, FormErrors(Vec::new()), form).await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/api_client_secret.html")]
pub struct SecretPage {
    chrome: Chrome,
    name: String,
    client_id: String,
    secret: String,
    expires: String,
    token_url: String,
}

/// `POST /admin/api-clients`: registers a client and shows its secret once.
pub async fn create_client(
    admin: Admin,
    state: State,
    chrome: Chrome,
    form: web::Form<CredentialForm>,
) -> Result<Either<CustomizeResponder<SecretPage>, (ClientsPage, StatusCode)>, AppError> {
    let form = form.into_inner();
    let (permission, days) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(Either::Right((clients_page(&state, chrome, errors, form).await?, StatusCode::BAD_REQUEST)));
        }
    };
    let (now, user, name) = (state.clock.now(), admin.0.user.clone(), form.name.clone());
    let created = state
        .db(move |conn| api_access::create_client(conn, &name, permission, Some(days), Actor::Person(&user), now))
        .await;
    match created {
        Ok((client, secret)) => {
            let page = SecretPage {
                chrome: chrome.in_section(Section::Directory),
                name: client.name,
                client_id: client.id,
                secret,
                expires: format::datetime_or_never(client.expires_at),
                token_url: format!("{}/oauth2/v2.0/token", state.auth.public_url.trim_end_matches('/')),
            };
            // A POST's answer: the secret is in no URL; no-store keeps it out of caches.
            Ok(Either::Left(page.customize().insert_header(CacheControl(vec![CacheDirective::NoStore]))))
        }
        Err(AppError::BadRequest(message)) => {
            let errors = FormErrors(vec![FieldError { field: "name", message }]);
            Ok(Either::Right((clients_page(&state, chrome, errors, form).await?, StatusCode::BAD_REQUEST)))
        }
        Err(e) => Err(e),
    }
}

/// `POST /admin/api-clients/{id}/revoke`.
pub async fn revoke_client(
    admin: Admin,
    state: State,
    session: Session,
    id: web::Path<ObjectId>,
) -> Result<HttpResponse, AppError> {
    let (id, now, user) = (id.into_inner().into_string(), state.clock.now(), admin.0.user.clone());
    let client = state.db(move |conn| api_access::revoke_client(conn, &id, Actor::Person(&user), now)).await?;
    flash(&session, &format!("The API client \"{}\" is revoked: its tokens are refused from now on.", client.name));
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/admin/api-clients")).finish())
}

// ---- personal access tokens (everyone, their own) ----

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    chrome: Chrome,
    tokens: Vec<CredentialItem>,
    errors: FormErrors,
    form: CredentialForm,
    api_url: String,
    /// The token just created, shown once.
    created: Option<(String, String)>,
}

async fn tokens_page(
    state: &State,
    chrome: Chrome,
    user: crate::store::users::UserRow,
    errors: FormErrors,
    form: CredentialForm,
    created: Option<(String, String)>,
) -> Result<TokensPage, AppError> {
    let now = state.clock.now();
    let tokens = state.db(move |conn| api_access::personal_tokens(conn, &user)).await?;
    Ok(TokensPage {
        chrome: chrome.in_section(Section::Home),
        tokens: tokens.into_iter().map(|t| token_item(t, now)).collect(),
        errors,
        form,
        api_url: format!("{}/v1.0", state.auth.public_url.trim_end_matches('/')),
        created,
    })
}

/// `GET /tokens`: the signed-in person's personal access tokens.
pub async fn tokens(me: CurrentUser, state: State, chrome: Chrome) -> Result<TokensPage, AppError> {
    let form = CredentialForm { days: "30".into(), ..CredentialForm::default() };
    tokens_page(&state, chrome, me.0.user, FormErrors(Vec::new()), form, None).await
}

/// `POST /tokens`: a new token, shown once on the page that answers.
pub async fn create_token(
    me: CurrentUser,
    state: State,
    chrome: Chrome,
    form: web::Form<CredentialForm>,
) -> Result<Either<CustomizeResponder<TokensPage>, (TokensPage, StatusCode)>, AppError> {
    let form = form.into_inner();
    let user = me.0.user;
    let (permission, days) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(Either::Right((
                tokens_page(&state, chrome, user, errors, form, None).await?,
                StatusCode::BAD_REQUEST,
            )));
        }
    };
    let (now, u, name) = (state.clock.now(), user.clone(), form.name.clone());
    let (row, token) =
        state.db(move |conn| api_access::create_personal(conn, &u, &name, permission, Some(days), now)).await?;
    let fresh = CredentialForm { days: "30".into(), ..CredentialForm::default() };
    let page = tokens_page(&state, chrome, user, FormErrors(Vec::new()), fresh, Some((row.name, token))).await?;
    Ok(Either::Left(page.customize().insert_header(CacheControl(vec![CacheDirective::NoStore]))))
}

/// `POST /tokens/{id}/revoke`: one of the person's own tokens.
pub async fn revoke_token(
    me: CurrentUser,
    state: State,
    session: Session,
    id: web::Path<ObjectId>,
) -> Result<HttpResponse, AppError> {
    let (id, now, user) = (id.into_inner().into_string(), state.clock.now(), me.0.user);
    state.db(move |conn| api_access::revoke_personal(conn, &user, &id, now)).await?;
    flash(&session, "The token is revoked: requests with it are refused from now on.");
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/tokens")).finish())
}
