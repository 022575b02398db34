//! The one attribute table: every attribute attest supports on SCIM Users and Groups, with
//! its type and RFC 7643 characteristics. The filter parser, the PATCH parser, the
//! resource parsers, the projection and the `/Schemas` discovery document all resolve
//! attribute names against it, so what attest advertises is what it accepts.
//!
//! Case rules (RFC 7643 §2.2 `caseExact`) are the `case_exact` column: `userName`,
//! `displayName`, `emails.value`, `emails.type` and `title` compare case-insensitively;
//! `id`, `externalId`, `members.value`, `manager.value` and `employeeNumber` exactly.
//! Case-insensitive comparisons fold with [`fold_case`], wherever they happen.

use crate::domain::directory::UserType;
use std::fmt;

use super::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// The longest text value attest keeps in any attribute, in characters.
pub const MAX_TEXT: usize = 256;

/// A schema attest implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Schema {
    /// `urn:ietf:params:scim:schemas:core:2.0:User`.
    User,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    EnterpriseUser,
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`.
    Group,
}

impl Schema {
    /// Every schema, in the order `/Schemas` lists them.
    pub const ALL: [Schema; 3] = [Self::User, Self::EnterpriseUser, Self::Group];

    /// The schema's URN.
    pub fn urn(self) -> &'static str {
        self.def().id
    }

    /// The schema with this URN; URNs compare case-insensitively (RFC 7643 §2.1 makes
    /// attribute names case-insensitive, and clients differ in how they spell the URNs).
    pub fn from_urn(urn: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.urn().eq_ignore_ascii_case(urn))
    }

    /// The schema's definition in the attribute table.
    pub fn def(self) -> &'static SchemaDef {
        match self {
            Self::User => &USER,
            Self::EnterpriseUser => &ENTERPRISE_USER,
            Self::Group => &GROUP,
        }
    }

    /// The resource type whose resources carry this schema.
    pub fn resource_type(self) -> ResourceType {
        match self {
            Self::User | Self::EnterpriseUser => ResourceType::User,
            Self::Group => ResourceType::Group,
        }
    }
}

/// A SCIM resource type attest serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceType {
    /// Both resource types, in the order `/ResourceTypes` lists them.
    pub const ALL: [ResourceType; 2] = [Self::User, Self::Group];

    /// The name (`User`, `Group`), also `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The resource type with this name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The endpoint relative to the SCIM base URL (`/Users`).
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "/Users",
            Self::Group => "/Groups",
        }
    }

    /// The core schema.
    pub fn core(self) -> Schema {
        match self {
            Self::User => Schema::User,
            Self::Group => Schema::Group,
        }
    }

    /// The schema extensions resources of this type may carry.
    pub fn extensions(self) -> &'static [Schema] {
        match self {
            Self::User => &[Schema::EnterpriseUser],
            Self::Group => &[],
        }
    }

    /// A description for `/ResourceTypes`.
    pub fn description(self) -> &'static str {
        match self {
            Self::User => "User account",
            Self::Group => "Group",
        }
    }
}

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// Text.
    String,
    /// `true` or `false`.
    Boolean,
    /// An xsd:dateTime, such as `2026-01-23T04:56:22Z`.
    DateTime,
    /// A URI or the id of another resource.
    Reference,
    /// An object of sub-attributes.
    Complex,
}

impl AttrType {
    /// The spelling in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::DateTime => "dateTime",
            Self::Reference => "reference",
            Self::Complex => "complex",
        }
    }
}

/// Whether and when an attribute may be changed (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by attest; clients cannot change it.
    ReadOnly,
    /// Clients may change it.
    ReadWrite,
    /// Set once by the client, then fixed.
    Immutable,
}

impl Mutability {
    /// The spelling in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::ReadWrite => "readWrite",
            Self::Immutable => "immutable",
        }
    }
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always, whatever `attributes` and `excludedAttributes` say.
    Always,
    /// Unless excluded.
    Default,
}

impl Returned {
    /// The spelling in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Default => "default",
        }
    }
}

/// How unique an attribute's value is (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No rule.
    None,
    /// Unique among the resources of this type in attest.
    Server,
}

impl Uniqueness {
    /// The spelling in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Server => "server",
        }
    }
}

/// One attribute (or sub-attribute) attest supports.
#[derive(Debug)]
pub struct AttrDef {
    /// The name as rendered (`userName`).
    pub name: &'static str,
    /// The name lower-cased (`username`): what resolved paths carry and code matches on.
    pub key: &'static str,
    /// The data type.
    pub kind: AttrType,
    /// Whether it holds a list.
    pub multi_valued: bool,
    /// Whether a resource must have it.
    pub required: bool,
    /// Whether text compares case-sensitively.
    pub case_exact: bool,
    /// Who may change it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Its uniqueness.
    pub uniqueness: Uniqueness,
    /// The values attest accepts, when the set is closed (empty: any).
    pub canonical_values: &'static [&'static str],
    /// For references: what they point at (`User`, `Group`, `uri`).
    pub reference_types: &'static [&'static str],
    /// For complex attributes: the sub-attributes.
    pub sub_attributes: &'static [AttrDef],
    /// Whether the store can filter on it (`GET /Users?filter=…`). Not advertised; the
    /// filter parser accepts any attribute in the table (the in-memory evaluator handles
    /// all of them) and [`super::filter::Filter::check_filterable`] says which ones a
    /// list request may use.
    pub filterable: bool,
    /// `id`, `externalId` and `meta`: common to every resource and, by RFC 7643 §3.1, not
    /// listed among a schema's attributes in `/Schemas`.
    pub common: bool,
    /// The description in `/Schemas`.
    pub description: &'static str,
}

impl AttrDef {
    const fn new(name: &'static str, key: &'static str, kind: AttrType, description: &'static str) -> Self {
        Self {
            name,
            key,
            kind,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
            filterable: false,
            common: false,
            description,
        }
    }

    const fn complex(
        name: &'static str,
        key: &'static str,
        subs: &'static [AttrDef],
        description: &'static str,
    ) -> Self {
        let mut def = Self::new(name, key, AttrType::Complex, description);
        def.sub_attributes = subs;
        def
    }

    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    const fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    const fn always(mut self) -> Self {
        self.returned = Returned::Always;
        self
    }

    const fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }

    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    const fn refs(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }

    const fn filterable(mut self) -> Self {
        self.filterable = true;
        self
    }

    const fn common(mut self) -> Self {
        self.common = true;
        self
    }

    /// The sub-attribute with this name, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub_attributes, name)
    }

    /// Whether this is a complex attribute with a `value` sub-attribute (`emails`,
    /// `members`, `manager`): a filter that names it alone compares its `value`.
    pub fn has_value_sub(&self) -> bool {
        self.kind == AttrType::Complex && self.sub("value").is_some()
    }
}

/// One schema: its URN, names and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    /// The URN, also its id in `/Schemas`.
    pub id: &'static str,
    /// A short name.
    pub name: &'static str,
    /// A description.
    pub description: &'static str,
    /// The attributes, common ones included.
    pub attributes: &'static [AttrDef],
}

impl SchemaDef {
    /// The attribute with this name, case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.attributes, name)
    }
}

fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

use AttrType::{Boolean, DateTime, Reference, String as Text};
use Mutability::{Immutable, ReadOnly};

/// Entra's `userType` values, as attest stores them.
const USER_TYPES: [&str; 2] = [UserType::Member.as_str(), UserType::Guest.as_str()];

const ID: AttrDef = AttrDef::new("id", "id", Text, "Unique identifier of the resource, set by attest.")
    .case_exact()
    .mutability(ReadOnly)
    .always()
    .unique()
    .filterable()
    .common();

const EXTERNAL_ID: AttrDef =
    AttrDef::new("externalId", "externalid", Text, "Identifier of the resource in the provisioning client.")
        .case_exact()
        .filterable()
        .common();

const META_SUBS: &[AttrDef] = &[
    AttrDef::new("resourceType", "resourcetype", Text, "The resource type: User or Group.")
        .case_exact()
        .mutability(ReadOnly),
    AttrDef::new("created", "created", DateTime, "When attest created the resource.").mutability(ReadOnly),
    AttrDef::new("lastModified", "lastmodified", DateTime, "When the resource last changed.")
        .mutability(ReadOnly)
        .filterable(),
    AttrDef::new("location", "location", Reference, "The URI of the resource.")
        .case_exact()
        .mutability(ReadOnly)
        .refs(&["uri"]),
    AttrDef::new("version", "version", Text, "The version of the resource, as a weak entity tag.")
        .case_exact()
        .mutability(ReadOnly),
];

const META: AttrDef =
    AttrDef::complex("meta", "meta", META_SUBS, "Resource metadata, set by attest.").mutability(ReadOnly).common();

const NAME_SUBS: &[AttrDef] = &[
    AttrDef::new("formatted", "formatted", Text, "The full name, formatted for display."),
    AttrDef::new("familyName", "familyname", Text, "The family name (last name)."),
    AttrDef::new("givenName", "givenname", Text, "The given name (first name)."),
];

const EMAIL_SUBS: &[AttrDef] = &[
    AttrDef::new("value", "value", Text, "The email address.").filterable(),
    AttrDef::new("type", "type", Text, "The kind of address: work, home or other.")
        .canonical(&["work", "home", "other"])
        .filterable(),
    AttrDef::new("primary", "primary", Boolean, "Whether this is the primary address (at most one is)."),
];

const USER_ATTRS: &[AttrDef] = &[
    ID,
    EXTERNAL_ID,
    META,
    AttrDef::new("userName", "username", Text, "Unique sign-in name, typically the user principal name.")
        .required()
        .unique()
        .filterable(),
    AttrDef::complex("name", "name", NAME_SUBS, "The components of the user's name."),
    AttrDef::new("displayName", "displayname", Text, "The name shown for the user.").filterable(),
    AttrDef::new("title", "title", Text, "The job title."),
    AttrDef::new("userType", "usertype", Text, "Member or Guest.").canonical(&USER_TYPES),
    AttrDef::new("active", "active", Boolean, "Whether the account is enabled.").filterable(),
    AttrDef::complex("emails", "emails", EMAIL_SUBS, "Email addresses.").multi(),
];

const MANAGER_SUBS: &[AttrDef] = &[
    AttrDef::new("value", "value", Text, "The id of the manager's User resource.").case_exact(),
    AttrDef::new("$ref", "$ref", Reference, "The URI of the manager's User resource.")
        .case_exact()
        .mutability(ReadOnly)
        .refs(&["User"]),
];

const ENTERPRISE_ATTRS: &[AttrDef] = &[
    AttrDef::new("employeeNumber", "employeenumber", Text, "The employee number assigned by the organization.")
        .case_exact(),
    AttrDef::new("department", "department", Text, "The department."),
    AttrDef::complex("manager", "manager", MANAGER_SUBS, "The user's manager."),
];

const MEMBER_SUBS: &[AttrDef] = &[
    AttrDef::new("value", "value", Text, "The id of the member's User or Group resource.")
        .case_exact()
        .mutability(Immutable)
        .filterable(),
    AttrDef::new("$ref", "$ref", Reference, "The URI of the member's resource.")
        .case_exact()
        .mutability(Immutable)
        .refs(&["User", "Group"]),
    AttrDef::new("type", "type", Text, "User or Group (a nested group).")
        .canonical(&["User", "Group"])
        .mutability(Immutable),
    AttrDef::new("display", "display", Text, "The member's display name.").mutability(ReadOnly),
];

const GROUP_ATTRS: &[AttrDef] = &[
    ID,
    EXTERNAL_ID,
    META,
    AttrDef::new("displayName", "displayname", Text, "The name of the group.").required().filterable(),
    AttrDef::complex("members", "members", MEMBER_SUBS, "The direct members: users and nested groups.").multi(),
];

static USER: SchemaDef =
    SchemaDef { id: USER_SCHEMA, name: "User", description: "User account", attributes: USER_ATTRS };

static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise user",
    attributes: ENTERPRISE_ATTRS,
};

static GROUP: SchemaDef = SchemaDef { id: GROUP_SCHEMA, name: "Group", description: "Group", attributes: GROUP_ATTRS };

/// An attribute path resolved against the table: the schema, the attribute and maybe one
/// sub-attribute (`emails.value`). Common attributes (`id`, `externalId`, `meta`) belong
/// to the resource type's core schema.
#[derive(Clone, Copy)]
pub struct AttrPath {
    /// The schema the attribute belongs to.
    pub schema: Schema,
    /// The attribute.
    pub attr: &'static AttrDef,
    /// The sub-attribute, if any.
    pub sub: Option<&'static AttrDef>,
}

impl AttrPath {
    /// The lower-cased key to match on, e.g. `(Schema::User, "emails", Some("value"))`:
    /// what the store maps to columns.
    pub fn key(&self) -> (Schema, &'static str, Option<&'static str>) {
        (self.schema, self.attr.key, self.sub.map(|s| s.key))
    }

    /// The attribute or sub-attribute the path ends at.
    pub fn leaf(&self) -> &'static AttrDef {
        self.sub.unwrap_or(self.attr)
    }

    /// The same attribute with the sub-attribute `value` when the path names a complex
    /// attribute that has one (`emails` → `emails.value`, `members` → `members.value`,
    /// `manager` → `manager.value`): RFC 7644 §3.4.2.2 compares such attributes by value.
    pub fn with_default_value(self) -> Self {
        match (self.sub, self.attr.sub("value")) {
            (None, Some(value)) if self.attr.kind == AttrType::Complex => Self { sub: Some(value), ..self },
            _ => self,
        }
    }

    /// The same attribute with another sub-attribute.
    pub(crate) fn with_sub(self, sub: Option<&'static AttrDef>) -> Self {
        Self { sub, ..self }
    }
}

impl PartialEq for AttrPath {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for AttrPath {}

impl fmt::Debug for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttrPath({self})")
    }
}

/// The canonical spelling: `userName`, `emails.value`, and extension attributes with
/// their URN (`urn:…:enterprise:2.0:User:department`).
impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema != self.schema.resource_type().core() {
            write!(f, "{}:", self.schema.urn())?;
        }
        f.write_str(self.attr.name)?;
        if let Some(sub) = self.sub {
            write!(f, ".{}", sub.name)?;
        }
        Ok(())
    }
}

/// What an attribute name given by a client refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// An attribute attest keeps.
    Attr(AttrPath),
    /// A whole schema extension (`urn:…:enterprise:2.0:User` as a key or a path).
    Extension(Schema),
    /// A well-formed name of something attest does not keep (`nickName`, `phoneNumbers`,
    /// a custom extension): POST, PUT and PATCH ignore it, as they ignore unknown
    /// attributes; a filter on it is an error.
    Unknown,
}

/// Resolves an attribute name as clients write it — `userName`, `name.givenName`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, or a
/// schema URN alone — against the table for one resource type. Names and URNs match
/// case-insensitively. Unqualified names are looked up in the core schema, then in the
/// extensions (Entra has sent `manager` unqualified). The error says what is wrong with a
/// malformed name; the caller gives it its `scimType`.
pub fn resolve(resource: ResourceType, text: &str) -> Result<Resolved, String> {
    if text.is_empty() {
        return Err("An attribute name is empty.".into());
    }
    if let Some(schema) = Schema::from_urn(text) {
        return if schema.resource_type() != resource {
            Err(format!(
                "{} is a schema of {} resources, not {} resources.",
                schema.urn(),
                schema.resource_type().name(),
                resource.name()
            ))
        } else if schema == resource.core() {
            Err(format!("{} names the core schema; name one of its attributes instead.", schema.urn()))
        } else {
            Ok(Resolved::Extension(schema))
        };
    }
    let (urn, rest) = match text.rfind(':') {
        Some(at) => (Some(&text[..at]), &text[at + 1..]),
        None => (None, text),
    };
    let mut parts = rest.split('.');
    let attr_name = parts.next().unwrap_or_default();
    let sub_name = parts.next();
    if parts.next().is_some() {
        return Err(format!(
            "The attribute name {} has more than one '.'; a path names an attribute and at most one sub-attribute.",
            super::error::quote(text)
        ));
    }
    if let Some(urn) = urn
        && !is_urn(urn)
    {
        return Err(format!("{} is not a schema URN followed by an attribute name.", super::error::quote(text)));
    }
    for name in std::iter::once(attr_name).chain(sub_name) {
        if !is_attr_name(name) {
            return Err(format!(
                "{} is not an attribute name: names start with a letter and hold letters, digits, '-' and '_'.",
                super::error::quote(name)
            ));
        }
    }
    let schemas: Vec<Schema> = match urn {
        Some(urn) => match Schema::from_urn(urn) {
            Some(schema) if schema.resource_type() == resource => vec![schema],
            Some(schema) => {
                return Err(format!(
                    "{} is a schema of {} resources, not {} resources.",
                    schema.urn(),
                    schema.resource_type().name(),
                    resource.name()
                ));
            }
            None => return Ok(Resolved::Unknown),
        },
        None => std::iter::once(resource.core()).chain(resource.extensions().iter().copied()).collect(),
    };
    let Some((schema, attr)) = schemas.iter().find_map(|s| s.def().attr(attr_name).map(|a| (*s, a))) else {
        return Ok(Resolved::Unknown);
    };
    let sub = match sub_name {
        None => None,
        Some(name) if attr.kind != AttrType::Complex => {
            return Err(format!(
                "{} has no sub-attributes, so {} cannot follow it.",
                attr.name,
                super::error::quote(name)
            ));
        }
        Some(name) => match attr.sub(name) {
            Some(sub) => Some(sub),
            None => return Ok(Resolved::Unknown),
        },
    };
    Ok(Resolved::Attr(AttrPath { schema, attr, sub }))
}

/// RFC 7643 §2.1 ATTRNAME (`$ref` included, which the RFC itself uses).
pub(crate) fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_urn(text: &str) -> bool {
    text.len() > 4
        && text[..4].eq_ignore_ascii_case("urn:")
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_'))
}

/// The fold for attributes that are not `caseExact`: the in-memory evaluator uses it, and
/// the store must compare such columns by the same fold (a column of folded values, since
/// SQLite's `lower()` folds ASCII only).
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// The attribute path a name resolves to, when it names an attribute attest keeps: for
/// code that names the attributes it handles (`path(ResourceType::User, "emails.value")`).
pub fn path(resource: ResourceType, name: &str) -> Option<AttrPath> {
    match resolve(resource, name) {
        Ok(Resolved::Attr(path)) => Some(path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_defs() -> Vec<(Schema, &'static AttrDef)> {
        let mut out = Vec::new();
        for schema in Schema::ALL {
            for attr in schema.def().attributes {
                out.push((schema, attr));
                for sub in attr.sub_attributes {
                    out.push((schema, sub));
                }
            }
        }
        out
    }

    #[test]
    fn keys_are_the_names_lower_cased() {
        for (_, def) in all_defs() {
            assert_eq!(def.key, def.name.to_ascii_lowercase(), "{}", def.name);
            assert!(is_attr_name(def.name), "{}", def.name);
            assert!(!def.description.is_empty(), "{}", def.name);
        }
    }

    #[test]
    fn the_case_rules_of_rfc_7643() {
        let table = [
            (ResourceType::User, "userName", false),
            (ResourceType::User, "id", true),
            (ResourceType::User, "externalId", true),
            (ResourceType::User, "displayName", false),
            (ResourceType::User, "emails.value", false),
            (ResourceType::User, "emails.type", false),
            (ResourceType::User, "title", false),
            (ResourceType::User, "manager.value", true),
            (ResourceType::Group, "displayName", false),
            (ResourceType::Group, "externalId", true),
            (ResourceType::Group, "members.value", true),
        ];
        for (rt, name, exact) in table {
            let path = path(rt, name).unwrap();
            assert_eq!(path.leaf().case_exact, exact, "{name}");
        }
    }

    #[test]
    fn the_attributes_clients_filter_on_are_filterable() {
        for (rt, name) in [
            (ResourceType::User, "userName"),
            (ResourceType::User, "externalId"),
            (ResourceType::User, "displayName"),
            (ResourceType::User, "emails.value"),
            (ResourceType::User, "id"),
            (ResourceType::User, "meta.lastModified"),
            (ResourceType::Group, "displayName"),
            (ResourceType::Group, "externalId"),
            (ResourceType::Group, "id"),
            (ResourceType::Group, "members.value"),
            (ResourceType::Group, "meta.lastModified"),
        ] {
            assert!(path(rt, name).unwrap().leaf().filterable, "{name}");
        }
        assert!(!path(ResourceType::User, "title").unwrap().leaf().filterable);
    }

    #[test]
    fn resolves_names_as_clients_write_them() {
        let ok = |rt, text: &str| match resolve(rt, text) {
            Ok(Resolved::Attr(p)) => p.key(),
            other => panic!("{text}: {other:?}"),
        };
        use ResourceType::{Group as G, User as U};
        assert_eq!(ok(U, "userName"), (Schema::User, "username", None));
        assert_eq!(ok(U, "USERNAME"), (Schema::User, "username", None));
        assert_eq!(ok(U, "name.givenName"), (Schema::User, "name", Some("givenname")));
        assert_eq!(ok(U, "Emails.Value"), (Schema::User, "emails", Some("value")));
        assert_eq!(ok(U, "meta.lastModified"), (Schema::User, "meta", Some("lastmodified")));
        assert_eq!(ok(U, "urn:ietf:params:scim:schemas:core:2.0:User:userName"), (Schema::User, "username", None));
        assert_eq!(ok(U, "urn:ietf:params:scim:schemas:core:2.0:User:id"), (Schema::User, "id", None));
        assert_eq!(
            ok(U, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
            (Schema::EnterpriseUser, "employeenumber", None)
        );
        assert_eq!(
            ok(U, "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.value"),
            (Schema::EnterpriseUser, "manager", Some("value"))
        );
        assert_eq!(ok(U, "manager"), (Schema::EnterpriseUser, "manager", None));
        assert_eq!(ok(G, "members.$ref"), (Schema::Group, "members", Some("$ref")));
        assert_eq!(
            ok(G, "urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
            (Schema::Group, "displayname", None)
        );

        assert_eq!(
            resolve(U, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            Ok(Resolved::Extension(Schema::EnterpriseUser))
        );
        for unknown in [
            "nickName",
            "phoneNumbers",
            "name.middleName",
            "emails.display",
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
        ] {
            assert_eq!(resolve(U, unknown), Ok(Resolved::Unknown), "{unknown}");
        }
        assert_eq!(resolve(G, "userName"), Ok(Resolved::Unknown));
        for bad in [
            "",
            "name.givenName.x",
            "userName.x",
            "1abc",
            "user name",
            "a\u{202e}b",
            "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            "foo:bar",
        ] {
            assert!(resolve(U, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_print_canonically() {
        let print = |rt, text: &str| path(rt, text).unwrap().to_string();
        assert_eq!(print(ResourceType::User, "EMAILS.value"), "emails.value");
        assert_eq!(
            print(ResourceType::User, "department"),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        );
        assert_eq!(print(ResourceType::Group, "members"), "members");
        let emails = path(ResourceType::User, "emails").unwrap();
        assert_eq!(emails.with_default_value().key(), (Schema::User, "emails", Some("value")));
        let user_name = path(ResourceType::User, "userName").unwrap();
        assert_eq!(user_name.with_default_value(), user_name);
    }

    #[test]
    fn fold_case_is_unicode_aware() {
        assert_eq!(fold_case("ÅSA@Example.COM"), "åsa@example.com");
    }
}
