//! Server-side records of signed-in sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Conn;
use crate::db::schema::{users, web_sessions};
use crate::store::users::UserRow;

/// A session as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = web_sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

/// A session with its user, in one query (this runs on every signed-in request).
pub fn get_with_user(conn: &mut Conn, id: &str) -> QueryResult<Option<(SessionRow, UserRow)>> {
    web_sessions::table
        .inner_join(users::table)
        .filter(web_sessions::id.eq(id))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Records a new session.
pub fn create(conn: &mut Conn, id: &str, user: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(web_sessions::table)
        .values((
            web_sessions::id.eq(id),
            web_sessions::user_id.eq(user),
            web_sessions::created_at.eq(now),
            web_sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Notes activity on a session.
pub fn touch(conn: &mut Conn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(web_sessions::table.find(id)).set(web_sessions::last_seen_at.eq(now)).execute(conn)?;
    Ok(())
}

/// Ends a session.
pub fn delete(conn: &mut Conn, id: &str) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.find(id)).execute(conn)
}

/// Removes sessions idle since before `cutoff`; returns how many.
pub fn delete_idle(conn: &mut Conn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.filter(web_sessions::last_seen_at.lt(cutoff))).execute(conn)
}
