//! The Microsoft Graph–compatible JSON API: `/v1.0/identityGovernance/accessReviews/…` and
//! the token endpoint `/oauth2/v2.0/token`, so that code written for Graph's access reviews
//! works against attest with another base URL and token.
//!
//! A second edge over the same services as the pages: a handler authenticates the bearer
//! token ([`Authed`]), reads the OData query, makes one service call and answers Graph's
//! JSON — collections as `{"@odata.context", "value", "@odata.nextLink"}` with an absolute
//! next link carrying a keyset `$skiptoken`, errors as
//! `{"error": {"code", "message", "innerError": {"request-id", "date"}}}`. Like the SCIM
//! scope it sits outside the pages' middleware (no session, no CSRF form token: the bearer
//! token is the proof) and never logs a request's headers, so no token reaches a log.

pub mod history;
pub mod model;
pub mod odata;
pub mod openapi;
pub mod reviews;

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::service::api_access::{self, Caller};
use crate::web::State;

/// Requests a caller may make a minute before being throttled (`429`, `Retry-After`), unless
/// the operator sets another number (`ATTEST_API_REQUESTS_PER_MINUTE`).
pub const REQUESTS_PER_MINUTE: u32 = 600;
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Where the access review resources are.
pub const BASE: &str = "/v1.0/identityGovernance/accessReviews";

/// Throttles each caller (client or token) on its own.
pub struct ApiLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    per_minute: u32,
}

impl ApiLimiter {
    /// Allows `per_minute` requests a minute per caller, in bursts of that size.
    pub fn new(per_minute: u32) -> Self {
        let quota = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self { limiter: RateLimiter::keyed(Quota::per_minute(quota)), per_minute: quota.get() }
    }
}

impl Default for ApiLimiter {
    fn default() -> Self {
        Self::new(REQUESTS_PER_MINUTE)
    }
}

/// The routes of the API (token endpoint and access reviews).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth2/v2.0/token", web::post().to(token))
        // Where Entra's libraries ask: `https://{authority}/{tenant}/oauth2/v2.0/token`.
        .route("/{tenant}/oauth2/v2.0/token", web::post().to(token))
        .route(OPENAPI_PATH, web::get().to(openapi_json))
        .route(DOCS_PATH, web::get().to(docs_page))
        .service(
            web::scope(BASE).configure(reviews::routes).configure(history::routes).default_service(web::to(unknown)),
        );
}

/// Where the OpenAPI document is.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where people read it.
pub const DOCS_PATH: &str = "/api-docs";

/// Whether a request is for the API (its own scope, outside the pages' middleware).
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/v1.0/") || path.ends_with("/oauth2/v2.0/token") || path == OPENAPI_PATH || path == DOCS_PATH
}

/// `GET /openapi.json`: the API's OpenAPI 3.1 document.
async fn openapi_json(state: State) -> HttpResponse {
    HttpResponse::Ok().json(openapi::document(&state.auth.public_url))
}

/// `GET /api-docs`: the document for people.
async fn docs_page(state: State) -> openapi::DocsPage {
    openapi::DocsPage::new(&state.auth.public_url)
}

/// An error as Graph answers it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with Graph's `code` for `status`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 400 `BadRequest`: the message says what is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 `ResourceNotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("request-id", request_id.clone()));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        res.json(model::ErrorBody {
            error: model::ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                inner_error: model::InnerError {
                    request_id: request_id.clone(),
                    client_request_id: request_id,
                    date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                },
            },
        })
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(m) => Self::not_found(m),
            AppError::BadRequest(m) => Self::bad_request(m),
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            AppError::Forbidden | AppError::SignInRequired(_) => Self::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The caller does not have the permission or the role this request needs.",
            ),
            AppError::TooManyRequests => Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", e.to_string()),
            AppError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error in the API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "Something went wrong on our side; try again.",
                )
            }
        }
    }
}

/// Refuses a body larger than [`MAX_BODY_BYTES`] (413, as Graph).
pub fn within_limit(body: &web::Bytes) -> Result<(), ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "The body is too large."));
    }
    Ok(())
}

/// A request's JSON body, within the size limit; a 400 saying why it cannot be read.
pub fn json_body(body: &web::Bytes) -> Result<serde_json::Value, ApiError> {
    within_limit(body)?;
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("The body is not JSON: {e}.")))
}

/// The result of an API handler.
pub type ApiResult = Result<HttpResponse, ApiError>;

/// The bearer token of a request, if it has one.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// An authenticated, not throttled caller.
pub struct Authed(pub Caller);

impl Authed {
    /// The caller, if its permission allows changes.
    pub fn writer(&self) -> Result<&Caller, ApiError> {
        if self.0.permission().can_write() {
            Ok(&self.0)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "This caller has AccessReview.Read.All: changes need AccessReview.ReadWrite.All.",
            ))
        }
    }
}

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<State>().cloned();
        let limiter = req.app_data::<web::Data<ApiLimiter>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", m);
            let (Some(state), Some(limiter)) = (state, limiter) else {
                return Err(ApiError::from(AppError::Internal(anyhow::anyhow!("the API's state is missing"))));
            };
            let Some(token) = token else {
                return Err(unauthorized("Access token is empty: send Authorization: Bearer <token>."));
            };
            let now = state.clock.now();
            let caller = state.db(move |conn| api_access::authenticate(conn, &token, now)).await?;
            let Some(caller) = caller else {
                return Err(unauthorized("The access token is invalid, has expired, or was revoked."));
            };
            if let Err(not_until) = limiter.limiter.check_key(&caller.key().to_owned()) {
                let wait =
                    not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
                return Err(ApiError {
                    retry_after: Some(wait.as_secs().max(1)),
                    ..ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "TooManyRequests",
                        format!(
                            "Too many requests: at most {} a minute. Retry after the time given.",
                            limiter.per_minute
                        ),
                    )
                });
            }
            Ok(Self(caller))
        })
    }
}

/// The token request's form (RFC 6749 §4.4).
#[derive(Debug, serde::Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// `POST /oauth2/v2.0/token`: the client-credentials grant, as Entra's token endpoint.
/// The client may also send its id and secret with HTTP Basic authentication.
async fn token(state: State, req: HttpRequest, form: Result<web::Form<TokenForm>, actix_web::Error>) -> HttpResponse {
    let oauth_error = |status: StatusCode, error: &'static str, description: &str| {
        HttpResponse::build(status).json(model::OAuthError { error, error_description: description.to_owned() })
    };
    let Ok(web::Form(mut form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Send the request as application/x-www-form-urlencoded with grant_type, client_id, client_secret and scope.",
        );
    };
    if let Some((id, secret)) = basic_credentials(&req) {
        form.client_id.get_or_insert(id);
        form.client_secret.get_or_insert(secret);
    }
    let issuer = state.auth.public_url.clone();
    let now = state.clock.now();
    let issued = state
        .db(move |conn| {
            api_access::issue_token(
                conn,
                form.grant_type.as_deref(),
                form.client_id.as_deref(),
                form.client_secret.as_deref(),
                form.scope.as_deref(),
                &issuer,
                now,
            )
        })
        .await;
    match issued {
        Ok(Ok(t)) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(model::TokenAnswer {
            token_type: "Bearer",
            expires_in: t.expires_in,
            ext_expires_in: t.expires_in,
            access_token: t.access_token,
        }),
        Ok(Err(refused)) => {
            use api_access::TokenRefused::*;
            match refused {
                InvalidClient(m) => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &m),
                UnsupportedGrantType => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "Only the client_credentials grant is supported.",
                ),
                InvalidScope(m) => oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &m),
                InvalidRequest(m) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &m),
            }
        }
        Err(e) => ApiError::from(e).error_response(),
    }
}

/// The client id and secret of an `Authorization: Basic` header.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Any other path below the API's base.
async fn unknown(req: HttpRequest) -> HttpResponse {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{}'.", req.path().trim_start_matches(BASE)),
    )
    .error_response()
}
