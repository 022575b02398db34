//! Who is asking, below the HTTP edge: the OpenID Connect client, unguessable tokens
//! (session ids, CSRF tokens), the session cookie's store and key, and the sign-in rate
//! limit. The extractors and middlewares that use them live in `web::guard`.

pub mod api_token;
pub mod oidc;
pub mod secrets;
pub mod session;
pub mod token;

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Limits sign-in attempts per client address (behind a trusted reverse proxy, the
/// address it forwards).
pub struct SignInLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl SignInLimiter {
    /// Allows `per_minute` attempts a minute from one address, in bursts of that size.
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self(RateLimiter::keyed(Quota::per_minute(per_minute)))
    }

    /// Whether one more attempt from `ip` is allowed now (and counts it).
    pub fn admit(&self, ip: IpAddr) -> bool {
        self.0.check_key(&ip).is_ok()
    }
}
