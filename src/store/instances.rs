//! Review instances, their reviewer snapshots and decision items.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, batch_size, bulk_insert, per_backend};
use crate::db::schema::{
    review_decision_items, review_definitions, review_instance_reviewers, review_instances, users,
};
use crate::domain::apply::ApplyResult;
use crate::domain::decision::{Decision, Pool};
use crate::domain::directory::UserType;
use crate::domain::recommendation::Recommendation;
use crate::domain::review::{InstanceStatus, ResourceKind};
use crate::store::reviews::DefinitionRow;

/// An instance as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = review_instances)]
#[diesel(treat_none_as_default_value = false)]
pub struct InstanceRow {
    pub id: String,
    pub definition_id: String,
    pub occurrence: i32,
    pub resource_type: ResourceKind,
    pub resource_id: String,
    pub resource_name: String,
    pub resource_scope: Option<String>,
    pub start_at: NaiveDateTime,
    pub end_at: NaiveDateTime,
    pub status: InstanceStatus,
    pub total_items: i32,
    pub not_reviewed: i32,
    pub approved: i32,
    pub denied: i32,
    pub dont_know: i32,
    pub recommended_deny: i32,
    pub created_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    /// Approving needs a reason (fixed when the instance started).
    pub justification_required: bool,
    /// Items not reviewed yet recommended for approval (what accepting would approve).
    pub pending_approve: i32,
    /// Items not reviewed yet recommended for denial.
    pub pending_deny: i32,
    /// Items routed to the portal admins at start (a reviewer's own access, no other
    /// fallback reviewer).
    pub routed_to_admins: i32,
    /// The stage it is in (1 for a one-stage instance).
    pub stage: i32,
    /// How many stages it has.
    pub stage_count: i32,
    /// How several reviewers' decisions on one item count in the stage it is in.
    pub outcome_rule: crate::domain::outcome::OutcomeRule,
}

/// A decision item as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = review_decision_items)]
#[diesel(treat_none_as_default_value = false)]
pub struct ItemRow {
    pub id: String,
    pub instance_id: String,
    pub principal_id: String,
    pub principal_name: String,
    pub principal_upn: String,
    pub principal_type: UserType,
    pub access_path: String,
    pub access_direct: bool,
    pub access_detail: String,
    pub reviewer_id: Option<String>,
    pub last_sign_in: Option<NaiveDateTime>,
    pub recommendation: Recommendation,
    pub recommendation_reason: String,
    pub decision: Decision,
    pub justification: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub apply_result: ApplyResult,
    pub apply_detail: String,
    pub applied_by: Option<String>,
    pub applied_at: Option<NaiveDateTime>,
    /// Who decides it when `reviewer_id` is empty ([`crate::domain::decision::Pool`]).
    pub reviewer_pool: Pool,
    /// The principal's job title, department and manager's name at start ("" if none).
    pub principal_job_title: String,
    pub principal_department: String,
    pub principal_manager: String,
    /// The stage it was last open in: an item whose decision did not move on stays in the
    /// stage that decided it.
    pub stage: i32,
    /// The reviewer a delegate decided for (never set at start: not inserted).
    #[diesel(skip_insertion)]
    pub reviewed_for: Option<String>,
}

impl ItemRow {
    /// How many values a row binds.
    pub const COLUMNS: usize = 26;
}

/// Saves an instance.
pub fn insert(conn: &mut Conn, row: &InstanceRow) -> QueryResult<()> {
    per_backend!(conn, c => diesel::insert_into(review_instances::table).values(row).execute(c))?;
    Ok(())
}

/// Whether the instance of this occurrence and resource exists already.
pub fn exists(
    conn: &mut Conn,
    definition: &str,
    occurrence: i32,
    resource_type: ResourceKind,
    resource_id: &str,
) -> QueryResult<bool> {
    let found: Option<String> = review_instances::table
        .filter(review_instances::definition_id.eq(definition))
        .filter(review_instances::occurrence.eq(occurrence))
        .filter(review_instances::resource_type.eq(resource_type))
        .filter(review_instances::resource_id.eq(resource_id))
        .select(review_instances::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Snapshots the instance's reviewers.
pub fn insert_reviewers(conn: &mut Conn, instance: &str, reviewers: &[(String, bool)]) -> QueryResult<usize> {
    let rows: Vec<_> = reviewers
        .iter()
        .map(|(user, fallback)| {
            (
                review_instance_reviewers::instance_id.eq(instance),
                review_instance_reviewers::user_id.eq(user),
                review_instance_reviewers::fallback.eq(fallback),
            )
        })
        .collect();
    per_backend!(conn, c => diesel::insert_into(review_instance_reviewers::table).values(&rows).execute(c))
}

/// Saves decision items: one `COPY` on PostgreSQL; on SQLite, statements of as many rows
/// as its limit of bound parameters allows.
pub fn insert_items(conn: &mut Conn, rows: &[ItemRow]) -> QueryResult<usize> {
    let batch = if conn.is_sqlite() { batch_size(conn, ItemRow::COLUMNS) } else { rows.len().max(1) };
    let mut written = 0;
    for chunk in rows.chunks(batch) {
        written += bulk_insert!(conn, review_decision_items::table, chunk)?;
    }
    Ok(written)
}

/// Refreshes PostgreSQL's statistics of the decision items (after a bulk start, so the
/// planner sees the new rows); nothing on SQLite, whose planner does without them. Only
/// the columns the review pages filter and sort on: all 25 took about twice as long, and
/// no plan looks at the long texts (paths, reasons).
pub fn analyze_items(conn: &mut Conn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        crate::db::DbConnection::Pg(c) => c.batch_execute(
            "ANALYZE review_decision_items (instance_id, principal_id, principal_name, reviewer_id, \
             reviewer_pool, decision, recommendation)",
        ),
        crate::db::DbConnection::Sqlite(_) => Ok(()),
    }
}

/// The instances of a series, newest occurrence first, then by resource name.
pub fn for_definition(conn: &mut Conn, definition: &str, limit: i64) -> QueryResult<Vec<InstanceRow>> {
    review_instances::table
        .filter(review_instances::definition_id.eq(definition))
        .order((review_instances::occurrence.desc(), review_instances::resource_name))
        .limit(limit)
        .select(InstanceRow::as_select())
        .load(conn)
}

/// Instances in progress whose end has come.
pub fn ending(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<Vec<InstanceRow>> {
    review_instances::table
        .filter(review_instances::status.eq(InstanceStatus::InProgress))
        .filter(review_instances::end_at.le(now))
        .select(InstanceRow::as_select())
        .load(conn)
}

/// Whether a series still has instances in progress.
pub fn any_in_progress(conn: &mut Conn, definition: &str) -> QueryResult<bool> {
    let found: Option<String> = review_instances::table
        .filter(review_instances::definition_id.eq(definition))
        .filter(review_instances::status.eq(InstanceStatus::InProgress))
        .select(review_instances::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Sets `decision` on the not-reviewed items of an instance (optionally only those with
/// `recommendation`); returns how many changed.
pub fn decide_not_reviewed(
    conn: &mut Conn,
    instance: &str,
    recommendation: Option<Recommendation>,
    decision: Decision,
    justification: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let targets = review_decision_items::table
        .filter(review_decision_items::instance_id.eq(instance))
        .filter(review_decision_items::decision.eq(Decision::NotReviewed));
    let set = (
        review_decision_items::decision.eq(decision),
        review_decision_items::justification.eq(justification),
        review_decision_items::reviewed_at.eq(Some(now)),
    );
    match recommendation {
        Some(r) => diesel::update(targets.filter(review_decision_items::recommendation.eq(r))).set(set).execute(conn),
        None => diesel::update(targets).set(set).execute(conn),
    }
}

/// Recounts an instance's counters from its items (at completion and reset; pages read
/// counters).
pub fn recount(conn: &mut Conn, instance: &str) -> QueryResult<()> {
    let rows: Vec<(Decision, Recommendation, i64)> = review_decision_items::table
        .filter(review_decision_items::instance_id.eq(instance))
        .group_by((review_decision_items::decision, review_decision_items::recommendation))
        .select((review_decision_items::decision, review_decision_items::recommendation, diesel::dsl::count_star()))
        .load(conn)?;
    let sum = |keep: &dyn Fn(Decision, Recommendation) -> bool| {
        let n: i64 = rows.iter().filter(|(d, r, _)| keep(*d, *r)).map(|(_, _, n)| n).sum();
        i32::try_from(n).unwrap_or(i32::MAX)
    };
    diesel::update(review_instances::table.find(instance))
        .set((
            review_instances::not_reviewed.eq(sum(&|d, _| d == Decision::NotReviewed)),
            review_instances::approved.eq(sum(&|d, _| d == Decision::Approve)),
            review_instances::denied.eq(sum(&|d, _| d == Decision::Deny)),
            review_instances::dont_know.eq(sum(&|d, _| d == Decision::DontKnow)),
            review_instances::pending_approve
                .eq(sum(&|d, r| d == Decision::NotReviewed && r == Recommendation::Approve)),
            review_instances::pending_deny.eq(sum(&|d, r| d == Decision::NotReviewed && r == Recommendation::Deny)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Puts every decided item of an instance in `stage` back to not reviewed (decision, reason, reviewer
/// and time cleared); returns how many changed. The audit trail keeps what they were.
pub fn reset_decisions(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<usize> {
    diesel::update(
        review_decision_items::table
            .filter(review_decision_items::instance_id.eq(instance))
            .filter(review_decision_items::stage.eq(stage))
            .filter(review_decision_items::decision.ne(Decision::NotReviewed)),
    )
    .set((
        review_decision_items::decision.eq(Decision::NotReviewed),
        review_decision_items::justification.eq(""),
        review_decision_items::reviewed_by.eq(None::<String>),
        review_decision_items::reviewed_for.eq(None::<String>),
        review_decision_items::reviewed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

/// Marks an instance completed.
pub fn complete(conn: &mut Conn, instance: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(review_instances::table.find(instance))
        .set((review_instances::status.eq(InstanceStatus::Completed), review_instances::completed_at.eq(Some(now))))
        .execute(conn)?;
    Ok(())
}

/// The display names of an instance's snapshotted reviewers other than `except`, by name,
/// each with whether they are a fallback reviewer.
pub fn other_reviewer_names(conn: &mut Conn, instance: &str, except: &str) -> QueryResult<Vec<(String, bool)>> {
    review_instance_reviewers::table
        .inner_join(users::table)
        .filter(review_instance_reviewers::instance_id.eq(instance))
        .filter(review_instance_reviewers::user_id.ne(except))
        .order((users::display_name, users::id))
        .select((users::display_name, review_instance_reviewers::fallback))
        .load(conn)
}

/// An instance's items, by principal name (for tests and small pages).
pub fn items(conn: &mut Conn, instance: &str, limit: i64) -> QueryResult<Vec<ItemRow>> {
    review_decision_items::table
        .filter(review_decision_items::instance_id.eq(instance))
        .order((review_decision_items::principal_name, review_decision_items::id))
        .limit(limit)
        .select(ItemRow::as_select())
        .load(conn)
}

/// The current occurrence of a series: its instances in progress taken together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentInstance {
    /// The series.
    pub definition_id: String,
    /// How many instances (one per resource) are in progress.
    pub instances: i64,
    /// The one instance, when there is only one (its results page).
    pub instance_id: Option<String>,
    /// When the first of them ends.
    pub due: NaiveDateTime,
    /// Items decided, over all of them.
    pub reviewed: i64,
    /// Items, over all of them.
    pub total: i64,
}

/// The occurrence in progress of each of `definitions` that has one, in one grouped query.
pub fn current(conn: &mut Conn, definitions: &[String]) -> QueryResult<Vec<CurrentInstance>> {
    use diesel::dsl::{count_star, min, sum};
    type Row = (String, i64, Option<String>, Option<NaiveDateTime>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = review_instances::table
        .filter(review_instances::definition_id.eq_any(definitions))
        .filter(review_instances::status.eq(InstanceStatus::InProgress))
        .group_by(review_instances::definition_id)
        .select((
            review_instances::definition_id,
            count_star(),
            min(review_instances::id),
            min(review_instances::end_at),
            sum(review_instances::total_items - review_instances::not_reviewed),
            sum(review_instances::total_items),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(definition_id, instances, first, due, reviewed, total)| {
            Some(CurrentInstance {
                definition_id,
                instance_id: if instances == 1 { first } else { None },
                instances,
                due: due?,
                reviewed: reviewed.unwrap_or(0),
                total: total.unwrap_or(0),
            })
        })
        .collect())
}

/// An instance by id.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<InstanceRow>> {
    review_instances::table.find(id).select(InstanceRow::as_select()).first(conn).optional()
}

/// An instance with its series, in one query.
pub fn get_with_definition(conn: &mut Conn, id: &str) -> QueryResult<Option<(InstanceRow, DefinitionRow)>> {
    review_instances::table
        .inner_join(review_definitions::table)
        .filter(review_instances::id.eq(id))
        .select((InstanceRow::as_select(), DefinitionRow::as_select()))
        .first(conn)
        .optional()
}

/// Instances by id with their series, in one query (any order).
pub fn with_definitions(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<(InstanceRow, DefinitionRow)>> {
    review_instances::table
        .inner_join(review_definitions::table)
        .filter(review_instances::id.eq_any(ids))
        .select((InstanceRow::as_select(), DefinitionRow::as_select()))
        .load(conn)
}

/// The instances `user` reviews as a whole-instance reviewer: (instance, fallback).
pub fn reviewing(conn: &mut Conn, user: &str) -> QueryResult<Vec<(String, bool)>> {
    review_instance_reviewers::table
        .filter(review_instance_reviewers::user_id.eq(user))
        .select((review_instance_reviewers::instance_id, review_instance_reviewers::fallback))
        .load(conn)
}

/// Whether `user` is a snapshotted reviewer of `instance`, and if so whether a fallback.
pub fn reviewer_role(conn: &mut Conn, instance: &str, user: &str) -> QueryResult<Option<bool>> {
    review_instance_reviewers::table
        .find((instance, user))
        .select(review_instance_reviewers::fallback)
        .first(conn)
        .optional()
}

/// Whether `instance` has an item assigned to `user` (manager and self reviews) in the
/// stage it is in.
pub fn has_assigned(conn: &mut Conn, instance: &str, user: &str) -> QueryResult<bool> {
    let current = review_instances::table.find(instance).select(review_instances::stage).single_value();
    let found: Option<String> = review_decision_items::table
        .filter(review_decision_items::reviewer_id.eq(user))
        .filter(review_decision_items::instance_id.eq(instance))
        .filter(review_decision_items::stage.nullable().eq(current))
        .select(review_decision_items::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Whether `instance` has reviewers of its own (owners, selected reviewers) besides its
/// fallback reviewers.
pub fn has_reviewers(conn: &mut Conn, instance: &str) -> QueryResult<bool> {
    let found: Option<String> = review_instance_reviewers::table
        .filter(review_instance_reviewers::instance_id.eq(instance))
        .filter(review_instance_reviewers::fallback.eq(false))
        .select(review_instance_reviewers::user_id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Whether `instance` has an item assigned to nobody in particular in its current stage, of
/// `pool`, whose principal is not `user` (by the tally index).
pub fn has_pool_item_for(conn: &mut Conn, instance: &str, pool: &str, user: &str) -> QueryResult<bool> {
    let current = review_instances::table.find(instance).select(review_instances::stage).single_value();
    let found: Option<String> = review_decision_items::table
        .filter(review_decision_items::instance_id.eq(instance))
        .filter(review_decision_items::stage.nullable().eq(current))
        .filter(review_decision_items::reviewer_id.is_null())
        .filter(review_decision_items::reviewer_pool.eq(pool))
        .filter(review_decision_items::principal_id.ne(user))
        .select(review_decision_items::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The instances with items routed to the portal admins at start.
pub fn with_admin_items(conn: &mut Conn) -> QueryResult<Vec<String>> {
    review_instances::table.filter(review_instances::routed_to_admins.gt(0)).select(review_instances::id).load(conn)
}

/// The snapshotted reviewers of `instance`'s current stage in the reviewers' pool
/// (`fallback` false) or the fallback reviewers' (true).
pub fn pool_members(conn: &mut Conn, instance: &str, fallback: bool) -> QueryResult<Vec<String>> {
    review_instance_reviewers::table
        .filter(review_instance_reviewers::instance_id.eq(instance))
        .filter(review_instance_reviewers::fallback.eq(fallback))
        .select(review_instance_reviewers::user_id)
        .load(conn)
}
