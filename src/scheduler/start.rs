//! Starting instances: snapshot the population (with access paths), resolve reviewers,
//! compute recommendations, and write the decision items in batches, all in one
//! transaction per series.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{NaiveDateTime, TimeDelta};

use super::{audit, lock_series};
use crate::db::DbConnection;
use crate::domain::decision::{Pool, route};
use crate::domain::directory::{AccessPath, days_since};
use crate::domain::recommendation::{Recommendation, SignInScope, recommend};
use crate::domain::recurrence::{Due, Frequency, Occurrence, Schedule, SeriesEnd};
use crate::error::AppError;
use crate::store;
use crate::store::instances::{InstanceRow, ItemRow};
use crate::store::reviews::DefinitionRow;
use crate::store::users::UserRow;

/// A principal's access to one resource, before review.
struct Access {
    user: UserRow,
    path: String,
    direct: bool,
    detail: String,
}

/// A resource an occurrence reviews.
struct Resource {
    kind: &'static str,
    id: String,
    name: String,
}

/// The schedule stored on a definition.
pub fn schedule_of(d: &DefinitionRow) -> Option<Schedule> {
    let end = match d.end_kind.as_str() {
        "OnDate" => SeriesEnd::OnDate(d.end_date?),
        "AfterOccurrences" => SeriesEnd::AfterOccurrences(u32::try_from(d.occurrences?).ok()?),
        _ => SeriesEnd::Never,
    };
    Some(Schedule {
        start: d.start_date,
        frequency: Frequency::parse(&d.frequency)?,
        duration_days: u32::try_from(d.duration_days).ok()?,
        end,
    })
}

/// Starts every occurrence that is due; returns how many instances were created.
pub fn start_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut created = 0;
    for due in store::reviews::due(conn, now)? {
        created += conn.write(|conn| {
            lock_series(conn, &due.id)?;
            // Read again under the lock: another scheduler may have moved the series on.
            let Some(d) = store::reviews::get(conn, &due.id)? else { return Ok::<_, AppError>(0) };
            if d.status != "Active" || d.next_start_at.is_none_or(|at| at > now) {
                return Ok(0);
            }
            let Some(schedule) = schedule_of(&d) else {
                tracing::error!(definition = %d.id, "a review series has an unreadable schedule");
                return Ok(0);
            };
            let next = u32::try_from(d.next_occurrence).unwrap_or(0);
            match schedule.due(next, now) {
                Due::Finished => {
                    store::reviews::advance(conn, &d.id, d.next_occurrence, None, now)?;
                    if !store::instances::any_in_progress(conn, &d.id)? {
                        store::reviews::set_status(conn, &d.id, "Completed", now)?;
                    }
                    Ok(0)
                }
                Due::NotYet(o) => {
                    store::reviews::advance(conn, &d.id, to_i32(o.index), Some(o.start), now)?;
                    Ok(0)
                }
                Due::Start { occurrence, skipped } => {
                    if skipped > 0 {
                        audit(
                            conn,
                            now,
                            "OccurrencesSkipped",
                            "AccessReviewDefinition",
                            &d.id,
                            serde_json::json!({
                                "skipped": skipped,
                                "reason": "attest was not running during their whole window",
                            }),
                        )?;
                    }
                    let n = start_occurrence(conn, &d, occurrence, now)?;
                    let following = schedule.occurrence(occurrence.index + 1);
                    store::reviews::advance(
                        conn,
                        &d.id,
                        to_i32(occurrence.index + 1),
                        following.map(|o| o.start),
                        now,
                    )?;
                    Ok(n)
                }
            }
        })?;
    }
    Ok(created)
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn resources(conn: &mut DbConnection, d: &DefinitionRow) -> Result<Vec<Resource>, AppError> {
    let links = store::reviews::resources(conn, &d.id)?;
    let mut out = Vec::new();
    if d.scope_kind == "GuestGroups" {
        let excluded: Vec<&String> = links.iter().filter(|(_, _, ex)| *ex).map(|(_, id, _)| id).collect();
        for g in store::groups::m365_with_guests(conn)? {
            if !excluded.contains(&&g.id) {
                out.push(Resource { kind: "Group", id: g.id, name: g.display_name });
            }
        }
        return Ok(out);
    }
    for (kind, id, excluded) in links {
        if excluded {
            continue;
        }
        // A resource deleted since the series was created is simply not reviewed.
        let found = match kind.as_str() {
            "Group" => store::groups::get(conn, &id)?.map(|g| ("Group", g.display_name)),
            "Application" => store::apps::get(conn, &id)?.map(|a| ("Application", a.display_name)),
            _ => store::roles::get(conn, &id)?.map(|r| ("Role", r.display_name)),
        };
        if let Some((kind, name)) = found {
            out.push(Resource { kind, id, name });
        }
    }
    Ok(out)
}

fn population(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    r: &Resource,
    now: NaiveDateTime,
) -> Result<Vec<Access>, AppError> {
    let describe = |paths: &[AccessPath]| -> (String, bool) {
        let direct = paths.iter().any(AccessPath::is_direct);
        (paths.iter().map(AccessPath::describe).collect::<Vec<_>>().join("; "), direct)
    };
    Ok(match r.kind {
        "Group" => {
            let Some(group) = store::groups::get(conn, &r.id)? else { return Ok(Vec::new()) };
            let closure = store::groups::closure(conn, &group)?;
            store::groups::all_member_paths(conn, &closure, false)?
                .into_iter()
                .map(|(user, paths)| {
                    let (path, direct) = describe(&paths);
                    Access { user, path, direct, detail: String::new() }
                })
                .collect()
        }
        "Application" => {
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
                    Access { user, path, direct, detail: role }
                })
                .collect()
        }
        _ => {
            let types: &[&str] = match d.role_assignment_types.as_deref() {
                Some("Active") => &["Active"],
                Some("Eligible") => &["Eligible"],
                _ => &["Active", "Eligible"],
            };
            let mut by_user: HashMap<String, Access> = HashMap::new();
            for (a, user) in store::roles::in_force_with_users(conn, &r.id, d.resource_scope.as_deref(), types, now)? {
                let detail = format!("{} at {}", a.assignment_type, a.scope_name);
                match by_user.get_mut(&user.id) {
                    // One item per person: several assignments are listed together.
                    Some(existing) => {
                        existing.path.push_str("; ");
                        existing.path.push_str(&detail);
                    }
                    None => {
                        by_user.insert(
                            user.id.clone(),
                            Access { user, path: detail, direct: true, detail: a.assignment_type },
                        );
                    }
                }
            }
            by_user.into_values().collect()
        }
    })
}

/// Last sign-ins of many users to one application, in chunks that fit the parameter limits.
fn last_sign_ins(
    conn: &mut DbConnection,
    ids: &[String],
    app: &str,
) -> Result<HashMap<String, NaiveDateTime>, AppError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        out.extend(store::sign_ins::last_for_users(conn, chunk, Some(app))?);
    }
    Ok(out)
}

/// The display names of the managers of `people`, by id: from the population where they
/// are in it, else from the directory (in chunks that fit the parameter limits).
fn manager_names(conn: &mut DbConnection, people: &[Access]) -> Result<HashMap<String, String>, AppError> {
    let mut names: HashMap<String, String> = HashMap::new();
    let known: HashMap<&str, &str> =
        people.iter().map(|a| (a.user.id.as_str(), a.user.display_name.as_str())).collect();
    let mut missing: Vec<String> = Vec::new();
    for m in people.iter().filter_map(|a| a.user.manager_id.as_deref()) {
        match known.get(m) {
            Some(name) => {
                names.insert(m.to_owned(), (*name).to_owned());
            }
            None => missing.push(m.to_owned()),
        }
    }
    missing.sort();
    missing.dedup();
    for chunk in missing.chunks(5_000) {
        names.extend(store::users::refs(conn, chunk)?.into_iter().map(|u| (u.id, u.display_name)));
    }
    Ok(names)
}

fn start_occurrence(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    o: Occurrence,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let named = store::reviews::reviewers(conn, &d.id)?;
    let selected: Vec<String> = named.iter().filter(|(_, f)| !f).map(|(u, _)| u.id.clone()).collect();
    let fallbacks: Vec<String> = named.iter().filter(|(_, f)| *f).map(|(u, _)| u.id.clone()).collect();
    let mut created = 0;
    for r in resources(conn, d)? {
        if store::instances::exists(conn, &d.id, to_i32(o.index), r.kind, &r.id)? {
            continue;
        }
        // Phase timings go to the log: starting a big instance is the slowest thing
        // attest does, and an operator should see where the time went.
        let began = Instant::now();
        let mut people = population(conn, d, &r, now)?;
        let population_done = Instant::now();
        // Users to review: everyone, guests, or the inactive (not counting new accounts).
        match (d.user_scope.as_str(), d.inactive_days) {
            ("Guests", _) => people.retain(|a| a.user.user_type == "Guest"),
            ("Inactive", Some(days)) => {
                let cutoff = now - TimeDelta::days(i64::from(days));
                people.retain(|a| a.user.created_at < cutoff && a.user.last_sign_in_at.is_none_or(|at| at < cutoff));
            }
            _ => {}
        }
        people.sort_by(|a, b| (&a.user.display_name, &a.user.id).cmp(&(&b.user.display_name, &b.user.id)));
        // Group and role reviews look at sign-ins to the tenant, kept on the user; app
        // reviews at sign-ins to that app, from the sign-in log.
        let app_last = match (r.kind == "Application").then_some(r.id.as_str()) {
            Some(app) => Some(last_sign_ins(conn, &people.iter().map(|a| a.user.id.clone()).collect::<Vec<_>>(), app)?),
            None => None,
        };
        let sign_ins_done = Instant::now();

        // Reviewers, fixed now. Owners and selected reviewers review the whole instance;
        // managers and self-reviewers their own items; the fallbacks what has nobody else —
        // and, for independence, the access of the reviewers themselves: nobody decides
        // their own access outside a self-review (see `route`).
        let kind = d.reviewer_kind.as_str();
        let reviewers: HashSet<String> = match kind {
            "Owners" => match r.kind {
                "Application" => store::apps::owners(conn, &r.id, 1_000)?,
                _ => store::groups::owners(conn, &r.id, 1_000)?,
            }
            .into_iter()
            .map(|u| u.id)
            .collect(),
            "Selected" => selected.iter().cloned().collect(),
            // Managers decide their own people only; the rest goes to the fallbacks.
            _ => HashSet::new(),
        };
        // A fallback who is also a reviewer counts as a reviewer.
        let fallback_pool: Vec<String> = fallbacks.iter().filter(|f| !reviewers.contains(*f)).cloned().collect();
        let assigned_to = |a: &Access| match kind {
            "Self" => Some(a.user.id.clone()),
            // Nobody is their own manager; a directory that says so gets the fallbacks.
            "Managers" => a.user.manager_id.clone().filter(|m| *m != a.user.id),
            _ => None,
        };
        let routes: Vec<(Option<String>, Pool)> = people
            .iter()
            .map(|a| match assigned_to(a) {
                Some(reviewer) => (Some(reviewer), Pool::Reviewers),
                None => (None, route(&a.user.id, &reviewers, &fallback_pool)),
            })
            .collect();
        let in_fallback_pool = |f: &String| {
            people
                .iter()
                .zip(&routes)
                .any(|(a, (who, pool))| who.is_none() && *pool == Pool::Fallback && a.user.id != *f)
        };
        let mut instance_reviewers: Vec<(String, bool)> = reviewers.iter().map(|u| (u.clone(), false)).collect();
        instance_reviewers.sort();
        if kind == "Managers" {
            let mut managers: Vec<String> = routes.iter().filter_map(|(who, _)| who.clone()).collect();
            managers.sort();
            managers.dedup();
            instance_reviewers.extend(managers.into_iter().map(|m| (m, false)));
        }
        // One row per person: a manager who is also a deciding fallback is a fallback (their
        // own people come to them by name either way).
        for f in fallback_pool.iter().filter(|f| in_fallback_pool(f)) {
            match instance_reviewers.iter_mut().find(|(u, _)| u == f) {
                Some(row) => row.1 = true,
                None => instance_reviewers.push((f.clone(), true)),
            }
        }
        let own_access_routed = people
            .iter()
            .zip(&routes)
            .filter(|(a, (who, pool))| {
                who.is_none()
                    && *pool != Pool::Reviewers
                    && (reviewers.contains(&a.user.id) || fallback_pool.contains(&a.user.id))
            })
            .count();

        // The context reviewers see on each row: job title, department, manager's name.
        let manager_names = manager_names(conn, &people)?;
        let instance_id = uuid::Uuid::new_v4().to_string();
        let lookback = u32::try_from(d.lookback_days).unwrap_or(30);
        let items: Vec<ItemRow> = people
            .into_iter()
            .zip(routes)
            .map(|(a, (reviewer_id, pool))| {
                let last_sign_in = match &app_last {
                    Some(last) => last.get(&a.user.id).copied(),
                    None => a.user.last_sign_in_at,
                };
                // App reviews look at sign-ins to the app, and their reasons say so.
                let scope = if app_last.is_some() { SignInScope::Application(&r.name) } else { SignInScope::Directory };
                let (rec, reason) =
                    recommend(d.recommendations_enabled, a.user.enabled, last_sign_in, lookback, scope, now);
                let manager =
                    a.user.manager_id.as_ref().and_then(|m| manager_names.get(m).cloned()).unwrap_or_default();
                ItemRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    instance_id: instance_id.clone(),
                    principal_id: a.user.id,
                    principal_name: a.user.display_name,
                    principal_upn: a.user.upn,
                    principal_type: a.user.user_type,
                    access_path: a.path,
                    access_direct: a.direct,
                    access_detail: a.detail,
                    reviewer_id,
                    last_sign_in,
                    recommendation: rec.as_str().to_owned(),
                    recommendation_reason: reason,
                    decision: "NotReviewed".into(),
                    justification: String::new(),
                    reviewed_by: None,
                    reviewed_at: None,
                    apply_result: "New".into(),
                    apply_detail: String::new(),
                    applied_by: None,
                    applied_at: None,
                    reviewer_pool: pool.as_str().to_owned(),
                    principal_job_title: a.user.job_title.unwrap_or_default(),
                    principal_department: a.user.department.unwrap_or_default(),
                    principal_manager: manager,
                }
            })
            .collect();
        let total = to_i32(u32::try_from(items.len()).unwrap_or(u32::MAX));
        let count = |keep: &dyn Fn(&ItemRow) -> bool| {
            to_i32(u32::try_from(items.iter().filter(|i| keep(i)).count()).unwrap_or(u32::MAX))
        };
        let recommended_deny = count(&|i| i.recommendation == Recommendation::Deny.as_str());
        let recommended_approve = count(&|i| i.recommendation == Recommendation::Approve.as_str());
        let routed_to_admins = count(&|i| i.reviewer_id.is_none() && i.reviewer_pool == Pool::Admins.as_str());
        store::instances::insert(
            conn,
            &InstanceRow {
                id: instance_id.clone(),
                definition_id: d.id.clone(),
                occurrence: to_i32(o.index),
                resource_type: r.kind.to_owned(),
                resource_id: r.id.clone(),
                resource_name: r.name.clone(),
                resource_scope: d.resource_scope.clone(),
                start_at: o.start,
                end_at: o.end,
                status: "InProgress".into(),
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
            },
        )?;
        store::instances::insert_reviewers(conn, &instance_id, &instance_reviewers)?;
        let items_built = Instant::now();
        store::instances::insert_items(conn, &items)?;
        // The start mails go out with the instance or not at all: same transaction.
        if let Some(started) = store::instances::get(conn, &instance_id)? {
            crate::service::notify::instance_started(conn, d, &started, now)?;
        }
        let written = Instant::now();
        tracing::info!(
            instance = %instance_id,
            items = total,
            population_ms = (population_done - began).as_millis(),
            sign_ins_ms = (sign_ins_done - population_done).as_millis(),
            build_ms = (items_built - sign_ins_done).as_millis(),
            write_ms = (written - items_built).as_millis(),
            "review instance started"
        );
        audit(
            conn,
            now,
            "ReviewInstanceStarted",
            "AccessReviewInstance",
            &instance_id,
            serde_json::json!({
                "definitionId": d.id,
                "occurrence": o.index,
                "resource": r.name,
                "items": total,
                "recommendedDeny": recommended_deny,
                "reviewers": instance_reviewers.len(),
                "ownAccessRouted": own_access_routed,
                "routedToAdmins": routed_to_admins,
                "daysLong": days_since(o.start, o.end),
            }),
        )?;
        created += 1;
    }
    Ok(created)
}
