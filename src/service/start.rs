//! Starting instances: for each series whose occurrence is due, gather the facts of each
//! resource (its population with access paths, owners, named reviewers, sign-ins), plan
//! the instance ([`population::plan`]: scope, reviewers, recommendations), and write it with
//! its decision items in batches, all in one transaction per series.

use std::collections::HashMap;
use std::time::Instant;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::apply::ApplyResult;
use crate::domain::decision::Decision;
use crate::domain::directory::{AccessPath, AssignmentType, days_since};
use crate::domain::population::{self, Member, Person, Plan, Reviewers, Settings, SignIns};
use crate::domain::recommendation::Recommendation;
use crate::domain::recurrence::{Due, Occurrence, Schedule, SeriesEnd};
use crate::domain::review::{
    DefinitionStatus, InstanceStatus, ResourceKind, ReviewerKind, RoleAssignmentTypes, ScopeKind, UserScope,
};
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::instances::{InstanceRow, ItemRow};
use crate::store::reviews::DefinitionRow;
use crate::store::stages::{DefinitionStageRow, InstanceStageRow};
use crate::store::users::UserRow;

/// From this many decision items on, a start refreshes PostgreSQL's statistics of the
/// items table: its planner would otherwise still see the table as it was before the
/// start, and the review page's first queries over the new instance take a poor plan
/// (tens of milliseconds instead of under one).
const ANALYZE_AFTER_ITEMS: usize = 10_000;

/// What a decision item carries from the population to its row, beside the facts the
/// plan looks at.
struct Carried {
    upn: String,
    job_title: Option<String>,
    department: Option<String>,
    path: String,
    direct: bool,
    detail: String,
}

/// A resource an occurrence reviews.
struct Resource {
    kind: ResourceKind,
    id: String,
    name: String,
}

/// The schedule stored on a definition.
pub fn schedule_of(d: &DefinitionRow) -> Option<Schedule> {
    let end = SeriesEnd::stored(d.end_kind, d.end_date, d.occurrences)?;
    Some(Schedule {
        start: d.start_date,
        frequency: d.frequency,
        duration_days: u32::try_from(d.duration_days).ok()?,
        end,
    })
}

/// Starts every occurrence that is due; returns how many instances were created.
pub fn start_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut created = 0;
    for due in store::reviews::due(conn, now)? {
        let (n, items) = conn.write(|conn| start_definition(conn, &due.id, now))?;
        created += n;
        if items >= ANALYZE_AFTER_ITEMS {
            // After the commit: the statistics are a help, not part of the start.
            if let Err(err) = store::instances::analyze_items(conn) {
                tracing::warn!(error = %err, "refreshing the statistics of decision items failed");
            }
        }
    }
    Ok(created)
}

/// Starts the due occurrence of one series under its lock; returns the instances created
/// and the decision items written.
fn start_definition(conn: &mut DbConnection, definition: &str, now: NaiveDateTime) -> Result<(usize, usize), AppError> {
    store::locks::lock_definition(conn, definition)?;
    // Read again under the lock: another scheduler may have moved the series on.
    let Some(d) = store::reviews::get(conn, definition)? else { return Ok((0, 0)) };
    if d.status != DefinitionStatus::Active || d.next_start_at.is_none_or(|at| at > now) {
        return Ok((0, 0));
    }
    let Some(schedule) = schedule_of(&d) else {
        tracing::error!(definition = %d.id, "a review series has an unreadable schedule");
        return Ok((0, 0));
    };
    let next = u32::try_from(d.next_occurrence).unwrap_or(0);
    match schedule.due(next, now) {
        Due::Finished => {
            store::reviews::advance(conn, &d.id, d.next_occurrence, None, now)?;
            if !store::instances::any_in_progress(conn, &d.id)? {
                store::reviews::set_status(conn, &d.id, DefinitionStatus::Completed, now)?;
            }
            Ok((0, 0))
        }
        Due::NotYet(o) => {
            store::reviews::advance(conn, &d.id, to_i32(o.index), Some(o.start), now)?;
            Ok((0, 0))
        }
        Due::Start { occurrence, skipped } => {
            if skipped > 0 {
                let details = serde_json::json!({
                    "skipped": skipped,
                    "reason": "attest was not running during their whole window",
                });
                let target = ("AccessReviewDefinition", d.id.as_str());
                store::audit::append(conn, &NewEvent::by_system(now, "OccurrencesSkipped", target, details))?;
            }
            let started = start_occurrence(conn, &d, occurrence, now)?;
            let following = schedule.occurrence(occurrence.index + 1);
            store::reviews::advance(conn, &d.id, to_i32(occurrence.index + 1), following.map(|o| o.start), now)?;
            Ok(started)
        }
    }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn count_i32(n: usize) -> i32 {
    to_i32(u32::try_from(n).unwrap_or(u32::MAX))
}

fn resources(conn: &mut DbConnection, d: &DefinitionRow) -> Result<Vec<Resource>, AppError> {
    let links = store::reviews::resources(conn, &d.id)?;
    let mut out = Vec::new();
    if d.scope_kind == ScopeKind::GuestGroups {
        let excluded: Vec<&String> = links.iter().filter(|(_, _, ex)| *ex).map(|(_, id, _)| id).collect();
        for g in store::groups::m365_with_guests(conn)? {
            if !excluded.contains(&&g.id) {
                out.push(Resource { kind: ResourceKind::Group, id: g.id, name: g.display_name });
            }
        }
        return Ok(out);
    }
    for (kind, id, excluded) in links {
        if excluded {
            continue;
        }
        // A resource deleted since the series was created is simply not reviewed.
        let found = match kind {
            ResourceKind::Group => store::groups::get(conn, &id)?.map(|g| g.display_name),
            ResourceKind::Application => store::apps::get(conn, &id)?.map(|a| a.display_name),
            ResourceKind::Role => store::roles::get(conn, &id)?.map(|r| r.display_name),
        };
        if let Some(name) = found {
            out.push(Resource { kind, id, name });
        }
    }
    Ok(out)
}

/// A user of the population with their access, split into what the plan looks at and
/// what the row carries.
fn member(user: UserRow, path: String, direct: bool, detail: String) -> Member<Carried> {
    Member {
        person: Person {
            id: user.id,
            display_name: user.display_name,
            user_type: user.user_type,
            enabled: user.enabled,
            created_at: user.created_at,
            last_sign_in_at: user.last_sign_in_at,
            manager_id: user.manager_id,
        },
        access: Carried { upn: user.upn, job_title: user.job_title, department: user.department, path, direct, detail },
    }
}

/// Everyone with access to the resource, one member per person with all their paths.
fn population(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    r: &Resource,
    now: NaiveDateTime,
) -> Result<Vec<Member<Carried>>, AppError> {
    let describe = |paths: &[AccessPath]| -> (String, bool) {
        let direct = paths.iter().any(AccessPath::is_direct);
        (paths.iter().map(AccessPath::describe).collect::<Vec<_>>().join("; "), direct)
    };
    Ok(match r.kind {
        ResourceKind::Group => {
            let Some(group) = store::groups::get(conn, &r.id)? else { return Ok(Vec::new()) };
            let closure = store::groups::closure(conn, &group)?;
            store::groups::all_member_paths(conn, &closure, false)?
                .into_iter()
                .map(|(user, paths)| {
                    let (path, direct) = describe(&paths);
                    member(user, path, direct, String::new())
                })
                .collect()
        }
        ResourceKind::Application => {
            let mut by_user: HashMap<String, (UserRow, Vec<AccessPath>, String)> = HashMap::new();
            for (user, role) in store::apps::all_direct_users(conn, &r.id)? {
                by_user.insert(user.id.clone(), (user, vec![AccessPath::Direct], role));
            }
            for (group, role) in store::apps::assigned_groups(conn, &r.id, 10_000)? {
                let closure = store::groups::closure(conn, &group)?;
                for (user, paths) in store::groups::all_member_paths(conn, &closure, true)? {
                    let entry = by_user.entry(user.id.clone()).or_insert_with(|| (user, Vec::new(), role.clone()));
                    entry.1.extend(paths);
                }
            }
            by_user
                .into_values()
                .map(|(user, paths, role)| {
                    let (path, direct) = describe(&paths);
                    member(user, path, direct, role)
                })
                .collect()
        }
        ResourceKind::Role => {
            let types = d.role_assignment_types.unwrap_or(RoleAssignmentTypes::Both).types();
            let mut by_user: HashMap<String, (UserRow, String, AssignmentType)> = HashMap::new();
            for (a, user) in store::roles::in_force_with_users(conn, &r.id, d.resource_scope.as_deref(), types, now)? {
                let detail = format!("{} at {}", a.assignment_type, a.scope_name);
                match by_user.get_mut(&user.id) {
                    // One item per person: several assignments are listed together.
                    Some((_, path, _)) => {
                        path.push_str("; ");
                        path.push_str(&detail);
                    }
                    None => {
                        by_user.insert(user.id.clone(), (user, detail, a.assignment_type));
                    }
                }
            }
            by_user.into_values().map(|(user, path, kind)| member(user, path, true, kind.to_string())).collect()
        }
    })
}

/// Last sign-ins of many users to one application, in chunks that fit the parameter limits.
fn last_sign_ins(
    conn: &mut DbConnection,
    people: &[Member<Carried>],
    app: &str,
) -> Result<HashMap<String, NaiveDateTime>, AppError> {
    let ids: Vec<String> = people.iter().map(|m| m.person.id.clone()).collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        out.extend(store::sign_ins::last_for_users(conn, chunk, Some(app))?);
    }
    Ok(out)
}

/// The display names of the managers of `people`, by id: from the population where they
/// are in it, else from the directory (in chunks that fit the parameter limits).
fn manager_names(conn: &mut DbConnection, people: &[Member<Carried>]) -> Result<HashMap<String, String>, AppError> {
    let mut names: HashMap<String, String> = HashMap::new();
    let known: HashMap<&str, &str> =
        people.iter().map(|m| (m.person.id.as_str(), m.person.display_name.as_str())).collect();
    let mut missing: Vec<String> = Vec::new();
    for manager in people.iter().filter_map(|m| m.person.manager_id.as_deref()) {
        match known.get(manager) {
            Some(name) => {
                names.insert(manager.to_owned(), (*name).to_owned());
            }
            None => missing.push(manager.to_owned()),
        }
    }
    missing.sort();
    missing.dedup();
    for chunk in missing.chunks(5_000) {
        names.extend(store::users::refs(conn, chunk)?.into_iter().map(|u| (u.id, u.display_name)));
    }
    Ok(names)
}

/// The series' user scope as the plan reads it.
fn user_scope(d: &DefinitionRow) -> UserScope {
    // A stored inactive scope without its days (never written so) reviews everyone.
    UserScope::stored(d.user_scope, d.inactive_days).unwrap_or(UserScope::All)
}

/// Starts the instances of one occurrence (one per resource not started yet); returns
/// how many were created and how many decision items were written.
fn start_occurrence(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    o: Occurrence,
    now: NaiveDateTime,
) -> Result<(usize, usize), AppError> {
    let named = store::reviews::reviewers(conn, &d.id)?;
    let selected: Vec<String> = named.iter().filter(|(_, f)| !f).map(|(u, _)| u.id.clone()).collect();
    let fallbacks: Vec<String> = named.iter().filter(|(_, f)| *f).map(|(u, _)| u.id.clone()).collect();
    let reviewer_kind = d.reviewer_kind;
    let stages = store::stages::of_definition(conn, &d.id)?;
    let mut created = 0;
    let mut written = 0;
    for r in resources(conn, d)? {
        if store::instances::exists(conn, &d.id, to_i32(o.index), r.kind, &r.id)? {
            continue;
        }
        // Phase timings go to the log: starting a big instance is the slowest thing
        // attest does, and an operator should see where the time went.
        let began = Instant::now();
        let people = population(conn, d, &r, now)?;
        let population_done = Instant::now();
        // Group and role reviews look at sign-ins to the tenant, kept on the user; app
        // reviews at sign-ins to that app, from the sign-in log.
        let app_last =
            if r.kind == ResourceKind::Application { Some(last_sign_ins(conn, &people, &r.id)?) } else { None };
        let owners: Vec<String> = match (reviewer_kind, r.kind) {
            (ReviewerKind::Owners, ResourceKind::Application) => store::apps::owners(conn, &r.id, 1_000)?,
            (ReviewerKind::Owners, ResourceKind::Group) => store::groups::owners(conn, &r.id, 1_000)?,
            _ => Vec::new(),
        }
        .into_iter()
        .map(|u| u.id)
        .collect();
        // The context reviewers see on each row: job title, department, manager's name.
        let manager_names = manager_names(conn, &people)?;
        let sign_ins_done = Instant::now();

        let settings = Settings {
            scope: user_scope(d),
            reviewer_kind,
            recommendations: d.recommendations_enabled,
            lookback_days: u32::try_from(d.lookback_days).unwrap_or(30),
            sign_ins: match &app_last {
                Some(last) => SignIns::Application { name: &r.name, last },
                None => SignIns::Directory,
            },
        };
        let reviewers = Reviewers { owners: &owners, selected: &selected, fallbacks: &fallbacks };
        let plan = population::plan(&settings, &reviewers, people, now);
        let (count, items) = write_instance(conn, d, &stages, o, &r, plan, &manager_names, now)?;
        tracing::info!(
            instance = %items.instance_id,
            items = count,
            population_ms = (population_done - began).as_millis(),
            sign_ins_ms = (sign_ins_done - population_done).as_millis(),
            build_ms = (items.built - sign_ins_done).as_millis(),
            write_ms = (items.written - items.built).as_millis(),
            "review instance started"
        );
        created += 1;
        written += count;
    }
    Ok((created, written))
}

/// The planned stages of a new multi-stage instance: each starts when the one before ends;
/// the last ends with the occurrence whatever the calendar did to the days in between.
fn stage_windows(instance: &str, stages: &[DefinitionStageRow], o: Occurrence, items: i32) -> Vec<InstanceStageRow> {
    let days: Vec<u32> = stages.iter().map(|s| u32::try_from(s.duration_days).unwrap_or(1)).collect();
    let windows = crate::domain::stage::windows(o.start, &days).unwrap_or_default();
    let last = stages.len().saturating_sub(1);
    stages
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let (start_at, end_at) = windows.get(n).copied().unwrap_or((o.start, o.end));
            InstanceStageRow {
                instance_id: instance.to_owned(),
                stage: s.stage,
                reviewer_kind: s.reviewer_kind,
                moves: s.moves.clone(),
                recommendations_enabled: s.recommendations_enabled,
                decision_histories: s.decision_histories,
                start_at: start_at.min(o.end),
                end_at: if n == last { o.end } else { end_at.min(o.end) },
                ended_at: None,
                items: if n == 0 { items } else { 0 },
            }
        })
        .collect()
}

/// The instance written, and when its rows were built and written (for the log).
struct Written {
    instance_id: String,
    built: Instant,
    written: Instant,
}

/// Writes a planned instance: its row with the counters, its reviewers, its decision items
/// (in batches, or one `COPY`), its start mails and its audit event. Returns the items
/// written.
#[expect(clippy::too_many_arguments, reason = "the facts of one start, each named")]
fn write_instance(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    stages: &[DefinitionStageRow],
    o: Occurrence,
    r: &Resource,
    plan: Plan<Carried>,
    manager_names: &HashMap<String, String>,
    now: NaiveDateTime,
) -> Result<(usize, Written), AppError> {
    let instance_id = uuid::Uuid::new_v4().to_string();
    let total = count_i32(plan.items.len());
    let recommended_deny = count_i32(plan.recommended(Recommendation::Deny));
    let recommended_approve = count_i32(plan.recommended(Recommendation::Approve));
    let routed_to_admins = count_i32(plan.routed_to_admins());
    let Plan { items, reviewers, own_access_routed } = plan;
    let rows: Vec<ItemRow> = items
        .into_iter()
        .map(|item| {
            let manager =
                item.person.manager_id.as_ref().and_then(|m| manager_names.get(m).cloned()).unwrap_or_default();
            ItemRow {
                id: uuid::Uuid::new_v4().to_string(),
                instance_id: instance_id.clone(),
                principal_id: item.person.id,
                principal_name: item.person.display_name,
                principal_upn: item.access.upn,
                principal_type: item.person.user_type,
                access_path: item.access.path,
                access_direct: item.access.direct,
                access_detail: item.access.detail,
                reviewer_id: item.reviewer_id,
                last_sign_in: item.last_sign_in,
                recommendation: item.recommendation,
                recommendation_reason: item.reason,
                decision: Decision::NotReviewed,
                justification: String::new(),
                reviewed_by: None,
                reviewed_for: None,
                reviewed_at: None,
                apply_result: ApplyResult::New,
                apply_detail: String::new(),
                applied_by: None,
                applied_at: None,
                reviewer_pool: item.pool,
                principal_job_title: item.access.job_title.unwrap_or_default(),
                principal_department: item.access.department.unwrap_or_default(),
                principal_manager: manager,
                stage: 1,
            }
        })
        .collect();
    let outcome_rule = store::outcomes::rule(conn, &d.id, 1)?;
    store::instances::insert(
        conn,
        &InstanceRow {
            id: instance_id.clone(),
            definition_id: d.id.clone(),
            occurrence: to_i32(o.index),
            resource_type: r.kind,
            resource_id: r.id.clone(),
            resource_name: r.name.clone(),
            resource_scope: d.resource_scope.clone(),
            start_at: o.start,
            end_at: o.end,
            status: InstanceStatus::InProgress,
            total_items: total,
            not_reviewed: total,
            approved: 0,
            denied: 0,
            dont_know: 0,
            recommended_deny,
            created_at: now,
            completed_at: None,
            justification_required: d.justification_required,
            pending_approve: recommended_approve,
            pending_deny: recommended_deny,
            routed_to_admins,
            stage: 1,
            stage_count: count_i32(stages.len().max(1)),
            outcome_rule,
        },
    )?;
    if !stages.is_empty() {
        store::stages::insert_instance_stages(conn, &stage_windows(&instance_id, stages, o, total))?;
    }
    store::instances::insert_reviewers(conn, &instance_id, &reviewers)?;
    let built = Instant::now();
    store::instances::insert_items(conn, &rows)?;
    // The start mails go out with the instance or not at all: same transaction.
    if let Some(started) = store::instances::get(conn, &instance_id)? {
        crate::service::notify::instance_started(conn, d, &started, now)?;
    }
    let written = Instant::now();
    let details = serde_json::json!({
        "definitionId": d.id,
        "occurrence": o.index,
        "resource": r.name,
        "items": total,
        "recommendedDeny": recommended_deny,
        "reviewers": reviewers.len(),
        "ownAccessRouted": own_access_routed,
        "routedToAdmins": routed_to_admins,
        "daysLong": days_since(o.start, o.end),
        "stages": stages.len().max(1),
    });
    let target = ("AccessReviewInstance", instance_id.as_str());
    store::audit::append(conn, &NewEvent::by_system(now, "ReviewInstanceStarted", target, details))?;
    Ok((rows.len(), Written { instance_id, built, written }))
}
