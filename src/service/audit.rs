//! The audit log as admins read it: a page of events with the names of what they are
//! about (resolved for the whole page at once), and the head of the chain.

use std::collections::HashMap;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::store;
use crate::store::audit::{EventCursor, EventFilter, EventRow, NamedObject};

/// One page of the audit log.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// Up to `limit + 1` events (one more tells there is another page), in the cursor's order.
    pub events: Vec<EventRow>,
    /// What the events' targets stand for, by id.
    pub names: HashMap<String, NamedObject>,
    /// The newest event's id and hash.
    pub head: Option<(i64, String)>,
}

/// A page of events matching `filter` from `cursor`, with their names: three queries
/// whatever the page holds (the events, the names of all of them, the chain's head).
pub fn page(
    conn: &mut DbConnection,
    filter: &EventFilter,
    cursor: EventCursor,
    limit: usize,
) -> Result<AuditPage, AppError> {
    let events = store::audit::page(conn, filter, cursor, limit)?;
    let mut ids: Vec<String> = events.iter().map(|e| e.target_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let names = store::audit::named_objects(conn, &ids)?.into_iter().map(|n| (n.id.clone(), n)).collect();
    Ok(AuditPage { events, names, head: store::audit::head(conn)? })
}
