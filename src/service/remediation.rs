//! Remediation tasks: the removals a review decided that their source must make (SCIM,
//! CSV), as the results page lists them and as a CSV to hand over; the days after which an
//! open task is overdue; and which items of a review page no longer exist.

use std::collections::HashMap;
use std::io::Write;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::directory::AccessPath;
use crate::domain::export::{IsoTime, REMEDIATION_COLUMNS, guard_cell};
use crate::domain::paging::{Page, PageAt};
use crate::domain::source::{self, SourceKind, TaskState};
use crate::error::AppError;
use crate::store::instances::InstanceRow;
use crate::store::remediation::{TaskCounts, TaskRow};
use crate::store::{self, Keyset};

/// How many tasks one page (or one read of the CSV) holds.
pub const TASK_PAGE: usize = 50;

/// A task as the pages and the CSV show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The decision item.
    pub item_id: String,
    /// Whose access.
    pub principal_name: String,
    pub principal_upn: String,
    /// How they held it when the review started.
    pub access_path: String,
    /// Where to remove it: the source's name.
    pub source: String,
    /// Open, overdue or removed at source.
    pub state: TaskState,
    /// When applying made the task.
    pub created_at: NaiveDateTime,
    /// When a write of the source showed the access gone (for a source attest writes to,
    /// LDAP: when the read-back after attest's removal verified it).
    pub removed_at_source_at: Option<NaiveDateTime>,
    /// Whether attest removed the access in the source itself (LDAP) rather than leaving
    /// it to be removed there.
    pub removed_by_attest: bool,
    /// When a later sync saw the access granted again after its removal.
    pub regranted_at: Option<NaiveDateTime>,
    /// The decision, who made it, when and why.
    pub decision: &'static str,
    pub reviewer: String,
    pub decided_at: Option<NaiveDateTime>,
    pub reason: String,
}

/// One page of an instance's tasks, with the counts of all of them.
#[derive(Debug, Clone)]
pub struct Tasks {
    /// The page.
    pub page: Page<Task>,
    /// How many there are, by state.
    pub counts: TaskCounts,
    /// The days after which an open task is overdue.
    pub days: i64,
}

/// Turns stored tasks into what the pages show: source and reviewer names in two small
/// lookups for the whole page.
fn describe(conn: &mut DbConnection, rows: Vec<TaskRow>, now: NaiveDateTime, days: i64) -> Result<Vec<Task>, AppError> {
    let sources: HashMap<String, (String, SourceKind)> =
        store::sources::list(conn)?.into_iter().map(|s| (s.id, (s.name, s.kind))).collect();
    let mut ids: Vec<String> = rows.iter().filter_map(|r| r.reviewed_by.clone()).collect();
    ids.sort();
    ids.dedup();
    let names = store::users::display_names(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| Task {
            state: TaskState::of(r.created_at, r.removed_at_source_at, now, days),
            removed_by_attest: sources.get(&r.source_id).is_some_and(|(_, kind)| kind.writes_back()),
            source: sources.get(&r.source_id).map(|(name, _)| name.clone()).unwrap_or(r.source_id),
            regranted_at: r.regranted_at,
            reviewer: r.reviewed_by.as_ref().and_then(|id| names.get(id).cloned()).unwrap_or_default(),
            decision: r.decision.label(),
            item_id: r.item_id,
            principal_name: r.principal_name,
            principal_upn: r.principal_upn,
            access_path: r.access_path,
            created_at: r.created_at,
            removed_at_source_at: r.removed_at_source_at,
            decided_at: r.reviewed_at,
            reason: r.justification,
        })
        .collect())
}

/// A page of the remediation tasks of `instance` (already checked to be one the caller
/// manages), by person, with the counts of all of them.
pub fn tasks(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    at: &PageAt,
    limit: usize,
    now: NaiveDateTime,
) -> Result<Tasks, AppError> {
    let days = super::onboarding::remediation_days(conn)?;
    let counts = store::remediation::counts(conn, &instance.id, source::overdue_since(now, days))?;
    if counts.all == 0 {
        return Ok(Tasks { page: Page { items: Vec::new(), next: None, prev: None }, counts, days });
    }
    let keyset = Keyset::resolve(at, |id| store::decisions::name_of(conn, &instance.id, id))?;
    let rows = store::remediation::page(conn, &instance.id, &keyset, limit)?;
    let page = Page::from_rows(rows, at, limit, |r| r.item_id.clone());
    let items = describe(conn, page.items, now, days)?;
    Ok(Tasks { page: Page { items, next: page.next, prev: page.prev }, counts, days })
}

/// A page of the remediation tasks of occurrence `instance` of series `definition`, if
/// `manager` may manage it (else 404).
pub fn managed_tasks(
    conn: &mut DbConnection,
    manager: &crate::domain::review::ReviewScope,
    definition: &str,
    instance: &str,
    at: &PageAt,
    now: NaiveDateTime,
) -> Result<(crate::store::reviews::DefinitionRow, InstanceRow, Tasks), AppError> {
    let (d, i) = super::results::managed_instance(conn, manager, definition, instance)?;
    let tasks = tasks(conn, &i, at, TASK_PAGE, now)?;
    Ok((d, i, tasks))
}

fn time_cell(at: Option<NaiveDateTime>) -> Vec<u8> {
    at.map(|t| IsoTime::new(t).as_bytes().to_vec()).unwrap_or_default()
}

/// Writes the tasks of `instance` as CSV (header first), one row per removal to make
/// where, reading a page at a time; returns the rows written.
pub fn csv<W: Write>(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    now: NaiveDateTime,
    out: W,
) -> Result<u64, AppError> {
    let failed = |e: csv::Error| AppError::internal(e);
    let days = super::onboarding::remediation_days(conn)?;
    let mut w = csv::WriterBuilder::new().buffer_capacity(super::exports::CHUNK).from_writer(out);
    w.write_record(REMEDIATION_COLUMNS).map_err(failed)?;
    let kind = instance.resource_type.as_str();
    let mut keyset = Keyset::First;
    let mut rows = 0_u64;
    loop {
        let mut page = store::remediation::page(conn, &instance.id, &keyset, TASK_PAGE)?;
        let more = page.len() > TASK_PAGE;
        page.truncate(TASK_PAGE);
        let Some(last) = page.last() else { break };
        keyset = Keyset::After(last.principal_name.clone(), last.item_id.clone());
        for t in describe(conn, page, now, days)? {
            w.write_field(guard_cell(&t.source)).map_err(failed)?;
            w.write_field(kind).map_err(failed)?;
            w.write_field(guard_cell(&instance.resource_name)).map_err(failed)?;
            w.write_field(guard_cell(&t.principal_upn)).map_err(failed)?;
            w.write_field(guard_cell(&t.principal_name)).map_err(failed)?;
            w.write_field(guard_cell(&t.access_path)).map_err(failed)?;
            w.write_field(t.decision).map_err(failed)?;
            w.write_field(guard_cell(&t.reviewer)).map_err(failed)?;
            w.write_field(time_cell(t.decided_at)).map_err(failed)?;
            w.write_field(guard_cell(&t.reason)).map_err(failed)?;
            w.write_field(t.state.label()).map_err(failed)?;
            w.write_field(time_cell(t.removed_at_source_at)).map_err(failed)?;
            w.write_field(time_cell(t.regranted_at)).map_err(failed)?;
            w.write_record(None::<&[u8]>).map_err(failed)?;
            rows += 1;
        }
        if !more {
            break;
        }
    }
    w.flush().map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    Ok(rows)
}

/// Of the items on a review page, those whose access no longer exists in the directory
/// (deleted by its source while the review runs, or since), each with the name of the
/// source that owns the resource when it still exists ("" otherwise). Items whose denial
/// attest applied are left out: their access is gone as intended. A fixed number of
/// queries for the whole page.
pub fn gone(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    items: &[(String, bool)],
) -> Result<HashMap<String, String>, AppError> {
    let ids: Vec<String> = items.iter().filter(|(_, remediated)| !remediated).map(|(id, _)| id.clone()).collect();
    let direct = AccessPath::Direct.describe();
    let missing = store::remediation::missing(conn, instance.resource_type, &instance.resource_id, &ids, &direct)?;
    if missing.is_empty() {
        return Ok(HashMap::new());
    }
    let source = match store::remediation::resource_source(conn, instance.resource_type, &instance.resource_id)? {
        Some(id) => store::sources::get(conn, &id)?.map(|s| s.name).unwrap_or_default(),
        None => String::new(),
    };
    Ok(missing.into_iter().map(|id| (id, source.clone())).collect())
}
