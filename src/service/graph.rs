//! The use cases behind the Graph-compatible API, for an API caller: the same rules as the
//! pages. An application client (application permission) reads every series, occurrence
//! and decision and, with write permission, creates, changes, stops, resets and applies
//! them as an admin would; it decides nothing (Graph records decisions for a reviewer); a person
//! (personal access token) sees and changes exactly what their pages and access panel do —
//! the same guards and the same "not found" for what they may not see.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::decision::{Action, Decision};
use crate::domain::review::{DefinitionStatus, ReviewScope};
use crate::error::AppError;
use crate::service::api_access::Caller;
use crate::service::panel::{self, Access, Refused, Selection};
use crate::service::reviews::{self, DefinitionDetail};
use crate::service::sessions::ADMIN_ROLES;
use crate::store;
use crate::store::Keyset;
use crate::store::decisions::{ItemFilter, ListedItem};
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;
use crate::store::users::UserRow;

/// Where a page of a collection starts: after this (sort name, id), or at the start.
pub type After = Option<(String, String)>;

fn keyset(after: &After) -> Keyset {
    after.as_ref().map_or(Keyset::First, |(name, id)| Keyset::After(name.clone(), id.clone()))
}

fn not_found(what: &str) -> AppError {
    AppError::NotFound(format!("No {what} with this id exists, or the caller may not see it."))
}

/// Which series the caller manages: all for a client or an admin, their own resources' for
/// an owner who may manage reviews, none otherwise (`Forbidden`).
fn review_scope(conn: &mut DbConnection, caller: &Caller, now: NaiveDateTime) -> Result<ReviewScope, AppError> {
    let Caller::Person { user, .. } = caller else { return Ok(ReviewScope::All) };
    if store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)? {
        return Ok(ReviewScope::All);
    }
    if crate::service::onboarding::owners_manage_reviews(conn)? && store::users::owns_group_or_app(conn, &user.id)? {
        return Ok(ReviewScope::OwnedBy(user.id.clone()));
    }
    // Reviewers read their own work through instances/filterByCurrentUser(on='reviewer').
    Err(AppError::Forbidden)
}

/// How many series a filtered list reads at a time.
const SCAN: usize = 200;

/// A page of the series (not deleted) by name, each with its resources and reviewers, that
/// `keep` keeps (Graph's `$filter`, tested by the API edge on the object it shows): up to
/// `top`, and one more when another page follows; with how many it keeps in all when
/// `count` asks. A filter reads on until the page is full: series are few (one per
/// control), so reading them all is bounded.
pub fn definitions(
    conn: &mut DbConnection,
    caller: &Caller,
    after: &After,
    (top, count): (usize, bool),
    keep: impl Fn(&DefinitionDetail) -> bool,
    now: NaiveDateTime,
) -> Result<(Vec<DefinitionDetail>, Option<i64>), AppError> {
    let scope = review_scope(conn, caller, now)?;
    let mut kept = Vec::new();
    each_series(conn, scope.owner(), keyset(after), |detail| {
        if keep(&detail) {
            kept.push(detail);
        }
        kept.len() <= top
    })?;
    let total = if count {
        let mut n = 0_i64;
        each_series(conn, scope.owner(), Keyset::First, |detail| {
            n += i64::from(keep(&detail));
            true
        })?;
        Some(n)
    } else {
        None
    };
    Ok((kept, total))
}

/// Visits the series (of `owner`, or all) by name from `from`, each with its resources and
/// reviewers, while `visit` asks for more.
fn each_series(
    conn: &mut DbConnection,
    owner: Option<&str>,
    mut from: Keyset,
    mut visit: impl FnMut(DefinitionDetail) -> bool,
) -> Result<(), AppError> {
    loop {
        let rows = store::reviews::list(conn, owner, &from, SCAN)?;
        let more = rows.len() > SCAN;
        for row in rows.into_iter().take(SCAN) {
            from = Keyset::After(row.display_name.clone(), row.id.clone());
            if !visit(reviews::detail_of(conn, row, 0)?) {
                return Ok(());
            }
        }
        if !more {
            return Ok(());
        }
    }
}

/// A series the caller manages and that is not deleted (Graph forgets a deleted
/// definition: reading, changing or deleting it again is a 404), or 404.
fn live(conn: &mut DbConnection, scope: &ReviewScope, id: &str) -> Result<DefinitionRow, AppError> {
    reviews::managed(conn, scope, id)
        .ok()
        .filter(|d| d.status != DefinitionStatus::Deleted)
        .ok_or_else(|| not_found("access review definition"))
}

/// One series with its resources and reviewers.
pub fn definition(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    now: NaiveDateTime,
) -> Result<DefinitionDetail, AppError> {
    let scope = review_scope(conn, caller, now)?;
    let row = live(conn, &scope, id)?;
    reviews::detail_of(conn, row, 0)
}

/// Graph's `stop` on a series: its occurrences in progress stop (the default decision goes
/// to the items nobody reviewed, auto-apply runs) and no further one starts.
pub fn stop_definition(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    let scope = review_scope(conn, caller, now)?;
    let d = live(conn, &scope, id)?;
    if d.status == DefinitionStatus::Completed {
        return Ok(Err(Refused("This access review has already completed: there is nothing to stop.".into())));
    }
    for i in store::instances::for_definition(conn, id, 10_000)?.into_iter().filter(|i| i.status.is_open()) {
        // One that ended meanwhile (the scheduler got there first) is as good as stopped.
        let _ = crate::service::results::stop(conn, &d, &i, caller.actor(), now)?;
    }
    reviews::end_series(conn, &d, caller.actor(), now)?;
    Ok(Ok(()))
}

/// The occurrences of a series (newest first, at most `limit`).
pub fn instances(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<InstanceRow>, AppError> {
    let scope = review_scope(conn, caller, now)?;
    live(conn, &scope, definition)?;
    Ok(store::instances::for_definition(conn, definition, limit)?)
}

/// The series (not deleted) the calling person reviews in, by name, each whole (Graph's
/// `definitions/filterByCurrentUser(on='reviewer')`).
pub fn my_definitions(
    conn: &mut DbConnection,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<Vec<DefinitionDetail>, AppError> {
    let user = reviewer(caller).map_err(|_| {
        AppError::BadRequest("filterByCurrentUser needs a signed-in user: call it with a personal access token.".into())
    })?;
    let is_admin = store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)?;
    let mut ids: Vec<String> = panel::my_reviews(conn, &user.id, is_admin)?
        .into_iter()
        .filter(|r| r.scope.decider().is_some())
        .map(|r| r.instance.definition_id)
        .collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(d) = store::reviews::get(conn, &id)?.filter(|d| d.status != DefinitionStatus::Deleted) {
            out.push(reviews::detail_of(conn, d, 0)?);
        }
    }
    out.sort_by(|a, b| {
        (&a.definition.display_name, &a.definition.id).cmp(&(&b.definition.display_name, &b.definition.id))
    });
    Ok(out)
}

/// The occurrences of a series that the calling person reviews (Graph's
/// `filterByCurrentUser(on='reviewer')`).
pub fn my_instances(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    now: NaiveDateTime,
) -> Result<Vec<InstanceRow>, AppError> {
    let Caller::Person { user, .. } = caller else {
        return Err(AppError::BadRequest(
            "filterByCurrentUser needs a signed-in user: call it with a personal access token.".into(),
        ));
    };
    let is_admin = store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)?;
    let mut out = Vec::new();
    for instance in store::instances::for_definition(conn, definition, 1000)? {
        if panel::access(conn, &instance.id, &user.id, is_admin)?.is_some_and(|a| a.scope.decider().is_some()) {
            out.push(instance);
        }
    }
    Ok(out)
}

/// What the caller may do with one occurrence: an application reads every item; a person
/// what their access panel shows (`mine`: only the items they decide, as
/// `filterByCurrentUser(on='reviewer')` asks) — or, for an admin or the series' manager
/// not reviewing it, every item to read.
fn access(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    mine: bool,
    now: NaiveDateTime,
) -> Result<Access, AppError> {
    let found = store::instances::get_with_definition(conn, instance)?
        .filter(|(i, _)| i.definition_id == definition)
        .ok_or_else(|| not_found("access review instance"))?;
    match caller {
        Caller::App { .. } if mine => Err(AppError::BadRequest(
            "filterByCurrentUser needs a signed-in user: call it with a personal access token.".into(),
        )),
        Caller::App { .. } => {
            let (instance, definition) = found;
            Access::read_all(conn, instance, definition)
        }
        Caller::Person { user, .. } => {
            // A manager of the series reads every item (as on the results page), unless
            // they ask for their own part.
            if !mine
                && let Ok(scope) = review_scope(conn, caller, now)
                && reviews::managed(conn, &scope, definition).is_ok()
            {
                let (instance, definition) = found;
                return Access::read_all(conn, instance, definition);
            }
            let is_admin = store::roles::holds_active_directory_role(conn, &user.id, ADMIN_ROLES, now)?;
            panel::access(conn, instance, &user.id, is_admin)?.ok_or_else(|| not_found("access review instance"))
        }
    }
}

/// One occurrence.
pub fn instance(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    now: NaiveDateTime,
) -> Result<InstanceRow, AppError> {
    Ok(access(conn, caller, definition, instance, false, now)?.instance)
}

/// The stages of instance `instance` of series `definition` (Graph's
/// `…/instances/{id}/stages`), for whoever may read the instance: none for a one-stage
/// instance.
pub fn instance_stages(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    now: NaiveDateTime,
) -> Result<(InstanceRow, Vec<crate::service::rows::InstanceStageRow>), AppError> {
    let row = self::instance(conn, caller, definition, instance, now)?;
    let stages = if row.stage_count > 1 { store::stages::of_instance(conn, &row.id)? } else { Vec::new() };
    Ok((row, stages))
}

/// Ends stage `stage` of instance `instance` now (Graph's `…/stages/{id}/stop`), as an admin
/// or API client who manages the series would with the results page's *End stage N now*:
/// only the stage in progress.
pub fn stop_stage(
    conn: &mut DbConnection,
    caller: &Caller,
    (definition, instance): (&str, &str),
    stage: &str,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    let (d, i) = managed_instance(conn, caller, definition, instance, now)?;
    let Some(stage) = stage.parse::<i32>().ok().filter(|n| (1..=i.stage_count).contains(n) && i.stage_count > 1) else {
        return Err(not_found("access review stage"));
    };
    if stage != i.stage {
        return Ok(Err(Refused(format!(
            "Stage {stage} is not the stage in progress: the instance is in stage {} of {}.",
            i.stage, i.stage_count
        ))));
    }
    Ok(crate::service::results::stop_stage(conn, &d, &i, caller.actor(), now)?.map(|_| ()))
}

/// A page of decision items, and the reviewers' names by id.
pub struct Decisions {
    /// The occurrence (its resource is every item's).
    pub instance: InstanceRow,
    /// Up to `top` items, and one more when another page follows.
    pub items: Vec<ListedItem>,
    /// Display names of the reviewers who decided them, by id.
    pub names: HashMap<String, String>,
    /// How many items the filter lists in all, when asked.
    pub count: Option<i64>,
}

/// A page of an occurrence's decision items by principal name, as the caller may see them.
#[expect(clippy::too_many_arguments, reason = "one collection request: who, which, what filter and which page")]
pub fn decisions(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    mine: bool,
    filter: &ItemFilter,
    after: &After,
    (top, count): (usize, bool),
    now: NaiveDateTime,
) -> Result<Decisions, AppError> {
    let access = access(conn, caller, definition, instance, mine, now)?;
    let items = store::decisions::page(conn, instance, &access.scope, filter, &keyset(after), top)?;
    let names = names_of(conn, &items)?;
    let count = if count { Some(store::decisions::count(conn, instance, &access.scope, filter)?) } else { None };
    Ok(Decisions { instance: access.instance, items, names, count })
}

/// One decision item the caller may see.
pub fn decision(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    item: &str,
    now: NaiveDateTime,
) -> Result<Decisions, AppError> {
    let access = access(conn, caller, definition, instance, false, now)?;
    let item = store::decisions::get_listed(conn, instance, &access.scope, item)?
        .ok_or_else(|| not_found("access review decision"))?;
    let items = vec![ListedItem::from(item)];
    let names = names_of(conn, &items)?;
    Ok(Decisions { instance: access.instance, items, names, count: None })
}

/// Display names of the people (or API clients) who decided or applied `items`, by id.
fn names_of(conn: &mut DbConnection, items: &[ListedItem]) -> Result<HashMap<String, String>, AppError> {
    let mut ids: Vec<String> =
        items.iter().flat_map(|r| [r.reviewed_by.clone(), r.applied_by.clone()]).flatten().collect();
    ids.sort();
    ids.dedup();
    let mut names = store::users::display_names(conn, &ids)?;
    let unknown: Vec<&String> = ids.iter().filter(|id| !names.contains_key(*id)).collect();
    for id in unknown {
        if let Some(client) = store::api_clients::client(conn, id)? {
            names.insert(id.clone(), crate::service::api_access::client_label(&client));
        }
    }
    Ok(names)
}

/// Records a person's decision on one item, with the access panel's rules (an open review,
/// their item, a reason where the series asks for one).
#[expect(clippy::too_many_arguments, reason = "one decision: who, where, what and why")]
pub fn record_decision(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    item: &str,
    decision: Decision,
    justification: &str,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    let user = reviewer(caller)?;
    let access = access(conn, caller, definition, instance, false, now)?;
    let action = match decision {
        Decision::Approve => Action::Approve,
        Decision::Deny => Action::Deny,
        Decision::DontKnow => Action::DontKnow,
        Decision::NotReviewed => {
            return Ok(Err(Refused("decision: use Approve, Deny or DontKnow.".into())));
        }
    };
    let decided =
        panel::decide(conn, &access, &Selection::Items(vec![item.to_owned()]), action, justification, user, now)?;
    Ok(decided.map(|_| ()))
}

/// An action on an occurrence, as Graph names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceAction {
    /// `stop`: end it now (the default decision goes to the items nobody reviewed).
    Stop,
    /// `resetDecisions`: every decision back to not reviewed.
    ResetDecisions,
    /// `applyDecisions`: remove the denied access.
    ApplyDecisions,
    /// `acceptRecommendations`: the reviewer takes the recommendation for their undecided items.
    AcceptRecommendations,
    /// `batchRecordDecisions`: one decision for the reviewer's items (of one principal, when named).
    BatchRecordDecisions { decision: Decision, justification: String, principal: Option<String> },
    /// Mail a reminder now to every reviewer who has not finished (Entra's sendReminder).
    SendReminder,
}

/// Runs `action` on an occurrence as the caller: the series' managers (a person who
/// manages it, or an application client with write permission, as in Graph) stop, reset,
/// apply and remind (as on the results page); reviewers accept recommendations and record
/// decisions in batches (as in their access panel) — a person only, as in Graph, so that
/// every decision names the person who made it.
pub fn instance_action(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    action: InstanceAction,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    let actor = caller.actor();
    match action {
        InstanceAction::Stop
        | InstanceAction::ResetDecisions
        | InstanceAction::ApplyDecisions
        | InstanceAction::SendReminder => {
            let (d, i) = managed_instance(conn, caller, definition, instance, now)?;
            match action {
                InstanceAction::Stop => crate::service::results::stop(conn, &d, &i, actor, now),
                InstanceAction::ResetDecisions => Ok(crate::service::results::reset(conn, &i, actor, now)?.map(|_| ())),
                InstanceAction::SendReminder => match crate::service::notify::send_reminder(conn, &i, actor, now) {
                    Ok(_) => Ok(Ok(())),
                    Err(AppError::Conflict(m)) => Ok(Err(Refused(m))),
                    Err(e) => Err(e),
                },
                _ => Ok(crate::service::apply::apply(conn, &i.id, actor, now)?.map(|_| ())),
            }
        }
        InstanceAction::AcceptRecommendations => {
            let user = reviewer(caller)?;
            let access = access(conn, caller, definition, instance, true, now)?;
            let selection = Selection::Matching(ItemFilter::default());
            Ok(panel::decide(conn, &access, &selection, Action::AcceptRecommendations, "", user, now)?.map(|_| ()))
        }
        InstanceAction::BatchRecordDecisions { decision, justification, principal } => {
            let user = reviewer(caller)?;
            let access = access(conn, caller, definition, instance, true, now)?;
            let action = match decision {
                Decision::Approve => Action::Approve,
                Decision::Deny => Action::Deny,
                Decision::DontKnow => Action::DontKnow,
                Decision::NotReviewed => return Ok(Err(Refused("decision: use Approve, Deny or DontKnow.".into()))),
            };
            let selection = match principal {
                Some(p) => {
                    let items =
                        store::decisions::targets_matching(conn, instance, &access.scope, &ItemFilter::default())?;
                    Selection::Items(items.into_iter().filter(|t| t.principal_id == p).map(|t| t.id).collect())
                }
                None => Selection::Matching(ItemFilter::default()),
            };
            Ok(panel::decide(conn, &access, &selection, action, &justification, user, now)?.map(|_| ()))
        }
    }
}

/// The person a decision is recorded for: an application client decides nothing, as in
/// Graph (its permission reads and manages reviews; a decision names a reviewer).
fn reviewer(caller: &Caller) -> Result<&UserRow, AppError> {
    match caller {
        Caller::Person { user, .. } => Ok(user),
        Caller::App { .. } => Err(AppError::BadRequest(
            "Decisions are recorded for a person: call with the reviewer's personal access token.".into(),
        )),
    }
}

/// An occurrence the caller manages (a person who manages the series, or any application
/// client), or 404.
fn managed_instance(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    now: NaiveDateTime,
) -> Result<(DefinitionRow, InstanceRow), AppError> {
    let scope = review_scope(conn, caller, now).map_err(|_| not_found("access review instance"))?;
    crate::service::results::managed_instance(conn, &scope, definition, instance)
        .map_err(|_| not_found("access review instance"))
}

/// A page of the reviewers an occurrence's mails went to (Entra's contactedReviewers),
/// for those who manage it: up to `top` after `after` (name, user id), and one more when
/// another page follows; with their UPNs by user id.
pub fn contacted_reviewers(
    conn: &mut DbConnection,
    caller: &Caller,
    definition: &str,
    instance: &str,
    after: &Option<(String, String)>,
    top: usize,
    now: NaiveDateTime,
) -> Result<(Vec<crate::service::notify::ContactedReviewer>, HashMap<String, String>), AppError> {
    let (_, i) = managed_instance(conn, caller, definition, instance, now)?;
    let limit = i64::try_from(top.saturating_add(1)).unwrap_or(i64::MAX);
    let rows = crate::service::notify::contacted_reviewers(conn, &i.id, after.as_ref(), limit)?;
    let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let upns = store::users::refs(conn, &ids)?.into_iter().map(|u| (u.id, u.upn)).collect();
    Ok((rows, upns))
}

/// What a series reviews, as a Graph client's scope names it (by ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphScope {
    /// Members of these groups.
    Groups(Vec<String>),
    /// Guests of every Microsoft 365 group.
    GuestGroups,
    /// Users assigned to these applications.
    Applications(Vec<String>),
    /// Holders of these directory roles (active and eligible).
    DirectoryRoles(Vec<String>),
}

/// Who reviews, as a Graph client's reviewer scopes name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphReviewers {
    /// An empty list: each person reviews their own access.
    SelfReview,
    /// `./manager`.
    Managers,
    /// The resource's owners.
    Owners,
    /// These users (ids).
    Users(Vec<String>),
}

/// A series as a Graph client sends it, read by the API edge (ids, not names).
#[derive(Debug, Clone)]
pub struct GraphDefinition {
    pub display_name: String,
    pub description_for_reviewers: String,
    pub description_for_admins: String,
    pub scope: GraphScope,
    /// Only guests of the scope.
    pub guests_only: bool,
    /// Only people inactive this many days.
    pub inactive_days: Option<i64>,
    pub reviewers: GraphReviewers,
    /// User ids.
    pub fallback_reviewers: Vec<String>,
    /// User ids.
    pub additional_recipients: Vec<String>,
    pub mail_notifications: bool,
    pub reminders: bool,
    pub justification_required: bool,
    /// The default decision's stored spelling ("None" when not enabled).
    pub default_decision: String,
    pub duration_days: i64,
    pub auto_apply: bool,
    pub recommendations: bool,
    pub lookback_days: i64,
    pub block_then_delete: bool,
    /// The frequency's stored spelling.
    pub frequency: String,
    pub start_date: String,
    /// The end kind's stored spelling, with its date or count.
    pub end_kind: String,
    pub end_date: String,
    pub occurrences: String,
}

/// Turns a Graph series into the review form the pages validate: the same rules, the same
/// messages. Ids are looked up by name; an id that names nothing is kept as given so that
/// the form's check names it.
fn form_of_graph(conn: &mut DbConnection, g: &GraphDefinition) -> Result<crate::domain::review::ReviewForm, AppError> {
    use crate::domain::review::{
        GuestDeniedAction, ReviewForm, ReviewerKind, RoleAssignmentTypes, ScopeKind, UserScopeKind,
    };
    let user_upns = |conn: &mut DbConnection, ids: &[String]| -> Result<String, AppError> {
        let mut out = Vec::new();
        for id in ids {
            out.push(store::users::get(conn, id)?.map_or_else(|| id.clone(), |u| u.upn));
        }
        Ok(out.join("\n"))
    };
    let mut form = ReviewForm {
        name: g.display_name.clone(),
        description_for_reviewers: g.description_for_reviewers.clone(),
        description_for_admins: g.description_for_admins.clone(),
        role_assignment_types: RoleAssignmentTypes::Both.as_str().into(),
        user_scope: match (g.guests_only, g.inactive_days) {
            (_, Some(_)) => UserScopeKind::Inactive.as_str().into(),
            (true, None) => UserScopeKind::Guests.as_str().into(),
            (false, None) => UserScopeKind::All.as_str().into(),
        },
        inactive_days: g.inactive_days.unwrap_or(90).to_string(),
        start_date: g.start_date.clone(),
        frequency: g.frequency.clone(),
        duration_days: g.duration_days.to_string(),
        end_kind: g.end_kind.clone(),
        end_date: g.end_date.clone(),
        occurrences: g.occurrences.clone(),
        auto_apply: g.auto_apply.then(|| "on".into()),
        default_decision: g.default_decision.clone(),
        guest_denied_action: if g.block_then_delete {
            GuestDeniedAction::BlockThenDelete.as_str().into()
        } else {
            GuestDeniedAction::RemoveAccess.as_str().into()
        },
        recommendations: g.recommendations.then(|| "on".into()),
        lookback_days: g.lookback_days.to_string(),
        justification_required: g.justification_required.then(|| "on".into()),
        mail_notifications: g.mail_notifications.then(|| "on".into()),
        reminders: g.reminders.then(|| "on".into()),
        // Graph has no days: a new series reminds on the default days, a changed one keeps
        // its own (see update_definition).
        reminder_half_time: Some("on".into()),
        reminder_days: crate::domain::notify::ReminderSchedule::default().days_text(),
        ..ReviewForm::default()
    };
    match &g.scope {
        GraphScope::Groups(ids) => {
            form.scope = ScopeKind::Groups.as_str().into();
            let mut names = Vec::new();
            for id in ids {
                names.push(store::groups::get(conn, id)?.map_or_else(|| id.clone(), |x| x.display_name));
            }
            form.groups = names.join("\n");
        }
        GraphScope::GuestGroups => form.scope = ScopeKind::GuestGroups.as_str().into(),
        GraphScope::Applications(ids) => {
            form.scope = ScopeKind::Applications.as_str().into();
            let mut names = Vec::new();
            for id in ids {
                names.push(store::apps::get(conn, id)?.map_or_else(|| id.clone(), |x| x.display_name));
            }
            form.applications = names.join("\n");
        }
        GraphScope::DirectoryRoles(ids) => {
            form.scope = ScopeKind::DirectoryRoles.as_str().into();
            let mut names = Vec::new();
            for id in ids {
                names.push(store::roles::get(conn, id)?.map_or_else(|| id.clone(), |x| x.display_name));
            }
            form.roles = names.join("\n");
        }
    }
    match &g.reviewers {
        GraphReviewers::SelfReview => form.reviewer_kind = ReviewerKind::Self_.as_str().into(),
        GraphReviewers::Managers => form.reviewer_kind = ReviewerKind::Managers.as_str().into(),
        GraphReviewers::Owners => form.reviewer_kind = ReviewerKind::Owners.as_str().into(),
        GraphReviewers::Users(ids) => {
            form.reviewer_kind = ReviewerKind::Selected.as_str().into();
            form.reviewers = user_upns(conn, ids)?;
        }
    }
    form.fallback_reviewers = user_upns(conn, &g.fallback_reviewers)?;
    form.additional_recipients = user_upns(conn, &g.additional_recipients)?;
    Ok(form)
}

/// Creates a series from a Graph client's definition, as the calling person (an admin, or
/// an owner who may manage reviews), with the create form's rules; returns it whole, or
/// every problem.
pub fn create_definition(
    conn: &mut DbConnection,
    caller: &Caller,
    input: &GraphDefinition,
    now: NaiveDateTime,
) -> Result<Result<DefinitionDetail, Vec<crate::domain::review::FieldError>>, AppError> {
    let scope = review_scope(conn, caller, now)?;
    let mut form = form_of_graph(conn, input)?;
    if form.start_date.trim().is_empty() {
        form.start_date = now.date().format("%Y-%m-%d").to_string();
    }
    let draft = match form.validate(now.date()) {
        Ok(draft) => draft,
        Err(errors) => return Ok(Err(errors)),
    };
    match reviews::create(conn, &draft, &scope, caller.actor(), now)? {
        Ok(id) => Ok(Ok(reviews::detail(conn, &scope, &id, 0)?)),
        Err(errors) => Ok(Err(errors)),
    }
}

/// Deletes a series as the calling person (its occurrences in progress stop).
pub fn delete_definition(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let scope = review_scope(conn, caller, now)?;
    live(conn, &scope, id)?;
    reviews::delete(conn, id, &scope, caller.actor(), now).map(|_| ())
}

/// Changes a series from a Graph client's definition, as the calling person, with the edit
/// form's rules (what it reviews, who reviews and when it starts stay as they are, as in
/// Entra); returns it whole, or every problem.
pub fn update_definition(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    input: &GraphDefinition,
    now: NaiveDateTime,
) -> Result<Result<DefinitionDetail, Vec<crate::domain::review::FieldError>>, AppError> {
    let scope = review_scope(conn, caller, now)?;
    let stored = live(conn, &scope, id)?;
    let mut form = form_of_graph(conn, input)?;
    if let Some(plan) = stored.reminders() {
        form.reminder_half_time = plan.half_time.then(|| "on".into());
        form.reminder_days = plan.days_text();
    }
    // Graph input here carries no stage, escalation or outcome settings: the series keeps
    // its own.
    let kept = reviews::form_of(conn, &stored)?;
    form.stages = kept.stages;
    form.escalation = kept.escalation;
    form.escalation_days = kept.escalation_days;
    form.escalation_target = kept.escalation_target;
    form.outcome_rule = kept.outcome_rule;
    form.stage2_outcome_rule = kept.stage2_outcome_rule;
    form.stage3_outcome_rule = kept.stage3_outcome_rule;
    match reviews::update(conn, id, &form, &scope, caller.actor(), now)? {
        Ok(()) => Ok(Ok(reviews::detail(conn, &scope, id, 0)?)),
        Err(errors) => Ok(Err(errors)),
    }
}
