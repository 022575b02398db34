//! Reads for the CSV exports: decision items with their reviewer, one row at a time
//! (`load_iter`), so an export of any size holds one row in memory, never the list.

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;

use super::Conn;
use crate::db::DbConnection;
use crate::db::schema::{review_decision_items as items, review_definitions, review_instances, users};
use crate::domain::review::ScopeKind;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// A decision item as the export writes it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct ExportItem {
    pub id: String,
    pub principal_id: String,
    pub principal_name: String,
    pub principal_upn: String,
    pub principal_type: String,
    pub reviewed_at: Option<NaiveDateTime>,
    pub decision: String,
    pub justification: String,
    pub reviewed_by: Option<String>,
    pub applied_by: Option<String>,
    pub applied_at: Option<NaiveDateTime>,
    pub recommendation: String,
    pub apply_result: String,
}

/// An item with the name and UPN of who decided it and the name of who applied it.
pub type ExportRow = (ExportItem, Option<(String, String)>, Option<String>);

diesel::alias!(users as reviewer: ReviewerAlias, users as applier: ApplierAlias);

/// The items of one instance with their reviewer and applier, ordered by principal name:
/// the (instance_id, principal_name, id) index serves it without a sort.
macro_rules! items_query {
    ($filter:expr) => {
        items::table
            .left_join(reviewer.on(items::reviewed_by.eq(reviewer.field(users::id).nullable())))
            .left_join(applier.on(items::applied_by.eq(applier.field(users::id).nullable())))
            .filter($filter)
            .order((items::principal_name, items::id))
            .select((
                ExportItem::as_select(),
                (reviewer.field(users::display_name), reviewer.field(users::upn)).nullable(),
                applier.field(users::display_name).nullable(),
            ))
    };
}

/// Runs `$query` row by row, calling `$each` on every row. On PostgreSQL the row-by-row
/// mode streams from the server instead of buffering the whole result in libpq first
/// (faster for big exports, and bounded in memory).
macro_rules! for_each_row {
    ($conn:expr, $query:expr, $each:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => {
                for row in $query.load_iter::<ExportRow, DefaultLoadingMode>(c)? {
                    $each(row?)?;
                }
            }
            DbConnection::Pg(c) => {
                for row in $query.load_iter::<ExportRow, PgRowByRowLoadingMode>(c)? {
                    $each(row?)?;
                }
            }
        }
    };
}

/// Calls `each` on every item of `instance` (with one of `decisions`, when given), in
/// principal-name order, without holding more than one row.
pub fn each_item<E>(
    conn: &mut Conn,
    instance: &str,
    decisions: Option<&[&str]>,
    mut each: impl FnMut(ExportRow) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<diesel::result::Error>,
{
    match decisions {
        None => for_each_row!(conn, items_query!(items::instance_id.eq(instance)), each),
        Some(decisions) => for_each_row!(
            conn,
            items_query!(items::instance_id.eq(instance).and(items::decision.eq_any(decisions))),
            each
        ),
    }
    Ok(())
}

/// A page of the items of `instance` after `after` (principal name, id), in the order of
/// [`each_item`]: multi-stage exports read each page's stage decisions beside it.
pub fn items_page(
    conn: &mut Conn,
    instance: &str,
    after: Option<(String, String)>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let here = items::instance_id.eq(instance.to_owned());
    match after {
        None => items_query!(here).limit(limit).load(conn),
        Some((name, id)) => {
            // The leading range lets SQLite seek the (instance, name, id) index (see keyset_page).
            let later = items::principal_name.ge(name.clone()).and(items::principal_name.gt(name).or(items::id.gt(id)));
            items_query!(here.and(later)).limit(limit).load(conn)
        }
    }
}

/// Which instances a review-history report covers.
#[derive(Debug, Clone)]
pub struct InstanceRange {
    /// Instances still running at or after this time (a stopped one ran until its stop).
    pub from: Option<NaiveDateTime>,
    /// Instances started before this time.
    pub until: Option<NaiveDateTime>,
    /// Series with one of these scopes.
    pub scopes: Vec<ScopeKind>,
}

/// A page of the instances (with their series) a report covers, by start time then id,
/// after `after`: reports go through them a page at a time.
pub fn instances_page(
    conn: &mut Conn,
    range: &InstanceRange,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(InstanceRow, DefinitionRow)>> {
    let mut q = review_instances::table
        .inner_join(review_definitions::table)
        .filter(review_definitions::scope_kind.eq_any(range.scopes.clone()))
        .into_boxed::<crate::db::MultiBackend>();
    if let Some(from) = range.from {
        // Still running at `from`: its end, or its stop when it was stopped earlier, is on
        // or after it (the actual end is the earlier of the two).
        q = q
            .filter(review_instances::end_at.ge(from))
            .filter(review_instances::completed_at.is_null().or(review_instances::completed_at.ge(from)));
    }
    if let Some(until) = range.until {
        q = q.filter(review_instances::start_at.lt(until));
    }
    if let Some((start, id)) = after {
        q = q.filter(
            review_instances::start_at
                .ge(*start)
                .and(review_instances::start_at.gt(*start).or(review_instances::id.gt(id.clone()))),
        );
    }
    q.order((review_instances::start_at, review_instances::id))
        .limit(limit)
        .select((InstanceRow::as_select(), DefinitionRow::as_select()))
        .load(conn)
}
