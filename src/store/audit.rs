//! The audit trail: append-only, each event carrying the SHA-256 of the one before, so an
//! edited, inserted or deleted past event breaks the chain.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::Conn;
use crate::db::schema::audit_events;

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub at: NaiveDateTime,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    /// JSON with what changed (old and new values).
    pub details: String,
}

impl<'a> NewEvent<'a> {
    /// An event caused by a signed-in person.
    pub fn by_user(
        actor: &'a crate::store::users::UserRow,
        at: NaiveDateTime,
        action: &'a str,
        target: (&'a str, &'a str),
        details: serde_json::Value,
    ) -> Self {
        Self {
            actor_id: Some(&actor.id),
            actor_name: &actor.display_name,
            ..Self::by_system(at, action, target, details)
        }
    }

    /// An event caused by attest itself (the scheduler).
    pub fn by_system(
        at: NaiveDateTime,
        action: &'a str,
        target: (&'a str, &'a str),
        details: serde_json::Value,
    ) -> Self {
        Self {
            at,
            actor_id: None,
            actor_name: "attest scheduler",
            action,
            target_type: target.0,
            target_id: target.1,
            details: details.to_string(),
        }
    }
}

/// SHA-256 over a canonical encoding: each field length-prefixed, so no two events encode
/// alike.
pub fn event_hash(prev: &str, e: &NewEvent<'_>) -> String {
    let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let mut hasher = Sha256::new();
    for field in [prev, &at, e.actor_id.unwrap_or(""), e.actor_name, e.action, e.target_type, e.target_id, &e.details] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an event. Call inside the transaction of the change it records.
pub fn append(conn: &mut Conn, event: &NewEvent<'_>) -> QueryResult<()> {
    append_all(conn, std::slice::from_ref(event))
}

/// Appends events in order, chained, reading the last hash once and inserting in batches
/// (a bulk decision writes one event per item). Call inside the transaction of the change.
pub fn append_all(conn: &mut Conn, events: &[NewEvent<'_>]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    if !conn.is_sqlite() {
        // Two PostgreSQL transactions must not both chain onto the same last event; SQLite
        // has one writer at a time already.
        conn.batch_execute("SELECT pg_advisory_xact_lock(7411953)")?;
    }
    let mut prev: String = audit_events::table
        .order(audit_events::id.desc())
        .select(audit_events::hash)
        .first(conn)
        .optional()?
        .unwrap_or_else(|| GENESIS.to_owned());
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let hash = event_hash(&prev, event);
        rows.push(EventInsert {
            at: event.at,
            actor_id: event.actor_id,
            actor_name: event.actor_name,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            details: &event.details,
            prev_hash: prev,
            hash: hash.clone(),
        });
        prev = hash;
    }
    // A bulk decision or an apply writes thousands of events: `bulk_insert!` sends them by
    // binary COPY on PostgreSQL, several times faster than INSERT (ids follow the order of
    // `rows` either way); SQLite batches stay under its limit of bound parameters.
    let batch = if conn.is_sqlite() { super::batch_size(conn, 9) } else { rows.len() };
    for chunk in rows.chunks(batch) {
        super::bulk_insert!(conn, audit_events::table, chunk)?;
    }
    Ok(())
}

/// A chained event as written.
#[derive(Insertable)]
#[diesel(table_name = audit_events)]
#[diesel(treat_none_as_default_value = false)]
struct EventInsert<'a> {
    at: NaiveDateTime,
    actor_id: Option<&'a str>,
    actor_name: &'a str,
    action: &'a str,
    target_type: &'a str,
    target_id: &'a str,
    details: &'a str,
    prev_hash: String,
    hash: String,
}

/// How many events name `target_id` with `action` (for tests and pages).
pub fn count_for(conn: &mut Conn, target_id: &str, action: &str) -> QueryResult<i64> {
    audit_events::table
        .filter(audit_events::target_id.eq(target_id))
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(conn)
}

/// An event as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every event follows the one before it and matches its hash.
    Intact {
        /// Events checked.
        events: u64,
        /// The newest event's hash (keep it elsewhere: rewriting the whole chain from some
        /// point on would otherwise go unnoticed).
        head: String,
    },
    /// The first event that does not fit.
    Broken {
        /// Its id.
        id: i64,
        /// When it says it happened.
        at: NaiveDateTime,
        /// What is wrong, in words.
        reason: &'static str,
        /// Events that were fine before it.
        events_before: u64,
    },
}

/// Walks the chain from the first event, in pages (bounded memory on any size).
pub fn verify(conn: &mut Conn) -> QueryResult<ChainCheck> {
    let mut prev = GENESIS.to_owned();
    let mut after = 0_i64;
    let mut events = 0_u64;
    loop {
        let page: Vec<EventRow> = audit_events::table
            .filter(audit_events::id.gt(after))
            .order(audit_events::id)
            .limit(5_000)
            .select(EventRow::as_select())
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in page {
            let broken = |reason| ChainCheck::Broken { id: row.id, at: row.at, reason, events_before: events };
            if row.prev_hash != prev {
                return Ok(broken(
                    "it does not follow the event before it: an event was deleted or inserted just before it",
                ));
            }
            let event = NewEvent {
                at: row.at,
                actor_id: row.actor_id.as_deref(),
                actor_name: &row.actor_name,
                action: &row.action,
                target_type: &row.target_type,
                target_id: &row.target_id,
                details: row.details.clone(),
            };
            if event_hash(&prev, &event) != row.hash {
                return Ok(broken("its contents do not match its hash: it was changed after it was written"));
            }
            prev = row.hash;
            events += 1;
        }
    }
    Ok(ChainCheck::Intact { events, head: prev })
}

/// The filters of the audit log, as the store applies them.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Actor name or UPN contains this (lower-cased match), or the actor id is this.
    pub actor: Option<String>,
    /// Exactly this action.
    pub action: Option<String>,
    /// Exactly this target id.
    pub target: Option<String>,
    /// At or after.
    pub from: Option<NaiveDateTime>,
    /// Before.
    pub until: Option<NaiveDateTime>,
}

type EventQuery<'a> = audit_events::BoxedQuery<'a, crate::db::MultiBackend>;

fn filtered<'a>(filter: &EventFilter) -> EventQuery<'a> {
    use crate::db::schema::users;
    let mut q = audit_events::table.into_boxed();
    if let Some(actor) = &filter.actor {
        let pattern = super::contains_pattern(actor);
        let by_upn = users::table.filter(super::lower(users::upn).like(pattern.clone()).escape('\\')).select(users::id);
        q = q.filter(
            super::lower(audit_events::actor_name)
                .like(pattern)
                .escape('\\')
                .or(audit_events::actor_id.eq(actor.clone()))
                .or(audit_events::actor_id.eq_any(by_upn.nullable())),
        );
    }
    if let Some(action) = &filter.action {
        q = q.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(target) = &filter.target {
        q = q.filter(audit_events::target_id.eq(target.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_events::at.lt(until));
    }
    q
}

/// Where a page of events starts, by event id.
#[derive(Debug, Clone, Copy)]
pub enum EventCursor {
    /// The newest events.
    Newest,
    /// Events with a smaller id, newest first.
    Before(i64),
    /// Events with a larger id, fetched oldest first (the previous page).
    After(i64),
}

/// Up to `limit + 1` events matching `filter` from `cursor` (by id, which is the chain's
/// order): newest first, except `After`, which comes oldest first.
pub fn page(conn: &mut Conn, filter: &EventFilter, cursor: EventCursor, limit: usize) -> QueryResult<Vec<EventRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
    let q = filtered(filter).select(EventRow::as_select()).limit(limit);
    match cursor {
        EventCursor::Newest => q.order(audit_events::id.desc()).load(conn),
        EventCursor::Before(id) => q.filter(audit_events::id.lt(id)).order(audit_events::id.desc()).load(conn),
        EventCursor::After(id) => q.filter(audit_events::id.gt(id)).order(audit_events::id.asc()).load(conn),
    }
}

/// Events matching `filter` after `after` (by id, oldest first), `limit` of them: exports
/// page through the log so that it never sits in memory whole.
pub fn chunk_after(conn: &mut Conn, filter: &EventFilter, after: i64, limit: i64) -> QueryResult<Vec<EventRow>> {
    filtered(filter)
        .filter(audit_events::id.gt(after))
        .order(audit_events::id.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// The newest event's id and hash: the head of the chain.
pub fn head(conn: &mut Conn) -> QueryResult<Option<(i64, String)>> {
    audit_events::table
        .order(audit_events::id.desc())
        .select((audit_events::id, audit_events::hash))
        .first(conn)
        .optional()
}

/// What an id named by audit events (a target, or an id in the details) stands for now.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct NamedObject {
    /// The id.
    pub id: String,
    /// `Definition`, `Instance`, `Item` or `User`.
    pub kind: String,
    /// The series' name, the principal's name (items) or the user's name.
    pub name: String,
    /// The series' name (instances, items) or the user's UPN.
    pub review: String,
    /// The resource's name (instances, items).
    pub resource: String,
    /// The occurrence, counted from 0 as stored (instances, items).
    pub occurrence: i32,
    /// The series' id (for links).
    pub definition_id: String,
    /// The instance's id (for links).
    pub instance_id: String,
}

/// The review series, occurrences, decision items and users among `ids`, in one query
/// (a `UNION ALL` of one indexed lookup per kind): the audit page resolves the names of a
/// page of events at once, not per row. Ids of objects that no longer exist are missing.
pub fn named_objects(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<NamedObject>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Integer, Text};

    use crate::db::schema::{review_decision_items as items, review_definitions, review_instances, users};
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let text = |s: &'static str| sql::<Text>(s);
    super::per_backend!(conn, c => {
        let definitions = review_definitions::table.filter(review_definitions::id.eq_any(ids)).select((
            review_definitions::id,
            text("'Definition'"),
            review_definitions::display_name,
            review_definitions::display_name,
            text("''"),
            sql::<Integer>("0"),
            review_definitions::id,
            text("''"),
        ));
        let instances = review_instances::table
            .inner_join(review_definitions::table)
            .filter(review_instances::id.eq_any(ids))
            .select((
                review_instances::id,
                text("'Instance'"),
                review_definitions::display_name,
                review_definitions::display_name,
                review_instances::resource_name,
                review_instances::occurrence,
                review_definitions::id,
                review_instances::id,
            ));
        let decided = items::table
            .inner_join(review_instances::table.inner_join(review_definitions::table))
            .filter(items::id.eq_any(ids))
            .select((
                items::id,
                text("'Item'"),
                items::principal_name,
                review_definitions::display_name,
                review_instances::resource_name,
                review_instances::occurrence,
                review_definitions::id,
                review_instances::id,
            ));
        let people = users::table.filter(users::id.eq_any(ids)).select((
            users::id,
            text("'User'"),
            users::display_name,
            users::upn,
            text("''"),
            sql::<Integer>("0"),
            text("''"),
            text("''"),
        ));
        definitions.union_all(instances).union_all(decided).union_all(people).load::<NamedObject>(c)
    })
}
