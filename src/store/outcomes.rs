//! Outcome rules of a series' stages, and each reviewer's vote on an item where a rule
//! other than "the last decision wins" counts them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::{review_definition_outcomes as outcomes, review_instances, review_item_votes as votes};
use crate::domain::decision::Decision;
use crate::domain::outcome::{OutcomeRule, Vote};

/// Saves a series' rules by stage, replacing what it had; the default rule is kept by
/// having no row.
pub fn set(conn: &mut Conn, definition: &str, rules: &[(i32, OutcomeRule)]) -> QueryResult<()> {
    diesel::delete(outcomes::table.filter(outcomes::definition_id.eq(definition))).execute(conn)?;
    let rows: Vec<_> = rules
        .iter()
        .filter(|(_, r)| *r != OutcomeRule::default())
        .map(|(stage, rule)| {
            (outcomes::definition_id.eq(definition), outcomes::stage.eq(*stage), outcomes::rule.eq(*rule))
        })
        .collect();
    if !rows.is_empty() {
        per_backend!(conn, c => diesel::insert_into(outcomes::table).values(&rows).execute(c))?;
    }
    Ok(())
}

/// A series' rules other than the default, by stage.
pub fn of_definition(conn: &mut Conn, definition: &str) -> QueryResult<Vec<(i32, OutcomeRule)>> {
    outcomes::table
        .filter(outcomes::definition_id.eq(definition))
        .order(outcomes::stage)
        .select((outcomes::stage, outcomes::rule))
        .load(conn)
}

/// The rule of a series' stage `stage`.
pub fn rule(conn: &mut Conn, definition: &str, stage: i32) -> QueryResult<OutcomeRule> {
    Ok(outcomes::table.find((definition, stage)).select(outcomes::rule).first(conn).optional()?.unwrap_or_default())
}

/// Fixes the rule of the stage `instance` has just entered.
pub fn set_instance_rule(conn: &mut Conn, instance: &str, rule: OutcomeRule) -> QueryResult<()> {
    diesel::update(review_instances::table.find(instance))
        .set(review_instances::outcome_rule.eq(rule))
        .execute(conn)?;
    Ok(())
}

/// One reviewer's vote to save.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = votes)]
pub struct NewVote<'a> {
    pub item_id: &'a str,
    pub stage: i32,
    pub seat: &'a str,
    pub instance_id: &'a str,
    pub decision: Decision,
    pub justification: &'a str,
    pub decided_by: &'a str,
    pub decided_at: NaiveDateTime,
}

/// Saves the votes of one reviewer (`seat`) in `stage`, each replacing their earlier vote
/// on the item. (Replaced by a delete and a batch insert: SQLite has no batch upsert in
/// diesel, and one reviewer's votes of one request are one seat's.)
pub fn record(conn: &mut Conn, stage: i32, seat: &str, rows: &[NewVote<'_>]) -> QueryResult<()> {
    // Eight values a row: 100 rows stay far below SQLite's bound-parameter limit.
    for chunk in rows.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(|v| v.item_id).collect();
        diesel::delete(
            votes::table.filter(votes::stage.eq(stage)).filter(votes::seat.eq(seat)).filter(votes::item_id.eq_any(ids)),
        )
        .execute(conn)?;
        per_backend!(conn, c => diesel::insert_into(votes::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// A vote as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = votes)]
pub struct VoteRow {
    pub item_id: String,
    pub stage: i32,
    pub seat: String,
    pub decision: Decision,
    pub justification: String,
    pub decided_by: String,
    pub decided_at: NaiveDateTime,
}

impl VoteRow {
    /// The vote as the rules weigh it.
    pub fn vote(&self) -> Vote {
        Vote { seat: self.seat.clone(), decision: self.decision, at: self.decided_at }
    }
}

/// The votes on these items (of `stage`, or of every stage), oldest first.
pub fn of_items(conn: &mut Conn, items: &[String], stage: Option<i32>) -> QueryResult<Vec<VoteRow>> {
    let mut out = Vec::new();
    for chunk in items.chunks(5_000) {
        let mut q = votes::table.filter(votes::item_id.eq_any(chunk)).into_boxed::<crate::db::MultiBackend>();
        if let Some(stage) = stage {
            q = q.filter(votes::stage.eq(stage));
        }
        out.extend(q.order((votes::decided_at, votes::seat)).select(VoteRow::as_select()).load(conn)?);
    }
    Ok(out)
}
