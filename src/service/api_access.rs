//! Who may call the Graph-compatible API: application clients (registered by an admin,
//! a secret shown once and kept hashed, exchanged for short-lived signed access tokens
//! with the client-credentials grant) and people's personal access tokens (acting as that
//! person, with exactly their access panel's rights).

use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use serde_json::json;

use crate::auth::api_token::{AUDIENCE, Claims, TokenKey};
use crate::auth::token;
use crate::db::DbConnection;
use crate::domain::api::{self, ACCESS_TOKEN_MINUTES, Permission};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
pub use crate::store::api_clients::{ClientRow, PersonalTokenRow};
use crate::store::users::UserRow;

/// The prefix of client secrets, so scanners and people can tell one.
pub const CLIENT_SECRET_PREFIX: &str = "attest_cs_";
/// The prefix of personal access tokens.
pub const PERSONAL_TOKEN_PREFIX: &str = "attest_pat_";

/// How precisely a credential's last use is kept (a busy client writes once a minute).
const LAST_USE_PRECISION: TimeDelta = TimeDelta::minutes(1);

/// An authenticated caller of the API.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An application client (application permission: every review), with how the audit
    /// trail names it.
    App { client: ClientRow, label: String },
    /// A person, through one of their personal access tokens.
    Person { user: UserRow, token: PersonalTokenRow },
}

impl Caller {
    /// The caller's permission.
    pub fn permission(&self) -> Permission {
        match self {
            Self::App { client, .. } => client.permission,
            Self::Person { token, .. } => token.permission,
        }
    }

    /// A stable key for rate limits: the client id or the token id.
    pub fn key(&self) -> &str {
        match self {
            Self::App { client, .. } => &client.id,
            Self::Person { token, .. } => &token.id,
        }
    }

    /// The caller as the actor of what it changes: the person, or the client.
    pub fn actor(&self) -> Actor<'_> {
        match self {
            Self::App { client, label } => Actor::ApiClient { id: &client.id, name: label },
            Self::Person { user, .. } => Actor::Person(user),
        }
    }
}

/// How the audit trail and the API name a client's changes: "API client GRC export".
pub fn client_label(client: &ClientRow) -> String {
    format!("API client {}", client.name)
}

/// Why a token request was refused, as OAuth 2.0 (RFC 6749 §5.2) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefused {
    /// Unknown client, wrong secret, revoked or expired.
    InvalidClient(String),
    /// Not the client-credentials grant.
    UnsupportedGrantType,
    /// A scope other than `…/.default`.
    InvalidScope(String),
    /// A required parameter is missing.
    InvalidRequest(String),
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
}

/// The key that signs access tokens (and download links), made on first use.
pub(crate) fn token_key(conn: &mut DbConnection) -> Result<TokenKey, AppError> {
    let fresh = base64::engine::general_purpose::STANDARD.encode(token::new_token());
    let kept = store::settings::get_or_init(conn, store::settings::API_TOKEN_KEY, &fresh)?;
    Ok(TokenKey::new(kept.as_bytes()))
}

fn credential_days(days: Option<i64>, now: NaiveDateTime) -> Result<NaiveDateTime, AppError> {
    let days = days.unwrap_or(api::DEFAULT_CREDENTIAL_DAYS);
    api::expiry(now, days).ok_or_else(|| {
        AppError::BadRequest(format!("Choose an expiry between 1 and {} days.", api::MAX_CREDENTIAL_DAYS))
    })
}

/// Registers a client; returns it and its secret, shown this once.
pub fn create_client(
    conn: &mut DbConnection,
    name: &str,
    permission: Permission,
    days: Option<i64>,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<(ClientRow, String), AppError> {
    if let Some(p) = api::name_problem(name) {
        return Err(AppError::BadRequest(p));
    }
    let expires_at = credential_days(days, now)?;
    let secret = format!("{CLIENT_SECRET_PREFIX}{}", token::new_token());
    let row = ClientRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.trim().to_owned(),
        permission,
        secret_hash: token::token_hash(&secret),
        created_at: now,
        created_by_name: by.name().to_owned(),
        expires_at: Some(expires_at),
        revoked_at: None,
        last_used_at: None,
    };
    conn.write(|conn| {
        store::api_clients::insert_client(conn, &row)?;
        let details =
            json!({ "clientId": row.id, "name": row.name, "permission": row.permission, "expires": expires_at });
        store::audit::append(conn, &by.event(now, "ApiClientCreated", ("ApiClient", &row.id), details))?;
        Ok::<_, AppError>(())
    })?;
    Ok((row, secret))
}

/// Every client, newest first.
pub fn clients(conn: &mut DbConnection) -> Result<Vec<ClientRow>, AppError> {
    Ok(store::api_clients::clients(conn)?)
}

/// Revokes a client (its tokens stop working at once); a client revoked already stays so.
pub fn revoke_client(
    conn: &mut DbConnection,
    id: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<ClientRow, AppError> {
    conn.write(|conn| {
        let client = store::api_clients::client(conn, id)?
            .ok_or_else(|| AppError::NotFound(format!("There is no API client with the id {id}.")))?;
        if store::api_clients::revoke_client(conn, id, now)? {
            let details = json!({ "clientId": client.id, "name": client.name });
            store::audit::append(conn, &by.event(now, "ApiClientRevoked", ("ApiClient", id), details))?;
        }
        Ok(client)
    })
}

/// The client-credentials grant: an access token for a live client whose secret matches.
pub fn issue_token(
    conn: &mut DbConnection,
    grant_type: Option<&str>,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    scope: Option<&str>,
    issuer: &str,
    now: NaiveDateTime,
) -> Result<Result<Issued, TokenRefused>, AppError> {
    match grant_type {
        Some("client_credentials") => {}
        Some(_) => return Ok(Err(TokenRefused::UnsupportedGrantType)),
        None => return Ok(Err(TokenRefused::InvalidRequest("grant_type is missing".into()))),
    }
    let (Some(client_id), Some(secret)) = (client_id, client_secret) else {
        return Ok(Err(TokenRefused::InvalidClient("send client_id and client_secret".into())));
    };
    // Any resource's `.default` scope, as clients written for Graph send it
    // (`https://graph.microsoft.com/.default`).
    match scope {
        Some(s) if s.split_whitespace().all(|s| s.ends_with("/.default") || s == ".default") => {}
        Some(s) => {
            return Ok(Err(TokenRefused::InvalidScope(format!(
                "the scope {s:?} is not a .default scope: use https://graph.microsoft.com/.default"
            ))));
        }
        None => return Ok(Err(TokenRefused::InvalidRequest("scope is missing: use …/.default".into()))),
    }
    let invalid = || {
        Ok(Err(TokenRefused::InvalidClient(
            "the client id or secret is wrong, or the client was revoked or has expired".into(),
        )))
    };
    let Some(client) = store::api_clients::client(conn, client_id.trim())? else { return invalid() };
    // Hashes are compared, not secrets: timing reveals nothing an attacker can steer.
    let matches = client.secret_hash == token::token_hash(secret);
    if !matches || !api::is_live(client.expires_at, client.revoked_at, now) {
        return invalid();
    }
    let lifetime = TimeDelta::minutes(ACCESS_TOKEN_MINUTES);
    let iat = now.and_utc().timestamp();
    let claims = Claims {
        iss: issuer.to_owned(),
        sub: client.id.clone(),
        appid: client.id.clone(),
        aud: AUDIENCE.into(),
        roles: vec![client.permission.as_str().to_owned()],
        iat,
        exp: iat.saturating_add(lifetime.num_seconds()),
    };
    let access_token = token_key(conn)?.sign(&claims);
    conn.write(|conn| store::api_clients::client_used(conn, &client.id, now))?;
    Ok(Ok(Issued { access_token, expires_in: lifetime.num_seconds() }))
}

/// The caller a bearer token identifies, or `None` (unknown, expired, revoked).
pub fn authenticate(conn: &mut DbConnection, bearer: &str, now: NaiveDateTime) -> Result<Option<Caller>, AppError> {
    if bearer.starts_with(PERSONAL_TOKEN_PREFIX) {
        let Some(row) = store::api_clients::personal_by_hash(conn, &token::token_hash(bearer))? else {
            return Ok(None);
        };
        if !api::is_live(Some(row.expires_at), row.revoked_at, now) {
            return Ok(None);
        }
        let Some(user) = store::users::get(conn, &row.user_id)? else { return Ok(None) };
        if !user.enabled {
            return Ok(None);
        }
        if row.last_used_at.is_none_or(|at| now.signed_duration_since(at) >= LAST_USE_PRECISION) {
            conn.write(|conn| store::api_clients::personal_used(conn, &row.id, now))?;
        }
        return Ok(Some(Caller::Person { user, token: row }));
    }
    let Some(claims) = token_key(conn)?.verify(bearer, now) else { return Ok(None) };
    let Some(client) = store::api_clients::client(conn, &claims.sub)? else { return Ok(None) };
    // Revocation and expiry of the client end its tokens at once.
    if !api::is_live(client.expires_at, client.revoked_at, now) {
        return Ok(None);
    }
    let label = client_label(&client);
    Ok(Some(Caller::App { client, label }))
}

/// A new personal access token of `user`; returns it and the token, shown this once.
pub fn create_personal(
    conn: &mut DbConnection,
    user: &UserRow,
    name: &str,
    permission: Permission,
    days: Option<i64>,
    now: NaiveDateTime,
) -> Result<(PersonalTokenRow, String), AppError> {
    if let Some(p) = api::name_problem(name) {
        return Err(AppError::BadRequest(p));
    }
    let expires_at = credential_days(days, now)?;
    let secret = format!("{PERSONAL_TOKEN_PREFIX}{}", token::new_token());
    let row = PersonalTokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        name: name.trim().to_owned(),
        permission,
        token_hash: token::token_hash(&secret),
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    conn.write(|conn| {
        store::api_clients::insert_personal(conn, &row)?;
        let details = json!({ "name": row.name, "permission": row.permission, "expires": expires_at });
        let event = Actor::Person(user).event(now, "PersonalTokenCreated", ("PersonalToken", &row.id), details);
        store::audit::append(conn, &event)?;
        Ok::<_, AppError>(())
    })?;
    Ok((row, secret))
}

/// A person's tokens, newest first.
pub fn personal_tokens(conn: &mut DbConnection, user: &UserRow) -> Result<Vec<PersonalTokenRow>, AppError> {
    Ok(store::api_clients::personal_of(conn, &user.id)?)
}

/// Revokes one of `user`'s own tokens.
pub fn revoke_personal(conn: &mut DbConnection, user: &UserRow, id: &str, now: NaiveDateTime) -> Result<(), AppError> {
    conn.write(|conn| {
        if store::api_clients::revoke_personal(conn, &user.id, id, now)? {
            let event =
                Actor::Person(user).event(now, "PersonalTokenRevoked", ("PersonalToken", id), json!({ "tokenId": id }));
            store::audit::append(conn, &event)?;
        }
        Ok(())
    })
}
