//! The users and groups of one SCIM source: every query here filters on the source's id,
//! so a client never sees nor changes another source's objects (nor attest's own).
//!
//! Lists take a [`Cond`], a filter tree in the store's own terms (columns, not SCIM
//! attribute names), which the service builds from a parsed SCIM filter. It becomes one
//! SQL condition with bound values only. Every comparison is wrapped in
//! `COALESCE(…, FALSE)`, so a missing value is false, also under `NOT`, as SCIM filters
//! evaluate; attributes compared case-insensitively fold both sides with `lower()`, so the
//! column and the value fold alike on each backend.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text, Timestamp};

use super::{Conn, batch_size, lower, per_backend};
use crate::db::MultiBackend;
use crate::db::schema::{group_member_groups, group_member_users, groups, user_emails, users};
use crate::domain::directory::{GroupType, UserType};

// ---------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------

/// What a list can be filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The object's id.
    Id,
    /// The client's id for it.
    ExternalId,
    /// When it last changed.
    LastModified,
    /// A user's UPN (SCIM `userName`).
    UserName,
    /// The display name.
    DisplayName,
    /// Whether a user is enabled (SCIM `active`).
    Active,
    /// One of a user's email addresses.
    EmailValue,
    /// The kind of one of a user's email addresses.
    EmailType,
    /// The id of one of a group's direct members.
    MemberValue,
}

/// The multi-valued attributes a condition can look into, element by element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multi {
    /// A user's email addresses.
    Emails,
    /// A group's direct members (users and groups).
    Members,
}

impl Field {
    /// The multi-valued attribute this field is an element's part of.
    fn multi(self) -> Option<Multi> {
        match self {
            Self::EmailValue | Self::EmailType => Some(Multi::Emails),
            Self::MemberValue => Some(Multi::Members),
            _ => None,
        }
    }

    fn kind(self) -> Kind {
        match self {
            Self::Active => Kind::Bool,
            Self::LastModified => Kind::Time,
            _ => Kind::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Time,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains.
    Co,
    /// Starts with.
    Sw,
    /// Ends with.
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

/// A value compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// No value: `eq` holds when the field has none, `ne` when it has one.
    Null,
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
    /// An instant (UTC).
    Time(NaiveDateTime),
}

/// A condition on the objects of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// `field op value`; `fold` compares case-insensitively.
    Compare {
        /// The field.
        field: Field,
        /// The operator.
        op: Op,
        /// The value.
        value: Val,
        /// Whether both sides are folded to lower case first.
        fold: bool,
    },
    /// The field has a (non-empty) value.
    Present(Field),
    /// All hold.
    And(Vec<Cond>),
    /// One holds.
    Or(Vec<Cond>),
    /// Does not hold.
    Not(Box<Cond>),
    /// One element of a multi-valued attribute satisfies the inner condition (whose
    /// fields are that attribute's parts).
    Element(Multi, Box<Cond>),
}

/// Which table a condition is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Users,
    Groups,
}

/// Where field names point while translating: the object's own row, or one element of a
/// multi-valued attribute (`e.value` of an email; `m.user_id` of a member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Row(Table),
    Email,
    MemberUser,
    MemberGroup,
}

/// One piece of a condition's SQL: text, or a bound value.
#[derive(Debug, Clone)]
enum Piece {
    Sql(&'static str),
    Text(String),
    Bool(bool),
    Time(NaiveDateTime),
}

/// A condition as SQL with bound values, usable in `filter()` on both backends.
#[derive(Debug, Clone)]
pub struct Where {
    pieces: Vec<Piece>,
}

impl Expression for Where {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Where {}

impl<QS> SelectableExpression<QS> for Where {}

impl<GB> ValidGrouping<GB> for Where {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Where {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for Where {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        for piece in &self.pieces {
            match piece {
                Piece::Sql(text) => out.push_sql(text),
                Piece::Text(value) => out.push_bind_param::<Text, String>(value)?,
                Piece::Bool(value) => out.push_bind_param::<Bool, bool>(value)?,
                Piece::Time(value) => out.push_bind_param::<Timestamp, NaiveDateTime>(value)?,
            }
        }
        Ok(())
    }
}

struct Translator {
    sqlite: bool,
    pieces: Vec<Piece>,
}

impl Translator {
    fn sql(&mut self, text: &'static str) {
        self.pieces.push(Piece::Sql(text));
    }

    fn cond(&mut self, cond: &Cond, scope: Scope) {
        match cond {
            Cond::Compare { field, op, value: Val::Null, .. } => match op {
                Op::Eq => self.cond(&Cond::Not(Box::new(Cond::Present(*field))), scope),
                Op::Ne => self.cond(&Cond::Present(*field), scope),
                _ => self.sql("FALSE"),
            },
            Cond::Compare { field, .. } | Cond::Present(field) => match (scope, field.multi()) {
                // A part of a multi-valued attribute named outside a value path: some
                // element must satisfy the comparison.
                (Scope::Row(_), Some(multi)) => self.element(multi, cond, scope),
                _ => match self.column(*field, scope) {
                    Some(column) => self.leaf(cond, column),
                    None => self.sql("FALSE"),
                },
            },
            Cond::And(all) => self.join(all, " AND ", "TRUE", scope),
            Cond::Or(any) => self.join(any, " OR ", "FALSE", scope),
            Cond::Not(inner) => {
                self.sql("NOT (");
                self.cond(inner, scope);
                self.sql(")");
            }
            Cond::Element(multi, inner) => match scope {
                Scope::Row(_) => self.element(*multi, inner, scope),
                // A value path inside a value path does not parse; never true.
                _ => self.sql("FALSE"),
            },
        }
    }

    fn join(&mut self, parts: &[Cond], with: &'static str, empty: &'static str, scope: Scope) {
        if parts.is_empty() {
            self.sql(empty);
            return;
        }
        self.sql("(");
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.sql(with);
            }
            self.cond(part, scope);
        }
        self.sql(")");
    }

    fn element(&mut self, multi: Multi, inner: &Cond, scope: Scope) {
        match (multi, scope) {
            (Multi::Emails, Scope::Row(Table::Users)) => {
                self.sql("EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = users.id AND ");
                self.cond(inner, Scope::Email);
                self.sql(")");
            }
            (Multi::Members, Scope::Row(Table::Groups)) => {
                self.sql("(EXISTS (SELECT 1 FROM group_member_users m WHERE m.group_id = groups.id AND ");
                self.cond(inner, Scope::MemberUser);
                self.sql(") OR EXISTS (SELECT 1 FROM group_member_groups m WHERE m.group_id = groups.id AND ");
                self.cond(inner, Scope::MemberGroup);
                self.sql("))");
            }
            _ => self.sql("FALSE"),
        }
    }

    fn column(&self, field: Field, scope: Scope) -> Option<&'static str> {
        Some(match (scope, field) {
            (Scope::Row(Table::Users), Field::Id) => "users.id",
            (Scope::Row(Table::Users), Field::ExternalId) => "users.external_id",
            (Scope::Row(Table::Users), Field::LastModified) => "users.updated_at",
            (Scope::Row(Table::Users), Field::UserName) => "users.upn",
            (Scope::Row(Table::Users), Field::DisplayName) => "users.display_name",
            (Scope::Row(Table::Users), Field::Active) => "users.enabled",
            (Scope::Row(Table::Groups), Field::Id) => "groups.id",
            (Scope::Row(Table::Groups), Field::ExternalId) => "groups.external_id",
            (Scope::Row(Table::Groups), Field::LastModified) => "groups.updated_at",
            (Scope::Row(Table::Groups), Field::DisplayName) => "groups.display_name",
            (Scope::Email, Field::EmailValue) => "e.value",
            (Scope::Email, Field::EmailType) => "e.kind",
            (Scope::MemberUser, Field::MemberValue) => "m.user_id",
            (Scope::MemberGroup, Field::MemberValue) => "m.member_group_id",
            _ => return None,
        })
    }

    fn leaf(&mut self, cond: &Cond, column: &'static str) {
        match cond {
            Cond::Present(field) => {
                self.sql("(");
                self.sql(column);
                self.sql(" IS NOT NULL");
                if field.kind() == Kind::Text {
                    self.sql(" AND ");
                    self.sql(column);
                    self.sql(" <> ''");
                }
                self.sql(")");
            }
            Cond::Compare { field, op, value, fold } => {
                let fold = *fold && field.kind() == Kind::Text;
                let piece = match (field.kind(), value) {
                    (Kind::Text, Val::Text(text)) => Piece::Text(text.clone()),
                    (Kind::Bool, Val::Bool(b)) if matches!(op, Op::Eq | Op::Ne) => Piece::Bool(*b),
                    (Kind::Time, Val::Time(t)) if !matches!(op, Op::Co | Op::Sw | Op::Ew) => Piece::Time(*t),
                    // A value of another type never matches.
                    _ => return self.sql("FALSE"),
                };
                self.sql("COALESCE((");
                self.compare(column, *op, piece, fold);
                self.sql("), FALSE)");
            }
            _ => self.sql("FALSE"),
        }
    }

    fn side(&mut self, column: Option<&'static str>, piece: &Piece, fold: bool) {
        if fold {
            self.sql("lower(");
        }
        match column {
            Some(column) => self.sql(column),
            None => self.pieces.push(piece.clone()),
        }
        if fold {
            self.sql(")");
        }
    }

    fn compare(&mut self, column: &'static str, op: Op, value: Piece, fold: bool) {
        let infix = match op {
            Op::Eq => Some(" = "),
            Op::Ne => Some(" <> "),
            Op::Gt => Some(" > "),
            Op::Ge => Some(" >= "),
            Op::Lt => Some(" < "),
            Op::Le => Some(" <= "),
            Op::Co | Op::Sw | Op::Ew => None,
        };
        if let Some(infix) = infix {
            self.side(Some(column), &value, fold);
            self.sql(infix);
            self.side(None, &value, fold);
            return;
        }
        match op {
            // Position functions instead of LIKE: no wildcard to escape, and SQLite's LIKE
            // ignores case even where the attribute is case-exact.
            Op::Co => {
                self.sql(if self.sqlite { "instr(" } else { "strpos(" });
                self.side(Some(column), &value, fold);
                self.sql(", ");
                self.side(None, &value, fold);
                self.sql(") > 0");
            }
            Op::Sw => {
                self.sql("substr(");
                self.side(Some(column), &value, fold);
                self.sql(", 1, length(");
                self.side(None, &value, fold);
                self.sql(")) = ");
                self.side(None, &value, fold);
            }
            _ => {
                self.sql("length(");
                self.sql(column);
                self.sql(") >= length(");
                self.side(None, &value, fold);
                self.sql(") AND substr(");
                self.side(Some(column), &value, fold);
                self.sql(", length(");
                self.sql(column);
                self.sql(") - length(");
                self.side(None, &value, fold);
                self.sql(") + 1) = ");
                self.side(None, &value, fold);
            }
        }
    }
}

fn translate(conn: &Conn, cond: &Cond, table: Table) -> Where {
    let mut t = Translator { sqlite: conn.is_sqlite(), pieces: Vec::new() };
    t.cond(cond, Scope::Row(table));
    Where { pieces: t.pieces }
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

/// A user of a SCIM source as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct ScimUserRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub user_type: UserType,
    pub enabled: bool,
    pub manager_id: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub created_at: NaiveDateTime,
    pub external_id: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub formatted_name: Option<String>,
    pub employee_number: Option<String>,
}

/// What a SCIM client sets on a user: every column it owns (absent values are NULL).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_null = true)]
pub struct UserFields {
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub user_type: UserType,
    pub enabled: bool,
    pub manager_id: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub formatted_name: Option<String>,
    pub employee_number: Option<String>,
}

/// One email address of a user.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_emails)]
pub struct EmailRow {
    pub user_id: String,
    pub position: i32,
    pub value: String,
    pub kind: Option<String>,
    pub is_primary: bool,
}

/// A user with their email addresses, in order.
pub type UserWithEmails = (ScimUserRow, Vec<EmailRow>);

/// Whether another user than `except` (any source: the UPN is the sign-in name of the whole
/// directory) has this UPN, ignoring case.
pub fn upn_taken(conn: &mut Conn, upn: &str, except: Option<&str>) -> QueryResult<bool> {
    let mut query =
        users::table.filter(lower(users::upn).eq(lower(upn))).select(users::id).into_boxed::<MultiBackend>();
    if let Some(except) = except {
        query = query.filter(users::id.ne(except));
    }
    Ok(query.first::<String>(conn).optional()?.is_some())
}

/// Whether `id` is a user of the source.
pub fn user_exists(conn: &mut Conn, source: &str, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.filter(users::id.eq(id)).filter(users::source_id.eq(source))))
        .get_result(conn)
}

/// Creates a user of the source with its email addresses.
pub fn insert_user(
    conn: &mut Conn,
    source: &str,
    id: &str,
    fields: &UserFields,
    emails: &[EmailRow],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            fields,
            users::created_at.eq(now),
            users::updated_at.eq(Some(now)),
            users::source_id.eq(source),
        ))
        .execute(conn)?;
    insert_emails(conn, emails)?;
    Ok(())
}

/// Writes a user of the source and replaces its email addresses. False when the source has
/// no such user.
pub fn update_user(
    conn: &mut Conn,
    source: &str,
    id: &str,
    fields: &UserFields,
    emails: &[EmailRow],
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(users::table.filter(users::id.eq(id)).filter(users::source_id.eq(source)))
        .set((fields, users::updated_at.eq(Some(at))))
        .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(id))).execute(conn)?;
    insert_emails(conn, emails)?;
    Ok(true)
}

/// Inserts email rows (a user has at most a few dozen: one statement).
fn insert_emails(conn: &mut Conn, emails: &[EmailRow]) -> QueryResult<()> {
    if !emails.is_empty() {
        per_backend!(conn, c => diesel::insert_into(user_emails::table).values(emails).execute(c))?;
    }
    Ok(())
}

/// A user of the source with their email addresses.
pub fn get_user(conn: &mut Conn, source: &str, id: &str) -> QueryResult<Option<UserWithEmails>> {
    let Some(row) = users::table
        .filter(users::id.eq(id))
        .filter(users::source_id.eq(source))
        .select(ScimUserRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let emails = user_emails::table
        .filter(user_emails::user_id.eq(id))
        .order(user_emails::position)
        .select(EmailRow::as_select())
        .load(conn)?;
    Ok(Some((row, emails)))
}

/// A page of the source's users matching `cond`, in the order of their ids, and how many
/// match in all.
pub fn list_users(
    conn: &mut Conn,
    source: &str,
    cond: Option<&Cond>,
    offset: u64,
    limit: u32,
) -> QueryResult<(u64, Vec<UserWithEmails>)> {
    let filter = cond.map(|c| translate(conn, c, Table::Users));
    let mut count = users::table.filter(users::source_id.eq(source)).count().into_boxed::<MultiBackend>();
    if let Some(filter) = filter.clone() {
        count = count.filter(filter);
    }
    let total: i64 = count.get_result(conn)?;
    let total = u64::try_from(total).unwrap_or(0);
    if limit == 0 || offset >= total {
        return Ok((total, Vec::new()));
    }
    let mut page = users::table
        .filter(users::source_id.eq(source))
        .select(ScimUserRow::as_select())
        .order(users::id)
        .offset(i64::try_from(offset).unwrap_or(i64::MAX))
        .limit(i64::from(limit))
        .into_boxed::<MultiBackend>();
    if let Some(filter) = filter {
        page = page.filter(filter);
    }
    let rows: Vec<ScimUserRow> = page.load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut emails: HashMap<String, Vec<EmailRow>> = HashMap::new();
    for email in user_emails::table
        .filter(user_emails::user_id.eq_any(&ids))
        .order((user_emails::user_id, user_emails::position))
        .select(EmailRow::as_select())
        .load::<EmailRow>(conn)?
    {
        emails.entry(email.user_id.clone()).or_default().push(email);
    }
    let out = rows
        .into_iter()
        .map(|row| {
            let list = emails.remove(&row.id).unwrap_or_default();
            (row, list)
        })
        .collect();
    Ok((total, out))
}

/// Deletes a user of the source. Their memberships, ownerships, assignments and sessions
/// go by the foreign keys' cascades; review items keep their copy of the person (an
/// instance is a snapshot), and sign-ins stay (a log outlives its users). The groups they
/// were a member of and the users they managed change with them. False when the source
/// has no such user.
pub fn delete_user(conn: &mut Conn, source: &str, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let parents =
        group_member_users::table.filter(group_member_users::user_id.eq(id)).select(group_member_users::group_id);
    diesel::update(groups::table.filter(groups::id.eq_any(parents)).filter(groups::source_id.eq(source)))
        .set(groups::updated_at.eq(Some(at)))
        .execute(conn)?;
    diesel::update(users::table.filter(users::manager_id.eq(id)).filter(users::source_id.eq(source)))
        .set(users::updated_at.eq(Some(at)))
        .execute(conn)?;
    let n = diesel::delete(users::table.filter(users::id.eq(id)).filter(users::source_id.eq(source))).execute(conn)?;
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

/// A group of a SCIM source as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct ScimGroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberOf {
    /// A user.
    User,
    /// A nested group.
    Group,
}

/// A direct member of a group, for rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The member's id.
    pub id: String,
    /// User or group.
    pub kind: MemberOf,
    /// Its display name.
    pub display_name: String,
}

/// Creates a group of the source (a security group, assigned membership).
pub fn insert_group(
    conn: &mut Conn,
    source: &str,
    id: &str,
    display_name: &str,
    external_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(groups::table)
        .values((
            groups::id.eq(id),
            groups::display_name.eq(display_name),
            groups::description.eq(None::<String>),
            groups::group_type.eq(GroupType::Security),
            groups::membership_rule.eq(None::<String>),
            groups::on_premises_sync.eq(false),
            groups::mail_enabled.eq(false),
            groups::created_at.eq(now),
            groups::source_id.eq(source),
            groups::external_id.eq(external_id),
            groups::updated_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets a group's name and external id and notes the change. False when the source has
/// no such group.
pub fn update_group(
    conn: &mut Conn,
    source: &str,
    id: &str,
    display_name: &str,
    external_id: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(groups::table.filter(groups::id.eq(id)).filter(groups::source_id.eq(source)))
        .set((
            groups::display_name.eq(display_name),
            groups::external_id.eq(external_id),
            groups::updated_at.eq(Some(at)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// A group of the source.
pub fn get_group(conn: &mut Conn, source: &str, id: &str) -> QueryResult<Option<ScimGroupRow>> {
    groups::table
        .filter(groups::id.eq(id))
        .filter(groups::source_id.eq(source))
        .select(ScimGroupRow::as_select())
        .first(conn)
        .optional()
}

/// A page of the source's groups matching `cond`, in the order of their ids, and how
/// many match in all.
pub fn list_groups(
    conn: &mut Conn,
    source: &str,
    cond: Option<&Cond>,
    offset: u64,
    limit: u32,
) -> QueryResult<(u64, Vec<ScimGroupRow>)> {
    let filter = cond.map(|c| translate(conn, c, Table::Groups));
    let mut count = groups::table.filter(groups::source_id.eq(source)).count().into_boxed::<MultiBackend>();
    if let Some(filter) = filter.clone() {
        count = count.filter(filter);
    }
    let total: i64 = count.get_result(conn)?;
    let total = u64::try_from(total).unwrap_or(0);
    if limit == 0 || offset >= total {
        return Ok((total, Vec::new()));
    }
    let mut page = groups::table
        .filter(groups::source_id.eq(source))
        .select(ScimGroupRow::as_select())
        .order(groups::id)
        .offset(i64::try_from(offset).unwrap_or(i64::MAX))
        .limit(i64::from(limit))
        .into_boxed::<MultiBackend>();
    if let Some(filter) = filter {
        page = page.filter(filter);
    }
    Ok((total, page.load(conn)?))
}

/// A group's direct members, users first, each in the order of their ids.
pub fn members(conn: &mut Conn, group: &str) -> QueryResult<Vec<MemberRow>> {
    let user_rows: Vec<(String, String)> = group_member_users::table
        .inner_join(users::table)
        .filter(group_member_users::group_id.eq(group))
        .order(users::id)
        .select((users::id, users::display_name))
        .load(conn)?;
    let group_rows: Vec<(String, String)> = group_member_groups::table
        .inner_join(groups::table.on(groups::id.eq(group_member_groups::member_group_id)))
        .filter(group_member_groups::group_id.eq(group))
        .order(groups::id)
        .select((groups::id, groups::display_name))
        .load(conn)?;
    Ok(user_rows
        .into_iter()
        .map(|(id, display_name)| MemberRow { id, kind: MemberOf::User, display_name })
        .chain(group_rows.into_iter().map(|(id, display_name)| MemberRow { id, kind: MemberOf::Group, display_name }))
        .collect())
}

/// Which of `ids` are users and which are groups of the source (unknown ids are in
/// neither), looked up in batches that fit the backends' limits of bound values.
pub fn resolve_members(
    conn: &mut Conn,
    source: &str,
    ids: &[&str],
) -> QueryResult<(BTreeSet<String>, BTreeSet<String>)> {
    let mut found_users = BTreeSet::new();
    let mut found_groups = BTreeSet::new();
    let size = batch_size(conn, 1).saturating_sub(1).max(1);
    for chunk in ids.chunks(size) {
        let rows: Vec<String> = users::table
            .filter(users::source_id.eq(source))
            .filter(users::id.eq_any(chunk))
            .select(users::id)
            .load(conn)?;
        found_users.extend(rows);
        let rows: Vec<String> = groups::table
            .filter(groups::source_id.eq(source))
            .filter(groups::id.eq_any(chunk))
            .select(groups::id)
            .load(conn)?;
        found_groups.extend(rows);
    }
    Ok((found_users, found_groups))
}

/// Whether `target` is reached by walking nested groups down from `from` (the groups
/// themselves included): adding any of `from` to `target` would close a cycle.
pub fn reaches(conn: &mut Conn, from: &[String], target: &str) -> QueryResult<bool> {
    let mut seen: HashSet<String> = from.iter().cloned().collect();
    if seen.contains(target) {
        return Ok(true);
    }
    let mut frontier: Vec<String> = from.to_vec();
    let size = batch_size(conn, 1).saturating_sub(1).max(1);
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for chunk in frontier.chunks(size) {
            let children: Vec<String> = group_member_groups::table
                .filter(group_member_groups::group_id.eq_any(chunk))
                .select(group_member_groups::member_group_id)
                .load(conn)?;
            for child in children {
                if child == target {
                    return Ok(true);
                }
                if seen.insert(child.clone()) {
                    next.push(child);
                }
            }
        }
        frontier = next;
    }
    Ok(false)
}

/// Adds direct members to a group (those already there stay), in multi-row inserts that
/// fit the backends' limits of bound values.
pub fn add_members(
    conn: &mut Conn,
    source: &str,
    group: &str,
    user_ids: &[&str],
    group_ids: &[&str],
) -> QueryResult<()> {
    let size = batch_size(conn, 3);
    for chunk in user_ids.chunks(size) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|u| {
                (
                    group_member_users::group_id.eq(group),
                    group_member_users::user_id.eq(*u),
                    group_member_users::source_id.eq(source),
                )
            })
            .collect();
        per_backend!(conn, c => diesel::insert_into(group_member_users::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    for chunk in group_ids.chunks(size) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|g| {
                (
                    group_member_groups::group_id.eq(group),
                    group_member_groups::member_group_id.eq(*g),
                    group_member_groups::source_id.eq(source),
                )
            })
            .collect();
        per_backend!(conn, c => diesel::insert_into(group_member_groups::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Removes direct members (users or groups) from a group; ids that are not members are
/// skipped.
pub fn remove_members(conn: &mut Conn, source: &str, group: &str, ids: &[&str]) -> QueryResult<()> {
    let size = batch_size(conn, 1).saturating_sub(2).max(1);
    for chunk in ids.chunks(size) {
        diesel::delete(
            group_member_users::table
                .filter(group_member_users::group_id.eq(group))
                .filter(group_member_users::source_id.eq(source))
                .filter(group_member_users::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(
            group_member_groups::table
                .filter(group_member_groups::group_id.eq(group))
                .filter(group_member_groups::source_id.eq(source))
                .filter(group_member_groups::member_group_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Removes every direct member of a group.
pub fn clear_members(conn: &mut Conn, source: &str, group: &str) -> QueryResult<()> {
    diesel::delete(
        group_member_users::table
            .filter(group_member_users::group_id.eq(group))
            .filter(group_member_users::source_id.eq(source)),
    )
    .execute(conn)?;
    diesel::delete(
        group_member_groups::table
            .filter(group_member_groups::group_id.eq(group))
            .filter(group_member_groups::source_id.eq(source)),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes a group of the source. Its memberships (both ways), owners and assignments go
/// by the foreign keys' cascades; reviews of it keep their snapshot. The groups it was
/// nested in change with it. False when the source has no such group.
pub fn delete_group(conn: &mut Conn, source: &str, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let parents = group_member_groups::table
        .filter(group_member_groups::member_group_id.eq(id))
        .select(group_member_groups::group_id);
    diesel::update(groups::table.filter(groups::id.eq_any(parents)).filter(groups::source_id.eq(source)))
        .set(groups::updated_at.eq(Some(at)))
        .execute(conn)?;
    let n =
        diesel::delete(groups::table.filter(groups::id.eq(id)).filter(groups::source_id.eq(source))).execute(conn)?;
    Ok(n == 1)
}

/// The lock that orders writers of one SCIM object: a write to its row, which on
/// PostgreSQL locks the row until commit (SQLite's write transactions hold the one write
/// lock already). Returns the stored `updated_at`, or `None` when the source has no such
/// object.
pub fn lock_user(conn: &mut Conn, source: &str, id: &str) -> QueryResult<Option<Option<NaiveDateTime>>> {
    diesel::update(users::table.filter(users::id.eq(id)).filter(users::source_id.eq(source)))
        .set(users::updated_at.eq(users::updated_at))
        .returning(users::updated_at)
        .get_result(conn)
        .optional()
}

/// As [`lock_user`], for a group.
pub fn lock_group(conn: &mut Conn, source: &str, id: &str) -> QueryResult<Option<Option<NaiveDateTime>>> {
    diesel::update(groups::table.filter(groups::id.eq(id)).filter(groups::source_id.eq(source)))
        .set(groups::updated_at.eq(groups::updated_at))
        .returning(groups::updated_at)
        .get_result(conn)
        .optional()
}

/// Notes that a group changed (its members did).
pub fn touch_group(conn: &mut Conn, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(groups::table.find(id)).set(groups::updated_at.eq(Some(at))).execute(conn)?;
    Ok(())
}
