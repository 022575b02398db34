//! Decision items as reviewers see and change them: pages of one instance filtered by
//! decision, recommendation and name, restricted to the items a reviewer may see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{Conn, Keyset, contains_pattern, keyset_page, lower};
use crate::db::MultiBackend;
use crate::db::schema::{review_decision_items as items, review_instances};
use crate::domain::decision::{Change, Decision, Tally};

/// The items of an instance a reviewer may see and decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemScope {
    /// All of them (owners, selected reviewers, fallbacks of an owner review).
    All,
    /// Those assigned to `user` (managers, self-review), and with `unassigned` also those
    /// assigned to nobody (a fallback reviewer of a manager review: people without a
    /// manager).
    Assigned {
        /// The reviewer.
        user: String,
        /// Also items without a reviewer of their own.
        unassigned: bool,
    },
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
}

type Predicate = Box<dyn BoxableExpression<items::table, MultiBackend, SqlType = Bool>>;

fn scope_predicate(instance: &str, scope: &ItemScope) -> Predicate {
    let here = items::instance_id.eq(instance.to_owned());
    match scope {
        ItemScope::All => Box::new(here),
        ItemScope::Assigned { user, unassigned: false } => {
            Box::new(here.and(items::reviewer_id.assume_not_null().eq(user.clone())))
        }
        ItemScope::Assigned { user, unassigned: true } => {
            Box::new(here.and(items::reviewer_id.assume_not_null().eq(user.clone()).or(items::reviewer_id.is_null())))
        }
    }
}

fn query<'a>(instance: &str, scope: &ItemScope, filter: &ItemFilter) -> items::BoxedQuery<'a, MultiBackend> {
    let mut q = items::table.into_boxed::<MultiBackend>().filter(scope_predicate(instance, scope));
    if let Some(d) = filter.decision {
        q = q.filter(items::decision.eq(d.as_str()));
    }
    if filter.recommended_deny {
        q = q.filter(items::recommendation.eq("Deny"));
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

/// An item as the review and results pages list it: only the columns they show (a page
/// reads 50 of these on every request, and each column read is an allocation).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct ListedItem {
    pub id: String,
    pub principal_name: String,
    pub principal_upn: String,
    pub principal_type: String,
    pub access_path: String,
    pub last_sign_in: Option<NaiveDateTime>,
    pub recommendation: String,
    pub recommendation_reason: String,
    pub decision: String,
    pub justification: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub apply_result: String,
    pub apply_detail: String,
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

/// The sort name of an item of `instance`, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, instance: &str, id: &str) -> QueryResult<Option<String>> {
    items::table
        .filter(items::id.eq(id))
        .filter(items::instance_id.eq(instance))
        .select(items::principal_name)
        .first(conn)
        .optional()
}

/// How many items of the reviewer's view hold each decision, and how many are
/// recommended for denial. Counted, so only for assigned views (a manager's few people);
/// whole instances read their counters instead.
pub fn tally(conn: &mut Conn, instance: &str, scope: &ItemScope) -> QueryResult<(Tally, i64)> {
    // "Mine or nobody's" as one OR defeats the (reviewer_id, instance_id) index; two
    // seeks on it and a sum do not.
    if let ItemScope::Assigned { user, unassigned: true } = scope {
        let mine = ItemScope::Assigned { user: user.clone(), unassigned: false };
        let (mut tally, mut deny) = tally_where(conn, scope_predicate(instance, &mine))?;
        let (nobody, nobody_deny) =
            tally_where(conn, Box::new(items::instance_id.eq(instance.to_owned()).and(items::reviewer_id.is_null())))?;
        for d in Decision::ALL {
            tally.add(d, nobody.get(d));
        }
        deny += nobody_deny;
        return Ok((tally, deny));
    }
    tally_where(conn, scope_predicate(instance, scope))
}

fn tally_where(conn: &mut Conn, predicate: Predicate) -> QueryResult<(Tally, i64)> {
    let rows: Vec<(String, String, i64)> = items::table
        .filter(predicate)
        .group_by((items::decision, items::recommendation))
        .select((items::decision, items::recommendation, diesel::dsl::count_star()))
        .load(conn)?;
    let mut tally = Tally::default();
    let mut recommended_deny = 0;
    for (decision, recommendation, n) in rows {
        if let Some(d) = Decision::parse(&decision) {
            tally.add(d, n);
        }
        if recommendation == "Deny" {
            recommended_deny += n;
        }
    }
    Ok((tally, recommended_deny))
}

/// What a decision needs of an item.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct DecisionTarget {
    pub id: String,
    pub principal_id: String,
    pub principal_name: String,
    pub decision: String,
    pub recommendation: String,
    pub recommendation_reason: String,
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

/// Writes decisions by `reviewer` at `at`. Items that get the same decision and reason are
/// updated together, by id lists of a size both backends accept.
pub fn write(conn: &mut Conn, changes: &[Change], reviewer: &str, at: NaiveDateTime) -> QueryResult<()> {
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<&str>> = std::collections::BTreeMap::new();
    for c in changes {
        groups.entry((c.new.as_str(), c.justification.as_str())).or_default().push(c.id.as_str());
    }
    for ((decision, justification), ids) in groups {
        for chunk in ids.chunks(10_000) {
            diesel::update(items::table.filter(items::id.eq_any(chunk)))
                .set((
                    items::decision.eq(decision),
                    items::justification.eq(justification),
                    items::reviewed_by.eq(Some(reviewer)),
                    items::reviewed_at.eq(Some(at)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Moves an instance's counters by `delta`, in the transaction of the decisions.
pub fn adjust_counters(conn: &mut Conn, instance: &str, delta: &Tally) -> QueryResult<()> {
    let n = |v: i64| i32::try_from(v).unwrap_or(0);
    diesel::update(review_instances::table.find(instance))
        .set((
            review_instances::not_reviewed.eq(review_instances::not_reviewed + n(delta.not_reviewed)),
            review_instances::approved.eq(review_instances::approved + n(delta.approved)),
            review_instances::denied.eq(review_instances::denied + n(delta.denied)),
            review_instances::dont_know.eq(review_instances::dont_know + n(delta.dont_know)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Per instance, how many items are assigned to `user` and how many of them are decided:
/// (instance, total, reviewed). For the panel's list of manager and self reviews.
pub fn assigned_progress(conn: &mut Conn, user: &str) -> QueryResult<Vec<(String, i64, i64)>> {
    let rows: Vec<(String, String, i64)> = items::table
        .filter(items::reviewer_id.eq(user))
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
