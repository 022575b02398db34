//! `attributes` and `excludedAttributes` (RFC 7644 §3.9, §3.4.2.5): which attributes of
//! rendered resources a response holds. `id`, `schemas` and `meta.resourceType` are
//! always returned. Ask [`Projection::returns`] before loading something costly: Entra
//! reads every group with `excludedAttributes=members`, and a group's members need not be
//! loaded then.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::schema::{self, AttrDef, AttrPath, Resolved, ResourceType, Returned, Schema};

/// The longest `attributes` or `excludedAttributes` value accepted, in bytes.
pub const MAX_ATTRIBUTES_LEN: usize = 2000;

/// The most names one of them may list.
pub const MAX_ATTRIBUTE_NAMES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Attr(AttrPath),
    Extension(Schema),
}

impl Selected {
    /// Whether this names the whole attribute (not only one of its sub-attributes).
    fn covers(&self, schema: Schema, attr: &AttrDef) -> bool {
        match self {
            Self::Attr(path) => path.schema == schema && path.attr.key == attr.key && path.sub.is_none(),
            Self::Extension(s) => *s == schema,
        }
    }

    /// The sub-attribute of this attribute it names, if any.
    fn sub_of(&self, schema: Schema, attr: &AttrDef) -> Option<&'static AttrDef> {
        match self {
            Self::Attr(path) if path.schema == schema && path.attr.key == attr.key => path.sub,
            _ => None,
        }
    }
}

/// Which parts of an attribute a response keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Keep {
    All,
    Subs(Vec<&'static str>),
    Nothing,
}

/// The attributes a response returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    resource: ResourceType,
    only: Option<Vec<Selected>>,
    except: Vec<Selected>,
}

impl Projection {
    /// Every attribute (no parameters given).
    pub fn all(resource: ResourceType) -> Self {
        Self { resource, only: None, except: Vec::new() }
    }

    /// From the query parameters: comma-separated attribute names as in filters
    /// (`userName,name.givenName`, `members`, URN-qualified names, an extension's URN).
    /// Names of attributes attest does not keep select nothing; malformed names are
    /// `invalidValue`. With both parameters, `attributes` chooses and
    /// `excludedAttributes` then removes.
    pub fn parse(resource: ResourceType, attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let only = match attributes.map(str::trim).filter(|a| !a.is_empty()) {
            Some(text) => Some(parse_names(resource, "attributes", text)?),
            None => None,
        };
        let except = match excluded {
            Some(text) => parse_names(resource, "excludedAttributes", text)?,
            None => Vec::new(),
        };
        Ok(Self { resource, only, except })
    }

    /// Whether any part of this attribute is returned (`returns(Schema::Group, "members")`).
    pub fn returns(&self, schema: Schema, attr_name: &str) -> bool {
        match schema.def().attr(attr_name) {
            Some(attr) => self.keep(schema, attr) != Keep::Nothing,
            None => false,
        }
    }

    /// Removes what the response does not return from a rendered resource.
    pub fn apply(&self, resource: &mut Value) {
        if self.only.is_none() && self.except.is_empty() {
            return;
        }
        let Some(fields) = resource.as_object_mut() else { return };
        let core = self.resource.core();
        fields.retain(|key, value| {
            if key.eq_ignore_ascii_case("schemas") {
                return true;
            }
            if let Some(extension) = Schema::from_urn(key).filter(|s| s.resource_type() == self.resource && *s != core)
            {
                if let Some(inner) = value.as_object_mut() {
                    inner.retain(|key, value| self.project(extension, key, value));
                    return !inner.is_empty();
                }
                return false;
            }
            self.project(core, key, value)
        });
    }

    fn project(&self, schema: Schema, key: &str, value: &mut Value) -> bool {
        let Some(attr) = schema.def().attr(key) else { return true };
        match self.keep(schema, attr) {
            Keep::All => true,
            Keep::Nothing => false,
            Keep::Subs(subs) => {
                let retain = |object: &mut Map<String, Value>| {
                    object.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
                    !object.is_empty()
                };
                match value {
                    Value::Object(object) => retain(object),
                    Value::Array(items) => {
                        items.retain_mut(|item| item.as_object_mut().is_some_and(retain));
                        !items.is_empty()
                    }
                    _ => false,
                }
            }
        }
    }

    fn keep(&self, schema: Schema, attr: &'static AttrDef) -> Keep {
        if attr.returned == Returned::Always {
            return Keep::All;
        }
        let all_subs = || attr.sub_attributes.iter().map(|s| s.name).collect::<Vec<_>>();
        let mut keep = match &self.only {
            None => Keep::All,
            Some(selected) if selected.iter().any(|s| s.covers(schema, attr)) => Keep::All,
            Some(selected) => {
                let subs: Vec<&'static str> =
                    selected.iter().filter_map(|s| s.sub_of(schema, attr)).map(|s| s.name).collect();
                if subs.is_empty() { Keep::Nothing } else { Keep::Subs(subs) }
            }
        };
        if self.except.iter().any(|s| s.covers(schema, attr)) {
            keep = Keep::Nothing;
        } else {
            let excluded: Vec<&str> =
                self.except.iter().filter_map(|s| s.sub_of(schema, attr)).map(|s| s.name).collect();
            if !excluded.is_empty() {
                let subs = match keep {
                    Keep::All => all_subs(),
                    Keep::Subs(subs) => subs,
                    Keep::Nothing => Vec::new(),
                };
                let left: Vec<&'static str> = subs.into_iter().filter(|s| !excluded.contains(s)).collect();
                keep = if left.is_empty() { Keep::Nothing } else { Keep::Subs(left) };
            }
        }
        // meta.resourceType is always returned.
        if attr.key == "meta" {
            keep = match keep {
                Keep::All => Keep::All,
                Keep::Subs(mut subs) => {
                    if !subs.contains(&"resourceType") {
                        subs.push("resourceType");
                    }
                    Keep::Subs(subs)
                }
                Keep::Nothing => Keep::Subs(vec!["resourceType"]),
            };
        }
        keep
    }
}

fn parse_names(resource: ResourceType, parameter: &str, text: &str) -> Result<Vec<Selected>, ScimError> {
    if text.len() > MAX_ATTRIBUTES_LEN {
        return Err(ScimError::invalid_value(format!(
            "{parameter} is {} bytes long; attest accepts at most {MAX_ATTRIBUTES_LEN}.",
            text.len()
        )));
    }
    let names: Vec<&str> = text.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    if names.len() > MAX_ATTRIBUTE_NAMES {
        return Err(ScimError::invalid_value(format!(
            "{parameter} lists {} names; attest accepts at most {MAX_ATTRIBUTE_NAMES}.",
            names.len()
        )));
    }
    let mut out = Vec::new();
    for name in names {
        match schema::resolve(resource, name) {
            Ok(Resolved::Attr(path)) => out.push(Selected::Attr(path)),
            Ok(Resolved::Extension(schema)) => out.push(Selected::Extension(schema)),
            Ok(Resolved::Unknown) => {}
            Err(detail) => return Err(ScimError::invalid_value(format!("In {parameter}: {detail}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sources::scim::error::ScimType;
    use crate::sources::scim::{ENTERPRISE_USER_SCHEMA as ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "id": "u1",
            "externalId": "x1",
            "userName": "ada",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "displayName": "Ada Lovelace",
            "active": true,
            "emails": [{"value": "a@w", "type": "work", "primary": true}, {"value": "a@h", "type": "home", "primary": false}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": "m1", "$ref": "https://x/Users/m1"}},
            "meta": {"resourceType": "User", "created": "c", "lastModified": "l", "location": "https://x/Users/u1", "version": "W/\"1\""}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let mut value = user();
        Projection::parse(ResourceType::User, attributes, excluded).unwrap().apply(&mut value);
        value
    }

    #[test]
    fn attributes_choose() {
        assert_eq!(project(None, None), user());
        assert_eq!(project(Some(""), None), user());
        assert_eq!(
            project(Some("userName"), None),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE], "id": "u1", "userName": "ada", "meta": {"resourceType": "User"}})
        );
        assert_eq!(
            project(Some(" USERNAME , name.givenName,emails.value,meta.lastModified"), None),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE], "id": "u1", "userName": "ada", "name": {"givenName": "Ada"},
                "emails": [{"value": "a@w"}, {"value": "a@h"}],
                "meta": {"resourceType": "User", "lastModified": "l"}
            })
        );
        assert_eq!(
            project(Some(&format!("{ENTERPRISE}:manager,nickName")), None),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE], "id": "u1",
                ENTERPRISE: {"manager": {"value": "m1", "$ref": "https://x/Users/m1"}},
                "meta": {"resourceType": "User"}
            })
        );
        let whole = project(Some(&format!("{ENTERPRISE},meta")), None);
        assert_eq!(whole[ENTERPRISE], user()[ENTERPRISE]);
        assert_eq!(whole["meta"], user()["meta"]);
        assert!(whole.get("userName").is_none());
        assert_eq!(project(Some("id"), None).as_object().map(|o| o.len()), Some(3));
    }

    #[test]
    fn excluded_attributes_remove() {
        let value = project(None, Some("emails,name.familyName,department,meta"));
        assert!(value.get("emails").is_none());
        assert_eq!(value["name"], json!({"givenName": "Ada"}));
        assert_eq!(value[ENTERPRISE], json!({"manager": {"value": "m1", "$ref": "https://x/Users/m1"}}));
        assert_eq!(value["meta"], json!({"resourceType": "User"}));
        assert_eq!(value["userName"], "ada");
        // id cannot be excluded; the extension disappears when nothing of it is left.
        let value = project(None, Some(&format!("id,{ENTERPRISE}")));
        assert_eq!(value["id"], "u1");
        assert!(value.get(ENTERPRISE).is_none());
        let value = project(Some("name,emails"), Some("name.givenName,emails.type,emails.primary"));
        assert_eq!(value["name"], json!({"familyName": "Lovelace"}));
        assert_eq!(value["emails"], json!([{"value": "a@w"}, {"value": "a@h"}]));
    }

    #[test]
    fn entra_excludes_members() {
        let projection = Projection::parse(ResourceType::Group, None, Some("members")).unwrap();
        assert!(!projection.returns(Schema::Group, "members"));
        assert!(projection.returns(Schema::Group, "displayName"));
        let mut group = json!({
            "schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Sales",
            "members": [{"value": "u1"}], "meta": {"resourceType": "Group"}
        });
        projection.apply(&mut group);
        assert_eq!(
            group,
            json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Sales", "meta": {"resourceType": "Group"}})
        );
        let all = Projection::all(ResourceType::Group);
        assert!(all.returns(Schema::Group, "members"));
        let only = Projection::parse(ResourceType::Group, Some("displayName"), None).unwrap();
        assert!(!only.returns(Schema::Group, "members"));
        assert!(only.returns(Schema::Group, "id"));
        let value = Projection::parse(ResourceType::Group, Some("members.value"), None).unwrap();
        assert!(value.returns(Schema::Group, "members"));
    }

    #[test]
    fn bad_names() {
        for (attributes, excluded) in [
            (Some("a b"), None),
            (None, Some("name.givenName.x")),
            (Some(&*"x,".repeat(1001)), None),
            (Some(&*"userName,".repeat(101)), None),
            (Some("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"), None),
        ] {
            let err = Projection::parse(ResourceType::User, attributes, excluded).unwrap_err();
            assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{attributes:?} {excluded:?}");
        }
    }
}
