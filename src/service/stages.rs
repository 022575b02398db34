//! Moving multi-stage instances from one stage to the next: at a stage's end (the
//! scheduler) or when an admin stops the current stage early. The stage's decisions are
//! kept; the items whose decision moves on go to the next stage's reviewers, not reviewed
//! again; the rest keep their decision as final. All of it in one transaction, audited,
//! with the next stage's reviewers told by mail.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::decision::Pool;
use crate::domain::population::{Reviewers, routing};
use crate::domain::review::{ResourceKind, ReviewerKind};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// Moves on every instance whose current stage (not its last) has reached its end;
/// returns how many moved on.
pub fn advance_ended(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut done = 0;
    for instance in store::stages::ending(conn, now)? {
        let Some(definition) = store::reviews::get(conn, &instance.definition_id)? else { continue };
        let mut current = instance;
        // After downtime a whole stage may have passed: move on until the stage in progress
        // is one whose end is still ahead (the last one ends with its instance).
        while advance(conn, &current, &definition, Actor::Scheduler, now)? {
            done += 1;
            let Some(next) = store::instances::get(conn, &current.id)? else { break };
            let passed = next.status.is_open()
                && next.stage < next.stage_count
                && store::stages::get(conn, &next.id, next.stage)?.is_some_and(|s| s.end_at <= now);
            if !passed {
                break;
            }
            current = next;
        }
    }
    Ok(done)
}

/// Ends the current stage of `instance` now and starts the next: by the scheduler at the
/// stage's end, or by an admin early ("Stop current stage"). When nothing moves on, the
/// later stages have nothing to review and the instance completes. Returns false when the
/// instance was no longer in the stage it was read in.
pub fn advance(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    definition: &DefinitionRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    conn.write(|conn| {
        store::locks::lock_definition(conn, &definition.id)?;
        // After the decisions in flight: what the stage keeps and moves on is read after them.
        store::locks::lock_instance(conn, &instance.id)?;
        let Some(fresh) = store::instances::get(conn, &instance.id)? else { return Ok::<_, AppError>(false) };
        if !fresh.status.is_open() || fresh.stage != instance.stage || fresh.stage >= fresh.stage_count {
            return Ok(false);
        }
        let stage = fresh.stage;
        let (Some(this), Some(next)) =
            (store::stages::get(conn, &fresh.id, stage)?, store::stages::get(conn, &fresh.id, stage + 1)?)
        else {
            return Ok(false);
        };
        let kept = store::stages::keep_decisions(conn, &fresh.id, stage)?;
        let moving = store::stages::moving(conn, &fresh.id, stage, &this.moves())?;
        let mut details = serde_json::json!({
            "definitionId": definition.id,
            "resource": fresh.resource_name,
            "stage": stage,
            "stages": fresh.stage_count,
            "decisionsKept": kept,
            "movedToNextStage": moving.len(),
            "decisionsThatMove": this.moves().label(),
            "early": now < this.end_at,
        });
        let target = ("AccessReviewInstance", fresh.id.as_str());
        if moving.is_empty() {
            // The later stages would have nothing to review: the instance completes in this
            // stage, in the same transaction (a savepoint).
            store::audit::append(conn, &actor.event(now, "ReviewStageEnded", target, details))?;
            crate::service::complete::complete_instance(conn, &fresh, definition, actor, now)?;
            return Ok(true);
        }

        // Who decides each moving item in the next stage, routed as at a start: nobody
        // decides their own access, the rest goes to the fallbacks, then the admins.
        let principals: Vec<String> = moving.iter().map(|(_, p)| p.clone()).collect();
        let managers = if next.reviewer_kind == ReviewerKind::Managers {
            store::users::managers_of(conn, &principals)?
        } else {
            HashMap::new()
        };
        let owners: Vec<String> = match (next.reviewer_kind, fresh.resource_type) {
            (ReviewerKind::Owners, ResourceKind::Group) => store::groups::owners(conn, &fresh.resource_id, 1_000)?,
            (ReviewerKind::Owners, ResourceKind::Application) => store::apps::owners(conn, &fresh.resource_id, 1_000)?,
            _ => Vec::new(),
        }
        .into_iter()
        .map(|u| u.id)
        .collect();
        let named = store::stages::stage_reviewers(conn, &definition.id, next.stage)?;
        let selected: Vec<String> = named.iter().filter(|(_, f)| !f).map(|(u, _)| u.id.clone()).collect();
        let fallbacks: Vec<String> = named.iter().filter(|(_, f)| *f).map(|(u, _)| u.id.clone()).collect();
        let keys: Vec<(&str, Option<&str>)> =
            moving.iter().map(|(_, p)| (p.as_str(), managers.get(p).and_then(|m| m.as_deref()))).collect();
        let routed = routing(
            next.reviewer_kind,
            &Reviewers { owners: &owners, selected: &selected, fallbacks: &fallbacks },
            &keys,
        );

        let mut by_route: BTreeMap<(Option<String>, Pool), Vec<String>> = BTreeMap::new();
        for ((item, _), route) in moving.iter().zip(routed.routes) {
            by_route.entry(route).or_default().push(item.clone());
        }
        let to_admins = by_route.get(&(None, Pool::Admins)).map_or(0, Vec::len);
        for ((reviewer, pool), ids) in &by_route {
            store::stages::move_items(conn, ids, next.stage, reviewer.as_deref(), *pool)?;
        }
        store::stages::replace_reviewers(conn, &fresh.id, &routed.reviewers)?;
        store::stages::advance(conn, &fresh.id, stage, count(moving.len()), count(to_admins), now)?;
        // The next stage counts its reviewers' decisions by its own rule.
        let rule = store::outcomes::rule(conn, &definition.id, next.stage)?;
        store::outcomes::set_instance_rule(conn, &fresh.id, rule)?;
        store::instances::recount(conn, &fresh.id)?;

        details["nextStageReviewers"] = serde_json::json!(routed.reviewers.len());
        details["routedToAdmins"] = serde_json::json!(to_admins);
        store::audit::append(conn, &actor.event(now, "ReviewStageEnded", target, details))?;
        if let Some(moved_on) = store::instances::get(conn, &fresh.id)? {
            crate::service::notify::instance_started(conn, definition, &moved_on, now)?;
        }
        Ok(true)
    })
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
