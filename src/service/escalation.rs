//! Escalation: N days before a review (or its current stage) ends, the people nobody has
//! reviewed yet are also given to the manager of their reviewer or to the fallback
//! reviewers, who are mailed; the original reviewer can still decide. Once per instance and
//! stage, in one transaction, audited.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::decision::Pool;
use crate::domain::escalation::{Escalation, EscalationTarget, recipients};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// Escalates every instance whose escalation time has come (and whose current stage has
/// not escalated yet); returns how many escalated.
pub fn escalate_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut done = 0;
    for (instance, plan) in store::escalations::pending(conn)? {
        let end = crate::service::panel::current_stage(conn, &instance)?
            .map_or(instance.end_at, |s| s.end_at.min(instance.end_at));
        match plan.at(end) {
            Some(at) if at <= now && now < end => {}
            _ => continue,
        }
        let Some(definition) = store::reviews::get(conn, &instance.definition_id)? else { continue };
        done += usize::from(escalate(conn, &instance, &definition, plan, now)?);
    }
    Ok(done)
}

/// Escalates the unreviewed items of the current stage of `instance`; false when it had
/// ended, moved on, or escalated meanwhile.
fn escalate(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    definition: &DefinitionRow,
    plan: Escalation,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    conn.write(|conn| {
        store::locks::lock_definition(conn, &definition.id)?;
        store::locks::lock_instance(conn, &instance.id)?;
        let Some(fresh) = store::instances::get(conn, &instance.id)? else { return Ok(false) };
        if !fresh.status.is_open()
            || fresh.stage != instance.stage
            || store::escalations::ran(conn, &fresh.id, fresh.stage)?
        {
            return Ok(false);
        }
        // The fallback reviewers of the stage in progress.
        let named = if fresh.stage > 1 {
            store::stages::stage_reviewers(conn, &definition.id, fresh.stage)?
        } else {
            store::reviews::reviewers(conn, &definition.id)?
        };
        let fallbacks: Vec<String> = named.into_iter().filter(|(_, f)| *f).map(|(u, _)| u.id).collect();
        let unreviewed = store::escalations::unreviewed(conn, &fresh.id, fresh.stage)?;
        let mut reviewers: Vec<String> = unreviewed.iter().filter_map(|(_, _, r, _)| r.clone()).collect();
        reviewers.sort();
        reviewers.dedup();
        let managers = match plan.target {
            EscalationTarget::Managers => store::users::managers_of(conn, &reviewers)?,
            EscalationTarget::Fallback => HashMap::new(),
        };
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut per_person: BTreeMap<String, i64> = BTreeMap::new();
        let mut escalated = 0_usize;
        for (item, principal, reviewer, pool) in &unreviewed {
            // Items the fallback reviewers or the admins decide already have nobody above them.
            if reviewer.is_none() && *pool != Pool::Reviewers {
                continue;
            }
            let manager = reviewer.as_ref().and_then(|r| managers.get(r)).and_then(|m| m.as_deref());
            let to = recipients(plan.target, principal, reviewer.as_deref(), manager, &fallbacks);
            escalated += usize::from(!to.is_empty());
            for person in to {
                *per_person.entry(person.clone()).or_default() += 1;
                rows.push((item.clone(), person));
            }
        }
        store::escalations::insert(conn, (&fresh.id, fresh.stage), &rows, now)?;
        store::escalations::record_round(conn, &fresh.id, fresh.stage, now, escalated)?;
        let details = serde_json::json!({
            "definitionId": definition.id,
            "resource": fresh.resource_name,
            "stage": fresh.stage,
            "escalation": plan.describe(),
            "itemsEscalated": escalated,
            "itemsNotEscalated": unreviewed.len() - escalated,
            "people": per_person.len(),
        });
        let target = ("AccessReviewInstance", fresh.id.as_str());
        store::audit::append(conn, &Actor::Scheduler.event(now, "EscalateDecisionItems", target, details))?;
        crate::service::notify::escalated(conn, definition, &fresh, &per_person, now)?;
        Ok(true)
    })
}
