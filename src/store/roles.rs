//! Role definitions (directory and resource roles) and their assignments.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, Keyset, contains_pattern, keyset_page, lower, per_backend};
use crate::db::MultiBackend;
use crate::db::schema::{role_assignments, role_definitions, users};
use crate::domain::directory::{AssignmentType, RoleKind};
use crate::store::users::UserRef;

/// A role definition as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_definitions)]
pub struct RoleRow {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub role_kind: RoleKind,
    pub privileged: bool,
}

/// A role assignment as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_assignments)]
#[diesel(treat_none_as_default_value = false)]
pub struct AssignmentRow {
    pub id: String,
    pub role_id: String,
    pub user_id: String,
    pub scope: String,
    pub scope_name: String,
    pub assignment_type: AssignmentType,
    pub start_at: NaiveDateTime,
    pub end_at: Option<NaiveDateTime>,
}

/// The sort name of a role, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, id: &str) -> QueryResult<Option<String>> {
    role_definitions::table.find(id).select(role_definitions::display_name).first(conn).optional()
}

/// One page of roles ordered by name, optionally searched by name.
pub fn list(conn: &mut Conn, search: Option<&str>, keyset: &Keyset, limit: usize) -> QueryResult<Vec<RoleRow>> {
    let mut query = role_definitions::table.select(RoleRow::as_select()).into_boxed::<MultiBackend>();
    if let Some(search) = search {
        query = query.filter(lower(role_definitions::display_name).like(contains_pattern(search)).escape('\\'));
    }
    keyset_page!(query, keyset, role_definitions::display_name, role_definitions::id, limit).load(conn)
}

/// How many assignments each of `role_ids` has: (role id, count).
pub fn assignment_counts(conn: &mut Conn, role_ids: &[String]) -> QueryResult<Vec<(String, i64)>> {
    role_assignments::table
        .filter(role_assignments::role_id.eq_any(role_ids))
        .group_by(role_assignments::role_id)
        .select((role_assignments::role_id, diesel::dsl::count_star()))
        .load(conn)
}

/// A role by id.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<RoleRow>> {
    role_definitions::table.find(id).select(RoleRow::as_select()).first(conn).optional()
}

/// A role of `kind` by display name, ignoring case.
pub fn by_name(conn: &mut Conn, name: &str, kind: RoleKind) -> QueryResult<Option<RoleRow>> {
    role_definitions::table
        .filter(lower(role_definitions::display_name).eq(name.to_lowercase()))
        .filter(role_definitions::role_kind.eq(kind))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()
}

/// The sort name of an assignment (its user's name), to resolve a page cursor.
pub fn assignment_name_of(conn: &mut Conn, id: &str) -> QueryResult<Option<String>> {
    role_assignments::table
        .inner_join(users::table)
        .filter(role_assignments::id.eq(id))
        .select(users::display_name)
        .first(conn)
        .optional()
}

/// One page of a role's assignments with their users, ordered by user name.
pub fn assignments(
    conn: &mut Conn,
    role: &str,
    search: Option<&str>,
    keyset: &Keyset,
    limit: usize,
) -> QueryResult<Vec<(AssignmentRow, UserRef)>> {
    let mut query = role_assignments::table
        .inner_join(users::table)
        .filter(role_assignments::role_id.eq(role.to_owned()))
        .select((AssignmentRow::as_select(), UserRef::as_select()))
        .into_boxed::<MultiBackend>();
    if let Some(search) = search {
        let pattern = contains_pattern(search);
        query = query.filter(
            lower(users::display_name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::upn).like(pattern).escape('\\')),
        );
    }
    keyset_page!(query, keyset, users::display_name, role_assignments::id, limit).load(conn)
}

/// A user's role assignments with their roles, by role name.
pub fn of_user(conn: &mut Conn, user: &str, limit: i64) -> QueryResult<Vec<(AssignmentRow, RoleRow)>> {
    role_assignments::table
        .inner_join(role_definitions::table)
        .filter(role_assignments::user_id.eq(user))
        .order((role_definitions::display_name, role_assignments::scope))
        .limit(limit)
        .select((AssignmentRow::as_select(), RoleRow::as_select()))
        .load(conn)
}

/// Inserts role definitions.
pub fn insert_roles(conn: &mut Conn, rows: &[RoleRow]) -> QueryResult<usize> {
    per_backend!(conn, c => diesel::insert_into(role_definitions::table).values(rows).execute(c))
}

/// Inserts role assignments.
pub fn insert_assignments(conn: &mut Conn, rows: &[AssignmentRow]) -> QueryResult<usize> {
    per_backend!(conn, c => diesel::insert_into(role_assignments::table).values(rows).execute(c))
}

/// Whether `user` holds any of the directory roles `names` actively, tenant-wide, at `now`
/// (eligible assignments do not count until activated).
pub fn holds_active_directory_role(
    conn: &mut Conn,
    user: &str,
    names: &[&str],
    now: NaiveDateTime,
) -> QueryResult<bool> {
    // The user's roles are fetched and compared here rather than with `IN (…)` in SQL: a
    // statement without a list is prepared once per connection, and this runs on every
    // signed-in request.
    let held: Vec<String> = role_assignments::table
        .inner_join(role_definitions::table)
        .filter(role_assignments::user_id.eq(user))
        .filter(role_definitions::role_kind.eq(RoleKind::Directory))
        .filter(role_assignments::scope.eq("/"))
        .filter(role_assignments::assignment_type.eq(AssignmentType::Active))
        .filter(role_assignments::start_at.le(now))
        .filter(role_assignments::end_at.is_null().or(role_assignments::end_at.gt(now)))
        .select(role_definitions::display_name)
        .load(conn)?;
    Ok(held.iter().any(|h| names.contains(&h.as_str())))
}

/// Assignments of `role` in force at `now`, with their users: at `scope` or below it when
/// given, of the assignment types given ("Active", "Eligible").
pub fn in_force_with_users(
    conn: &mut Conn,
    role: &str,
    scope: Option<&str>,
    types: &[AssignmentType],
    now: NaiveDateTime,
) -> QueryResult<Vec<(AssignmentRow, crate::store::users::UserRow)>> {
    let types = types.to_vec();
    let mut query = role_assignments::table
        .inner_join(users::table)
        .filter(role_assignments::role_id.eq(role.to_owned()))
        .filter(role_assignments::assignment_type.eq_any(types))
        .filter(role_assignments::start_at.le(now))
        .filter(role_assignments::end_at.is_null().or(role_assignments::end_at.gt(now)))
        .select((AssignmentRow::as_select(), crate::store::users::UserRow::as_select()))
        .into_boxed::<MultiBackend>();
    if let Some(scope) = scope {
        // The scope itself or anything below it ("/subscriptions/x" covers its groups).
        let below = format!("{}/%", super::escape_like(scope));
        query = query
            .filter(role_assignments::scope.eq(scope.to_owned()).or(role_assignments::scope.like(below).escape('\\')));
    }
    query.load(conn)
}

/// How many role definitions (directory and resource roles) the directory has.
pub fn count(conn: &mut Conn) -> QueryResult<i64> {
    role_definitions::table.count().get_result(conn)
}
