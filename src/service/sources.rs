//! Sources and their bearer tokens: creating a source on first use, tokens shown once and
//! kept hashed, authenticating a push source's requests, and what each source holds.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::auth::token;
use crate::db::DbConnection;
use crate::domain::source::{self, SourceKind};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
use crate::store::audit::NewEvent;
pub use crate::store::sources::{ErrorRow, Holdings, SourceRow, TokenRow};

/// How many recent errors the sources page shows per source.
pub const ERRORS_SHOWN: i64 = 5;

/// How precisely a token's last use is kept.
const LAST_USE_PRECISION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// A push source's client, as a valid bearer token identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The source the token belongs to.
    pub source: SourceRow,
    /// The token's id and name (never the token).
    pub token_id: String,
    /// The token's name.
    pub token_name: String,
    /// How audit events name this client: "SCIM Entra ID (token prod)".
    pub actor_name: String,
}

/// A source with what it holds, as the sources page lists it.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    /// The source.
    pub source: SourceRow,
    /// Its objects, counted.
    pub holdings: Holdings,
    /// Its newest errors, newest first.
    pub errors: Vec<ErrorRow>,
    /// Its tokens that are not revoked.
    pub live_tokens: usize,
}

/// The source named `name` (whatever its case), created as a `kind` source when there is
/// none. A name that belongs to a source of another kind is refused, so that a CSV import
/// never writes into a SCIM connection's objects.
pub fn ensure(
    conn: &mut DbConnection,
    name: &str,
    kind: SourceKind,
    now: NaiveDateTime,
) -> Result<SourceRow, AppError> {
    if let Some(problem) = source::name_problem(name) {
        return Err(AppError::BadRequest(problem));
    }
    conn.write(|conn| {
        if let Some(found) = store::sources::by_name(conn, name)? {
            if found.kind != kind {
                return Err(AppError::BadRequest(format!(
                    "The source \"{}\" is a {} source, not a {} one: choose another name.",
                    found.name,
                    found.kind.label(),
                    kind.label()
                )));
            }
            return Ok(found);
        }
        let row = SourceRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            kind,
            created_at: now,
            changed_at: None,
            settings: "{}".into(),
            sync_attempted_at: None,
            synced_at: None,
        };
        store::sources::insert(conn, &row)?;
        Ok(row)
    })
}

/// The source named `name`, or a not-found error naming it.
pub fn named(conn: &mut DbConnection, name: &str) -> Result<SourceRow, AppError> {
    store::sources::by_name(conn, name)?
        .ok_or_else(|| AppError::NotFound(format!("There is no source named \"{name}\" (see attest source list).")))
}

/// The source with this id, or not found.
pub fn by_id(conn: &mut DbConnection, id: &str) -> Result<SourceRow, AppError> {
    store::sources::get(conn, id)?.ok_or_else(|| AppError::NotFound("There is no such source.".into()))
}

/// A new bearer token for the SCIM source `source_name` (created when it does not exist).
/// Returns the source, the token's record and the token itself, which is never shown again.
pub fn create_token(
    conn: &mut DbConnection,
    source_name: &str,
    token_name: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<(SourceRow, TokenRow, String), AppError> {
    let token_name = token_name.trim();
    if token_name.is_empty() || token_name.chars().count() > 100 || token_name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "Name the token (up to 100 characters), e.g. after the client that will use it.".into(),
        ));
    }
    let source = ensure(conn, source_name, SourceKind::Scim, now)?;
    let secret = token::new_source_token();
    let row = TokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        source_id: source.id.clone(),
        name: token_name.to_owned(),
        token_hash: token::token_hash(&secret),
        created_at: now,
        created_by_name: by.name().to_owned(),
        last_used_at: None,
        revoked_at: None,
    };
    conn.write(|conn| {
        store::sources::insert_token(conn, &row)?;
        let details = json!({ "source": source.name, "token": row.name });
        store::audit::append(conn, &by.event(now, "SourceTokenCreated", ("Source", &source.id), details))?;
        Ok::<_, AppError>(())
    })?;
    Ok((source, row, secret))
}

/// The tokens of a source, newest first.
pub fn tokens(conn: &mut DbConnection, source_id: &str) -> Result<Vec<TokenRow>, AppError> {
    Ok(store::sources::tokens(conn, source_id)?)
}

/// Revokes the token `token` (its id, or its name when only one live token has it) of a
/// source. Requests with it are refused from then on.
pub fn revoke_token(
    conn: &mut DbConnection,
    source_id: &str,
    token: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<TokenRow, AppError> {
    conn.write(|conn| {
        let source = by_id(conn, source_id)?;
        let live: Vec<TokenRow> = store::sources::tokens(conn, source_id)?
            .into_iter()
            .filter(|t| t.revoked_at.is_none() && (t.id == token || t.name == token))
            .collect();
        let found = match live.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(AppError::NotFound(format!(
                    "The source \"{}\" has no live token \"{token}\".",
                    source.name
                )));
            }
            _ => {
                return Err(AppError::BadRequest(format!(
                    "Several live tokens of \"{}\" are named \"{token}\": revoke one by its id.",
                    source.name
                )));
            }
        };
        store::sources::revoke_token(conn, source_id, &found.id, now)?;
        let details = json!({ "source": source.name, "token": found.name });
        store::audit::append(conn, &by.event(now, "SourceTokenRevoked", ("Source", &source.id), details))?;
        Ok(TokenRow { revoked_at: Some(now), ..found })
    })
}

/// The client a bearer token identifies, or `None` when the token is unknown or revoked.
/// Notes the token's use.
pub fn authenticate(
    conn: &mut DbConnection,
    bearer: &str,
    now: NaiveDateTime,
) -> Result<Option<Authenticated>, AppError> {
    let hash = token::token_hash(bearer);
    let Some((token_row, source)) = store::sources::live_token(conn, &hash)? else { return Ok(None) };
    // A provisioning run sends thousands of requests a minute: the last use is noted to the
    // minute, so most requests write nothing here.
    let stale = token_row.last_used_at.is_none_or(|at| now.signed_duration_since(at) >= LAST_USE_PRECISION);
    if stale {
        conn.write(|conn| store::sources::mark_used(conn, &token_row.id, now))?;
    }
    let actor_name = format!("{} {} (token {})", source.kind.label(), source.name, token_row.name);
    Ok(Some(Authenticated { source, token_id: token_row.id, token_name: token_row.name, actor_name }))
}

/// Records an error of a source, for its page.
pub fn record_error(
    conn: &mut DbConnection,
    source_id: &str,
    message: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    conn.write(|conn| store::sources::record_error(conn, source_id, now, message))?;
    Ok(())
}

/// Every source with what it holds and its recent errors.
pub fn overview(conn: &mut DbConnection) -> Result<Vec<SourceSummary>, AppError> {
    let mut out = Vec::new();
    for source in store::sources::list(conn)? {
        let holdings = store::sources::holdings(conn, &source.id)?;
        let errors = store::sources::recent_errors(conn, &source.id, ERRORS_SHOWN)?;
        let live_tokens = store::sources::tokens(conn, &source.id)?.iter().filter(|t| t.revoked_at.is_none()).count();
        out.push(SourceSummary { source, holdings, errors, live_tokens });
    }
    Ok(out)
}

/// One source with what it holds, its recent errors and its tokens (newest first), or 404.
pub fn detail(conn: &mut DbConnection, id: &str) -> Result<(SourceSummary, Vec<TokenRow>), AppError> {
    let source = by_id(conn, id)?;
    let holdings = store::sources::holdings(conn, &source.id)?;
    let errors = store::sources::recent_errors(conn, &source.id, ERRORS_SHOWN)?;
    let tokens = store::sources::tokens(conn, &source.id)?;
    let live_tokens = tokens.iter().filter(|t| t.revoked_at.is_none()).count();
    Ok((SourceSummary { source, holdings, errors, live_tokens }, tokens))
}

/// A new SCIM source named `name` with its first token named `token_name`; a name that is
/// taken already (whatever its case) is refused, so that an admin never adds a token to
/// another connection by mistake. Returns what [`create_token`] returns.
pub fn new_scim_source(
    conn: &mut DbConnection,
    name: &str,
    token_name: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<(SourceRow, TokenRow, String), AppError> {
    if let Some(found) = store::sources::by_name(conn, name)? {
        return Err(AppError::BadRequest(format!(
            "There is a source named \"{}\" already: choose another name, or open that source to create a token.",
            found.name
        )));
    }
    create_token(conn, name, token_name, by, now)
}

/// A new token for the SCIM source with this id (not another kind's), or 404.
pub fn create_token_for(
    conn: &mut DbConnection,
    source_id: &str,
    token_name: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<(SourceRow, TokenRow, String), AppError> {
    let source = by_id(conn, source_id)?;
    if source.kind != SourceKind::Scim {
        return Err(AppError::BadRequest(format!(
            "Tokens are for SCIM connections; \"{}\" is a {} source.",
            source.name,
            source.kind.label()
        )));
    }
    create_token(conn, &source.name, token_name, by, now)
}

/// What every write of a source ends with, inside its transaction: the source's last change
/// is noted; its open remediation tasks whose access it no longer grants are marked removed
/// at source (audited when there are any); and removals it grants again are flagged as
/// re-granted after removal, one audit event each. Returns how many were marked removed.
pub fn changed(conn: &mut DbConnection, source_id: &str, now: NaiveDateTime) -> Result<usize, AppError> {
    store::sources::touch(conn, source_id, now)?;
    let verified = store::remediation::verify(conn, source_id, now)?;
    let regranted = store::remediation::regranted(conn, source_id, now)?;
    if verified == 0 && regranted.is_empty() {
        return Ok(0);
    }
    let name = store::sources::get(conn, source_id)?.map(|s| s.name).unwrap_or_default();
    if verified > 0 {
        let details = json!({ "source": name, "removedAtSource": verified });
        let event = NewEvent::by_system(now, "RemediationVerified", ("Source", source_id), details);
        store::audit::append(conn, &event)?;
    }
    let events: Vec<NewEvent<'_>> = regranted
        .iter()
        .map(|r| {
            let details = json!({
                "source": name,
                "instanceId": r.instance_id,
                "principalId": r.principal_id,
                "resourceId": r.resource_id,
            });
            NewEvent::by_system(now, "AccessRegranted", ("AccessReviewDecisionItem", &r.item_id), details)
        })
        .collect();
    store::audit::append_all(conn, &events)?;
    Ok(verified)
}
