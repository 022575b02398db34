//! Who is asking, at the HTTP edge: the middleware that resumes the session from its
//! cookie, and the extractors that guard handlers. Authorization lives in extractor types
//! ([`CurrentUser`], [`Admin`], [`ReviewManager`], [`Reviewer`]), so a handler cannot
//! forget it; the checks themselves are service calls.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::State;
use super::client::ClientAddr;
use crate::domain::directory::ObjectId;
use crate::domain::review::ReviewScope;
use crate::error::AppError;
use crate::service::panel::{self, Access};
use crate::service::sessions;
pub use crate::service::sessions::Identity;

/// Session entry: the server-side session id.
pub const SESSION_ID: &str = "sid";

/// Looks up the session of each request (one query for signed-in requests, none for
/// anonymous ones) and leaves the [`Identity`] in the request. Ends sessions that were
/// idle too long, belong to disabled users, or were signed out elsewhere.
pub async fn identify(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    if path.starts_with("/static/") || path == "/healthz" {
        return next.call(req).await;
    }
    let session = req.get_session();
    let sid = session.get::<String>(SESSION_ID).unwrap_or(None);
    if let (Some(sid), Some(state)) = (sid, req.app_data::<State>().cloned()) {
        let now = state.clock.now();
        let idle = state.auth.idle_timeout;
        let found = state.db(move |conn| sessions::resume(conn, &sid, now, idle)).await?;
        match found {
            Some(identity) => {
                req.extensions_mut().insert(identity);
            }
            None => {
                session.remove(SESSION_ID);
            }
        }
    }
    next.call(req).await
}

/// Where to send an anonymous visitor back to after sign-in: this request's path.
fn return_to(req: &HttpRequest) -> String {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    safe_return_to(target)
}

/// The longest `return_to` kept; anything longer falls back to `/`. It travels in the
/// session cookie during an OpenID Connect sign-in, and browsers cap a cookie at 4 KiB.
pub const MAX_RETURN_TO: usize = 1024;

/// Where to send someone after sign-in: `target` if it is a path of this site, else `/`.
///
/// Only a relative URL made of a path and an optional query is kept, written as this site
/// writes its links: visible ASCII only (no control characters, spaces or backslashes,
/// which browsers strip or read as `/`, so `/\t/evil.example` would become
/// `//evil.example`), no scheme, no authority, and no path that starts with `//` once
/// resolved the way a browser resolves it (`/.//evil.example` does). The answer is the
/// resolved path and query, so what was checked is what is sent.
pub fn safe_return_to(target: &str) -> String {
    local_path(target).unwrap_or_else(|| "/".to_owned())
}

fn local_path(target: &str) -> Option<String> {
    if target.len() > MAX_RETURN_TO
        || !target.starts_with('/')
        || !target.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return None;
    }
    let base = openidconnect::url::Url::parse("http://attest.invalid/").ok()?;
    let url = base.join(target).ok()?;
    if url.origin() != base.origin() || url.path().starts_with("//") {
        return None;
    }
    Some(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

/// Any signed-in user. Anonymous requests are sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Identity);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Identity>() {
            Some(identity) => Ok(Self(identity.clone())),
            None => Err(AppError::SignInRequired(return_to(req))),
        })
    }
}

/// A portal admin (Global, User or Identity Governance Administrator, active now).
#[derive(Debug, Clone)]
pub struct Admin(pub Identity);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Identity>() {
            Some(identity) if identity.is_admin => Ok(Self(identity.clone())),
            Some(_) => Err(AppError::Forbidden),
            None => Err(AppError::SignInRequired(return_to(req))),
        })
    }
}

/// Someone who may manage access reviews: a portal admin, or a group or application owner
/// while the tenant setting "owners can manage reviews of their resources" is on. Which
/// series they may touch is checked per object against [`ReviewScope`].
#[derive(Debug, Clone)]
pub struct ReviewManager {
    /// The signed-in person.
    pub identity: Identity,
    /// What they may manage.
    pub scope: ReviewScope,
}

impl FromRequest for ReviewManager {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Identity>() {
            Some(identity) if identity.is_admin => Ok(Self { identity: identity.clone(), scope: ReviewScope::All }),
            Some(identity) if identity.is_owner_manager => {
                Ok(Self { identity: identity.clone(), scope: ReviewScope::OwnedBy(identity.user.id.clone()) })
            }
            Some(_) => Err(AppError::Forbidden),
            None => Err(AppError::SignInRequired(return_to(req))),
        })
    }
}

/// A signed-in reviewer of the instance named in the path: one of its snapshotted
/// reviewers (fallbacks included), a manager with people in it, or the principal of a
/// self-review. Anyone else gets 404, so an instance's existence is not revealed.
pub struct Reviewer {
    /// Who.
    pub identity: Identity,
    /// What they may do with the instance.
    pub access: Access,
}

/// The answer to anyone who may not see a review: as if it did not exist.
pub fn review_not_found() -> AppError {
    AppError::NotFound(
        "There is no access review here for you. Your reviews are listed under My access reviews.".into(),
    )
}

impl FromRequest for Reviewer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let identity = CurrentUser::from_request(req, payload).into_inner();
        let state = req.app_data::<State>().cloned();
        let id = ObjectId::try_from(req.match_info().get("id").unwrap_or_default().to_owned());
        // `/reviews/{id}/for/{user}`: a delegate reviewing on `user`'s behalf.
        let on_behalf = req.match_info().get("for").map(|u| ObjectId::try_from(u.to_owned()));
        Box::pin(async move {
            let identity = identity?.0;
            let (Some(state), Ok(id)) = (state, id) else { return Err(review_not_found()) };
            let (user, is_admin, now) = (identity.user.id.clone(), identity.is_admin, state.clock.now());
            let access = match on_behalf {
                None => state.db(move |conn| panel::access(conn, id.as_str(), &user, is_admin)).await?,
                Some(Ok(of)) => {
                    state.db(move |conn| panel::access_on_behalf(conn, id.as_str(), &user, of.as_str(), now)).await?
                }
                Some(Err(_)) => None,
            };
            match access {
                Some(access) => Ok(Self { identity, access }),
                None => Err(review_not_found()),
            }
        })
    }
}

/// One sign-in attempt, admitted by the rate limit. Take it as a handler argument.
pub struct SignInAttempt;

impl FromRequest for SignInAttempt {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ip = ClientAddr::of(req).0;
        let allowed = req.app_data::<State>().is_none_or(|state| state.sign_in_limiter.admit(ip));
        ready(if allowed { Ok(Self) } else { Err(AppError::TooManyRequests) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_keeps_local_paths() {
        for (target, kept) in [
            ("/", "/"),
            ("/admin/users", "/admin/users"),
            ("/admin/users?q=Tom%20Becker&after=x", "/admin/users?q=Tom%20Becker&after=x"),
            ("/reviews/abc#row-3", "/reviews/abc"),
            ("/a/../admin/roles", "/admin/roles"),
            ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
        ] {
            assert_eq!(safe_return_to(target), kept, "{target:?}");
        }
    }

    #[test]
    fn return_to_refuses_everything_else() {
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO));
        for target in [
            "",
            "admin/users",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\t\\evil.example",
            "\t//evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\r\n/evil.example",
            "/\0",
            "/x\0y",
            "/\u{7f}/evil.example",
            "/\u{85}/evil.example",
            "/\u{9b}",
            " /admin",
            "/admin users",
            "/\u{202e}elpmaxe.live//",
            "/caf\u{e9}",
            "/.//evil.example",
            "/a/..//evil.example",
            "/%2e%2e//evil.example",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            &long,
        ] {
            assert_eq!(safe_return_to(target), "/", "{target:?}");
        }
    }
}
