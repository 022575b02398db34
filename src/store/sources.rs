//! Sources, their bearer tokens and their recent errors.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Conn;
use crate::db::schema::{
    app_group_assignments, app_owners, app_user_assignments, applications, group_member_groups, group_member_users,
    group_owners, groups, role_assignments, source_errors, source_tokens, sources, users,
};
use crate::domain::source::SourceKind;

/// How many errors a source keeps: older ones are dropped when a new one is recorded.
pub const KEPT_ERRORS: i64 = 50;

/// A source as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sources)]
pub struct SourceRow {
    pub id: String,
    pub name: String,
    pub kind: SourceKind,
    pub created_at: NaiveDateTime,
    /// When the source last changed one of its objects.
    pub changed_at: Option<NaiveDateTime>,
    /// Connector settings (JSON).
    pub settings: String,
    /// When a pulled source (LDAP) last tried to sync.
    pub sync_attempted_at: Option<NaiveDateTime>,
    /// When it last synced without error.
    pub synced_at: Option<NaiveDateTime>,
}

/// A bearer token as stored (the hash only).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = source_tokens)]
pub struct TokenRow {
    pub id: String,
    pub source_id: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by_name: String,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// An error a source ran into.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = source_errors)]
pub struct ErrorRow {
    pub id: i64,
    pub source_id: String,
    pub at: NaiveDateTime,
    pub message: String,
}

/// What a source holds, per kind of object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holdings {
    pub users: i64,
    pub groups: i64,
    pub memberships: i64,
    pub owners: i64,
    pub applications: i64,
    pub app_assignments: i64,
    pub role_assignments: i64,
}

/// The kinds of directory object a page lists with their source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    /// Users.
    Users,
    /// Groups.
    Groups,
    /// Applications.
    Applications,
}

/// The name of the source of each of `ids` (objects of one kind): (object id, source
/// name). One query, joined on the source.
pub fn names_of(conn: &mut Conn, kind: Owned, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match kind {
        Owned::Users => users::table
            .inner_join(sources::table.on(sources::id.eq(users::source_id)))
            .filter(users::id.eq_any(ids))
            .select((users::id, sources::name))
            .load(conn),
        Owned::Groups => groups::table
            .inner_join(sources::table.on(sources::id.eq(groups::source_id)))
            .filter(groups::id.eq_any(ids))
            .select((groups::id, sources::name))
            .load(conn),
        Owned::Applications => applications::table
            .inner_join(sources::table.on(sources::id.eq(applications::source_id)))
            .filter(applications::id.eq_any(ids))
            .select((applications::id, sources::name))
            .load(conn),
    }
}

/// Every source, by name.
pub fn list(conn: &mut Conn) -> QueryResult<Vec<SourceRow>> {
    sources::table.select(SourceRow::as_select()).order((sources::name, sources::id)).load(conn)
}

/// One source by id.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<SourceRow>> {
    sources::table.find(id).select(SourceRow::as_select()).first(conn).optional()
}

/// One source by name, whatever its case (as the unique index compares names).
pub fn by_name(conn: &mut Conn, name: &str) -> QueryResult<Option<SourceRow>> {
    sources::table
        .filter(super::lower(sources::name).eq(super::lower(name)))
        .select(SourceRow::as_select())
        .first(conn)
        .optional()
}

/// Records a new source.
pub fn insert(conn: &mut Conn, row: &SourceRow) -> QueryResult<()> {
    diesel::insert_into(sources::table).values(row).execute(conn).map(drop)
}

/// Replaces a source's settings.
pub fn set_settings(conn: &mut Conn, id: &str, settings: &str) -> QueryResult<()> {
    diesel::update(sources::table.find(id)).set(sources::settings.eq(settings)).execute(conn).map(drop)
}

/// Notes a sync attempt at `at`, and when `ok`, a good sync.
pub fn synced(conn: &mut Conn, id: &str, at: NaiveDateTime, ok: bool) -> QueryResult<()> {
    let row = sources::table.find(id);
    if ok {
        diesel::update(row).set((sources::sync_attempted_at.eq(at), sources::synced_at.eq(at))).execute(conn).map(drop)
    } else {
        diesel::update(row).set(sources::sync_attempted_at.eq(at)).execute(conn).map(drop)
    }
}

/// How many apply batches have written removals to the source's directory (see
/// [`wrote_back`]); 0 for a source that is gone.
pub fn write_backs(conn: &mut Conn, id: &str) -> QueryResult<i64> {
    Ok(sources::table.find(id).select(sources::write_backs).first(conn).optional()?.unwrap_or(0))
}

/// Counts one more apply batch that wrote removals to the source's directory, in that
/// batch's transaction: a sync whose read began before it then knows its read may be stale.
pub fn wrote_back(conn: &mut Conn, id: &str) -> QueryResult<()> {
    diesel::update(sources::table.find(id))
        .set(sources::write_backs.eq(sources::write_backs + 1))
        .execute(conn)
        .map(drop)
}

/// Sources of `kind`, by name.
pub fn of_kind(conn: &mut Conn, kind: SourceKind) -> QueryResult<Vec<SourceRow>> {
    sources::table.filter(sources::kind.eq(kind)).select(SourceRow::as_select()).order(sources::name).load(conn)
}

/// Notes that the source changed its objects at `at`.
pub fn touch(conn: &mut Conn, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sources::table.find(id)).set(sources::changed_at.eq(at)).execute(conn).map(drop)
}

/// What the source holds. Each count is a range of an index on `source_id`.
pub fn holdings(conn: &mut Conn, id: &str) -> QueryResult<Holdings> {
    use diesel::dsl::count_star;
    Ok(Holdings {
        users: users::table.filter(users::source_id.eq(id)).select(count_star()).first(conn)?,
        groups: groups::table.filter(groups::source_id.eq(id)).select(count_star()).first(conn)?,
        memberships: group_member_users::table
            .filter(group_member_users::source_id.eq(id))
            .select(count_star())
            .first::<i64>(conn)?
            + group_member_groups::table
                .filter(group_member_groups::source_id.eq(id))
                .select(count_star())
                .first::<i64>(conn)?,
        owners: group_owners::table.filter(group_owners::source_id.eq(id)).select(count_star()).first::<i64>(conn)?
            + app_owners::table.filter(app_owners::source_id.eq(id)).select(count_star()).first::<i64>(conn)?,
        applications: applications::table.filter(applications::source_id.eq(id)).select(count_star()).first(conn)?,
        app_assignments: app_user_assignments::table
            .filter(app_user_assignments::source_id.eq(id))
            .select(count_star())
            .first::<i64>(conn)?
            + app_group_assignments::table
                .filter(app_group_assignments::source_id.eq(id))
                .select(count_star())
                .first::<i64>(conn)?,
        role_assignments: role_assignments::table
            .filter(role_assignments::source_id.eq(id))
            .select(count_star())
            .first(conn)?,
    })
}

/// Records an error of a source, keeping the newest [`KEPT_ERRORS`].
pub fn record_error(conn: &mut Conn, source_id: &str, at: NaiveDateTime, message: &str) -> QueryResult<()> {
    diesel::insert_into(source_errors::table)
        .values((source_errors::source_id.eq(source_id), source_errors::at.eq(at), source_errors::message.eq(message)))
        .execute(conn)?;
    let keep_from: Option<i64> = source_errors::table
        .filter(source_errors::source_id.eq(source_id))
        .order(source_errors::id.desc())
        .select(source_errors::id)
        .offset(KEPT_ERRORS - 1)
        .first(conn)
        .optional()?;
    if let Some(first_kept) = keep_from {
        diesel::delete(
            source_errors::table
                .filter(source_errors::source_id.eq(source_id))
                .filter(source_errors::id.lt(first_kept)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// The newest errors of a source, newest first.
pub fn recent_errors(conn: &mut Conn, source_id: &str, limit: i64) -> QueryResult<Vec<ErrorRow>> {
    source_errors::table
        .filter(source_errors::source_id.eq(source_id))
        .order(source_errors::id.desc())
        .limit(limit)
        .select(ErrorRow::as_select())
        .load(conn)
}

/// Records a new token.
pub fn insert_token(conn: &mut Conn, row: &TokenRow) -> QueryResult<()> {
    diesel::insert_into(source_tokens::table).values(row).execute(conn).map(drop)
}

/// The tokens of a source, newest first (revoked ones too: they are history).
pub fn tokens(conn: &mut Conn, source_id: &str) -> QueryResult<Vec<TokenRow>> {
    source_tokens::table
        .filter(source_tokens::source_id.eq(source_id))
        .order((source_tokens::created_at.desc(), source_tokens::id))
        .select(TokenRow::as_select())
        .load(conn)
}

/// The token with this hash that is not revoked, with its source.
pub fn live_token(conn: &mut Conn, hash: &str) -> QueryResult<Option<(TokenRow, SourceRow)>> {
    source_tokens::table
        .inner_join(sources::table)
        .filter(source_tokens::token_hash.eq(hash))
        .filter(source_tokens::revoked_at.is_null())
        .select((TokenRow::as_select(), SourceRow::as_select()))
        .first(conn)
        .optional()
}

/// Notes a token's use. Written at most once a minute per token, so that a burst of
/// provisioning requests does not turn every read into a write.
pub fn mark_used(conn: &mut Conn, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    let stale = at - chrono::Duration::minutes(1);
    diesel::update(
        source_tokens::table
            .find(id)
            .filter(source_tokens::last_used_at.is_null().or(source_tokens::last_used_at.lt(stale))),
    )
    .set(source_tokens::last_used_at.eq(at))
    .execute(conn)
    .map(drop)
}

/// Revokes a token of a source; false when there was no live token with that id there.
pub fn revoke_token(conn: &mut Conn, source_id: &str, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        source_tokens::table
            .filter(source_tokens::id.eq(id))
            .filter(source_tokens::source_id.eq(source_id))
            .filter(source_tokens::revoked_at.is_null()),
    )
    .set(source_tokens::revoked_at.eq(at))
    .execute(conn)?;
    Ok(n > 0)
}
