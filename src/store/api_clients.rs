//! API clients and personal access tokens (secrets and tokens kept as their SHA-256).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Conn;
use crate::db::schema::{api_clients, personal_tokens};
use crate::domain::api::Permission;

/// An application client as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients)]
pub struct ClientRow {
    /// The client id.
    pub id: String,
    pub name: String,
    pub permission: Permission,
    pub secret_hash: String,
    pub created_at: NaiveDateTime,
    pub created_by_name: String,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// A personal access token as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = personal_tokens)]
pub struct PersonalTokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub permission: Permission,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// Records a client.
pub fn insert_client(conn: &mut Conn, row: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(api_clients::table).values(row).execute(conn).map(drop)
}

/// Every client, newest first.
pub fn clients(conn: &mut Conn) -> QueryResult<Vec<ClientRow>> {
    api_clients::table
        .select(ClientRow::as_select())
        .order((api_clients::created_at.desc(), api_clients::id))
        .load(conn)
}

/// One client.
pub fn client(conn: &mut Conn, id: &str) -> QueryResult<Option<ClientRow>> {
    api_clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()
}

/// Revokes a client at `at` (once); returns whether it was live.
pub fn revoke_client(conn: &mut Conn, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(api_clients::table.find(id).filter(api_clients::revoked_at.is_null()))
        .set(api_clients::revoked_at.eq(at))
        .execute(conn)
        .map(|n| n == 1)
}

/// Notes a client's use at `at`.
pub fn client_used(conn: &mut Conn, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_clients::table.find(id)).set(api_clients::last_used_at.eq(at)).execute(conn).map(drop)
}

/// Records a personal access token.
pub fn insert_personal(conn: &mut Conn, row: &PersonalTokenRow) -> QueryResult<()> {
    diesel::insert_into(personal_tokens::table).values(row).execute(conn).map(drop)
}

/// A person's tokens, newest first.
pub fn personal_of(conn: &mut Conn, user: &str) -> QueryResult<Vec<PersonalTokenRow>> {
    personal_tokens::table
        .filter(personal_tokens::user_id.eq(user))
        .select(PersonalTokenRow::as_select())
        .order((personal_tokens::created_at.desc(), personal_tokens::id))
        .load(conn)
}

/// The token with this hash.
pub fn personal_by_hash(conn: &mut Conn, hash: &str) -> QueryResult<Option<PersonalTokenRow>> {
    personal_tokens::table
        .filter(personal_tokens::token_hash.eq(hash))
        .select(PersonalTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Revokes a person's token at `at` (once; only their own); returns whether it was live.
pub fn revoke_personal(conn: &mut Conn, user: &str, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        personal_tokens::table
            .find(id)
            .filter(personal_tokens::user_id.eq(user))
            .filter(personal_tokens::revoked_at.is_null()),
    )
    .set(personal_tokens::revoked_at.eq(at))
    .execute(conn)
    .map(|n| n == 1)
}

/// Notes a token's use at `at`.
pub fn personal_used(conn: &mut Conn, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(personal_tokens::table.find(id)).set(personal_tokens::last_used_at.eq(at)).execute(conn).map(drop)
}
