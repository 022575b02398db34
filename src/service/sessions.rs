//! Signing in and out.

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::DbConnection;
use crate::domain::directory::clean_display_text;
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::users::UserRow;

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
    let sid = crate::auth::csrf::new_token();
    conn.write(|conn| {
        store::sessions::delete_idle(conn, now - idle)?;
        store::sessions::create(conn, &sid, &user.id, now)?;
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
        store::sessions::delete(conn, sid)?;
        store::audit::append(
            conn,
            &NewEvent::by_user(user, now, "SignOut", ("User", &user.id), serde_json::json!({ "upn": user.upn })),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}
