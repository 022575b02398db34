//! Groups, their owners, and their members (users directly, groups by nesting).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, Keyset, bulk_insert, contains_pattern, keyset_page, lower, per_backend};
use crate::db::MultiBackend;
use crate::db::schema::{group_member_groups, group_member_users, group_owners, groups, users};
use crate::domain::directory::GroupType;
use crate::domain::directory::UserType;
use crate::domain::directory::{AccessPath, GroupRef};
use crate::store::users::{UserRef, UserRow, search_filter};

/// A group as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = groups)]
#[diesel(treat_none_as_default_value = false)]
pub struct GroupRow {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
    pub membership_rule: Option<String>,
    pub on_premises_sync: bool,
    pub mail_enabled: bool,
    pub created_at: NaiveDateTime,
}

impl GroupRow {
    /// The group as a reference.
    pub fn to_ref(&self) -> GroupRef {
        GroupRef { id: self.id.clone(), name: self.display_name.clone() }
    }
}

/// A group reached from a root group through nesting.
#[derive(Debug, Clone)]
pub struct NestedGroup {
    /// The group reached.
    pub group: GroupRef,
    /// Its membership rule, when it is dynamic.
    pub rule: Option<String>,
    /// The groups from the root down to this one, both included.
    pub chain: Vec<GroupRef>,
}

/// The sort name of a group, to resolve a page cursor.
pub fn name_of(conn: &mut Conn, id: &str) -> QueryResult<Option<String>> {
    groups::table.find(id).select(groups::display_name).first(conn).optional()
}

/// One page of groups ordered by name, optionally searched by name.
pub fn list(conn: &mut Conn, search: Option<&str>, keyset: &Keyset, limit: usize) -> QueryResult<Vec<GroupRow>> {
    let mut query = groups::table.select(GroupRow::as_select()).into_boxed::<MultiBackend>();
    if let Some(search) = search {
        query = query.filter(lower(groups::display_name).like(contains_pattern(search)).escape('\\'));
    }
    keyset_page!(query, keyset, groups::display_name, groups::id, limit).load(conn)
}

/// How many groups the directory has.
pub fn count(conn: &mut Conn) -> QueryResult<i64> {
    groups::table.count().get_result(conn)
}

/// A group by id.
pub fn get(conn: &mut Conn, id: &str) -> QueryResult<Option<GroupRow>> {
    groups::table.find(id).select(GroupRow::as_select()).first(conn).optional()
}

/// A group's owners, by name, at most `limit`.
pub fn owners(conn: &mut Conn, group: &str, limit: i64) -> QueryResult<Vec<UserRef>> {
    group_owners::table
        .inner_join(users::table)
        .filter(group_owners::group_id.eq(group))
        .order((users::display_name, users::id))
        .limit(limit)
        .select(UserRef::as_select())
        .load(conn)
}

/// Groups owned by a user, by name, at most `limit`.
pub fn owned_by(conn: &mut Conn, user: &str, limit: i64) -> QueryResult<Vec<GroupRow>> {
    group_owners::table
        .inner_join(groups::table)
        .filter(group_owners::user_id.eq(user))
        .order((groups::display_name, groups::id))
        .limit(limit)
        .select(GroupRow::as_select())
        .load(conn)
}

/// Groups that are direct members of `group`, by name, at most `limit`.
pub fn member_groups(conn: &mut Conn, group: &str, limit: i64) -> QueryResult<Vec<GroupRow>> {
    group_member_groups::table
        .inner_join(groups::table.on(groups::id.eq(group_member_groups::member_group_id)))
        .filter(group_member_groups::group_id.eq(group))
        .order((groups::display_name, groups::id))
        .limit(limit)
        .select(GroupRow::as_select())
        .load(conn)
}

/// Groups that `group` is a direct member of, by name, at most `limit`.
pub fn parent_groups(conn: &mut Conn, group: &str, limit: i64) -> QueryResult<Vec<GroupRow>> {
    group_member_groups::table
        .inner_join(groups::table.on(groups::id.eq(group_member_groups::group_id)))
        .filter(group_member_groups::member_group_id.eq(group))
        .order((groups::display_name, groups::id))
        .limit(limit)
        .select(GroupRow::as_select())
        .load(conn)
}

/// How many users are direct members of a group.
pub fn direct_user_count(conn: &mut Conn, group: &str) -> QueryResult<i64> {
    group_member_users::table.filter(group_member_users::group_id.eq(group)).count().get_result(conn)
}

/// `root` and every group nested in it, breadth first, each with the chain that reaches
/// it. Nesting is shallow in practice, so this is one query per level; a cycle (which
/// Entra forbids but an import could bring) is cut where a group is met again.
pub fn closure(conn: &mut Conn, root: &GroupRow) -> QueryResult<Vec<NestedGroup>> {
    Ok(closures(conn, std::slice::from_ref(root))?.pop().unwrap_or_default())
}

/// [`closure`] of each of `roots`, in the order given: one query per level of nesting,
/// however many roots (the groups assigned to an application).
pub fn closures(conn: &mut Conn, roots: &[GroupRow]) -> QueryResult<Vec<Vec<NestedGroup>>> {
    /// One root's walk: the groups reached, those already met, and the current level.
    struct Walk {
        out: Vec<NestedGroup>,
        seen: HashSet<String>,
        level: Vec<usize>,
    }
    let mut walks: Vec<Walk> = roots
        .iter()
        .map(|root| Walk {
            out: vec![NestedGroup {
                group: root.to_ref(),
                rule: root.membership_rule.clone(),
                chain: vec![root.to_ref()],
            }],
            seen: HashSet::from([root.id.clone()]),
            level: vec![0],
        })
        .collect();
    while walks.iter().any(|w| !w.level.is_empty()) {
        let ids: Vec<String> = walks
            .iter()
            .flat_map(|w| w.level.iter().map(|&i| w.out[i].group.id.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let edges: Vec<(String, String, String, Option<String>)> = group_member_groups::table
            .inner_join(groups::table.on(groups::id.eq(group_member_groups::member_group_id)))
            .filter(group_member_groups::group_id.eq_any(ids))
            .order((groups::display_name, groups::id))
            .select((group_member_groups::group_id, groups::id, groups::display_name, groups::membership_rule))
            .load(conn)?;
        for walk in &mut walks {
            let parents: HashMap<&str, usize> =
                walk.level.iter().map(|&i| (walk.out[i].group.id.as_str(), i)).collect();
            let mut found = Vec::new();
            // The edges hold every walk's parents: a walk takes only those of its own level.
            for (parent, id, name, rule) in &edges {
                let Some(&p) = parents.get(parent.as_str()) else { continue };
                if walk.seen.contains(id) {
                    continue;
                }
                walk.seen.insert(id.clone());
                found.push((p, GroupRef { id: id.clone(), name: name.clone() }, rule.clone()));
            }
            let mut next = Vec::with_capacity(found.len());
            for (p, group, rule) in found {
                let mut chain = walk.out[p].chain.clone();
                chain.push(group.clone());
                walk.out.push(NestedGroup { group, rule, chain });
                next.push(walk.out.len() - 1);
            }
            walk.level = next;
        }
    }
    Ok(walks.into_iter().map(|w| w.out).collect())
}

/// One page of the users who are members of any group in `closure`, ordered by name.
pub fn transitive_members(
    conn: &mut Conn,
    closure: &[NestedGroup],
    search: Option<&str>,
    keyset: &Keyset,
    limit: usize,
) -> QueryResult<Vec<UserRow>> {
    let ids: Vec<&str> = closure.iter().map(|g| g.group.id.as_str()).collect();
    let mut query = users::table
        .filter(diesel::dsl::exists(
            group_member_users::table
                .filter(group_member_users::user_id.eq(users::id))
                .filter(group_member_users::group_id.eq_any(ids)),
        ))
        .select(UserRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(search) = search {
        query = query.filter(search_filter(search));
    }
    keyset_page!(query, keyset, users::display_name, users::id, limit).load(conn)
}

/// For each of `user_ids`, every path by which it is a member of the root of `closure`.
/// With `root_is_path`, the root itself is named in the path (an app assigned to a group:
/// "via Sales"); otherwise membership of the root is direct or by its rule.
pub fn membership_paths(
    conn: &mut Conn,
    closure: &[NestedGroup],
    user_ids: &[String],
    root_is_path: bool,
) -> QueryResult<HashMap<String, Vec<AccessPath>>> {
    Ok(membership_paths_in_each(conn, &[closure], user_ids, root_is_path)?.pop().unwrap_or_default())
}

/// [`membership_paths`] for several closures at once (the groups assigned to an app), in
/// the order given: one query however many closures.
pub fn membership_paths_in_each(
    conn: &mut Conn,
    closures: &[&[NestedGroup]],
    user_ids: &[String],
    root_is_path: bool,
) -> QueryResult<Vec<HashMap<String, Vec<AccessPath>>>> {
    let ids: Vec<&str> = closures
        .iter()
        .flat_map(|c| c.iter())
        .map(|g| g.group.id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let rows: Vec<(String, String)> = group_member_users::table
        .filter(group_member_users::user_id.eq_any(user_ids))
        .filter(group_member_users::group_id.eq_any(ids))
        .select((group_member_users::user_id, group_member_users::group_id))
        .load(conn)?;
    Ok(closures
        .iter()
        .map(|closure| {
            let by_id: HashMap<&str, &NestedGroup> = closure.iter().map(|g| (g.group.id.as_str(), g)).collect();
            let mut paths: HashMap<String, Vec<AccessPath>> = HashMap::new();
            for (user, group) in &rows {
                let Some(nested) = by_id.get(group.as_str()) else { continue };
                paths.entry(user.clone()).or_default().push(path_for(nested, root_is_path));
            }
            for list in paths.values_mut() {
                list.sort_by_key(path_rank);
            }
            paths
        })
        .collect())
}

/// The path by which membership of `nested` gives membership of the closure's root.
fn path_for(nested: &NestedGroup, root_is_path: bool) -> AccessPath {
    match (&nested.chain[..], root_is_path) {
        ([_root], false) => match &nested.rule {
            Some(rule) => AccessPath::DynamicRule(rule.clone()),
            None => AccessPath::Direct,
        },
        (chain, false) => AccessPath::ViaGroups(chain[1..].to_vec()),
        (chain, true) => AccessPath::ViaGroups(chain.to_vec()),
    }
}

/// Direct first, then the shortest chains: the path a reviewer can act on leads.
fn path_rank(path: &AccessPath) -> usize {
    match path {
        AccessPath::Direct => 0,
        AccessPath::DynamicRule(_) => 1,
        AccessPath::ViaGroups(chain) => 1 + chain.len(),
    }
}

/// Every user who is a member of the closure's root, with every path (for snapshots; one
/// query however deep the nesting).
pub fn all_member_paths(
    conn: &mut Conn,
    closure: &[NestedGroup],
    root_is_path: bool,
) -> QueryResult<Vec<(UserRow, Vec<AccessPath>)>> {
    let by_id: HashMap<&str, &NestedGroup> = closure.iter().map(|g| (g.group.id.as_str(), g)).collect();
    let ids: Vec<&str> = by_id.keys().copied().collect();
    let rows: Vec<(UserRow, String)> = group_member_users::table
        .inner_join(users::table)
        .filter(group_member_users::group_id.eq_any(ids))
        .order(users::id)
        .select((UserRow::as_select(), group_member_users::group_id))
        .load(conn)?;
    let mut out: Vec<(UserRow, Vec<AccessPath>)> = Vec::new();
    for (user, group) in rows {
        let Some(nested) = by_id.get(group.as_str()) else { continue };
        let path = path_for(nested, root_is_path);
        match out.last_mut() {
            Some((last, paths)) if last.id == user.id => paths.push(path),
            _ => out.push((user, vec![path])),
        }
    }
    for (_, paths) in &mut out {
        paths.sort_by_key(path_rank);
    }
    Ok(out)
}

/// Microsoft 365 groups with at least one guest member.
pub fn m365_with_guests(conn: &mut Conn) -> QueryResult<Vec<GroupRow>> {
    groups::table
        .filter(groups::group_type.eq(GroupType::Microsoft365))
        .filter(diesel::dsl::exists(
            group_member_users::table
                .inner_join(users::table)
                .filter(group_member_users::group_id.eq(groups::id))
                .filter(users::user_type.eq(UserType::Guest)),
        ))
        .order((groups::display_name, groups::id))
        .select(GroupRow::as_select())
        .load(conn)
}

/// The groups a user belongs to, directly or through nesting: each with the chain from
/// the directly-held group outwards (one element when direct). At most `limit` groups.
pub fn memberships_of_user(conn: &mut Conn, user: &str, limit: usize) -> QueryResult<Vec<(GroupRow, Vec<GroupRef>)>> {
    let direct: Vec<GroupRow> = group_member_users::table
        .inner_join(groups::table)
        .filter(group_member_users::user_id.eq(user))
        .order((groups::display_name, groups::id))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select(GroupRow::as_select())
        .load(conn)?;
    let mut seen: HashSet<String> = direct.iter().map(|g| g.id.clone()).collect();
    let mut out: Vec<(GroupRow, Vec<GroupRef>)> = direct
        .into_iter()
        .map(|g| {
            let chain = vec![g.to_ref()];
            (g, chain)
        })
        .collect();
    let mut level: Vec<usize> = (0..out.len()).collect();
    while !level.is_empty() && out.len() < limit {
        let children: HashMap<String, usize> = level.iter().map(|&i| (out[i].0.id.clone(), i)).collect();
        let ids: Vec<&String> = children.keys().collect();
        let edges: Vec<(String, GroupRow)> = group_member_groups::table
            .inner_join(groups::table.on(groups::id.eq(group_member_groups::group_id)))
            .filter(group_member_groups::member_group_id.eq_any(ids))
            .order((groups::display_name, groups::id))
            .select((group_member_groups::member_group_id, GroupRow::as_select()))
            .load(conn)?;
        let mut next = Vec::new();
        for (child, parent) in edges {
            if out.len() >= limit || !seen.insert(parent.id.clone()) {
                continue;
            }
            let Some(&c) = children.get(&child) else {
                continue;
            };
            let mut chain = out[c].1.clone();
            chain.push(parent.to_ref());
            out.push((parent, chain));
            next.push(out.len() - 1);
        }
        level = next;
    }
    Ok(out)
}

/// Inserts groups in one statement (the caller batches).
pub fn insert_batch(conn: &mut Conn, rows: &[GroupRow]) -> QueryResult<usize> {
    per_backend!(conn, c => diesel::insert_into(groups::table).values(rows).execute(c))
}

/// Adds owners: (group, user) pairs.
pub fn insert_owners(conn: &mut Conn, pairs: &[(String, String)]) -> QueryResult<usize> {
    let rows: Vec<_> = pairs.iter().map(|(g, u)| (group_owners::group_id.eq(g), group_owners::user_id.eq(u))).collect();
    per_backend!(conn, c => diesel::insert_into(group_owners::table).values(rows).execute(c))
}

/// Adds direct user members: (group, user) pairs.
pub fn insert_member_users(conn: &mut Conn, pairs: &[(String, String)]) -> QueryResult<usize> {
    let rows: Vec<_> =
        pairs.iter().map(|(g, u)| (group_member_users::group_id.eq(g), group_member_users::user_id.eq(u))).collect();
    bulk_insert!(conn, group_member_users::table, rows)
}

/// Nests groups: (group, member group) pairs.
pub fn insert_member_groups(conn: &mut Conn, pairs: &[(String, String)]) -> QueryResult<usize> {
    let rows: Vec<_> = pairs
        .iter()
        .map(|(g, m)| (group_member_groups::group_id.eq(g), group_member_groups::member_group_id.eq(m)))
        .collect();
    per_backend!(conn, c => diesel::insert_into(group_member_groups::table).values(rows).execute(c))
}

/// A group by display name, ignoring case.
pub fn by_name(conn: &mut Conn, name: &str) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(lower(groups::display_name).eq(name.to_lowercase()))
        .order(groups::id)
        .select(GroupRow::as_select())
        .first(conn)
        .optional()
}
