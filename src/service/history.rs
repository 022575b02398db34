//! Review-history reports through the Graph-compatible API (Graph's
//! `accessReviewHistoryDefinition` and its one instance): an admin or an application
//! client names a period, decisions and kinds of resource, and the report is the admin
//! page's review-history CSV for the same filters ([`exports::history_csv`]). attest writes
//! it whenever it is downloaded, so a definition is done as soon as it exists and only the
//! question is stored. The download is a link signed for 24 hours (as Graph's SAS link), so
//! that a script fetches it without a token.

use chrono::{DateTime, NaiveDateTime, TimeDelta};
use ring::hmac;
use ring::rand::SystemRandom;
use serde_json::json;

use crate::auth::api_token::{Claims, TokenKey};
use crate::db::DbConnection;
use crate::domain::export::HistoryFilter;
pub use crate::domain::history::{
    DecisionFilter, END_FIELD, HistoryRequest, HistoryScope, NOT_NOTIFIED, START_FIELD, kinds_of_query,
};
use crate::domain::history::{check, lines, report_filter};
use crate::domain::review::{FieldError, ResourceKind};
use crate::error::AppError;
use crate::service::api_access::{Caller, token_key};
use crate::service::sessions::ADMIN_ROLES;
use crate::store;
use crate::store::Keyset;
pub use crate::store::history::HistoryRow;

/// How long a download link works.
pub const LINK_HOURS: i64 = 24;
/// The audit trail's action when a report is asked for.
const CREATED: &str = "CreateReviewHistoryDefinition";
/// The audit trail's action when one is deleted.
const DELETED: &str = "DeleteReviewHistoryDefinition";
/// The audit trail's target type.
const TARGET: &str = "ReviewHistoryDefinition";
/// The `aud` of a download link's signature. Never an access token's
/// (`auth::api_token::AUDIENCE`): the key signs both, and neither may pass for the other.
const LINK_AUDIENCE: &str = "attest:reviewHistoryDownload";

/// A report definition as the API shows it.
#[derive(Debug, Clone)]
pub struct HistoryDefinition {
    /// As stored.
    pub row: HistoryRow,
    /// Graph's decision filters, in Graph's spelling.
    pub decisions: Vec<String>,
    /// The scopes as sent.
    pub scopes: Vec<HistoryScope>,
}

impl HistoryDefinition {
    fn of(row: HistoryRow) -> Result<Self, AppError> {
        let scopes = serde_json::from_str(&row.scopes).map_err(AppError::internal)?;
        let decisions = lines(&row.decisions).map(str::to_owned).collect();
        Ok(Self { row, decisions, scopes })
    }
}

/// A signed download link's parts.
#[derive(Debug, Clone)]
pub struct DownloadLink {
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// The same, in seconds since 1970 (the link's `expires`).
    pub expires: i64,
    /// The signature (the link's `sig`).
    pub sig: String,
}

/// The filter of a stored definition (checked when it was stored).
fn filter_of(row: &HistoryRow) -> Result<HistoryFilter, AppError> {
    let broken = |what: &str| AppError::internal(anyhow::anyhow!("review history definition {}: {what}", row.id));
    let decisions = lines(&row.decisions)
        .map(|d| DecisionFilter::parse(d).ok_or_else(|| broken("unknown decision")))
        .collect::<Result<Vec<_>, _>>()?;
    let kinds = lines(&row.kinds)
        .map(|k| ResourceKind::parse_report_name(k).ok_or_else(|| broken("unknown kind")))
        .collect::<Result<Vec<_>, _>>()?;
    report_filter(row.period_start, row.period_end, &decisions, &kinds).map_err(|_| broken("invalid filters"))
}

/// Only admins (a person holding an admin role) and application clients use reports: they
/// hold every review's decisions.
fn authorize(conn: &mut DbConnection, caller: &Caller, now: NaiveDateTime) -> Result<(), AppError> {
    match caller {
        Caller::App { .. } => Ok(()),
        Caller::Person { user, .. } => {
            if store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)? {
                Ok(())
            } else {
                Err(AppError::Forbidden)
            }
        }
    }
}

fn not_found(what: &str) -> AppError {
    AppError::NotFound(format!("No {what} with this id exists."))
}

/// Asks for a report as the caller; returns it, or every problem with the request.
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &HistoryRequest,
    now: NaiveDateTime,
) -> Result<Result<HistoryDefinition, Vec<FieldError>>, AppError> {
    authorize(conn, caller, now)?;
    let checked = match check(req) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    let actor = caller.actor();
    let decisions: Vec<String> = checked.decisions.iter().map(|d| d.as_str().to_owned()).collect();
    let kinds: Vec<&str> = checked.kinds.iter().map(|k| k.report_name()).collect();
    let row = HistoryRow {
        id: uuid::Uuid::new_v4().to_string(),
        display_name: checked.display_name,
        period_start: req.start,
        period_end: req.end,
        decisions: decisions.join("\n"),
        kinds: kinds.join("\n"),
        scopes: serde_json::to_string(&req.scopes).map_err(AppError::internal)?,
        created_at: now,
        created_by_id: actor.id().map(str::to_owned),
        created_by_name: actor.name().to_owned(),
        created_by_upn: actor.person().map(|u| u.upn.clone()),
    };
    conn.write(|conn| {
        store::history::insert(conn, &row)?;
        let details = json!({
            "displayName": row.display_name,
            "periodStart": row.period_start,
            "periodEnd": row.period_end,
            "decisions": decisions,
            "kinds": kinds,
        });
        store::audit::append(conn, &actor.event(now, CREATED, (TARGET, &row.id), details))?;
        Ok::<_, AppError>(())
    })?;
    Ok(Ok(HistoryDefinition { row, decisions, scopes: req.scopes.clone() }))
}

/// A page of the reports by name, after (name, id) when given: up to `top`, and one more
/// when another page follows.
pub fn definitions(
    conn: &mut DbConnection,
    caller: &Caller,
    after: &Option<(String, String)>,
    top: usize,
    now: NaiveDateTime,
) -> Result<Vec<HistoryDefinition>, AppError> {
    authorize(conn, caller, now)?;
    let keyset = after.as_ref().map_or(Keyset::First, |(name, id)| Keyset::After(name.clone(), id.clone()));
    store::history::page(conn, &keyset, top)?.into_iter().map(HistoryDefinition::of).collect()
}

/// One report (its instance has its id).
pub fn definition(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    now: NaiveDateTime,
) -> Result<HistoryDefinition, AppError> {
    authorize(conn, caller, now)?;
    let row = store::history::get(conn, id)?.ok_or_else(|| not_found("review history definition"))?;
    HistoryDefinition::of(row)
}

/// Deletes a report; links to it stop working.
pub fn delete(conn: &mut DbConnection, caller: &Caller, id: &str, now: NaiveDateTime) -> Result<(), AppError> {
    authorize(conn, caller, now)?;
    let actor = caller.actor();
    conn.write(|conn| {
        let row = store::history::get(conn, id)?.ok_or_else(|| not_found("review history definition"))?;
        store::history::delete(conn, id)?;
        let details = json!({ "displayName": row.display_name });
        store::audit::append(conn, &actor.event(now, DELETED, (TARGET, id), details))?;
        Ok(())
    })
}

/// The signature of a link to `instance` of `id` that works until `expires`: the key's
/// HMAC-SHA256 over the three, in claims no access token has (see [`LINK_AUDIENCE`]).
fn link_signature(key: &TokenKey, id: &str, instance: &str, expires: i64) -> String {
    let claims = Claims {
        iss: LINK_AUDIENCE.to_owned(),
        sub: id.to_owned(),
        appid: instance.to_owned(),
        aud: LINK_AUDIENCE.to_owned(),
        roles: Vec::new(),
        iat: expires,
        exp: expires,
    };
    // The signed token's last part is the HMAC; the rest is rebuilt from the link.
    key.sign(&claims).rsplit('.').next().unwrap_or_default().to_owned()
}

/// Whether `given` is `expected`, in a time that does not tell how much of it matched:
/// both are compared as their HMACs under a key made for this comparison.
fn same_signature(expected: &str, given: &str) -> Result<bool, AppError> {
    let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
        .map_err(|_| AppError::internal(anyhow::anyhow!("the system's random number generator failed")))?;
    let tag = hmac::sign(&key, expected.as_bytes());
    Ok(hmac::verify(&key, given.as_bytes(), tag.as_ref()).is_ok())
}

/// A link to the report of `instance` of `id`, signed for [`LINK_HOURS`] from `now`.
pub fn download_link(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    instance: &str,
    now: NaiveDateTime,
) -> Result<(HistoryDefinition, DownloadLink), AppError> {
    let found = definition(conn, caller, id, now)?;
    if instance != id {
        return Err(not_found("review history instance"));
    }
    let until = now
        .checked_add_signed(TimeDelta::hours(LINK_HOURS))
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the link's expiry is past the calendar")))?;
    let expires = until.and_utc().timestamp();
    // Whole seconds, as the link says it.
    let expires_at = DateTime::from_timestamp(expires, 0).map_or(until, |t| t.naive_utc());
    let sig = link_signature(&token_key(conn)?, id, instance, expires);
    Ok((found, DownloadLink { expires_at, expires, sig }))
}

/// The report a download link names, if its signature is attest's and it has not expired
/// (`Forbidden` otherwise, whatever is wrong, so a link tells nothing it does not carry);
/// `NotFound` once its definition is deleted.
pub fn linked_report(
    conn: &mut DbConnection,
    id: &str,
    instance: &str,
    expires: &str,
    sig: &str,
    now: NaiveDateTime,
) -> Result<HistoryFilter, AppError> {
    let expires: i64 = expires.trim().parse().map_err(|_| AppError::Forbidden)?;
    let expected = link_signature(&token_key(conn)?, id, instance, expires);
    if !same_signature(&expected, sig.trim())? {
        return Err(AppError::Forbidden);
    }
    match DateTime::from_timestamp(expires, 0) {
        Some(until) if until.naive_utc() > now => {}
        _ => return Err(AppError::Forbidden),
    }
    let row = store::history::get(conn, id)?
        .filter(|_| instance == id)
        .ok_or_else(|| not_found("review history definition"))?;
    filter_of(&row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_signed_for_their_report_and_expiry_only() {
        let key = TokenKey::new(&[7u8; 32]);
        let sig = link_signature(&key, "d1", "d1", 1_800_000_000);
        assert!(same_signature(&sig, &link_signature(&key, "d1", "d1", 1_800_000_000)).unwrap());
        for other in [
            link_signature(&key, "d2", "d2", 1_800_000_000),
            link_signature(&key, "d1", "d1", 1_800_000_001),
            link_signature(&TokenKey::new(&[8u8; 32]), "d1", "d1", 1_800_000_000),
        ] {
            assert!(!same_signature(&sig, &other).unwrap());
        }
        assert!(!same_signature(&sig, "").unwrap());
    }
}
