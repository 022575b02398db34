//! Signing in and out, and resuming a session on each request.

use chrono::{NaiveDateTime, TimeDelta};

use crate::auth::token::{new_token, token_hash};
use crate::db::DbConnection;
use crate::domain::directory::clean_display_text;
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::users::UserRow;

/// Directory roles that make someone a portal admin.
pub const ADMIN_ROLES: &[&str] = &["Global Administrator", "User Administrator", "Identity Governance Administrator"];

/// The signed-in person, as a resumed session names them.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The directory user.
    pub user: UserRow,
    /// The server-side session id.
    pub session_id: String,
    /// Holds an admin role now.
    pub is_admin: bool,
    /// Owns a group or application while the tenant lets owners manage reviews of their
    /// resources (always false for admins, who manage everything anyway).
    pub is_owner_manager: bool,
}

/// Resumes the session `sid` at `now`: who holds it and what they may do. Ends (and
/// answers `None` for) a session that was idle longer than `idle`, belongs to a disabled
/// user, or was signed out elsewhere.
pub fn resume(
    conn: &mut DbConnection,
    sid: &str,
    now: NaiveDateTime,
    idle: TimeDelta,
) -> Result<Option<Identity>, AppError> {
    // The database keeps only the hash of a session id: a copy of the database (a
    // backup, a read replica) holds no cookie that signs anyone in.
    let key = token_hash(sid);
    let Some((row, user)) = store::sessions::get_with_user(conn, &key)? else { return Ok(None) };
    if row.last_seen_at + idle < now || !user.enabled {
        store::sessions::delete(conn, &key)?;
        return Ok(None);
    }
    // Writing on every request would serialise readers behind SQLite's one writer; a
    // minute's precision is plenty for an idle timeout of hours.
    if now - row.last_seen_at > TimeDelta::minutes(1) {
        store::sessions::touch(conn, &key, now)?;
    }
    let is_admin = store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)?;
    let is_owner_manager = !is_admin
        && super::onboarding::owners_manage_reviews(conn)?
        && store::users::owns_group_or_app(conn, &user.id)?;
    Ok(Some(Identity { user, session_id: sid.to_owned(), is_admin, is_owner_manager }))
}

/// Why a person who proved who they are still may not sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No directory user matches any of the names the provider vouched for.
    NotInDirectory(Vec<String>),
    /// The account is disabled in the directory.
    Disabled(String),
}

/// Finds the directory user for the names a provider vouched for, trying each in order.
/// Claims are data from outside: a name holding control or bidi characters (one that
/// [`clean_display_text`] would change) is no user principal name and matches nobody; it
/// is never cleaned to make it match someone. The refusal names them cleaned, for the
/// page and the log.
pub fn match_user(conn: &mut DbConnection, names: &[String]) -> Result<Result<UserRow, Refusal>, AppError> {
    for name in names {
        if clean_display_text(name) != *name {
            continue;
        }
        if let Some(user) = store::users::by_upn(conn, name)? {
            return Ok(if user.enabled { Ok(user) } else { Err(Refusal::Disabled(user.upn)) });
        }
    }
    Ok(Err(Refusal::NotInDirectory(names.iter().map(|n| clean_display_text(n)).collect())))
}

/// Starts a session for `user` and records the sign-in (it feeds the recommendations) and
/// its audit event, in one transaction. Sessions idle longer than `idle` are swept on the way (sign-ins are
/// rare enough to carry that small cleanup). Returns the new session id.
pub fn sign_in(
    conn: &mut DbConnection,
    user: &UserRow,
    now: NaiveDateTime,
    idle: TimeDelta,
) -> Result<String, AppError> {
    let sid = new_token();
    conn.write(|conn| {
        store::sessions::delete_idle(conn, now - idle)?;
        store::sessions::create(conn, &token_hash(&sid), &user.id, now)?;
        store::sign_ins::record(conn, &user.id, None, now)?;
        store::audit::append(
            conn,
            &NewEvent::by_user(user, now, "SignIn", ("User", &user.id), serde_json::json!({ "upn": user.upn })),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(sid)
}

/// Ends a session on the server (its cookie stops working everywhere) and records the
/// sign-out, in one transaction.
pub fn sign_out(conn: &mut DbConnection, sid: &str, user: &UserRow, now: NaiveDateTime) -> Result<(), AppError> {
    conn.write(|conn| {
        store::sessions::delete(conn, &token_hash(sid))?;
        store::audit::append(
            conn,
            &NewEvent::by_user(user, now, "SignOut", ("User", &user.id), serde_json::json!({ "upn": user.upn })),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}
