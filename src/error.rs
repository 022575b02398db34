//! What can go wrong, as handlers and services report it. Each edge maps an [`AppError`]
//! to its own answer (the web edge to a page, in `web::errors`); nothing here knows how
//! an error is shown. Internal errors never show their cause to the user.

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
