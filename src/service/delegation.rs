//! Delegation for a period (out of office): a person names a delegate, who while the
//! period runs reviews on their behalf (see [`super::panel::access_on_behalf`]); the
//! person or the delegate may end it early. Each is audited in its transaction.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::delegation::{DelegationError, check_period, end_of, in_force, last_day};
use crate::domain::directory::name_or_deleted;
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::delegations::{DelegationRow, NewDelegation};
use crate::store::users::UserRow;

/// How many delegations the page lists (newest first).
const LISTED: i64 = 50;

/// One delegation as the page shows it.
#[derive(Debug, Clone)]
pub struct DelegationLine {
    /// The delegation.
    pub row: DelegationRow,
    /// The person away.
    pub user_name: String,
    /// Their delegate.
    pub delegate_name: String,
    /// The delegate acts now.
    pub in_force: bool,
    /// It has not ended yet (running or to come): it can be ended.
    pub open: bool,
    /// The last day it runs (or ran).
    pub last_day: chrono::NaiveDate,
}

/// The delegations `user` made or received, newest first.
pub fn list(conn: &mut DbConnection, user: &str, now: NaiveDateTime) -> Result<Vec<DelegationLine>, AppError> {
    let rows = store::delegations::involving(conn, user, LISTED)?;
    let mut ids: Vec<String> = rows.iter().flat_map(|r| [r.user_id.clone(), r.delegate_id.clone()]).collect();
    ids.sort();
    ids.dedup();
    let names = store::users::display_names(conn, &ids)?;
    let name = |id: &str| name_or_deleted(&names, id);
    Ok(rows
        .into_iter()
        .map(|row| {
            let end = end_of(row.ends_at, row.ended_at);
            DelegationLine {
                user_name: name(&row.user_id),
                delegate_name: name(&row.delegate_id),
                in_force: in_force(row.starts_at, row.ends_at, row.ended_at, now),
                open: now < end,
                last_day: last_day(end),
                row,
            }
        })
        .collect())
}

/// Names the person whose UPN or mail address is `to` as `actor`'s delegate from `first` to
/// `last` (dates, both included), with `note`. Refused with what to fix: an unknown or
/// disabled person, oneself, dates out of order, past or too far apart, or days another of
/// the actor's delegations covers already. Saved and audited in one transaction.
pub fn delegate(
    conn: &mut DbConnection,
    actor: &UserRow,
    to: &str,
    (first, last): (&str, &str),
    note: &str,
    now: NaiveDateTime,
) -> Result<Result<String, DelegationError>, AppError> {
    let to = to.trim();
    if to.is_empty() {
        return Ok(Err(DelegationError::NoDelegate));
    }
    let period = match check_period(first, last, note, now) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    conn.write(|conn| {
        // Two namings at once by one person: the second waits, then sees the first.
        store::locks::lock_person(conn, &actor.id)?;
        let Some(delegate) = store::users::by_upn_or_mail(conn, to)? else {
            return Ok(Err(DelegationError::Unknown(to.to_owned())));
        };
        if delegate.id == actor.id {
            return Ok(Err(DelegationError::ToSelf));
        }
        if !delegate.enabled {
            return Ok(Err(DelegationError::Disabled(delegate.display_name)));
        }
        if let Some(other) = store::delegations::overlapping(conn, &actor.id, (period.starts_at, period.ends_at), now)?
        {
            return Ok(Err(DelegationError::Overlaps(other)));
        }
        store::delegations::insert(
            conn,
            &NewDelegation {
                user_id: &actor.id,
                delegate_id: &delegate.id,
                starts_at: period.starts_at,
                ends_at: period.ends_at,
                note: &period.note,
                created_by: &actor.id,
                created_at: now,
            },
        )?;
        store::audit::append(
            conn,
            &NewEvent::by_user(
                actor,
                now,
                "DelegateReviews",
                ("User", &actor.id),
                serde_json::json!({
                    "delegateId": delegate.id,
                    "delegate": delegate.display_name,
                    "startsAt": period.starts_at,
                    "endsAt": period.ends_at,
                    "note": period.note,
                }),
            ),
        )?;
        Ok(Ok(delegate.display_name))
    })
}

/// Ends delegation `id` now, by `actor`: the person who named the delegate, or the
/// delegate (who may decline). Anyone else: 404. Returns whether it was still open (ending
/// one that is over changes nothing).
pub fn end(conn: &mut DbConnection, actor: &UserRow, id: i64, now: NaiveDateTime) -> Result<bool, AppError> {
    conn.write(|conn| {
        let Some(row) =
            store::delegations::get(conn, id)?.filter(|r| r.user_id == actor.id || r.delegate_id == actor.id)
        else {
            return Err(AppError::NotFound("There is no such delegation of yours.".into()));
        };
        if !store::delegations::end(conn, id, now)? {
            return Ok(false);
        }
        store::audit::append(
            conn,
            &NewEvent::by_user(
                actor,
                now,
                "EndDelegation",
                ("User", &row.user_id),
                serde_json::json!({ "delegationId": id, "delegateId": row.delegate_id, "userId": row.user_id }),
            ),
        )?;
        Ok(true)
    })
}
