//! What admins (and owners who manage a review) do with an occurrence from its results
//! page: stop it early, or reset its decisions while it runs; and how far each of its
//! reviewers got.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::progress::{ReviewerProgress, Sharing, per_reviewer};
use crate::domain::review::ReviewerKind;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::panel::Refused;
use crate::store;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// The occurrence `instance` of the series `definition` (already checked to be one the
/// caller manages), or 404.
pub fn instance(conn: &mut DbConnection, definition: &DefinitionRow, instance: &str) -> Result<InstanceRow, AppError> {
    store::instances::get(conn, instance)?
        .filter(|i| i.definition_id == definition.id)
        .ok_or_else(|| AppError::NotFound("This review has no such occurrence. Go back to the review's page.".into()))
}

/// The series `definition` and its occurrence `instance`, if `manager` may manage them
/// (else 404).
pub fn managed_instance(
    conn: &mut DbConnection,
    manager: &crate::domain::review::ReviewScope,
    definition: &str,
    instance: &str,
) -> Result<(DefinitionRow, InstanceRow), AppError> {
    let d = super::reviews::managed(conn, manager, definition)?;
    let i = self::instance(conn, &d, instance)?;
    Ok((d, i))
}

fn refuse_unless_running(instance: &InstanceRow, what: &str) -> Result<(), Refused> {
    if instance.status.is_open() {
        Ok(())
    } else {
        Err(Refused(format!("This review has already ended, so it cannot be {what}. Its decisions are final.")))
    }
}

/// Stops a running occurrence now: the default decision goes to the people nobody
/// reviewed, and it can never be restarted.
pub fn stop(
    conn: &mut DbConnection,
    definition: &DefinitionRow,
    instance: &InstanceRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    if let Err(refused) = refuse_unless_running(instance, "stopped") {
        return Ok(Err(refused));
    }
    if !crate::service::complete::complete_instance(conn, instance, definition, actor, now)? {
        return Ok(Err(Refused("This review had already ended meanwhile. Its decisions are final.".into())));
    }
    if definition.auto_apply {
        // Auto-apply runs as soon as the review ends, as at its scheduled end; a refusal
        // cannot happen for a review that just completed.
        let _ = crate::service::apply::apply(conn, &instance.id, actor, now)?;
    }
    Ok(Ok(()))
}

/// What ending the current stage did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageEnded {
    /// The stage ended and the next began with this many people.
    Next {
        /// The stage that ended.
        ended: i32,
        /// How many people moved on.
        moved: i32,
    },
    /// Nobody moved on, or it was the last stage: the review ended.
    ReviewEnded,
}

/// Ends the current stage of a running multi-stage occurrence now ("End stage N now"):
/// its decisions are kept, the people whose decision moves on go to the next stage, which
/// starts now and keeps its planned end. On the last stage it stops the review.
pub fn stop_stage(
    conn: &mut DbConnection,
    definition: &DefinitionRow,
    instance: &InstanceRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<Result<StageEnded, Refused>, AppError> {
    if let Err(refused) = refuse_unless_running(instance, "moved on to its next stage") {
        return Ok(Err(refused));
    }
    if instance.stage >= instance.stage_count {
        return Ok(stop(conn, definition, instance, actor, now)?.map(|()| StageEnded::ReviewEnded));
    }
    if !crate::service::stages::advance(conn, instance, definition, actor, now)? {
        return Ok(Err(Refused(
            "This stage had already ended meanwhile. Reload the page to see where it stands.".into(),
        )));
    }
    let fresh = store::instances::get(conn, &instance.id)?;
    match fresh {
        Some(i) if i.status.is_open() => {
            let moved = store::stages::get(conn, &i.id, i.stage)?.map_or(0, |s| s.items);
            Ok(Ok(StageEnded::Next { ended: instance.stage, moved }))
        }
        _ => Ok(Ok(StageEnded::ReviewEnded)),
    }
}

/// Puts every decision of a running occurrence back to not reviewed, so reviewers start
/// over; the audit trail keeps the decisions that were made. Returns how many were reset.
pub fn reset(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<Result<usize, Refused>, AppError> {
    if let Err(refused) = refuse_unless_running(instance, "reset") {
        return Ok(Err(refused));
    }
    conn.write(|conn| {
        // Re-read inside the transaction, under the instance's lock: the scheduler may have
        // completed it or moved its stage on meanwhile.
        store::locks::lock_instance(conn, &instance.id)?;
        let Some(fresh) = store::instances::get(conn, &instance.id)?.filter(|i| i.status.is_open()) else {
            return Ok(Err(Refused("This review has already ended, so it cannot be reset.".into())));
        };
        // Earlier stages' final decisions stay: only the current stage starts over.
        let reset = store::instances::reset_decisions(conn, &instance.id, fresh.stage)?;
        store::instances::recount(conn, &instance.id)?;
        store::audit::append(
            conn,
            &actor.event(
                now,
                "ResetDecisions",
                ("AccessReviewInstance", &instance.id),
                serde_json::json!({ "resource": instance.resource_name, "decisionsReset": reset }),
            ),
        )?;
        Ok(Ok(reset))
    })
}

/// A reviewer's progress as the results page lists it.
#[derive(Debug, Clone)]
pub struct ReviewerRow {
    /// Their progress.
    pub progress: ReviewerProgress,
    /// Their name ("" when the account was deleted since).
    pub name: String,
    /// Their user principal name.
    pub upn: String,
}

/// Each reviewer's progress in an occurrence — those who have not started first — or
/// `None` for a self-review, where everyone reviews only themselves and the people list
/// says it all. Three reads whatever the number of reviewers (the snapshot, an index-only
/// count, the decided items), plus their names.
pub fn reviewer_progress(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    definition: &DefinitionRow,
) -> Result<Option<Vec<ReviewerRow>>, AppError> {
    // In a multi-stage review: the current stage's reviewers, over its items.
    let kind = super::panel::current_stage(conn, instance)?.map_or(definition.reviewer_kind, |s| s.reviewer_kind);
    let sharing = match kind {
        ReviewerKind::Self_ => return Ok(None),
        ReviewerKind::Managers => Sharing::PerItem,
        ReviewerKind::Owners | ReviewerKind::Selected => Sharing::Shared,
    };
    let reviewers = store::results::reviewers(conn, &instance.id)?;
    let assigned = store::results::assigned(conn, &instance.id, instance.stage)?;
    let deciders = store::results::deciders(conn, &instance.id, instance.stage)?;
    let mut ids: Vec<String> = reviewers.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(assigned.iter().filter_map(|a| a.reviewer.clone()));
    ids.sort();
    ids.dedup();
    let mut people: HashMap<String, (String, String)> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        for u in store::users::refs(conn, chunk)? {
            people.insert(u.id, (u.display_name, u.upn));
        }
    }
    let name = |id: &str| people.get(id).map(|(n, _)| n.clone()).unwrap_or_default();
    let rows = per_reviewer(sharing, &reviewers, &assigned, &deciders, name);
    Ok(Some(
        rows.into_iter()
            .map(|progress| {
                let (name, upn) = people.get(&progress.id).cloned().unwrap_or_default();
                ReviewerRow { progress, name, upn }
            })
            .collect(),
    ))
}

/// Everything an occurrence's results page shows besides its table of items.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The occurrence as its results page sees it: every item.
    pub access: super::panel::Access,
    /// How many denials could not be removed (counted once applying has begun).
    pub not_applied: i64,
    /// The reviewers mails went to, at most `contacted_limit`.
    pub contacted: Vec<super::notify::ContactedReviewer>,
    /// Each reviewer's progress (`None` for a self-review).
    pub reviewers: Option<Vec<ReviewerRow>>,
    /// The first remediation tasks (removals a push source must make), with the counts.
    pub remediation: super::remediation::Tasks,
}

/// The results of occurrence `instance` of series `definition`, if `manager` may manage
/// it (else 404).
pub fn overview(
    conn: &mut DbConnection,
    manager: &crate::domain::review::ReviewScope,
    definition: &str,
    instance: &str,
    contacted_limit: i64,
    tasks_shown: usize,
    now: NaiveDateTime,
) -> Result<Overview, AppError> {
    let (d, i) = managed_instance(conn, manager, definition, instance)?;
    let reviewers = reviewer_progress(conn, &i, &d)?;
    // Counted only once applying has begun: until then nothing can have failed.
    let not_applied = if i.status.apply_began() {
        store::apply::denied_results(conn, &i.id)?
            .into_iter()
            .filter(|(result, _)| result.needs_attention())
            .map(|(_, n)| n)
            .sum()
    } else {
        0
    };
    let contacted = super::notify::contacted_reviewers(conn, &i.id, None, contacted_limit)?;
    let remediation = super::remediation::tasks(conn, &i, &crate::domain::paging::PageAt::First, tasks_shown, now)?;
    let access = super::panel::Access::read_all(conn, i, d)?;
    Ok(Overview { access, not_applied, contacted, reviewers, remediation })
}
