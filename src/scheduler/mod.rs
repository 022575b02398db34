//! The scheduler: a timer. On each tick it runs [`crate::service::tick::tick`], which starts
//! the instances whose occurrence has come (with the population, reviewers and
//! recommendations snapshotted), completes the instances whose end has come (applying the
//! default decision to items nobody reviewed), then applies results — it finishes applies
//! that were interrupted, applies completed instances of series with auto-apply on, and
//! deletes the blocked guests whose 30 days have passed — and last runs the reminder
//! rounds that are due.
//!
//! It is idempotent: a unique key on (series, occurrence, resource) and a lock per series
//! mean the same tick twice, or two attest processes on one PostgreSQL, never create an
//! instance twice. Catch-up after downtime: see [`crate::domain::recurrence::Schedule::due`]
//! — occurrences whose whole window passed are skipped (and audited as skipped), never
//! started late in a burst.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::clock::SharedClock;
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::service;

pub use crate::service::tick::TickReport;

/// Runs one tick at `now` (what the timer does each time; tests call it with a fixed clock).
pub fn tick(conn: &mut DbConnection, now: NaiveDateTime) -> Result<TickReport, AppError> {
    service::tick::tick(conn, now)
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
                        synced = report.synced,
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
