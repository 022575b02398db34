//! The reassignment history of decision items: who handed an item to whom, when and why.
//! The item's `reviewer_id` says who decides it now ([`super::decisions::move_items`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::{review_decision_items as items, review_reassignments as reassignments};

/// One reassignment of one item, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reassignments)]
pub struct ReassignmentRow {
    /// In the order they were made (times can be equal).
    pub id: i64,
    pub item_id: String,
    pub instance_id: String,
    /// Who had it (`None`: the pool of the item decided it).
    pub from_user: Option<String>,
    pub to_user: String,
    pub note: String,
    pub by_user: String,
    pub at: NaiveDateTime,
}

/// A reassignment to save.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = reassignments)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewReassignment {
    pub item_id: String,
    pub instance_id: String,
    pub from_user: Option<String>,
    pub to_user: String,
    pub note: String,
    pub by_user: String,
    pub at: NaiveDateTime,
}

/// Saves reassignments (in the transaction that moves the items), in statements of a size
/// both backends accept.
pub fn insert(conn: &mut Conn, rows: &[NewReassignment]) -> QueryResult<usize> {
    let mut written = 0;
    // Seven columns a row: 100 rows stay far below SQLite's bound-parameter limit.
    for chunk in rows.chunks(100) {
        written += per_backend!(conn, c => diesel::insert_into(reassignments::table).values(chunk).execute(c))?;
    }
    Ok(written)
}

/// The reassignments of one item, oldest first, at most `limit`.
pub fn for_item(conn: &mut Conn, item: &str, limit: i64) -> QueryResult<Vec<ReassignmentRow>> {
    reassignments::table
        .filter(reassignments::item_id.eq(item))
        .order(reassignments::id)
        .limit(limit)
        .select(ReassignmentRow::as_select())
        .load(conn)
}

/// Reassignments of items `user` had: by name, or (when they took an item from a pool) as the
/// one who reassigned it. (A macro: the expression's type differs with the query it joins.)
macro_rules! handed_on_by {
    ($user:expr) => {
        reassignments::from_user
            .eq($user.to_owned())
            .or(reassignments::by_user.eq($user.to_owned()).and(reassignments::from_user.is_null()))
    };
}

/// The items of `instance` that `user` handed on, or that were taken from them (newest
/// first, at most `limit`), with the name of the person whose access each is.
pub fn from_user(
    conn: &mut Conn,
    instance: &str,
    user: &str,
    limit: i64,
) -> QueryResult<Vec<(ReassignmentRow, String)>> {
    reassignments::table
        .inner_join(items::table)
        .filter(handed_on_by!(user))
        .filter(reassignments::instance_id.eq(instance))
        .order(reassignments::id.desc())
        .limit(limit)
        .select((ReassignmentRow::as_select(), items::principal_name))
        .load(conn)
}

/// Whether `user` handed on items of `instance`, or had items taken from them (they still
/// see the review, and whom the items went to).
pub fn any_from(conn: &mut Conn, instance: &str, user: &str) -> QueryResult<bool> {
    let found: Option<i64> = reassignments::table
        .filter(handed_on_by!(user))
        .filter(reassignments::instance_id.eq(instance))
        .select(reassignments::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The instances in which `user` handed on items, or had items taken from them.
pub fn instances_from(conn: &mut Conn, user: &str) -> QueryResult<Vec<String>> {
    reassignments::table.filter(handed_on_by!(user)).select(reassignments::instance_id).distinct().load(conn)
}
