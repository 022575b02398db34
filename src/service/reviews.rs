//! Creating review series: the draft's names are resolved against the directory, and the
//! definition, its resources, its reviewers and the audit event are saved together.

use std::collections::HashSet;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::directory::{GroupType, RoleKind};
use crate::domain::notify::ReminderSchedule;
use crate::domain::outcome::OutcomeRule;
use crate::domain::paging::{ListRequest, PAGE_SIZE, Page};
use crate::domain::recurrence::SeriesEnd;
use crate::domain::review::{
    DefinitionDraft, DefinitionStatus, DirectoryKind, FieldError, GuestDeniedAction, ResourceKind, ReviewScope,
    ReviewerKind, RoleAssignmentTypes, ScopeKind, UserScope,
};
use crate::domain::stage::{LaterStageForm, Move, Moves, StageForm};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
use crate::store::Keyset;
use crate::store::instances::{CurrentInstance, InstanceRow};
use crate::store::reviews::{DefinitionRow, ResourceLink};
use crate::store::users::UserRef;

/// Saves a new series, or says which names did not resolve. Nothing is saved unless all
/// of it is valid.
pub fn create(
    conn: &mut DbConnection,
    draft: &DefinitionDraft,
    manager: &ReviewScope,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<Result<String, Vec<FieldError>>, AppError> {
    let mut errors = Vec::new();
    let owned = match manager.owner() {
        Some(owner) => {
            if !matches!(draft.scope, ScopeKind::Groups | ScopeKind::Applications) {
                errors.push(FieldError { field: "scope", message: OWNER_SCOPE.into() });
            }
            Some(Owned::of(conn, owner)?)
        }
        None => None,
    };
    let mut resources: Vec<ResourceLink> = Vec::new();
    for name in &draft.resources {
        match draft.scope {
            ScopeKind::Groups => match store::groups::by_name(conn, name)? {
                Some(g) if owned.as_ref().is_some_and(|o| !o.groups.contains(&g.id)) => errors.push(FieldError {
                    field: "groups",
                    message: format!("You are not an owner of “{name}”: you can create reviews only of groups you own"),
                }),
                Some(g) => resources.push((ResourceKind::Group, g.id, false)),
                None => errors.push(FieldError { field: "groups", message: format!("No group is named “{name}”: check the name in the Groups list") }),
            },
            ScopeKind::Applications => match store::apps::by_name(conn, name)? {
                Some(a) if !a.assignment_required => errors.push(FieldError {
                    field: "applications",
                    message: format!("“{name}” does not require assignment, so everyone can sign in to it and there are no assignments to review"),
                }),
                Some(a) if owned.as_ref().is_some_and(|o| !o.apps.contains(&a.id)) => errors.push(FieldError {
                    field: "applications",
                    message: format!("You are not an owner of “{name}”: you can create reviews only of applications you own"),
                }),
                Some(a) => resources.push((ResourceKind::Application, a.id, false)),
                None => errors.push(FieldError { field: "applications", message: format!("No application is named “{name}”: check the name in the Applications list") }),
            },
            ScopeKind::DirectoryRoles => match store::roles::by_name(conn, name, RoleKind::Directory)? {
                Some(r) => resources.push((ResourceKind::Role, r.id, false)),
                None => errors.push(FieldError { field: "roles", message: format!("No directory role is named “{name}”: check the name in the Roles list") }),
            },
            ScopeKind::ResourceRoles => match store::roles::by_name(conn, name, RoleKind::Resource)? {
                Some(r) => resources.push((ResourceKind::Role, r.id, false)),
                None => errors.push(FieldError { field: "resource_role", message: format!("No resource role is named “{name}”: check the name in the Roles list") }),
            },
            ScopeKind::GuestGroups => {}
        }
    }
    for name in &draft.excluded_groups {
        match store::groups::by_name(conn, name)? {
            Some(g) => resources.push((ResourceKind::Group, g.id, true)),
            None => errors.push(FieldError {
                field: "excluded_groups",
                message: format!("No group is named “{name}”: check the name in the Groups list"),
            }),
        }
    }
    let reviewers = named(conn, &draft.reviewers, &draft.fallback_reviewers, 1, &mut errors)?;
    let stage_reviewers = later_stage_reviewers(conn, draft, &mut errors)?;
    let additional_recipients = recipients(conn, &draft.additional_recipients, &mut errors)?;
    if draft.reviewer_kind == ReviewerKind::Owners && draft.fallback_reviewers.is_empty() {
        errors.extend(ownerless(conn, &resources)?);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }

    let id = uuid::Uuid::new_v4().to_string();
    let schedule = draft.schedule;
    let (end_date, occurrences) = stored_end(schedule.end);
    let inactive_days = match draft.user_scope {
        UserScope::Inactive(days) => Some(i32::try_from(days).unwrap_or(730)),
        UserScope::All | UserScope::Guests => None,
    };
    let row = DefinitionRow {
        id: id.clone(),
        display_name: draft.name.clone(),
        description_for_reviewers: draft.description_for_reviewers.clone(),
        description_for_admins: draft.description_for_admins.clone(),
        scope_kind: draft.scope,
        role_assignment_types: draft.role_assignment_types,
        resource_scope: draft.resource_scope.clone(),
        user_scope: draft.user_scope.kind(),
        inactive_days,
        reviewer_kind: draft.reviewer_kind,
        start_date: schedule.start,
        frequency: schedule.frequency,
        duration_days: i32::try_from(schedule.duration_days).unwrap_or(1),
        end_kind: schedule.end.kind(),
        end_date,
        occurrences,
        auto_apply: draft.auto_apply,
        default_decision: draft.default_decision,
        guest_denied_action: if draft.block_then_delete_guests {
            GuestDeniedAction::BlockThenDelete
        } else {
            GuestDeniedAction::RemoveAccess
        },
        recommendations_enabled: draft.recommendations,
        lookback_days: i32::try_from(draft.lookback_days).unwrap_or(30),
        justification_required: draft.justification_required,
        mail_notifications: draft.mail_notifications,
        reminder_schedule: draft.reminders.as_ref().map(ReminderSchedule::to_stored).unwrap_or_default(),
        additional_recipients,
        status: DefinitionStatus::Active,
        next_occurrence: 0,
        next_start_at: schedule.occurrence(0).map(|o| o.start),
        created_by: actor.id().unwrap_or_default().to_owned(),
        created_at: now,
        updated_at: now,
        created_by_name: actor.name().to_owned(),
    };
    let stages = stage_rows(&id, draft);
    let details = serde_json::json!({
        "displayName": row.display_name,
        "scope": row.scope_kind,
        "resources": resources.iter().map(|(t, id, excluded)| serde_json::json!({"type": t, "id": id, "excluded": excluded})).collect::<Vec<_>>(),
        "reviewers": row.reviewer_kind,
        "frequency": row.frequency,
        "durationInDays": row.duration_days,
        "startDate": row.start_date.to_string(),
        "stages": stages.iter().map(|s| serde_json::json!({
            "stage": s.stage, "reviewers": s.reviewer_kind, "durationInDays": s.duration_days, "moves": s.moves,
        })).collect::<Vec<_>>(),
    });
    conn.write(|conn| {
        store::reviews::insert(conn, &row, &resources, &reviewers)?;
        if !stages.is_empty() {
            store::stages::insert_definition_stages(conn, &stages, &stage_reviewers, &id)?;
        }
        store::escalations::set(conn, &id, draft.escalation)?;
        store::outcomes::set(conn, &id, &draft.outcome_rules)?;
        store::audit::append(
            conn,
            &actor.event(now, "CreateReviewDefinition", ("AccessReviewDefinition", &id), details.clone()),
        )
    })?;
    Ok(Ok(id))
}

/// Resolves named reviewers (user principal names) to enabled users: (user id, fallback).
/// Problems are reported against stage `stage`'s fields.
fn named(
    conn: &mut DbConnection,
    reviewers: &[String],
    fallbacks: &[String],
    stage: usize,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<(String, bool)>, AppError> {
    let fields = match stage {
        2 => ("stage2_reviewers", "stage2_fallback_reviewers"),
        3 => ("stage3_reviewers", "stage3_fallback_reviewers"),
        _ => ("reviewers", "fallback_reviewers"),
    };
    let mut out: Vec<(String, bool)> = Vec::new();
    for (upns, fallback, field) in [(reviewers, false, fields.0), (fallbacks, true, fields.1)] {
        for upn in upns {
            match store::users::by_upn(conn, upn)? {
                Some(u) if u.enabled => out.push((u.id, fallback)),
                Some(_) => errors.push(FieldError {
                    field,
                    message: format!("{upn} is disabled and could not review: choose someone else"),
                }),
                None => {
                    errors.push(FieldError { field, message: format!("No user has the user principal name {upn}") })
                }
            }
        }
    }
    Ok(out)
}

/// The named reviewers of a draft's later stages: (stage, user id, fallback).
fn later_stage_reviewers(
    conn: &mut DbConnection,
    draft: &DefinitionDraft,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<(i32, String, bool)>, AppError> {
    let mut out = Vec::new();
    for (n, stage) in draft.staging.iter().flat_map(|s| s.later.iter()).enumerate() {
        let number = n + 2;
        for (user, fallback) in named(conn, &stage.reviewers, &stage.fallback_reviewers, number, errors)? {
            out.push((i32::try_from(number).unwrap_or(3), user, fallback));
        }
    }
    Ok(out)
}

/// The stage rows of a new series (none for one stage).
fn stage_rows(id: &str, draft: &DefinitionDraft) -> Vec<store::stages::DefinitionStageRow> {
    let Some(staging) = &draft.staging else { return Vec::new() };
    let days = |d: u32| i32::try_from(d).unwrap_or(i32::MAX);
    let mut rows = vec![store::stages::DefinitionStageRow {
        definition_id: id.to_owned(),
        stage: 1,
        reviewer_kind: draft.reviewer_kind,
        duration_days: days(staging.first_duration),
        moves: staging.first_moves.to_stored(),
        recommendations_enabled: draft.recommendations,
        decision_histories: false,
    }];
    for (n, s) in staging.later.iter().enumerate() {
        rows.push(store::stages::DefinitionStageRow {
            definition_id: id.to_owned(),
            stage: i32::try_from(n + 2).unwrap_or(3),
            reviewer_kind: s.reviewer_kind,
            duration_days: days(s.duration_days),
            moves: s.moves.to_stored(),
            recommendations_enabled: s.recommendations,
            decision_histories: staging.decision_histories,
        });
    }
    rows
}

/// An edit keeps a series' stages (how many, who reviews each, how long, what moves on);
/// only the later stages' named reviewers may change.
fn kept_stages(mut stored: StageForm, posted: &StageForm) -> StageForm {
    for (kept, sent) in stored.later.iter_mut().zip(&posted.later) {
        kept.reviewers.clone_from(&sent.reviewers);
        kept.fallback_reviewers.clone_from(&sent.fallback_reviewers);
    }
    stored
}

/// The date and count stored beside an end's kind.
fn stored_end(end: SeriesEnd) -> (Option<chrono::NaiveDate>, Option<i32>) {
    match end {
        SeriesEnd::Never => (None, None),
        SeriesEnd::OnDate(date) => (Some(date), None),
        SeriesEnd::AfterOccurrences(n) => (None, Some(i32::try_from(n).unwrap_or(i32::MAX))),
    }
}

/// In an owners review without fallback reviewers, the chosen groups and applications that
/// have no owner today: nobody would review them, so the form asks for a fallback reviewer.
/// (Owners are looked up again when each occurrence starts; a resource that loses its last
/// owner later goes to the fallback reviewers, or to an administrator when there is none.)
fn ownerless(conn: &mut DbConnection, resources: &[ResourceLink]) -> Result<Option<FieldError>, AppError> {
    let mut names = Vec::new();
    for (kind, id, excluded) in resources {
        let (has_owner, name) = match kind {
            _ if *excluded => continue,
            ResourceKind::Group => (!store::groups::owners(conn, id, 1)?.is_empty(), store::groups::name_of(conn, id)?),
            ResourceKind::Application => {
                (!store::apps::owners(conn, id, 1)?.is_empty(), store::apps::name_of(conn, id)?)
            }
            ResourceKind::Role => continue,
        };
        if !has_owner {
            names.push(format!("“{}”", name.unwrap_or_default()));
        }
    }
    let message = match names.as_slice() {
        [] => return Ok(None),
        [one] => format!("{one} has no owner: enter a fallback reviewer to review it"),
        [first @ .., last] => {
            format!("{} and {last} have no owner: enter a fallback reviewer to review them", first.join(", "))
        }
    };
    Ok(Some(FieldError { field: "fallback_reviewers", message }))
}

/// How many choices a picker shows at once.
pub const PICK_LIMIT: usize = 20;

/// A name a picker of the review forms offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    /// What goes into the field: the name, or a user's principal name.
    pub value: String,
    /// How people know it: the name, or a user's display name.
    pub label: String,
    /// What tells it apart: a user's principal name, a group's type, a role's description.
    pub detail: String,
}

/// What a picker found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    /// At most [`PICK_LIMIT`] choices, by name.
    pub choices: Vec<Choice>,
    /// Whether more names start with the text (typing more narrows them).
    pub more: bool,
}

/// The groups, applications, roles or people whose name (or user principal name) starts
/// with `text`, for the review forms' pickers. An owner who manages reviews of what they
/// own finds only their own groups and applications, and no roles.
pub fn find(
    conn: &mut DbConnection,
    manager: &ReviewScope,
    kind: DirectoryKind,
    text: &str,
) -> Result<Found, AppError> {
    let limit = i64::try_from(PICK_LIMIT + 1).unwrap_or(i64::MAX);
    let lower = text.to_lowercase();
    let starts = |name: &str| name.to_lowercase().starts_with(&lower);
    let named = |name: String, detail: String| Choice { value: name.clone(), label: name, detail };
    let group_type = |t: GroupType| format!("{} group", t.label());
    let mut choices: Vec<Choice> = match (kind, manager.owner()) {
        (DirectoryKind::Groups, Some(owner)) => store::groups::owned_by(conn, owner, 10_000)?
            .into_iter()
            .filter(|g| starts(&g.display_name))
            .map(|g| named(g.display_name, group_type(g.group_type)))
            .collect(),
        (DirectoryKind::Applications, Some(owner)) => store::apps::owned_by(conn, owner, 10_000)?
            .into_iter()
            .filter(|a| a.assignment_required && starts(&a.display_name))
            .map(|a| named(a.display_name, String::new()))
            .collect(),
        (DirectoryKind::DirectoryRoles | DirectoryKind::ResourceRoles, Some(_)) => Vec::new(),
        (DirectoryKind::Groups, None) => store::search::groups(conn, text, limit)?
            .into_iter()
            .map(|m| named(m.name, GroupType::parse(&m.detail).map_or_else(|| m.detail.clone(), group_type)))
            .collect(),
        (DirectoryKind::Applications, None) => {
            store::search::applications(conn, text, limit)?.into_iter().map(|m| named(m.name, m.detail)).collect()
        }
        (DirectoryKind::DirectoryRoles, None) => store::search::roles(conn, RoleKind::Directory, text, limit)?
            .into_iter()
            .map(|m| named(m.name, m.detail))
            .collect(),
        (DirectoryKind::ResourceRoles, None) => store::search::roles(conn, RoleKind::Resource, text, limit)?
            .into_iter()
            .map(|m| named(m.name, m.detail))
            .collect(),
        (DirectoryKind::Users, _) => store::search::users(conn, text, limit)?
            .into_iter()
            .map(|m| Choice { value: m.detail.clone(), label: m.name, detail: m.detail })
            .collect(),
    };
    let more = choices.len() > PICK_LIMIT;
    choices.truncate(PICK_LIMIT);
    Ok(Found { choices, more })
}

/// What an owner may review, said when they pick anything else.
const OWNER_SCOPE: &str =
    "As an owner you can review the members of groups you own or the users assigned to applications you own";

/// The groups and applications an owner owns (an owner has a handful, not thousands).
pub struct Owned {
    /// Ids of owned groups.
    pub groups: HashSet<String>,
    /// Ids of owned applications.
    pub apps: HashSet<String>,
    /// Names of both, by kind then name, for the create form's hint.
    pub names: Vec<String>,
}

impl Owned {
    /// What `user` owns now.
    pub fn of(conn: &mut DbConnection, user: &str) -> Result<Self, AppError> {
        let groups = store::groups::owned_by(conn, user, 10_000)?;
        let apps = store::apps::owned_by(conn, user, 10_000)?;
        Ok(Self {
            names: groups
                .iter()
                .map(|g| g.display_name.clone())
                .chain(apps.iter().map(|a| a.display_name.clone()))
                .collect(),
            groups: groups.into_iter().map(|g| g.id).collect(),
            apps: apps.into_iter().map(|a| a.id).collect(),
        })
    }
}

/// The additional recipients of the completion mail, checked against the directory: user
/// principal names, or group names (their members get the mail), as the directory spells
/// them, one per line. Unknown or disabled people are reported against the field.
fn recipients(conn: &mut DbConnection, upns: &[String], errors: &mut Vec<FieldError>) -> Result<String, AppError> {
    let field = "additional_recipients";
    let mut found: Vec<String> = Vec::new();
    for upn in upns {
        match store::users::by_upn(conn, upn)? {
            Some(u) if u.enabled => found.push(u.upn),
            Some(_) => errors.push(FieldError { field, message: format!("{upn} is disabled and could not read mail") }),
            None => match store::groups::by_name(conn, upn)? {
                Some(g) => found.push(g.display_name),
                // Something with an @ was meant as a person; anything else may be a group.
                None if upn.contains('@') => {
                    errors.push(FieldError { field, message: format!("No user has the user principal name {upn}") })
                }
                None => errors.push(FieldError { field, message: format!("No user or group is called {upn}") }),
            },
        }
    }
    found.sort();
    found.dedup();
    Ok(found.join("\n"))
}

/// The series `id` if `manager` may manage it. A series outside an owner's scope is
/// reported as missing, so its existence is not revealed.
pub fn managed(conn: &mut DbConnection, manager: &ReviewScope, id: &str) -> Result<DefinitionRow, AppError> {
    let found = store::reviews::get(conn, id)?;
    let allowed = match (&found, manager.owner()) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(_), Some(owner)) => store::reviews::is_owned_only(conn, id, owner)?,
    };
    match found {
        Some(d) if allowed => Ok(d),
        _ => Err(AppError::NotFound(
            "There is no access review with this id. Go back to the list of access reviews.".into(),
        )),
    }
}

/// The series `id` and its form, for the edit page, if `manager` may manage it; a deleted
/// series cannot be changed.
pub fn editable(
    conn: &mut DbConnection,
    manager: &ReviewScope,
    id: &str,
) -> Result<(DefinitionRow, crate::domain::review::ReviewForm), AppError> {
    let d = managed(conn, manager, id)?;
    if d.status == DefinitionStatus::Deleted {
        return Err(AppError::Conflict("This access review was deleted; it cannot be changed.".into()));
    }
    let form = form_of(conn, &d)?;
    Ok((d, form))
}

/// The create form filled in from a saved series (for the edit page).
pub fn form_of(conn: &mut DbConnection, d: &DefinitionRow) -> Result<crate::domain::review::ReviewForm, AppError> {
    use crate::domain::review::ReviewForm;
    let plan = d.reminders().unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let mut excluded: Vec<String> = Vec::new();
    for (kind, id, is_excluded) in store::reviews::resources(conn, &d.id)? {
        let name = match kind {
            ResourceKind::Group => store::groups::get(conn, &id)?.map(|g| g.display_name),
            ResourceKind::Application => store::apps::get(conn, &id)?.map(|a| a.display_name),
            ResourceKind::Role => store::roles::get(conn, &id)?.map(|r| r.display_name),
        };
        if let Some(name) = name {
            if is_excluded { excluded.push(name) } else { names.push(name) }
        }
    }
    let reviewers = store::reviews::reviewers(conn, &d.id)?;
    let upns = |fallback: bool| -> String {
        reviewers.iter().filter(|(_, f)| *f == fallback).map(|(u, _)| u.upn.clone()).collect::<Vec<_>>().join("\n")
    };
    let on = |b: bool| b.then(|| "on".to_owned());
    let joined = names.join("\n");
    let stage_rows = store::stages::of_definition(conn, &d.id)?;
    let mut stages = StageForm::with_defaults();
    let moves_of = |stored: &str| -> Vec<String> {
        Moves::stored(stored).unwrap_or_default().iter().map(|m: Move| m.as_str().to_owned()).collect()
    };
    if let Some(first) = stage_rows.first() {
        stages.count = stage_rows.len().to_string();
        stages.first_moves = moves_of(&first.moves);
        stages.decision_histories = on(stage_rows.iter().any(|s| s.decision_histories));
    }
    for row in stage_rows.iter().skip(1) {
        let named = store::stages::stage_reviewers(conn, &d.id, row.stage)?;
        let upns = |fallback: bool| -> String {
            named.iter().filter(|(_, f)| *f == fallback).map(|(u, _)| u.upn.clone()).collect::<Vec<_>>().join("\n")
        };
        let form = LaterStageForm {
            reviewer_kind: row.reviewer_kind.as_str().to_owned(),
            reviewers: upns(false),
            fallback_reviewers: upns(true),
            duration_days: row.duration_days.to_string(),
            recommendations: on(row.recommendations_enabled),
            moves: moves_of(&row.moves),
        };
        if let Some(slot) = usize::try_from(row.stage - 2).ok().and_then(|i| stages.later.get_mut(i)) {
            *slot = form;
        }
    }
    // With stages, the duration field is stage 1's.
    let duration_days = stage_rows.first().map_or(d.duration_days, |f| f.duration_days);
    let escalation = store::escalations::of_definition(conn, &d.id)?;
    let rules = store::outcomes::of_definition(conn, &d.id)?;
    let rule_of = |stage: i32| {
        rules.iter().find(|(s, _)| *s == stage).map_or_else(OutcomeRule::default, |(_, r)| *r).as_str().to_owned()
    };
    Ok(ReviewForm {
        name: d.display_name.clone(),
        description_for_reviewers: d.description_for_reviewers.clone(),
        description_for_admins: d.description_for_admins.clone(),
        scope: d.scope_kind.as_str().to_owned(),
        groups: if d.scope_kind == ScopeKind::Groups { joined.clone() } else { String::new() },
        excluded_groups: excluded.join("\n"),
        applications: if d.scope_kind == ScopeKind::Applications { joined.clone() } else { String::new() },
        roles: if d.scope_kind == ScopeKind::DirectoryRoles { joined.clone() } else { String::new() },
        role_assignment_types: d.role_assignment_types.unwrap_or(RoleAssignmentTypes::Both).as_str().to_owned(),
        resource_role: if d.scope_kind == ScopeKind::ResourceRoles { joined } else { String::new() },
        resource_scope: d.resource_scope.clone().unwrap_or_default(),
        user_scope: d.user_scope.as_str().to_owned(),
        inactive_days: d.inactive_days.map(|n| n.to_string()).unwrap_or_else(|| "90".into()),
        reviewer_kind: d.reviewer_kind.as_str().to_owned(),
        reviewers: upns(false),
        fallback_reviewers: upns(true),
        start_date: d.start_date.format("%Y-%m-%d").to_string(),
        frequency: d.frequency.as_str().to_owned(),
        duration_days: duration_days.to_string(),
        end_kind: d.end_kind.as_str().to_owned(),
        end_date: d.end_date.map(|x| x.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        occurrences: d.occurrences.map(|n| n.to_string()).unwrap_or_default(),
        auto_apply: on(d.auto_apply),
        default_decision: d.default_decision.as_str().to_owned(),
        guest_denied_action: d.guest_denied_action.as_str().to_owned(),
        recommendations: on(d.recommendations_enabled),
        lookback_days: d.lookback_days.to_string(),
        justification_required: on(d.justification_required),
        mail_notifications: on(d.mail_notifications),
        reminders: on(d.reminders().is_some()),
        // Reminders off keep the default days in the form, for when they are turned on.
        reminder_half_time: on(plan.half_time),
        reminder_days: plan.days_text(),
        additional_recipients: d.additional_recipients.clone(),
        stages,
        outcome_rule: rule_of(1),
        stage2_outcome_rule: rule_of(2),
        stage3_outcome_rule: rule_of(3),
        escalation: on(escalation.is_some()),
        // Escalation off keeps the default days and target in the form, for when it is on.
        escalation_days: escalation.map_or(3, |e| e.days_before).to_string(),
        escalation_target: escalation
            .map_or(crate::domain::escalation::EscalationTarget::Managers, |e| e.target)
            .as_str()
            .to_owned(),
        ..ReviewForm::default()
    })
}

/// Applies an edit: what the series reviews and its schedule's start and rhythm stay as
/// they are (they are taken from the stored series, whatever was posted); names,
/// descriptions, reviewers, the end of the series and the settings of later instances
/// change. Running instances keep their snapshot.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    posted: &crate::domain::review::ReviewForm,
    manager: &ReviewScope,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<Result<(), Vec<FieldError>>, AppError> {
    let old = managed(conn, manager, id)?;
    if old.status == DefinitionStatus::Deleted {
        return Err(AppError::Conflict("This access review was deleted; it cannot be changed.".into()));
    }
    let stored = form_of(conn, &old)?;
    let form = crate::domain::review::ReviewForm {
        scope: stored.scope,
        groups: stored.groups,
        excluded_groups: stored.excluded_groups,
        applications: stored.applications,
        roles: stored.roles,
        role_assignment_types: stored.role_assignment_types,
        resource_role: stored.resource_role,
        resource_scope: stored.resource_scope,
        user_scope: stored.user_scope,
        inactive_days: stored.inactive_days,
        reviewer_kind: stored.reviewer_kind,
        start_date: stored.start_date,
        frequency: stored.frequency,
        duration_days: stored.duration_days,
        guest_denied_action: stored.guest_denied_action,
        stages: kept_stages(stored.stages, &posted.stages),
        ..posted.clone()
    };
    let old_staged = !store::stages::of_definition(conn, &old.id)?.is_empty();
    let mut form = form;
    if form.recommendations.is_none() {
        // Recommendations turned off: no stage can show them (stage 1's follow the series).
        form.stages.later.iter_mut().for_each(|s| s.recommendations = None);
        // Nothing is decided as recommended any more: that choice of what moves on lapses.
        let lapsed = |moves: &mut Vec<String>| moves.retain(|m| m != Move::Recommendation.as_str());
        lapsed(&mut form.stages.first_moves);
        form.stages.later.iter_mut().for_each(|s| lapsed(&mut s.moves));
    }
    // The start may lie in the past now; it is not being changed.
    let draft = match form.validate_with(now.date(), old.start_date.min(now.date())) {
        Ok(draft) => draft,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut errors = Vec::new();
    let reviewers = named(conn, &draft.reviewers, &draft.fallback_reviewers, 1, &mut errors)?;
    let stage_reviewers = later_stage_reviewers(conn, &draft, &mut errors)?;
    let additional_recipients = recipients(conn, &draft.additional_recipients, &mut errors)?;
    if draft.reviewer_kind == ReviewerKind::Owners && draft.fallback_reviewers.is_empty() {
        let resources = store::reviews::resources(conn, &old.id)?;
        errors.extend(ownerless(conn, &resources)?);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let (end_date, occurrences) = stored_end(draft.schedule.end);
    let next = u32::try_from(old.next_occurrence).unwrap_or(0);
    let next_start_at = if old.status == DefinitionStatus::Active {
        draft.schedule.occurrence(next).map(|o| o.start)
    } else {
        old.next_start_at
    };
    let new = DefinitionRow {
        display_name: draft.name.clone(),
        description_for_reviewers: draft.description_for_reviewers.clone(),
        description_for_admins: draft.description_for_admins.clone(),
        end_kind: draft.schedule.end.kind(),
        end_date,
        occurrences,
        auto_apply: draft.auto_apply,
        default_decision: draft.default_decision,
        recommendations_enabled: draft.recommendations,
        lookback_days: i32::try_from(draft.lookback_days).unwrap_or(30),
        justification_required: draft.justification_required,
        mail_notifications: draft.mail_notifications,
        reminder_schedule: draft.reminders.as_ref().map(ReminderSchedule::to_stored).unwrap_or_default(),
        additional_recipients,
        next_start_at,
        updated_at: now,
        ..old.clone()
    };
    let mut changes = serde_json::Map::new();
    let mut note = |field: &str, a: String, b: String| {
        if a != b {
            changes.insert(field.into(), serde_json::json!({ "old": a, "new": b }));
        }
    };
    note("displayName", old.display_name.clone(), new.display_name.clone());
    note("descriptionForReviewers", old.description_for_reviewers.clone(), new.description_for_reviewers.clone());
    note("descriptionForAdmins", old.description_for_admins.clone(), new.description_for_admins.clone());
    note(
        "end",
        format!("{} {:?} {:?}", old.end_kind, old.end_date, old.occurrences),
        format!("{} {:?} {:?}", new.end_kind, new.end_date, new.occurrences),
    );
    note("defaultDecision", old.default_decision.to_string(), new.default_decision.to_string());
    note("autoApply", old.auto_apply.to_string(), new.auto_apply.to_string());
    note(
        "recommendations",
        format!("{} {}", old.recommendations_enabled, old.lookback_days),
        format!("{} {}", new.recommendations_enabled, new.lookback_days),
    );
    note("justificationRequired", old.justification_required.to_string(), new.justification_required.to_string());
    let described =
        |e: Option<crate::domain::escalation::Escalation>| e.map_or_else(|| "off".to_owned(), |e| e.describe());
    note("escalation", described(store::escalations::of_definition(conn, &old.id)?), described(draft.escalation));
    let rules = |r: &[(i32, OutcomeRule)]| {
        r.iter().filter(|(_, r)| r.keeps_votes()).map(|(s, r)| format!("{s}:{r}")).collect::<Vec<_>>().join(" ")
    };
    note("outcomeRules", rules(&store::outcomes::of_definition(conn, &old.id)?), rules(&draft.outcome_rules));
    note(
        "notifications",
        format!("{} {}", old.mail_notifications, old.reminder_schedule),
        format!("{} {}", new.mail_notifications, new.reminder_schedule),
    );
    note(
        "additionalRecipients",
        old.additional_recipients.replace('\n', ", "),
        new.additional_recipients.replace('\n', ", "),
    );
    let mut before: Vec<String> = store::reviews::reviewers(conn, &old.id)?
        .into_iter()
        .map(|(u, f)| format!("{}{}", u.upn, if f { " (fallback)" } else { "" }))
        .collect();
    before.sort();
    let mut after: Vec<String> = draft
        .reviewers
        .iter()
        .map(|u| u.to_lowercase())
        .chain(draft.fallback_reviewers.iter().map(|u| format!("{} (fallback)", u.to_lowercase())))
        .collect();
    after.sort();
    note("reviewers", before.join(", ").to_lowercase(), after.join(", "));
    conn.write(|conn| {
        store::reviews::replace(conn, &new, &reviewers)?;
        if old_staged {
            store::stages::replace_stage_reviewers(conn, &new.id, &stage_reviewers)?;
            if let Some(staging) = &draft.staging {
                let later = staging.later.iter().map(|s| s.recommendations);
                for (n, on) in std::iter::once(draft.recommendations).chain(later).enumerate() {
                    store::stages::set_recommendations(conn, &new.id, i32::try_from(n + 1).unwrap_or(3), on)?;
                }
            }
        }
        store::escalations::set(conn, &new.id, draft.escalation)?;
        store::outcomes::set(conn, &new.id, &draft.outcome_rules)?;
        store::audit::append(
            conn,
            &actor.event(
                now,
                "UpdateReviewDefinition",
                ("AccessReviewDefinition", id),
                serde_json::Value::Object(changes.clone()),
            ),
        )
    })?;
    Ok(Ok(()))
}

/// Deletes a series: no occurrence starts any more; instances in progress run to their
/// end so reviewers' work is not lost; history and audit trail stay. Answers the series'
/// name.
pub fn delete(
    conn: &mut DbConnection,
    id: &str,
    manager: &ReviewScope,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let d = managed(conn, manager, id)?;
    if d.status == DefinitionStatus::Deleted {
        return Ok(d.display_name);
    }
    conn.write(|conn| {
        store::reviews::advance(conn, id, d.next_occurrence, None, now)?;
        store::reviews::set_status(conn, id, DefinitionStatus::Deleted, now)?;
        store::audit::append(
            conn,
            &actor.event(
                now,
                "DeleteReviewDefinition",
                ("AccessReviewDefinition", id),
                serde_json::json!({ "displayName": d.display_name, "status": { "old": d.status, "new": DefinitionStatus::Deleted } }),
            ),
        )
    })?;
    Ok(d.display_name)
}

/// Ends a series (Graph's `stop` on a definition): no further occurrence starts and it
/// shows as completed; audited. Its occurrences in progress are the caller's to stop.
pub fn end_series(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    conn.write(|conn| {
        store::reviews::advance(conn, &d.id, d.next_occurrence, None, now)?;
        store::reviews::set_status(conn, &d.id, DefinitionStatus::Completed, now)?;
        store::audit::append(
            conn,
            &actor.event(
                now,
                "StopReviewDefinition",
                ("AccessReviewDefinition", &d.id),
                serde_json::json!({ "displayName": d.display_name, "status": { "old": d.status, "new": DefinitionStatus::Completed } }),
            ),
        )
    })?;
    Ok(())
}

/// A page of the series list.
#[derive(Debug, Clone)]
pub struct DefinitionList {
    /// The series on the page.
    pub page: Page<DefinitionRow>,
    /// The occurrence of each that runs now, if any.
    pub current: Vec<CurrentInstance>,
    /// The names of their resources: (series, name; `None` once deleted), by series.
    pub resource_names: Vec<(String, Option<String>)>,
    /// Whether and when access reviews were turned on in the tenant.
    pub onboarded: Option<super::onboarding::Onboarded>,
    /// Whether the viewer may turn them on.
    pub may_onboard: bool,
}

/// A page of the series that are not deleted, by name, as `viewer` (managing `manager`'s
/// scope: an owner sees only the series they may manage) sees the list at `now`.
pub fn list(
    conn: &mut DbConnection,
    manager: &ReviewScope,
    viewer: &str,
    req: &ListRequest,
    now: NaiveDateTime,
) -> Result<DefinitionList, AppError> {
    let keyset = Keyset::resolve(&req.at, |id| store::reviews::name_of(conn, id))?;
    let rows = store::reviews::list(conn, manager.owner(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |d| d.id.clone());
    let ids: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
    let current = store::instances::current(conn, &ids)?;
    let resource_names = store::reviews::resource_names(conn, &ids)?;
    let onboarded = super::onboarding::status(conn)?;
    let may_onboard = super::onboarding::may_onboard(conn, viewer, now)?;
    Ok(DefinitionList { page, current, resource_names, onboarded, may_onboard })
}

/// What a new series is prefilled with when it is created from a resource's page: the
/// scope kind and the resource's name, if the resource exists.
pub fn prefill(
    conn: &mut DbConnection,
    group: Option<&str>,
    application: Option<&str>,
    role: Option<&str>,
) -> Result<Option<(ScopeKind, String)>, AppError> {
    Ok(if let Some(id) = group {
        store::groups::get(conn, id)?.map(|g| (ScopeKind::Groups, g.display_name))
    } else if let Some(id) = application {
        store::apps::get(conn, id)?.map(|a| (ScopeKind::Applications, a.display_name))
    } else if let Some(id) = role {
        store::roles::get(conn, id)?.map(|r| (ScopeKind::of_role(r.role_kind), r.display_name))
    } else {
        None
    })
}

/// A resource of a series, named as the directory names it now.
#[derive(Debug, Clone)]
pub struct NamedResource {
    /// A group, an application or a role.
    pub kind: ResourceKind,
    /// The resource's id.
    pub id: String,
    /// Its name; `None` once deleted from the directory.
    pub name: Option<String>,
    /// Excluded from the review rather than reviewed.
    pub excluded: bool,
}

/// Everything a series' page shows.
#[derive(Debug, Clone)]
pub struct DefinitionDetail {
    /// The series.
    pub definition: DefinitionRow,
    /// Its resources and exclusions.
    pub resources: Vec<NamedResource>,
    /// Its named reviewers, with whether each is a fallback.
    pub reviewers: Vec<(UserRef, bool)>,
    /// Who created it (the name kept with the series once the account is gone).
    pub created_by: String,
    /// Its latest occurrences, at most `limit`.
    pub instances: Vec<InstanceRow>,
    /// Whether what nobody reviewed is escalated, and how.
    pub escalation: Option<crate::domain::escalation::Escalation>,
    /// Its stages (none for a one-stage series), each with its named reviewers (stage 1's
    /// are `reviewers`).
    pub stages: Vec<(store::stages::DefinitionStageRow, Vec<(UserRef, bool)>)>,
    /// How several reviewers' decisions count, by stage, where not the default.
    pub outcome_rules: Vec<(i32, OutcomeRule)>,
}

/// The series `id` as `manager` may see it, with its latest `limit` occurrences.
pub fn detail(
    conn: &mut DbConnection,
    manager: &ReviewScope,
    id: &str,
    limit: i64,
) -> Result<DefinitionDetail, AppError> {
    let definition = managed(conn, manager, id)?;
    detail_of(conn, definition, limit)
}

/// A series the caller may see, with its resources, reviewers and latest `limit`
/// occurrences.
pub fn detail_of(conn: &mut DbConnection, definition: DefinitionRow, limit: i64) -> Result<DefinitionDetail, AppError> {
    let id = definition.id.clone();
    let id = id.as_str();
    let names = store::reviews::resource_names_of(conn, id)?;
    let resources = store::reviews::resources(conn, id)?
        .into_iter()
        .map(|(kind, rid, excluded)| NamedResource { kind, name: names.get(&rid).cloned(), id: rid, excluded })
        .collect();
    let reviewers = store::reviews::reviewers(conn, id)?;
    // The creator's account may be gone (a deleted guest): the name kept with the series.
    let created_by = store::users::get(conn, &definition.created_by)?
        .map_or_else(|| definition.created_by_name.clone(), |u| u.display_name);
    let instances = store::instances::for_definition(conn, id, limit)?;
    let mut stages = Vec::new();
    for stage in store::stages::of_definition(conn, id)? {
        let named =
            if stage.stage > 1 { store::stages::stage_reviewers(conn, id, stage.stage)? } else { reviewers.clone() };
        stages.push((stage, named));
    }
    let escalation = store::escalations::of_definition(conn, id)?;
    let outcome_rules = store::outcomes::of_definition(conn, id)?;
    Ok(DefinitionDetail { definition, resources, reviewers, created_by, instances, stages, escalation, outcome_rules })
}

/// The series `id` as `manager` may see it, with how many of its occurrences are in
/// progress (what deleting it would leave running).
pub fn with_running(
    conn: &mut DbConnection,
    manager: &ReviewScope,
    id: &str,
) -> Result<(DefinitionRow, usize), AppError> {
    let d = managed(conn, manager, id)?;
    let in_progress = store::instances::for_definition(conn, id, 10_000)?.iter().filter(|i| i.status.is_open()).count();
    Ok((d, in_progress))
}
