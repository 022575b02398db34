//! The four directory lists (users, groups, applications, roles): search and keyset paging
//! through one helper, [`list`].

use std::collections::HashMap;

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::items::{AppItem, GroupItem, RoleItem, UserItem};
use super::list_request;
use crate::db::DbConnection;
use crate::domain::paging::{ListParams, ListRequest};
use crate::error::AppError;
use crate::service::directory::{self, Listed};
use crate::web::guard::Admin;
use crate::web::pager::Pager;
use crate::web::{Chrome, Section, State};

/// One directory list: validates the query, reads the page through `read` (a
/// [`directory`] list function) and turns its rows into items with `item`, which gets the
/// page's source names by object id too.
async fn list<R: Send + 'static, T>(
    state: &State,
    params: ListParams,
    read: fn(&mut DbConnection, &ListRequest) -> Result<Listed<R>, AppError>,
    mut item: impl FnMut(R, &HashMap<String, String>) -> T,
) -> Result<(Option<i64>, Vec<T>, Pager), AppError> {
    let request = list_request(params)?;
    let req = request.clone();
    let listed = state.db(move |conn| read(conn, &req)).await?;
    let pager = Pager::new(&request, &listed.page);
    let sources = listed.sources;
    Ok((listed.total, listed.page.items.into_iter().map(|r| item(r, &sources)).collect(), pager))
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
    let (total, users, pager) = list(&state, params.into_inner(), directory::users, |u, sources| {
        let (at, source) = (u.last_sign_in_at, sources.get(&u.id).cloned().unwrap_or_default());
        UserItem { source, ..UserItem::new(u, at, now, Vec::new()) }
    })
    .await?;
    Ok(UsersPage { chrome: chrome.in_section(Section::Directory), total: total.unwrap_or(0), users, pager })
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
    let (total, groups, pager) = list(&state, params.into_inner(), directory::groups, |g, sources| {
        let source = sources.get(&g.id).cloned().unwrap_or_default();
        GroupItem { source, ..GroupItem::from(g) }
    })
    .await?;
    Ok(GroupsPage { chrome: chrome.in_section(Section::Directory), total: total.unwrap_or(0), groups, pager })
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
    let (total, apps, pager) = list(&state, params.into_inner(), directory::apps, |a, sources| {
        let source = sources.get(&a.id).cloned().unwrap_or_default();
        AppItem { source, ..AppItem::new(a, String::new(), String::new()) }
    })
    .await?;
    Ok(AppsPage { chrome: chrome.in_section(Section::Directory), total: total.unwrap_or(0), apps, pager })
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
    let (_, roles, pager) =
        list(&state, params.into_inner(), directory::roles, |(role, count), _| RoleItem::new(role, count)).await?;
    Ok(RolesPage { chrome: chrome.in_section(Section::Directory), roles, pager })
}
