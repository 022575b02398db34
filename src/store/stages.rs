//! The stages of multi-stage series and instances: each series' stage settings and later
//! stages' reviewers, each instance's stage windows, the items that move on when a stage
//! ends, and each stage's decisions kept when it ends.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::{
    review_decision_items as items, review_definition_stage_reviewers as stage_reviewers,
    review_definition_stages as definition_stages, review_instance_reviewers,
    review_instance_stages as instance_stages, review_instances, review_stage_decisions as stage_decisions, users,
};
use crate::domain::decision::{Decision, Pool};
use crate::domain::recommendation::Recommendation;
use crate::domain::review::ReviewerKind;
use crate::domain::stage::{Move, Moves};
use crate::store::instances::InstanceRow;
use crate::store::users::UserRef;

/// A stage of a series, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = definition_stages)]
pub struct DefinitionStageRow {
    pub definition_id: String,
    /// 1, 2 or 3.
    pub stage: i32,
    pub reviewer_kind: ReviewerKind,
    pub duration_days: i32,
    /// [`Moves::to_stored`].
    pub moves: String,
    pub recommendations_enabled: bool,
    /// Its reviewers see earlier stages' decisions.
    pub decision_histories: bool,
}

/// A stage of an instance, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = instance_stages)]
#[diesel(treat_none_as_default_value = false)]
pub struct InstanceStageRow {
    pub instance_id: String,
    /// 1, 2 or 3.
    pub stage: i32,
    pub reviewer_kind: ReviewerKind,
    /// [`Moves::to_stored`].
    pub moves: String,
    pub recommendations_enabled: bool,
    /// Its reviewers see earlier stages' decisions.
    pub decision_histories: bool,
    /// When it started (or will).
    pub start_at: NaiveDateTime,
    /// When it ends (or ended, as planned).
    pub end_at: NaiveDateTime,
    /// When it actually ended (stopped early, or moved on by the scheduler).
    pub ended_at: Option<NaiveDateTime>,
    /// Items reviewed in it (known from its start).
    pub items: i32,
}

impl InstanceStageRow {
    /// What moves on from it; nothing when the stored set is unreadable (never written so).
    pub fn moves(&self) -> Moves {
        Moves::stored(&self.moves).unwrap_or_default()
    }
}

/// One stage's decision on one item, as kept when the stage ended.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stage_decisions)]
pub struct StageDecisionRow {
    pub item_id: String,
    pub stage: i32,
    pub instance_id: String,
    pub decision: Decision,
    pub justification: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    /// The reviewer a delegate decided for.
    pub reviewed_for: Option<String>,
}

/// Saves a series' stages and its later stages' reviewers: (stage, user id, fallback).
pub fn insert_definition_stages(
    conn: &mut Conn,
    stages: &[DefinitionStageRow],
    reviewers: &[(i32, String, bool)],
    definition: &str,
) -> QueryResult<()> {
    per_backend!(conn, c => diesel::insert_into(definition_stages::table).values(stages).execute(c))?;
    let rows: Vec<_> = reviewers
        .iter()
        .map(|(stage, user, fallback)| {
            (
                stage_reviewers::definition_id.eq(definition),
                stage_reviewers::stage.eq(stage),
                stage_reviewers::user_id.eq(user),
                stage_reviewers::fallback.eq(fallback),
            )
        })
        .collect();
    per_backend!(conn, c => diesel::insert_into(stage_reviewers::table).values(&rows).execute(c))?;
    Ok(())
}

/// Replaces a series' later stages' reviewers (an edit).
pub fn replace_stage_reviewers(
    conn: &mut Conn,
    definition: &str,
    reviewers: &[(i32, String, bool)],
) -> QueryResult<()> {
    diesel::delete(stage_reviewers::table.filter(stage_reviewers::definition_id.eq(definition))).execute(conn)?;
    insert_definition_stages(conn, &[], reviewers, definition)
}

/// Whether stage `stage` of a series shows recommendations (an edit of the series'
/// recommendations).
pub fn set_recommendations(conn: &mut Conn, definition: &str, stage: i32, on: bool) -> QueryResult<()> {
    diesel::update(definition_stages::table.find((definition, stage)))
        .set(definition_stages::recommendations_enabled.eq(on))
        .execute(conn)
        .map(drop)
}

/// A series' stages in order; empty for a one-stage series.
pub fn of_definition(conn: &mut Conn, definition: &str) -> QueryResult<Vec<DefinitionStageRow>> {
    definition_stages::table
        .filter(definition_stages::definition_id.eq(definition))
        .order(definition_stages::stage)
        .select(DefinitionStageRow::as_select())
        .load(conn)
}

/// A later stage's named reviewers (stage 2 or 3): (user, fallback).
pub fn stage_reviewers(conn: &mut Conn, definition: &str, stage: i32) -> QueryResult<Vec<(UserRef, bool)>> {
    stage_reviewers::table
        .inner_join(users::table)
        .filter(stage_reviewers::definition_id.eq(definition))
        .filter(stage_reviewers::stage.eq(stage))
        .order(users::display_name)
        .select((UserRef::as_select(), stage_reviewers::fallback))
        .load(conn)
}

/// Saves an instance's planned stages.
pub fn insert_instance_stages(conn: &mut Conn, rows: &[InstanceStageRow]) -> QueryResult<()> {
    per_backend!(conn, c => diesel::insert_into(instance_stages::table).values(rows).execute(c))?;
    Ok(())
}

/// An instance's stages in order; empty for a one-stage instance.
pub fn of_instance(conn: &mut Conn, instance: &str) -> QueryResult<Vec<InstanceStageRow>> {
    instance_stages::table
        .filter(instance_stages::instance_id.eq(instance))
        .order(instance_stages::stage)
        .select(InstanceStageRow::as_select())
        .load(conn)
}

/// One stage of an instance.
pub fn get(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<Option<InstanceStageRow>> {
    instance_stages::table.find((instance, stage)).select(InstanceStageRow::as_select()).first(conn).optional()
}

/// Instances in progress whose current stage, not their last, has reached its end.
pub fn ending(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<Vec<InstanceRow>> {
    review_instances::table
        .inner_join(
            instance_stages::table.on(instance_stages::instance_id
                .eq(review_instances::id)
                .and(instance_stages::stage.eq(review_instances::stage))),
        )
        .filter(review_instances::status.eq(crate::domain::review::InstanceStatus::InProgress))
        .filter(review_instances::stage.lt(review_instances::stage_count))
        .filter(instance_stages::end_at.le(now))
        .select(InstanceRow::as_select())
        .load(conn)
}

/// Keeps the decisions of an instance's items in `stage` as that stage's; returns how many.
pub fn keep_decisions(conn: &mut Conn, instance: &str, stage: i32) -> QueryResult<usize> {
    let decided = items::table.filter(items::instance_id.eq(instance)).filter(items::stage.eq(stage)).select((
        items::id,
        items::stage,
        items::instance_id,
        items::decision,
        items::justification,
        items::reviewed_by,
        items::reviewed_at,
        items::reviewed_for,
    ));
    per_backend!(conn, c => diesel::insert_into(stage_decisions::table)
        .values(decided)
        .into_columns((
            stage_decisions::item_id,
            stage_decisions::stage,
            stage_decisions::instance_id,
            stage_decisions::decision,
            stage_decisions::justification,
            stage_decisions::reviewed_by,
            stage_decisions::reviewed_at,
            stage_decisions::reviewed_for,
        ))
        .on_conflict_do_nothing()
        .execute(c))
}

/// The items of `stage` that move on, by `moves`: (item id, principal id), by name.
pub fn moving(conn: &mut Conn, instance: &str, stage: i32, moves: &Moves) -> QueryResult<Vec<(String, String)>> {
    let decisions = moves.decisions();
    let mut q = items::table
        .filter(items::instance_id.eq(instance))
        .filter(items::stage.eq(stage))
        .into_boxed::<crate::db::MultiBackend>();
    let by_decision = items::decision.eq_any(decisions);
    q = if moves.contains(Move::Recommendation) {
        let approved = items::decision.eq(Decision::Approve).and(items::recommendation.eq(Recommendation::Approve));
        let denied = items::decision.eq(Decision::Deny).and(items::recommendation.eq(Recommendation::Deny));
        q.filter(by_decision.or(approved).or(denied))
    } else {
        q.filter(by_decision)
    };
    q.order((items::principal_name, items::id)).select((items::id, items::principal_id)).load(conn)
}

/// Moves items on to `stage`: not reviewed again, assigned to `reviewer` (or to `pool`).
/// Their recommendation stays (a stage without recommendations only does not show it).
pub fn move_items(
    conn: &mut Conn,
    ids: &[String],
    stage: i32,
    reviewer: Option<&str>,
    pool: Pool,
) -> QueryResult<usize> {
    let mut moved = 0;
    for chunk in ids.chunks(5_000) {
        moved += diesel::update(items::table.filter(items::id.eq_any(chunk)))
            .set((
                items::stage.eq(stage),
                items::decision.eq(Decision::NotReviewed),
                items::justification.eq(""),
                items::reviewed_by.eq(None::<String>),
                items::reviewed_for.eq(None::<String>),
                items::reviewed_at.eq(None::<NaiveDateTime>),
                items::reviewer_id.eq(reviewer),
                items::reviewer_pool.eq(pool),
            ))
            .execute(conn)?;
    }
    Ok(moved)
}

/// Replaces an instance's snapshotted reviewers with a new stage's: (user id, fallback).
pub fn replace_reviewers(conn: &mut Conn, instance: &str, reviewers: &[(String, bool)]) -> QueryResult<()> {
    diesel::delete(review_instance_reviewers::table.filter(review_instance_reviewers::instance_id.eq(instance)))
        .execute(conn)?;
    crate::store::instances::insert_reviewers(conn, instance, reviewers)?;
    Ok(())
}

/// Ends `stage` of an instance at `now` and starts the next with `items` (its planned end
/// kept); the instance is then in the next stage, with `routed_to_admins` items of the
/// admins' pool.
pub fn advance(
    conn: &mut Conn,
    instance: &str,
    stage: i32,
    items_moved: i32,
    routed_to_admins: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(instance_stages::table.find((instance, stage)))
        .set(instance_stages::ended_at.eq(Some(now)))
        .execute(conn)?;
    let next = stage + 1;
    diesel::update(instance_stages::table.find((instance, next)))
        .set((instance_stages::start_at.eq(now), instance_stages::items.eq(items_moved)))
        .execute(conn)?;
    diesel::update(review_instances::table.find(instance))
        .set((review_instances::stage.eq(next), review_instances::routed_to_admins.eq(routed_to_admins)))
        .execute(conn)?;
    Ok(())
}

/// Marks the current stage of an instance ended at `now` (the instance completes).
pub fn end_last(conn: &mut Conn, instance: &str, stage: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(instance_stages::table.find((instance, stage)))
        .set(instance_stages::ended_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// The earlier stages' decisions on these items, by item then stage.
pub fn history(conn: &mut Conn, item_ids: &[String]) -> QueryResult<Vec<StageDecisionRow>> {
    stage_decisions::table
        .filter(stage_decisions::item_id.eq_any(item_ids))
        .order((stage_decisions::item_id, stage_decisions::stage))
        .select(StageDecisionRow::as_select())
        .load(conn)
}

/// Whether `user` had a part in an earlier stage of `instance` (of series `definition`):
/// items were assigned to them, they decided one in an ended stage, or they are a named
/// reviewer of stage 1.
pub fn took_part(conn: &mut Conn, instance: &str, definition: &str, user: &str) -> QueryResult<bool> {
    use crate::db::schema::review_definition_reviewers as named;
    // By the (reviewer_id, instance_id) index; who decided in an ended stage is in its kept
    // decisions.
    let assigned = items::table.filter(items::reviewer_id.eq(user)).filter(items::instance_id.eq(instance));
    if diesel::select(diesel::dsl::exists(assigned)).get_result(conn)? {
        return Ok(true);
    }
    let decided = stage_decisions::table
        .filter(stage_decisions::instance_id.eq(instance))
        .filter(stage_decisions::reviewed_by.eq(user));
    if diesel::select(diesel::dsl::exists(decided)).get_result(conn)? {
        return Ok(true);
    }
    let listed = named::table.filter(named::definition_id.eq(definition)).filter(named::user_id.eq(user));
    diesel::select(diesel::dsl::exists(listed)).get_result(conn)
}
