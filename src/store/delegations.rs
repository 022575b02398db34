//! Delegations for a period: who reviews on whose behalf, from when to when.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::{review_delegations as delegations, users};

/// One delegation, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delegations)]
pub struct DelegationRow {
    pub id: i64,
    /// Who is away.
    pub user_id: String,
    /// Who reviews on their behalf.
    pub delegate_id: String,
    pub starts_at: NaiveDateTime,
    /// Exclusive.
    pub ends_at: NaiveDateTime,
    pub note: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// When it was ended early.
    pub ended_at: Option<NaiveDateTime>,
}

/// A delegation to save.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = delegations)]
pub struct NewDelegation<'a> {
    pub user_id: &'a str,
    pub delegate_id: &'a str,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub note: &'a str,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
}

/// Saves a delegation.
pub fn insert(conn: &mut Conn, row: &NewDelegation<'_>) -> QueryResult<()> {
    per_backend!(conn, c => diesel::insert_into(delegations::table).values(row).execute(c))?;
    Ok(())
}

/// The delegations of `user` that are not over at `now` (running or to come), with no
/// early end: at most a few.
fn open_of(user: &str, now: NaiveDateTime) -> delegations::BoxedQuery<'static, crate::db::MultiBackend> {
    delegations::table
        .into_boxed()
        .filter(delegations::user_id.eq(user.to_owned()))
        .filter(delegations::ends_at.gt(now))
        .filter(delegations::ended_at.is_null())
}

/// `user`'s delegation that covers part of `[starts_at, ends_at)`, with its delegate's
/// name: two delegations of one person never overlap, so at each moment one delegate
/// acts for them.
pub fn overlapping(
    conn: &mut Conn,
    user: &str,
    (starts_at, ends_at): (NaiveDateTime, NaiveDateTime),
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let found: Option<String> = open_of(user, now)
        .filter(delegations::starts_at.lt(ends_at))
        .filter(delegations::ends_at.gt(starts_at))
        .select(delegations::delegate_id)
        .first(conn)
        .optional()?;
    let Some(delegate) = found else { return Ok(None) };
    let name = users::table.find(&delegate).select(users::display_name).first(conn).optional()?;
    Ok(Some(name.unwrap_or_else(|| "a deleted account".to_owned())))
}

/// Every delegation `user` made or received, newest first, at most `limit`.
pub fn involving(conn: &mut Conn, user: &str, limit: i64) -> QueryResult<Vec<DelegationRow>> {
    delegations::table
        .filter(delegations::user_id.eq(user).or(delegations::delegate_id.eq(user)))
        .order((delegations::starts_at.desc(), delegations::id.desc()))
        .limit(limit)
        .select(DelegationRow::as_select())
        .load(conn)
}

/// One delegation.
pub fn get(conn: &mut Conn, id: i64) -> QueryResult<Option<DelegationRow>> {
    delegations::table.find(id).select(DelegationRow::as_select()).first(conn).optional()
}

/// Ends delegation `id` at `now` (it stops at once; one to come never starts). Returns
/// whether it was still open (a second click changes nothing).
pub fn end(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        delegations::table.find(id).filter(delegations::ended_at.is_null()).filter(delegations::ends_at.gt(now)),
    )
    .set(delegations::ended_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n > 0)
}

/// The people `delegate` reviews for at `now`: (user id, delegation's end).
pub fn acting_for(conn: &mut Conn, delegate: &str, now: NaiveDateTime) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    delegations::table
        .filter(delegations::delegate_id.eq(delegate))
        .filter(delegations::starts_at.le(now))
        .filter(delegations::ends_at.gt(now))
        .filter(delegations::ended_at.is_null())
        .order(delegations::user_id)
        .select((delegations::user_id, delegations::ends_at))
        .load(conn)
}

/// Whether `delegate` reviews for `user` at `now`.
pub fn acts_for(conn: &mut Conn, delegate: &str, user: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        delegations::table
            .filter(delegations::delegate_id.eq(delegate))
            .filter(delegations::user_id.eq(user))
            .filter(delegations::starts_at.le(now))
            .filter(delegations::ends_at.gt(now))
            .filter(delegations::ended_at.is_null()),
    ))
    .get_result(conn)
}

/// The delegates in force at `now` of these people: user id → (delegate id, end).
pub fn delegates_of(
    conn: &mut Conn,
    user_ids: &[String],
    now: NaiveDateTime,
) -> QueryResult<std::collections::HashMap<String, (String, NaiveDateTime)>> {
    let mut out = std::collections::HashMap::new();
    for chunk in user_ids.chunks(5_000) {
        let rows: Vec<(String, String, NaiveDateTime)> = delegations::table
            .filter(delegations::user_id.eq_any(chunk))
            .filter(delegations::starts_at.le(now))
            .filter(delegations::ends_at.gt(now))
            .filter(delegations::ended_at.is_null())
            .select((delegations::user_id, delegations::delegate_id, delegations::ends_at))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(u, d, e)| (u, (d, e))));
    }
    Ok(out)
}
