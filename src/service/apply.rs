//! Applying a completed review: each denied item's access is removed (or the guest
//! disabled, then deleted 30 days later), and its apply result stored. Items are applied in
//! batches, each one transaction holding the removals, the results and one audit event per
//! item, so a process stopped half-way keeps what it finished and a second run finishes the
//! rest without applying anything twice (only items still `New` are looked at).
//!
//! Approved, "don't know" and not-reviewed items keep the result `New`, as in Entra: apply
//! results describe what applying did, and it does nothing to them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::DbConnection;
use crate::domain::apply::{
    ApplyResult, GLOBAL_ADMINISTRATOR, GUEST_DELETE_AFTER_DAYS, Held, ItemFacts, ItemPlan, LinkSource, PlanCounts,
    PlanState, Resource, Step, Verdict, plan,
};
use crate::domain::directory::{GroupType, RoleKind, UserType};
use crate::domain::review::{GuestDeniedAction, InstanceStatus, ResourceKind, RoleAssignmentTypes};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::ldap::WriteOutcome;
use crate::service::panel::Refused;
use crate::store;
use crate::store::apply::DeniedItem;
use crate::store::audit::NewEvent;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;
use crate::store::users::UserRow;

/// Items applied per transaction when nothing else is asked for.
pub const DEFAULT_BATCH: usize = 5_000;

/// How many planned items a preview lists.
const PREVIEW_ITEMS: usize = 200;

/// What applying would do, without changing anything (dry run).
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// The denied items not applied yet, by outcome: removed, direct link removed while
    /// the access remains, already gone, cannot be removed here, refused.
    pub counts: PlanCounts,
    /// Denied items that already have an apply result.
    pub already_applied: i64,
    /// Privileged roles being removed; the acting admin's own access being removed; …
    pub warnings: Vec<String>,
    /// The first 200 denied, not yet applied items by principal name.
    pub items: Vec<PlannedItem>,
}

/// One denied item as the preview lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedItem {
    /// The decision item.
    pub item_id: String,
    /// The principal's display name.
    pub principal_name: String,
    /// The principal's UPN.
    pub principal_upn: String,
    /// What applying does, in words ("Remove from the group Project Falcon").
    pub action: String,
    /// What will come of it.
    pub outcome: Planned,
}

/// What will come of applying one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// The access will be removed.
    Remove,
    /// The direct link will be removed, but the access remains: the detail names the path.
    AccessRemains(String),
    /// The access is already gone.
    AlreadyGone,
    /// It cannot be removed here: the reason, naming the path that really grants it.
    NotSupported(String),
    /// It will not be removed: why.
    Refused(String),
}

/// What one call of [`apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Items applied successfully (access removed, guest disabled).
    pub applied: i64,
    /// Items whose access was already gone.
    pub not_found: i64,
    /// Items whose access attest cannot remove (stored `ApplyNotSupported`), including
    /// those counted in `access_remains`.
    pub not_supported: i64,
    /// Of `not_supported`: items whose direct link was removed while the access remains
    /// through another path.
    pub access_remains: i64,
    /// Items refused (the last Global Administrator).
    pub refused: i64,
}

impl ApplySummary {
    fn add(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Remove(..) => self.applied += 1,
            Verdict::AlreadyGone(_) => self.not_found += 1,
            Verdict::RemoveButAccessRemains(..) => {
                self.not_supported += 1;
                self.access_remains += 1;
            }
            Verdict::NotSupported(_) => self.not_supported += 1,
            Verdict::Refused(_) => self.refused += 1,
        }
    }

    fn merge(&mut self, other: Self) {
        self.applied += other.applied;
        self.not_found += other.not_found;
        self.not_supported += other.not_supported;
        self.access_remains += other.access_remains;
        self.refused += other.refused;
    }
}

/// The resource of an instance as the directory holds it now.
fn resource_now(conn: &mut DbConnection, instance: &InstanceRow) -> Result<Resource, AppError> {
    let name = instance.resource_name.clone();
    Ok(match instance.resource_type {
        ResourceKind::Group => match store::groups::get(conn, &instance.resource_id)? {
            Some(g) => Resource::Group {
                name: g.display_name,
                found: true,
                rule: g.membership_rule,
                synced: g.on_premises_sync,
                mail_enabled_security: g.mail_enabled && g.group_type == GroupType::Security,
            },
            None => Resource::Group { name, found: false, rule: None, synced: false, mail_enabled_security: false },
        },
        ResourceKind::Application => match store::apps::get(conn, &instance.resource_id)? {
            Some(a) => Resource::Application { name: a.display_name, found: true },
            None => Resource::Application { name, found: false },
        },
        ResourceKind::Role => match store::roles::get(conn, &instance.resource_id)? {
            Some(r) => Resource::Role {
                global_admin: r.role_kind == RoleKind::Directory && r.display_name == GLOBAL_ADMINISTRATOR,
                name: r.display_name,
                found: true,
                privileged: r.privileged,
            },
            None => Resource::Role { name, found: false, privileged: false, global_admin: false },
        },
    })
}

/// Where the planner starts: how many active Global Administrators there are now (only
/// counted when the instance reviews that role).
fn initial_state(conn: &mut DbConnection, resource: &Resource, now: NaiveDateTime) -> Result<PlanState, AppError> {
    let active_global_admins = match resource {
        Resource::Role { global_admin: true, .. } => store::apply::active_global_admins(conn, now)?,
        _ => 0,
    };
    Ok(PlanState { active_global_admins })
}

/// For each of `user_ids`, the paths other than a direct link through which they hold the
/// instance's group or application now ("Via Sales Team"), as the pages describe them: a
/// membership of a group nested in the reviewed group, or of a group assigned to the
/// reviewed application (nested ones included). A few queries per batch, whatever its size.
fn other_paths_now(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    user_ids: &[&str],
) -> Result<HashMap<String, Vec<String>>, AppError> {
    let ids: Vec<String> = user_ids.iter().map(|u| (*u).to_owned()).collect();
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut add = |paths: HashMap<String, Vec<crate::domain::directory::AccessPath>>| {
        for (user, list) in paths {
            let entry = out.entry(user).or_default();
            for path in list.iter().filter(|p| !p.is_direct()) {
                let text = path.describe();
                if !entry.contains(&text) {
                    entry.push(text);
                }
            }
        }
    };
    match instance.resource_type {
        ResourceKind::Group => {
            if let Some(group) = store::groups::get(conn, &instance.resource_id)? {
                let closure = store::groups::closure(conn, &group)?;
                // The root's own members are the direct link (or its rule), not another path.
                if closure.len() > 1 {
                    add(store::groups::membership_paths(conn, &closure, &ids, false)?);
                }
            }
        }
        ResourceKind::Application => {
            for (group, _) in store::apps::assigned_groups(conn, &instance.resource_id, 10_000)? {
                let closure = store::groups::closure(conn, &group)?;
                add(store::groups::membership_paths(conn, &closure, &ids, true)?);
            }
        }
        ResourceKind::Role => {}
    }
    out.retain(|_, paths| !paths.is_empty());
    Ok(out)
}

/// Plans a batch of denied items: the facts of all of them in a few queries, then the
/// rules per item.
fn plan_batch(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    definition: &DefinitionRow,
    resource: &Resource,
    items: &[DeniedItem],
    state: &mut PlanState,
    now: NaiveDateTime,
) -> Result<Vec<ItemPlan>, AppError> {
    let ids: Vec<&str> = items.iter().map(|i| i.principal_id.as_str()).collect();
    let users = store::apply::existing_users(conn, &ids)?;
    let block = definition.guest_denied_action == GuestDeniedAction::BlockThenDelete;
    // User id → the source of their direct membership or assignment.
    let mut direct: HashMap<String, String> = HashMap::new();
    let mut held: HashMap<String, Vec<Held>> = HashMap::new();
    let mut others: HashMap<String, Vec<String>> = HashMap::new();
    match resource {
        Resource::Group { found: true, .. } => {
            direct = store::apply::direct_members(conn, &instance.resource_id, &ids)?;
            others = other_paths_now(conn, instance, &ids)?;
        }
        Resource::Application { found: true, .. } => {
            direct = store::apply::direct_assignees(conn, &instance.resource_id, &ids)?;
            others = other_paths_now(conn, instance, &ids)?;
        }
        Resource::Role { found: true, .. } => {
            let types = definition.role_assignment_types.unwrap_or(RoleAssignmentTypes::Both).types();
            let rows = store::apply::held_roles(
                conn,
                &instance.resource_id,
                &ids,
                instance.resource_scope.as_deref(),
                types,
                instance.created_at,
                now,
            )?;
            for (user, h) in rows {
                held.entry(user).or_default().push(h);
            }
        }
        _ => {}
    }
    // Sources are few: read them all once per batch rather than per link.
    let sources: HashMap<String, LinkSource> = store::sources::list(conn)?
        .into_iter()
        .map(|s| (s.id.clone(), LinkSource { id: s.id, name: s.name, kind: s.kind }))
        .collect();
    let none: Vec<Held> = Vec::new();
    let no_paths: Vec<String> = Vec::new();
    Ok(items
        .iter()
        .map(|item| {
            let held = held.get(&item.principal_id).unwrap_or(&none);
            // A role's removal takes every held assignment: one that attest cannot remove
            // decides for the item.
            let link_source = match direct.get(&item.principal_id) {
                Some(source) => sources.get(source),
                None => held
                    .iter()
                    .filter_map(|h| sources.get(&h.source_id))
                    .find(|s| s.is_push())
                    .or_else(|| held.first().and_then(|h| sources.get(&h.source_id))),
            };
            let facts = ItemFacts {
                access_path: &item.access_path,
                access_direct: item.access_direct,
                block_guest: block && item.principal_type == UserType::Guest,
                user_found: users.contains(&item.principal_id),
                direct_link: direct.contains_key(&item.principal_id),
                held,
                other_paths_now: others.get(&item.principal_id).unwrap_or(&no_paths),
                link_source,
            };
            plan(resource, &facts, state)
        })
        .collect())
}

/// What applying would do, without changing anything. `None`: no such instance.
pub fn preview(
    conn: &mut DbConnection,
    instance: &str,
    actor: &UserRow,
    now: NaiveDateTime,
) -> Result<Option<Preview>, AppError> {
    let Some((inst, definition)) = store::instances::get_with_definition(conn, instance)? else { return Ok(None) };
    let mut out = Preview::default();
    for (result, n) in store::apply::denied_results(conn, instance)? {
        if result != ApplyResult::New {
            out.already_applied += n;
        }
    }
    if !inst.status.has_ended() {
        out.warnings.push("This review is still in progress: its results can be applied once it has ended.".into());
    }
    let resource = resource_now(conn, &inst)?;
    let mut state = initial_state(conn, &resource, now)?;
    let mut own: Vec<String> = Vec::new();
    let mut guests = 0;
    let mut cursor: Option<(String, String)> = None;
    loop {
        let items = store::apply::pending_denied(conn, instance, cursor.as_ref(), DEFAULT_BATCH)?;
        let Some(last) = items.last() else { break };
        cursor = Some((last.principal_name.clone(), last.id.clone()));
        let plans = plan_batch(conn, &inst, &definition, &resource, &items, &mut state, now)?;
        for (item, p) in items.into_iter().zip(plans) {
            out.counts.add(&p.verdict);
            if p.verdict.step().is_some() && item.principal_id == actor.id {
                own.push(p.action.clone());
            }
            let outcome = match &p.verdict {
                Verdict::Remove(step, _) => {
                    if *step == Step::BlockGuest {
                        guests += 1;
                    }
                    Planned::Remove
                }
                Verdict::RemoveButAccessRemains(_, _, remains) => Planned::AccessRemains(remains.0.clone()),
                Verdict::AlreadyGone(_) => Planned::AlreadyGone,
                Verdict::NotSupported(reason) => Planned::NotSupported(reason.clone()),
                Verdict::Refused(reason) => Planned::Refused(reason.clone()),
            };
            if out.items.len() < PREVIEW_ITEMS {
                out.items.push(PlannedItem {
                    item_id: item.id,
                    principal_name: item.principal_name,
                    principal_upn: item.principal_upn,
                    action: p.action,
                    outcome,
                });
            }
        }
    }
    if let Resource::Role { privileged: true, name, .. } = &resource
        && out.counts.remove > guests
    {
        out.warnings
            .push(format!("{name} is a privileged role: {} person(s) will lose it.", out.counts.remove - guests));
    }
    if guests > 0 {
        out.warnings.push(format!(
            "{guests} guest account(s) will be disabled now and deleted after {GUEST_DELETE_AFTER_DAYS} days."
        ));
    }
    for action in own {
        out.warnings.push(format!("Your own access is among the removals: {action}."));
    }
    Ok(Some(out))
}

/// Applies the instance's denials; resumable and idempotent. `by` is recorded as the
/// items' `applied_by` and as the audit events' actor.
pub fn apply(
    conn: &mut DbConnection,
    instance: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<Result<ApplySummary, Refused>, AppError> {
    apply_in_batches(conn, instance, by, now, DEFAULT_BATCH)
}

/// Applies what is due: finishes applies that were interrupted, applies completed instances
/// of series with auto-apply on, and deletes the blocked guests whose time has come;
/// returns (instances applied, guests deleted). An instance that cannot be applied is
/// logged and tried again next time, without holding up the others or the deletions.
pub fn apply_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(usize, usize), AppError> {
    let mut applied = 0;
    for instance in store::apply::to_apply(conn)? {
        match apply(conn, &instance, Actor::Scheduler, now) {
            Ok(Ok(_)) => applied += 1,
            Ok(Err(refused)) => tracing::warn!(instance = %instance, reason = %refused.0, "results not applied"),
            Err(err) => tracing::error!(instance = %instance, error = %err, "applying results failed"),
        }
    }
    Ok((applied, delete_due_guests(conn, now)?))
}

/// [`apply`] with the applier named and the batch size chosen (`attest apply`; tests use
/// small batches to stop a process half-way).
pub fn apply_in_batches(
    conn: &mut DbConnection,
    instance: &str,
    by: Actor<'_>,
    now: NaiveDateTime,
    batch: usize,
) -> Result<Result<ApplySummary, Refused>, AppError> {
    let batch = batch.max(1);
    let not_found = || AppError::NotFound("This review was not found.".into());
    let begun = conn.write(|conn| {
        if !store::locks::lock_instance(conn, instance)? {
            return Err(not_found());
        }
        let (inst, definition) = store::instances::get_with_definition(conn, instance)?.ok_or_else(not_found)?;
        match inst.status {
            InstanceStatus::Applied => Ok(Ok(None)),
            InstanceStatus::Completed | InstanceStatus::Applying => {
                let resumed = inst.status == InstanceStatus::Applying;
                store::apply::set_status(conn, instance, InstanceStatus::Applying)?;
                let event = by.event(
                    now,
                    "ApplyStarted",
                    ("AccessReviewInstance", instance),
                    serde_json::json!({
                        "definitionId": definition.id,
                        "resource": inst.resource_name,
                        "denied": inst.denied,
                        "resumed": resumed,
                    }),
                );
                store::audit::append(conn, &event)?;
                Ok(Ok(Some((inst, definition))))
            }
            InstanceStatus::InProgress | InstanceStatus::NotStarted => Ok(Err(Refused(
                "This review is still in progress: stop it or wait for its end before applying.".into(),
            ))),
        }
    })?;
    let (inst, definition) = match begun {
        Err(refused) => return Ok(Err(refused)),
        // Already applied: nothing changes, nothing is recorded.
        Ok(None) => return Ok(Ok(ApplySummary::default())),
        Ok(Some(found)) => found,
    };

    let mut summary = ApplySummary::default();
    let mut phases = Phases::default();
    let mut cursor: Option<(String, String)> = None;
    let began = Instant::now();
    // Whether any removal may have to be written to an LDAP directory first.
    let writes_back = !store::sources::of_kind(conn, crate::domain::source::SourceKind::Ldap)?.is_empty();
    loop {
        let written = if writes_back {
            write_back(conn, &inst, &definition, cursor.as_ref(), batch, now)?
        } else {
            Written::default()
        };
        let done = conn.write(|conn| {
            apply_batch(conn, &inst, &definition, by, cursor.as_ref(), batch, now, &written, &mut phases)
        })?;
        let Some((next, counts)) = done else { break };
        summary.merge(counts);
        cursor = Some(next);
    }
    // Phase timings go to the log, as for starting an instance: an operator should see
    // where the time of a big apply went.
    tracing::info!(
        instance,
        applied = summary.applied,
        not_found = summary.not_found,
        not_supported = summary.not_supported,
        refused = summary.refused,
        total_ms = began.elapsed().as_millis(),
        plan_ms = phases.plan.as_millis(),
        remove_ms = phases.remove.as_millis(),
        record_ms = phases.record.as_millis(),
        audit_ms = phases.audit.as_millis(),
        "review results applied"
    );

    conn.write(|conn| {
        store::locks::lock_instance(conn, instance)?;
        let Some(fresh) = store::instances::get(conn, instance)? else { return Err(not_found()) };
        if fresh.status != InstanceStatus::Applying {
            // Another applier finished it meanwhile.
            return Ok(());
        }
        if !store::apply::pending_denied(conn, instance, None, 1)?.is_empty() {
            tracing::warn!(instance, "denied items are left to apply; the scheduler will resume");
            return Ok(());
        }
        // Keyed by the stored spelling: the audit event's JSON names results as Graph does.
        let totals: BTreeMap<&str, i64> =
            store::apply::denied_results(conn, instance)?.into_iter().map(|(r, n)| (r.as_str(), n)).collect();
        store::apply::set_status(conn, instance, InstanceStatus::Applied)?;
        let event = by.event(
            now,
            "ApplyCompleted",
            ("AccessReviewInstance", instance),
            serde_json::json!({
                "definitionId": definition.id,
                "resource": inst.resource_name,
                "results": totals,
            }),
        );
        store::audit::append(conn, &event)?;
        // The series' creator hears what was removed and what attest could not remove.
        crate::service::notify::results_applied(conn, &definition, instance, now)?;
        Ok::<_, AppError>(())
    })?;
    Ok(Ok(summary))
}

/// What the pass before a batch's transaction wrote to LDAP directories.
#[derive(Debug, Default)]
struct Written {
    /// Item id → the source written to and what writing did.
    outcomes: HashMap<String, (String, WriteOutcome)>,
    /// Items whose removal the read-back confirmed.
    verified: Vec<String>,
    /// One audit entry per write: (item id, details).
    audit: Vec<(String, serde_json::Value)>,
}

/// Writes the next batch's LDAP removals, outside any database transaction: a slow or
/// unreachable directory must not hold the database's write lock while reviewers decide.
/// Writing is idempotent (a value already gone says so), so a batch that then rolls back,
/// or another applier, does no harm.
fn write_back(
    conn: &mut DbConnection,
    inst: &InstanceRow,
    definition: &DefinitionRow,
    cursor: Option<&Cursor>,
    batch: usize,
    now: NaiveDateTime,
) -> Result<Written, AppError> {
    let items = store::apply::pending_denied(conn, &inst.id, cursor, batch)?;
    if items.is_empty() {
        return Ok(Written::default());
    }
    let resource = resource_now(conn, inst)?;
    let mut state = initial_state(conn, &resource, now)?;
    let plans = plan_batch(conn, inst, definition, &resource, &items, &mut state, now)?;
    let mut by_source: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (item, p) in items.iter().zip(&plans) {
        if let Some(source) = p.write_back.as_deref() {
            by_source.entry(source).or_default().push((&item.id, &item.principal_id));
        }
    }
    let mut out = Written::default();
    for (source, list) in by_source {
        let back = crate::service::ldap::remove_memberships(conn, source, &inst.resource_id, &list)?;
        out.outcomes.extend(back.outcomes.into_iter().map(|(item, o)| (item, (source.to_owned(), o))));
        out.verified.extend(back.verified);
        out.audit.extend(back.audit);
    }
    Ok(out)
}

/// Where the next batch starts: the last item's (principal name, id).
type Cursor = (String, String);

/// Time spent per phase of an apply, summed over its batches.
#[derive(Debug, Default)]
struct Phases {
    plan: Duration,
    remove: Duration,
    record: Duration,
    audit: Duration,
}

/// Applies the next batch after `cursor` in the caller's transaction; `None` when nothing
/// is left (or another applier finished the instance).
#[expect(clippy::too_many_arguments, reason = "one batch of one apply run: the run's facts travel together")]
fn apply_batch(
    conn: &mut DbConnection,
    inst: &InstanceRow,
    definition: &DefinitionRow,
    by: Actor<'_>,
    cursor: Option<&(String, String)>,
    batch: usize,
    now: NaiveDateTime,
    written: &Written,
    phases: &mut Phases,
) -> Result<Option<(Cursor, ApplySummary)>, AppError> {
    let t = Instant::now();
    store::locks::lock_instance(conn, &inst.id)?;
    // Read under the lock: only items still `New` now are applied, whoever else runs.
    match store::instances::get(conn, &inst.id)? {
        Some(fresh) if fresh.status == InstanceStatus::Applying => {}
        _ => return Ok(None),
    }
    // A sync that read these directories before this batch's removals must not write what
    // it read; counted first, so that a sync and a batch take the source's row, then the
    // memberships, in the same order.
    let wrote_to: BTreeSet<&str> = written
        .outcomes
        .values()
        .filter(|(_, o)| *o == WriteOutcome::Removed)
        .map(|(source, _)| source.as_str())
        .collect();
    for source in wrote_to {
        store::sources::wrote_back(conn, source)?;
    }
    let items = store::apply::pending_denied(conn, &inst.id, cursor, batch)?;
    let Some(last) = items.last() else { return Ok(None) };
    let next = (last.principal_name.clone(), last.id.clone());
    let resource = resource_now(conn, inst)?;
    let mut state = initial_state(conn, &resource, now)?;
    let plans = plan_batch(conn, inst, definition, &resource, &items, &mut state, now)?;

    let mut members: Vec<&str> = Vec::new();
    let mut assignees: Vec<&str> = Vec::new();
    let mut role_ids: Vec<&str> = Vec::new();
    let mut guests: Vec<&str> = Vec::new();
    let mut by_result: BTreeMap<(ApplyResult, String), Vec<&str>> = BTreeMap::new();
    let mut summary = ApplySummary::default();
    let mut failed: Vec<&str> = Vec::new();
    // What each item's result and detail end up as (the plan's, unless the directory said
    // otherwise), for the audit events.
    let mut stored: HashMap<&str, (ApplyResult, String)> = HashMap::new();
    let not_written = WriteOutcome::Failed("it was not written to the directory in this run".into());
    for (item, p) in items.iter().zip(&plans) {
        // A removal planned for LDAP now that the pass before the transaction did not
        // write (the directory changed in between) waits for the next apply.
        let outcome = match (&p.write_back, written.outcomes.get(&item.id)) {
            (Some(_), None) => Some(&not_written),
            (_, found) => found.map(|(_, o)| o),
        };
        let (result, detail) = match outcome {
            Some(WriteOutcome::Failed(error)) => {
                failed.push(&item.id);
                by_result
                    .entry((
                        ApplyResult::New,
                        format!("Not removed in the directory yet: {error}. The next apply tries again."),
                    ))
                    .or_default()
                    .push(&item.id);
                continue;
            }
            Some(WriteOutcome::AlreadyGone) => {
                summary.not_found += 1;
                (
                    ApplyResult::AppliedSuccessfullyButObjectNotFound,
                    "The membership was already gone from the directory.".to_owned(),
                )
            }
            // attest removed it in the directory; a sync that read the directory since has
            // already taken it out of the local copy, so the plan now finds it gone.
            Some(WriteOutcome::Removed) if matches!(p.verdict, Verdict::AlreadyGone(_)) => {
                summary.applied += 1;
                (ApplyResult::AppliedSuccessfully, crate::domain::apply::removed_from_group(resource.name()))
            }
            _ => {
                summary.add(&p.verdict);
                (p.verdict.result(), p.verdict.detail().to_owned())
            }
        };
        if let Some(step) = p.verdict.step() {
            match step {
                Step::RemoveMembership => members.push(&item.principal_id),
                Step::RemoveAppAssignment => assignees.push(&item.principal_id),
                Step::RemoveRoleAssignments(ids) => role_ids.extend(ids.iter().map(String::as_str)),
                Step::BlockGuest => guests.push(&item.principal_id),
            }
        }
        stored.insert(&item.id, (result, detail.clone()));
        by_result.entry((result, detail)).or_default().push(&item.id);
    }
    let planned = Instant::now();
    phases.plan += planned - t;
    // Set-based: one statement per kind of change (per chunk on SQLite), not one per item.
    store::apply::delete_members(conn, &inst.resource_id, &members)?;
    store::apply::delete_app_assignments(conn, &inst.resource_id, &assignees)?;
    store::apply::delete_role_assignments(conn, &role_ids)?;
    if !guests.is_empty() {
        let delete_at = now + TimeDelta::days(GUEST_DELETE_AFTER_DAYS);
        store::apply::block_guests(conn, &guests, &inst.id, now, delete_at)?;
    }
    let removed = Instant::now();
    phases.remove += removed - planned;
    for ((apply_result, detail), ids) in &by_result {
        store::apply::record(conn, ids, *apply_result, detail, by.id(), now)?;
    }
    // Removals a push source must make, and removals written to LDAP (kept to see whether
    // anyone grants them again): tasks recorded with the items' results.
    let tasks: Vec<store::remediation::NewTask<'_>> = items
        .iter()
        .zip(&plans)
        .filter_map(|(item, p)| {
            let at_source = match written.outcomes.get(&item.id) {
                Some((source, WriteOutcome::Removed)) => Some(source.as_str()),
                _ => p.remediate_at.as_deref(),
            };
            at_source.map(|source_id| store::remediation::NewTask {
                item_id: &item.id,
                instance_id: &inst.id,
                source_id,
                resource_type: inst.resource_type,
                resource_id: &inst.resource_id,
                principal_id: &item.principal_id,
                created_at: now,
            })
        })
        .collect();
    store::remediation::insert(conn, &tasks)?;
    store::remediation::mark_removed(conn, &written.verified, now)?;
    let recorded = Instant::now();
    phases.record += recorded - removed;
    let resource_name = resource.name().to_owned();
    let mut events: Vec<NewEvent<'_>> = written
        .audit
        .iter()
        .map(|(item, details)| by.event(now, "LdapWrite", ("AccessReviewDecisionItem", item), details.clone()))
        .collect();
    events.extend(items.iter().zip(&plans).filter_map(|(item, p)| {
        let (result, reason) = stored.get(item.id.as_str())?;
        Some(by.event(
            now,
            "ApplyDecision",
            ("AccessReviewDecisionItem", &item.id),
            serde_json::json!({
                "instanceId": inst.id,
                "principalId": item.principal_id,
                "principal": item.principal_name,
                "resource": resource_name,
                "resourceType": inst.resource_type,
                "action": p.action,
                "result": result,
                "reason": reason,
            }),
        ))
    }));
    store::audit::append_all(conn, &events)?;
    phases.audit += recorded.elapsed();
    Ok(Some((next, summary)))
}

/// Deletes the guests whose 30 days have passed since a review blocked them; returns how
/// many. A guest an admin enabled again meanwhile is kept (the deletion is cancelled).
/// Each guest is its own transaction: one that cannot be deleted does not hold up others.
pub fn delete_due_guests(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut deleted = 0;
    for (due, upn, name) in store::apply::due_guest_deletions(conn, now)? {
        let done = conn.write(|conn| {
            // A write first: the lock before the reads (see store::locks::lock_instance).
            let n = store::apply::delete_disabled_user(conn, &due.user_id)?;
            let details = serde_json::json!({
                "upn": upn,
                "displayName": name,
                "instanceId": due.instance_id,
                "disabledAt": due.disabled_at,
            });
            if n == 1 {
                let event = NewEvent::by_system(now, "GuestDeleted", ("User", &due.user_id), details);
                store::audit::append(conn, &event)?;
                return Ok::<_, AppError>(true);
            }
            if store::apply::deletion_due(conn, &due.user_id, now)? {
                store::apply::cancel_deletion(conn, &due.user_id)?;
                let event = NewEvent::by_system(now, "GuestDeletionCancelled", ("User", &due.user_id), details);
                store::audit::append(conn, &event)?;
            }
            Ok(false)
        });
        match done {
            Ok(true) => deleted += 1,
            Ok(false) => {}
            Err(err) => tracing::error!(user = %due.user_id, error = %err, "a blocked guest could not be deleted"),
        }
    }
    Ok(deleted)
}
