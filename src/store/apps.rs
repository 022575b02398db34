//! Applications (enterprise apps), their owners and their assignments to users and groups.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, Keyset, contains_pattern, keyset_page, lower, per_backend};
use crate::db::MultiBackend;
use crate::db::schema::{
    app_group_assignments, app_owners, app_user_assignments, applications, group_member_users, groups, users,
};
use crate::store::groups::{GroupRow, NestedGroup};
use crate::store::users::{UserRef, UserRow, search_filter};

/// An application as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
#[diesel(treat_none_as_default_value = false)]
pub struct AppRow {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub assignment_required: bool,
    pub homepage: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A direct assignment of a user or a group to an application.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub app_id: String,
    pub principal_id: String,
    pub app_role: String,
    pub created_at: NaiveDateTime,
}

/// The sort name of an application, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, id: &str) -> QueryResult<Option<String>> {
    applications::table.find(id).select(applications::display_name).first(conn).optional()
}

/// One page of applications ordered by name, optionally searched by name.
pub fn list(conn: &mut Conn, search: Option<&str>, keyset: &Keyset, limit: usize) -> QueryResult<Vec<AppRow>> {
    let mut query = applications::table.select(AppRow::as_select()).into_boxed::<MultiBackend>();
    if let Some(search) = search {
        query = query.filter(lower(applications::display_name).like(contains_pattern(search)).escape('\\'));
    }
    keyset_page!(query, keyset, applications::display_name, applications::id, limit).load(conn)
}

/// How many applications the directory has.
pub fn count(conn: &mut Conn) -> QueryResult<i64> {
    applications::table.count().get_result(conn)
}

/// An application by id.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<AppRow>> {
    applications::table.find(id).select(AppRow::as_select()).first(conn).optional()
}

/// An application's owners, by name, at most `limit`.
pub fn owners(conn: &mut Conn, app: &str, limit: i64) -> QueryResult<Vec<UserRef>> {
    app_owners::table
        .inner_join(users::table)
        .filter(app_owners::app_id.eq(app))
        .order((users::display_name, users::id))
        .limit(limit)
        .select(UserRef::as_select())
        .load(conn)
}

/// Groups assigned to an application, with the app role, by name, at most `limit`.
pub fn assigned_groups(conn: &mut Conn, app: &str, limit: i64) -> QueryResult<Vec<(GroupRow, String)>> {
    app_group_assignments::table
        .inner_join(groups::table)
        .filter(app_group_assignments::app_id.eq(app))
        .order((groups::display_name, groups::id))
        .limit(limit)
        .select((GroupRow::as_select(), app_group_assignments::app_role))
        .load(conn)
}

/// How many users are assigned directly.
pub fn direct_user_count(conn: &mut Conn, app: &str) -> QueryResult<i64> {
    app_user_assignments::table.filter(app_user_assignments::app_id.eq(app)).count().get_result(conn)
}

/// One page of the users assigned to `app` directly or through any group in `via`
/// (the closures of the assigned groups), ordered by name.
pub fn assigned_users(
    conn: &mut Conn,
    app: &str,
    via: &[NestedGroup],
    search: Option<&str>,
    keyset: &Keyset,
    limit: usize,
) -> QueryResult<Vec<UserRow>> {
    let group_ids: Vec<&str> = via.iter().map(|g| g.group.id.as_str()).collect();
    let direct = diesel::dsl::exists(
        app_user_assignments::table
            .filter(app_user_assignments::user_id.eq(users::id))
            .filter(app_user_assignments::app_id.eq(app.to_owned())),
    );
    let through_group = diesel::dsl::exists(
        group_member_users::table
            .filter(group_member_users::user_id.eq(users::id))
            .filter(group_member_users::group_id.eq_any(group_ids)),
    );
    let mut query =
        users::table.filter(direct.or(through_group)).select(UserRow::as_select()).into_boxed::<MultiBackend>();
    if let Some(search) = search {
        query = query.filter(search_filter(search));
    }
    keyset_page!(query, keyset, users::display_name, users::id, limit).load(conn)
}

/// Which of `user_ids` are assigned to `app` directly, with their app role.
pub fn direct_assignments(conn: &mut Conn, app: &str, user_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    app_user_assignments::table
        .filter(app_user_assignments::app_id.eq(app))
        .filter(app_user_assignments::user_id.eq_any(user_ids))
        .select((app_user_assignments::user_id, app_user_assignments::app_role))
        .load(conn)
}

/// Applications a user is assigned to directly, with the role, by name, at most `limit`.
pub fn assigned_to_user(conn: &mut Conn, user: &str, limit: i64) -> QueryResult<Vec<(AppRow, String)>> {
    app_user_assignments::table
        .inner_join(applications::table)
        .filter(app_user_assignments::user_id.eq(user))
        .order((applications::display_name, applications::id))
        .limit(limit)
        .select((AppRow::as_select(), app_user_assignments::app_role))
        .load(conn)
}

/// Applications assigned to any of `group_ids`: (app, group id, role), by app name.
pub fn assigned_to_groups(
    conn: &mut Conn,
    group_ids: &[String],
    limit: i64,
) -> QueryResult<Vec<(AppRow, String, String)>> {
    app_group_assignments::table
        .inner_join(applications::table)
        .filter(app_group_assignments::group_id.eq_any(group_ids))
        .order((applications::display_name, applications::id))
        .limit(limit)
        .select((AppRow::as_select(), app_group_assignments::group_id, app_group_assignments::app_role))
        .load(conn)
}

/// Applications owned by a user, by name, at most `limit`.
pub fn owned_by(conn: &mut Conn, user: &str, limit: i64) -> QueryResult<Vec<AppRow>> {
    app_owners::table
        .inner_join(applications::table)
        .filter(app_owners::user_id.eq(user))
        .order((applications::display_name, applications::id))
        .limit(limit)
        .select(AppRow::as_select())
        .load(conn)
}

/// Inserts applications in one statement.
pub fn insert_batch(conn: &mut Conn, rows: &[AppRow]) -> QueryResult<usize> {
    per_backend!(conn, c => diesel::insert_into(applications::table).values(rows).execute(c))
}

/// Adds owners: (app, user) pairs.
pub fn insert_owners(conn: &mut Conn, pairs: &[(String, String)]) -> QueryResult<usize> {
    let rows: Vec<_> = pairs.iter().map(|(a, u)| (app_owners::app_id.eq(a), app_owners::user_id.eq(u))).collect();
    per_backend!(conn, c => diesel::insert_into(app_owners::table).values(rows).execute(c))
}

/// Assigns users directly.
pub fn insert_user_assignments(conn: &mut Conn, rows: &[NewAssignment]) -> QueryResult<usize> {
    let rows: Vec<_> = rows
        .iter()
        .map(|a| {
            (
                app_user_assignments::app_id.eq(&a.app_id),
                app_user_assignments::user_id.eq(&a.principal_id),
                app_user_assignments::app_role.eq(&a.app_role),
                app_user_assignments::created_at.eq(a.created_at),
            )
        })
        .collect();
    per_backend!(conn, c => diesel::insert_into(app_user_assignments::table).values(rows).execute(c))
}

/// Assigns groups.
pub fn insert_group_assignments(conn: &mut Conn, rows: &[NewAssignment]) -> QueryResult<usize> {
    let rows: Vec<_> = rows
        .iter()
        .map(|a| {
            (
                app_group_assignments::app_id.eq(&a.app_id),
                app_group_assignments::group_id.eq(&a.principal_id),
                app_group_assignments::app_role.eq(&a.app_role),
                app_group_assignments::created_at.eq(a.created_at),
            )
        })
        .collect();
    per_backend!(conn, c => diesel::insert_into(app_group_assignments::table).values(rows).execute(c))
}

/// An application by display name, ignoring case.
pub fn by_name(conn: &mut Conn, name: &str) -> QueryResult<Option<AppRow>> {
    applications::table
        .filter(lower(applications::display_name).eq(name.to_lowercase()))
        .order(applications::id)
        .select(AppRow::as_select())
        .first(conn)
        .optional()
}

/// Every user assigned to `app` directly, with the app role.
pub fn all_direct_users(conn: &mut Conn, app: &str) -> QueryResult<Vec<(UserRow, String)>> {
    app_user_assignments::table
        .inner_join(users::table)
        .filter(app_user_assignments::app_id.eq(app))
        .select((UserRow::as_select(), app_user_assignments::app_role))
        .load(conn)
}
