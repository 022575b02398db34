//! The page of one user, group, application or role, with what relates to it.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::items::{AppItem, AssignmentItem, GroupItem, RoleItem, UserItem};
use super::{DETAIL_LIMIT, list_request, not_found};
use crate::domain::directory::{AccessPath, ObjectId};
use crate::domain::paging::ListParams;
use crate::error::AppError;
use crate::service::directory::{self, HeldApp};
use crate::service::rows::UserRef;
use crate::web::format::{self, last_seen};
use crate::web::guard::Admin;
use crate::web::pager::Pager;
use crate::web::{Chrome, Section, State};

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
    let d = state.db(move |conn| directory::user(conn, &id, limit)).await?.ok_or_else(|| not_found("user"))?;
    let groups_capped = d.memberships.len() > limit;
    let groups = d
        .memberships
        .into_iter()
        .take(limit)
        .map(|(g, chain)| {
            // The chain runs from the group holding the user outwards; a path reads from
            // the outermost group in.
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
    let apps = d
        .apps
        .into_iter()
        .map(|HeldApp { app, role, path, last_sign_in }| {
            let via = path.as_ref().map(AccessPath::describe).unwrap_or_default();
            AppItem { last_sign_in: last_seen(last_sign_in, now), ..AppItem::new(app, role, via) }
        })
        .collect();
    let (mail, created, last) = (d.user.mail.clone().unwrap_or_default(), d.user.created_at, d.user.last_sign_in_at);
    Ok(UserPage {
        chrome: chrome.in_section(Section::Directory),
        mail,
        created: format::datetime(created),
        user: UserItem { source: d.source, ..UserItem::new(d.user, last, now, Vec::new()) },
        manager: d.manager,
        reports: d.reports,
        groups,
        groups_capped,
        apps,
        roles: d.roles.into_iter().map(|(a, r)| AssignmentItem::new(a, Some(&r), None, now)).collect(),
        owned_groups: d.owned_groups.into_iter().map(GroupItem::from).collect(),
        owned_apps: d.owned_apps.into_iter().map(|a| AppItem::new(a, String::new(), String::new())).collect(),
        limit,
    })
}

/// "12 users, 1 group".
fn direct_members(users: i64, groups: usize) -> String {
    let groups = i64::try_from(groups).unwrap_or(i64::MAX);
    format!("{}, {}", format::count(users, "user", "users"), format::count(groups, "group", "groups"))
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
    let req = request.clone();
    let d = state
        .db(move |conn| directory::group(conn, &id, &req, DETAIL_LIMIT))
        .await?
        .ok_or_else(|| not_found("group"))?;
    Ok(GroupPage {
        direct_members: direct_members(d.direct_users, d.nested.len()),
        chrome: chrome.in_section(Section::Directory),
        rule: d.group.membership_rule.clone().unwrap_or_default(),
        created: format::datetime(d.group.created_at),
        owners: d.owners,
        nested: d.nested.into_iter().map(GroupItem::from).collect(),
        parents: d.parents.into_iter().map(GroupItem::from).collect(),
        group: GroupItem { source: d.source, ..GroupItem::from(d.group) },
        pager: Pager::new(&request, &d.members),
        members: d.members.items.into_iter().map(|m| UserItem::member(m, now)).collect(),
        limit: DETAIL_LIMIT,
    })
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
    let req = request.clone();
    let d = state
        .db(move |conn| directory::app(conn, &id, &req, DETAIL_LIMIT))
        .await?
        .ok_or_else(|| not_found("application"))?;
    Ok(AppPage {
        direct_members: direct_members(d.direct_users, d.groups.len()),
        chrome: chrome.in_section(Section::Directory),
        homepage: d.app.homepage.clone().unwrap_or_default(),
        created: format::datetime(d.app.created_at),
        owners: d.owners,
        groups: d.groups.into_iter().map(|(g, role)| (GroupItem::from(g), role)).collect(),
        app: AppItem { source: d.source, ..AppItem::new(d.app, String::new(), String::new()) },
        pager: Pager::new(&request, &d.members),
        users: d.members.items.into_iter().map(|m| UserItem::member(m, now)).collect(),
        limit: DETAIL_LIMIT,
    })
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
    let req = request.clone();
    let d = state.db(move |conn| directory::role(conn, &id, &req)).await?.ok_or_else(|| not_found("role"))?;
    let pager = Pager::new(&request, &d.page);
    let assignments =
        d.page.items.into_iter().map(|(a, u)| AssignmentItem::new(a, Some(&d.role), Some(u), now)).collect();
    Ok(RolePage {
        chrome: chrome.in_section(Section::Directory),
        role: RoleItem::new(d.role, d.assignments),
        assignments,
        pager,
    })
}
