//! Review-history report definitions asked for through the API (Graph's
//! `accessReviewHistoryDefinition`): what a report covers. The report itself is written
//! when it is downloaded (`service::exports::history_csv`), so nothing else is kept.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, Keyset, keyset_page};
use crate::db::MultiBackend;
use crate::db::schema::review_history_definitions as history;

/// A report definition as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = history)]
pub struct HistoryRow {
    pub id: String,
    pub display_name: String,
    /// The period's start and end as the client sent them (UTC).
    pub period_start: NaiveDateTime,
    pub period_end: NaiveDateTime,
    /// Graph's decision filters, one a line.
    pub decisions: String,
    /// The kinds of resource reported on (their report names), one a line.
    pub kinds: String,
    /// The scopes as sent, a JSON array.
    pub scopes: String,
    pub created_at: NaiveDateTime,
    /// The person's or API client's id.
    pub created_by_id: Option<String>,
    pub created_by_name: String,
    /// The person's UPN (none for an API client).
    pub created_by_upn: Option<String>,
}

/// Records a definition.
pub fn insert(conn: &mut Conn, row: &HistoryRow) -> QueryResult<()> {
    diesel::insert_into(history::table).values(row).execute(conn).map(drop)
}

/// One definition.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<HistoryRow>> {
    history::table.find(id).select(HistoryRow::as_select()).first(conn).optional()
}

/// A page of the definitions by name: up to `limit`, and one more when another page follows.
pub fn page(conn: &mut Conn, keyset: &Keyset, limit: usize) -> QueryResult<Vec<HistoryRow>> {
    let query = history::table.select(HistoryRow::as_select()).into_boxed::<MultiBackend>();
    keyset_page!(query, keyset, history::display_name, history::id, limit).load(conn)
}

/// Deletes a definition; returns whether it existed.
pub fn delete(conn: &mut Conn, id: &str) -> QueryResult<bool> {
    diesel::delete(history::table.find(id)).execute(conn).map(|n| n == 1)
}
