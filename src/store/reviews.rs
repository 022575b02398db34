//! Review series (definitions), their resources and named reviewers.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{Conn, Keyset, keyset_page, per_backend};
use crate::db::MultiBackend;
use crate::db::schema::{review_definition_resources, review_definition_reviewers, review_definitions, users};
use crate::domain::notify::ReminderSchedule;
use crate::domain::recurrence::{EndKind, Frequency};
use crate::domain::review::ResourceKind;
use crate::domain::review::{
    DefaultDecision, DefinitionStatus, GuestDeniedAction, ReviewerKind, RoleAssignmentTypes, ScopeKind, UserScopeKind,
};
use crate::store::users::UserRef;

/// A definition as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = review_definitions)]
#[diesel(treat_none_as_default_value = false)]
pub struct DefinitionRow {
    pub id: String,
    pub display_name: String,
    pub description_for_reviewers: String,
    pub description_for_admins: String,
    pub scope_kind: ScopeKind,
    pub role_assignment_types: Option<RoleAssignmentTypes>,
    pub resource_scope: Option<String>,
    pub user_scope: UserScopeKind,
    pub inactive_days: Option<i32>,
    pub reviewer_kind: ReviewerKind,
    pub start_date: NaiveDate,
    pub frequency: Frequency,
    pub duration_days: i32,
    pub end_kind: EndKind,
    pub end_date: Option<NaiveDate>,
    pub occurrences: Option<i32>,
    pub auto_apply: bool,
    pub default_decision: DefaultDecision,
    pub guest_denied_action: GuestDeniedAction,
    pub recommendations_enabled: bool,
    pub lookback_days: i32,
    pub justification_required: bool,
    pub mail_notifications: bool,
    /// Who else gets the completion mail: user principal names, one per line.
    pub additional_recipients: String,
    pub status: DefinitionStatus,
    pub next_occurrence: i32,
    pub next_start_at: Option<NaiveDateTime>,
    /// The creator's user id (kept after their account is deleted: no foreign key).
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The creator's name when the series was created, for when the account is gone.
    pub created_by_name: String,
    /// When reviewers are reminded, as [`ReminderSchedule::to_stored`] writes it; empty
    /// when they are not.
    pub reminder_schedule: String,
}

impl DefinitionRow {
    /// When reviewers who have not finished are reminded, if they are.
    pub fn reminders(&self) -> Option<ReminderSchedule> {
        ReminderSchedule::stored(&self.reminder_schedule)
    }
}

/// A resource of a definition: (type, id, excluded).
pub type ResourceLink = (ResourceKind, String, bool);

/// Saves a definition with its resources and reviewers (the caller holds the transaction).
pub fn insert(
    conn: &mut Conn,
    row: &DefinitionRow,
    resources: &[ResourceLink],
    reviewers: &[(String, bool)],
) -> QueryResult<()> {
    per_backend!(conn, c => diesel::insert_into(review_definitions::table).values(row).execute(c))?;
    for (resource_type, resource_id, excluded) in resources {
        diesel::insert_into(review_definition_resources::table)
            .values((
                review_definition_resources::definition_id.eq(&row.id),
                review_definition_resources::resource_type.eq(resource_type),
                review_definition_resources::resource_id.eq(resource_id),
                review_definition_resources::excluded.eq(excluded),
            ))
            .execute(conn)?;
    }
    insert_reviewers(conn, &row.id, reviewers)
}

/// A definition by id (deleted ones included: their history stays).
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<DefinitionRow>> {
    review_definitions::table.find(id).select(DefinitionRow::as_select()).first(conn).optional()
}

/// The sort name of a definition, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, id: &str) -> QueryResult<Option<String>> {
    review_definitions::table.find(id).select(review_definitions::display_name).first(conn).optional()
}

/// One page of definitions that are not deleted, by name; with `owner`, only those of
/// groups and applications that user owns (see [`owned_only`]).
pub fn list(conn: &mut Conn, owner: Option<&str>, keyset: &Keyset, limit: usize) -> QueryResult<Vec<DefinitionRow>> {
    let mut query = review_definitions::table
        .filter(review_definitions::status.ne(DefinitionStatus::Deleted))
        .select(DefinitionRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(user) = owner {
        query = query.filter(owned_only(user));
    }
    keyset_page!(query, keyset, review_definitions::display_name, review_definitions::id, limit).load(conn)
}

/// Definitions of selected groups or applications that are all owned by `user`: what an
/// owner may manage. Written as "not among the definitions with a resource they do not
/// own", an uncorrelated subquery that both backends plan well.
pub fn owned_only(
    user: &str,
) -> Box<dyn BoxableExpression<review_definitions::table, MultiBackend, SqlType = diesel::sql_types::Bool>> {
    use crate::db::schema::{app_owners, group_owners};
    use diesel::dsl::not;
    let r = review_definition_resources::table;
    let owned_groups =
        group_owners::table.filter(group_owners::user_id.eq(user.to_owned())).select(group_owners::group_id);
    let owned_apps = app_owners::table.filter(app_owners::user_id.eq(user.to_owned())).select(app_owners::app_id);
    let foreign = r
        .filter(not(review_definition_resources::resource_type
            .eq(ResourceKind::Group)
            .and(review_definition_resources::resource_id.eq_any(owned_groups))
            .or(review_definition_resources::resource_type
                .eq(ResourceKind::Application)
                .and(review_definition_resources::resource_id.eq_any(owned_apps)))))
        .select(review_definition_resources::definition_id);
    Box::new(
        review_definitions::scope_kind
            .eq_any([ScopeKind::Groups, ScopeKind::Applications])
            .and(review_definitions::id.ne_all(foreign)),
    )
}

/// Whether `user` owns every resource of definition `id` (see [`owned_only`]).
pub fn is_owned_only(conn: &mut Conn, id: &str, user: &str) -> QueryResult<bool> {
    let found: Option<String> = review_definitions::table
        .into_boxed::<MultiBackend>()
        .filter(review_definitions::id.eq(id))
        .filter(owned_only(user))
        .select(review_definitions::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// A definition's resources.
pub fn resources(conn: &mut Conn, definition: &str) -> QueryResult<Vec<ResourceLink>> {
    review_definition_resources::table
        .filter(review_definition_resources::definition_id.eq(definition))
        .select((
            review_definition_resources::resource_type,
            review_definition_resources::resource_id,
            review_definition_resources::excluded,
        ))
        .load(conn)
}

/// A definition's named reviewers, with whether each is a fallback.
pub fn reviewers(conn: &mut Conn, definition: &str) -> QueryResult<Vec<(UserRef, bool)>> {
    review_definition_reviewers::table
        .inner_join(users::table)
        .filter(review_definition_reviewers::definition_id.eq(definition))
        .order(users::display_name)
        .select((UserRef::as_select(), review_definition_reviewers::fallback))
        .load(conn)
}

/// Active series whose next occurrence is due at `now`.
pub fn due(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<Vec<DefinitionRow>> {
    review_definitions::table
        .filter(review_definitions::status.eq(DefinitionStatus::Active))
        .filter(review_definitions::next_start_at.le(now))
        .select(DefinitionRow::as_select())
        .load(conn)
}

/// Moves a series on to its next occurrence (`None`: no more occurrences).
pub fn advance(
    conn: &mut Conn,
    id: &str,
    next: i32,
    next_start: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(review_definitions::table.find(id))
        .set((
            review_definitions::next_occurrence.eq(next),
            review_definitions::next_start_at.eq(next_start),
            review_definitions::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a series completed (no more occurrences, none in progress).
pub fn set_status(conn: &mut Conn, id: &str, status: DefinitionStatus, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(review_definitions::table.find(id))
        .set((review_definitions::status.eq(status), review_definitions::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Active series with no next occurrence (candidates for completion).
pub fn finished_active(conn: &mut Conn) -> QueryResult<Vec<String>> {
    review_definitions::table
        .filter(review_definitions::status.eq(DefinitionStatus::Active))
        .filter(review_definitions::next_start_at.is_null())
        .select(review_definitions::id)
        .load(conn)
}

/// Writes a series' row without changing it: on SQLite this takes the write lock, so what
/// the transaction reads next cannot change under it.
pub fn touch(conn: &mut Conn, id: &str) -> QueryResult<()> {
    diesel::update(review_definitions::table.find(id))
        .set(review_definitions::updated_at.eq(review_definitions::updated_at))
        .execute(conn)?;
    Ok(())
}

/// Saves an edited series and replaces its named reviewers.
pub fn replace(conn: &mut Conn, row: &DefinitionRow, reviewers: &[(String, bool)]) -> QueryResult<()> {
    diesel::update(review_definitions::table.find(&row.id))
        .set((
            review_definitions::display_name.eq(&row.display_name),
            review_definitions::description_for_reviewers.eq(&row.description_for_reviewers),
            review_definitions::description_for_admins.eq(&row.description_for_admins),
            review_definitions::end_kind.eq(&row.end_kind),
            review_definitions::end_date.eq(row.end_date),
            review_definitions::occurrences.eq(row.occurrences),
            review_definitions::auto_apply.eq(row.auto_apply),
            review_definitions::default_decision.eq(&row.default_decision),
            review_definitions::recommendations_enabled.eq(row.recommendations_enabled),
            review_definitions::lookback_days.eq(row.lookback_days),
            review_definitions::justification_required.eq(row.justification_required),
            review_definitions::mail_notifications.eq(row.mail_notifications),
            review_definitions::reminder_schedule.eq(&row.reminder_schedule),
            review_definitions::additional_recipients.eq(&row.additional_recipients),
            review_definitions::next_start_at.eq(row.next_start_at),
            review_definitions::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    diesel::delete(review_definition_reviewers::table.filter(review_definition_reviewers::definition_id.eq(&row.id)))
        .execute(conn)?;
    insert_reviewers(conn, &row.id, reviewers)
}

fn insert_reviewers(conn: &mut Conn, definition: &str, reviewers: &[(String, bool)]) -> QueryResult<()> {
    for (user_id, fallback) in reviewers {
        diesel::insert_into(review_definition_reviewers::table)
            .values((
                review_definition_reviewers::definition_id.eq(definition),
                review_definition_reviewers::user_id.eq(user_id),
                review_definition_reviewers::fallback.eq(fallback),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The names of every resource (exclusions included) of `definition`, by resource id, as
/// they are named in the directory now; a resource deleted from the directory is left out.
pub fn resource_names_of(conn: &mut Conn, definition: &str) -> QueryResult<std::collections::HashMap<String, String>> {
    let rows = named_resources(conn, &[definition.to_owned()])?;
    Ok(rows.into_iter().filter_map(|r| Some((r.resource_id, r.name?))).collect())
}

/// The names of the resources (not the exclusions) of each of `definitions`, as they are
/// named in the directory now: (series, name), by series. One query for a page of series;
/// a resource deleted from the directory has no name.
pub fn resource_names(conn: &mut Conn, definitions: &[String]) -> QueryResult<Vec<(String, Option<String>)>> {
    let rows = named_resources(conn, definitions)?;
    Ok(rows.into_iter().filter(|r| !r.excluded).map(|r| (r.definition_id, r.name)).collect())
}

/// A resource of a definition with its name in the directory now.
struct NamedLink {
    definition_id: String,
    resource_id: String,
    excluded: bool,
    /// `None` once deleted from the directory.
    name: Option<String>,
}

/// The resources of `definitions` with their names, in one query (each resource joins the
/// table of its kind), by definition and resource id.
fn named_resources(conn: &mut Conn, definitions: &[String]) -> QueryResult<Vec<NamedLink>> {
    use crate::db::schema::{applications, groups, role_definitions};
    let link = review_definition_resources::table;
    let of_kind = |kind: ResourceKind| review_definition_resources::resource_type.eq(kind);
    /// (definition, resource, excluded, group name, application name, role name).
    type Row = (String, String, bool, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = link
        .left_join(
            groups::table.on(groups::id.eq(review_definition_resources::resource_id).and(of_kind(ResourceKind::Group))),
        )
        .left_join(
            applications::table.on(applications::id
                .eq(review_definition_resources::resource_id)
                .and(of_kind(ResourceKind::Application))),
        )
        .left_join(
            role_definitions::table
                .on(role_definitions::id.eq(review_definition_resources::resource_id).and(of_kind(ResourceKind::Role))),
        )
        .filter(review_definition_resources::definition_id.eq_any(definitions))
        .order((review_definition_resources::definition_id, review_definition_resources::resource_id))
        .select((
            review_definition_resources::definition_id,
            review_definition_resources::resource_id,
            review_definition_resources::excluded,
            groups::display_name.nullable(),
            applications::display_name.nullable(),
            role_definitions::display_name.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(definition_id, resource_id, excluded, g, a, r)| NamedLink {
            definition_id,
            resource_id,
            excluded,
            name: g.or(a).or(r),
        })
        .collect())
}
