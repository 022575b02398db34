//! What a CSV import reads and writes: the objects of one source looked up by their keys
//! in the source, written in batches, and — for a full import — the ones the files no
//! longer hold removed. Every write names the source; nothing here touches another
//! source's rows.
//!
//! The keys an import has seen are kept in a temporary table, `import_seen`, that lives
//! for the import's transaction: it finds a key repeated anywhere in a file of a million
//! lines without holding the keys in memory, and a full import removes what is not in it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::dsl::{count_star, exists, not};
use diesel::prelude::*;

use super::{Conn, batch_size, bulk_insert, lower, per_backend};
use crate::db::schema::{
    app_group_assignments, app_user_assignments, applications, group_member_groups, group_member_users, group_owners,
    groups, role_assignments, role_definitions, users,
};
use crate::domain::directory::{AssignmentType, GroupType, UserType};

diesel::table! {
    /// The keys an import has met, per kind of row (`tag`): the line that gave each, the
    /// ids of the row it stands for (`a`, `b`), a reference still to resolve (a user's
    /// manager) and whether the row was already counted as added or changed.
    import_seen (tag, key) {
        tag -> Text,
        key -> Text,
        line -> BigInt,
        a -> Text,
        b -> Text,
        reference -> Nullable<Text>,
        counted -> Bool,
    }
}

// The seen keys are compared with each directory table (the schema pairs those among themselves).
diesel::allow_tables_to_appear_in_same_query!(import_seen, users);
diesel::allow_tables_to_appear_in_same_query!(import_seen, groups);
diesel::allow_tables_to_appear_in_same_query!(import_seen, applications);
diesel::allow_tables_to_appear_in_same_query!(import_seen, group_member_users);
diesel::allow_tables_to_appear_in_same_query!(import_seen, group_member_groups);
diesel::allow_tables_to_appear_in_same_query!(import_seen, group_owners);
diesel::allow_tables_to_appear_in_same_query!(import_seen, app_user_assignments);
diesel::allow_tables_to_appear_in_same_query!(import_seen, app_group_assignments);
diesel::allow_tables_to_appear_in_same_query!(import_seen, role_assignments);
diesel::allow_tables_to_appear_in_same_query!(import_seen, role_definitions);

/// The kinds of rows an import keeps keys of.
pub mod tags {
    pub const USERS: &str = "users";
    pub const GROUPS: &str = "groups";
    pub const APPS: &str = "apps";
    pub const MEMBER_USERS: &str = "member_users";
    pub const MEMBER_GROUPS: &str = "member_groups";
    pub const OWNERS: &str = "owners";
    pub const APP_USERS: &str = "app_users";
    pub const APP_GROUPS: &str = "app_groups";
    pub const ROLE_ASSIGNMENTS: &str = "role_assignments";
}

/// A key seen, as written to `import_seen`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = import_seen)]
pub struct Seen {
    pub tag: &'static str,
    pub key: String,
    pub line: i64,
    pub a: String,
    pub b: String,
    pub reference: Option<String>,
    pub counted: bool,
}

/// Takes the import lock and creates the table of seen keys, for the rest of the
/// transaction. On PostgreSQL the lock is an advisory lock, so two imports (by two admins
/// or two processes) run one after the other instead of racing for the same keys; SQLite's
/// write transaction is already the only writer.
pub fn begin(conn: &mut Conn) -> QueryResult<()> {
    if conn.is_sqlite() {
        conn.batch_execute(
            "DROP TABLE IF EXISTS temp.import_seen;
             CREATE TEMP TABLE import_seen (tag TEXT NOT NULL, key TEXT NOT NULL, line BIGINT NOT NULL,
                 a TEXT NOT NULL, b TEXT NOT NULL, reference TEXT, counted BOOLEAN NOT NULL, PRIMARY KEY (tag, key));
             CREATE INDEX temp.import_seen_ids ON import_seen (tag, a, b);",
        )
    } else {
        // "import" spelled in hex digits, the lock's fixed key.
        conn.batch_execute(
            "SELECT pg_advisory_xact_lock(1768975220);
             CREATE TEMP TABLE import_seen (tag TEXT NOT NULL, key TEXT NOT NULL, line BIGINT NOT NULL,
                 a TEXT NOT NULL, b TEXT NOT NULL, reference TEXT, counted BOOLEAN NOT NULL, PRIMARY KEY (tag, key))
                 ON COMMIT DROP;
             CREATE INDEX ON import_seen (tag, a, b);",
        )
    }
}

/// Before an import's transaction: on SQLite the seen keys go to a temporary file rather
/// than memory (the connections keep temporary tables in memory), so that an import of a
/// million lines holds no more memory than a small one. [`after`] puts it back.
pub fn before(conn: &mut Conn) -> QueryResult<()> {
    if conn.is_sqlite() { conn.batch_execute("PRAGMA temp_store = FILE") } else { Ok(()) }
}

/// After an import's transaction, whatever its outcome: the connection's setting again.
pub fn after(conn: &mut Conn) -> QueryResult<()> {
    if conn.is_sqlite() { conn.batch_execute("PRAGMA temp_store = MEMORY") } else { Ok(()) }
}

/// Drops the table of seen keys (PostgreSQL drops it at commit by itself).
pub fn end(conn: &mut Conn) -> QueryResult<()> {
    if conn.is_sqlite() { conn.batch_execute("DROP TABLE IF EXISTS temp.import_seen") } else { Ok(()) }
}

/// The lines on which these keys were already seen (for tags of one kind of file).
pub fn seen_lines(conn: &mut Conn, tags: &[&str], keys: &[String]) -> QueryResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(batch_size(conn, 1).saturating_sub(tags.len()).max(1)) {
        let rows: Vec<(String, i64)> = import_seen::table
            .filter(import_seen::tag.eq_any(tags))
            .filter(import_seen::key.eq_any(chunk))
            .select((import_seen::key, import_seen::line))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Notes keys as seen.
pub fn mark_seen(conn: &mut Conn, rows: &[Seen]) -> QueryResult<()> {
    for chunk in rows.chunks(batch_size(conn, 7)) {
        per_backend!(conn, c => diesel::insert_into(import_seen::table).values(chunk).execute(c))?;
    }
    if !conn.is_sqlite() {
        analyze_as_it_grows(conn)?;
    }
    Ok(())
}

/// Keeps PostgreSQL's planner statistics of `import_seen` current as it grows: analyzed
/// when it first holds rows and whenever it has doubled since. Autovacuum never analyzes
/// temporary tables, and with statistics of the first kind only (or none) the planner
/// takes a lookup of a thousand keys of another kind for a scan of all that kind's rows,
/// once per chunk: a 100k-user sync took minutes. Doubling keeps the cost of analyzing
/// (a sample of at most 30,000 rows) to a few runs per import.
fn analyze_as_it_grows(conn: &mut Conn) -> QueryResult<()> {
    use diesel::sql_types::Double;
    #[derive(QueryableByName)]
    struct Size {
        #[diesel(sql_type = Double)]
        analyzed_tuples: f64,
        #[diesel(sql_type = Double)]
        analyzed_pages: f64,
        #[diesel(sql_type = Double)]
        pages: f64,
    }
    let size: Size = diesel::sql_query(
        "SELECT reltuples::float8 AS analyzed_tuples, relpages::float8 AS analyzed_pages, \
                (pg_relation_size(oid) / current_setting('block_size')::int)::float8 AS pages \
         FROM pg_class WHERE oid = 'import_seen'::regclass",
    )
    .get_result(conn)?;
    // reltuples is -1 until the first analyze.
    if size.analyzed_tuples < 0.0 || size.pages > 2.0 * size.analyzed_pages.max(1.0) {
        conn.batch_execute("ANALYZE import_seen")
    } else {
        Ok(())
    }
}

/// A row of `import_seen` as read.
type SeenColumns = (String, String, i64, String, String, Option<String>, bool);

/// Seen rows of `tag` that still hold a reference, after the key `after`, at most `limit`.
pub fn with_references(conn: &mut Conn, tag: &str, after: &str, limit: i64) -> QueryResult<Vec<Seen>> {
    let rows: Vec<SeenColumns> = import_seen::table
        .filter(import_seen::tag.eq(tag))
        .filter(import_seen::key.gt(after))
        .filter(import_seen::reference.is_not_null())
        .order(import_seen::key)
        .limit(limit)
        .select((
            import_seen::tag,
            import_seen::key,
            import_seen::line,
            import_seen::a,
            import_seen::b,
            import_seen::reference,
            import_seen::counted,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(_, key, line, a, b, reference, counted)| Seen { tag: "", key, line, a, b, reference, counted })
        .collect())
}

// ---- users ----

/// A user with everything an import compares.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_null = true)]
pub struct ImportedUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub user_type: UserType,
    pub enabled: bool,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub employee_number: Option<String>,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub source_id: String,
}

impl ImportedUser {
    /// Values a row binds.
    pub const COLUMNS: usize = 16;
}

/// Users whose UPN is one of `lower_upns` (compared in lower case), in any source, with
/// their current manager.
pub fn users_by_upn(conn: &mut Conn, lower_upns: &[String]) -> QueryResult<Vec<(ImportedUser, Option<String>)>> {
    let mut out = Vec::with_capacity(lower_upns.len());
    for chunk in lower_upns.chunks(batch_size(conn, 1)) {
        out.extend(
            users::table
                .filter(lower(users::upn).eq_any(chunk))
                .select((ImportedUser::as_select(), users::manager_id))
                .load::<(ImportedUser, Option<String>)>(conn)?,
        );
    }
    Ok(out)
}

/// The ids of the users with these UPNs (lower case): the source's own user when two
/// differ only by case, else any source's.
pub fn user_ids(conn: &mut Conn, source: &str, lower_upns: &[String]) -> QueryResult<HashMap<String, String>> {
    let mut out: HashMap<String, (bool, String)> = HashMap::new();
    for chunk in lower_upns.chunks(batch_size(conn, 1)) {
        let rows: Vec<(String, String, String)> = users::table
            .filter(lower(users::upn).eq_any(chunk))
            .select((users::upn, users::id, users::source_id))
            .load(conn)?;
        for (upn, id, owner) in rows {
            let own = owner == source;
            let entry = out.entry(upn.to_lowercase()).or_insert((own, id.clone()));
            if own && !entry.0 {
                *entry = (own, id);
            }
        }
    }
    Ok(out.into_iter().map(|(k, (_, id))| (k, id)).collect())
}

/// Inserts new users of the source.
pub fn insert_users(conn: &mut Conn, rows: &[ImportedUser], now: NaiveDateTime) -> QueryResult<()> {
    let rows: Vec<_> = rows.iter().map(|u| (u.clone(), users::created_at.eq(now), users::updated_at.eq(now))).collect();
    for chunk in rows.chunks(batch_size(conn, ImportedUser::COLUMNS)) {
        per_backend!(conn, c => diesel::insert_into(users::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Writes a changed user of the source.
pub fn update_user(conn: &mut Conn, row: &ImportedUser, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(&row.id).filter(users::source_id.eq(&row.source_id)))
        .set((row, users::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

/// Moves each user's last sign-in forward to the time given, where it is later than the
/// one stored (or none is).
pub fn raise_last_sign_in(conn: &mut Conn, rows: &[(String, NaiveDateTime)]) -> QueryResult<()> {
    for (id, at) in rows {
        diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::last_sign_in_at.is_null().or(users::last_sign_in_at.lt(*at))),
        )
        .set(users::last_sign_in_at.eq(Some(*at)))
        .execute(conn)?;
    }
    Ok(())
}

/// Sets the manager of a user of the source.
pub fn set_manager(conn: &mut Conn, source: &str, user: &str, manager: Option<&str>) -> QueryResult<()> {
    set_managers(conn, source, manager, &[user.to_owned()])
}

/// Sets the manager of the source's users `users` (one statement for all of them: an
/// import gives a manager's reports theirs together, not one round trip each).
pub fn set_managers(conn: &mut Conn, source: &str, manager: Option<&str>, users: &[String]) -> QueryResult<()> {
    for chunk in users.chunks(batch_size(conn, 1).saturating_sub(2).max(1)) {
        diesel::update(users::table.filter(users::id.eq_any(chunk)).filter(users::source_id.eq(source)))
            .set(users::manager_id.eq(manager))
            .execute(conn)?;
    }
    Ok(())
}

/// The current managers of these users.
pub fn managers(conn: &mut Conn, ids: &[String]) -> QueryResult<HashMap<String, Option<String>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(batch_size(conn, 1)) {
        let rows: Vec<(String, Option<String>)> =
            users::table.filter(users::id.eq_any(chunk)).select((users::id, users::manager_id)).load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

// ---- groups ----

/// A group with everything an import compares.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = groups)]
#[diesel(treat_none_as_null = true)]
pub struct ImportedGroup {
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
    pub source_id: String,
}

/// The source's groups with these ids in the source.
pub fn groups_by_external(conn: &mut Conn, source: &str, ids: &[String]) -> QueryResult<Vec<ImportedGroup>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(batch_size(conn, 1).saturating_sub(1).max(1)) {
        out.extend(
            groups::table
                .filter(groups::source_id.eq(source))
                .filter(groups::external_id.eq_any(chunk))
                .select(ImportedGroup::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Inserts new groups of the source.
pub fn insert_groups(conn: &mut Conn, rows: &[ImportedGroup], now: NaiveDateTime) -> QueryResult<()> {
    let rows: Vec<_> = rows
        .iter()
        .map(|g| {
            (
                g.clone(),
                groups::created_at.eq(now),
                groups::updated_at.eq(now),
                groups::on_premises_sync.eq(false),
                groups::mail_enabled.eq(g.group_type == GroupType::Microsoft365),
            )
        })
        .collect();
    for chunk in rows.chunks(batch_size(conn, 10)) {
        per_backend!(conn, c => diesel::insert_into(groups::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Writes a changed group of the source.
pub fn update_group(conn: &mut Conn, row: &ImportedGroup, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(groups::table.find(&row.id).filter(groups::source_id.eq(&row.source_id)))
        .set((row, groups::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

// ---- applications ----

/// An application with everything an import compares.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = applications)]
#[diesel(treat_none_as_null = true)]
pub struct ImportedApp {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub assignment_required: bool,
    pub homepage: Option<String>,
    pub external_id: Option<String>,
    pub source_id: String,
}

/// Applications with these appIds, in any source (appIds are unique in the directory).
pub fn apps_by_app_id(conn: &mut Conn, app_ids: &[String]) -> QueryResult<Vec<ImportedApp>> {
    let mut out = Vec::with_capacity(app_ids.len());
    for chunk in app_ids.chunks(batch_size(conn, 1)) {
        out.extend(
            applications::table
                .filter(applications::app_id.eq_any(chunk))
                .select(ImportedApp::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Inserts new applications of the source.
pub fn insert_apps(conn: &mut Conn, rows: &[ImportedApp], now: NaiveDateTime) -> QueryResult<()> {
    let rows: Vec<_> = rows.iter().map(|a| (a.clone(), applications::created_at.eq(now))).collect();
    for chunk in rows.chunks(batch_size(conn, 8)) {
        per_backend!(conn, c => diesel::insert_into(applications::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Writes a changed application of the source.
pub fn update_app(conn: &mut Conn, row: &ImportedApp) -> QueryResult<()> {
    diesel::update(applications::table.find(&row.id).filter(applications::source_id.eq(&row.source_id)))
        .set(row)
        .execute(conn)
        .map(drop)
}

// ---- links: memberships, owners, app assignments ----

/// A kind of link between two objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    MemberUser,
    MemberGroup,
    Owner,
    AppUser,
    AppGroup,
}

/// An existing link: the source that owns it and its app role (app assignments only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub source_id: String,
    pub app_role: Option<String>,
}

/// The links of `kind` among these (left, right) pairs. Looked up by the right side alone
/// (the member, owner or assignee), whose index each table has: a chunk of a membership
/// file names a thousand members but maybe every group, and filtering on the groups too
/// let SQLite read every membership of every group, chunk after chunk.
pub fn links(
    conn: &mut Conn,
    kind: Link,
    pairs: &[(String, String)],
) -> QueryResult<HashMap<(String, String), LinkRow>> {
    let rights: Vec<String> = pairs.iter().map(|p| p.1.clone()).collect::<HashSet<_>>().into_iter().collect();
    let wanted: HashSet<&(String, String)> = pairs.iter().collect();
    let rows: Vec<(String, String, String, Option<String>)> = match kind {
        Link::MemberUser => group_member_users::table
            .filter(group_member_users::user_id.eq_any(&rights))
            .select((
                group_member_users::group_id,
                group_member_users::user_id,
                group_member_users::source_id,
                None::<String>.into_sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(),
            ))
            .load(conn)?,
        Link::MemberGroup => group_member_groups::table
            .filter(group_member_groups::member_group_id.eq_any(&rights))
            .select((
                group_member_groups::group_id,
                group_member_groups::member_group_id,
                group_member_groups::source_id,
                None::<String>.into_sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(),
            ))
            .load(conn)?,
        Link::Owner => group_owners::table
            .filter(group_owners::user_id.eq_any(&rights))
            .select((
                group_owners::group_id,
                group_owners::user_id,
                group_owners::source_id,
                None::<String>.into_sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(),
            ))
            .load(conn)?,
        Link::AppUser => app_user_assignments::table
            .filter(app_user_assignments::user_id.eq_any(&rights))
            .select((
                app_user_assignments::app_id,
                app_user_assignments::user_id,
                app_user_assignments::source_id,
                app_user_assignments::app_role.nullable(),
            ))
            .load(conn)?,
        Link::AppGroup => app_group_assignments::table
            .filter(app_group_assignments::group_id.eq_any(&rights))
            .select((
                app_group_assignments::app_id,
                app_group_assignments::group_id,
                app_group_assignments::source_id,
                app_group_assignments::app_role.nullable(),
            ))
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|(l, r, source_id, app_role)| ((l, r), LinkRow { source_id, app_role }))
        .filter(|(pair, _)| wanted.contains(pair))
        .collect())
}

/// Adds links of the source: (left, right, app role) — the role for app assignments only.
pub fn insert_links(
    conn: &mut Conn,
    kind: Link,
    source: &str,
    rows: &[(String, String, String)],
    now: NaiveDateTime,
) -> QueryResult<()> {
    macro_rules! put {
        ($table:ident, $l:ident, $r:ident) => {{
            let values: Vec<_> = rows
                .iter()
                .map(|(l, r, _)| ($table::$l.eq(l), $table::$r.eq(r), $table::source_id.eq(source)))
                .collect();
            for chunk in values.chunks(batch_size(conn, 3)) {
                bulk_insert!(conn, $table::table, chunk)?;
            }
        }};
    }
    macro_rules! put_role {
        ($table:ident, $r:ident) => {{
            let values: Vec<_> = rows
                .iter()
                .map(|(l, r, role)| {
                    (
                        $table::app_id.eq(l),
                        $table::$r.eq(r),
                        $table::app_role.eq(role),
                        $table::created_at.eq(now),
                        $table::source_id.eq(source),
                    )
                })
                .collect();
            for chunk in values.chunks(batch_size(conn, 5)) {
                bulk_insert!(conn, $table::table, chunk)?;
            }
        }};
    }
    match kind {
        Link::MemberUser => put!(group_member_users, group_id, user_id),
        Link::MemberGroup => put!(group_member_groups, group_id, member_group_id),
        Link::Owner => put!(group_owners, group_id, user_id),
        Link::AppUser => put_role!(app_user_assignments, user_id),
        Link::AppGroup => put_role!(app_group_assignments, group_id),
    }
    Ok(())
}

/// Changes the app role of an assignment of the source.
pub fn set_app_role(conn: &mut Conn, kind: Link, source: &str, app: &str, who: &str, role: &str) -> QueryResult<()> {
    match kind {
        Link::AppGroup => diesel::update(
            app_group_assignments::table
                .filter(app_group_assignments::app_id.eq(app))
                .filter(app_group_assignments::group_id.eq(who))
                .filter(app_group_assignments::source_id.eq(source)),
        )
        .set(app_group_assignments::app_role.eq(role))
        .execute(conn)
        .map(drop),
        _ => diesel::update(
            app_user_assignments::table
                .filter(app_user_assignments::app_id.eq(app))
                .filter(app_user_assignments::user_id.eq(who))
                .filter(app_user_assignments::source_id.eq(source)),
        )
        .set(app_user_assignments::app_role.eq(role))
        .execute(conn)
        .map(drop),
    }
}

/// The ids of groups of the source by their ids in the source.
pub fn group_ids(conn: &mut Conn, source: &str, external: &[String]) -> QueryResult<HashMap<String, String>> {
    Ok(groups_by_external(conn, source, external)?.into_iter().filter_map(|g| Some((g.external_id?, g.id))).collect())
}

// ---- role assignments ----

/// Role ids by lower-cased name and by id.
pub fn role_ids(conn: &mut Conn, names: &[String]) -> QueryResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = role_definitions::table
        .filter(lower(role_definitions::display_name).eq_any(names).or(role_definitions::id.eq_any(names)))
        .select((role_definitions::id, role_definitions::display_name))
        .load(conn)?;
    let mut out = HashMap::new();
    for (id, name) in rows {
        out.insert(name.to_lowercase(), id.clone());
        out.insert(id.clone(), id);
    }
    Ok(out)
}

/// A role assignment with everything an import compares.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_assignments)]
#[diesel(treat_none_as_default_value = false)]
pub struct ImportedRoleAssignment {
    pub id: String,
    pub role_id: String,
    pub user_id: String,
    pub scope: String,
    pub scope_name: String,
    pub assignment_type: AssignmentType,
    pub start_at: NaiveDateTime,
    pub end_at: Option<NaiveDateTime>,
    pub source_id: String,
}

/// Role assignments of these users to these roles (the caller picks the ones it wants).
pub fn role_assignments_of(
    conn: &mut Conn,
    roles: &[String],
    users: &[String],
) -> QueryResult<Vec<ImportedRoleAssignment>> {
    role_assignments::table
        .filter(role_assignments::role_id.eq_any(roles))
        .filter(role_assignments::user_id.eq_any(users))
        .select(ImportedRoleAssignment::as_select())
        .load(conn)
}

/// Inserts role assignments of the source.
pub fn insert_role_assignments(conn: &mut Conn, rows: &[ImportedRoleAssignment]) -> QueryResult<()> {
    for chunk in rows.chunks(batch_size(conn, 9)) {
        per_backend!(conn, c => diesel::insert_into(role_assignments::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Writes the times and scope name of a role assignment of the source.
pub fn update_role_assignment(conn: &mut Conn, row: &ImportedRoleAssignment) -> QueryResult<()> {
    diesel::update(role_assignments::table.find(&row.id).filter(role_assignments::source_id.eq(&row.source_id)))
        .set((
            role_assignments::start_at.eq(row.start_at),
            role_assignments::end_at.eq(row.end_at),
            role_assignments::scope_name.eq(&row.scope_name),
        ))
        .execute(conn)
        .map(drop)
}

// ---- a full import's removals ----

/// What a full import removes of one kind: how many, and a few names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub count: i64,
    pub examples: Vec<String>,
}

/// Removes the source's rows of `tag` that the import did not see, and says which.
pub fn remove_unseen(conn: &mut Conn, source: &str, tag: &str, examples: i64) -> QueryResult<Removed> {
    if !conn.is_sqlite() {
        // Statistics of every kind seen so far: taken after the first users only, they
        // would have the planner expect no memberships here and probe the table once per
        // row (minutes for 100k), where an anti-join by hash takes a moment.
        conn.batch_execute("ANALYZE import_seen")?;
    }
    macro_rules! seen_as {
        ($a:expr) => {
            import_seen::table.filter(import_seen::tag.eq(tag)).filter(import_seen::a.eq($a))
        };
        ($a:expr, $b:expr) => {
            import_seen::table
                .filter(import_seen::tag.eq(tag))
                .filter(import_seen::a.eq($a))
                .filter(import_seen::b.eq($b))
        };
    }
    match tag {
        tags::USERS => {
            let gone = || users::table.filter(users::source_id.eq(source)).filter(not(exists(seen_as!(users::id))));
            let count = gone().select(count_star()).first(conn)?;
            let examples = gone().select(users::upn).order(users::upn).limit(examples).load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples })
        }
        tags::GROUPS => {
            let gone = || groups::table.filter(groups::source_id.eq(source)).filter(not(exists(seen_as!(groups::id))));
            let count = gone().select(count_star()).first(conn)?;
            let examples =
                gone().select(groups::display_name).order(groups::display_name).limit(examples).load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples })
        }
        tags::APPS => {
            let gone = || {
                applications::table
                    .filter(applications::source_id.eq(source))
                    .filter(not(exists(seen_as!(applications::id))))
            };
            let count = gone().select(count_star()).first(conn)?;
            let examples = gone()
                .select(applications::display_name)
                .order(applications::display_name)
                .limit(examples)
                .load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples })
        }
        tags::MEMBER_USERS => {
            let gone = || {
                group_member_users::table
                    .filter(group_member_users::source_id.eq(source))
                    .filter(not(exists(seen_as!(group_member_users::group_id, group_member_users::user_id))))
            };
            let count = gone().select(count_star()).first(conn)?;
            let examples: Vec<(String, String)> = gone()
                .inner_join(groups::table)
                .inner_join(users::table)
                .select((groups::display_name, users::upn))
                .order((groups::display_name, users::upn))
                .limit(examples)
                .load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples: examples.into_iter().map(|(g, u)| format!("{u} in {g}")).collect() })
        }
        tags::MEMBER_GROUPS => {
            let filter = || {
                group_member_groups::table
                    .filter(group_member_groups::source_id.eq(source))
                    .filter(not(exists(seen_as!(group_member_groups::group_id, group_member_groups::member_group_id))))
            };
            let count = filter().select(count_star()).first(conn)?;
            let pairs: Vec<(String, String)> = filter()
                .select((group_member_groups::group_id, group_member_groups::member_group_id))
                .limit(examples)
                .load(conn)?;
            let examples = group_pair_names(conn, &pairs, "in")?;
            diesel::delete(filter()).execute(conn)?;
            Ok(Removed { count, examples })
        }
        tags::OWNERS => {
            let gone = || {
                group_owners::table
                    .filter(group_owners::source_id.eq(source))
                    .filter(not(exists(seen_as!(group_owners::group_id, group_owners::user_id))))
            };
            let count = gone().select(count_star()).first(conn)?;
            let examples: Vec<(String, String)> = gone()
                .inner_join(groups::table)
                .inner_join(users::table)
                .select((groups::display_name, users::upn))
                .order((groups::display_name, users::upn))
                .limit(examples)
                .load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples: examples.into_iter().map(|(g, u)| format!("{u} owns {g}")).collect() })
        }
        tags::APP_USERS => {
            let gone = || {
                app_user_assignments::table
                    .filter(app_user_assignments::source_id.eq(source))
                    .filter(not(exists(seen_as!(app_user_assignments::app_id, app_user_assignments::user_id))))
            };
            let count = gone().select(count_star()).first(conn)?;
            let examples: Vec<(String, String)> = gone()
                .inner_join(applications::table)
                .inner_join(users::table)
                .select((applications::display_name, users::upn))
                .order((applications::display_name, users::upn))
                .limit(examples)
                .load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples: examples.into_iter().map(|(a, u)| format!("{u} in {a}")).collect() })
        }
        tags::APP_GROUPS => {
            let gone = || {
                app_group_assignments::table
                    .filter(app_group_assignments::source_id.eq(source))
                    .filter(not(exists(seen_as!(app_group_assignments::app_id, app_group_assignments::group_id))))
            };
            let count = gone().select(count_star()).first(conn)?;
            let examples: Vec<(String, String)> = gone()
                .inner_join(applications::table)
                .inner_join(groups::table)
                .select((applications::display_name, groups::display_name))
                .order((applications::display_name, groups::display_name))
                .limit(examples)
                .load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples: examples.into_iter().map(|(a, g)| format!("{g} in {a}")).collect() })
        }
        tags::ROLE_ASSIGNMENTS => {
            let gone = || {
                role_assignments::table
                    .filter(role_assignments::source_id.eq(source))
                    .filter(not(exists(seen_as!(role_assignments::id))))
            };
            let count = gone().select(count_star()).first(conn)?;
            let examples: Vec<(String, String)> = gone()
                .inner_join(role_definitions::table)
                .inner_join(users::table)
                .select((role_definitions::display_name, users::upn))
                .order((role_definitions::display_name, users::upn))
                .limit(examples)
                .load(conn)?;
            diesel::delete(gone()).execute(conn)?;
            Ok(Removed { count, examples: examples.into_iter().map(|(r, u)| format!("{u} as {r}")).collect() })
        }
        _ => Ok(Removed::default()),
    }
}

/// "member in group" for (group, member group) id pairs.
fn group_pair_names(conn: &mut Conn, pairs: &[(String, String)], word: &str) -> QueryResult<Vec<String>> {
    let ids: Vec<String> = pairs.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    let names: HashMap<String, String> = groups::table
        .filter(groups::id.eq_any(&ids))
        .select((groups::id, groups::display_name))
        .load(conn)?
        .into_iter()
        .collect();
    let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    Ok(pairs.iter().map(|(g, m)| format!("{} {word} {}", name(m), name(g))).collect())
}
