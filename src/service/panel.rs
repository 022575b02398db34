//! The access panel: who may see which instance and which of its items, the list of a
//! person's reviews, and decisions (checked, written, counted and audited together).

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::decision::{Action, Change, Current, Decision, PlanError, Tally, plan};
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::decisions::{ItemFilter, ItemScope};
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;
use crate::store::users::UserRow;

/// What a signed-in person may do with one instance.
#[derive(Debug, Clone)]
pub struct Access {
    /// The instance.
    pub instance: InstanceRow,
    /// Its series.
    pub definition: DefinitionRow,
    /// The items they see and decide.
    pub scope: ItemScope,
    /// They answer for their own access only (self-review).
    pub self_review: bool,
}

impl Access {
    /// Whether decisions are still taken (in progress and before its end).
    pub fn is_open(&self, now: NaiveDateTime) -> bool {
        self.instance.status == "InProgress" && now < self.instance.end_at
    }
}

/// What `user` may do with instance `id`: `None` when they are neither one of its
/// snapshotted reviewers (fallbacks included) nor a person it assigns items to. Callers
/// answer 404 then, so an instance's existence is not revealed.
pub fn access(conn: &mut DbConnection, id: &str, user: &str) -> Result<Option<Access>, AppError> {
    let Some((instance, definition)) = store::instances::get_with_definition(conn, id)? else { return Ok(None) };
    let role = store::instances::reviewer_role(conn, id, user)?;
    let found = match definition.reviewer_kind.as_str() {
        "Managers" => {
            let assigned = store::instances::has_assigned(conn, id, user)?;
            let fallback = role == Some(true);
            (assigned || fallback).then(|| (ItemScope::Assigned { user: user.to_owned(), unassigned: fallback }, false))
        }
        "Self" => store::instances::has_assigned(conn, id, user)?
            .then(|| (ItemScope::Assigned { user: user.to_owned(), unassigned: false }, true)),
        _ => role.map(|_| (ItemScope::All, false)),
    };
    Ok(found.map(|(scope, self_review)| Access { instance, definition, scope, self_review }))
}

/// One of a person's reviews, as the panel lists it.
#[derive(Debug, Clone)]
pub struct MyReview {
    /// The instance.
    pub instance: InstanceRow,
    /// The series' name.
    pub name: String,
    /// Items decided, of the person's view.
    pub reviewed: i64,
    /// Items in the person's view.
    pub total: i64,
    /// A self-review.
    pub self_review: bool,
}

/// Every instance `user` reviews, current and past.
pub fn my_reviews(conn: &mut DbConnection, user: &str) -> Result<Vec<MyReview>, AppError> {
    let whole = store::instances::reviewing(conn, user)?;
    let assigned = store::decisions::assigned_progress(conn, user)?;
    let mut ids: Vec<String> = whole.iter().map(|(i, _)| i.clone()).collect();
    ids.extend(assigned.iter().map(|(i, _, _)| i.clone()));
    ids.sort();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        for (instance, d) in store::instances::with_definitions(conn, chunk)? {
            let mine = assigned.iter().find(|(i, _, _)| *i == instance.id);
            let fallback = whole.iter().any(|(i, f)| *i == instance.id && *f);
            let (reviewed, total) = match (d.reviewer_kind.as_str(), mine) {
                ("Managers", _) if fallback => {
                    let scope = ItemScope::Assigned { user: user.to_owned(), unassigned: true };
                    let (tally, _) = store::decisions::tally(conn, &instance.id, &scope)?;
                    (tally.reviewed(), tally.total())
                }
                ("Managers" | "Self", Some((_, total, reviewed))) => (*reviewed, *total),
                ("Managers" | "Self", None) => continue,
                _ => (i64::from(instance.total_items - instance.not_reviewed), i64::from(instance.total_items)),
            };
            out.push(MyReview {
                self_review: d.reviewer_kind == "Self",
                name: d.display_name,
                instance,
                reviewed,
                total,
            });
        }
    }
    Ok(out)
}

/// The counts a review page shows: per decision, and recommended denials.
pub fn counts(conn: &mut DbConnection, access: &Access) -> Result<(Tally, i64), AppError> {
    Ok(match access.scope {
        // Whole instances keep counters, so a 100k-item page never counts.
        ItemScope::All => {
            let i = &access.instance;
            (
                Tally {
                    not_reviewed: i64::from(i.not_reviewed),
                    approved: i64::from(i.approved),
                    denied: i64::from(i.denied),
                    dont_know: i64::from(i.dont_know),
                },
                i64::from(i.recommended_deny),
            )
        }
        ItemScope::Assigned { .. } => store::decisions::tally(conn, &access.instance.id, &access.scope)?,
    })
}

/// Which items a decision applies to.
#[derive(Debug, Clone)]
pub enum Selection {
    /// These items (ticked rows).
    Items(Vec<String>),
    /// Every item of the reviewer's view matching the filter.
    Matching(ItemFilter),
}

/// A refused decision: the message says why; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Applies `action` to the selection as `actor`; returns how many items changed. Every
/// change stores who, when and why, moves the instance's counters, and writes an audit
/// event with the previous decision, all in one transaction.
pub fn decide(
    conn: &mut DbConnection,
    access: &Access,
    selection: &Selection,
    action: Action,
    reason: &str,
    actor: &UserRow,
    now: NaiveDateTime,
) -> Result<Result<usize, Refused>, AppError> {
    let instance = &access.instance;
    conn.write(|conn| {
        // Read the instance again inside the transaction: it may have ended meanwhile.
        let Some(fresh) = store::instances::get(conn, &instance.id)? else {
            return Ok(Err(Refused("This review no longer exists.".into())));
        };
        if fresh.status != "InProgress" || now >= fresh.end_at {
            return Ok(Err(Refused(format!(
                "This review ended on {}; decisions can no longer be changed.",
                fresh.end_at.format("%Y-%m-%d %H:%M UTC")
            ))));
        }
        let targets = match selection {
            Selection::Items(ids) => {
                let mut ids = ids.clone();
                ids.sort();
                ids.dedup();
                let found = store::decisions::targets_by_id(conn, &instance.id, &access.scope, &ids)?;
                if found.len() != ids.len() {
                    return Ok(Err(Refused(
                        "Some of the selected people are not in this review for you to decide; nothing was changed. \
                         Reload the page and select again."
                            .into(),
                    )));
                }
                found
            }
            Selection::Matching(filter) => {
                store::decisions::targets_matching(conn, &instance.id, &access.scope, filter)?
            }
        };
        let names: std::collections::HashMap<String, (String, String)> =
            targets.iter().map(|t| (t.id.clone(), (t.principal_id.clone(), t.principal_name.clone()))).collect();
        let current: Vec<Current> = targets
            .into_iter()
            .map(|t| Current {
                id: t.id,
                decision: Decision::parse(&t.decision).unwrap_or(Decision::NotReviewed),
                recommendation: t.recommendation,
                recommendation_reason: t.recommendation_reason,
            })
            .collect();
        let changes: Vec<Change> = match plan(action, reason, fresh.justification_required, &current) {
            Ok(changes) => changes,
            Err(PlanError::NothingSelected) if matches!(selection, Selection::Matching(_)) => {
                return Ok(Err(Refused("No one matches this filter; nothing was changed.".into())));
            }
            Err(e) => return Ok(Err(Refused(e.message()))),
        };
        store::decisions::write(conn, &changes, &actor.id, now)?;
        store::decisions::adjust_counters(conn, &instance.id, &Tally::delta(&changes))?;
        let events: Vec<NewEvent<'_>> = changes
            .iter()
            .map(|c| {
                let (principal_id, principal_name) = names.get(&c.id).cloned().unwrap_or_default();
                NewEvent::by_user(
                    actor,
                    now,
                    "RecordDecision",
                    ("AccessReviewDecisionItem", &c.id),
                    serde_json::json!({
                        "instanceId": instance.id,
                        "principalId": principal_id,
                        "principal": principal_name,
                        "action": action.as_str(),
                        "decision": { "old": c.old.as_str(), "new": c.new.as_str() },
                        "justification": c.justification,
                    }),
                )
            })
            .collect();
        store::audit::append_all(conn, &events)?;
        Ok(Ok(changes.len()))
    })
}
