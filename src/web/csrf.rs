//! Cross-site request forgery protection: every state-changing request must carry the
//! session's token, as a `csrf_token` form field or an `X-CSRF-Token` header. Requests
//! without it are answered 403 before any handler runs, so nothing changes.

use actix_session::{Session, SessionExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use super::client::ClientAddr;
use super::errors::error_page;
use crate::auth::oidc::constant_time_eq;
use crate::auth::token::new_token;

/// Session entry holding the token.
pub const CSRF_KEY: &str = "csrf";
/// Form field carrying the token.
pub const CSRF_FIELD: &str = "csrf_token";

/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF_KEY) {
        return token;
    }
    let token = new_token();
    let _ = session.insert(CSRF_KEY, &token);
    token
}

/// Checks the token of every request that is not GET, HEAD or OPTIONS.
pub async fn verify(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // The API (`/api/…`) is authenticated by a bearer token alone (its handlers never
    // look at the session), so a forged cross-site request gains nothing there; the API
    // answers a missing token itself (401).
    if req.path().starts_with("/api/") {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // The one file upload (multipart) carries its token in a form part, which only its
    // handler reads: it checks the token with [`check`] before it uses anything it was
    // sent. A multipart request anywhere else is checked here like a form, and fails
    // (its token is not in a header), so a cross-site multipart form cannot reach a
    // handler that reads no body.
    if is_multipart(&req) && req.path() == UPLOAD_PATH {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let expected = req.get_session().get::<String>(CSRF_KEY).unwrap_or(None);
    let mut provided = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if provided.is_none() && is_form {
        // Read the form to find the field, then put the body back for the handler.
        // A body over the limit is answered here, as a response the error pages can see
        // (a form too large goes back to its page with a message), not as an error.
        let body = match req.extract::<Bytes>().await {
            Ok(body) => body,
            Err(err) => {
                let res = actix_web::ResponseError::error_response(err.as_response_error());
                return Ok(req.into_response(res));
            }
        };
        provided = openidconnect::url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned());
        req.set_payload(body.into());
    }
    let valid = matches!((&expected, &provided), (Some(e), Some(p)) if constant_time_eq(e.as_bytes(), p.as_bytes()));
    if !valid {
        let client = ClientAddr::of(req.request());
        tracing::warn!(path = %req.path(), %client, "refused a request without a valid CSRF token");
        let page = error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from attest, so nothing was changed. Go back, reload the page and try again.",
            None,
        );
        return Ok(req.into_response(page));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The path of the directory import's upload, the one handler that reads a multipart body.
pub const UPLOAD_PATH: &str = "/admin/directory/import";

fn is_multipart(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Whether `provided` is the session's token (for the upload handler, which reads its
/// token from a multipart form part).
pub fn check(session: &Session, provided: &str) -> bool {
    let expected = session.get::<String>(CSRF_KEY).unwrap_or(None);
    expected.is_some_and(|e| constant_time_eq(e.as_bytes(), provided.as_bytes()))
}
