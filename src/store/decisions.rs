//! Decision items as reviewers see and change them: pages of one instance filtered by
//! decision, recommendation and name, restricted to the items a reviewer may see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{Conn, Keyset, contains_pattern, keyset_page, lower};
use crate::db::MultiBackend;
use crate::db::schema::{review_decision_items as items, review_instances};
use crate::domain::apply::ApplyResult;
use crate::domain::decision::{Change, Decider, Decision, Pending, Pool, Tally, recommended};
use crate::domain::directory::UserType;
use crate::domain::odata::{Filter, Op};
use crate::domain::recommendation::Recommendation;
use crate::domain::review::ResourceKind;

/// The items of an instance a person sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemScope {
    /// Every item, to read (an admin's results page): nobody decides through it.
    All,
    /// A reviewer's part. With `whole`, every item of the instance is listed (owners and
    /// selected reviewers, and the fallback reviewers of a resource without owners: all
    /// items but a few belong to that pool, and the instance's counters count them);
    /// otherwise the items the person decides: those assigned to them (managers,
    /// self-review) and those of their pools. Which listed items they may decide is
    /// [`Decider::may_decide`]'s to say.
    Reviewer {
        /// Who, and what they decide.
        decider: Decider,
        /// Lists every item; most belong to this pool.
        whole: Option<Pool>,
        /// Only the items of this stage (a multi-stage instance): the others were decided
        /// in an earlier stage and did not move on.
        stage: Option<i32>,
    },
}

impl ItemScope {
    /// The person's decider, unless the scope is read-only.
    pub fn decider(&self) -> Option<&Decider> {
        match self {
            Self::All => None,
            Self::Reviewer { decider, .. } => Some(decider),
        }
    }

    /// Whether every item of the instance is listed (so the instance's counters count it).
    pub fn is_whole(&self) -> bool {
        matches!(self, Self::All | Self::Reviewer { whole: Some(_), .. })
    }
}

/// Which items a page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Only items with this decision.
    pub decision: Option<Decision>,
    /// Only items recommended for denial.
    pub recommended_deny: bool,
    /// Name or UPN contains this.
    pub search: Option<String>,
    /// An API client's `$filter`, its comparisons checked.
    pub expression: Option<Filter<ItemTest>>,
}

/// A comparison a `$filter` of decision items may make: a property with a value it can
/// hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemTest {
    /// `decision`.
    Decision(Decision),
    /// `recommendation`.
    Recommendation(Recommendation),
    /// `applyResult`.
    ApplyResult(ApplyResult),
}

/// The SQL of a `$filter` of decision items.
fn expression_predicate(filter: &Filter<ItemTest>) -> Predicate {
    match filter {
        Filter::And(all) => all
            .iter()
            .map(expression_predicate)
            .reduce(|a, b| Box::new(a.and(b)))
            .unwrap_or_else(|| Box::new(diesel::dsl::sql::<Bool>("1 = 1"))),
        Filter::Or(any) => any
            .iter()
            .map(expression_predicate)
            .reduce(|a, b| Box::new(a.or(b)))
            .unwrap_or_else(|| Box::new(diesel::dsl::sql::<Bool>("1 = 0"))),
        // The API's check admits only eq and ne on these closed sets of values; a contains
        // would never match one whole.
        Filter::Compare { op: Op::Contains, .. } => Box::new(diesel::dsl::sql::<Bool>("1 = 0")),
        Filter::Compare { property, op, .. } => match (*property, *op == Op::Eq) {
            (ItemTest::Decision(d), true) => Box::new(items::decision.eq(d.as_str())),
            (ItemTest::Decision(d), false) => Box::new(items::decision.ne(d.as_str())),
            (ItemTest::Recommendation(r), true) => Box::new(items::recommendation.eq(r)),
            (ItemTest::Recommendation(r), false) => Box::new(items::recommendation.ne(r)),
            (ItemTest::ApplyResult(a), true) => Box::new(items::apply_result.eq(a)),
            (ItemTest::ApplyResult(a), false) => Box::new(items::apply_result.ne(a)),
        },
    }
}

type Predicate = Box<dyn BoxableExpression<items::table, MultiBackend, SqlType = Bool>>;

/// The items of `instance`, of `stage` when it is given.
fn in_stage(instance: &str, stage: Option<i32>) -> Predicate {
    let here = items::instance_id.eq(instance.to_owned());
    match stage {
        Some(n) => Box::new(here.and(items::stage.eq(n))),
        None => Box::new(here),
    }
}

fn scope_predicate(instance: &str, scope: &ItemScope) -> Predicate {
    let ItemScope::Reviewer { decider, whole: None, stage } = scope else {
        return Box::new(items::instance_id.eq(instance.to_owned()));
    };
    let here = in_stage(instance, *stage);
    // `assume_not_null` keeps `reviewer_id = ?` a plain comparison both engines seek the
    // (reviewer_id, instance_id) and tally indexes with.
    let assigned = items::reviewer_id.assume_not_null().eq(decider.user.clone());
    let pools: Vec<&'static str> = decider.pools().into_iter().map(Pool::as_str).collect();
    let mine: Predicate = if pools.is_empty() {
        Box::new(assigned)
    } else {
        Box::new(assigned.or(items::reviewer_id.is_null().and(items::reviewer_pool.eq_any(pools))))
    };
    if decider.escalated.is_empty() {
        Box::new(here.and(mine))
    } else {
        Box::new(here.and(mine.or(escalated_to(instance, &decider.user))))
    }
}

/// The items of `instance` escalated to `user` in the stage it is in.
fn escalated_to(instance: &str, user: &str) -> Predicate {
    use crate::db::schema::review_item_escalations as escalations;
    let current = review_instances::table.find(instance.to_owned()).select(review_instances::stage).single_value();
    let ids = escalations::table
        .filter(escalations::user_id.eq(user.to_owned()))
        .filter(escalations::instance_id.eq(instance.to_owned()))
        .filter(escalations::stage.nullable().eq(current))
        .select(escalations::item_id);
    Box::new(items::id.eq_any(ids))
}

fn query<'a>(instance: &str, scope: &ItemScope, filter: &ItemFilter) -> items::BoxedQuery<'a, MultiBackend> {
    let mut q = items::table.into_boxed::<MultiBackend>().filter(scope_predicate(instance, scope));
    if let Some(d) = filter.decision {
        q = q.filter(items::decision.eq(d.as_str()));
    }
    if filter.recommended_deny {
        q = q.filter(items::recommendation.eq(Recommendation::Deny));
    }
    if let Some(expression) = &filter.expression {
        q = q.filter(expression_predicate(expression));
    }
    if let Some(search) = &filter.search {
        let pattern = contains_pattern(search);
        q = q.filter(
            lower(items::principal_name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(items::principal_upn).like(pattern).escape('\\')),
        );
    }
    q
}

/// An item as the review and results pages list it: only the columns they show and what
/// says who decides it (a page reads 50 of these on every request, and each column read is
/// an allocation).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct ListedItem {
    pub id: String,
    pub principal_id: String,
    pub principal_name: String,
    pub principal_upn: String,
    pub principal_type: UserType,
    pub principal_job_title: String,
    pub principal_department: String,
    pub principal_manager: String,
    pub access_path: String,
    pub last_sign_in: Option<NaiveDateTime>,
    pub recommendation: Recommendation,
    pub recommendation_reason: String,
    pub decision: Decision,
    pub justification: String,
    pub reviewed_by: Option<String>,
    /// The reviewer a delegate decided for.
    pub reviewed_for: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub apply_result: ApplyResult,
    pub apply_detail: String,
    pub applied_by: Option<String>,
    pub applied_at: Option<NaiveDateTime>,
    pub reviewer_id: Option<String>,
    pub reviewer_pool: Pool,
}

impl From<crate::store::instances::ItemRow> for ListedItem {
    fn from(r: crate::store::instances::ItemRow) -> Self {
        Self {
            id: r.id,
            principal_id: r.principal_id,
            principal_name: r.principal_name,
            principal_upn: r.principal_upn,
            principal_type: r.principal_type,
            principal_job_title: r.principal_job_title,
            principal_department: r.principal_department,
            principal_manager: r.principal_manager,
            access_path: r.access_path,
            last_sign_in: r.last_sign_in,
            recommendation: r.recommendation,
            recommendation_reason: r.recommendation_reason,
            decision: r.decision,
            justification: r.justification,
            reviewed_by: r.reviewed_by,
            reviewed_for: r.reviewed_for,
            reviewed_at: r.reviewed_at,
            apply_result: r.apply_result,
            apply_detail: r.apply_detail,
            applied_by: r.applied_by,
            applied_at: r.applied_at,
            reviewer_id: r.reviewer_id,
            reviewer_pool: r.reviewer_pool,
        }
    }
}

/// One page of items, by principal name, as the reviewer may see them.
pub fn page(
    conn: &mut Conn,
    instance: &str,
    scope: &ItemScope,
    filter: &ItemFilter,
    keyset: &Keyset,
    limit: usize,
) -> QueryResult<Vec<ListedItem>> {
    let q = query(instance, scope, filter).select(ListedItem::as_select());
    keyset_page!(q, keyset, items::principal_name, items::id, limit).load(conn)
}

/// How many items `filter` lists (an API client's `$count`: one counting query, asked for).
pub fn count(conn: &mut Conn, instance: &str, scope: &ItemScope, filter: &ItemFilter) -> QueryResult<i64> {
    query(instance, scope, filter).count().get_result(conn)
}

/// The sort name of an item of `instance`, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, instance: &str, id: &str) -> QueryResult<Option<String>> {
    items::table
        .filter(items::id.eq(id))
        .filter(items::instance_id.eq(instance))
        .select(items::principal_name)
        .first(conn)
        .optional()
}

/// Counts of a reviewer's view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items per decision.
    pub tally: Tally,
    /// Items recommended for denial.
    pub recommended_deny: i64,
    /// Items not reviewed yet that have a recommendation.
    pub pending: Pending,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        for d in Decision::ALL {
            self.tally.add(d, other.tally.get(d));
        }
        self.recommended_deny += other.recommended_deny;
        self.pending.approve += other.pending.approve;
        self.pending.deny += other.pending.deny;
    }
}

/// How many items of the reviewer's view hold each decision, how many are recommended for
/// denial, and how many are still to decide with a recommendation. Counted, so only for
/// views of a part of an instance (a manager's few people, a pool's items); whole
/// instances read their counters instead.
pub fn tally(conn: &mut Conn, instance: &str, scope: &ItemScope) -> QueryResult<Counts> {
    let ItemScope::Reviewer { decider, whole: None, stage } = scope else {
        return tally_where(conn, scope_predicate(instance, scope));
    };
    // "Mine or my pools'" as one OR defeats the tally index; one seek per part, summed,
    // does not.
    let here = || in_stage(instance, *stage);
    let mut counts =
        tally_where(conn, Box::new(here().and(items::reviewer_id.assume_not_null().eq(decider.user.clone()))))?;
    let pools = decider.pools();
    for pool in &pools {
        let part = here().and(items::reviewer_id.is_null()).and(items::reviewer_pool.eq(*pool));
        counts.add(tally_where(conn, Box::new(part))?);
    }
    if !decider.escalated.is_empty() {
        // Escalated items are never the person's own by name; those of their pools are
        // counted above.
        let pooled = items::reviewer_id.is_null().and(items::reviewer_pool.eq_any(pools));
        let part = here().and(escalated_to(instance, &decider.user)).and(diesel::dsl::not(pooled));
        counts.add(tally_where(conn, Box::new(part))?);
    }
    Ok(counts)
}

fn tally_where(conn: &mut Conn, predicate: Predicate) -> QueryResult<Counts> {
    let rows: Vec<(Decision, Recommendation, i64)> = items::table
        .filter(predicate)
        .group_by((items::decision, items::recommendation))
        .select((items::decision, items::recommendation, diesel::dsl::count_star()))
        .load(conn)?;
    let mut counts = Counts::default();
    for (decision, recommendation, n) in rows {
        counts.tally.add(decision, n);
        if decision == Decision::NotReviewed {
            counts.pending.add(recommended(recommendation), n);
        }
        if recommendation == Recommendation::Deny {
            counts.recommended_deny += n;
        }
    }
    Ok(counts)
}

/// What a decision needs of an item.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct DecisionTarget {
    pub id: String,
    pub principal_id: String,
    pub principal_name: String,
    pub decision: Decision,
    pub recommendation: Recommendation,
    pub recommendation_reason: String,
    pub reviewer_id: Option<String>,
    pub reviewer_pool: Pool,
}

/// The listed items of a view that its person may be unable to decide: their own item, and
/// in a whole view the items of the pools they are not in (a reviewer's own access routed
/// to the fallback reviewers or the admins). A handful, found by index: for the reviewers
/// of an instance (the common case, and the review page's benchmark) one seek, as their
/// own item was routed away from them at start.
pub fn exceptions(conn: &mut Conn, instance: &str, scope: &ItemScope) -> QueryResult<Vec<DecisionTarget>> {
    let ItemScope::Reviewer { decider, whole, .. } = scope else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    if whole.is_some() {
        let others: Vec<&'static str> =
            Pool::ALL.into_iter().filter(|p| !decider.in_pool(*p)).map(Pool::as_str).collect();
        out = items::table
            .filter(items::instance_id.eq(instance))
            .filter(items::reviewer_id.is_null())
            .filter(items::reviewer_pool.eq_any(others))
            .select(DecisionTarget::as_select())
            .load(conn)?;
        // Items reassigned to someone else (by the tally index: none unless reassigned).
        out.extend(
            items::table
                .filter(items::instance_id.eq(instance))
                .filter(items::reviewer_id.is_not_null())
                .filter(items::reviewer_id.ne(decider.user.clone()))
                .select(DecisionTarget::as_select())
                .load::<DecisionTarget>(conn)?,
        );
    }
    // A reviewer's own item is never the reviewers' (it was routed away at start), so in
    // their whole view it was found above, unless it went to a pool they are in (the admins').
    let own_found = out.iter().any(|t| t.principal_id == decider.user);
    if !own_found && (*whole != Some(Pool::Reviewers) || decider.admin) {
        out.extend(
            query(instance, scope, &ItemFilter::default())
                .filter(items::principal_id.eq(decider.user.clone()))
                .select(DecisionTarget::as_select())
                .load::<DecisionTarget>(conn)?,
        );
    }
    Ok(out)
}

/// The items with these ids, if they are in the reviewer's view of `instance`.
pub fn targets_by_id(
    conn: &mut Conn,
    instance: &str,
    scope: &ItemScope,
    ids: &[String],
) -> QueryResult<Vec<DecisionTarget>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let rows: Vec<DecisionTarget> = query(instance, scope, &ItemFilter::default())
            .filter(items::id.eq_any(chunk))
            .select(DecisionTarget::as_select())
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Every item of the reviewer's view matching `filter` ("all matching items").
pub fn targets_matching(
    conn: &mut Conn,
    instance: &str,
    scope: &ItemScope,
    filter: &ItemFilter,
) -> QueryResult<Vec<DecisionTarget>> {
    query(instance, scope, filter).select(DecisionTarget::as_select()).load(conn)
}

/// Writes decisions by `reviewer` (a delegate: on behalf of the reviewer `for_whom`) at
/// `at`. Items that get the same decision and reason are updated together, by id lists of
/// a size both backends accept.
pub fn write(
    conn: &mut Conn,
    changes: &[Change],
    (reviewer, for_whom): (&str, Option<&str>),
    at: NaiveDateTime,
) -> QueryResult<()> {
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<&str>> = std::collections::BTreeMap::new();
    for c in changes {
        groups.entry((c.new.as_str(), c.justification.as_str())).or_default().push(c.id.as_str());
    }
    for ((decision, justification), ids) in groups {
        // An outcome still waiting for other reviewers ("all must approve") is nobody's
        // decision yet.
        let decided = decision != Decision::NotReviewed.as_str();
        for chunk in ids.chunks(10_000) {
            diesel::update(items::table.filter(items::id.eq_any(chunk)))
                .set((
                    items::decision.eq(decision),
                    items::justification.eq(if decided { justification } else { "" }),
                    items::reviewed_by.eq(decided.then_some(reviewer)),
                    items::reviewed_for.eq(for_whom.filter(|_| decided)),
                    items::reviewed_at.eq(decided.then_some(at)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Credits the decision of item `item` to `reviewer` (a delegate: on behalf of
/// `for_whom`) at `at`: the reviewer whose vote decided an outcome that a later vote did
/// not change.
pub fn credit(
    conn: &mut Conn,
    item: &str,
    (reviewer, for_whom): (&str, Option<&str>),
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(items::table.find(item))
        .set((items::reviewed_by.eq(Some(reviewer)), items::reviewed_for.eq(for_whom), items::reviewed_at.eq(Some(at))))
        .execute(conn)?;
    Ok(())
}

/// Hands the items `ids` of `instance` that `from` has (`None`: items of a pool, assigned
/// to nobody) to `to`; returns how many moved. Only items still where the caller saw them
/// move: fewer than asked means someone else moved or took them meanwhile.
pub fn move_items(conn: &mut Conn, instance: &str, ids: &[String], from: Option<&str>, to: &str) -> QueryResult<usize> {
    let mut moved = 0;
    // Only items of the stage the instance is in: an earlier stage's decisions are final.
    let current = || review_instances::table.find(instance.to_owned()).select(review_instances::stage).single_value();
    for chunk in ids.chunks(10_000) {
        let here = items::table
            .filter(items::instance_id.eq(instance))
            .filter(items::id.eq_any(chunk))
            .filter(items::stage.nullable().eq(current()));
        moved += match from {
            Some(from) => diesel::update(here.filter(items::reviewer_id.eq(from)))
                .set(items::reviewer_id.eq(Some(to)))
                .execute(conn)?,
            None => diesel::update(here.filter(items::reviewer_id.is_null()))
                .set(items::reviewer_id.eq(Some(to)))
                .execute(conn)?,
        };
    }
    Ok(moved)
}

/// Moves an instance's counters by `delta` and `pending`, in the transaction of the
/// decisions.
pub fn adjust_counters(conn: &mut Conn, instance: &str, delta: &Tally, pending: &Pending) -> QueryResult<()> {
    let n = |v: i64| i32::try_from(v).unwrap_or(0);
    diesel::update(review_instances::table.find(instance))
        .set((
            review_instances::not_reviewed.eq(review_instances::not_reviewed + n(delta.not_reviewed)),
            review_instances::approved.eq(review_instances::approved + n(delta.approved)),
            review_instances::denied.eq(review_instances::denied + n(delta.denied)),
            review_instances::dont_know.eq(review_instances::dont_know + n(delta.dont_know)),
            review_instances::pending_approve.eq(review_instances::pending_approve + n(pending.approve)),
            review_instances::pending_deny.eq(review_instances::pending_deny + n(pending.deny)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Per instance, how many items are assigned to `user` and how many of them are decided:
/// (instance, total, reviewed). For the panel's list of manager and self reviews.
pub fn assigned_progress(conn: &mut Conn, user: &str) -> QueryResult<Vec<(String, i64, i64)>> {
    // Only the stage each instance is in: items an earlier stage decided for good are
    // no longer anyone's to review.
    let rows: Vec<(String, String, i64)> = items::table
        .inner_join(review_instances::table)
        .filter(items::reviewer_id.eq(user))
        .filter(items::stage.eq(review_instances::stage))
        .group_by((items::instance_id, items::decision))
        .select((items::instance_id, items::decision, diesel::dsl::count_star()))
        .load(conn)?;
    let mut out: Vec<(String, i64, i64)> = Vec::new();
    for (instance, decision, n) in rows {
        let reviewed = if decision == Decision::NotReviewed.as_str() { 0 } else { n };
        match out.iter_mut().find(|(i, _, _)| *i == instance) {
            Some(entry) => {
                entry.1 += n;
                entry.2 += reviewed;
            }
            None => out.push((instance, n, reviewed)),
        }
    }
    Ok(out)
}

/// One item of the reviewer's view, whole (for its detail page); `None` when it is not in
/// the view.
pub fn get_listed(
    conn: &mut Conn,
    instance: &str,
    scope: &ItemScope,
    id: &str,
) -> QueryResult<Option<crate::store::instances::ItemRow>> {
    query(instance, scope, &ItemFilter::default())
        .filter(items::id.eq(id.to_owned()))
        .select(crate::store::instances::ItemRow::as_select())
        .first(conn)
        .optional()
}

/// A decision on the same access in an earlier occurrence of the series.
#[derive(Debug, Clone, Queryable)]
pub struct EarlierDecision {
    pub occurrence: i32,
    pub start_at: NaiveDateTime,
    pub end_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    pub decision: Decision,
    pub justification: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub apply_result: ApplyResult,
}

/// The decisions on `principal`'s access to the resource in the occurrences of
/// `definition` before `before`, newest first, at most `limit` (by the series' unique
/// (series, occurrence, resource) key, then the items' (instance, principal) key).
pub fn earlier(
    conn: &mut Conn,
    definition: &str,
    resource: (ResourceKind, &str),
    principal: &str,
    before: i32,
    limit: i64,
) -> QueryResult<Vec<EarlierDecision>> {
    items::table
        .inner_join(review_instances::table)
        .filter(review_instances::definition_id.eq(definition))
        .filter(review_instances::resource_type.eq(resource.0))
        .filter(review_instances::resource_id.eq(resource.1))
        .filter(review_instances::occurrence.lt(before))
        .filter(items::principal_id.eq(principal))
        .order(review_instances::occurrence.desc())
        .limit(limit)
        .select((
            review_instances::occurrence,
            review_instances::start_at,
            review_instances::end_at,
            review_instances::completed_at,
            items::decision,
            items::justification,
            items::reviewed_by,
            items::reviewed_at,
            items::apply_result,
        ))
        .load(conn)
}

/// An event of an item's audit trail.
#[derive(Debug, Clone, Queryable)]
pub struct ItemEvent {
    pub at: NaiveDateTime,
    pub actor_name: String,
    pub action: String,
    pub details: String,
}

/// The audit trail of one decision item, oldest first, at most `limit` events (by the
/// events' target index).
pub fn history(conn: &mut Conn, item: &str, limit: i64) -> QueryResult<Vec<ItemEvent>> {
    use crate::db::schema::audit_events as events;
    events::table
        .filter(events::target_id.eq(item))
        .filter(events::target_type.eq("AccessReviewDecisionItem"))
        .order(events::id)
        .limit(limit)
        .select((events::at, events::actor_name, events::action, events::details))
        .load(conn)
}
