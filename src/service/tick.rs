//! Everything that is due at a moment, in order: sync the LDAP connections whose interval
//! has passed, start the occurrences that have come, complete the instances whose end has
//! come, apply results, remind late reviewers. The
//! scheduler runs it on its timer; the demo runs it once after creating its reviews.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::service;

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
    /// LDAP connections synced.
    pub synced: usize,
}

/// Runs one tick at `now`: start what is due, complete what has ended, apply what is to be
/// applied, remind who is late.
pub fn tick(conn: &mut DbConnection, now: NaiveDateTime) -> Result<TickReport, AppError> {
    // First, so that occurrences start on a fresh copy of the directory.
    let synced = service::ldap::sync_due(conn, now)?;
    let started = service::start::start_due(conn, now)?;
    // Stages move on before instances complete: a last stage ends with its instance.
    service::stages::advance_ended(conn, now)?;
    service::escalation::escalate_due(conn, now)?;
    let completed = service::complete::complete_ended(conn, now)?;
    let (applied, guests_deleted) = service::apply::apply_due(conn, now)?;
    service::notify::remind_due(conn, now)?;
    Ok(TickReport { started, completed, applied, guests_deleted, synced })
}
