//! The session cookie: signed and encrypted (actix-session's cookie store), HttpOnly,
//! SameSite=Lax, Secure behind https. Its key comes from ATTEST_SESSION_KEY or is generated
//! once and kept in the database, so a restart does not sign everyone out.

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use base64::Engine;

use crate::config::AuthSettings;
use crate::db::DbConnection;
use crate::store;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "attest_session";

/// The session key in force: the configured one, or the one kept in the database
/// (generated on first start).
pub fn load_key(conn: &mut DbConnection, configured: Option<&[u8]>) -> anyhow::Result<Key> {
    let bytes = match configured {
        Some(bytes) => bytes.to_vec(),
        None => {
            let fresh = base64::engine::general_purpose::STANDARD.encode(Key::generate().master());
            let kept = store::settings::get_or_init(conn, store::settings::SESSION_KEY, &fresh)?;
            base64::engine::general_purpose::STANDARD.decode(kept).map_err(|_| {
                anyhow::anyhow!("the session key kept in the database is damaged; delete the 'session_key' setting")
            })?
        }
    };
    Key::try_from(bytes.as_slice()).map_err(|e| anyhow::anyhow!("ATTEST_SESSION_KEY: {e}"))
}

/// The session middleware.
pub fn middleware(key: Key, auth: &AuthSettings) -> SessionMiddleware<CookieSessionStore> {
    // The cookie lives as long as the idle timeout and is renewed with each response;
    // the server-side session row enforces the timeout for real.
    let ttl = actix_web::cookie::time::Duration::seconds(auth.idle_timeout.num_seconds());
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(COOKIE_NAME.to_owned())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(auth.secure_cookies)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(ttl)
                .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
        .build()
}
