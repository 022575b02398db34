//! Error pages and the request-id middleware that logs internal errors.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use askama::Template;

use super::Chrome;
use crate::error::{AppError, InternalCause};

/// The error page.
#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
    request_id: Option<&'a str>,
}

/// Renders the error page for `status` with a message that says what to do.
pub fn error_page(status: StatusCode, message: &str, request_id: Option<&str>) -> HttpResponse {
    titled_error_page(status, default_title(status), message, request_id)
}

fn default_title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "You do not have access",
        StatusCode::BAD_REQUEST => "There is a problem with the request",
        StatusCode::CONFLICT => "This cannot be done now",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        StatusCode::INTERNAL_SERVER_ERROR => "Sorry, something went wrong",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// Renders the error page with its own title.
pub fn titled_error_page(status: StatusCode, title: &str, message: &str, request_id: Option<&str>) -> HttpResponse {
    let page = ErrorPage { chrome: Chrome::bare(), title, message, request_id };
    match page.render() {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
        // A template that cannot render is a bug; still answer with something readable.
        Err(_) => HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(title.to_owned()),
    }
}

/// The id of the current request, for logs and the internal error page.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives each request an id (echoed in `X-Request-Id`), and turns an internal error into a
/// logged cause plus a page that shows only the id.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await?;
    let mut res = if res.status() == StatusCode::INTERNAL_SERVER_ERROR {
        let cause = res.response().extensions().get::<InternalCause>().map(|c| c.0.clone());
        tracing::error!(request_id = %id, %method, %path, cause = cause.as_deref().unwrap_or("unknown"), "internal error");
        let (req, _) = res.into_parts();
        let page = error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The error has been logged. Try again in a moment; if it keeps happening, give your administrator the request id below.",
            Some(&id),
        );
        ServiceResponse::new(req, page)
    } else {
        res.map_into_boxed_body()
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// The answer for a URL no route matches.
pub async fn not_found() -> HttpResponse {
    error_page(StatusCode::NOT_FOUND, "Check the address, or start again from the home page.", None)
}

/// Turns a query string that does not parse into a 400 page that says which part is wrong.
pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!(
        "The address has a parameter that is not valid: {err}. Check the link, or start again from the first page."
    ))
    .into()
}

/// Turns a form that does not parse into a 400 page.
pub fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("The form could not be read ({err}). Go back, reload the page and try again.")).into()
}

/// Turns a path segment that does not parse into a 404 page.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::NotFound("Check the address, or start again from the home page.".into()).into()
}
