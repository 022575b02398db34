//! Read-only directory pages: users, groups, applications and roles, with search and
//! keyset paging. No list renders unbounded rows.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::directory::{AccessPath, AssignmentType, GroupType, ObjectId, RoleKind, assignment_in_force};
use crate::domain::paging::{ListParams, ListRequest};
use crate::error::AppError;
use crate::service::directory::{self, HeldApp, Listed, Member};
use crate::service::rows::{AppRow, AssignmentRow, GroupRow, RoleRow, UserRef, UserRow};
use crate::web::format::{self, last_seen};
use crate::web::guard::Admin;
use crate::web::pager::Pager;
use crate::web::{Chrome, Section, State};

/// How many related objects a detail page lists before saying "first N shown".
const DETAIL_LIMIT: usize = 100;

fn list_request(params: ListParams) -> Result<ListRequest, AppError> {
    params.validate().map_err(AppError::BadRequest)
}

/// One directory list: validates the query, reads the page through `read` (a
/// [`directory`] list function) and turns its rows into items with `item`.
async fn list<R: Send + 'static, T>(
    state: &State,
    params: ListParams,
    read: fn(&mut DbConnection, &ListRequest) -> Result<Listed<R>, AppError>,
    item: impl FnMut(R) -> T,
) -> Result<(Option<i64>, Vec<T>, Pager), AppError> {
    let request = list_request(params)?;
    let req = request.clone();
    let listed = state.db(move |conn| read(conn, &req)).await?;
    let pager = Pager::new(&request, &listed.page);
    Ok((listed.total, listed.page.items.into_iter().map(item).collect(), pager))
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

impl UserItem {
    fn member(m: Member, now: NaiveDateTime) -> Self {
        Self::new(m.user, m.last_sign_in, now, m.paths)
    }
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
    let now = state.clock.now();
    let (total, users, pager) = list(&state, params.into_inner(), directory::users, |u| {
        let at = u.last_sign_in_at;
        UserItem::new(u, at, now, Vec::new())
    })
    .await?;
    Ok(UsersPage { chrome: chrome.in_section(Section::Directory), total: total.unwrap_or(0), users, pager })
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
    let (total, groups, pager) = list(&state, params.into_inner(), directory::groups, GroupItem::from).await?;
    Ok(GroupsPage { chrome: chrome.in_section(Section::Directory), total: total.unwrap_or(0), groups, pager })
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
    fn new(a: AppRow, role: String, via: String) -> Self {
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
    let (total, apps, pager) =
        list(&state, params.into_inner(), directory::apps, |a| AppItem::new(a, String::new(), String::new())).await?;
    Ok(AppsPage { chrome: chrome.in_section(Section::Directory), total: total.unwrap_or(0), apps, pager })
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

impl RoleItem {
    fn new(role: RoleRow, assignments: i64) -> Self {
        Self {
            assignments,
            directory: RoleKind::parse(&role.role_kind) == Some(RoleKind::Directory),
            id: role.id,
            display_name: role.display_name,
            description: role.description,
            privileged: role.privileged,
        }
    }
}

/// `GET /admin/roles`
pub async fn roles(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    params: web::Query<ListParams>,
) -> Result<RolesPage, AppError> {
    let (_, roles, pager) =
        list(&state, params.into_inner(), directory::roles, |(role, count)| RoleItem::new(role, count)).await?;
    Ok(RolesPage { chrome: chrome.in_section(Section::Directory), roles, pager })
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
    fn new(a: AssignmentRow, role: Option<&RoleRow>, user: Option<UserRef>, now: NaiveDateTime) -> Self {
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
        user: UserItem::new(d.user, last, now, Vec::new()),
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
        group: GroupItem::from(d.group),
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
        app: AppItem::new(d.app, String::new(), String::new()),
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
