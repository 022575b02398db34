//! The access panel: who may see which instance and which of its items, the list of a
//! person's reviews, decisions (checked, written, counted and audited together), and
//! reassignments (items handed to another reviewer, kept in their history, audited and
//! mailed together).

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::decision::{
    Action, Assignee, Change, Current, Decider, Decision, Pending, PlanError, Pool, ReassignError, Tally, Undecidable,
    check_reassign, plan, recommended,
};
use crate::domain::directory::name_or_deleted;
use crate::domain::paging::{PAGE_SIZE, Page, PageAt};
use crate::domain::recommendation::Recommendation;
use crate::domain::review::{ResourceKind, ReviewerKind};
use crate::error::AppError;
use crate::store;
use crate::store::Keyset;
use crate::store::audit::NewEvent;
use crate::store::decisions::{Counts, DecisionTarget, EarlierDecision, ItemEvent, ItemFilter, ItemScope, ListedItem};
use crate::store::instances::{InstanceRow, ItemRow};
use crate::store::outcomes::VoteRow;
use crate::store::reassignments::{NewReassignment, ReassignmentRow};
use crate::store::reviews::DefinitionRow;
use crate::store::stages::{InstanceStageRow, StageDecisionRow};
use crate::store::users::UserRow;

/// What a signed-in person may do with one instance.
#[derive(Debug, Clone)]
pub struct Access {
    /// The instance.
    pub instance: InstanceRow,
    /// Its series.
    pub definition: DefinitionRow,
    /// The items they see, and which of them they decide.
    pub scope: ItemScope,
    /// They answer for their own access only (self-review).
    pub self_review: bool,
    /// The stage the instance is in, when it has several.
    pub stage: Option<InstanceStageRow>,
    /// The reviewer a delegate acts for, (user id, display name): the access is theirs.
    pub on_behalf_of: Option<(String, String)>,
}

impl Access {
    /// Whether decisions are still taken (in progress and before the end of its current
    /// stage).
    pub fn is_open(&self, now: NaiveDateTime) -> bool {
        self.instance.status.is_open() && now < self.due()
    }

    /// When the current stage ends (the instance's end when it has one stage).
    pub fn due(&self) -> NaiveDateTime {
        self.stage.as_ref().map_or(self.instance.end_at, |s| s.end_at.min(self.instance.end_at))
    }

    /// Whether reviewers see recommendations (a stage may show none).
    pub fn shows_recommendations(&self) -> bool {
        self.stage.as_ref().is_none_or(|s| s.recommendations_enabled)
    }

    /// Who reviews in the current stage.
    pub fn reviewer_kind(&self) -> ReviewerKind {
        self.stage.as_ref().map_or(self.definition.reviewer_kind, |s| s.reviewer_kind)
    }

    /// The path of the instance's review page for this person: a delegate's names the
    /// reviewer they act for.
    pub fn review_path(&self) -> String {
        match &self.on_behalf_of {
            Some((user, _)) => format!("/reviews/{}/for/{user}", self.instance.id),
            None => format!("/reviews/{}", self.instance.id),
        }
    }
}

impl Access {
    /// An instance as an admin or an API client reads it: every item, nobody deciding.
    pub fn read_all(
        conn: &mut DbConnection,
        instance: InstanceRow,
        definition: DefinitionRow,
    ) -> Result<Self, AppError> {
        let stage = current_stage(conn, &instance)?;
        Ok(Self { instance, definition, scope: ItemScope::All, self_review: false, stage, on_behalf_of: None })
    }
}

/// The stage `instance` is in, when it has several.
pub fn current_stage(conn: &mut DbConnection, instance: &InstanceRow) -> Result<Option<InstanceStageRow>, AppError> {
    if instance.stage_count <= 1 {
        return Ok(None);
    }
    Ok(store::stages::get(conn, &instance.id, instance.stage)?)
}

/// What `user` (a portal admin or not) may do with instance `id`: `None` when they are
/// neither one of its snapshotted reviewers (fallbacks included), nor a person it assigns
/// items to, nor an admin with items routed to the admins that are not their own. Callers
/// answer 404 then, so an instance's existence is not revealed.
pub fn access(conn: &mut DbConnection, id: &str, user: &str, is_admin: bool) -> Result<Option<Access>, AppError> {
    let Some((instance, definition)) = store::instances::get_with_definition(conn, id)? else { return Ok(None) };
    let role = store::instances::reviewer_role(conn, id, user)?;
    let stage = current_stage(conn, &instance)?;
    let kind = stage.as_ref().map_or(definition.reviewer_kind, |s| s.reviewer_kind);
    // Items come to a person by name in manager and self reviews, and in any review by a
    // reassignment; who handed items on still sees the review, and whom they went to.
    let assigned = store::instances::has_assigned(conn, id, user)?
        || (kind != ReviewerKind::Self_ && store::reassignments::any_from(conn, id, user)?);
    let Some((scope, self_review)) = standing(conn, &instance, kind, user, is_admin, role, assigned)? else {
        // A reviewer of an earlier stage is told why the review is no longer theirs.
        if instance.stage > 1 && store::stages::took_part(conn, id, &definition.id, user)? {
            return Err(AppError::NotFound(format!(
                "Stage {} of this review has ended and stage {} has begun, reviewed by others: your part is done \
                 and your decisions are kept. Nothing was changed.",
                instance.stage - 1,
                instance.stage
            )));
        }
        return Ok(None);
    };
    Ok(Some(Access { instance, definition, scope, self_review, stage, on_behalf_of: None }))
}

/// What `delegate` may do with instance `id` on behalf of `user`, who named them their
/// delegate for a period that runs at `now`: `user`'s access (as a reviewer, not as a
/// portal admin: administration is not delegated), in which the delegate decides neither
/// their own access nor `user`'s. A self-review is each person's own: never delegated.
/// `None` (404) otherwise.
pub fn access_on_behalf(
    conn: &mut DbConnection,
    id: &str,
    delegate: &str,
    user: &str,
    now: NaiveDateTime,
) -> Result<Option<Access>, AppError> {
    if !store::delegations::acts_for(conn, delegate, user, now)? {
        return Ok(None);
    }
    let Some(mut access) = access(conn, id, user, false)? else { return Ok(None) };
    if access.self_review || access.reviewer_kind() == ReviewerKind::Self_ {
        return Ok(None);
    }
    if let ItemScope::Reviewer { decider, .. } = &mut access.scope {
        decider.acting = Some(delegate.to_owned());
    }
    let name = store::users::display_names(conn, &[user.to_owned()])?.remove(user).unwrap_or_default();
    access.on_behalf_of = Some((user.to_owned(), name));
    Ok(Some(access))
}

/// The access rule: which of an instance's items `user` sees and decides, given their
/// snapshotted role in it (`Some(true)`: a fallback reviewer), whether items are assigned
/// to them by name, and whether they are a portal admin. `None`: nothing for them here.
///
/// Owners and selected reviewers see every item and decide those of the reviewers' pool;
/// fallback reviewers decide the fallback pool (and see every item when the resource has
/// no reviewers of its own); managers and self-reviewers decide what is assigned to them;
/// admins decide the admin pool. Nobody decides their own access outside a self-review
/// ([`Decider::may_decide`]).
fn standing(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    kind: ReviewerKind,
    user: &str,
    is_admin: bool,
    role: Option<bool>,
    assigned: bool,
) -> Result<Option<(ItemScope, bool)>, AppError> {
    // In a later stage only the items that moved on are reviewed, and the instance's
    // counters count them all: nobody lists the whole instance then.
    let stage = (instance.stage_count > 1).then_some(instance.stage);
    let whole_instance = !kind.assigns_items() && instance.stage <= 1;
    // Items escalated to the person near the end are theirs to decide too.
    let escalated: std::collections::BTreeSet<String> =
        store::escalations::items_for(conn, (&instance.id, instance.stage), user)?.into_iter().collect();
    let assigned = assigned || !escalated.is_empty();
    if kind == ReviewerKind::Self_ {
        let decider = Decider {
            user: user.to_owned(),
            reviewer: false,
            fallback: false,
            admin: false,
            self_review: true,
            escalated,
            acting: None,
        };
        return Ok(assigned.then_some((ItemScope::Reviewer { decider, whole: None, stage }, true)));
    }
    let reviewer_pool = !kind.assigns_items();
    let reviewer = reviewer_pool && role == Some(false);
    let fallback = role == Some(true);
    let admin = is_admin
        && instance.routed_to_admins > 0
        && store::instances::has_pool_item_for(conn, &instance.id, Pool::Admins.as_str(), user)?;
    if !(reviewer || fallback || admin || assigned) {
        return Ok(None);
    }
    let whole = if !whole_instance {
        None
    } else if reviewer {
        Some(Pool::Reviewers)
    } else if fallback && whole_instance && !store::instances::has_reviewers(conn, &instance.id)? {
        Some(Pool::Fallback)
    } else {
        None
    };
    let decider =
        Decider { user: user.to_owned(), reviewer, fallback, admin, self_review: false, escalated, acting: None };
    Ok(Some((ItemScope::Reviewer { decider, whole, stage }, false)))
}

/// One of a person's reviews, as the panel lists it.
#[derive(Debug, Clone)]
pub struct MyReview {
    /// The instance.
    pub instance: InstanceRow,
    /// The series' name.
    pub name: String,
    /// Who reviews in the series.
    pub reviewer_kind: ReviewerKind,
    /// What the person sees and decides in it.
    pub scope: ItemScope,
    /// Items decided, of the person's view.
    pub reviewed: i64,
    /// Items in the person's view.
    pub total: i64,
    /// A self-review.
    pub self_review: bool,
    /// The reviewer the person acts for as their delegate, (user id, display name), with
    /// the delegation's end.
    pub on_behalf_of: Option<(String, String, NaiveDateTime)>,
}

/// The reviews of the people `delegate` acts for at `now` (their delegations run), as
/// [`my_reviews`] lists them for those people, self-reviews left out.
pub fn delegated_reviews(
    conn: &mut DbConnection,
    delegate: &str,
    now: NaiveDateTime,
) -> Result<Vec<MyReview>, AppError> {
    let mut out = Vec::new();
    let acting = store::delegations::acting_for(conn, delegate, now)?;
    let ids: Vec<String> = acting.iter().map(|(u, _)| u.clone()).collect();
    let names = store::users::display_names(conn, &ids)?;
    for (user, until) in acting {
        let name = names.get(&user).cloned().unwrap_or_default();
        for review in my_reviews(conn, &user, false)? {
            if review.self_review || review.reviewer_kind == ReviewerKind::Self_ {
                continue;
            }
            out.push(MyReview { on_behalf_of: Some((user.clone(), name.clone(), until)), ..review });
        }
    }
    Ok(out)
}

/// Every instance `user` (a portal admin or not) reviews, current and past.
pub fn my_reviews(conn: &mut DbConnection, user: &str, is_admin: bool) -> Result<Vec<MyReview>, AppError> {
    let whole = store::instances::reviewing(conn, user)?;
    let assigned = store::decisions::assigned_progress(conn, user)?;
    let handed_on = store::reassignments::instances_from(conn, user)?;
    let mut ids: Vec<String> = whole.iter().map(|(i, _)| i.clone()).collect();
    ids.extend(assigned.iter().map(|(i, _, _)| i.clone()));
    ids.extend(handed_on.iter().cloned());
    ids.extend(store::escalations::instances_for(conn, user)?);
    if is_admin {
        ids.extend(store::instances::with_admin_items(conn)?);
    }
    ids.sort();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        for (instance, d) in store::instances::with_definitions(conn, chunk)? {
            let role = whole.iter().find(|(i, _)| *i == instance.id).map(|(_, fallback)| *fallback);
            let mine = assigned.iter().find(|(i, _, _)| *i == instance.id);
            let kind = current_stage(conn, &instance)?.map_or(d.reviewer_kind, |s| s.reviewer_kind);
            let handed = kind != ReviewerKind::Self_ && handed_on.contains(&instance.id);
            let Some((scope, self_review)) =
                standing(conn, &instance, kind, user, is_admin, role, mine.is_some() || handed)?
            else {
                continue;
            };
            let (reviewed, total) = match (&scope, mine) {
                _ if scope.is_whole() => {
                    (i64::from(instance.total_items - instance.not_reviewed), i64::from(instance.total_items))
                }
                // Only their own people: counted already.
                (ItemScope::Reviewer { decider, .. }, Some((_, total, reviewed)))
                    if decider.pools().is_empty() && decider.escalated.is_empty() =>
                {
                    (*reviewed, *total)
                }
                _ => {
                    let counts = store::decisions::tally(conn, &instance.id, &scope)?;
                    (counts.tally.reviewed(), counts.tally.total())
                }
            };
            out.push(MyReview {
                on_behalf_of: None,
                self_review,
                name: d.display_name,
                reviewer_kind: d.reviewer_kind,
                scope,
                instance,
                reviewed,
                total,
            });
        }
    }
    Ok(out)
}

/// The person's own item of a self-review, with the names of whoever decided it.
pub fn own_item(
    conn: &mut DbConnection,
    access: &Access,
) -> Result<(Option<ListedItem>, HashMap<String, String>), AppError> {
    let rows =
        store::decisions::page(conn, &access.instance.id, &access.scope, &ItemFilter::default(), &Keyset::First, 1)?;
    let names = reviewer_names(conn, &rows)?;
    Ok((rows.into_iter().next(), names))
}

/// What a review's table shows besides the frame.
#[derive(Debug, Clone)]
pub struct Table {
    /// The page of items asked for.
    pub page: Page<ListedItem>,
    /// Display names of the reviewers who decided the items on the page, by id.
    pub names: HashMap<String, String>,
    /// The decision counts of the whole instance (as far as the viewer sees it).
    pub counts: Counts,
    /// How many items "Accept recommendations" would decide (0 when `offer_accept` is
    /// off).
    pub accept_count: i64,
    /// The other reviewers of the instance: (name, is a fallback reviewer).
    pub others: Vec<(String, bool)>,
    /// Items on the page whose access no longer exists in the directory, with the name of
    /// the source owning the resource ("" when unknown).
    pub gone: HashMap<String, String>,
    /// The people of this review the viewer reassigned, newest first (at most
    /// [`HANDED_ON_SHOWN`]), with the names of those they went to in `names`.
    pub handed_on: Vec<(ReassignmentRow, String)>,
    /// Earlier stages' decisions on the items of the page, by item (for admins, and for a
    /// later stage's reviewers when the series shows them), their deciders in `names`.
    pub history: HashMap<String, Vec<StageDecisionRow>>,
    /// Each reviewer's decision on the items of the page, by item, where a rule weighs
    /// them, their voters in `names`.
    pub votes: HashMap<String, Vec<VoteRow>>,
}

/// How many reassigned people a review page lists.
pub const HANDED_ON_SHOWN: i64 = 50;

/// One page of an instance's items as `access` sees them, filtered by `filter`, with the
/// counts and the other reviewers; with `offer_accept`, also how many items accepting the
/// recommendations would decide.
pub fn table(
    conn: &mut DbConnection,
    access: &Access,
    filter: &ItemFilter,
    at: &PageAt,
    me: &str,
    offer_accept: bool,
) -> Result<Table, AppError> {
    let instance = access.instance.id.as_str();
    let keyset = Keyset::resolve(at, |cursor| store::decisions::name_of(conn, instance, cursor))?;
    let rows = store::decisions::page(conn, instance, &access.scope, filter, &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, at, PAGE_SIZE, |r| r.id.clone());
    let handed_on = match access.scope {
        ItemScope::Reviewer { .. } => store::reassignments::from_user(conn, instance, me, HANDED_ON_SHOWN)?,
        ItemScope::All => Vec::new(),
    };
    let mut names = reviewer_names(conn, &page.items)?;
    let to: Vec<String> =
        handed_on.iter().map(|(r, _)| r.to_user.clone()).filter(|id| !names.contains_key(id)).collect();
    names.extend(store::users::display_names(conn, &to)?);
    let history = stage_history(conn, access, &page.items, &mut names)?;
    let on_page: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
    let votes = votes_on(conn, access, &on_page, &mut names)?;
    let counts = counts(conn, access)?;
    let accept_count = if offer_accept { acceptable(conn, access, filter, &counts)? } else { 0 };
    let others = store::instances::other_reviewer_names(conn, instance, me)?;
    let on_page: Vec<(String, bool)> =
        page.items.iter().map(|r| (r.id.clone(), r.apply_result.is_remediated())).collect();
    let gone = super::remediation::gone(conn, &access.instance, &on_page)?;
    Ok(Table { page, names, counts, accept_count, others, gone, handed_on, history, votes })
}

/// Each reviewer's vote on the items `ids`, by item, where a stage of the instance weighs
/// them (its voters' names go into `names`); nothing to read otherwise. A later stage's
/// reviewer sees earlier stages' votes only when the series shows earlier decisions.
fn votes_on(
    conn: &mut DbConnection,
    access: &Access,
    ids: &[String],
    names: &mut HashMap<String, String>,
) -> Result<HashMap<String, Vec<VoteRow>>, AppError> {
    if !access.instance.outcome_rule.keeps_votes() && access.instance.stage_count <= 1 {
        return Ok(HashMap::new());
    }
    let only_stage = match (&access.scope, &access.stage) {
        (ItemScope::Reviewer { .. }, Some(stage)) if !stage.decision_histories => Some(stage.stage),
        _ => None,
    };
    let votes = store::outcomes::of_items(conn, ids, only_stage)?;
    let voters: Vec<String> =
        votes.iter().flat_map(|v| [&v.seat, &v.decided_by]).filter(|id| !names.contains_key(*id)).cloned().collect();
    names.extend(store::users::display_names(conn, &voters)?);
    let mut out: HashMap<String, Vec<VoteRow>> = HashMap::new();
    for v in votes {
        out.entry(v.item_id.clone()).or_default().push(v);
    }
    Ok(out)
}

/// The kept stage decisions on `rows` that the viewer of `access` sees: an admin always, a
/// later stage's reviewer when the series shows earlier decisions. The deciders' names go
/// into `names`.
fn stage_history(
    conn: &mut DbConnection,
    access: &Access,
    rows: &[ListedItem],
    names: &mut HashMap<String, String>,
) -> Result<HashMap<String, Vec<StageDecisionRow>>, AppError> {
    let shown = match (&access.scope, &access.stage) {
        (_, None) => false,
        (ItemScope::All, Some(_)) => true,
        (ItemScope::Reviewer { .. }, Some(stage)) => stage.decision_histories && stage.stage > 1,
    };
    if !shown {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let kept = store::stages::history(conn, &ids)?;
    let deciders: Vec<String> = kept
        .iter()
        .flat_map(|k| k.reviewed_by.iter().chain(k.reviewed_for.iter()))
        .filter(|id| !names.contains_key(*id))
        .cloned()
        .collect();
    names.extend(store::users::display_names(conn, &deciders)?);
    let mut out: HashMap<String, Vec<StageDecisionRow>> = HashMap::new();
    for row in kept {
        out.entry(row.item_id.clone()).or_default().push(row);
    }
    Ok(out)
}

/// Display names of the reviewers who decided `rows` and of those they are assigned to, by
/// id.
fn reviewer_names(conn: &mut DbConnection, rows: &[ListedItem]) -> Result<HashMap<String, String>, AppError> {
    let mut ids: Vec<String> =
        rows.iter().flat_map(|r| [&r.reviewed_by, &r.reviewed_for, &r.reviewer_id]).flatten().cloned().collect();
    ids.sort();
    ids.dedup();
    Ok(store::users::display_names(conn, &ids)?)
}

/// The counts a review page shows: per decision, recommended denials, and recommendations
/// still to accept.
pub fn counts(conn: &mut DbConnection, access: &Access) -> Result<Counts, AppError> {
    if !access.scope.is_whole() {
        return Ok(store::decisions::tally(conn, &access.instance.id, &access.scope)?);
    }
    // Whole instances keep counters, so a 100k-item page never counts.
    let i = &access.instance;
    Ok(Counts {
        tally: Tally {
            not_reviewed: i64::from(i.not_reviewed),
            approved: i64::from(i.approved),
            denied: i64::from(i.denied),
            dont_know: i64::from(i.dont_know),
        },
        recommended_deny: i64::from(i.recommended_deny),
        pending: Pending { approve: i64::from(i.pending_approve), deny: i64::from(i.pending_deny) },
    })
}

/// How many recommendations "Accept recommendations" would accept on the list `filter`
/// selects: items not reviewed yet, with a recommendation, that the person may decide.
/// Without a search this is the view's counts less the few items the person may not decide
/// (their own, a reviewer's own access routed elsewhere); a search is counted.
pub fn acceptable(
    conn: &mut DbConnection,
    access: &Access,
    filter: &ItemFilter,
    counts: &Counts,
) -> Result<i64, AppError> {
    let Some(decider) = access.scope.decider() else { return Ok(0) };
    let Some(filter) = undecided(filter) else { return Ok(0) };
    let can_accept = |t: &DecisionTarget| {
        t.decision == Decision::NotReviewed
            && recommended(t.recommendation).is_some()
            && (!filter.recommended_deny || t.recommendation == Recommendation::Deny)
            && may_decide(decider, t).is_ok()
    };
    // Counters know the tabs only: a search or an API client's filter counts its items.
    if filter.search.is_some() || filter.expression.is_some() {
        let targets = store::decisions::targets_matching(conn, &access.instance.id, &access.scope, &filter)?;
        return Ok(i64::try_from(targets.iter().filter(|t| can_accept(t)).count()).unwrap_or(i64::MAX));
    }
    let listed = if filter.recommended_deny { counts.pending.deny } else { counts.pending.total() };
    let not_mine = store::decisions::exceptions(conn, &access.instance.id, &access.scope)?
        .iter()
        .filter(|t| {
            t.decision == Decision::NotReviewed
                && recommended(t.recommendation).is_some()
                && (!filter.recommended_deny || t.recommendation == Recommendation::Deny)
                && may_decide(decider, t).is_err()
        })
        .count();
    Ok((listed - i64::try_from(not_mine).unwrap_or(0)).max(0))
}

/// `filter` narrowed to the items nobody decided yet; `None` when it lists decided items
/// only (the approved, denied and don't know tabs), where there is nothing to accept.
fn undecided(filter: &ItemFilter) -> Option<ItemFilter> {
    match filter.decision {
        None | Some(Decision::NotReviewed) => {
            Some(ItemFilter { decision: Some(Decision::NotReviewed), ..filter.clone() })
        }
        Some(_) => None,
    }
}

fn may_decide(decider: &Decider, t: &DecisionTarget) -> Result<(), Undecidable> {
    decider.may_decide_item(&t.id, &t.principal_id, t.reviewer_id.as_deref(), t.reviewer_pool)
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

/// What a decision did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided {
    /// Items whose decision changed.
    pub changed: usize,
    /// Items of "everyone in this list" left out because the person may not decide them
    /// (their own access; a reviewer's own access routed elsewhere).
    pub skipped: Vec<Undecidable>,
    /// Items whose outcome is not the person's decision under the stage's rule (another
    /// reviewer denied, or not everyone has approved yet), with the rule.
    pub outcome_differs: Option<(usize, crate::domain::outcome::OutcomeRule)>,
}

/// Applies `action` to the selection as `actor`; returns what changed. Every change stores
/// who, when and why, moves the instance's counters, and writes an audit event with the
/// previous decision, all in one transaction. Ticked items the person may not decide refuse
/// the whole decision; "everyone in this list" leaves them out and says so.
pub fn decide(
    conn: &mut DbConnection,
    access: &Access,
    selection: &Selection,
    action: Action,
    reason: &str,
    actor: &UserRow,
    now: NaiveDateTime,
) -> Result<Result<Decided, Refused>, AppError> {
    let instance = &access.instance;
    let Some(decider) = access.scope.decider() else {
        return Ok(Err(Refused("You do not decide in this review.".into())));
    };
    if action == Action::AcceptRecommendations && !access.shows_recommendations() {
        return Ok(Err(Refused(
            "This stage of the review shows no recommendations: decide for each person yourself.".into(),
        )));
    }
    conn.write(|conn| {
        let fresh = match still_open(conn, access, now, "decisions can no longer be changed")? {
            Ok(fresh) => fresh,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut skipped = Vec::new();
        let targets = match selection {
            Selection::Items(ids) => match ticked(conn, access, ids, Some(decider), "decide")? {
                Ok(found) => found,
                Err(refused) => return Ok(Err(refused)),
            },
            Selection::Matching(filter) => {
                // Accepting recommendations looks at undecided items only: no need to load
                // the decided ones, which it never changes.
                let filter = match action {
                    Action::AcceptRecommendations => match undecided(filter) {
                        Some(filter) => filter,
                        None => return Ok(Ok(Decided::default())),
                    },
                    _ => filter.clone(),
                };
                let all = store::decisions::targets_matching(conn, &instance.id, &access.scope, &filter)?;
                let (mine, not_mine): (Vec<_>, Vec<_>) = all.into_iter().partition(|t| may_decide(decider, t).is_ok());
                skipped = not_mine
                    .iter()
                    .filter(|t| action != Action::AcceptRecommendations || recommended(t.recommendation).is_some())
                    .filter_map(|t| may_decide(decider, t).err())
                    .collect();
                if mine.is_empty() && action == Action::AcceptRecommendations {
                    return Ok(Ok(Decided { changed: 0, skipped, outcome_differs: None }));
                }
                if mine.is_empty() && !skipped.is_empty() {
                    return Ok(Err(Refused(skipped[0].refusal())));
                }
                mine
            }
        };
        let names: HashMap<String, (String, String)> =
            targets.iter().map(|t| (t.id.clone(), (t.principal_id.clone(), t.principal_name.clone()))).collect();
        let routes: HashMap<String, Route> = targets
            .iter()
            .map(|t| (t.id.clone(), (t.principal_id.clone(), t.reviewer_id.clone(), t.reviewer_pool)))
            .collect();
        let current: Vec<Current> = targets
            .into_iter()
            .map(|t| Current {
                id: t.id,
                decision: t.decision,
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
        // Under a rule that weighs each reviewer's decision, the change is this reviewer's
        // vote and the item gets the outcome of every vote.
        let votes: HashMap<String, Decision> = changes.iter().map(|c| (c.id.clone(), c.new)).collect();
        let (changes, credits) = match fresh.outcome_rule {
            rule if rule.keeps_votes() => weigh_votes(conn, &fresh, (&decider.user, &actor.id), changes, &routes, now)?,
            _ => (changes, Vec::new()),
        };
        let on_behalf = access.on_behalf_of.as_ref().map(|(id, _)| id.as_str());
        store::decisions::write(conn, &changes, (&actor.id, on_behalf), now)?;
        // An outcome another reviewer's vote decided is theirs: who, for whom and when.
        for v in &credits {
            let seat = (v.seat != v.decided_by).then_some(v.seat.as_str());
            store::decisions::credit(conn, &v.item_id, (&v.decided_by, seat), v.decided_at)?;
        }
        store::decisions::adjust_counters(conn, &instance.id, &Tally::delta(&changes), &Pending::delta(&changes))?;
        let events: Vec<NewEvent<'_>> = changes
            .iter()
            .map(|c| {
                let (principal_id, principal_name) = names.get(&c.id).cloned().unwrap_or_default();
                let mut details = serde_json::json!({
                    "instanceId": instance.id,
                    "principalId": principal_id,
                    "principal": principal_name,
                    "action": action.as_str(),
                    "decision": { "old": c.old.as_str(), "new": c.new.as_str() },
                    "justification": c.justification,
                });
                if fresh.stage_count > 1 {
                    details["stage"] = serde_json::json!(fresh.stage);
                }
                if let Some((id, name)) = &access.on_behalf_of {
                    details["onBehalfOf"] = serde_json::json!({ "id": id, "name": name });
                }
                if fresh.outcome_rule.keeps_votes() {
                    details["vote"] = serde_json::json!(votes.get(&c.id).map(|d| d.as_str()));
                    details["outcomeRule"] = serde_json::json!(fresh.outcome_rule.as_str());
                }
                NewEvent::by_user(actor, now, "RecordDecision", ("AccessReviewDecisionItem", &c.id), details)
            })
            .collect();
        store::audit::append_all(conn, &events)?;
        let differs = changes.iter().filter(|c| votes.get(&c.id).is_some_and(|v| *v != c.new)).count();
        let outcome_differs = (differs > 0).then_some((differs, fresh.outcome_rule));
        Ok(Ok(Decided { changed: changes.len(), skipped, outcome_differs }))
    })
}

/// Whose access an item is, who it is assigned to (`None`: nobody in particular), and its
/// pool.
type Route = (String, Option<String>, Pool);

/// Records `changes` as the votes of `seat` (the reviewer, or whom a delegate decides for;
/// `by` clicked) in the stage `instance` is in, and turns each change into the item's
/// outcome under the stage's rule: every vote on the item counts, and "all must approve"
/// waits for each reviewer of the item's pool (but the person reviewed) or for its one
/// assigned reviewer. The outcome carries the reason of the vote that decided it; the
/// votes of others that decided an outcome are returned, to be credited with it.
fn weigh_votes(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    (seat, by): (&str, &str),
    changes: Vec<Change>,
    routes: &HashMap<String, Route>,
    now: NaiveDateTime,
) -> Result<(Vec<Change>, Vec<VoteRow>), AppError> {
    let rows: Vec<store::outcomes::NewVote<'_>> = changes
        .iter()
        .map(|c| store::outcomes::NewVote {
            item_id: &c.id,
            stage: instance.stage,
            seat,
            instance_id: &instance.id,
            decision: c.new,
            justification: &c.justification,
            decided_by: by,
            decided_at: now,
        })
        .collect();
    store::outcomes::record(conn, instance.stage, seat, &rows)?;
    let ids: Vec<String> = changes.iter().map(|c| c.id.clone()).collect();
    let mut votes: HashMap<String, Vec<VoteRow>> = HashMap::new();
    for v in store::outcomes::of_items(conn, &ids, Some(instance.stage))? {
        votes.entry(v.item_id.clone()).or_default().push(v);
    }
    let reviewers = store::instances::pool_members(conn, &instance.id, false)?;
    let fallbacks = store::instances::pool_members(conn, &instance.id, true)?;
    let others = |pool: &[String], principal: &str| pool.iter().filter(|u| *u != principal).count();
    let mut credits = Vec::new();
    let changes = changes
        .into_iter()
        .map(|c| {
            let expected = match routes.get(&c.id) {
                Some((principal, None, Pool::Reviewers)) => others(&reviewers, principal),
                Some((principal, None, Pool::Fallback)) => others(&fallbacks, principal),
                _ => 1,
            };
            let cast = votes.remove(&c.id).unwrap_or_default();
            let weighed: Vec<_> = cast.iter().map(VoteRow::vote).collect();
            let (outcome, decisive) = crate::domain::outcome::outcome(instance.outcome_rule, &weighed, expected);
            match decisive.and_then(|i| cast.into_iter().nth(i)) {
                Some(v) if v.seat != seat => {
                    let justification = v.justification.clone();
                    credits.push(v);
                    Change { new: outcome, justification, ..c }
                }
                _ => Change { new: outcome, ..c },
            }
        })
        .collect();
    Ok((changes, credits))
}

/// The instance, read again inside the caller's transaction, if it is still open at `now`
/// (it may have ended meanwhile); otherwise the refusal says when it ended and that `what`.
fn still_open(
    conn: &mut DbConnection,
    access: &Access,
    now: NaiveDateTime,
    what: &str,
) -> Result<Result<InstanceRow, Refused>, AppError> {
    // The instance's row lock: a stage that moves on, or an end, waits for this decision
    // to commit, and this decision waits for them and then reads where the instance is.
    store::locks::lock_instance(conn, &access.instance.id)?;
    let Some(fresh) = store::instances::get(conn, &access.instance.id)? else {
        return Ok(Err(Refused("This review no longer exists.".into())));
    };
    if !fresh.status.is_open() || now >= fresh.end_at {
        return Ok(Err(Refused(format!(
            "This review ended on {}; {what}.",
            fresh.end_at.format("%Y-%m-%d %H:%M UTC")
        ))));
    }
    // The page was read in one stage: its people are not those of the next.
    if fresh.stage != access.instance.stage {
        return Ok(Err(Refused(format!(
            "Stage {} of this review has ended and stage {} has begun; {what} in the stage that ended. \
             Reload the page to see what is yours to review now.",
            access.instance.stage, fresh.stage
        ))));
    }
    if let Some(stage) = &access.stage
        && now >= stage.end_at
    {
        return Ok(Err(Refused(format!(
            "Stage {} of this review ended on {}; {what}.",
            stage.stage,
            stage.end_at.format("%Y-%m-%d %H:%M UTC")
        ))));
    }
    Ok(Ok(fresh))
}

/// The ticked items of `access`, each once, that `decider` (none: an admin) may act on;
/// otherwise why not: one not in their view, or one they may not decide.
fn ticked(
    conn: &mut DbConnection,
    access: &Access,
    ids: &[String],
    decider: Option<&Decider>,
    verb: &str,
) -> Result<Result<Vec<DecisionTarget>, Refused>, AppError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let found = store::decisions::targets_by_id(conn, &access.instance.id, &access.scope, &ids)?;
    if found.len() != ids.len() {
        return Ok(Err(Refused(format!(
            "Some of the selected people are not in this review for you to {verb}; nothing was changed. Reload \
             the page and select again."
        ))));
    }
    if let Some(d) = decider
        && let Some(refused) = first_refusal(conn, d, &found)?
    {
        return Ok(Err(refused));
    }
    Ok(Ok(found))
}

/// Why `decider` may not decide the first of `targets` they may not, naming the person it
/// is assigned to when it is someone's; `None` when they may decide them all.
fn first_refusal(
    conn: &mut DbConnection,
    decider: &Decider,
    targets: &[DecisionTarget],
) -> Result<Option<Refused>, AppError> {
    let Some((why, t)) = targets.iter().find_map(|t| may_decide(decider, t).err().map(|why| (why, t))) else {
        return Ok(None);
    };
    let assignee = match &t.reviewer_id {
        Some(id) => store::users::display_names(conn, std::slice::from_ref(id))?.remove(id),
        None => None,
    };
    Ok(Some(Refused(why.refusal_naming(assignee.as_deref()))))
}

/// Everything a reviewer sees about one person's access: the item, who decides it, the
/// person in today's directory, their sign-ins, earlier decisions on the same access, and
/// the item's audit trail.
#[derive(Debug, Clone)]
pub struct ItemDetail {
    /// The item (a snapshot from the instance's start, with its decision).
    pub item: ItemRow,
    /// Why the viewer may not decide it, if they may not.
    pub undecidable: Option<Undecidable>,
    /// The person in today's directory (`None` when deleted since).
    pub user: Option<UserRow>,
    /// Their latest sign-ins: (time, application name if any), newest first.
    pub sign_ins: Vec<(NaiveDateTime, Option<String>)>,
    /// Their last sign-in to the reviewed application (application reviews).
    pub last_app_sign_in: Option<NaiveDateTime>,
    /// Decisions on this access in earlier occurrences of the series, newest first.
    pub earlier: Vec<EarlierDecision>,
    /// The item's audit trail, oldest first.
    pub history: Vec<ItemEvent>,
    /// Display names of the reviewers named above, and of the one the item is assigned to.
    pub names: HashMap<String, String>,
    /// The item's reassignments, oldest first.
    pub reassignments: Vec<ReassignmentLine>,
    /// Each reviewer's decision where a rule weighs them, their voters in `names`.
    pub votes: Vec<VoteRow>,
}

/// How many of each list the detail page shows.
const DETAIL_ROWS: i64 = 20;

/// The detail of item `item` of the instance, if it is in the person's view (`None`:
/// answer 404 as for anything not theirs).
pub fn item_detail(conn: &mut DbConnection, access: &Access, item: &str) -> Result<Option<ItemDetail>, AppError> {
    let i = &access.instance;
    let Some(mut row) = store::decisions::get_listed(conn, &i.id, &access.scope, item)? else { return Ok(None) };
    let reviewer = matches!(access.scope, ItemScope::Reviewer { .. });
    if reviewer && !access.shows_recommendations() {
        // A stage without recommendations shows none (the item keeps it, for the record).
        row.recommendation = Recommendation::NoInfoAvailable;
        row.recommendation_reason.clear();
    }
    let undecidable = access.scope.decider().and_then(|d| {
        d.may_decide_item(&row.id, &row.principal_id, row.reviewer_id.as_deref(), row.reviewer_pool).err()
    });
    let user = store::users::get(conn, &row.principal_id)?;
    let mut sign_ins = Vec::new();
    let mut apps: HashMap<String, Option<String>> = HashMap::new();
    for (at, app) in store::sign_ins::recent(conn, &row.principal_id, DETAIL_ROWS)? {
        let name = match app {
            Some(app) => match apps.get(&app) {
                Some(name) => name.clone(),
                None => {
                    let name = store::apps::name_of(conn, &app)?;
                    apps.insert(app, name.clone());
                    name
                }
            },
            None => None,
        };
        sign_ins.push((at, name));
    }
    let last_app_sign_in = if i.resource_type == ResourceKind::Application {
        store::sign_ins::last(conn, &row.principal_id, Some(&i.resource_id))?
    } else {
        None
    };
    let earlier = store::decisions::earlier(
        conn,
        &i.definition_id,
        (i.resource_type, &i.resource_id),
        &row.principal_id,
        i.occurrence,
        DETAIL_ROWS,
    )?;
    let mut history = store::decisions::history(conn, &row.id, 200)?;
    if let Some(stage) = access.stage.as_ref().filter(|s| reviewer && !s.decision_histories) {
        // Earlier stages' decisions are the series' to show, not the trail's to leak.
        history.retain(|e| {
            let of_stage = serde_json::from_str::<serde_json::Value>(&e.details)
                .ok()
                .and_then(|d| d.get("stage").and_then(serde_json::Value::as_i64));
            of_stage.is_none_or(|n| n >= i64::from(stage.stage))
        });
    }
    let mut ids: Vec<String> = earlier.iter().filter_map(|e| e.reviewed_by.clone()).collect();
    ids.extend(row.reviewed_by.clone());
    ids.extend(row.reviewed_for.clone());
    ids.extend(row.reviewer_id.clone());
    ids.sort();
    ids.dedup();
    let mut names = store::users::display_names(conn, &ids)?;
    let votes = votes_on(conn, access, std::slice::from_ref(&row.id), &mut names)?.remove(&row.id).unwrap_or_default();
    let reassignments = reassignment_lines(conn, &row)?;
    Ok(Some(ItemDetail {
        votes,
        item: row,
        undecidable,
        user,
        sign_ins,
        last_app_sign_in,
        earlier,
        history,
        names,
        reassignments,
    }))
}

/// What a reassignment did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reassigned {
    /// Items handed on.
    pub moved: usize,
    /// The new reviewer's display name.
    pub to: String,
    /// Items of "everyone in this list" left out: the person may not decide them, or they
    /// were the new reviewer's already.
    pub skipped: usize,
    /// The new reviewer was mailed (the series' mails are on).
    pub mailed: bool,
}

/// Hands the selected items to the person whose user principal name is `upn`, with `note`,
/// as `actor`: a reviewer moves the items they may decide (ticked items they may not refuse
/// the whole request; "everyone in this list" leaves them out); an admin (`access` read
/// through [`ItemScope::All`]) moves any. Independence holds: nobody is given their own
/// access, a reviewer cannot hand items to themself, and a disabled or unknown person is
/// refused with what to fix. Only while the review is open, never in a self-review.
///
/// In one transaction: the items' reviewer changes (they leave the pool or the old
/// reviewer's list and appear in the new reviewer's panel), each move is kept in the
/// item's history and audited, and the new reviewer's mail is written to the outbox. The
/// decisions and so the instance's counters do not change. An item someone else moved
/// meanwhile refuses the whole request (a conflict: reload and try again).
pub fn reassign(
    conn: &mut DbConnection,
    access: &Access,
    selection: &Selection,
    (upn, note): (&str, &str),
    actor: &UserRow,
    now: NaiveDateTime,
) -> Result<Result<Reassigned, Refused>, AppError> {
    let instance = &access.instance;
    let decider = access.scope.decider();
    let by_admin = matches!(access.scope, ItemScope::All);
    if !by_admin && decider.is_none() {
        return Ok(Err(Refused("You do not decide in this review.".into())));
    }
    let refused = |e: ReassignError| Ok(Err(Refused(e.message())));
    if access.self_review || access.reviewer_kind() == ReviewerKind::Self_ {
        return refused(ReassignError::SelfReview);
    }
    conn.write(|conn| {
        let fresh = match still_open(conn, access, now, "its people can no longer be reassigned")? {
            Ok(fresh) => fresh,
            Err(refused) => return Ok(Err(refused)),
        };
        let to = store::users::by_upn(conn, upn.trim())?.filter(|_| !upn.trim().is_empty());
        let assignee =
            to.as_ref().map(|u| Assignee { id: u.id.clone(), name: u.display_name.clone(), enabled: u.enabled });
        let mut skipped = 0;
        let targets = match selection {
            Selection::Items(ids) => match ticked(conn, access, ids, decider, "reassign")? {
                Ok(found) => found,
                Err(refused) => return Ok(Err(refused)),
            },
            Selection::Matching(filter) => {
                let all = store::decisions::targets_matching(conn, &instance.id, &access.scope, filter)?;
                let total = all.len();
                let mine: Vec<DecisionTarget> = match decider {
                    Some(d) => all.into_iter().filter(|t| may_decide(d, t).is_ok()).collect(),
                    None => all,
                };
                skipped = total - mine.len();
                mine
            }
        };
        let principals: Vec<&str> = targets.iter().map(|t| t.principal_id.as_str()).collect();
        let note = match check_reassign(&actor.id, by_admin, upn, assignee.as_ref(), &principals, note) {
            Ok(note) => note,
            Err(e) => return refused(e),
        };
        let (Some(to), Some(assignee)) = (to, assignee) else { return refused(ReassignError::NoAssignee) };
        let (already, targets): (Vec<_>, Vec<_>) =
            targets.into_iter().partition(|t| t.reviewer_id.as_deref() == Some(to.id.as_str()));
        if targets.is_empty() {
            return refused(ReassignError::AlreadyTheirs(assignee.name));
        }
        skipped += already.len();
        // Move each group of items from where they were seen; fewer moved means someone
        // else moved them meanwhile, and the transaction is rolled back.
        let mut groups: std::collections::BTreeMap<Option<&str>, Vec<String>> = std::collections::BTreeMap::new();
        for t in &targets {
            groups.entry(t.reviewer_id.as_deref()).or_default().push(t.id.clone());
        }
        for (from, ids) in &groups {
            if store::decisions::move_items(conn, &instance.id, ids, *from, &to.id)? != ids.len() {
                return Err(AppError::Conflict(
                    "Someone else reassigned or took some of these people just now; nothing was changed. Reload the \
                     page and try again."
                        .into(),
                ));
            }
        }
        let from_ids: Vec<String> = groups.keys().flatten().map(|id| (*id).to_owned()).collect();
        let from_names = store::users::display_names(conn, &from_ids)?;
        let rows: Vec<NewReassignment> = targets
            .iter()
            .map(|t| NewReassignment {
                item_id: t.id.clone(),
                instance_id: instance.id.clone(),
                from_user: t.reviewer_id.clone(),
                to_user: to.id.clone(),
                note: note.to_owned(),
                by_user: actor.id.clone(),
                at: now,
            })
            .collect();
        store::reassignments::insert(conn, &rows)?;
        let events: Vec<NewEvent<'_>> = targets
            .iter()
            .map(|t| {
                let from = match &t.reviewer_id {
                    Some(id) => name_or_deleted(&from_names, id),
                    None => t.reviewer_pool.who().to_owned(),
                };
                NewEvent::by_user(
                    actor,
                    now,
                    "ReassignDecisionItem",
                    ("AccessReviewDecisionItem", &t.id),
                    serde_json::json!({
                        "instanceId": instance.id,
                        "principalId": t.principal_id,
                        "principal": t.principal_name,
                        "reviewer": { "old": from, "new": to.display_name },
                        "fromUserId": t.reviewer_id,
                        "toUserId": to.id,
                        "note": note,
                    }),
                )
            })
            .collect();
        store::audit::append_all(conn, &events)?;
        let moved = targets.len();
        let mailed = super::notify::reassigned(
            conn,
            &access.definition,
            &fresh,
            &to,
            actor,
            i64::try_from(moved).unwrap_or(i64::MAX),
            note,
            now,
        )? > 0;
        Ok(Ok(Reassigned { moved, to: to.display_name.clone(), skipped, mailed }))
    })
}

/// One reassignment of an item, with names: (when, from, to, by, note). `from` names the
/// pool when the item was nobody's in particular.
pub type ReassignmentLine = (NaiveDateTime, String, String, String, String);

/// The reassignments of `item`, oldest first, with names.
fn reassignment_lines(conn: &mut DbConnection, item: &ItemRow) -> Result<Vec<ReassignmentLine>, AppError> {
    let rows = store::reassignments::for_item(conn, &item.id, DETAIL_ROWS * 10)?;
    let mut ids: Vec<String> =
        rows.iter().flat_map(|r| r.from_user.iter().chain([&r.to_user, &r.by_user])).cloned().collect();
    ids.sort();
    ids.dedup();
    let names = store::users::display_names(conn, &ids)?;
    let name = |id: &str| name_or_deleted(&names, id);
    Ok(rows
        .into_iter()
        .map(|r| {
            let from = r.from_user.as_deref().map_or_else(|| item.reviewer_pool.who().to_owned(), name);
            (r.at, from, name(&r.to_user), name(&r.by_user), r.note)
        })
        .collect())
}

/// [`reassign`] from an admin's results page: any of the items of occurrence `instance` of
/// series `definition`, if `manager` may manage it (else 404).
pub fn reassign_as_admin(
    conn: &mut DbConnection,
    manager: &crate::domain::review::ReviewScope,
    (definition, instance): (&str, &str),
    selection: &Selection,
    to: (&str, &str),
    actor: &UserRow,
    now: NaiveDateTime,
) -> Result<Result<Reassigned, Refused>, AppError> {
    // As `results::managed_instance` (which imports this module, so not called from here).
    let definition = super::reviews::managed(conn, manager, definition)?;
    let instance =
        store::instances::get(conn, instance)?.filter(|i| i.definition_id == definition.id).ok_or_else(|| {
            AppError::NotFound("This review has no such occurrence. Go back to the review's page.".into())
        })?;
    let stage = current_stage(conn, &instance)?;
    let self_review = stage.as_ref().map_or(definition.reviewer_kind, |s| s.reviewer_kind) == ReviewerKind::Self_;
    let access = Access { instance, definition, scope: ItemScope::All, self_review, stage, on_behalf_of: None };
    reassign(conn, &access, selection, to, actor, now)
}
