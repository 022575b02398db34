//! Who is asking: sessions, sign-in (OpenID Connect and demo personas), CSRF, rate limits
//! and the extractors that guard handlers. Authorization lives in extractor types
//! ([`CurrentUser`], [`Admin`]), so a handler cannot forget it.

pub mod client;
pub mod csrf;
pub mod oidc;
pub mod session;

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_session::SessionExt;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::review::ReviewScope;
use crate::error::AppError;
use crate::store;
use crate::store::users::UserRow;
use crate::web::State;

/// Directory roles that make someone a portal admin.
pub const ADMIN_ROLES: &[&str] = &["Global Administrator", "User Administrator", "Identity Governance Administrator"];

/// Session entry: the server-side session id.
pub const SESSION_ID: &str = "sid";

/// The signed-in person, as the identify middleware found them.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The directory user.
    pub user: UserRow,
    /// The server-side session id.
    pub session_id: String,
    /// Holds an admin role now.
    pub is_admin: bool,
    /// Owns a group or application while the tenant lets owners manage reviews of their
    /// resources (always false for admins, who manage everything anyway).
    pub is_owner_manager: bool,
}

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
        let found = state
            .db(move |conn| {
                let Some((row, user)) = store::sessions::get_with_user(conn, &sid)? else { return Ok(None) };
                if row.last_seen_at + idle < now || !user.enabled {
                    store::sessions::delete(conn, &sid)?;
                    return Ok(None);
                }
                // Writing on every request would serialise readers behind SQLite's one
                // writer; a minute's precision is plenty for an idle timeout of hours.
                if now - row.last_seen_at > chrono::TimeDelta::minutes(1) {
                    store::sessions::touch(conn, &sid, now)?;
                }
                let is_admin = store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)?;
                let is_owner_manager = !is_admin
                    && crate::service::onboarding::owners_manage_reviews(conn)?
                    && store::users::owns_group_or_app(conn, &user.id)?;
                Ok(Some(Identity { user, session_id: sid, is_admin, is_owner_manager }))
            })
            .await?;
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

/// Limits sign-in attempts per client address ([`client::ClientAddr`]: behind a trusted
/// reverse proxy, the address it forwards).
pub struct SignInLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl SignInLimiter {
    /// Allows `per_minute` attempts a minute from one address, in bursts of that size.
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self(RateLimiter::keyed(Quota::per_minute(per_minute)))
    }
}

/// One sign-in attempt, admitted by the rate limit. Take it as a handler argument.
pub struct SignInAttempt;

impl FromRequest for SignInAttempt {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ip = client::ClientAddr::of(req).0;
        let allowed = req.app_data::<State>().is_none_or(|state| state.sign_in_limiter.0.check_key(&ip).is_ok());
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
