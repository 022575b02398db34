//! The one place where failures become HTTP responses. The response only carries what
//! went wrong ([`ErrorMessage`], or [`InternalCause`] for a bug); the web edge renders it
//! in the page frame (`web::errors::frame`). Internal errors never show their cause to the
//! user: it is logged with the request id, and the page shows only the id.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// An error as a handler or service reports it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist, or the caller may not know it exists.
    #[error("{0}")]
    NotFound(String),
    /// Nobody is signed in; carries the local path to return to after sign-in.
    #[error("Sign in to continue.")]
    SignInRequired(String),
    /// Too many attempts from one client in a short time.
    #[error("Too many sign-in attempts from your network. Wait a minute, then try again.")]
    TooManyRequests,
    /// The caller is known but not allowed.
    #[error("You do not have access to this page.")]
    Forbidden,
    /// Input that cannot be used; the message says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state; the message says why.
    #[error("{0}")]
    Conflict(String),
    /// Anything else: a bug or an outage. Logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// Wraps any error as internal.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => Self::NotFound("This item was not found.".into()),
            other => Self::internal(other),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(err: r2d2::Error) -> Self {
        Self::internal(err)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        Self::internal(err)
    }
}

/// What to tell the person about an error they can act on, carried on the response for
/// the edge to render.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

/// The cause of an internal error, carried on the response to the middleware that logs it
/// beside the request id.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::SignInRequired(_) => StatusCode::SEE_OTHER,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::SignInRequired(return_to) = self {
            let query: String = openidconnect::url::form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", return_to)
                .finish();
            return HttpResponse::SeeOther().insert_header(("Location", format!("/auth/sign-in?{query}"))).finish();
        }
        if let Self::Internal(cause) = self {
            // The body is replaced by the middleware, which knows the request id.
            let mut res = HttpResponse::new(status);
            res.extensions_mut().insert(InternalCause(format!("{cause:#}")));
            return res;
        }
        let message = self.to_string();
        let mut res = HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(message.clone());
        res.extensions_mut().insert(ErrorMessage(message));
        res
    }
}
