//! CSV exports: the results of one review, the review-history report across reviews, and
//! the audit log. Each writes to any `Write` as it reads, a row at a time, so the web
//! layer can stream the file while it is produced.

use std::io::Write;

use crate::db::DbConnection;
use crate::domain::export::{HistoryFilter, IsoTime, RESULT_COLUMNS, guard_cell, stage_columns};
use crate::domain::review::ResourceKind;
use crate::error::AppError;
use crate::store;
use crate::store::audit::EventFilter;
use crate::store::exports::{ExportRow, InstanceRange};
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// Size of the CSV writer's buffer: each full buffer becomes one chunk of the response.
pub const CHUNK: usize = 64 * 1024;

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new().buffer_capacity(CHUNK).from_writer(out)
}

fn failed(err: csv::Error) -> AppError {
    AppError::internal(err)
}

/// The cells every row of one review repeats.
struct ReviewCells {
    cells: [Vec<u8>; 8],
}

impl ReviewCells {
    fn new(i: &InstanceRow, d: &DefinitionRow) -> Self {
        let kind = ResourceKind::of_scope(d.scope_kind).report_name();
        Self {
            cells: [
                guard_cell(&i.id).into_owned(),
                guard_cell(&d.id).into_owned(),
                kind.as_bytes().to_vec(),
                guard_cell(&i.resource_name).into_owned(),
                guard_cell(&d.display_name).into_owned(),
                IsoTime::new(i.start_at).as_bytes().to_vec(),
                // A stopped review ended when it was stopped (Entra moves its end too).
                IsoTime::new(crate::domain::occurrence::actual_end(i.end_at, i.completed_at)).as_bytes().to_vec(),
                guard_cell(i.status.as_str()).into_owned(),
            ],
        }
    }
}

fn time_cell(at: Option<chrono::NaiveDateTime>) -> IsoTimeCell {
    IsoTimeCell(at.map(IsoTime::new))
}

/// An optional time as a cell (empty when absent).
struct IsoTimeCell(Option<IsoTime>);

impl AsRef<[u8]> for IsoTimeCell {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], IsoTime::as_bytes)
    }
}

fn write_item<W: Write>(w: &mut csv::Writer<W>, review: &ReviewCells, row: &ExportRow) -> Result<(), csv::Error> {
    write_fields(w, review, row)?;
    w.write_record(None::<&[u8]>)
}

/// The cells of [`RESULT_COLUMNS`] for one item, without ending the record.
fn write_fields<W: Write>(w: &mut csv::Writer<W>, review: &ReviewCells, row: &ExportRow) -> Result<(), csv::Error> {
    let (item, reviewer, applier) = row;
    for cell in &review.cells {
        w.write_field(cell)?;
    }
    w.write_field(guard_cell(&item.principal_id))?;
    w.write_field(guard_cell(&item.principal_name))?;
    w.write_field(guard_cell(&item.principal_upn))?;
    w.write_field(guard_cell(&item.principal_type))?;
    w.write_field(time_cell(item.reviewed_at))?;
    w.write_field(guard_cell(&item.decision))?;
    w.write_field(guard_cell(&item.justification))?;
    w.write_field(guard_cell(item.reviewed_by.as_deref().unwrap_or("")))?;
    let (name, upn) = reviewer.as_ref().map_or(("", ""), |(n, u)| (n.as_str(), u.as_str()));
    w.write_field(guard_cell(name))?;
    w.write_field(guard_cell(upn))?;
    // Applied by a person (their name) or by attest itself (what was recorded).
    w.write_field(guard_cell(applier.as_deref().or(item.applied_by.as_deref()).unwrap_or("")))?;
    w.write_field(time_cell(item.applied_at))?;
    w.write_field(guard_cell(&item.recommendation))?;
    w.write_field(guard_cell(&item.apply_result))
}

/// Writes the decisions of one instance as CSV (header first); returns the rows written.
pub fn results_csv<W: Write>(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    definition: &DefinitionRow,
    out: W,
) -> Result<u64, AppError> {
    let mut w = csv_writer(out);
    let review = ReviewCells::new(instance, definition);
    if instance.stage_count > 1 {
        return staged_results_csv(conn, instance, &review, w);
    }
    w.write_record(RESULT_COLUMNS).map_err(failed)?;
    let mut rows = 0_u64;
    store::exports::each_item(conn, &instance.id, None, |row| {
        rows += 1;
        write_item(&mut w, &review, &row).map_err(failed)
    })?;
    w.flush().map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    Ok(rows)
}

/// Items a multi-stage export reads at a time, with their stage decisions.
const STAGED_PAGE: i64 = 1_000;

/// [`results_csv`] of a multi-stage instance: each row also says what every stage
/// decided, read a page of items at a time so memory stays bounded.
fn staged_results_csv<W: Write>(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    review: &ReviewCells,
    mut w: csv::Writer<W>,
) -> Result<u64, AppError> {
    let stages = instance.stage_count;
    let mut header: Vec<String> = RESULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(stage_columns(stages));
    w.write_record(&header).map_err(failed)?;
    let mut rows = 0_u64;
    let mut after = None;
    loop {
        let page = store::exports::items_page(conn, &instance.id, after.take(), STAGED_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some((last.0.principal_name.clone(), last.0.id.clone()));
        let ids: Vec<String> = page.iter().map(|(item, _, _)| item.id.clone()).collect();
        let kept: std::collections::HashMap<(String, i32), _> =
            store::stages::history(conn, &ids)?.into_iter().map(|k| ((k.item_id.clone(), k.stage), k)).collect();
        let mut deciders: Vec<String> = kept.values().filter_map(|k| k.reviewed_by.clone()).collect();
        deciders.sort();
        deciders.dedup();
        let names = store::users::display_names(conn, &deciders)?;
        for row in &page {
            write_fields(&mut w, review, row).map_err(failed)?;
            for n in 1..=stages {
                let k = kept.get(&(row.0.id.clone(), n));
                let by = k.and_then(|k| k.reviewed_by.as_ref()).and_then(|id| names.get(id)).map_or("", String::as_str);
                w.write_field(k.map_or("", |k| k.decision.as_str())).map_err(failed)?;
                w.write_field(guard_cell(by)).map_err(failed)?;
                w.write_field(time_cell(k.and_then(|k| k.reviewed_at))).map_err(failed)?;
                w.write_field(guard_cell(k.map_or("", |k| k.justification.as_str()))).map_err(failed)?;
            }
            w.write_record(None::<&[u8]>).map_err(failed)?;
            rows += 1;
        }
        if page.len() < usize::try_from(STAGED_PAGE).unwrap_or(usize::MAX) {
            break;
        }
    }
    w.flush().map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    Ok(rows)
}

/// How many instances a history report reads at a time.
const INSTANCE_PAGE: i64 = 200;

/// Writes the review-history report as CSV: the decisions of every instance the filter
/// covers, by instance start, then principal name; returns the rows written.
pub fn history_csv<W: Write>(conn: &mut DbConnection, filter: &HistoryFilter, out: W) -> Result<u64, AppError> {
    let mut w = csv_writer(out);
    w.write_record(RESULT_COLUMNS).map_err(failed)?;
    let range = InstanceRange { from: filter.from_time(), until: filter.until_time(), scopes: filter.scopes() };
    let results = filter.result_names();
    let decisions = (!filter.all_results()).then_some(results.as_slice());
    let mut rows = 0_u64;
    let mut after = None;
    loop {
        let page = store::exports::instances_page(conn, &range, after.as_ref(), INSTANCE_PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some((last.start_at, last.id.clone()));
        for (instance, definition) in &page {
            let review = ReviewCells::new(instance, definition);
            store::exports::each_item(conn, &instance.id, decisions, |row| {
                rows += 1;
                write_item(&mut w, &review, &row).map_err(failed)
            })?;
        }
    }
    w.flush().map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    Ok(rows)
}

/// The matching instances of a history report, up to `limit`, for the page's preview.
pub fn history_preview(
    conn: &mut DbConnection,
    filter: &HistoryFilter,
    limit: i64,
) -> Result<Vec<(InstanceRow, DefinitionRow)>, AppError> {
    let range = InstanceRange { from: filter.from_time(), until: filter.until_time(), scopes: filter.scopes() };
    Ok(store::exports::instances_page(conn, &range, None, limit)?)
}

/// Columns of the audit export.
pub const AUDIT_COLUMNS: [&str; 10] =
    ["Id", "Time", "ActorId", "ActorName", "Action", "TargetType", "TargetId", "Details", "PrevHash", "Hash"];

/// Writes the audit events matching `filter` as CSV, oldest first (the chain's order, so
/// the hashes can be checked from the file); returns the rows written.
pub fn audit_csv<W: Write>(conn: &mut DbConnection, filter: &EventFilter, out: W) -> Result<u64, AppError> {
    let mut w = csv_writer(out);
    w.write_record(AUDIT_COLUMNS).map_err(failed)?;
    let mut after = 0_i64;
    let mut rows = 0_u64;
    loop {
        let chunk = store::audit::chunk_after(conn, filter, after, 2_000)?;
        let Some(last) = chunk.last() else { break };
        after = last.id;
        for e in &chunk {
            w.write_field(e.id.to_string()).map_err(failed)?;
            w.write_field(IsoTime::new(e.at).as_bytes()).map_err(failed)?;
            w.write_field(guard_cell(e.actor_id.as_deref().unwrap_or(""))).map_err(failed)?;
            w.write_field(guard_cell(&e.actor_name)).map_err(failed)?;
            w.write_field(guard_cell(&e.action)).map_err(failed)?;
            w.write_field(guard_cell(&e.target_type)).map_err(failed)?;
            w.write_field(guard_cell(&e.target_id)).map_err(failed)?;
            w.write_field(guard_cell(&e.details)).map_err(failed)?;
            w.write_field(&e.prev_hash).map_err(failed)?;
            w.write_field(&e.hash).map_err(failed)?;
            w.write_record(None::<&[u8]>).map_err(failed)?;
            rows += 1;
        }
    }
    w.flush().map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    Ok(rows)
}
