//! Error pages and the request-id middleware that logs internal errors: the one place
//! where an [`AppError`] becomes an HTTP response.
//!
//! Errors are rendered at the edge, in the page frame: handlers, extractors and the other
//! middlewares only leave what went wrong on the response ([`ErrorMessage`] from an
//! [`AppError`], [`ErrorPageContent`] from [`error_page`], [`InternalCause`] for a bug), and
//! [`frame`], which runs inside the session and after sign-in is known, renders the page
//! with the header, the signed-in person, their navigation and a link back to where they
//! came from.

use actix_session::SessionExt;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use openidconnect::url::Url;

use super::guard::Identity;
use super::{Chrome, ChromeUser, Section, State, csrf};
use crate::error::AppError;

/// The largest request body attest reads: the create and edit review forms with thousands
/// of names (every other form is held to 16 KiB by the form extractor). A larger form is
/// sent back to its page with a message.
pub const MAX_FORM_BYTES: usize = 1024 * 1024;

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

/// The error page.
#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
    request_id: Option<&'a str>,
    /// Where to go from here: (href, link text).
    back: (String, &'static str),
}

/// What an error page says, left on a response for [`frame`] to render.
#[derive(Debug, Clone)]
pub struct ErrorPageContent {
    /// The page's heading.
    pub title: String,
    /// What happened and what to do.
    pub message: String,
}

/// An error answer with a message that says what to do; [`frame`] renders it as a page.
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
        StatusCode::METHOD_NOT_ALLOWED => "This address cannot be used that way",
        StatusCode::PAYLOAD_TOO_LARGE => "What was sent is too large",
        StatusCode::INTERNAL_SERVER_ERROR => "Sorry, something went wrong",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// An error answer with its own title; [`frame`] renders it as a page. Its plain-text body
/// is only what a client sees should the response not pass through [`frame`].
pub fn titled_error_page(status: StatusCode, title: &str, message: &str, request_id: Option<&str>) -> HttpResponse {
    let mut text = format!("{title}\n\n{message}\n");
    if let Some(id) = request_id {
        text.push_str(&format!("\nRequest id: {id}\n"));
    }
    let mut res = HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(text);
    res.extensions_mut().insert(ErrorPageContent { title: title.to_owned(), message: message.to_owned() });
    res
}

/// What an error response asks to show: (title, message), or `None` when it carries its
/// own body (a JSON health check, say) and is left alone.
fn content_of(res: &ServiceResponse<BoxBody>) -> Option<(String, String)> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let extensions = res.response().extensions();
    if let Some(page) = extensions.get::<ErrorPageContent>() {
        return Some((page.title.clone(), page.message.clone()));
    }
    if let Some(message) = extensions.get::<ErrorMessage>() {
        return Some((default_title(status).to_owned(), message.0.clone()));
    }
    if extensions.get::<InternalCause>().is_some() {
        return Some((default_title(status).to_owned(), INTERNAL_MESSAGE.to_owned()));
    }
    // Errors actix answers itself (a method a route does not take, say) come with an
    // empty or plain-text body: they get a page too.
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    let empty = matches!(res.response().body().size(), BodySize::None | BodySize::Sized(0));
    (empty || plain).then(|| (default_title(status).to_owned(), generic_message(status).to_owned()))
}

const INTERNAL_MESSAGE: &str = "The error has been logged. Try again in a moment; if it keeps happening, give your administrator the request id below.";

fn generic_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Check the address, or start again from the home page.",
        StatusCode::METHOD_NOT_ALLOWED => "Go back and use the page's own links and buttons.",
        StatusCode::INTERNAL_SERVER_ERROR => INTERNAL_MESSAGE,
        _ => "Go back and try again; if it keeps happening, tell your administrator.",
    }
}

/// Renders error responses as pages in the frame: the header with the signed-in person,
/// the navigation of their role, what happened, and a link back to where they came from.
/// Internal errors are logged here with the request id and their cause; the page shows
/// only the id. A form too large to read is sent back to the page it came from with a
/// message (nothing was read, so nothing changed).
///
/// Registered inside the session and the identify middlewares and outside the CSRF check,
/// so it sees every answer of the application, the CSRF refusal included.
pub async fn frame(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    // Taken after the call: a request cloned before routing cannot be routed.
    let http = res.request().clone();
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && http.method() == Method::POST {
        let back = same_site_referer(&http).unwrap_or_else(|| http.path().to_owned());
        super::flash_error(
            &http.get_session(),
            &format!(
                "What you sent was larger than {} MiB, so attest could not read it and nothing was saved. Enter fewer names (a group can stand for many people), then try again.",
                MAX_FORM_BYTES / (1024 * 1024)
            ),
        );
        // The body was not read: say the connection ends here, so the browser does not send
        // its next request on a connection the server closes.
        let redirect = HttpResponse::SeeOther().insert_header((header::LOCATION, back)).force_close().finish();
        return Ok(ServiceResponse::new(http, redirect));
    }
    let Some((title, message)) = content_of(&res) else { return Ok(res) };
    let status = res.status();
    let request_id = http.extensions().get::<RequestId>().map(|r| r.0.clone());
    if let Some(cause) = res.response().extensions().get::<InternalCause>() {
        let id = request_id.as_deref().unwrap_or("none");
        tracing::error!(request_id = %id, method = %http.method(), path = %http.path(), cause = %cause.0, "internal error");
    }
    let shown_id = (status == StatusCode::INTERNAL_SERVER_ERROR).then_some(request_id).flatten();
    let chrome = chrome_of(&http);
    let back = back_link(&http, &chrome);
    let page = render(status, chrome, &title, &message, shown_id.as_deref(), back);
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, page))
}

fn render(
    status: StatusCode,
    chrome: Chrome,
    title: &str,
    message: &str,
    request_id: Option<&str>,
    back: (String, &'static str),
) -> HttpResponse {
    let page = ErrorPage { chrome, title, message, request_id, back };
    match page.render() {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
        // A template that cannot render is a bug; still answer with something readable.
        Err(_) => HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(title.to_owned()),
    }
}

/// The frame of an error page: like a page's own, without taking the one-time messages
/// (they belong to the page the person goes to next).
fn chrome_of(req: &HttpRequest) -> Chrome {
    let Some(state) = req.app_data::<State>() else { return Chrome::bare() };
    let user = req.extensions().get::<Identity>().map(|id| ChromeUser {
        display_name: id.user.display_name.clone(),
        upn: id.user.upn.clone(),
        is_admin: id.is_admin,
        is_owner_manager: id.is_owner_manager,
    });
    Chrome {
        directory_name: std::sync::Arc::from(state.directory_name.as_str()),
        demo: state.demo,
        section: section_of(req.path()),
        user,
        csrf: csrf::token(&req.get_session()),
        flash: None,
        flash_error: None,
    }
}

/// The part of the portal a path belongs to.
fn section_of(path: &str) -> Section {
    if path.starts_with("/admin/access-reviews") {
        Section::Reviews
    } else if ["/admin/users", "/admin/groups", "/admin/applications", "/admin/roles"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        Section::Directory
    } else if path.starts_with("/admin/audit") {
        Section::Audit
    } else if path.starts_with("/admin/outbox") {
        Section::Outbox
    } else if path == "/" || path.starts_with("/reviews/") {
        Section::Home
    } else {
        Section::None
    }
}

/// Where the error page leads: back to the page the person came from when the browser
/// says so and it is a page of this site, else the start of the section they are in (when
/// their role may see it), else the home page.
fn back_link(req: &HttpRequest, chrome: &Chrome) -> (String, &'static str) {
    let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
    if let Some(back) = same_site_referer(req) {
        // The page that failed is no way back; the form a refused POST came from is.
        if back != here || req.method() != Method::GET {
            return (back, "Go back to the page you came from");
        }
    }
    let path = req.path();
    let start = match section_of(path) {
        Section::Reviews if chrome.manages_reviews() => Some(("/admin/access-reviews", "Go to Access reviews")),
        Section::Directory if chrome.is_admin() => Some(match path {
            p if p.starts_with("/admin/groups") => ("/admin/groups", "Go to the list of groups"),
            p if p.starts_with("/admin/applications") => ("/admin/applications", "Go to the list of applications"),
            p if p.starts_with("/admin/roles") => ("/admin/roles", "Go to the list of roles"),
            _ => ("/admin/users", "Go to the list of users"),
        }),
        Section::Audit if chrome.is_admin() => Some(("/admin/audit", "Go to the audit log")),
        Section::Outbox if chrome.is_admin() => Some(("/admin/outbox", "Go to the outbox")),
        _ => None,
    };
    match start {
        // The section's start is no way out when it is the page that failed.
        Some((href, label)) if href != here => (href.to_owned(), label),
        _ => ("/".to_owned(), "Go to the home page"),
    }
}

/// The path and query of the `Referer` when it is a page of this site: same host (as the
/// request names it, or as the public URL does), http or https, and a path that cannot be
/// read as another site (`//host`). Anything else — another site, a malformed or hostile
/// value — gives `None`.
fn same_site_referer(req: &HttpRequest) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    if referer.len() > 2048 {
        return None;
    }
    let url = Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let authority = |u: &Url| -> Option<String> {
        let host = u.host_str()?.to_ascii_lowercase();
        Some(match u.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    };
    let theirs = authority(&url)?;
    let request_host = req.connection_info().host().to_ascii_lowercase();
    let public_host =
        req.app_data::<State>().and_then(|s| Url::parse(&s.auth.public_url).ok()).and_then(|u| authority(&u));
    if theirs != request_host && Some(&theirs) != public_host.as_ref() {
        return None;
    }
    let path = url.path();
    // The parser has already percent-encoded control characters and turned `\` into `/`.
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    Some(match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    })
}

/// The id of the current request, for logs and the internal error page.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives each request an id (echoed in `X-Request-Id`). An internal error that did not pass
/// through [`frame`] (one in the session or sign-in middlewares) is logged here with its
/// cause and answered with a page showing only the id.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await?.map_into_boxed_body();
    let mut res = if res.status() == StatusCode::INTERNAL_SERVER_ERROR
        && (res.response().extensions().get::<InternalCause>().is_some()
            || matches!(res.response().body().size(), BodySize::None | BodySize::Sized(0)))
    {
        let cause = res.response().extensions().get::<InternalCause>().map(|c| c.0.clone());
        tracing::error!(request_id = %id, %method, %path, cause = cause.as_deref().unwrap_or("unknown"), "internal error");
        let (req, _) = res.into_parts();
        let page = render(
            StatusCode::INTERNAL_SERVER_ERROR,
            Chrome::bare(),
            default_title(StatusCode::INTERNAL_SERVER_ERROR),
            INTERNAL_MESSAGE,
            Some(&id),
            ("/".to_owned(), "Go to the home page"),
        );
        ServiceResponse::new(req, page)
    } else {
        res
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

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn referer(host: &str, value: &str) -> Option<String> {
        let req = TestRequest::default().insert_header((header::HOST, host)).insert_header((header::REFERER, value));
        same_site_referer(&req.to_http_request())
    }

    #[test]
    fn only_pages_of_this_site_are_a_way_back() {
        let host = "attest.example:8080";
        assert_eq!(referer(host, "http://attest.example:8080/admin/users?q=a").as_deref(), Some("/admin/users?q=a"));
        assert_eq!(referer(host, "https://ATTEST.example:8080/reviews/x").as_deref(), Some("/reviews/x"));
        for hostile in [
            "http://evil.example/admin/users",
            "http://attest.example/admin/users",
            "http://attest.example:8080.evil.example/",
            "http://attest.example:8080//evil.example/x",
            "http://attest.example:8080/\\evil.example",
            "http://attest.example:8080/%09/evil.example",
            "javascript:alert(1)//attest.example:8080/",
            "ftp://attest.example:8080/x",
            "http://user:pw@attest.example:8080/x",
            "/admin/users",
            "//attest.example:8080/x",
            "not a url",
        ] {
            let back = referer(host, hostile);
            assert!(back.as_deref().is_none_or(|b| b.starts_with('/') && !b.starts_with("//")), "{hostile}: {back:?}");
            assert!(
                back.as_deref().is_none_or(|b| !b.contains("evil.example") || b.starts_with("/%09")),
                "{hostile}: {back:?}"
            );
        }
        assert_eq!(referer(host, "http://attest.example:8080//evil.example/x"), None);
        assert_eq!(referer(host, "http://attest.example:8080/\\evil.example"), None, "a backslash reads as //");
        let control = referer(host, "http://attest.example:8080/a\tb");
        assert!(control.as_deref().is_none_or(|b| !b.chars().any(char::is_control)), "{control:?}");
    }

    #[test]
    fn sections_follow_the_path() {
        assert_eq!(section_of("/admin/access-reviews/x/edit"), Section::Reviews);
        assert_eq!(section_of("/admin/groups/x"), Section::Directory);
        assert_eq!(section_of("/admin/audit.csv"), Section::Audit);
        assert_eq!(section_of("/reviews/x"), Section::Home);
        assert_eq!(section_of("/no/such/page"), Section::None);
    }
}
