//! Finding directory objects by the start of their name, whatever its case, for the
//! create-review form's pickers. Bounded (a page of matches, plus one to know whether there
//! are more) and served by an index on the lower-cased name, so a directory of millions
//! costs what a small one does: the matches are a range of that index.

use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::Conn;
use crate::db::DbConnection;
use crate::domain::directory::RoleKind;

/// A match: the object's id, its name and one more thing to tell it apart.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Match {
    /// The object's id.
    #[diesel(sql_type = Text)]
    pub id: String,
    /// Its name (a user's display name).
    #[diesel(sql_type = Text)]
    pub name: String,
    /// A user's UPN, a group's type, a role's description; empty for applications.
    #[diesel(sql_type = Text)]
    pub detail: String,
}

/// What is searched: the table, the lower-cased key, what to show beside it, a filter.
struct Target {
    table: &'static str,
    key: &'static str,
    name: &'static str,
    detail: &'static str,
    /// Extra condition per backend (SQLite, PostgreSQL); `?2`/`$2` is the second bind.
    filter: (&'static str, &'static str),
    /// Whether the filter takes the second bind.
    binds_kind: bool,
}

/// Runs one prefix range over `target`: rows whose key starts with `prefix` (compared
/// lower-cased by the database itself, so both sides fold case the same way), by key, at
/// most `limit`.
fn prefix(conn: &mut Conn, target: &Target, prefix: &str, kind: &str, limit: i64) -> QueryResult<Vec<Match>> {
    let Target { table, key, name, detail, filter, binds_kind } = target;
    match conn {
        DbConnection::Sqlite(c) => {
            // BINARY collation: the range [p, p || U+10FFFF) holds exactly the keys starting with p.
            let limit_param = if *binds_kind { "?3" } else { "?2" };
            let sql = format!(
                "SELECT id, {name} AS name, {detail} AS detail FROM {table} \
                 WHERE lower({key}) >= lower(?1) AND lower({key}) < (lower(?1) || char(1114111)) {} \
                 ORDER BY lower({key}), id LIMIT {limit_param}",
                filter.0
            );
            let query = diesel::sql_query(sql).bind::<Text, _>(prefix);
            if *binds_kind {
                query.bind::<Text, _>(kind).bind::<BigInt, _>(limit).load(c)
            } else {
                query.bind::<BigInt, _>(limit).load(c)
            }
        }
        DbConnection::Pg(c) => {
            let limit_param = if *binds_kind { "$3" } else { "$2" };
            let sql = format!(
                "SELECT id, {name} AS name, {detail} AS detail FROM {table} \
                 WHERE lower({key}) COLLATE \"C\" >= lower($1) COLLATE \"C\" \
                 AND lower({key}) COLLATE \"C\" < (lower($1) || chr(1114111)) COLLATE \"C\" {} \
                 ORDER BY lower({key}) COLLATE \"C\", id LIMIT {limit_param}",
                filter.1
            );
            let query = diesel::sql_query(sql).bind::<Text, _>(prefix);
            if *binds_kind {
                query.bind::<Text, _>(kind).bind::<BigInt, _>(limit).load(c)
            } else {
                query.bind::<BigInt, _>(limit).load(c)
            }
        }
    }
}

const NO_FILTER: (&str, &str) = ("", "");

/// Groups whose name starts with `text`, by name, at most `limit`.
pub fn groups(conn: &mut Conn, text: &str, limit: i64) -> QueryResult<Vec<Match>> {
    let target = Target {
        table: "groups",
        key: "display_name",
        name: "display_name",
        detail: "group_type",
        filter: NO_FILTER,
        binds_kind: false,
    };
    prefix(conn, &target, text, "", limit)
}

/// Applications that require assignment (the only ones a review can cover) whose name
/// starts with `text`, by name, at most `limit`.
pub fn applications(conn: &mut Conn, text: &str, limit: i64) -> QueryResult<Vec<Match>> {
    let target = Target {
        table: "applications",
        key: "display_name",
        name: "display_name",
        detail: "''",
        filter: ("AND assignment_required = 1", "AND assignment_required"),
        binds_kind: false,
    };
    prefix(conn, &target, text, "", limit)
}

/// Roles of `kind` whose name starts with `text`, at most `limit`.
pub fn roles(conn: &mut Conn, kind: RoleKind, text: &str, limit: i64) -> QueryResult<Vec<Match>> {
    let target = Target {
        table: "role_definitions",
        key: "display_name",
        name: "display_name",
        detail: "description",
        filter: ("AND role_kind = ?2", "AND role_kind = $2"),
        binds_kind: true,
    };
    prefix(conn, &target, text, kind.as_str(), limit)
}

/// Enabled users whose display name or UPN starts with `text`, by display name, at most
/// `limit` (each of the two ranges is bounded; the caller merges them).
pub fn users(conn: &mut Conn, text: &str, limit: i64) -> QueryResult<Vec<Match>> {
    let enabled = ("AND enabled = 1", "AND enabled");
    let by_name = Target {
        table: "users",
        key: "display_name",
        name: "display_name",
        detail: "upn",
        filter: enabled,
        binds_kind: false,
    };
    let by_upn = Target { key: "upn", ..by_name };
    let mut found = prefix(conn, &by_name, text, "", limit)?;
    for m in prefix(conn, &by_upn, text, "", limit)? {
        if !found.iter().any(|f| f.id == m.id) {
            found.push(m);
        }
    }
    found.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    Ok(found)
}
