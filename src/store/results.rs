//! Reads of an occurrence's results page that no other page needs: how far each reviewer
//! got.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Conn;
use crate::db::schema::{review_decision_items as items, review_instance_reviewers};
use crate::domain::decision::{Decision, Pool};
use crate::domain::progress::{Assigned, Decider};

/// The occurrence's items counted by assigned reviewer and decision: read from the
/// (instance, reviewer, decision, …) index alone, without touching the rows.
pub fn assigned(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<Vec<Assigned>> {
    let rows: Vec<(Option<String>, Pool, Decision, i64)> = items::table
        .filter(items::instance_id.eq(instance))
        .filter(items::stage.eq(stage))
        .group_by((items::reviewer_id, items::reviewer_pool, items::decision))
        .select((items::reviewer_id, items::reviewer_pool, items::decision, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        // Unassigned items routed away from the reviewers at start (a reviewer's own access:
        // to the fallbacks, or to the admins when there is none) are not the reviewers' share.
        .map(|(reviewer, pool, decision, items)| Assigned {
            reviewer,
            for_fallbacks: pool != Pool::Reviewers,
            decided: decision != Decision::NotReviewed,
            items,
        })
        .collect())
}

/// Who decided how many of the occurrence's items, and when last: only the decided items
/// are read (through the (instance, decision, …) index).
pub fn deciders(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<Vec<Decider>> {
    let rows: Vec<(Option<String>, i64, Option<NaiveDateTime>)> = items::table
        .filter(items::instance_id.eq(instance))
        .filter(items::stage.eq(stage))
        .filter(items::decision.eq_any([Decision::Approve, Decision::Deny, Decision::DontKnow]))
        .filter(items::reviewed_by.is_not_null())
        .group_by(items::reviewed_by)
        .select((items::reviewed_by, diesel::dsl::count_star(), diesel::dsl::max(items::reviewed_at)))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, decided, last_at)| Some(Decider { id: id?, decided, last_at })).collect())
}

/// The occurrence's reviewers as snapshotted at its start: (user id, fallback).
pub fn reviewers(conn: &mut Conn, instance: &str) -> QueryResult<Vec<(String, bool)>> {
    review_instance_reviewers::table
        .filter(review_instance_reviewers::instance_id.eq(instance))
        .select((review_instance_reviewers::user_id, review_instance_reviewers::fallback))
        .load(conn)
}
