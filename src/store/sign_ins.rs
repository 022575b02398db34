//! Sign-in events. Every query here goes through the (user, time) or (user, app, time)
//! index: nothing scans all sign-ins.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, bulk_insert};
use crate::db::schema::sign_ins;

/// A sign-in to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sign_ins)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewSignIn {
    pub user_id: String,
    pub app_id: Option<String>,
    pub signed_in_at: NaiveDateTime,
}

/// The last sign-in of `user`, to the tenant (any app) or to `app`.
pub fn last(conn: &mut Conn, user: &str, app: Option<&str>) -> QueryResult<Option<NaiveDateTime>> {
    let query = sign_ins::table.filter(sign_ins::user_id.eq(user)).select(diesel::dsl::max(sign_ins::signed_in_at));
    match app {
        Some(app) => query.filter(sign_ins::app_id.eq(app)).first(conn),
        None => query.first(conn),
    }
}

/// The last sign-in of each of `users` (to `app` if given); users who never signed in are
/// absent from the map.
pub fn last_for_users(
    conn: &mut Conn,
    users: &[String],
    app: Option<&str>,
) -> QueryResult<HashMap<String, NaiveDateTime>> {
    let query = sign_ins::table
        .filter(sign_ins::user_id.eq_any(users))
        .group_by(sign_ins::user_id)
        .select((sign_ins::user_id, diesel::dsl::max(sign_ins::signed_in_at)));
    let rows: Vec<(String, Option<NaiveDateTime>)> = match app {
        Some(app) => query.filter(sign_ins::app_id.eq(app)).load(conn)?,
        None => query.load(conn)?,
    };
    Ok(rows.into_iter().filter_map(|(user, at)| at.map(|at| (user, at))).collect())
}

/// The last sign-in of `user` to each of `apps` (apps never signed in to are left out):
/// one query for a whole list of applications.
pub fn last_per_app(conn: &mut Conn, user: &str, apps: &[String]) -> QueryResult<HashMap<String, NaiveDateTime>> {
    let rows: Vec<(Option<String>, Option<NaiveDateTime>)> = sign_ins::table
        .filter(sign_ins::user_id.eq(user))
        .filter(sign_ins::app_id.eq_any(apps))
        .group_by(sign_ins::app_id)
        .select((sign_ins::app_id, diesel::dsl::max(sign_ins::signed_in_at)))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(app, at)| Some((app?, at?))).collect())
}

/// Inserts sign-ins in one statement (the caller batches).
pub fn insert_batch(conn: &mut Conn, rows: &[NewSignIn]) -> QueryResult<usize> {
    bulk_insert!(conn, sign_ins::table, rows)
}

/// Records one sign-in and moves the user's last sign-in forward (the caller holds the
/// transaction).
pub fn record(conn: &mut Conn, user: &str, app: Option<&str>, at: NaiveDateTime) -> QueryResult<()> {
    use crate::db::schema::users;
    insert_batch(conn, &[NewSignIn { user_id: user.to_owned(), app_id: app.map(str::to_owned), signed_in_at: at }])?;
    diesel::update(users::table.find(user))
        .filter(users::last_sign_in_at.is_null().or(users::last_sign_in_at.lt(at)))
        .set(users::last_sign_in_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// The latest sign-ins of `user`, newest first, at most `limit`: (time, application id if
/// any). By the (user, time) index.
pub fn recent(conn: &mut Conn, user: &str, limit: i64) -> QueryResult<Vec<(NaiveDateTime, Option<String>)>> {
    sign_ins::table
        .filter(sign_ins::user_id.eq(user))
        .order(sign_ins::signed_in_at.desc())
        .limit(limit)
        .select((sign_ins::signed_in_at, sign_ins::app_id))
        .load(conn)
}
