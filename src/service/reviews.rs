//! Creating review series: the draft's names are resolved against the directory, and the
//! definition, its resources, its reviewers and the audit event are saved together.

use chrono::NaiveDateTime;
use diesel::Connection;

use crate::db::DbConnection;
use crate::domain::recurrence::SeriesEnd;
use crate::domain::review::{DefinitionDraft, FieldError, ScopeKind, UserScope};
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::reviews::{DefinitionRow, ResourceLink};
use crate::store::users::UserRow;

/// Saves a new series, or says which names did not resolve. Nothing is saved unless all
/// of it is valid.
pub fn create(
    conn: &mut DbConnection,
    draft: &DefinitionDraft,
    actor: &UserRow,
    now: NaiveDateTime,
) -> Result<Result<String, Vec<FieldError>>, AppError> {
    let mut errors = Vec::new();
    let mut resources: Vec<ResourceLink> = Vec::new();
    for name in &draft.resources {
        match draft.scope {
            ScopeKind::Groups => match store::groups::by_name(conn, name)? {
                Some(g) => resources.push(("Group".into(), g.id, false)),
                None => errors.push(FieldError { field: "groups", message: format!("No group is named “{name}”: check the name in the Groups list") }),
            },
            ScopeKind::Applications => match store::apps::by_name(conn, name)? {
                Some(a) if !a.assignment_required => errors.push(FieldError {
                    field: "applications",
                    message: format!("“{name}” does not require assignment, so everyone can sign in to it and there are no assignments to review"),
                }),
                Some(a) => resources.push(("Application".into(), a.id, false)),
                None => errors.push(FieldError { field: "applications", message: format!("No application is named “{name}”: check the name in the Applications list") }),
            },
            ScopeKind::DirectoryRoles => match store::roles::by_name(conn, name, "Directory")? {
                Some(r) => resources.push(("Role".into(), r.id, false)),
                None => errors.push(FieldError { field: "roles", message: format!("No directory role is named “{name}”: check the name in the Roles list") }),
            },
            ScopeKind::ResourceRoles => match store::roles::by_name(conn, name, "Resource")? {
                Some(r) => resources.push(("Role".into(), r.id, false)),
                None => errors.push(FieldError { field: "resource_role", message: format!("No resource role is named “{name}”: check the name in the Roles list") }),
            },
            ScopeKind::GuestGroups => {}
        }
    }
    for name in &draft.excluded_groups {
        match store::groups::by_name(conn, name)? {
            Some(g) => resources.push(("Group".into(), g.id, true)),
            None => errors.push(FieldError {
                field: "excluded_groups",
                message: format!("No group is named “{name}”: check the name in the Groups list"),
            }),
        }
    }
    let mut reviewers: Vec<(String, bool)> = Vec::new();
    for (upns, fallback, field) in
        [(&draft.reviewers, false, "reviewers"), (&draft.fallback_reviewers, true, "fallback_reviewers")]
    {
        for upn in upns {
            match store::users::by_upn(conn, upn)? {
                Some(u) if !u.enabled => errors.push(FieldError {
                    field,
                    message: format!("{upn} is disabled and could not review: choose someone else"),
                }),
                Some(u) => reviewers.push((u.id, fallback)),
                None => {
                    errors.push(FieldError { field, message: format!("No user has the user principal name {upn}") })
                }
            }
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }

    let id = uuid::Uuid::new_v4().to_string();
    let schedule = draft.schedule;
    let (end_kind, end_date, occurrences) = match schedule.end {
        SeriesEnd::Never => ("Never", None, None),
        SeriesEnd::OnDate(date) => ("OnDate", Some(date), None),
        SeriesEnd::AfterOccurrences(n) => ("AfterOccurrences", None, Some(i32::try_from(n).unwrap_or(i32::MAX))),
    };
    let (user_scope, inactive_days) = match draft.user_scope {
        UserScope::All => ("All", None),
        UserScope::Guests => ("Guests", None),
        UserScope::Inactive(days) => ("Inactive", Some(i32::try_from(days).unwrap_or(730))),
    };
    let row = DefinitionRow {
        id: id.clone(),
        display_name: draft.name.clone(),
        description_for_reviewers: draft.description_for_reviewers.clone(),
        description_for_admins: draft.description_for_admins.clone(),
        scope_kind: draft.scope.as_str().into(),
        role_assignment_types: draft.role_assignment_types.map(Into::into),
        resource_scope: draft.resource_scope.clone(),
        user_scope: user_scope.into(),
        inactive_days,
        reviewer_kind: draft.reviewer_kind.as_str().into(),
        start_date: schedule.start,
        frequency: schedule.frequency.as_str().into(),
        duration_days: i32::try_from(schedule.duration_days).unwrap_or(1),
        end_kind: end_kind.into(),
        end_date,
        occurrences,
        auto_apply: draft.auto_apply,
        default_decision: draft.default_decision.as_str().into(),
        guest_denied_action: if draft.block_then_delete_guests { "BlockThenDelete" } else { "RemoveAccess" }.into(),
        recommendations_enabled: draft.recommendations,
        lookback_days: i32::try_from(draft.lookback_days).unwrap_or(30),
        justification_required: draft.justification_required,
        mail_notifications: draft.mail_notifications,
        reminders: draft.reminders,
        status: "Active".into(),
        next_occurrence: 0,
        next_start_at: schedule.occurrence(0).map(|o| o.start),
        created_by: actor.id.clone(),
        created_at: now,
        updated_at: now,
    };
    let details = serde_json::json!({
        "displayName": row.display_name,
        "scope": row.scope_kind,
        "resources": resources.iter().map(|(t, id, excluded)| serde_json::json!({"type": t, "id": id, "excluded": excluded})).collect::<Vec<_>>(),
        "reviewers": row.reviewer_kind,
        "frequency": row.frequency,
        "durationInDays": row.duration_days,
        "startDate": row.start_date.to_string(),
    })
    .to_string();
    conn.transaction(|conn| {
        store::reviews::insert(conn, &row, &resources, &reviewers)?;
        store::audit::append(
            conn,
            &NewEvent {
                at: now,
                actor_id: Some(&actor.id),
                actor_name: &actor.display_name,
                action: "CreateReviewDefinition",
                target_type: "AccessReviewDefinition",
                target_id: &id,
                details,
            },
        )
    })?;
    Ok(Ok(id))
}
