//! Reads of the directory: the lists of users, groups, applications and roles, and the
//! page of each, with how people hold their access. Every edge (pages, the JSON API)
//! reads the directory through these functions. Each one is a fixed number of queries,
//! however many rows it returns.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::directory::{AccessPath, GroupRef};
use crate::domain::paging::{ListRequest, PAGE_SIZE, Page};
use crate::error::AppError;
use crate::store::apps::AppRow;
use crate::store::groups::GroupRow;
use crate::store::roles::{AssignmentRow, RoleRow};
use crate::store::sources::Owned;
use crate::store::users::{UserRef, UserRow};
use crate::store::{self, Keyset};

/// One page of a directory list.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// How many objects the whole list holds, where the list shows it.
    pub total: Option<i64>,
    /// The page asked for.
    pub page: Page<T>,
    /// The name of each listed object's source, by object id (empty for roles, which are
    /// attest's own).
    pub sources: HashMap<String, String>,
}

/// The source names of `ids`, by id.
fn source_names(conn: &mut DbConnection, kind: Owned, ids: &[String]) -> Result<HashMap<String, String>, AppError> {
    Ok(store::sources::names_of(conn, kind, ids)?.into_iter().collect())
}

/// The source name of one object ("" when it has none).
fn source_name(conn: &mut DbConnection, kind: Owned, id: &str) -> Result<String, AppError> {
    Ok(source_names(conn, kind, &[id.to_owned()])?.remove(id).unwrap_or_default())
}

/// How many users, groups, applications and roles the directory holds.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// Users.
    pub users: i64,
    /// Groups.
    pub groups: i64,
    /// Applications.
    pub apps: i64,
    /// Roles.
    pub roles: i64,
}

/// The directory's totals.
pub fn totals(conn: &mut DbConnection) -> Result<Totals, AppError> {
    Ok(Totals {
        users: store::users::count(conn)?,
        groups: store::groups::count(conn)?,
        apps: store::apps::count(conn)?,
        roles: store::roles::count(conn)?,
    })
}

/// The users with these user principal names (those that exist).
pub fn users_by_upn(conn: &mut DbConnection, upns: &[String]) -> Result<Vec<UserRef>, AppError> {
    Ok(store::users::refs_by_upn(conn, upns)?)
}

/// A page of users, searched by name or UPN.
pub fn users(conn: &mut DbConnection, req: &ListRequest) -> Result<Listed<UserRow>, AppError> {
    let keyset = Keyset::resolve(&req.at, |id| store::users::name_of(conn, id))?;
    let rows = store::users::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |u| u.id.clone());
    let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
    let sources = source_names(conn, Owned::Users, &ids)?;
    Ok(Listed { total: Some(store::users::count(conn)?), page, sources })
}

/// A page of groups, searched by name.
pub fn groups(conn: &mut DbConnection, req: &ListRequest) -> Result<Listed<GroupRow>, AppError> {
    let keyset = Keyset::resolve(&req.at, |id| store::groups::name_of(conn, id))?;
    let rows = store::groups::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |g| g.id.clone());
    let ids: Vec<String> = page.items.iter().map(|g| g.id.clone()).collect();
    let sources = source_names(conn, Owned::Groups, &ids)?;
    Ok(Listed { total: Some(store::groups::count(conn)?), page, sources })
}

/// A page of applications, searched by name.
pub fn apps(conn: &mut DbConnection, req: &ListRequest) -> Result<Listed<AppRow>, AppError> {
    let keyset = Keyset::resolve(&req.at, |id| store::apps::name_of(conn, id))?;
    let rows = store::apps::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |a| a.id.clone());
    let ids: Vec<String> = page.items.iter().map(|a| a.id.clone()).collect();
    let sources = source_names(conn, Owned::Applications, &ids)?;
    Ok(Listed { total: Some(store::apps::count(conn)?), page, sources })
}

/// A page of roles, searched by name, each with its number of assignments.
pub fn roles(conn: &mut DbConnection, req: &ListRequest) -> Result<Listed<(RoleRow, i64)>, AppError> {
    let keyset = Keyset::resolve(&req.at, |id| store::roles::name_of(conn, id))?;
    let rows = store::roles::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |r| r.id.clone());
    let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
    let counts: HashMap<String, i64> = store::roles::assignment_counts(conn, &ids)?.into_iter().collect();
    let items = page
        .items
        .into_iter()
        .map(|r| {
            let count = counts.get(&r.id).copied().unwrap_or(0);
            (r, count)
        })
        .collect();
    Ok(Listed { total: None, page: Page { items, next: page.next, prev: page.prev }, sources: HashMap::new() })
}

/// A user holding the access a page lists.
#[derive(Debug, Clone)]
pub struct Member {
    /// The user.
    pub user: UserRow,
    /// Their last sign-in: to the application on an application's page, else to the
    /// tenant.
    pub last_sign_in: Option<NaiveDateTime>,
    /// How they hold the access, in words ("Direct", "Via Sales › Berlin").
    pub paths: Vec<String>,
}

/// An application a user holds, and how.
#[derive(Debug, Clone)]
pub struct HeldApp {
    /// The application.
    pub app: AppRow,
    /// The app role.
    pub role: String,
    /// How the user holds it; `None` when the group that grants it is not among the
    /// memberships read.
    pub path: Option<AccessPath>,
    /// The user's last sign-in to it.
    pub last_sign_in: Option<NaiveDateTime>,
}

/// Everything a user's page shows.
#[derive(Debug, Clone)]
pub struct UserDetail {
    /// The user.
    pub user: UserRow,
    /// The name of its source.
    pub source: String,
    /// Their manager.
    pub manager: Option<UserRef>,
    /// Their direct reports, at most `limit`.
    pub reports: Vec<UserRef>,
    /// The groups they are a member of, with the chain from the group holding them
    /// outwards; one more than `limit` when there are more.
    pub memberships: Vec<(GroupRow, Vec<GroupRef>)>,
    /// The applications they hold, directly or through a group, by name.
    pub apps: Vec<HeldApp>,
    /// Their role assignments with the roles.
    pub roles: Vec<(AssignmentRow, RoleRow)>,
    /// Groups they own.
    pub owned_groups: Vec<GroupRow>,
    /// Applications they own.
    pub owned_apps: Vec<AppRow>,
}

/// The page of user `id`, each related list held to `limit` rows; `None` if there is no
/// such user.
pub fn user(conn: &mut DbConnection, id: &str, limit: usize) -> Result<Option<UserDetail>, AppError> {
    let Some(user) = store::users::get(conn, id)? else { return Ok(None) };
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let manager = match &user.manager_id {
        Some(m) => store::users::refs(conn, std::slice::from_ref(m))?.into_iter().next(),
        None => None,
    };
    let reports = store::users::direct_reports(conn, id, lim)?;
    let memberships = store::groups::memberships_of_user(conn, id, limit + 1)?;
    let group_ids: Vec<String> = memberships.iter().map(|(g, _)| g.id.clone()).collect();
    let chains: HashMap<&str, AccessPath> = memberships
        .iter()
        .map(|(g, chain)| (g.id.as_str(), AccessPath::ViaGroups(chain.iter().rev().cloned().collect())))
        .collect();
    let mut apps: Vec<HeldApp> = store::apps::assigned_to_user(conn, id, lim)?
        .into_iter()
        .map(|(app, role)| HeldApp { app, role, path: Some(AccessPath::Direct), last_sign_in: None })
        .collect();
    for (app, group, role) in store::apps::assigned_to_groups(conn, &group_ids, lim)? {
        apps.push(HeldApp { app, role, path: chains.get(group.as_str()).cloned(), last_sign_in: None });
    }
    apps.sort_by(|a, b| a.app.display_name.cmp(&b.app.display_name));
    let app_ids: Vec<String> = apps.iter().map(|a| a.app.id.clone()).collect();
    let last = store::sign_ins::last_per_app(conn, id, &app_ids)?;
    for held in &mut apps {
        held.last_sign_in = last.get(&held.app.id).copied();
    }
    Ok(Some(UserDetail {
        source: source_name(conn, Owned::Users, id)?,
        manager,
        reports,
        memberships,
        apps,
        roles: store::roles::of_user(conn, id, lim)?,
        owned_groups: store::groups::owned_by(conn, id, lim)?,
        owned_apps: store::apps::owned_by(conn, id, lim)?,
        user,
    }))
}

/// Everything a group's page shows.
#[derive(Debug, Clone)]
pub struct GroupDetail {
    /// The group.
    pub group: GroupRow,
    /// The name of its source.
    pub source: String,
    /// Its owners.
    pub owners: Vec<UserRef>,
    /// Groups nested in it.
    pub nested: Vec<GroupRow>,
    /// Groups it is nested in.
    pub parents: Vec<GroupRow>,
    /// How many users are direct members.
    pub direct_users: i64,
    /// A page of its members (users, transitively), each with the paths that make them
    /// a member.
    pub members: Page<Member>,
}

/// The page of group `id` with a page of its members; `None` if there is no such group.
pub fn group(
    conn: &mut DbConnection,
    id: &str,
    req: &ListRequest,
    limit: usize,
) -> Result<Option<GroupDetail>, AppError> {
    let Some(group) = store::groups::get(conn, id)? else { return Ok(None) };
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let closure = store::groups::closure(conn, &group)?;
    let keyset = Keyset::resolve(&req.at, |id| store::users::name_of(conn, id))?;
    let rows = store::groups::transitive_members(conn, &closure, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |u| u.id.clone());
    let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
    let paths = describe_paths(store::groups::membership_paths(conn, &closure, &ids, false)?);
    Ok(Some(GroupDetail {
        source: source_name(conn, Owned::Groups, id)?,
        owners: store::groups::owners(conn, id, lim)?,
        nested: store::groups::member_groups(conn, id, lim)?,
        parents: store::groups::parent_groups(conn, id, lim)?,
        direct_users: store::groups::direct_user_count(conn, id)?,
        members: members(conn, page, None, paths)?,
        group,
    }))
}

/// Everything an application's page shows.
#[derive(Debug, Clone)]
pub struct AppDetail {
    /// The application.
    pub app: AppRow,
    /// The name of its source.
    pub source: String,
    /// Its owners.
    pub owners: Vec<UserRef>,
    /// The groups assigned to it, with the app role.
    pub groups: Vec<(GroupRow, String)>,
    /// How many users are assigned directly.
    pub direct_users: i64,
    /// A page of the users assigned directly or through a group, with their last
    /// sign-in to the application.
    pub members: Page<Member>,
}

/// The page of application `id` with a page of its users; `None` if there is no such
/// application.
pub fn app(conn: &mut DbConnection, id: &str, req: &ListRequest, limit: usize) -> Result<Option<AppDetail>, AppError> {
    let Some(app) = store::apps::get(conn, id)? else { return Ok(None) };
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let assigned = store::apps::assigned_groups(conn, id, lim)?;
    let roots: Vec<GroupRow> = assigned.iter().map(|(g, _)| g.clone()).collect();
    let closures = store::groups::closures(conn, &roots)?;
    let via: Vec<_> = closures.iter().flatten().cloned().collect();
    let keyset = Keyset::resolve(&req.at, |id| store::users::name_of(conn, id))?;
    let rows = store::apps::assigned_users(conn, id, &via, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |u| u.id.clone());
    let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
    let mut paths: HashMap<String, Vec<String>> = HashMap::new();
    for (user, role) in store::apps::direct_assignments(conn, id, &ids)? {
        paths.entry(user).or_default().push(format!("Direct ({role})"));
    }
    let closures: Vec<&[_]> = closures.iter().map(Vec::as_slice).collect();
    for found in store::groups::membership_paths_in_each(conn, &closures, &ids, true)? {
        for (user, list) in describe_paths(found) {
            paths.entry(user).or_default().extend(list);
        }
    }
    Ok(Some(AppDetail {
        source: source_name(conn, Owned::Applications, id)?,
        owners: store::apps::owners(conn, id, lim)?,
        direct_users: store::apps::direct_user_count(conn, id)?,
        members: members(conn, page, Some(id), paths)?,
        groups: assigned,
        app,
    }))
}

/// Everything a role's page shows.
#[derive(Debug, Clone)]
pub struct RoleDetail {
    /// The role.
    pub role: RoleRow,
    /// How many assignments it has.
    pub assignments: i64,
    /// A page of its assignments (active and eligible) with the users.
    pub page: Page<(AssignmentRow, UserRef)>,
}

/// The page of role `id` with a page of its assignments; `None` if there is no such role.
pub fn role(conn: &mut DbConnection, id: &str, req: &ListRequest) -> Result<Option<RoleDetail>, AppError> {
    let Some(role) = store::roles::get(conn, id)? else { return Ok(None) };
    let keyset = Keyset::resolve(&req.at, |a| store::roles::assignment_name_of(conn, a))?;
    let rows = store::roles::assignments(conn, id, req.search.as_deref(), &keyset, PAGE_SIZE)?;
    let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |(a, _)| a.id.clone());
    let assignments = store::roles::assignment_counts(conn, &[id.to_owned()])?.first().map_or(0, |c| c.1);
    Ok(Some(RoleDetail { role, assignments, page }))
}

/// Access paths in words.
fn describe_paths(paths: HashMap<String, Vec<AccessPath>>) -> HashMap<String, Vec<String>> {
    paths.into_iter().map(|(user, list)| (user, list.iter().map(AccessPath::describe).collect())).collect()
}

/// A page of users as members, with their last sign-in (to `app` when given) and paths.
fn members(
    conn: &mut DbConnection,
    rows: Page<UserRow>,
    app: Option<&str>,
    mut paths: HashMap<String, Vec<String>>,
) -> Result<Page<Member>, AppError> {
    // The tenant-wide last sign-in is on the user; only app pages ask the sign-in log.
    let last = match app {
        Some(app) => {
            let ids: Vec<String> = rows.items.iter().map(|u| u.id.clone()).collect();
            Some(store::sign_ins::last_for_users(conn, &ids, Some(app))?)
        }
        None => None,
    };
    let items = rows
        .items
        .into_iter()
        .map(|user| {
            let last_sign_in = match &last {
                Some(last) => last.get(&user.id).copied(),
                None => user.last_sign_in_at,
            };
            let paths = paths.remove(&user.id).unwrap_or_default();
            Member { user, last_sign_in, paths }
        })
        .collect();
    Ok(Page { items, next: rows.next, prev: rows.prev })
}
