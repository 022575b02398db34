//! Read-only directory pages: users, groups, applications and roles, with search and
//! keyset paging. No list renders unbounded rows.

use std::collections::HashMap;

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;

use crate::domain::directory::{AccessPath, AssignmentType, GroupType, ObjectId, RoleKind, assignment_in_force};
use crate::domain::paging::{ListParams, ListRequest, PAGE_SIZE, Page};
use crate::error::AppError;
use crate::store::groups::GroupRow;
use crate::store::users::{UserRef, UserRow};
use crate::store::{self, Keyset};
use crate::web::format::{self, last_seen};
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State};

/// How many related objects a detail page lists before saying "first N shown".
const DETAIL_LIMIT: usize = 100;

/// Search box and previous/next links of a list.
pub struct Pager {
    /// The search text, as entered.
    pub q: String,
    /// Id to page back from.
    pub prev: Option<String>,
    /// Id to page on from.
    pub next: Option<String>,
}

impl Pager {
    fn new<T>(request: &ListRequest, page: &Page<T>) -> Self {
        Self { q: request.search.clone().unwrap_or_default(), prev: page.prev.clone(), next: page.next.clone() }
    }
}

fn list_request(params: ListParams) -> Result<ListRequest, AppError> {
    params.validate().map_err(AppError::BadRequest)
}

fn not_found(what: &str) -> AppError {
    AppError::NotFound(format!(
        "There is no {what} with this id. It may have been deleted; go back to the list and search for it."
    ))
}

/// A user row of a list.
pub struct UserItem {
    pub id: String,
    pub display_name: String,
    pub upn: String,
    pub guest: bool,
    pub enabled: bool,
    pub department: String,
    pub job_title: String,
    pub last_sign_in: String,
    /// How the user holds the access a page lists (empty on the users list).
    pub paths: Vec<String>,
}

impl UserItem {
    fn new(user: UserRow, last_sign_in: Option<NaiveDateTime>, now: NaiveDateTime, paths: Vec<String>) -> Self {
        Self {
            guest: user.user_type == "Guest",
            id: user.id,
            display_name: user.display_name,
            upn: user.upn,
            enabled: user.enabled,
            department: user.department.unwrap_or_default(),
            job_title: user.job_title.unwrap_or_default(),
            last_sign_in: last_seen(last_sign_in, now),
            paths,
        }
    }
}

/// Turns user rows into list items with their last sign-in and access paths.
fn user_items(
    conn: &mut store::Conn,
    rows: Page<UserRow>,
    app: Option<&str>,
    now: NaiveDateTime,
    mut paths: HashMap<String, Vec<String>>,
) -> Result<Page<UserItem>, AppError> {
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
        .map(|u| {
            let at = match &last {
                Some(last) => last.get(&u.id).copied(),
                None => u.last_sign_in_at,
            };
            let p = paths.remove(&u.id).unwrap_or_default();
            UserItem::new(u, at, now, p)
        })
        .collect();
    Ok(Page { items, next: rows.next, prev: rows.prev })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    chrome: Chrome,
    total: i64,
    users: Vec<UserItem>,
    pager: Pager,
}

/// `GET /admin/users`
pub async fn users(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<ListParams>,
) -> Result<UsersPage, AppError> {
    let request = list_request(params.into_inner())?;
    let now = state.clock.now();
    let req = request.clone();
    let (total, page) = state
        .db(move |conn| {
            let keyset = Keyset::resolve(&req.at, |id| store::users::name_of(conn, id))?;
            let rows = store::users::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
            let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |u| u.id.clone());
            Ok((store::users::count(conn)?, user_items(conn, page, None, now, HashMap::new())?))
        })
        .await?;
    Ok(UsersPage {
        chrome: chrome.in_section(Section::Directory),
        total,
        pager: Pager::new(&request, &page),
        users: page.items,
    })
}

/// A group row of a list.
pub struct GroupItem {
    pub id: String,
    pub display_name: String,
    pub kind: &'static str,
    pub dynamic: bool,
    pub synced: bool,
    pub mail_enabled: bool,
    pub description: String,
    /// How it relates to the page's subject ("Via Engineering" on a user page).
    pub via: String,
}

impl From<GroupRow> for GroupItem {
    fn from(g: GroupRow) -> Self {
        Self {
            kind: GroupType::parse(&g.group_type).map_or("Unknown", GroupType::label),
            dynamic: g.membership_rule.is_some(),
            synced: g.on_premises_sync,
            mail_enabled: g.mail_enabled,
            description: g.description.unwrap_or_default(),
            id: g.id,
            display_name: g.display_name,
            via: String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/groups.html")]
pub struct GroupsPage {
    chrome: Chrome,
    total: i64,
    groups: Vec<GroupItem>,
    pager: Pager,
}

/// `GET /admin/groups`
pub async fn groups(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<ListParams>,
) -> Result<GroupsPage, AppError> {
    let request = list_request(params.into_inner())?;
    let req = request.clone();
    let (total, page) = state
        .db(move |conn| {
            let keyset = Keyset::resolve(&req.at, |id| store::groups::name_of(conn, id))?;
            let rows = store::groups::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
            Ok((store::groups::count(conn)?, Page::from_rows(rows, &req.at, PAGE_SIZE, |g| g.id.clone())))
        })
        .await?;
    Ok(GroupsPage {
        chrome: chrome.in_section(Section::Directory),
        total,
        pager: Pager::new(&request, &page),
        groups: page.items.into_iter().map(GroupItem::from).collect(),
    })
}

/// An application row of a list.
pub struct AppItem {
    pub id: String,
    pub display_name: String,
    pub app_id: String,
    pub assignment_required: bool,
    /// The app role and how the page's subject holds it.
    pub role: String,
    pub via: String,
    pub last_sign_in: String,
}

impl AppItem {
    fn new(a: store::apps::AppRow, role: String, via: String) -> Self {
        Self {
            id: a.id,
            display_name: a.display_name,
            app_id: a.app_id,
            assignment_required: a.assignment_required,
            role,
            via,
            last_sign_in: String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/apps.html")]
pub struct AppsPage {
    chrome: Chrome,
    total: i64,
    apps: Vec<AppItem>,
    pager: Pager,
}

/// `GET /admin/applications`
pub async fn apps(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<ListParams>,
) -> Result<AppsPage, AppError> {
    let request = list_request(params.into_inner())?;
    let req = request.clone();
    let (total, page) = state
        .db(move |conn| {
            let keyset = Keyset::resolve(&req.at, |id| store::apps::name_of(conn, id))?;
            let rows = store::apps::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
            Ok((store::apps::count(conn)?, Page::from_rows(rows, &req.at, PAGE_SIZE, |a| a.id.clone())))
        })
        .await?;
    Ok(AppsPage {
        chrome: chrome.in_section(Section::Directory),
        total,
        pager: Pager::new(&request, &page),
        apps: page.items.into_iter().map(|a| AppItem::new(a, String::new(), String::new())).collect(),
    })
}

/// A role row of a list.
pub struct RoleItem {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub directory: bool,
    pub privileged: bool,
    pub assignments: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/roles.html")]
pub struct RolesPage {
    chrome: Chrome,
    roles: Vec<RoleItem>,
    pager: Pager,
}

/// `GET /admin/roles`
pub async fn roles(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<ListParams>,
) -> Result<RolesPage, AppError> {
    let request = list_request(params.into_inner())?;
    let req = request.clone();
    let (page, counts) = state
        .db(move |conn| {
            let keyset = Keyset::resolve(&req.at, |id| store::roles::name_of(conn, id))?;
            let rows = store::roles::list(conn, req.search.as_deref(), &keyset, PAGE_SIZE)?;
            let page = Page::from_rows(rows, &req.at, PAGE_SIZE, |r| r.id.clone());
            let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
            let counts: HashMap<String, i64> = store::roles::assignment_counts(conn, &ids)?.into_iter().collect();
            Ok((page, counts))
        })
        .await?;
    Ok(RolesPage {
        chrome: chrome.in_section(Section::Directory),
        pager: Pager::new(&request, &page),
        roles: page
            .items
            .into_iter()
            .map(|r| RoleItem {
                assignments: counts.get(&r.id).copied().unwrap_or(0),
                directory: RoleKind::parse(&r.role_kind) == Some(RoleKind::Directory),
                id: r.id,
                display_name: r.display_name,
                description: r.description,
                privileged: r.privileged,
            })
            .collect(),
    })
}

/// A role assignment as a user's page or a role's page shows it.
pub struct AssignmentItem {
    pub role_id: String,
    pub role_name: String,
    pub privileged: bool,
    pub user: Option<UserRef>,
    pub eligible: bool,
    pub scope_name: String,
    pub scope: String,
    pub start: String,
    pub end: String,
    pub status: &'static str,
}

impl AssignmentItem {
    fn new(
        a: store::roles::AssignmentRow,
        role: Option<&store::roles::RoleRow>,
        user: Option<UserRef>,
        now: NaiveDateTime,
    ) -> Self {
        let status = if assignment_in_force(a.start_at, a.end_at, now) {
            "In force"
        } else if a.start_at > now {
            "Scheduled"
        } else {
            "Expired"
        };
        Self {
            role_id: a.role_id,
            role_name: role.map(|r| r.display_name.clone()).unwrap_or_default(),
            privileged: role.is_some_and(|r| r.privileged),
            user,
            eligible: AssignmentType::parse(&a.assignment_type) == Some(AssignmentType::Eligible),
            scope_name: a.scope_name,
            scope: a.scope,
            start: format::date(a.start_at),
            end: a.end_at.map_or_else(|| "Permanent".to_owned(), format::date),
            status,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    chrome: Chrome,
    user: UserItem,
    mail: String,
    created: String,
    manager: Option<UserRef>,
    reports: Vec<UserRef>,
    groups: Vec<GroupItem>,
    groups_capped: bool,
    apps: Vec<AppItem>,
    roles: Vec<AssignmentItem>,
    owned_groups: Vec<GroupItem>,
    owned_apps: Vec<AppItem>,
    limit: usize,
}

/// `GET /admin/users/{id}`
pub async fn user(_admin: Admin, state: State, chrome: Chrome, id: web::Path<ObjectId>) -> Result<UserPage, AppError> {
    let id = id.into_inner().into_string();
    let now = state.clock.now();
    let limit = DETAIL_LIMIT;
    let lim = i64::try_from(limit).unwrap_or(100);
    state
        .db(move |conn| {
            let user = store::users::get(conn, &id)?.ok_or_else(|| not_found("user"))?;
            let manager = match &user.manager_id {
                Some(m) => store::users::refs(conn, std::slice::from_ref(m))?.into_iter().next(),
                None => None,
            };
            let reports = store::users::direct_reports(conn, &id, lim)?;
            let memberships = store::groups::memberships_of_user(conn, &id, limit + 1)?;
            let groups_capped = memberships.len() > limit;
            let group_ids: Vec<String> = memberships.iter().map(|(g, _)| g.id.clone()).collect();
            let chains: HashMap<String, AccessPath> = memberships
                .iter()
                .map(|(g, chain)| (g.id.clone(), AccessPath::ViaGroups(chain.iter().rev().cloned().collect())))
                .collect();
            let groups: Vec<GroupItem> = memberships
                .into_iter()
                .take(limit)
                .map(|(g, chain)| {
                    // The chain runs from the group holding the user outwards; a path reads
                    // from the outermost group in.
                    let via = if chain.len() > 1 {
                        AccessPath::ViaGroups(chain[..chain.len() - 1].iter().rev().cloned().collect()).describe()
                    } else if g.membership_rule.is_some() {
                        "Dynamic rule".to_owned()
                    } else {
                        "Direct".to_owned()
                    };
                    GroupItem { via, ..GroupItem::from(g) }
                })
                .collect();
            let mut apps: Vec<AppItem> = store::apps::assigned_to_user(conn, &id, lim)?
                .into_iter()
                .map(|(a, role)| AppItem::new(a, role, AccessPath::Direct.describe()))
                .collect();
            for (a, group, role) in store::apps::assigned_to_groups(conn, &group_ids, lim)? {
                let via = chains.get(&group).map(AccessPath::describe).unwrap_or_default();
                apps.push(AppItem::new(a, role, via));
            }
            apps.sort_by(|a, b| a.display_name.cmp(&b.display_name));
            for app in &mut apps {
                app.last_sign_in = last_seen(store::sign_ins::last(conn, &id, Some(&app.id))?, now);
            }
            let roles = store::roles::of_user(conn, &id, lim)?
                .into_iter()
                .map(|(a, r)| AssignmentItem::new(a, Some(&r), None, now))
                .collect();
            let owned_groups = store::groups::owned_by(conn, &id, lim)?.into_iter().map(GroupItem::from).collect();
            let owned_apps = store::apps::owned_by(conn, &id, lim)?
                .into_iter()
                .map(|a| AppItem::new(a, String::new(), String::new()))
                .collect();
            let last = user.last_sign_in_at;
            let mail = user.mail.clone().unwrap_or_default();
            let created = format::datetime(user.created_at);
            Ok(UserPage {
                chrome: chrome.in_section(Section::Directory),
                user: UserItem::new(user, last, now, Vec::new()),
                mail,
                created,
                manager,
                reports,
                groups,
                groups_capped,
                apps,
                roles,
                owned_groups,
                owned_apps,
                limit,
            })
        })
        .await
}

/// "12 users, 1 group".
fn direct_members(users: i64, groups: usize) -> String {
    let groups = i64::try_from(groups).unwrap_or(i64::MAX);
    format!("{}, {}", format::count(users, "user", "users"), format::count(groups, "group", "groups"))
}

/// Access paths as the member tables show them.
fn describe_paths(paths: HashMap<String, Vec<AccessPath>>) -> HashMap<String, Vec<String>> {
    paths.into_iter().map(|(user, list)| (user, list.iter().map(AccessPath::describe).collect())).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/group.html")]
pub struct GroupPage {
    chrome: Chrome,
    group: GroupItem,
    rule: String,
    created: String,
    owners: Vec<UserRef>,
    nested: Vec<GroupItem>,
    parents: Vec<GroupItem>,
    direct_members: String,
    members: Vec<UserItem>,
    pager: Pager,
    limit: usize,
}

/// `GET /admin/groups/{id}`: the group, its owners, nesting, and its members (users,
/// transitively, each with the path that makes them a member).
pub async fn group(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
    params: web::Query<ListParams>,
) -> Result<GroupPage, AppError> {
    let id = id.into_inner().into_string();
    let request = list_request(params.into_inner())?;
    let now = state.clock.now();
    let lim = i64::try_from(DETAIL_LIMIT).unwrap_or(100);
    state
        .db(move |conn| {
            let group = store::groups::get(conn, &id)?.ok_or_else(|| not_found("group"))?;
            let closure = store::groups::closure(conn, &group)?;
            let keyset = Keyset::resolve(&request.at, |id| store::users::name_of(conn, id))?;
            let rows =
                store::groups::transitive_members(conn, &closure, request.search.as_deref(), &keyset, PAGE_SIZE)?;
            let page = Page::from_rows(rows, &request.at, PAGE_SIZE, |u| u.id.clone());
            let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
            let paths = describe_paths(store::groups::membership_paths(conn, &closure, &ids, false)?);
            let members = user_items(conn, page, None, now, paths)?;
            let nested: Vec<GroupItem> =
                store::groups::member_groups(conn, &id, lim)?.into_iter().map(GroupItem::from).collect();
            let direct_users = store::groups::direct_user_count(conn, &id)?;
            Ok(GroupPage {
                direct_members: direct_members(direct_users, nested.len()),
                chrome: chrome.in_section(Section::Directory),
                rule: group.membership_rule.clone().unwrap_or_default(),
                created: format::datetime(group.created_at),
                owners: store::groups::owners(conn, &id, lim)?,
                nested,
                parents: store::groups::parent_groups(conn, &id, lim)?.into_iter().map(GroupItem::from).collect(),
                group: GroupItem::from(group),
                pager: Pager::new(&request, &members),
                members: members.items,
                limit: DETAIL_LIMIT,
            })
        })
        .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app.html")]
pub struct AppPage {
    chrome: Chrome,
    app: AppItem,
    homepage: String,
    created: String,
    owners: Vec<UserRef>,
    groups: Vec<(GroupItem, String)>,
    direct_members: String,
    users: Vec<UserItem>,
    pager: Pager,
    limit: usize,
}

/// `GET /admin/applications/{id}`: the app, its owners, the groups assigned, and the
/// users assigned directly or through a group, with their last sign-in to the app.
pub async fn app(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
    params: web::Query<ListParams>,
) -> Result<AppPage, AppError> {
    let id = id.into_inner().into_string();
    let request = list_request(params.into_inner())?;
    let now = state.clock.now();
    let lim = i64::try_from(DETAIL_LIMIT).unwrap_or(100);
    state
        .db(move |conn| {
            let app = store::apps::get(conn, &id)?.ok_or_else(|| not_found("application"))?;
            let assigned = store::apps::assigned_groups(conn, &id, lim)?;
            let mut closures = Vec::with_capacity(assigned.len());
            for (group, _) in &assigned {
                closures.push(store::groups::closure(conn, group)?);
            }
            let via: Vec<_> = closures.iter().flatten().cloned().collect();
            let keyset = Keyset::resolve(&request.at, |id| store::users::name_of(conn, id))?;
            let rows = store::apps::assigned_users(conn, &id, &via, request.search.as_deref(), &keyset, PAGE_SIZE)?;
            let page = Page::from_rows(rows, &request.at, PAGE_SIZE, |u| u.id.clone());
            let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
            let mut paths: HashMap<String, Vec<String>> = HashMap::new();
            for (user, role) in store::apps::direct_assignments(conn, &id, &ids)? {
                paths.entry(user).or_default().push(format!("Direct ({role})"));
            }
            for closure in &closures {
                for (user, list) in describe_paths(store::groups::membership_paths(conn, closure, &ids, true)?) {
                    paths.entry(user).or_default().extend(list);
                }
            }
            let users = user_items(conn, page, Some(&id), now, paths)?;
            let direct_users = store::apps::direct_user_count(conn, &id)?;
            Ok(AppPage {
                direct_members: direct_members(direct_users, assigned.len()),
                chrome: chrome.in_section(Section::Directory),
                homepage: app.homepage.clone().unwrap_or_default(),
                created: format::datetime(app.created_at),
                owners: store::apps::owners(conn, &id, lim)?,
                groups: assigned.into_iter().map(|(g, role)| (GroupItem::from(g), role)).collect(),
                app: AppItem::new(app, String::new(), String::new()),
                pager: Pager::new(&request, &users),
                users: users.items,
                limit: DETAIL_LIMIT,
            })
        })
        .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/role.html")]
pub struct RolePage {
    chrome: Chrome,
    role: RoleItem,
    assignments: Vec<AssignmentItem>,
    pager: Pager,
}

/// `GET /admin/roles/{id}`: the role and its assignments (active and eligible).
pub async fn role(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
    params: web::Query<ListParams>,
) -> Result<RolePage, AppError> {
    let id = id.into_inner().into_string();
    let request = list_request(params.into_inner())?;
    let now = state.clock.now();
    state
        .db(move |conn| {
            let role = store::roles::get(conn, &id)?.ok_or_else(|| not_found("role"))?;
            let keyset = Keyset::resolve(&request.at, |a| store::roles::assignment_name_of(conn, a))?;
            let rows = store::roles::assignments(conn, &id, request.search.as_deref(), &keyset, PAGE_SIZE)?;
            let page = Page::from_rows(rows, &request.at, PAGE_SIZE, |(a, _)| a.id.clone());
            let total = store::roles::assignment_counts(conn, std::slice::from_ref(&id))?.first().map_or(0, |c| c.1);
            let pager = Pager::new(&request, &page);
            let assignments =
                page.items.into_iter().map(|(a, u)| AssignmentItem::new(a, Some(&role), Some(u), now)).collect();
            Ok(RolePage {
                chrome: chrome.in_section(Section::Directory),
                role: RoleItem {
                    assignments: total,
                    directory: RoleKind::parse(&role.role_kind) == Some(RoleKind::Directory),
                    id: role.id,
                    display_name: role.display_name,
                    description: role.description,
                    privileged: role.privileged,
                },
                assignments,
                pager,
            })
        })
        .await
}
