//! Remediation tasks: removals a push source must make because attest cannot (SCIM, CSV),
//! their verification when that source's later writes show the access gone, and which
//! items of a review page no longer exist in the directory.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::{Conn, Keyset, keyset_page, per_backend};
use crate::db::MultiBackend;
use crate::db::schema::{
    app_user_assignments, applications, group_member_users, groups, remediation_tasks as tasks,
    review_decision_items as items, role_assignments, role_definitions, users,
};
use crate::domain::decision::Decision;
use crate::domain::review::ResourceKind;

/// A task to record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tasks)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewTask<'a> {
    pub item_id: &'a str,
    pub instance_id: &'a str,
    pub source_id: &'a str,
    pub resource_type: ResourceKind,
    pub resource_id: &'a str,
    pub principal_id: &'a str,
    pub created_at: NaiveDateTime,
}

/// Records tasks; an item that has one already keeps it (applying is resumable).
pub fn insert(conn: &mut Conn, rows: &[NewTask<'_>]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(super::batch_size(conn, 7)) {
        n += per_backend!(conn, c => diesel::insert_into(tasks::table).values(chunk).on_conflict_do_nothing().execute(c))?;
    }
    Ok(n)
}

/// Marks the tasks `item_ids` as removed at source at `now` (a removal attest wrote and
/// read back).
pub fn mark_removed(conn: &mut Conn, item_ids: &[String], now: NaiveDateTime) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in item_ids.chunks(super::batch_size(conn, 1)) {
        n += diesel::update(tasks::table.filter(tasks::item_id.eq_any(chunk)))
            .set(tasks::removed_at_source_at.eq(now))
            .execute(conn)?;
    }
    Ok(n)
}

/// A removal that its source granted again.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Regranted {
    pub item_id: String,
    pub instance_id: String,
    pub principal_id: String,
    pub resource_id: String,
}

/// Flags the tasks of `source` seen removed whose access the source grants again (a
/// membership or assignment of the same principal and resource, of this source), at `now`;
/// returns them.
pub fn regranted(conn: &mut Conn, source: &str, now: NaiveDateTime) -> QueryResult<Vec<Regranted>> {
    let removed = || {
        tasks::table
            .filter(tasks::source_id.eq(source.to_owned()))
            .filter(tasks::removed_at_source_at.is_not_null())
            .filter(tasks::regranted_at.is_null())
    };
    let membership = tasks::resource_type.eq(ResourceKind::Group).and(exists(
        group_member_users::table
            .filter(group_member_users::group_id.eq(tasks::resource_id))
            .filter(group_member_users::user_id.eq(tasks::principal_id))
            .filter(group_member_users::source_id.eq(tasks::source_id)),
    ));
    let assignment = tasks::resource_type.eq(ResourceKind::Application).and(exists(
        app_user_assignments::table
            .filter(app_user_assignments::app_id.eq(tasks::resource_id))
            .filter(app_user_assignments::user_id.eq(tasks::principal_id))
            .filter(app_user_assignments::source_id.eq(tasks::source_id)),
    ));
    let again = removed()
        .filter(membership.or(assignment))
        .select((tasks::item_id, tasks::instance_id, tasks::principal_id, tasks::resource_id))
        .load::<Regranted>(conn)?;
    let ids: Vec<&str> = again.iter().map(|r| r.item_id.as_str()).collect();
    for chunk in ids.chunks(super::batch_size(conn, 1)) {
        diesel::update(tasks::table.filter(tasks::item_id.eq_any(chunk)))
            .set(tasks::regranted_at.eq(now))
            .execute(conn)?;
    }
    Ok(again)
}

/// Marks the open tasks of `source` whose access that source no longer grants as removed
/// at source at `now`; returns how many. One statement per kind of resource, whatever the
/// number of tasks.
pub fn verify(conn: &mut Conn, source: &str, now: NaiveDateTime) -> QueryResult<usize> {
    let open =
        || tasks::table.filter(tasks::source_id.eq(source.to_owned())).filter(tasks::removed_at_source_at.is_null());
    let memberships = diesel::update(
        open().filter(tasks::resource_type.eq(ResourceKind::Group)).filter(not(exists(
            group_member_users::table
                .filter(group_member_users::group_id.eq(tasks::resource_id))
                .filter(group_member_users::user_id.eq(tasks::principal_id))
                .filter(group_member_users::source_id.eq(tasks::source_id)),
        ))),
    )
    .set(tasks::removed_at_source_at.eq(now))
    .execute(conn)?;
    let assignments = diesel::update(
        open().filter(tasks::resource_type.eq(ResourceKind::Application)).filter(not(exists(
            app_user_assignments::table
                .filter(app_user_assignments::app_id.eq(tasks::resource_id))
                .filter(app_user_assignments::user_id.eq(tasks::principal_id))
                .filter(app_user_assignments::source_id.eq(tasks::source_id)),
        ))),
    )
    .set(tasks::removed_at_source_at.eq(now))
    .execute(conn)?;
    let roles = diesel::update(
        open().filter(tasks::resource_type.eq(ResourceKind::Role)).filter(not(exists(
            role_assignments::table
                .filter(role_assignments::role_id.eq(tasks::resource_id))
                .filter(role_assignments::user_id.eq(tasks::principal_id))
                .filter(role_assignments::source_id.eq(tasks::source_id)),
        ))),
    )
    .set(tasks::removed_at_source_at.eq(now))
    .execute(conn)?;
    Ok(memberships + assignments + roles)
}

/// A task with what its item says about the decision.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct TaskRow {
    pub item_id: String,
    pub source_id: String,
    pub created_at: NaiveDateTime,
    pub removed_at_source_at: Option<NaiveDateTime>,
    /// When a later sync saw the access granted again after its removal.
    pub regranted_at: Option<NaiveDateTime>,
    pub principal_name: String,
    pub principal_upn: String,
    pub access_path: String,
    pub decision: Decision,
    pub justification: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
}

/// The tasks of `instance`, by principal name then item id, from `keyset` (one more than
/// `limit`, to tell whether another page follows).
pub fn page(conn: &mut Conn, instance: &str, keyset: &Keyset, limit: usize) -> QueryResult<Vec<TaskRow>> {
    let q = tasks::table
        .inner_join(items::table)
        .filter(tasks::instance_id.eq(instance.to_owned()))
        .select((
            tasks::item_id,
            tasks::source_id,
            tasks::created_at,
            tasks::removed_at_source_at,
            tasks::regranted_at,
            items::principal_name,
            items::principal_upn,
            items::access_path,
            items::decision,
            items::justification,
            items::reviewed_by,
            items::reviewed_at,
        ))
        .into_boxed::<MultiBackend>();
    keyset_page!(q, keyset, items::principal_name, tasks::item_id, limit).load(conn)
}

/// How many tasks an instance has, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Every task.
    pub all: i64,
    /// Still open (overdue ones included).
    pub open: i64,
    /// Open and created at or before the overdue limit.
    pub overdue: i64,
}

/// How many tasks `instance` has: all, open, and open ones created at or before
/// `overdue_since`.
pub fn counts(conn: &mut Conn, instance: &str, overdue_since: Option<NaiveDateTime>) -> QueryResult<TaskCounts> {
    let all = tasks::table.filter(tasks::instance_id.eq(instance)).count().get_result(conn)?;
    let open_q = || tasks::table.filter(tasks::instance_id.eq(instance)).filter(tasks::removed_at_source_at.is_null());
    let open = open_q().count().get_result(conn)?;
    let overdue = match overdue_since {
        Some(limit) => open_q().filter(tasks::created_at.le(limit)).count().get_result(conn)?,
        None => 0,
    };
    Ok(TaskCounts { all, open, overdue })
}

/// Of `item_ids` (items of one instance whose resource is `resource`), those whose access
/// no longer exists: the user is gone, the resource is gone, or — for an access held only
/// directly — the direct membership or assignment is gone (for roles: every assignment of
/// the role to the user). `direct` is how the snapshot spells a direct-only path.
pub fn missing(
    conn: &mut Conn,
    resource_type: ResourceKind,
    resource: &str,
    item_ids: &[String],
    direct: &str,
) -> QueryResult<HashSet<String>> {
    if item_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let resource_exists: bool = match resource_type {
        ResourceKind::Group => diesel::select(exists(groups::table.find(resource))).get_result(conn)?,
        ResourceKind::Application => diesel::select(exists(applications::table.find(resource))).get_result(conn)?,
        ResourceKind::Role => diesel::select(exists(role_definitions::table.find(resource))).get_result(conn)?,
    };
    if !resource_exists {
        return Ok(item_ids.iter().cloned().collect());
    }
    let user_gone = not(exists(users::table.filter(users::id.eq(items::principal_id))));
    let only_direct = items::access_direct.eq(true).and(items::access_path.eq(direct.to_owned()));
    let base = items::table.filter(items::id.eq_any(item_ids)).select(items::id);
    let rows: Vec<String> = match resource_type {
        ResourceKind::Group => base
            .filter(
                user_gone.or(only_direct.and(not(exists(
                    group_member_users::table
                        .filter(group_member_users::group_id.eq(resource.to_owned()))
                        .filter(group_member_users::user_id.eq(items::principal_id)),
                )))),
            )
            .load(conn)?,
        ResourceKind::Application => base
            .filter(
                user_gone.or(only_direct.and(not(exists(
                    app_user_assignments::table
                        .filter(app_user_assignments::app_id.eq(resource.to_owned()))
                        .filter(app_user_assignments::user_id.eq(items::principal_id)),
                )))),
            )
            .load(conn)?,
        ResourceKind::Role => base
            .filter(
                user_gone.or(not(exists(
                    role_assignments::table
                        .filter(role_assignments::role_id.eq(resource.to_owned()))
                        .filter(role_assignments::user_id.eq(items::principal_id)),
                ))),
            )
            .load(conn)?,
    };
    Ok(rows.into_iter().collect())
}

/// The source owning `resource` (a group, application or role definition), if it exists.
/// Role definitions are attest's own.
pub fn resource_source(conn: &mut Conn, resource_type: ResourceKind, resource: &str) -> QueryResult<Option<String>> {
    match resource_type {
        ResourceKind::Group => groups::table.find(resource).select(groups::source_id).first(conn).optional(),
        ResourceKind::Application => {
            applications::table.find(resource).select(applications::source_id).first(conn).optional()
        }
        ResourceKind::Role => Ok(None),
    }
}
