//! The scheduler: on each tick, starts the instances whose occurrence has come (with the
//! population, reviewers and recommendations snapshotted), and completes the instances
//! whose end has come (applying the default decision to items nobody reviewed), then
//! applies results: it finishes applies that were interrupted, applies completed instances
//! of series with auto-apply on, and deletes the blocked guests whose 30 days have passed;
//! last it runs the reminder rounds that are due.
//!
//! It is idempotent: a unique key on (series, occurrence, resource) and a lock per series
//! mean the same tick twice, or two attest processes on one PostgreSQL, never create an
//! instance twice. Catch-up after downtime: see [`Schedule::due`] — occurrences whose whole
//! window passed are skipped (and audited as skipped), never started late in a burst.

mod start;

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;

use crate::clock::SharedClock;
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;
use crate::store::users::UserRow;

pub use start::start_due;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Instances started.
    pub started: usize,
    /// Instances completed.
    pub completed: usize,
    /// Instances whose results were applied (auto-apply, or an interrupted apply finished).
    pub applied: usize,
    /// Blocked guests deleted.
    pub guests_deleted: usize,
}

/// Runs one tick: start what is due, complete what has ended, apply what is to be applied,
/// remind who is late.
pub fn tick(conn: &mut DbConnection, now: NaiveDateTime) -> Result<TickReport, AppError> {
    let started = start_due(conn, now)?;
    let completed = complete_ended(conn, now)?;
    let (applied, guests_deleted) = apply_results(conn, now)?;
    crate::service::notify::remind_due(conn, now)?;
    Ok(TickReport { started, completed, applied, guests_deleted })
}

/// Applies what is to be applied (see the module's doc); returns (instances applied,
/// guests deleted). An instance that cannot be applied is logged and tried again on the
/// next tick, without holding up the others or the guest deletions.
fn apply_results(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(usize, usize), AppError> {
    let mut applied = 0;
    for instance in store::apply::to_apply(conn)? {
        match crate::service::apply::apply(conn, &instance, None, now) {
            Ok(Ok(_)) => applied += 1,
            Ok(Err(refused)) => tracing::warn!(instance = %instance, reason = %refused.0, "results not applied"),
            Err(err) => tracing::error!(instance = %instance, error = %err, "applying results failed"),
        }
    }
    Ok((applied, crate::service::apply::delete_due_guests(conn, now)?))
}

/// Takes the series' lock for the rest of the transaction: on PostgreSQL an advisory
/// lock; on SQLite a write, which takes the database's single write lock before any read.
fn lock_series(conn: &mut DbConnection, definition: &str) -> Result<(), AppError> {
    if conn.is_sqlite() {
        store::reviews::touch(conn, definition)?;
    } else {
        // The first 60 bits of the series' UUID make a stable lock key.
        let hex: String = definition.chars().filter(char::is_ascii_hexdigit).take(15).collect();
        let key = i64::from_str_radix(&hex, 16).unwrap_or(0);
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))?;
    }
    Ok(())
}

/// Completes every instance whose end has come; returns how many.
pub fn complete_ended(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut done = 0;
    for instance in store::instances::ending(conn, now)? {
        let Some(definition) = store::reviews::get(conn, &instance.definition_id)? else { continue };
        done += usize::from(complete_instance(conn, &instance, &definition, None, now)?);
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
    actor: Option<&UserRow>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    conn.write(|conn| {
        lock_series(conn, &definition.id)?;
        if store::instances::get(conn, &instance.id)?.is_none_or(|i| i.status != "InProgress") {
            return Ok::<_, AppError>(false);
        }
        let reason = match actor {
            None => "No response by the end of the review: the default decision was applied",
            Some(_) => "No response before the review was stopped: the default decision was applied",
        };
        let changed = match definition.default_decision.as_str() {
            "Approve" => store::instances::decide_not_reviewed(conn, &instance.id, None, "Approve", reason, now)?,
            "Deny" => store::instances::decide_not_reviewed(conn, &instance.id, None, "Deny", reason, now)?,
            "Recommendation" => {
                store::instances::decide_not_reviewed(conn, &instance.id, Some("Approve"), "Approve", reason, now)?
                    + store::instances::decide_not_reviewed(conn, &instance.id, Some("Deny"), "Deny", reason, now)?
            }
            _ => 0,
        };
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
        let event = match actor {
            None => NewEvent::by_system(now, "ReviewEnded", target, details),
            Some(user) => NewEvent::by_user(user, now, "ReviewStopped", target, details),
        };
        store::audit::append(conn, &event)?;
        crate::service::notify::instance_completed(conn, definition, &instance.id, now)?;
        if definition.next_start_at.is_none() && !store::instances::any_in_progress(conn, &definition.id)? {
            store::reviews::set_status(conn, &definition.id, "Completed", now)?;
        }
        Ok(true)
    })
}

/// Appends an audit event caused by the scheduler.
fn audit(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    action: &str,
    target_type: &str,
    target_id: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    store::audit::append(conn, &NewEvent::by_system(now, action, (target_type, target_id), details))?;
    Ok(())
}

/// Runs the scheduler in the background of the server, every `interval`.
pub fn spawn(pool: Pool, clock: SharedClock, interval: Duration) {
    actix_web::rt::spawn(async move {
        let mut timer = actix_web::rt::time::interval(interval);
        loop {
            timer.tick().await;
            let pool = pool.clone();
            let now = clock.now();
            let result = actix_web::web::block(move || -> Result<TickReport, AppError> {
                let mut conn = pool.get()?;
                tick(&mut conn, now)
            })
            .await;
            match result {
                Ok(Ok(report)) if report != TickReport::default() => {
                    tracing::info!(
                        started = report.started,
                        completed = report.completed,
                        applied = report.applied,
                        guests_deleted = report.guests_deleted,
                        "scheduler tick"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "scheduler tick failed"),
                Err(err) => tracing::error!(error = %err, "scheduler tick could not run"),
            }
        }
    });
}
