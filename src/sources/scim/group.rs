//! The Group resource (RFC 7643 §4.2): display name, external id and direct members
//! (users and nested groups).
//!
//! A group may hold hundreds of thousands of members, so a PATCH is not applied to a
//! loaded group: [`plan_group_patch`] turns it into a [`GroupPatchPlan`] — new display
//! name and external id, plus member ids to add and to remove, or a whole new member set —
//! that the store carries out with set operations in one transaction, whatever the size.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::GROUP_SCHEMA;
use super::error::ScimError;
use super::meta::{Meta, location};
use super::patch::{PatchOp, PatchPath, PatchRequest, read_only_check};
use super::schema::{self, Mutability, Resolved, ResourceType, Schema};
use super::value::{canonical, check_schemas, display_text, get_ci, identifier, kind_of, object_id};

/// The most member values one request (POST, PUT or PATCH) may carry.
pub const MAX_MEMBERS_PER_REQUEST: usize = 100_000;

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberKind {
    /// A user.
    User,
    /// A nested group.
    Group,
}

impl MemberKind {
    /// The `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    fn resource_type(self) -> ResourceType {
        match self {
            Self::User => ResourceType::User,
            Self::Group => ResourceType::Group,
        }
    }
}

/// A member as a client names it: an id, and what it is when the client says so (else
/// the store looks the id up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    /// The member's id in attest.
    pub id: String,
    /// `type`, if sent.
    pub kind: Option<MemberKind>,
}

/// A member as the store knows it, for rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The member's id.
    pub id: String,
    /// User or nested group.
    pub kind: MemberKind,
    /// The member's display name, if any.
    pub display: Option<String>,
}

/// A SCIM group's own attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroup {
    /// `displayName`, cleaned; required.
    pub display_name: String,
    /// `externalId`: the client's id for the group.
    pub external_id: Option<String>,
}

/// The body of a POST (create) or PUT (replace) to `/Groups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRequest {
    /// The group's attributes.
    pub group: ScimGroup,
    /// The members, when the body has `members` (Okta's PUT of a whole group); `None` when
    /// it does not, which on a PUT leaves the members as they are.
    pub members: Option<Vec<MemberRef>>,
}

impl GroupRequest {
    /// Parses a POST or PUT body. `id` is the group's own id on a PUT (a group cannot
    /// contain itself). Unknown attributes are ignored, read-only ones too; `displayName`
    /// is required; members are deduplicated, at most [`MAX_MEMBERS_PER_REQUEST`].
    pub fn parse(body: &Value, id: Option<&str>) -> Result<Self, ScimError> {
        let Some(fields) = body.as_object() else {
            return Err(ScimError::invalid_syntax("The body must be a JSON object: a Group resource."));
        };
        check_schemas(body, Schema::Group)?;
        let mut display_name = None;
        let mut external_id = None;
        let mut members = None;
        for (key, value) in fields {
            let Ok(Resolved::Attr(path)) = schema::resolve(ResourceType::Group, key) else { continue };
            if value.is_null() || path.attr.mutability == Mutability::ReadOnly || path.sub.is_some() {
                continue;
            }
            match path.attr.key {
                "displayname" => display_name = display_text("displayName", value)?,
                "externalid" => external_id = identifier("externalId", value)?,
                "members" => {
                    let list = parse_members(value, id)?;
                    let mut plan = MembersPlan::default();
                    plan.replace(list);
                    members = Some(plan.to_add().map(|(id, kind)| MemberRef { id: id.to_owned(), kind }).collect());
                }
                _ => {}
            }
        }
        let display_name = display_name.ok_or_else(|| {
            ScimError::invalid_value("displayName is required: the name of the group, which cannot be blank.")
        })?;
        Ok(Self { group: ScimGroup { display_name, external_id }, members })
    }
}

impl ScimGroup {
    /// The group as a SCIM resource with `meta`. `members` is `None` when the client
    /// excluded them (`excludedAttributes=members`, which Entra always asks for), so the
    /// store need not load them.
    pub fn to_json(&self, id: &str, meta: &Meta<'_>, members: Option<&[GroupMember]>) -> Value {
        let mut out = Map::new();
        out.insert("schemas".into(), json!([GROUP_SCHEMA]));
        out.insert("id".into(), json!(id));
        if let Some(external_id) = &self.external_id {
            out.insert("externalId".into(), json!(external_id));
        }
        out.insert("displayName".into(), json!(self.display_name));
        if let Some(members) = members {
            let list = members
                .iter()
                .map(|m| {
                    let mut member = Map::new();
                    member.insert("value".into(), json!(m.id));
                    member.insert("type".into(), json!(m.kind.as_str()));
                    member.insert("$ref".into(), json!(location(meta.base_url, m.kind.resource_type(), &m.id)));
                    if let Some(display) = &m.display {
                        member.insert("display".into(), json!(display));
                    }
                    Value::Object(member)
                })
                .collect();
            out.insert("members".into(), Value::Array(list));
        }
        out.insert("meta".into(), meta.render(ResourceType::Group, id));
        Value::Object(out)
    }
}

/// How a request changes a group's members, without knowing them: the result is
/// `(current − to_remove) ∪ to_add`, or exactly `to_add` when [`Self::replaces_all`].
/// `to_add` and `to_remove` never share an id. For the store: delete the removed ids (or,
/// replacing all, every member not in `to_add`), then insert `to_add` ignoring those
/// already there — two set statements, however many ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersPlan {
    replace_all: bool,
    add: BTreeMap<String, Option<MemberKind>>,
    remove: BTreeSet<String>,
}

impl MembersPlan {
    /// A plan that makes the members exactly these (a PUT with `members`).
    pub fn replacing(members: Vec<MemberRef>) -> Self {
        let mut plan = Self::default();
        plan.replace(members);
        plan
    }

    /// Whether the members become exactly [`Self::to_add`].
    pub fn replaces_all(&self) -> bool {
        self.replace_all
    }

    /// Ids to add, sorted, with their kind when the client gave it.
    pub fn to_add(&self) -> impl Iterator<Item = (&str, Option<MemberKind>)> {
        self.add.iter().map(|(id, kind)| (id.as_str(), *kind))
    }

    /// Ids to remove, sorted (always empty when replacing all).
    pub fn to_remove(&self) -> impl Iterator<Item = &str> {
        self.remove.iter().map(String::as_str)
    }

    /// Whether the members stay as they are.
    pub fn is_unchanged(&self) -> bool {
        !self.replace_all && self.add.is_empty() && self.remove.is_empty()
    }

    /// The member ids after the plan, given those before: what the store's statements must
    /// leave behind.
    pub fn apply_to<'a>(&self, current: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = if self.replace_all {
            BTreeSet::new()
        } else {
            current.into_iter().filter(|id| !self.remove.contains(*id)).map(str::to_owned).collect()
        };
        out.extend(self.add.keys().cloned());
        out
    }

    fn add(&mut self, member: MemberRef) {
        self.remove.remove(&member.id);
        self.add.insert(member.id, member.kind);
    }

    fn remove(&mut self, id: &str) {
        self.add.remove(id);
        if !self.replace_all {
            self.remove.insert(id.to_owned());
        }
    }

    fn replace(&mut self, members: Vec<MemberRef>) {
        self.replace_all = true;
        self.remove.clear();
        self.add.clear();
        for member in members {
            self.add(member);
        }
    }
}

/// What a group PATCH changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatchPlan {
    /// The new display name, if it changes.
    pub display_name: Option<String>,
    /// The new external id, if it changes (`Some(None)`: removed).
    pub external_id: Option<Option<String>>,
    /// The member changes.
    pub members: MembersPlan,
}

impl GroupPatchPlan {
    /// Whether the PATCH changes nothing.
    pub fn is_unchanged(&self) -> bool {
        self.display_name.is_none() && self.external_id.is_none() && self.members.is_unchanged()
    }
}

/// Turns a PATCH of the group `group_id` into a plan, in the order of its operations:
/// `displayName` and `externalId` replaced or removed; `members` added (a list of
/// `{"value": id}`), replaced as a whole, removed as a whole, removed by
/// `members[value eq "id"]` (or several `value eq` joined by `or`), or removed by a list
/// (Entra's older form). Removing an id that is not a member is not an error: the plan
/// cannot know, and clients retry removals.
pub fn plan_group_patch(group_id: &str, patch: &PatchRequest) -> Result<GroupPatchPlan, ScimError> {
    let mut plan = GroupPatchPlan::default();
    let mut member_values = 0usize;
    for op in patch.operations() {
        let PatchPath::Attr { path, filter } = &op.path else { continue };
        if read_only_check(op, path, group_id)? {
            continue;
        }
        let what = path.to_string();
        let value = match (op.op, &op.value) {
            (PatchOp::Remove, _) | (_, None | Some(Value::Null)) => None,
            (_, Some(value)) => Some(value),
        };
        match (path.attr.key, path.sub, filter) {
            ("displayname", None, None) => {
                let Some(value) = value else {
                    return Err(ScimError::invalid_value(
                        "displayName is required; replace it instead of removing it.",
                    ));
                };
                plan.display_name = Some(display_text(&what, value)?.ok_or_else(|| {
                    ScimError::invalid_value("displayName cannot be blank; send the name of the group.")
                })?);
            }
            ("externalid", None, None) => {
                plan.external_id = Some(match value {
                    Some(value) => identifier(&what, value)?,
                    None => None,
                });
            }
            ("members", None, None) => match (op.op, value, &op.value) {
                (PatchOp::Remove, _, Some(list @ (Value::Array(_) | Value::Object(_)))) => {
                    let list = parse_members(list, None)?;
                    member_values = count(member_values, list.len())?;
                    list.iter().for_each(|m| plan.members.remove(&m.id));
                }
                // Adding null adds nothing; replacing with null (or removing) clears.
                (PatchOp::Add, None, _) => {}
                (_, None, _) => plan.members.replace(Vec::new()),
                (PatchOp::Add, Some(value), _) => {
                    let list = parse_members(value, Some(group_id))?;
                    member_values = count(member_values, list.len())?;
                    list.into_iter().for_each(|m| plan.members.add(m));
                }
                (_, Some(value), _) => {
                    let list = parse_members(value, Some(group_id))?;
                    member_values = count(member_values, list.len())?;
                    plan.members.replace(list);
                }
            },
            ("members", None, Some(filter)) if op.op == PatchOp::Remove => {
                let ids = filter.value_set().ok_or_else(|| {
                    ScimError::invalid_path("attest removes members by id: use the path members[value eq \"id\"].")
                })?;
                member_values = count(member_values, ids.len())?;
                for id in ids {
                    let id = object_id("members.value", &json!(id))?.unwrap_or_default();
                    plan.members.remove(&id);
                }
            }
            ("members", _, _) => {
                return Err(ScimError::invalid_path(format!(
                    "attest cannot {} {what} with a filter or sub-attribute: add members with the path members and a list of {{\"value\": id}}, remove them with members[value eq \"id\"].",
                    op.op.as_str()
                )));
            }
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "attest cannot {} {what}; a group PATCH changes displayName, externalId or members.",
                    op.op.as_str()
                )));
            }
        }
    }
    Ok(plan)
}

fn count(so_far: usize, more: usize) -> Result<usize, ScimError> {
    match so_far.checked_add(more) {
        Some(total) if total <= MAX_MEMBERS_PER_REQUEST => Ok(total),
        _ => Err(ScimError::too_many(format!(
            "A request may add or remove at most {MAX_MEMBERS_PER_REQUEST} members; send the rest in another PATCH."
        ))),
    }
}

/// A list of `{"value": id, "type": "User"|"Group"}` (or one such object); `display` and
/// `$ref` are ignored. `group_id`: the group's own id, which cannot be a member.
fn parse_members(value: &Value, group_id: Option<&str>) -> Result<Vec<MemberRef>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).collect(),
        Value::Object(_) => vec![value],
        other => {
            return Err(ScimError::invalid_value(format!(
                "members must be a list of objects such as {{\"value\": \"id\"}}, not {}.",
                kind_of(other)
            )));
        }
    };
    if items.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ScimError::too_many(format!(
            "A request may add or remove at most {MAX_MEMBERS_PER_REQUEST} members; this one lists {}.",
            items.len()
        )));
    }
    let type_values = schema::path(ResourceType::Group, "members.type").map_or(&[][..], |p| p.leaf().canonical_values);
    let mut out = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let what = format!("members[{}]", n + 1);
        if !item.is_object() {
            return Err(ScimError::invalid_value(format!(
                "{what} must be an object such as {{\"value\": \"id\"}}, not {}.",
                kind_of(item)
            )));
        }
        let id =
            object_id(&format!("{what}.value"), get_ci(item, "value").unwrap_or(&Value::Null))?.ok_or_else(|| {
                ScimError::invalid_value(format!("{what} has no \"value\": the id of the user or group."))
            })?;
        if group_id == Some(id.as_str()) {
            return Err(ScimError::invalid_value(format!(
                "{what} is the group itself; a group cannot be its own member."
            )));
        }
        let kind = match canonical(&format!("{what}.type"), get_ci(item, "type").unwrap_or(&Value::Null), type_values)?
        {
            Some("Group") => Some(MemberKind::Group),
            Some(_) => Some(MemberKind::User),
            None => None,
        };
        out.push(MemberRef { id, kind });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::sources::scim::error::ScimType;

    fn plan(operations: Value) -> Result<GroupPatchPlan, ScimError> {
        let request = PatchRequest::parse(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}),
            ResourceType::Group,
        )?;
        plan_group_patch("g1", &request)
    }

    fn ids(plan: &MembersPlan) -> (bool, Vec<&str>, Vec<&str>) {
        (plan.replaces_all(), plan.to_add().map(|(id, _)| id).collect(), plan.to_remove().collect())
    }

    #[test]
    fn parses_create_group_bodies() {
        // Entra: an extra Microsoft schema, meta, no members.
        let request = GroupRequest::parse(
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}
            }),
            None,
        )
        .unwrap();
        assert_eq!(
            request,
            GroupRequest {
                group: ScimGroup {
                    display_name: "displayName".into(),
                    external_id: Some("8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159".into())
                },
                members: None
            }
        );
        // Okta: an empty member list; a PUT of the whole group with members.
        let request =
            GroupRequest::parse(&json!({"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": []}), None)
                .unwrap();
        assert_eq!(request.members, Some(vec![]));
        let request = GroupRequest::parse(
            &json!({
                "schemas": [GROUP_SCHEMA],
                "id": "abf4dd94",
                "displayName": "Test SCIMv2",
                "members": [
                    {"value": "b1c794f2", "display": "SCIM 2 Group A", "type": "group"},
                    {"value": "23a35c27", "display": "test.user@okta.local"},
                    {"value": "23a35c27"}
                ]
            }),
            Some("abf4dd94"),
        )
        .unwrap();
        assert_eq!(
            request.members,
            Some(vec![
                MemberRef { id: "23a35c27".into(), kind: None },
                MemberRef { id: "b1c794f2".into(), kind: Some(MemberKind::Group) },
            ])
        );
        let plan = MembersPlan::replacing(request.members.unwrap_or_default());
        assert_eq!(plan.apply_to(["old"]), BTreeSet::from(["23a35c27".to_owned(), "b1c794f2".to_owned()]));
    }

    #[test]
    fn bad_group_bodies() {
        let table = [
            (json!({"displayName": "x"}), ScimType::InvalidSyntax, "schemas"),
            (json!({"schemas": [GROUP_SCHEMA]}), ScimType::InvalidValue, "displayName is required"),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": " \u{202e}\u{0} "}),
                ScimType::InvalidValue,
                "displayName is required",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": "u1"}),
                ScimType::InvalidValue,
                "list of objects",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": ["u1"]}),
                ScimType::InvalidValue,
                "members[1] must be an object",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"display": "u1"}]}),
                ScimType::InvalidValue,
                "no \"value\"",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "u 1"}]}),
                ScimType::InvalidValue,
                "members[1].value",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "u1", "type": "Device"}]}),
                ScimType::InvalidValue,
                "User or Group",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": "g1"}]}),
                ScimType::InvalidValue,
                "its own member",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "externalId": "a\u{0}"}),
                ScimType::InvalidValue,
                "externalId",
            ),
        ];
        for (body, scim_type, expected) in table {
            let err = GroupRequest::parse(&body, Some("g1")).expect_err(&body.to_string());
            assert_eq!(err.scim_type(), Some(scim_type), "{body}: {err}");
            assert!(err.detail().contains(expected), "{body}: {err}");
        }
        let huge: Vec<Value> = (0..=MAX_MEMBERS_PER_REQUEST).map(|i| json!({"value": format!("u{i}")})).collect();
        let err = GroupRequest::parse(&json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": huge}), None)
            .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::TooMany));
    }

    #[test]
    fn renders_with_and_without_members() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 27).unwrap().and_hms_opt(22, 2, 32).unwrap();
        let meta = Meta { base_url: "https://a.example/scim/v2", created: at, last_modified: at, version: "5" };
        let group = ScimGroup { display_name: "Sales".into(), external_id: None };
        let members = [
            GroupMember { id: "u1".into(), kind: MemberKind::User, display: Some("Ada".into()) },
            GroupMember { id: "g2".into(), kind: MemberKind::Group, display: None },
        ];
        assert_eq!(
            group.to_json("g1", &meta, Some(&members)),
            json!({
                "schemas": [GROUP_SCHEMA],
                "id": "g1",
                "displayName": "Sales",
                "members": [
                    {"value": "u1", "type": "User", "$ref": "https://a.example/scim/v2/Users/u1", "display": "Ada"},
                    {"value": "g2", "type": "Group", "$ref": "https://a.example/scim/v2/Groups/g2"}
                ],
                "meta": {
                    "resourceType": "Group",
                    "created": "2026-03-27T22:02:32.000Z",
                    "lastModified": "2026-03-27T22:02:32.000Z",
                    "location": "https://a.example/scim/v2/Groups/g1",
                    "version": "W/\"5\""
                }
            })
        );
        assert!(group.to_json("g1", &meta, None).get("members").is_none());
        // What attest renders, it parses back.
        let request = GroupRequest::parse(&group.to_json("g1", &meta, Some(&members)), Some("g1")).unwrap();
        assert_eq!(request.group, group);
        assert_eq!(request.members.map(|m| m.len()), Some(2));
    }

    #[test]
    fn entra_group_patches() {
        // Update group [non-member attributes].
        let p = plan(json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]))
            .unwrap();
        assert_eq!(p.display_name.as_deref(), Some("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"));
        assert!(p.members.is_unchanged());
        // Add members.
        let p =
            plan(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]))
                .unwrap();
        assert_eq!(ids(&p.members), (false, vec!["f648f8d5ea4e4cd38e9c"], vec![]));
        // Remove members, the older form with a value list and the compliant filter.
        let p = plan(
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]),
        )
        .unwrap();
        assert_eq!(ids(&p.members), (false, vec![], vec!["f648f8d5ea4e4cd38e9c"]));
        let p = plan(json!([{"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]))
            .unwrap();
        assert_eq!(ids(&p.members), (false, vec![], vec!["7f4bc1a3-285e-48ae-8202-5accb43efb0e"]));
        assert!(p.display_name.is_none() && p.external_id.is_none());
    }

    #[test]
    fn okta_group_patches() {
        // Rename, with the group's own id in the value.
        let p = plan(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Test SCIMv2"}}])).unwrap();
        assert_eq!(p.display_name.as_deref(), Some("Test SCIMv2"));
        // Remove one, add one.
        let p = plan(json!([
            {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
            {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]}
        ]))
        .unwrap();
        assert_eq!(
            ids(&p.members),
            (false, vec!["23a35c27-23d3-4c03-b4c5-6443c09e7173"], vec!["89bb1940-b905-4575-9e7f-6f887cfb368e"])
        );
        // A full push of the membership.
        let p = plan(json!([{"op": "replace", "path": "members", "value": [
            {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"},
            {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "test.user@okta.local"}
        ]}]))
        .unwrap();
        assert!(p.members.replaces_all());
        assert_eq!(p.members.to_add().count(), 2);
        // The same without a path.
        let p =
            plan(json!([{"op": "replace", "value": {"members": [{"value": "cb300cb6-9702-45a9-a909-f8b7c972ab7e"}]}}]))
                .unwrap();
        assert_eq!(ids(&p.members), (true, vec!["cb300cb6-9702-45a9-a909-f8b7c972ab7e"], vec![]));
    }

    #[test]
    fn operations_combine_in_order() {
        let current = ["a", "b", "c"];
        let table: Vec<(Value, Vec<&str>)> = vec![
            (
                json!([{"op": "add", "path": "members", "value": [{"value": "d"}]}, {"op": "remove", "path": "members[value eq \"d\"]"}]),
                vec!["a", "b", "c"],
            ),
            (
                json!([{"op": "remove", "path": "members[value eq \"a\"]"}, {"op": "add", "path": "members", "value": {"value": "a"}}]),
                vec!["a", "b", "c"],
            ),
            (json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]), vec!["c"]),
            (json!([{"op": "remove", "path": "members[value eq \"zz\"]"}]), vec!["a", "b", "c"]),
            (json!([{"op": "remove", "path": "members"}]), vec![]),
            (json!([{"op": "replace", "path": "members", "value": []}]), vec![]),
            (json!([{"op": "replace", "path": "members", "value": null}]), vec![]),
            (json!([{"op": "add", "path": "members", "value": null}]), vec!["a", "b", "c"]),
            (json!([{"op": "add", "path": "members", "value": []}]), vec!["a", "b", "c"]),
            (json!([{"op": "remove", "path": "members", "value": []}]), vec!["a", "b", "c"]),
            (
                json!([{"op": "remove", "path": "members"}, {"op": "add", "path": "members", "value": [{"value": "x"}]}]),
                vec!["x"],
            ),
            (
                json!([{"op": "replace", "path": "members", "value": [{"value": "x"}, {"value": "y"}]}, {"op": "remove", "path": "members[value eq \"y\"]"}]),
                vec!["x"],
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"value": "x"}]}, {"op": "replace", "path": "members", "value": [{"value": "y"}]}]),
                vec!["y"],
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "a"}, {"value": "e", "type": "Group"}]}]),
                vec!["a", "b", "c", "e"],
            ),
        ];
        for (operations, expected) in table {
            let p = plan(operations.clone()).unwrap_or_else(|e| panic!("{operations}: {e}"));
            let after: Vec<String> = p.members.apply_to(current).into_iter().collect();
            assert_eq!(after, expected, "{operations}");
            assert!(p.members.to_add().all(|(id, _)| !p.members.to_remove().any(|r| r == id)));
        }
        let p = plan(json!([{"op": "add", "path": "members", "value": [{"value": "e", "type": "Group"}, {"value": "f", "type": "user"}]}])).unwrap();
        assert_eq!(
            p.members.to_add().collect::<Vec<_>>(),
            [("e", Some(MemberKind::Group)), ("f", Some(MemberKind::User))]
        );
    }

    #[test]
    fn other_group_attributes() {
        let p = plan(json!([{"op": "replace", "path": "externalId", "value": "x1"}])).unwrap();
        assert_eq!(p.external_id, Some(Some("x1".into())));
        let p = plan(json!([{"op": "remove", "path": "externalId"}])).unwrap();
        assert_eq!(p.external_id, Some(None));
        let p = plan(json!([{"op": "replace", "path": "displayName", "value": "  A\u{202e}B\n "}])).unwrap();
        assert_eq!(p.display_name.as_deref(), Some("AB"));
        assert!(plan(json!([{"op": "add", "path": "nickName", "value": "x"}])).unwrap().is_unchanged());
        let table = [
            (json!([{"op": "remove", "path": "displayName"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "displayName", "value": "\u{202e}"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "displayName", "value": ["x"]}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "id", "value": "g2"}]), ScimType::Mutability),
            (json!([{"op": "replace", "path": "meta", "value": {}}]), ScimType::Mutability),
            (
                json!([{"op": "replace", "path": "members[value eq \"a\"]", "value": {"value": "b"}}]),
                ScimType::InvalidPath,
            ),
            (json!([{"op": "remove", "path": "members[type eq \"Group\"]"}]), ScimType::InvalidPath),
            (json!([{"op": "remove", "path": "members[value ne \"a\"]"}]), ScimType::InvalidPath),
            (json!([{"op": "remove", "path": "members.value"}]), ScimType::InvalidPath),
            (json!([{"op": "remove", "path": "members[value eq \"a b\"]"}]), ScimType::InvalidValue),
            (json!([{"op": "add", "path": "members", "value": [{"value": "g1"}]}]), ScimType::InvalidValue),
            (json!([{"op": "add", "path": "members", "value": "u1"}]), ScimType::InvalidValue),
            (
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {}}]),
                ScimType::InvalidPath,
            ),
        ];
        for (operations, scim_type) in table {
            let err = plan(operations.clone()).expect_err(&operations.to_string());
            assert_eq!(err.scim_type(), Some(scim_type), "{operations}: {err}");
        }
    }

    #[test]
    fn ten_thousand_members_in_one_patch_are_two_sets() {
        let added: Vec<Value> = (0..10_000).map(|i| json!({"value": format!("u{i:05}")})).collect();
        let removed: Vec<Value> = (10_000..20_000).map(|i| json!({"value": format!("u{i:05}")})).collect();
        let p = plan(json!([
            {"op": "add", "path": "members", "value": added},
            {"op": "remove", "path": "members", "value": removed}
        ]))
        .unwrap();
        assert_eq!(p.members.to_add().count(), 10_000);
        assert_eq!(p.members.to_remove().count(), 10_000);
        assert!(!p.members.replaces_all());
        let too_many: Vec<Value> =
            (0..MAX_MEMBERS_PER_REQUEST / 2 + 1).map(|i| json!({"value": format!("u{i}")})).collect();
        let err = plan(json!([
            {"op": "add", "path": "members", "value": too_many},
            {"op": "remove", "path": "members", "value": too_many}
        ]))
        .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::TooMany));
    }
}
