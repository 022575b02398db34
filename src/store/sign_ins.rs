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

/// A sign-in with its event key, from an import.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sign_ins)]
#[diesel(treat_none_as_default_value = false)]
pub struct KeyedSignIn {
    pub user_id: String,
    pub app_id: Option<String>,
    pub signed_in_at: NaiveDateTime,
    pub event_key: String,
}

/// The users and applications that sign-in events name, resolved.
#[derive(Debug, Default)]
pub struct Resolved {
    /// User id by lower-cased UPN.
    pub users_by_upn: HashMap<String, String>,
    /// User ids that exist (by themselves).
    pub user_ids: HashMap<String, String>,
    /// Application id by appId.
    pub apps_by_app_id: HashMap<String, String>,
    /// Application id by lower-cased display name.
    pub apps_by_name: HashMap<String, String>,
}

/// Resolves users by UPN (whatever its case) or id, and applications by appId or name.
pub fn resolve(conn: &mut Conn, lower_upns: &[String], ids: &[String], apps: &[String]) -> QueryResult<Resolved> {
    use super::lower;
    use crate::db::schema::{applications, users};
    let mut out = Resolved::default();
    for chunk in lower_upns.chunks(super::batch_size(conn, 1)) {
        let rows: Vec<(String, String)> =
            users::table.filter(lower(users::upn).eq_any(chunk)).select((users::upn, users::id)).load(conn)?;
        out.users_by_upn.extend(rows.into_iter().map(|(upn, id)| (upn.to_lowercase(), id)));
    }
    for chunk in ids.chunks(super::batch_size(conn, 1)) {
        let rows: Vec<String> = users::table.filter(users::id.eq_any(chunk)).select(users::id).load(conn)?;
        out.user_ids.extend(rows.into_iter().map(|id| (id.clone(), id)));
    }
    if !apps.is_empty() {
        let lowered: Vec<String> = apps.iter().map(|a| a.to_lowercase()).collect();
        let rows: Vec<(String, String, String)> = applications::table
            .filter(applications::app_id.eq_any(apps).or(lower(applications::display_name).eq_any(&lowered)))
            .select((applications::id, applications::app_id, applications::display_name))
            .load(conn)?;
        for (id, app_id, name) in rows {
            out.apps_by_app_id.insert(app_id, id.clone());
            out.apps_by_name.insert(name.to_lowercase(), id);
        }
    }
    Ok(out)
}

/// Inserts keyed sign-ins, skipping those whose key is already recorded, and moves each
/// user's last sign-in forward. Returns how many were new.
pub fn insert_keyed(conn: &mut Conn, rows: &[KeyedSignIn]) -> QueryResult<usize> {
    use crate::db::schema::users;
    let mut inserted = 0;
    for chunk in rows.chunks(super::batch_size(conn, 4)) {
        inserted += super::per_backend!(conn, c => diesel::insert_into(sign_ins::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    let mut latest: HashMap<&str, NaiveDateTime> = HashMap::new();
    for row in rows {
        let at = latest.entry(row.user_id.as_str()).or_insert(row.signed_in_at);
        *at = (*at).max(row.signed_in_at);
    }
    for (user, at) in latest {
        diesel::update(users::table.find(user))
            .filter(users::last_sign_in_at.is_null().or(users::last_sign_in_at.lt(at)))
            .set(users::last_sign_in_at.eq(at))
            .execute(conn)?;
    }
    Ok(inserted)
}
