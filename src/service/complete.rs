//! Completing instances: at their end (the scheduler) or stopped early by an admin. The
//! series' default decision goes to the items nobody reviewed, in one transaction.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::review::DefinitionStatus;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// Completes every instance whose end has come; returns how many.
pub fn complete_ended(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut done = 0;
    for instance in store::instances::ending(conn, now)? {
        let Some(definition) = store::reviews::get(conn, &instance.definition_id)? else { continue };
        done += usize::from(complete_instance(conn, &instance, &definition, Actor::Scheduler, now)?);
    }
    Ok(done)
}

/// Ends an instance now: at its end by the scheduler (`actor` None), or stopped early by an
/// admin. The series' default decision goes to the items nobody reviewed, the counters are
/// recounted, and the end is audited, in one transaction. Returns false when the instance
/// was no longer in progress (another process or a second click got there first); a
/// completed instance never runs again.
pub fn complete_instance(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    definition: &DefinitionRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    conn.write(|conn| {
        store::locks::lock_definition(conn, &definition.id)?;
        store::locks::lock_instance(conn, &instance.id)?;
        let Some(fresh) = store::instances::get(conn, &instance.id)?.filter(|i| i.status.is_open()) else {
            return Ok::<_, AppError>(false);
        };
        if fresh.stage_count > 1 {
            // The last stage's decisions are kept as its own, before the default decision.
            store::stages::keep_decisions(conn, &fresh.id, fresh.stage)?;
            store::stages::end_last(conn, &fresh.id, fresh.stage, now)?;
        }
        let reason = match actor {
            Actor::Scheduler => "No response by the end of the review: the default decision was applied",
            _ => "No response before the review was stopped: the default decision was applied",
        };
        let mut changed = 0;
        for (recommendation, decision) in definition.default_decision.assignments() {
            changed +=
                store::instances::decide_not_reviewed(conn, &instance.id, *recommendation, *decision, reason, now)?;
        }
        store::instances::recount(conn, &instance.id)?;
        store::instances::complete(conn, &instance.id, now)?;
        let details = serde_json::json!({
            "definitionId": definition.id,
            "resource": instance.resource_name,
            "defaultDecision": definition.default_decision,
            "defaultDecisionsApplied": changed,
            "autoApply": definition.auto_apply,
        });
        let target = ("AccessReviewInstance", instance.id.as_str());
        let action = if matches!(actor, Actor::Scheduler) { "ReviewEnded" } else { "ReviewStopped" };
        let event = actor.event(now, action, target, details);
        store::audit::append(conn, &event)?;
        crate::service::notify::instance_completed(conn, definition, &instance.id, now)?;
        if definition.next_start_at.is_none() && !store::instances::any_in_progress(conn, &definition.id)? {
            store::reviews::set_status(conn, &definition.id, DefinitionStatus::Completed, now)?;
        }
        Ok(true)
    })
}
