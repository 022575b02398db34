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
    /// What the events' targets and the ids in their details stand for, by id.
    pub names: HashMap<String, NamedObject>,
    /// The newest event's id and hash.
    pub head: Option<(i64, String)>,
}

/// The ids an event names: its target, and the instance, series and principal in its details.
fn ids_of(event: &EventRow) -> Vec<String> {
    let mut ids = vec![event.target_id.clone()];
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&event.details) {
        for key in ["instanceId", "definitionId"] {
            if let Some(id) = map.get(key).and_then(serde_json::Value::as_str) {
                ids.push(id.to_owned());
            }
        }
    }
    ids
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
    let mut ids: Vec<String> = events.iter().flat_map(ids_of).collect();
    ids.sort();
    ids.dedup();
    let names = store::audit::named_objects(conn, &ids)?.into_iter().map(|n| (n.id.clone(), n)).collect();
    Ok(AuditPage { events, names, head: store::audit::head(conn)? })
}
