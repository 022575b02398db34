//! Users of the directory.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, Keyset, bulk_insert, contains_pattern, keyset_page, lower};
use crate::db::MultiBackend;
use crate::db::schema::users;
use crate::domain::directory::UserType;

/// A user as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub user_type: UserType,
    pub enabled: bool,
    pub manager_id: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub created_at: NaiveDateTime,
    /// Last sign-in to the tenant (any application), kept up to date by
    /// [`crate::store::sign_ins::record`].
    pub last_sign_in_at: Option<NaiveDateTime>,
}

impl UserRow {
    /// How many values a row binds (sizes insert batches).
    pub const COLUMNS: usize = 11;
}

/// A user reference for lists: id, name, UPN.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRef {
    pub id: String,
    pub display_name: String,
    pub upn: String,
}

/// Users whose name or UPN contains `search`.
pub(crate) fn search_filter(
    search: &str,
) -> Box<dyn BoxableExpression<users::table, MultiBackend, SqlType = diesel::sql_types::Bool>> {
    let pattern = contains_pattern(search);
    Box::new(
        lower(users::display_name).like(pattern.clone()).escape('\\').or(lower(users::upn).like(pattern).escape('\\')),
    )
}

/// The sort name of a user, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, id: &str) -> QueryResult<Option<String>> {
    users::table.find(id).select(users::display_name).first(conn).optional()
}

/// One page of users ordered by name, optionally searched.
pub fn list(conn: &mut Conn, search: Option<&str>, keyset: &Keyset, limit: usize) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed::<MultiBackend>();
    if let Some(search) = search {
        query = query.filter(search_filter(search));
    }
    keyset_page!(query, keyset, users::display_name, users::id, limit).load(conn)
}

/// How many users the directory has.
pub fn count(conn: &mut Conn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// A user by id.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).optional()
}

/// Users by id (any order); unknown ids are skipped.
pub fn refs(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<UserRef>> {
    users::table.filter(users::id.eq_any(ids)).select(UserRef::as_select()).load(conn)
}

/// Display names of the users with these ids (unknown ids are left out). PostgreSQL gets
/// one `= ANY($1)` query; SQLite, whose `IN (?, ?, …)` differs in length each time and so
/// is parsed and planned anew on every call, gets one cached primary-key lookup per id —
/// in-process lookups cost a few microseconds, and a page names only a handful of people.
pub fn display_names(conn: &mut Conn, ids: &[String]) -> QueryResult<std::collections::HashMap<String, String>> {
    if !conn.is_sqlite() {
        return users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::display_name))
            .load(conn)
            .map(|rows| rows.into_iter().collect());
    }
    let mut names = std::collections::HashMap::with_capacity(ids.len());
    for id in ids {
        if names.contains_key(id) {
            continue;
        }
        let name: Option<String> = users::table.find(id).select(users::display_name).first(conn).optional()?;
        if let Some(name) = name {
            names.insert(id.clone(), name);
        }
    }
    Ok(names)
}

/// A user's direct reports, by name, at most `limit`.
pub fn direct_reports(conn: &mut Conn, manager: &str, limit: i64) -> QueryResult<Vec<UserRef>> {
    users::table
        .filter(users::manager_id.eq(manager))
        .order((users::display_name, users::id))
        .limit(limit)
        .select(UserRef::as_select())
        .load(conn)
}

/// Inserts users in one statement (the caller batches to the parameter limit).
pub fn insert_batch(conn: &mut Conn, rows: &[UserRow]) -> QueryResult<usize> {
    bulk_insert!(conn, users::table, rows)
}

/// A user by UPN, ignoring case (identity providers do not keep the directory's case).
pub fn by_upn(conn: &mut Conn, upn: &str) -> QueryResult<Option<UserRow>> {
    // No name holds a NUL, and PostgreSQL refuses one in any text parameter.
    if upn.contains('\0') {
        return Ok(None);
    }
    users::table.filter(lower(users::upn).eq(upn.to_lowercase())).select(UserRow::as_select()).first(conn).optional()
}

/// A user by UPN, or else by mail address, ignoring case (people know a colleague's mail
/// address better than their UPN). Of several with the address, none: ambiguous.
pub fn by_upn_or_mail(conn: &mut Conn, text: &str) -> QueryResult<Option<UserRow>> {
    if let Some(user) = by_upn(conn, text)? {
        return Ok(Some(user));
    }
    if text.contains('\0') {
        return Ok(None);
    }
    let mut found: Vec<UserRow> = users::table
        .filter(lower(users::mail.assume_not_null()).eq(text.to_lowercase()))
        .select(UserRow::as_select())
        .limit(2)
        .load(conn)?;
    Ok(if found.len() == 1 { found.pop() } else { None })
}

/// Users by exact UPN (any order); unknown UPNs are skipped.
pub fn refs_by_upn(conn: &mut Conn, upns: &[String]) -> QueryResult<Vec<UserRef>> {
    users::table.filter(users::upn.eq_any(upns)).select(UserRef::as_select()).load(conn)
}

/// Whether `user` owns at least one group or application.
pub fn owns_group_or_app(conn: &mut Conn, user: &str) -> QueryResult<bool> {
    use crate::db::schema::{app_owners, group_owners};
    let groups = diesel::select(diesel::dsl::exists(group_owners::table.filter(group_owners::user_id.eq(user))));
    if groups.get_result(conn)? {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(app_owners::table.filter(app_owners::user_id.eq(user)))).get_result(conn)
}

/// The manager of each of these users, as the directory holds it now (unknown ids are
/// left out), in chunks that fit the parameter limits.
pub fn managers_of(conn: &mut Conn, ids: &[String]) -> QueryResult<std::collections::HashMap<String, Option<String>>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(String, Option<String>)> =
            users::table.filter(users::id.eq_any(chunk)).select((users::id, users::manager_id)).load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The users with these ids (unknown ids are left out).
pub fn rows(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<UserRow>> {
    users::table.filter(users::id.eq_any(ids)).select(UserRow::as_select()).load(conn)
}
