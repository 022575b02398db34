//! Sign-in and sign-out pages: OpenID Connect, and demo personas when started with --demo.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::oidc::{OidcError, PendingSignIn};
use crate::auth::token::new_token;
use crate::demo::personas;
use crate::domain::directory::clean_display_text;
use crate::error::AppError;
use crate::service::directory;
use crate::service::rows::UserRow;
use crate::service::sessions::{self, Refusal};
use crate::web::client::ClientAddr;
use crate::web::csrf;
use crate::web::errors::titled_error_page;
use crate::web::guard::{CurrentUser, SESSION_ID, SignInAttempt, safe_return_to};
use crate::web::{Chrome, State, flash};

/// Session entry holding a sign-in in progress at the provider.
const PENDING_KEY: &str = "oidc_pending";

/// Routes under `/auth`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(sign_in_page))
        .route("/oidc", web::get().to(oidc_start))
        .route("/callback", web::get().to(oidc_callback))
        .route("/demo", web::post().to(demo_sign_in))
        .route("/sign-out", web::post().to(sign_out));
}

/// A demo persona on the sign-in page.
pub struct PersonaItem {
    key: &'static str,
    name: String,
    upn: &'static str,
    about: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in.html")]
pub struct SignInPage {
    chrome: Chrome,
    return_to: String,
    oidc: bool,
    personas: Vec<PersonaItem>,
}

/// Query of the sign-in page.
#[derive(Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

impl ReturnTo {
    fn target(&self) -> String {
        safe_return_to(self.return_to.as_deref().unwrap_or("/"))
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", location.to_owned())).finish()
}

/// The redirect to `return_to` once it is made safe, built before anything is written so
/// a sign-in either completes with this answer or writes nothing.
fn redirect_after_sign_in(return_to: &str) -> HttpResponse {
    let location = HeaderValue::from_str(&safe_return_to(return_to)).unwrap_or(HeaderValue::from_static("/"));
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// `GET /auth/sign-in`
pub async fn sign_in_page(
    state: State,
    chrome: Chrome,
    query: web::Query<ReturnTo>,
) -> Result<actix_web::Either<HttpResponse, SignInPage>, AppError> {
    let return_to = query.target();
    if chrome.user.is_some() {
        return Ok(actix_web::Either::Left(see_other(&return_to)));
    }
    let personas = if state.demo {
        let upns: Vec<String> = personas::ALL.iter().map(|(_, upn, _)| (*upn).to_owned()).collect();
        let found = state.db(move |conn| directory::users_by_upn(conn, &upns)).await?;
        personas::ALL
            .iter()
            .filter_map(|(key, upn, about)| {
                let user = found.iter().find(|u| u.upn == *upn)?;
                Some(PersonaItem { key, name: user.display_name.clone(), upn, about })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(actix_web::Either::Right(SignInPage { chrome, return_to, oidc: state.oidc.is_some(), personas }))
}

/// Replaces whatever the session held with a fresh signed-in session: a new cookie
/// (no fixation) and a new CSRF token.
fn start_session(session: &Session, sid: &str) -> Result<(), AppError> {
    session.clear();
    session.renew();
    session.insert(SESSION_ID, sid).map_err(AppError::internal)?;
    session.insert(csrf::CSRF_KEY, new_token()).map_err(AppError::internal)?;
    Ok(())
}

/// Signs `user` in and answers with the redirect to where they were going.
async fn complete_sign_in(
    state: &State,
    session: &Session,
    client: ClientAddr,
    user: UserRow,
    return_to: &str,
) -> Result<HttpResponse, AppError> {
    let answer = redirect_after_sign_in(return_to);
    let now = state.clock.now();
    let upn = user.upn.clone();
    let idle = state.auth.idle_timeout;
    let sid = state.db(move |conn| sessions::sign_in(conn, &user, now, idle)).await?;
    start_session(session, &sid)?;
    tracing::info!(user = %upn, %client, "signed in");
    Ok(answer)
}

fn refused(refusal: &Refusal, client: ClientAddr) -> HttpResponse {
    match refusal {
        Refusal::NotInDirectory(names) => {
            tracing::warn!(?names, %client, "sign-in refused: not in the directory");
            let tried = if names.is_empty() { "no user name".to_owned() } else { names.join(", ") };
            titled_error_page(
                StatusCode::FORBIDDEN,
                "Your account is not in this directory",
                &format!(
                    "You signed in as {tried}, but no user in this directory has that name. Sign in with your work account, or ask your administrator to check that your account is synchronised to attest."
                ),
                None,
            )
        }
        Refusal::Disabled(upn) => {
            tracing::warn!(user = %upn, %client, "sign-in refused: account disabled");
            titled_error_page(
                StatusCode::FORBIDDEN,
                "Your account is disabled",
                "Your account is disabled in the directory, so you cannot sign in. Ask your administrator if you think this is wrong.",
                None,
            )
        }
    }
}

/// Form of a demo persona sign-in.
#[derive(Deserialize)]
pub struct DemoForm {
    persona: String,
    return_to: Option<String>,
}

/// `POST /auth/demo`: signs in as a demo persona. Exists only with `--demo`.
pub async fn demo_sign_in(
    state: State,
    session: Session,
    _attempt: SignInAttempt,
    client: ClientAddr,
    form: web::Form<DemoForm>,
) -> Result<HttpResponse, AppError> {
    if !state.demo {
        return Err(AppError::NotFound("Check the address, or start again from the home page.".into()));
    }
    let Some((_, upn, _)) = personas::ALL.iter().find(|(key, _, _)| *key == form.persona) else {
        return Err(AppError::BadRequest("Choose one of the demo people listed on the sign-in page.".into()));
    };
    let names = vec![(*upn).to_owned()];
    let matched = state.db(move |conn| sessions::match_user(conn, &names)).await?;
    match matched {
        Ok(user) => complete_sign_in(&state, &session, client, user, form.return_to.as_deref().unwrap_or("/")).await,
        Err(refusal) => Ok(refused(&refusal, client)),
    }
}

fn provider_unavailable(err: &OidcError) -> HttpResponse {
    tracing::error!(error = %err, "sign-in through the identity provider failed");
    titled_error_page(
        StatusCode::BAD_GATEWAY,
        "Your identity provider could not be reached",
        "attest could not talk to your organisation's sign-in service. Try again in a minute; if it keeps failing, tell your administrator.",
        None,
    )
}

fn verification_failed(err: &OidcError, client: ClientAddr) -> HttpResponse {
    tracing::warn!(error = %err, %client, "sign-in refused");
    titled_error_page(
        StatusCode::UNAUTHORIZED,
        "Sign-in did not work",
        "The answer from your sign-in service could not be verified, so you were not signed in. Start again from the sign-in page.",
        None,
    )
}

/// `GET /auth/oidc`: sends the browser to the identity provider.
pub async fn oidc_start(
    state: State,
    session: Session,
    _attempt: SignInAttempt,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    let Some(oidc) = state.oidc.clone() else {
        return Err(AppError::NotFound("Sign-in through an identity provider is not set up here.".into()));
    };
    match oidc.begin(query.target()).await {
        Ok((url, pending)) => {
            session.insert(PENDING_KEY, pending).map_err(AppError::internal)?;
            Ok(see_other(&url))
        }
        Err(err) => Ok(provider_unavailable(&err)),
    }
}

/// Query of the provider's redirect back.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: the provider sends the browser back here.
pub async fn oidc_callback(
    state: State,
    session: Session,
    _attempt: SignInAttempt,
    client: ClientAddr,
    query: web::Query<Callback>,
) -> Result<HttpResponse, AppError> {
    let Some(oidc) = state.oidc.clone() else {
        return Err(AppError::NotFound("Sign-in through an identity provider is not set up here.".into()));
    };
    // One use only: a replayed callback finds nothing pending.
    let pending: Option<PendingSignIn> = session.remove_as(PENDING_KEY).and_then(Result::ok);
    let Some(pending) = pending else {
        return Err(AppError::BadRequest(
            "This sign-in has expired or was started in another browser. Start again from the sign-in page.".into(),
        ));
    };
    if let Some(error) = &query.error {
        // The provider's words, but they travel in a URL anyone can write: shown cleaned.
        let detail = clean_display_text(query.error_description.as_deref().unwrap_or(error));
        tracing::warn!(error = %clean_display_text(error), %detail, %client, "the identity provider refused the sign-in");
        return Ok(titled_error_page(
            StatusCode::UNAUTHORIZED,
            "Sign-in did not work",
            &format!("Your sign-in service said: {detail}. Start again from the sign-in page."),
            None,
        ));
    }
    let (Some(code), Some(returned_state)) = (&query.code, &query.state) else {
        return Err(AppError::BadRequest(
            "The sign-in answer is incomplete. Start again from the sign-in page.".into(),
        ));
    };
    let return_to = pending.return_to.clone();
    let names = match oidc.finish(pending, code, returned_state).await {
        Ok(names) => names,
        Err(err @ OidcError::Provider(_)) => return Ok(provider_unavailable(&err)),
        Err(err) => return Ok(verification_failed(&err, client)),
    };
    let matched = state.db(move |conn| sessions::match_user(conn, &names)).await?;
    match matched {
        Ok(user) => complete_sign_in(&state, &session, client, user, &return_to).await,
        Err(refusal) => Ok(refused(&refusal, client)),
    }
}

/// `POST /auth/sign-out`
pub async fn sign_out(state: State, session: Session, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let sid = user.0.session_id.clone();
    let who = user.0.user.clone();
    let now = state.clock.now();
    state.db(move |conn| sessions::sign_out(conn, &sid, &who, now)).await?;
    session.clear();
    session.renew();
    let _ = session.insert(csrf::CSRF_KEY, new_token());
    flash(&session, "You have signed out.");
    tracing::info!(user = %user.0.user.upn, "signed out");
    Ok(see_other("/auth/sign-in"))
}
