//! Key/value settings of this installation (directory name, demo marker, …).

use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::settings;

/// A setting's value, if set.
pub fn get(conn: &mut Conn, key: &str) -> QueryResult<Option<String>> {
    settings::table.find(key).select(settings::value).first(conn).optional()
}

/// Sets a setting, replacing any earlier value.
pub fn set(conn: &mut Conn, key: &str, value: &str) -> QueryResult<()> {
    per_backend!(conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict(settings::key)
        .do_update()
        .set(settings::value.eq(value))
        .execute(c))?;
    Ok(())
}

/// The setting holding the directory's display name.
pub const DIRECTORY_NAME: &str = "directory_name";

/// Sets a setting unless it is set already, then returns the value in force: two
/// processes starting together agree on one value.
pub fn get_or_init(conn: &mut Conn, key: &str, value: &str) -> QueryResult<String> {
    per_backend!(conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict_do_nothing()
        .execute(c))?;
    settings::table.find(key).select(settings::value).first(conn)
}

/// The setting holding the key that signs API clients' access tokens (base64).
pub const API_TOKEN_KEY: &str = "api_token_key";

/// The setting holding the generated session key (base64), when none is configured.
pub const SESSION_KEY: &str = "session_key";
