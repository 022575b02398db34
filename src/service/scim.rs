//! The SCIM 2.0 service provider's use cases: one function per request to `/Users` and
//! `/Groups`, for the SCIM source whose token authenticated the client.
//!
//! Each write is one transaction that also appends an audit event naming the source and
//! notes the source's change ([`sources::changed`]). A refused write (uniqueness, an
//! invalid value, an unknown member) is recorded among the source's errors, so its page
//! shows why a client's provisioning fails. Reads and writes see and touch only the
//! source's own users and groups: another source's id is "not found".

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::{Value, json};

use super::actor::Actor;
use super::sources::{self, Authenticated};
use crate::db::{DbConnection, Retryable};
use crate::domain::directory::UserType;
use crate::domain::review::ResourceKind;
use crate::error::AppError;
use crate::sources::scim::{
    CompValue, CompareOp, Email, Filter, GroupMember, GroupRequest, ListResponse, MemberKind, MembersPlan, Meta,
    Paging, PatchRequest, PersonName, Projection, ResourceType, Schema, ScimError, ScimGroup, ScimUser, etag_matches,
    plan_group_patch,
};
use crate::store::scim::{self as store, Cond, EmailRow, Field, MemberOf, Multi, Op, UserFields, Val};

/// Why a SCIM request failed: an answer the client can act on, or attest's own failure.
#[derive(Debug)]
pub enum ScimFault {
    /// A SCIM error (status, `scimType`, detail).
    Scim(ScimError),
    /// Anything else, mapped by the edge (internal errors are logged, never shown).
    App(AppError),
}

impl From<ScimError> for ScimFault {
    fn from(err: ScimError) -> Self {
        Self::Scim(err)
    }
}

impl From<AppError> for ScimFault {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl From<diesel::result::Error> for ScimFault {
    fn from(err: diesel::result::Error) -> Self {
        Self::App(AppError::from(err))
    }
}

impl Retryable for ScimFault {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::App(err) if err.is_retryable())
    }
}

/// The client a request comes from, and where the API is served (for `meta.location`).
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// The authenticated client of a SCIM source.
    pub auth: &'a Authenticated,
    /// The SCIM base URL as clients reach it (`https://attest.example.com/scim/v2`).
    pub base_url: &'a str,
}

impl Client<'_> {
    fn source(&self) -> &str {
        &self.auth.source.id
    }

    fn meta<'v>(&'v self, created: NaiveDateTime, last_modified: NaiveDateTime, version: &'v str) -> Meta<'v> {
        Meta { base_url: self.base_url, created, last_modified, version }
    }
}

/// A resource as answered: its id, its JSON, and its version (the `ETag`).
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The resource's id.
    pub id: String,
    /// The rendered (and projected) resource.
    pub body: Value,
    /// Its version, for the `ETag` header.
    pub version: String,
}

/// The query parameters of a list or a read, as received.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `filter`.
    pub filter: Option<String>,
    /// `startIndex`.
    pub start_index: Option<String>,
    /// `count`.
    pub count: Option<String>,
    /// `attributes`.
    pub attributes: Option<String>,
    /// `excludedAttributes`.
    pub excluded_attributes: Option<String>,
}

impl Query {
    /// The parameters of a `POST …/.search` body (RFC 7644 §3.4.3): a `SearchRequest` with
    /// `filter`, `startIndex`, `count`, and `attributes` / `excludedAttributes` as lists.
    pub fn from_search_request(body: &serde_json::Value) -> Result<Self, ScimError> {
        const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
        let Some(fields) = body.as_object() else {
            return Err(ScimError::invalid_syntax("The body must be a JSON object: a SearchRequest."));
        };
        let names_schema = fields
            .get("schemas")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|list| list.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST)));
        if !names_schema {
            return Err(ScimError::invalid_syntax(format!("\"schemas\" must name {SEARCH_REQUEST}.")));
        }
        let mut query = Query::default();
        for (key, value) in fields {
            let slot = match key.to_ascii_lowercase().as_str() {
                "filter" => &mut query.filter,
                "startindex" => &mut query.start_index,
                "count" => &mut query.count,
                "attributes" => &mut query.attributes,
                "excludedattributes" => &mut query.excluded_attributes,
                _ => continue,
            };
            *slot = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Array(items) => {
                    let mut names = Vec::with_capacity(items.len());
                    for item in items {
                        let Some(name) = item.as_str() else {
                            return Err(ScimError::invalid_value(format!(
                                "\"{key}\" must be a list of attribute names."
                            )));
                        };
                        names.push(name);
                    }
                    Some(names.join(","))
                }
                _ => return Err(ScimError::invalid_value(format!("\"{key}\" has a value of the wrong type."))),
            };
        }
        Ok(query)
    }

    fn projection(&self, resource: ResourceType) -> Result<Projection, ScimError> {
        Projection::parse(resource, self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }

    fn cond(&self, resource: ResourceType) -> Result<Option<Cond>, ScimError> {
        let Some(text) = self.filter.as_deref().filter(|f| !f.trim().is_empty()) else { return Ok(None) };
        let filter = Filter::parse(text, resource)?;
        filter.check_filterable(resource)?;
        Ok(Some(to_cond(&filter)?))
    }
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

/// GET /Users: a page of the source's users matching the filter.
pub fn list_users(conn: &mut DbConnection, client: Client<'_>, query: &Query) -> Result<Value, ScimFault> {
    let cond = query.cond(ResourceType::User)?;
    let paging = Paging::parse(query.start_index.as_deref(), query.count.as_deref())?;
    let projection = query.projection(ResourceType::User)?;
    let (total, rows) = store::list_users(conn, client.source(), cond.as_ref(), paging.offset(), paging.count)?;
    let resources = rows
        .into_iter()
        .map(|(row, emails)| {
            let mut body = render_user(client, &row, &emails).body;
            projection.apply(&mut body);
            body
        })
        .collect();
    Ok(ListResponse { total_results: total, start_index: paging.start_index, resources }.to_json())
}

/// GET /Users/{id}.
pub fn get_user(conn: &mut DbConnection, client: Client<'_>, id: &str, query: &Query) -> Result<Resource, ScimFault> {
    let projection = query.projection(ResourceType::User)?;
    let (row, emails) = store::get_user(conn, client.source(), id)?.ok_or_else(|| user_not_found(id))?;
    let mut resource = render_user(client, &row, &emails);
    projection.apply(&mut resource.body);
    Ok(resource)
}

/// POST /Users: creates a user of the source.
pub fn create_user(
    conn: &mut DbConnection,
    client: Client<'_>,
    body: &Value,
    now: NaiveDateTime,
) -> Result<Resource, ScimFault> {
    let result = (|| {
        let user = ScimUser::parse(body)?;
        conn.write(|conn| {
            let id = uuid::Uuid::new_v4().to_string();
            check_user(conn, client, &id, &user)?;
            let (fields, emails) = user_fields(&id, &user);
            store::insert_user(conn, client.source(), &id, &fields, &emails, now).map_err(unique_user_name)?;
            record_change(conn, client, now, "ScimUserCreated", ("User", &id), json!({ "userName": user.user_name }))?;
            reload_user(conn, client, &id)
        })
    })();
    recorded(conn, client, "POST /Users", now, result)
}

/// PUT /Users/{id}: replaces a user of the source (its id and creation stay).
pub fn replace_user(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<Resource, ScimFault> {
    let result = (|| {
        let user = ScimUser::parse(body)?;
        conn.write(|conn| {
            let stamp = lock_user(conn, client, id, if_match, now)?;
            check_user(conn, client, id, &user)?;
            let (fields, emails) = user_fields(id, &user);
            store::update_user(conn, client.source(), id, &fields, &emails, stamp).map_err(unique_user_name)?;
            record_change(conn, client, now, "ScimUserUpdated", ("User", id), json!({ "userName": user.user_name }))?;
            reload_user(conn, client, id)
        })
    })();
    recorded(conn, client, "PUT /Users", now, result)
}

/// PATCH /Users/{id}: changes attributes of a user of the source. A PATCH that changes
/// nothing writes nothing.
pub fn patch_user(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<Resource, ScimFault> {
    let result = (|| {
        let patch = PatchRequest::parse(body, ResourceType::User)?;
        conn.write(|conn| {
            let stamp = lock_user(conn, client, id, if_match, now)?;
            let (row, emails) = store::get_user(conn, client.source(), id)?.ok_or_else(|| user_not_found(id))?;
            let current = to_scim_user(&row, &emails);
            let user = current.apply_patch(id, &patch)?;
            if user == current {
                return Ok(render_user(client, &row, &emails));
            }
            check_user(conn, client, id, &user)?;
            let (fields, emails) = user_fields(id, &user);
            store::update_user(conn, client.source(), id, &fields, &emails, stamp).map_err(unique_user_name)?;
            let details = json!({ "userName": user.user_name, "changed": changed_attributes(&current, &user) });
            record_change(conn, client, now, "ScimUserUpdated", ("User", id), details)?;
            reload_user(conn, client, id)
        })
    })();
    recorded(conn, client, "PATCH /Users", now, result)
}

/// DELETE /Users/{id}: deletes a user of the source.
pub fn delete_user(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ScimFault> {
    let result = conn.write(|conn| {
        lock_user(conn, client, id, if_match, now)?;
        let (row, _) = store::get_user(conn, client.source(), id)?.ok_or_else(|| user_not_found(id))?;
        store::delete_user(conn, client.source(), id, now)?;
        record_change(conn, client, now, "ScimUserDeleted", ("User", id), json!({ "userName": row.upn }))?;
        Ok(())
    });
    recorded(conn, client, "DELETE /Users", now, result)
}

fn user_not_found(id: &str) -> ScimError {
    ScimError::with_status(404, format!("This source has no user with the id {}.", quoted(id)))
}

/// Takes the user's row lock, checks `If-Match`, and returns the stamp of the write.
fn lock_user(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, ScimFault> {
    let updated = store::lock_user(conn, client.source(), id)?.ok_or_else(|| user_not_found(id))?;
    check_if_match(if_match, updated)?;
    Ok(next_stamp(updated, now))
}

/// Refuses a user whose userName another user has (ignoring case), or whose manager is not
/// a user of the source.
fn check_user(conn: &mut DbConnection, client: Client<'_>, id: &str, user: &ScimUser) -> Result<(), ScimFault> {
    if store::upn_taken(conn, &user.user_name, Some(id))? {
        return Err(taken(&user.user_name).into());
    }
    if let Some(manager) = &user.manager {
        if manager == id {
            return Err(ScimError::invalid_value("A user cannot be their own manager.").into());
        }
        if !store::user_exists(conn, client.source(), manager)? {
            return Err(ScimError::invalid_value(format!(
                "manager.value {} is not the id of a user of this source.",
                quoted(manager)
            ))
            .into());
        }
    }
    Ok(())
}

fn taken(user_name: &str) -> ScimError {
    ScimError::uniqueness(format!(
        "A user with the userName {} already exists (userName is unique whatever its case).",
        quoted(user_name)
    ))
}

/// A unique index refusing the write means another client created the same userName in
/// the meantime.
fn unique_user_name(err: diesel::result::Error) -> ScimFault {
    match err {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            ScimError::uniqueness("A user with this userName already exists (userName is unique whatever its case).")
                .into()
        }
        other => other.into(),
    }
}

fn reload_user(conn: &mut DbConnection, client: Client<'_>, id: &str) -> Result<Resource, ScimFault> {
    let (row, emails) = store::get_user(conn, client.source(), id)?.ok_or_else(|| user_not_found(id))?;
    Ok(render_user(client, &row, &emails))
}

fn render_user(client: Client<'_>, row: &store::ScimUserRow, emails: &[EmailRow]) -> Resource {
    let modified = row.updated_at.unwrap_or(row.created_at);
    let version = version_of(modified);
    let body = to_scim_user(row, emails).to_json(&row.id, &client.meta(row.created_at, modified, &version));
    Resource { id: row.id.clone(), body, version }
}

/// The SCIM user a stored row is.
fn to_scim_user(row: &store::ScimUserRow, emails: &[EmailRow]) -> ScimUser {
    ScimUser {
        user_name: row.upn.clone(),
        external_id: row.external_id.clone(),
        name: PersonName {
            formatted: row.formatted_name.clone(),
            family_name: row.family_name.clone(),
            given_name: row.given_name.clone(),
        },
        display_name: Some(row.display_name.clone()),
        title: row.job_title.clone(),
        user_type: Some(row.user_type),
        active: row.enabled,
        emails: emails
            .iter()
            .map(|e| Email { value: e.value.clone(), kind: e.kind.clone(), primary: e.is_primary })
            .collect(),
        employee_number: row.employee_number.clone(),
        department: row.department.clone(),
        manager: row.manager_id.clone(),
    }
}

/// The columns a SCIM user sets. The display name falls back to the formatted name, the
/// given and family names, then the userName; the mail is the primary address, else the
/// first work one, else the first.
fn user_fields(id: &str, user: &ScimUser) -> (UserFields, Vec<EmailRow>) {
    let joined = [user.name.given_name.as_deref(), user.name.family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = user
        .display_name
        .clone()
        .or_else(|| user.name.formatted.clone())
        .or_else(|| (!joined.is_empty()).then_some(joined))
        .unwrap_or_else(|| user.user_name.clone());
    let mail = user
        .emails
        .iter()
        .find(|e| e.primary)
        .or_else(|| user.emails.iter().find(|e| e.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("work"))))
        .or_else(|| user.emails.first())
        .map(|e| e.value.clone());
    let fields = UserFields {
        upn: user.user_name.clone(),
        display_name,
        mail,
        user_type: user.user_type.unwrap_or(UserType::Member),
        enabled: user.active,
        manager_id: user.manager.clone(),
        department: user.department.clone(),
        job_title: user.title.clone(),
        external_id: user.external_id.clone(),
        given_name: user.name.given_name.clone(),
        family_name: user.name.family_name.clone(),
        formatted_name: user.name.formatted.clone(),
        employee_number: user.employee_number.clone(),
    };
    let emails = user
        .emails
        .iter()
        .zip(0_i32..)
        .map(|(e, position)| EmailRow {
            user_id: id.to_owned(),
            position,
            value: e.value.clone(),
            kind: e.kind.clone(),
            is_primary: e.primary,
        })
        .collect();
    (fields, emails)
}

/// The names of the attributes a PATCH changed, for the audit trail.
fn changed_attributes(before: &ScimUser, after: &ScimUser) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut note = |changed: bool, name: &'static str| {
        if changed {
            out.push(name);
        }
    };
    note(before.user_name != after.user_name, "userName");
    note(before.external_id != after.external_id, "externalId");
    note(before.name != after.name, "name");
    note(before.display_name != after.display_name, "displayName");
    note(before.title != after.title, "title");
    note(before.user_type != after.user_type, "userType");
    note(before.active != after.active, "active");
    note(before.emails != after.emails, "emails");
    note(before.employee_number != after.employee_number, "employeeNumber");
    note(before.department != after.department, "department");
    note(before.manager != after.manager, "manager");
    out
}

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

/// GET /Groups: a page of the source's groups matching the filter. Members are loaded only
/// when the response returns them (Entra asks for `excludedAttributes=members`).
pub fn list_groups(conn: &mut DbConnection, client: Client<'_>, query: &Query) -> Result<Value, ScimFault> {
    let cond = query.cond(ResourceType::Group)?;
    let paging = Paging::parse(query.start_index.as_deref(), query.count.as_deref())?;
    let projection = query.projection(ResourceType::Group)?;
    let with_members = projection.returns(Schema::Group, "members");
    let (total, rows) = store::list_groups(conn, client.source(), cond.as_ref(), paging.offset(), paging.count)?;
    let mut resources = Vec::with_capacity(rows.len());
    for row in rows {
        let members = if with_members { Some(store::members(conn, &row.id)?) } else { None };
        let mut body = render_group(client, &row, members.as_deref()).body;
        projection.apply(&mut body);
        resources.push(body);
    }
    Ok(ListResponse { total_results: total, start_index: paging.start_index, resources }.to_json())
}

/// GET /Groups/{id}.
pub fn get_group(conn: &mut DbConnection, client: Client<'_>, id: &str, query: &Query) -> Result<Resource, ScimFault> {
    let projection = query.projection(ResourceType::Group)?;
    let row = store::get_group(conn, client.source(), id)?.ok_or_else(|| group_not_found(id))?;
    let members = if projection.returns(Schema::Group, "members") { Some(store::members(conn, id)?) } else { None };
    let mut resource = render_group(client, &row, members.as_deref());
    projection.apply(&mut resource.body);
    Ok(resource)
}

/// POST /Groups: creates a group of the source, with its members when the body has them.
pub fn create_group(
    conn: &mut DbConnection,
    client: Client<'_>,
    body: &Value,
    now: NaiveDateTime,
) -> Result<Resource, ScimFault> {
    let result = (|| {
        let request = GroupRequest::parse(body, None)?;
        conn.write(|conn| {
            let id = uuid::Uuid::new_v4().to_string();
            let group = &request.group;
            store::insert_group(conn, client.source(), &id, &group.display_name, group.external_id.as_deref(), now)?;
            let plan = request.members.clone().map(MembersPlan::replacing);
            let (added, removed) = match &plan {
                Some(plan) => change_members(conn, client, &id, plan)?,
                None => (0, 0),
            };
            let details =
                json!({ "displayName": group.display_name, "membersAdded": added, "membersRemoved": removed });
            record_change(conn, client, now, "ScimGroupCreated", (ResourceKind::Group.as_str(), &id), details)?;
            reload_group(conn, client, &id, plan.is_some())
        })
    })();
    recorded(conn, client, "POST /Groups", now, result)
}

/// PUT /Groups/{id}: replaces a group's name and external id, and its members when the
/// body has them (Okta's PUT of a whole group); without `members` they stay.
pub fn replace_group(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<Resource, ScimFault> {
    let result = (|| {
        let request = GroupRequest::parse(body, Some(id))?;
        conn.write(|conn| {
            let stamp = lock_group(conn, client, id, if_match, now)?;
            let group = &request.group;
            store::update_group(conn, client.source(), id, &group.display_name, group.external_id.as_deref(), stamp)?;
            let plan = request.members.clone().map(MembersPlan::replacing);
            let (added, removed) = match &plan {
                Some(plan) => change_members(conn, client, id, plan)?,
                None => (0, 0),
            };
            let details =
                json!({ "displayName": group.display_name, "membersAdded": added, "membersRemoved": removed });
            record_change(conn, client, now, "ScimGroupUpdated", (ResourceKind::Group.as_str(), id), details)?;
            reload_group(conn, client, id, plan.is_some())
        })
    })();
    recorded(conn, client, "PUT /Groups", now, result)
}

/// PATCH /Groups/{id}: changes a group's name, external id and members, with set
/// statements whatever the number of members (the group's members are never loaded).
/// Returns the group's new version; the answer has no body.
pub fn patch_group(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<String, ScimFault> {
    let result = (|| {
        let patch = PatchRequest::parse(body, ResourceType::Group)?;
        let plan = plan_group_patch(id, &patch)?;
        conn.write(|conn| {
            let stamp = lock_group(conn, client, id, if_match, now)?;
            let row = store::get_group(conn, client.source(), id)?.ok_or_else(|| group_not_found(id))?;
            if plan.is_unchanged() {
                return Ok(version_of(row.updated_at.unwrap_or(row.created_at)));
            }
            let display_name = plan.display_name.clone().unwrap_or(row.display_name);
            let external_id = plan.external_id.clone().unwrap_or(row.external_id);
            store::update_group(conn, client.source(), id, &display_name, external_id.as_deref(), stamp)?;
            let (added, removed) = change_members(conn, client, id, &plan.members)?;
            let details = json!({ "displayName": display_name, "membersAdded": added, "membersRemoved": removed });
            record_change(conn, client, now, "ScimGroupUpdated", (ResourceKind::Group.as_str(), id), details)?;
            Ok(version_of(stamp))
        })
    })();
    recorded(conn, client, "PATCH /Groups", now, result)
}

/// DELETE /Groups/{id}: deletes a group of the source.
pub fn delete_group(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ScimFault> {
    let result = conn.write(|conn| {
        lock_group(conn, client, id, if_match, now)?;
        let row = store::get_group(conn, client.source(), id)?.ok_or_else(|| group_not_found(id))?;
        store::delete_group(conn, client.source(), id, now)?;
        record_change(
            conn,
            client,
            now,
            "ScimGroupDeleted",
            (ResourceKind::Group.as_str(), id),
            json!({ "displayName": row.display_name }),
        )?;
        Ok(())
    });
    recorded(conn, client, "DELETE /Groups", now, result)
}

fn group_not_found(id: &str) -> ScimError {
    ScimError::with_status(404, format!("This source has no group with the id {}.", quoted(id)))
}

fn lock_group(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    if_match: Option<&str>,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, ScimFault> {
    let updated = store::lock_group(conn, client.source(), id)?.ok_or_else(|| group_not_found(id))?;
    check_if_match(if_match, updated)?;
    Ok(next_stamp(updated, now))
}

/// Carries out a members plan on a group: ids resolve only among the source's own users
/// and groups (an unknown id is refused, naming it), and a nested group must not contain
/// the group already. Returns how many ids were added and removed (as asked).
fn change_members(
    conn: &mut DbConnection,
    client: Client<'_>,
    group: &str,
    plan: &MembersPlan,
) -> Result<(usize, usize), ScimFault> {
    let wanted: Vec<(&str, Option<MemberKind>)> = plan.to_add().collect();
    let ids: Vec<&str> = wanted.iter().map(|(id, _)| *id).collect();
    let (users, groups) = store::resolve_members(conn, client.source(), &ids)?;
    let mut add_users = Vec::new();
    let mut add_groups = Vec::new();
    for (id, kind) in &wanted {
        let is_user = users.contains(*id);
        let is_group = groups.contains(*id);
        match kind {
            Some(MemberKind::User) if is_user => add_users.push(*id),
            Some(MemberKind::Group) if is_group => add_groups.push(*id),
            None if is_user => add_users.push(*id),
            None if is_group => add_groups.push(*id),
            _ => {
                let what = match kind {
                    Some(MemberKind::User) => "user",
                    Some(MemberKind::Group) => "group",
                    None => "user or group",
                };
                return Err(ScimError::invalid_value(format!(
                    "members: {} is not the id of a {what} of this source.",
                    quoted(id)
                ))
                .into());
            }
        }
    }
    if !add_groups.is_empty() {
        let nested: Vec<String> = add_groups.iter().map(|g| (*g).to_owned()).collect();
        if store::reaches(conn, &nested, group)? {
            return Err(ScimError::invalid_value(
                "members: a group cannot contain itself, directly or through the groups nested in it.",
            )
            .into());
        }
    }
    let removed: Vec<&str> = plan.to_remove().collect();
    if plan.replaces_all() {
        store::clear_members(conn, client.source(), group)?;
    } else {
        store::remove_members(conn, client.source(), group, &removed)?;
    }
    store::add_members(conn, client.source(), group, &add_users, &add_groups)?;
    Ok((ids.len(), removed.len()))
}

fn reload_group(
    conn: &mut DbConnection,
    client: Client<'_>,
    id: &str,
    with_members: bool,
) -> Result<Resource, ScimFault> {
    let row = store::get_group(conn, client.source(), id)?.ok_or_else(|| group_not_found(id))?;
    let members = if with_members { Some(store::members(conn, id)?) } else { None };
    Ok(render_group(client, &row, members.as_deref()))
}

fn render_group(client: Client<'_>, row: &store::ScimGroupRow, members: Option<&[store::MemberRow]>) -> Resource {
    let modified = row.updated_at.unwrap_or(row.created_at);
    let version = version_of(modified);
    let members: Option<Vec<GroupMember>> = members.map(|list| {
        list.iter()
            .map(|m| GroupMember {
                id: m.id.clone(),
                kind: match m.kind {
                    MemberOf::User => MemberKind::User,
                    MemberOf::Group => MemberKind::Group,
                },
                display: Some(m.display_name.clone()),
            })
            .collect()
    });
    let group = ScimGroup { display_name: row.display_name.clone(), external_id: row.external_id.clone() };
    let body = group.to_json(&row.id, &client.meta(row.created_at, modified, &version), members.as_deref());
    Resource { id: row.id.clone(), body, version }
}

// ---------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------

/// The version of a resource last changed at `at`: its microseconds since the epoch.
fn version_of(at: NaiveDateTime) -> String {
    at.and_utc().timestamp_micros().to_string()
}

/// When a write at `now` stamps an object last changed at `previous`: `now`, or a
/// microsecond after `previous` when that is not earlier, so every write changes the
/// version, even two in the same microsecond (or under a clock that stands still).
fn next_stamp(previous: Option<NaiveDateTime>, now: NaiveDateTime) -> NaiveDateTime {
    match previous {
        Some(previous) if previous >= now => {
            previous.checked_add_signed(TimeDelta::microseconds(1)).unwrap_or(previous)
        }
        _ => now,
    }
}

/// Refuses a write whose `If-Match` names another version (412).
fn check_if_match(if_match: Option<&str>, updated: Option<NaiveDateTime>) -> Result<(), ScimError> {
    let Some(header) = if_match else { return Ok(()) };
    let current = updated.map(version_of).unwrap_or_default();
    if etag_matches(header, &current) {
        Ok(())
    } else {
        Err(ScimError::with_status(
            412,
            "The resource changed since the version in If-Match: read it again, then repeat the change.",
        ))
    }
}

/// The end of every SCIM write, inside its transaction: the audit event naming the
/// source, and the source's change (which also checks its open remediation tasks).
fn record_change(
    conn: &mut DbConnection,
    client: Client<'_>,
    now: NaiveDateTime,
    action: &str,
    target: (&str, &str),
    mut details: Value,
) -> Result<(), ScimFault> {
    if let Some(map) = details.as_object_mut() {
        map.insert("source".into(), json!(client.auth.source.name));
    }
    let event = Actor::Client(client.auth).event(now, action, target, details);
    crate::store::audit::append(conn, &event)?;
    sources::changed(conn, client.source(), now)?;
    Ok(())
}

/// Records a refused write among the source's errors (the write itself was rolled back).
fn recorded<T>(
    conn: &mut DbConnection,
    client: Client<'_>,
    what: &str,
    now: NaiveDateTime,
    result: Result<T, ScimFault>,
) -> Result<T, ScimFault> {
    if let Err(ScimFault::Scim(err)) = &result
        && err.scim_type().is_some()
        && let Err(failed) = sources::record_error(conn, client.source(), &format!("{what} refused: {err}"), now)
    {
        tracing::warn!(error = %failed, "could not record a SCIM source's error");
    }
    result
}

/// Client input quoted in a message: bounded, control and bidi characters escaped.
fn quoted(text: &str) -> String {
    let mut out = String::from("'");
    for (i, c) in text.chars().enumerate() {
        if i == 60 {
            out.push('…');
            break;
        }
        if c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A parsed SCIM filter in the store's terms.
fn to_cond(filter: &Filter) -> Result<Cond, ScimError> {
    Ok(match filter {
        Filter::Compare { path, op, value } => Cond::Compare {
            field: field_of(path)?,
            op: match op {
                CompareOp::Eq => Op::Eq,
                CompareOp::Ne => Op::Ne,
                CompareOp::Co => Op::Co,
                CompareOp::Sw => Op::Sw,
                CompareOp::Ew => Op::Ew,
                CompareOp::Gt => Op::Gt,
                CompareOp::Ge => Op::Ge,
                CompareOp::Lt => Op::Lt,
                CompareOp::Le => Op::Le,
            },
            value: match value {
                CompValue::Null => Val::Null,
                CompValue::Bool(b) => Val::Bool(*b),
                CompValue::String(s) => Val::Text(s.clone()),
                CompValue::DateTime(t) => Val::Time(*t),
            },
            fold: !path.leaf().case_exact,
        },
        Filter::Present(path) => Cond::Present(field_of(path)?),
        Filter::And(all) => Cond::And(all.iter().map(to_cond).collect::<Result<_, _>>()?),
        Filter::Or(any) => Cond::Or(any.iter().map(to_cond).collect::<Result<_, _>>()?),
        Filter::Not(inner) => Cond::Not(Box::new(to_cond(inner)?)),
        Filter::ValuePath { attr, filter } => {
            let multi = match attr.key() {
                (_, "emails", _) => Multi::Emails,
                (_, "members", _) => Multi::Members,
                _ => return Err(unfilterable(attr)),
            };
            Cond::Element(multi, Box::new(to_cond(filter)?))
        }
    })
}

fn field_of(path: &crate::sources::scim::AttrPath) -> Result<Field, ScimError> {
    Ok(match path.key() {
        (_, "id", None) => Field::Id,
        (_, "externalid", None) => Field::ExternalId,
        (_, "meta", Some("lastmodified")) => Field::LastModified,
        (_, "username", None) => Field::UserName,
        (_, "displayname", None) => Field::DisplayName,
        (_, "active", None) => Field::Active,
        (_, "emails", Some("value")) => Field::EmailValue,
        (_, "emails", Some("type")) => Field::EmailType,
        (_, "members", Some("value")) => Field::MemberValue,
        _ => return Err(unfilterable(path)),
    })
}

fn unfilterable(path: &crate::sources::scim::AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("attest cannot filter on {path}."))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(us: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_micro_opt(9, 0, 0, us).unwrap()
    }

    #[test]
    fn every_write_moves_the_version() {
        assert_eq!(next_stamp(None, at(5)), at(5));
        assert_eq!(next_stamp(Some(at(1)), at(5)), at(5));
        assert_eq!(next_stamp(Some(at(5)), at(5)), at(6));
        assert_eq!(next_stamp(Some(at(9)), at(5)), at(10));
        assert_ne!(version_of(at(5)), version_of(at(6)));
    }

    #[test]
    fn if_match_compares_versions() {
        assert!(check_if_match(None, Some(at(1))).is_ok());
        let tag = format!("W/\"{}\"", version_of(at(1)));
        assert!(check_if_match(Some(&tag), Some(at(1))).is_ok());
        assert_eq!(check_if_match(Some(&tag), Some(at(2))).unwrap_err().status(), 412);
        assert!(check_if_match(Some("*"), Some(at(2))).is_ok());
    }

    #[test]
    fn display_name_and_mail_fall_back() {
        let mut user = ScimUser::new("ada@example.com");
        assert_eq!(user_fields("u", &user).0.display_name, "ada@example.com");
        user.name.given_name = Some("Ada".into());
        user.name.family_name = Some("Lovelace".into());
        assert_eq!(user_fields("u", &user).0.display_name, "Ada Lovelace");
        user.name.formatted = Some("Ada King".into());
        assert_eq!(user_fields("u", &user).0.display_name, "Ada King");
        user.emails = vec![
            Email { value: "home@x".into(), kind: Some("home".into()), primary: false },
            Email { value: "work@x".into(), kind: Some("work".into()), primary: false },
        ];
        assert_eq!(user_fields("u", &user).0.mail.as_deref(), Some("work@x"));
        user.emails[0].primary = true;
        let (fields, emails) = user_fields("u", &user);
        assert_eq!(fields.mail.as_deref(), Some("home@x"));
        assert_eq!(emails.len(), 2);
        assert_eq!(emails[1].position, 1);
    }

    #[test]
    fn filters_become_conditions() {
        let filter =
            Filter::parse("userName eq \"Ada\" and not (emails[type eq \"work\"])", ResourceType::User).unwrap();
        let cond = to_cond(&filter).unwrap();
        let Cond::And(parts) = cond else { panic!("{cond:?}") };
        assert_eq!(
            parts[0],
            Cond::Compare { field: Field::UserName, op: Op::Eq, value: Val::Text("Ada".into()), fold: true }
        );
        assert!(matches!(&parts[1], Cond::Not(inner) if matches!(**inner, Cond::Element(Multi::Emails, _))));
    }
}
