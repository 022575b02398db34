//! Access tokens of API clients: JSON Web Tokens signed with HMAC-SHA256 (`HS256`) under a
//! key kept in the database, living [`crate::domain::api::ACCESS_TOKEN_MINUTES`]. A token
//! names its client and permission; a client revoked since is refused by the caller's
//! lookup, not by the token. Personal access tokens are random (see `auth::token`) and
//! kept hashed instead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, NaiveDateTime};
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The `aud` of attest's tokens.
pub const AUDIENCE: &str = "attest";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The issuer: attest's public URL.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The client id again, as Entra's `appid`.
    pub appid: String,
    pub aud: String,
    /// The permission, as Entra's application `roles`.
    pub roles: Vec<String>,
    /// Issued at and expiry, seconds since 1970.
    pub iat: i64,
    pub exp: i64,
}

/// The signing key.
pub struct TokenKey(hmac::Key);

impl TokenKey {
    /// The key from its bytes (at least 32).
    pub fn new(bytes: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A signed token with `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signed = format!("{header}.{body}");
        let tag = hmac::sign(&self.0, signed.as_bytes());
        format!("{signed}.{}", B64.encode(tag.as_ref()))
    }

    /// The claims of a token this key signed that has not expired at `now`.
    pub fn verify(&self, token: &str, now: NaiveDateTime) -> Option<Claims> {
        let mut parts = token.split('.');
        let (header, body, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let tag = B64.decode(tag).ok()?;
        hmac::verify(&self.0, format!("{header}.{body}").as_bytes(), &tag).ok()?;
        let claims: Claims = serde_json::from_slice(&B64.decode(body).ok()?).ok()?;
        let expires = DateTime::from_timestamp(claims.exp, 0)?.naive_utc();
        (claims.aud == AUDIENCE && expires > now).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_only_under_their_key() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let key = TokenKey::new(&[7u8; 32]);
        let claims = Claims {
            iss: "https://attest.example".into(),
            sub: "c1".into(),
            appid: "c1".into(),
            aud: AUDIENCE.into(),
            roles: vec!["AccessReview.Read.All".into()],
            iat: now.and_utc().timestamp(),
            exp: now.and_utc().timestamp() + 3600,
        };
        let token = key.sign(&claims);
        assert_eq!(key.verify(&token, now), Some(claims.clone()));
        assert_eq!(key.verify(&token, now + chrono::TimeDelta::hours(1)), None, "expired");
        assert_eq!(TokenKey::new(&[8u8; 32]).verify(&token, now), None, "another key");
        // A changed body does not verify.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(
            serde_json::to_vec(&Claims { roles: vec!["AccessReview.ReadWrite.All".into()], ..claims }).unwrap(),
        );
        parts[1] = &forged;
        assert_eq!(key.verify(&parts.join("."), now), None);
        assert_eq!(key.verify("a.b", now), None);
        assert_eq!(key.verify("", now), None);
    }
}
