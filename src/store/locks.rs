//! The locks that keep two writers (a scheduler and an admin, or two attest processes on
//! one PostgreSQL) from doing the same work twice. Each is taken for the rest of the
//! current transaction.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::Conn;
use crate::db::schema::{review_instances, sources};

/// Takes the series' lock: on PostgreSQL an advisory lock; on SQLite a write, which takes
/// the database's single write lock before any read.
pub fn lock_definition(conn: &mut Conn, definition: &str) -> QueryResult<()> {
    if conn.is_sqlite() {
        super::reviews::touch(conn, definition)
    } else {
        // The first 60 bits of the series' UUID make a stable lock key.
        let hex: String = definition.chars().filter(char::is_ascii_hexdigit).take(15).collect();
        let key = i64::from_str_radix(&hex, 16).unwrap_or(0);
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))
    }
}

/// Takes the instance's lock: a write to its row, which on PostgreSQL locks the row until
/// commit and on SQLite takes the single write lock before any read. Two appliers of one
/// instance (a scheduler and an admin, or two processes) so never see the same item as
/// still to apply. False when there is no such instance.
pub fn lock_instance(conn: &mut Conn, instance: &str) -> QueryResult<bool> {
    let n = diesel::update(review_instances::table.find(instance))
        .set(review_instances::status.eq(review_instances::status))
        .execute(conn)?;
    Ok(n == 1)
}

/// Takes the source's lock: a write to its row, as for an instance. A sync that checks the
/// source's write-backs under it knows no apply batch writes back before it commits.
pub fn lock_source(conn: &mut Conn, source: &str) -> QueryResult<()> {
    diesel::update(sources::table.find(source))
        .set(sources::write_backs.eq(sources::write_backs))
        .execute(conn)
        .map(drop)
}

/// Takes a person's lock (while their delegations change): on PostgreSQL an advisory lock
/// keyed by a hash of their id; on SQLite the write transaction holds the single write lock
/// already.
pub fn lock_person(conn: &mut Conn, user: &str) -> QueryResult<()> {
    if conn.is_sqlite() {
        return Ok(());
    }
    // FNV-1a: stable across processes and releases (std's hasher is not).
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let key = i64::from_ne_bytes(hash.to_ne_bytes());
    conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))
}
