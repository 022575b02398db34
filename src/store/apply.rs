//! SQL of applying results: the denied items still to apply, what the directory holds of
//! their access, the removals (by id list: one `= ANY($1)` array on PostgreSQL, chunks of
//! 10,000 on SQLite), the results, and the guests waiting for deletion.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, per_backend};
use crate::db::schema::{
    app_user_assignments, group_member_users, groups, guest_deletions, review_decision_items as items,
    review_definitions, review_instances, role_assignments, role_definitions, sign_ins, users, web_sessions,
};
use crate::domain::apply::{ApplyResult, GLOBAL_ADMINISTRATOR, Held};
use crate::domain::decision::Decision;
use crate::domain::directory::RoleKind;
use crate::domain::directory::{AssignmentType, UserType};
use crate::domain::review::InstanceStatus;

/// How many ids one statement carries on SQLite (PostgreSQL takes the whole list as one
/// array parameter).
const SQLITE_CHUNK: usize = 10_000;

/// Runs `f` on `ids` in chunks the backend accepts; returns the sum of what it returns.
fn chunked<T>(
    conn: &mut Conn,
    ids: &[T],
    mut f: impl FnMut(&mut Conn, &[T]) -> QueryResult<usize>,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let size = if conn.is_sqlite() { SQLITE_CHUNK } else { ids.len() };
    let mut n = 0;
    for chunk in ids.chunks(size) {
        n += f(conn, chunk)?;
    }
    Ok(n)
}

/// A denied item, with what applying needs of it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct DeniedItem {
    pub id: String,
    pub principal_id: String,
    pub principal_name: String,
    pub principal_upn: String,
    pub principal_type: UserType,
    pub access_path: String,
    pub access_direct: bool,
}

/// Sets an instance's status.
pub fn set_status(conn: &mut Conn, instance: &str, status: InstanceStatus) -> QueryResult<()> {
    diesel::update(review_instances::table.find(instance)).set(review_instances::status.eq(status)).execute(conn)?;
    Ok(())
}

/// Up to `limit` denied items of `instance` not applied yet, by principal name, after the
/// (name, id) cursor.
pub fn pending_denied(
    conn: &mut Conn,
    instance: &str,
    after: Option<&(String, String)>,
    limit: usize,
) -> QueryResult<Vec<DeniedItem>> {
    let mut q = items::table
        .filter(items::instance_id.eq(instance.to_owned()))
        .filter(items::decision.eq(Decision::Deny))
        .filter(items::apply_result.eq(ApplyResult::New))
        .select(DeniedItem::as_select())
        .order((items::principal_name.asc(), items::id.asc()))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed::<crate::db::MultiBackend>();
    if let Some((name, id)) = after {
        // The leading range lets both engines seek the (instance, decision, name, id) index.
        q = q.filter(
            items::principal_name
                .ge(name.clone())
                .and(items::principal_name.gt(name.clone()).or(items::id.gt(id.clone()))),
        );
    }
    q.load(conn)
}

/// Denied items of `instance` per apply result: (result, count), by result.
pub fn denied_results(conn: &mut Conn, instance: &str) -> QueryResult<Vec<(ApplyResult, i64)>> {
    items::table
        .filter(items::instance_id.eq(instance))
        .filter(items::decision.eq(Decision::Deny))
        .group_by(items::apply_result)
        .select((items::apply_result, diesel::dsl::count_star()))
        .order(items::apply_result)
        .load(conn)
}

/// Which of `users` are direct members of `group`: user id → the membership's source.
pub fn direct_members(conn: &mut Conn, group: &str, user_ids: &[&str]) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    chunked(conn, user_ids, |conn, chunk| {
        let rows: Vec<(String, String)> = group_member_users::table
            .filter(group_member_users::group_id.eq(group))
            .filter(group_member_users::user_id.eq_any(chunk))
            .select((group_member_users::user_id, group_member_users::source_id))
            .load(conn)?;
        out.extend(rows);
        Ok(0)
    })?;
    Ok(out)
}

/// The external ids (an LDAP source's DNs) of `user_ids` that have one: user id → id.
pub fn user_external_ids(conn: &mut Conn, user_ids: &[&str]) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    chunked(conn, user_ids, |conn, chunk| {
        let rows: Vec<(String, Option<String>)> =
            users::table.filter(users::id.eq_any(chunk)).select((users::id, users::external_id)).load(conn)?;
        out.extend(rows.into_iter().filter_map(|(id, ext)| Some((id, ext?))));
        Ok(0)
    })?;
    Ok(out)
}

/// The external id (an LDAP source's DN) of a group, if it has one.
pub fn group_external_id(conn: &mut Conn, group: &str) -> QueryResult<Option<String>> {
    Ok(groups::table.find(group).select(groups::external_id).first::<Option<String>>(conn).optional()?.flatten())
}

/// Which of `users` are assigned to `app` directly: user id → the assignment's source.
pub fn direct_assignees(conn: &mut Conn, app: &str, user_ids: &[&str]) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    chunked(conn, user_ids, |conn, chunk| {
        let rows: Vec<(String, String)> = app_user_assignments::table
            .filter(app_user_assignments::app_id.eq(app))
            .filter(app_user_assignments::user_id.eq_any(chunk))
            .select((app_user_assignments::user_id, app_user_assignments::source_id))
            .load(conn)?;
        out.extend(rows);
        Ok(0)
    })?;
    Ok(out)
}

/// Which of `user_ids` still exist.
pub fn existing_users(conn: &mut Conn, user_ids: &[&str]) -> QueryResult<HashSet<String>> {
    let mut out = HashSet::new();
    chunked(conn, user_ids, |conn, chunk| {
        let rows: Vec<String> = users::table.filter(users::id.eq_any(chunk)).select(users::id).load(conn)?;
        out.extend(rows);
        Ok(0)
    })?;
    Ok(out)
}

/// The assignments of `role` that `user_ids` hold in the instance's scope: of the given
/// types, at `scope` or below it when given, granted before `snapshot_at` (the review
/// never saw later ones) and not ended at `now`. (user id, assignment).
pub fn held_roles(
    conn: &mut Conn,
    role: &str,
    user_ids: &[&str],
    scope: Option<&str>,
    types: &[AssignmentType],
    snapshot_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<(String, Held)>> {
    let types = types.to_vec();
    let mut out = Vec::new();
    chunked(conn, user_ids, |conn, chunk| {
        let mut q = role_assignments::table
            .filter(role_assignments::role_id.eq(role.to_owned()))
            .filter(role_assignments::user_id.eq_any(chunk.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>()))
            .filter(role_assignments::assignment_type.eq_any(types.clone()))
            .filter(role_assignments::start_at.le(snapshot_at))
            .filter(role_assignments::end_at.is_null().or(role_assignments::end_at.gt(now)))
            .order((role_assignments::user_id, role_assignments::assignment_type, role_assignments::scope))
            .select((
                role_assignments::user_id,
                role_assignments::id,
                role_assignments::assignment_type,
                role_assignments::scope,
                role_assignments::scope_name,
                role_assignments::source_id,
            ))
            .into_boxed::<crate::db::MultiBackend>();
        if let Some(scope) = scope {
            let below = format!("{}/%", super::escape_like(scope));
            q = q.filter(
                role_assignments::scope.eq(scope.to_owned()).or(role_assignments::scope.like(below).escape('\\')),
            );
        }
        let rows: Vec<(String, String, AssignmentType, String, String, String)> = q.load(conn)?;
        out.extend(rows.into_iter().map(|(user, id, assignment_type, scope, scope_name, source_id)| {
            (user, Held { id, assignment_type, scope, scope_name, source_id })
        }));
        Ok(0)
    })?;
    Ok(out)
}

/// Active, tenant-wide Global Administrator assignments in force at `now` held by enabled
/// accounts: the people who can still administer the directory.
pub fn active_global_admins(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<i64> {
    role_assignments::table
        .inner_join(role_definitions::table)
        .inner_join(users::table)
        .filter(role_definitions::display_name.eq(GLOBAL_ADMINISTRATOR))
        .filter(role_definitions::role_kind.eq(RoleKind::Directory))
        .filter(role_assignments::scope.eq("/"))
        .filter(role_assignments::assignment_type.eq(AssignmentType::Active))
        .filter(role_assignments::start_at.le(now))
        .filter(role_assignments::end_at.is_null().or(role_assignments::end_at.gt(now)))
        .filter(users::enabled.eq(true))
        .count()
        .get_result(conn)
}

/// Deletes the direct memberships of `user_ids` in `group`; returns how many.
pub fn delete_members(conn: &mut Conn, group: &str, user_ids: &[&str]) -> QueryResult<usize> {
    chunked(conn, user_ids, |conn, chunk| {
        diesel::delete(
            group_member_users::table
                .filter(group_member_users::group_id.eq(group))
                .filter(group_member_users::user_id.eq_any(chunk)),
        )
        .execute(conn)
    })
}

/// Deletes the direct assignments of `user_ids` to `app`; returns how many.
pub fn delete_app_assignments(conn: &mut Conn, app: &str, user_ids: &[&str]) -> QueryResult<usize> {
    chunked(conn, user_ids, |conn, chunk| {
        diesel::delete(
            app_user_assignments::table
                .filter(app_user_assignments::app_id.eq(app))
                .filter(app_user_assignments::user_id.eq_any(chunk)),
        )
        .execute(conn)
    })
}

/// Deletes role assignments by id; returns how many.
pub fn delete_role_assignments(conn: &mut Conn, ids: &[&str]) -> QueryResult<usize> {
    chunked(conn, ids, |conn, chunk| {
        diesel::delete(role_assignments::table.filter(role_assignments::id.eq_any(chunk))).execute(conn)
    })
}

/// Disables guests, ends their sessions, and schedules their deletion at `delete_at` (a
/// guest already scheduled keeps the earlier date).
pub fn block_guests(
    conn: &mut Conn,
    user_ids: &[&str],
    instance: &str,
    now: NaiveDateTime,
    delete_at: NaiveDateTime,
) -> QueryResult<()> {
    chunked(conn, user_ids, |conn, chunk| {
        diesel::update(users::table.filter(users::id.eq_any(chunk))).set(users::enabled.eq(false)).execute(conn)?;
        diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq_any(chunk))).execute(conn)
    })?;
    let rows: Vec<_> = user_ids
        .iter()
        .map(|u| {
            (
                guest_deletions::user_id.eq(*u),
                guest_deletions::instance_id.eq(instance),
                guest_deletions::disabled_at.eq(now),
                guest_deletions::delete_at.eq(delete_at),
            )
        })
        .collect();
    // 4 values a row: well under both backends' parameter limits per chunk.
    for chunk in rows.chunks(5_000) {
        per_backend!(conn, c => diesel::insert_into(guest_deletions::table)
            .values(chunk)
            .on_conflict(guest_deletions::user_id)
            .do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Stores one apply result for the items `ids`.
pub fn record(
    conn: &mut Conn,
    ids: &[&str],
    apply_result: ApplyResult,
    detail: &str,
    by: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    chunked(conn, ids, |conn, chunk| {
        diesel::update(items::table.filter(items::id.eq_any(chunk)))
            .set((
                items::apply_result.eq(apply_result),
                items::apply_detail.eq(detail),
                items::applied_by.eq(by),
                items::applied_at.eq(Some(at)),
            ))
            .execute(conn)
    })
}

/// Instances the scheduler applies: those left `Applying` (a process stopped half-way),
/// and completed ones of series with auto-apply on.
pub fn to_apply(conn: &mut Conn) -> QueryResult<Vec<String>> {
    review_instances::table
        .inner_join(review_definitions::table)
        .filter(
            review_instances::status.eq(InstanceStatus::Applying).or(review_instances::status
                .eq(InstanceStatus::Completed)
                .and(review_definitions::auto_apply.eq(true))),
        )
        .order(review_instances::created_at)
        .select(review_instances::id)
        .load(conn)
}

/// A guest waiting for deletion.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = guest_deletions)]
pub struct GuestDeletion {
    pub user_id: String,
    pub instance_id: String,
    pub disabled_at: NaiveDateTime,
    pub delete_at: NaiveDateTime,
}

/// Guests whose deletion is due at `now`, with their account's UPN and name.
pub fn due_guest_deletions(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<Vec<(GuestDeletion, String, String)>> {
    guest_deletions::table
        .inner_join(users::table)
        .filter(guest_deletions::delete_at.le(now))
        .order(guest_deletions::delete_at)
        .select((GuestDeletion::as_select(), users::upn, users::display_name))
        .load(conn)
}

/// Whether `user`'s deletion is still scheduled and due (read again under the lock).
pub fn deletion_due(conn: &mut Conn, user: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let found: Option<String> = guest_deletions::table
        .find(user)
        .filter(guest_deletions::delete_at.le(now))
        .select(guest_deletions::user_id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Cancels a scheduled deletion.
pub fn cancel_deletion(conn: &mut Conn, user: &str) -> QueryResult<()> {
    diesel::delete(guest_deletions::table.find(user)).execute(conn)?;
    Ok(())
}

/// Deletes a user if still disabled; returns 1 if deleted. Memberships, ownerships,
/// assignments, sessions and the deletion schedule go by their foreign keys' cascades;
/// sign-ins (a log without keys) are deleted here.
pub fn delete_disabled_user(conn: &mut Conn, user: &str) -> QueryResult<usize> {
    let n = diesel::delete(users::table.find(user).filter(users::enabled.eq(false))).execute(conn)?;
    if n == 1 {
        diesel::delete(sign_ins::table.filter(sign_ins::user_id.eq(user))).execute(conn)?;
    }
    Ok(n)
}
