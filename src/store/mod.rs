//! SQL, per aggregate. Functions take a connection and return rows; rules live in domain/.

pub mod api_clients;
pub mod apply;
pub mod apps;
pub mod audit;
pub mod decisions;
pub mod delegations;
pub mod escalations;
pub mod exports;
pub mod groups;
pub mod history;
pub mod import;
pub mod instances;
pub mod locks;
pub mod outbox;
pub mod outcomes;
pub mod reassignments;
pub mod remediation;
pub mod results;
pub mod reviews;
pub mod roles;
pub mod scim;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod sign_ins;
pub mod sources;
pub mod stages;
pub mod users;

use diesel::QueryResult;
use diesel::sql_types::Text;

use crate::domain::paging::PageAt;
use crate::error::AppError;

pub use crate::db::DbConnection as Conn;

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends.
    fn lower(x: Text) -> Text;
}

/// A `LIKE` pattern matching text that contains `search` (lower-cased), with the
/// wildcards in it escaped by `\`.
pub fn contains_pattern(search: &str) -> String {
    format!("%{}%", escape_like(&search.to_lowercase()))
}

/// `text` with the `LIKE` wildcards escaped by `\`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The position of a page in a list ordered by (name, id): the cursor row's key.
#[derive(Debug, Clone)]
pub enum Keyset {
    /// From the start.
    First,
    /// Rows after (name, id).
    After(String, String),
    /// Rows before (name, id), fetched in descending order.
    Before(String, String),
}

impl Keyset {
    /// Resolves a page position by looking up the sort name of the cursor row.
    pub fn resolve(at: &PageAt, name_of: impl FnOnce(&str) -> QueryResult<Option<String>>) -> Result<Self, AppError> {
        let stale = || AppError::BadRequest("This page link is out of date. Start again from the first page.".into());
        Ok(match at {
            PageAt::First => Self::First,
            PageAt::After(id) => Self::After(name_of(id)?.ok_or_else(stale)?, id.clone()),
            PageAt::Before(id) => Self::Before(name_of(id)?.ok_or_else(stale)?, id.clone()),
        })
    }
}

/// Orders and limits a boxed query for keyset paging on `(name, id)`, fetching one row
/// more than `limit` so the caller knows whether another page exists.
macro_rules! keyset_page {
    ($query:expr, $keyset:expr, $name:expr, $id:expr, $limit:expr) => {{
        use diesel::prelude::*;
        let limit = i64::try_from($limit).unwrap_or(i64::MAX - 1) + 1;
        match $keyset {
            $crate::store::Keyset::First => $query.order(($name.asc(), $id.asc())),
            // `name >= ? AND (name > ? OR id > ?)`: the leading range lets both engines
            // seek the (…, name, id) index to the cursor; a bare OR makes SQLite scan
            // from the start of the list, so deep pages got slower the deeper they were.
            $crate::store::Keyset::After(name, id) => $query
                .filter($name.ge(name.clone()).and($name.gt(name.clone()).or($id.gt(id.clone()))))
                .order(($name.asc(), $id.asc())),
            $crate::store::Keyset::Before(name, id) => $query
                .filter($name.le(name.clone()).and($name.lt(name.clone()).or($id.lt(id.clone()))))
                .order(($name.desc(), $id.desc())),
        }
        .limit(limit)
    }};
}
pub(crate) use keyset_page;

/// Runs `$body` with `$c` bound to the backend's own connection, for the few statements
/// that are faster or only possible per backend.
macro_rules! per_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Pg($c) => $body,
        }
    };
}
pub(crate) use per_backend;

/// Inserts many rows at once: one multi-row `INSERT` on SQLite, binary `COPY` on
/// PostgreSQL (several times faster than `INSERT` there).
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConnection::Pg(c) => diesel::copy_from($table).from_insertable($rows).execute(c),
        }
    };
}
pub(crate) use bulk_insert;

/// Splits `rows` into batches that fit the backend's limit of bound parameters
/// (SQLite 32766, PostgreSQL 65535) for rows of `columns` values.
pub fn batch_size(conn: &Conn, columns: usize) -> usize {
    let max_params = if conn.is_sqlite() { 32_766 } else { 65_535 };
    (max_params / columns.max(1)).max(1)
}

/// Asks the database the smallest question there is (the health check).
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ada"), "%ada%");
        assert_eq!(contains_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
