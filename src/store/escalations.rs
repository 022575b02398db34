//! Escalation: each series' setting, the rounds that ran (once per instance and stage), and
//! who else may decide each escalated item.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::{
    review_decision_items as items, review_definition_escalations as settings, review_escalation_rounds as rounds,
    review_instances, review_item_escalations as escalations,
};
use crate::domain::decision::{Decision, Pool};
use crate::domain::escalation::{Escalation, EscalationTarget};
use crate::domain::review::InstanceStatus;
use crate::store::instances::InstanceRow;

/// A series' escalation, if it escalates.
pub fn of_definition(conn: &mut Conn, definition: &str) -> QueryResult<Option<Escalation>> {
    let row: Option<(i32, EscalationTarget)> =
        settings::table.find(definition).select((settings::days_before, settings::target)).first(conn).optional()?;
    Ok(row.map(|(days, target)| Escalation { days_before: u32::try_from(days).unwrap_or(1), target }))
}

/// Sets (or, with `None`, removes) a series' escalation.
pub fn set(conn: &mut Conn, definition: &str, escalation: Option<Escalation>) -> QueryResult<()> {
    diesel::delete(settings::table.find(definition)).execute(conn)?;
    if let Some(e) = escalation {
        diesel::insert_into(settings::table)
            .values((
                settings::definition_id.eq(definition),
                settings::days_before.eq(i32::try_from(e.days_before).unwrap_or(i32::MAX)),
                settings::target.eq(e.target),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Instances in progress of series that escalate, whose current stage has not escalated
/// yet, with their series' escalation (whether its time has come is the caller's to say).
pub fn pending(conn: &mut Conn) -> QueryResult<Vec<(InstanceRow, Escalation)>> {
    let done = rounds::table
        .filter(rounds::instance_id.eq(review_instances::id))
        .filter(rounds::stage.eq(review_instances::stage));
    let rows: Vec<(InstanceRow, i32, EscalationTarget)> = review_instances::table
        .inner_join(settings::table.on(settings::definition_id.eq(review_instances::definition_id)))
        .filter(review_instances::status.eq(InstanceStatus::InProgress))
        .filter(diesel::dsl::not(diesel::dsl::exists(done)))
        .select((InstanceRow::as_select(), settings::days_before, settings::target))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(i, days, target)| (i, Escalation { days_before: u32::try_from(days).unwrap_or(1), target }))
        .collect())
}

/// Whether `stage` of `instance` has escalated already.
pub fn ran(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(rounds::table.find((instance, stage)))).get_result(conn)
}

/// An item nobody has decided: (item id, principal id, its one reviewer if any, the pool
/// that decides it otherwise).
pub type Unreviewed = (String, String, Option<String>, Pool);

/// The items of `stage` of `instance` nobody has decided.
pub fn unreviewed(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<Vec<Unreviewed>> {
    items::table
        .filter(items::instance_id.eq(instance))
        .filter(items::stage.eq(stage))
        .filter(items::decision.eq(Decision::NotReviewed))
        .select((items::id, items::principal_id, items::reviewer_id, items::reviewer_pool))
        .load(conn)
}

/// Saves who else may decide which item of `stage`: (item id, user id), in batches.
pub fn insert(
    conn: &mut Conn,
    (instance, stage): (&str, i32),
    rows: &[(String, String)],
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let mut written = 0;
    for chunk in rows.chunks(2_000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(item, user)| {
                (
                    escalations::item_id.eq(item),
                    escalations::instance_id.eq(instance),
                    escalations::stage.eq(stage),
                    escalations::user_id.eq(user),
                    escalations::at.eq(at),
                )
            })
            .collect();
        written += per_backend!(conn, c => diesel::insert_into(escalations::table).values(&values).execute(c))?;
    }
    Ok(written)
}

/// Records that `stage` of `instance` escalated `items` items at `at`.
pub fn record_round(conn: &mut Conn, instance: &str, stage: i32, at: NaiveDateTime, items: usize) -> QueryResult<()> {
    diesel::insert_into(rounds::table)
        .values((
            rounds::instance_id.eq(instance),
            rounds::stage.eq(stage),
            rounds::at.eq(at),
            rounds::items.eq(i32::try_from(items).unwrap_or(i32::MAX)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The items of `stage` of `instance` escalated to `user` (an escalation lasts for the
/// stage it was made in).
pub fn items_for(conn: &mut Conn, (instance, stage): (&str, i32), user: &str) -> QueryResult<Vec<String>> {
    escalations::table
        .filter(escalations::user_id.eq(user))
        .filter(escalations::instance_id.eq(instance))
        .filter(escalations::stage.eq(stage))
        .select(escalations::item_id)
        .load(conn)
}

/// The instances with items of their current stage escalated to `user`.
pub fn instances_for(conn: &mut Conn, user: &str) -> QueryResult<Vec<String>> {
    escalations::table
        .inner_join(review_instances::table.on(review_instances::id.eq(escalations::instance_id)))
        .filter(escalations::user_id.eq(user))
        .filter(escalations::stage.eq(review_instances::stage))
        .select(escalations::instance_id)
        .distinct()
        .load(conn)
}
