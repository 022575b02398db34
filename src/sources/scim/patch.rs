//! PATCH requests (RFC 7644 §3.5.2) parsed into typed operations.
//!
//! The quirks of the big clients are accepted here, once, so the appliers see one shape:
//! - `op` in any case (Entra sends `"Replace"`, `"Add"`, `"Remove"`);
//! - no `path` and an object of attributes as the value (Okta's `{"active": false}`,
//!   Entra's `{"name.givenName": …, "urn:…:enterprise:2.0:User:employeeNumber": …}`):
//!   each member becomes an operation of its own with the member's name as its path;
//! - a path or member naming the enterprise extension as a whole with an object value:
//!   each of its attributes becomes an operation of its own;
//! - paths to attributes attest does not keep (`phoneNumbers[type eq "mobile"].value`,
//!   `addresses`, `nickName`, custom extensions, which Entra's default mappings send) are
//!   checked for syntax, then set aside in [`PatchRequest::ignored`], as POST and PUT
//!   ignore unknown attributes.
//!
//! Values stay JSON: what a value must be depends on its target, which the appliers
//! ([`super::user::ScimUser::apply_patch`], [`super::group::plan_group_patch`]) know.

use serde_json::Value;

use super::PATCH_SCHEMA;
use super::error::{ScimError, quote};
use super::filter::{Filter, parse_patch_path};
use super::schema::{self, AttrPath, Mutability, Resolved, ResourceType, Schema};
use super::value::{get_ci, kind_of};

/// The most operations one PATCH may hold (after expanding path-less values).
pub const MAX_OPERATIONS: usize = 1000;

/// How many ignored paths a request remembers (for a log line, not for behaviour).
const MAX_IGNORED: usize = 20;

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// Add values (to a list) or set them.
    Add,
    /// Remove values.
    Remove,
    /// Replace values.
    Replace,
}

impl PatchOp {
    /// The operation with this name, in any case.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Add, Self::Remove, Self::Replace].into_iter().find(|op| op.as_str().eq_ignore_ascii_case(text))
    }

    /// The name as RFC 7644 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }
}

/// What an operation targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchPath {
    /// An attribute or sub-attribute; with a filter, only the elements of the
    /// multi-valued attribute that match it (`emails[type eq "work"].value` is the path
    /// `emails.value` with the filter `type eq "work"`).
    Attr {
        /// The attribute, and the sub-attribute after the filter if any.
        path: AttrPath,
        /// The value filter on the attribute's elements.
        filter: Option<Filter>,
    },
    /// A schema extension as a whole (only `remove` keeps this form).
    Extension(Schema),
    /// A well-formed path to something attest does not keep.
    Ignored(String),
}

/// One operation, after expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The kind.
    pub op: PatchOp,
    /// The target; never [`PatchPath::Ignored`].
    pub path: PatchPath,
    /// The value: present for add and replace (`null` there means "clear"), absent or the
    /// values to remove (Entra's older member removal) for remove.
    pub value: Option<Value>,
}

/// A parsed PATCH body.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    operations: Vec<PatchOperation>,
    ignored: Vec<String>,
}

impl PatchRequest {
    /// Parses a PATCH body for a resource type.
    pub fn parse(body: &Value, resource: ResourceType) -> Result<Self, ScimError> {
        let Some(_) = body.as_object() else {
            return Err(ScimError::invalid_syntax(format!(
                "The body must be a JSON object with \"schemas\": [\"{PATCH_SCHEMA}\"] and \"Operations\"."
            )));
        };
        let schemas_ok = get_ci(body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))));
        if !schemas_ok {
            return Err(ScimError::invalid_syntax(format!(
                "A PATCH body must have \"schemas\": [\"{PATCH_SCHEMA}\"]."
            )));
        }
        let operations = match get_ci(body, "Operations") {
            Some(Value::Array(ops)) if !ops.is_empty() => ops,
            Some(Value::Array(_)) | None | Some(Value::Null) => {
                return Err(ScimError::invalid_syntax("A PATCH body must have a non-empty \"Operations\" list."));
            }
            Some(other) => {
                return Err(ScimError::invalid_syntax(format!(
                    "\"Operations\" must be a list, not {}.",
                    kind_of(other)
                )));
            }
        };
        if operations.len() > MAX_OPERATIONS {
            return Err(ScimError::too_many(format!(
                "The PATCH holds {} operations; attest accepts at most {MAX_OPERATIONS} in one request.",
                operations.len()
            )));
        }
        let mut request = PatchRequest { operations: Vec::new(), ignored: Vec::new() };
        for (index, operation) in operations.iter().enumerate() {
            request.push_operation(index + 1, operation, resource)?;
        }
        if request.operations.len() > MAX_OPERATIONS {
            return Err(ScimError::too_many(format!(
                "The PATCH sets {} attributes; attest accepts at most {MAX_OPERATIONS} in one request.",
                request.operations.len()
            )));
        }
        Ok(request)
    }

    /// The operations, in order, with path-less values expanded.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.operations
    }

    /// The first paths that named attributes attest does not keep (at most 20).
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    fn ignore(&mut self, path: String) {
        if self.ignored.len() < MAX_IGNORED {
            self.ignored.push(path);
        }
    }

    fn push_operation(&mut self, n: usize, operation: &Value, resource: ResourceType) -> Result<(), ScimError> {
        if !operation.is_object() {
            return Err(ScimError::invalid_syntax(format!(
                "Operation {n} must be an object, not {}.",
                kind_of(operation)
            )));
        }
        let op = match get_ci(operation, "op") {
            Some(Value::String(text)) => PatchOp::parse(text).ok_or_else(|| {
                ScimError::invalid_syntax(format!("Operation {n} has op {}; use add, remove or replace.", quote(text)))
            })?,
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "Operation {n} needs an \"op\": add, remove or replace."
                )));
            }
        };
        let path = match get_ci(operation, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => None,
            Some(Value::String(text)) => Some(text.trim()),
            Some(other) => {
                return Err(ScimError::invalid_path(format!(
                    "The path of operation {n} must be text, not {}.",
                    kind_of(other)
                )));
            }
        };
        let value = get_ci(operation, "value").cloned();
        if op != PatchOp::Remove && value.is_none() {
            return Err(ScimError::invalid_value(format!("Operation {n} ({}) needs a \"value\".", op.as_str())));
        }
        match (path, value) {
            (Some(text), value) => match parse_patch_path(text, resource)? {
                PatchPath::Ignored(text) => self.ignore(text),
                PatchPath::Extension(schema) if op != PatchOp::Remove => {
                    self.push_extension(n, op, schema, value.as_ref(), resource)?
                }
                path => self.operations.push(PatchOperation { op, path, value }),
            },
            (None, _) if op == PatchOp::Remove => {
                return Err(ScimError::no_target(format!(
                    "Operation {n} (remove) has no path; say what to remove, e.g. \"path\": \"members[value eq \\\"…\\\"]\"."
                )));
            }
            (None, Some(Value::Object(members))) => {
                for (key, value) in &members {
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    match parse_patch_path(key, resource)
                        .map_err(|e| ScimError::invalid_path(format!("In operation {n}: {}", e.detail())))?
                    {
                        PatchPath::Ignored(text) => self.ignore(text),
                        PatchPath::Extension(schema) => self.push_extension(n, op, schema, Some(value), resource)?,
                        path => self.operations.push(PatchOperation { op, path, value: Some(value.clone()) }),
                    }
                }
            }
            (None, value) => {
                return Err(ScimError::invalid_value(format!(
                    "Operation {n} ({}) has no path, so its value must be an object of attributes, not {}.",
                    op.as_str(),
                    value.as_ref().map_or("nothing", kind_of)
                )));
            }
        }
        Ok(())
    }

    /// `{"urn:…:enterprise:2.0:User": {"department": "…", "manager": …}}`: one operation
    /// per attribute of the extension.
    fn push_extension(
        &mut self,
        n: usize,
        op: PatchOp,
        schema: Schema,
        value: Option<&Value>,
        resource: ResourceType,
    ) -> Result<(), ScimError> {
        let members = match value {
            Some(Value::Object(members)) => members,
            Some(Value::Null) => {
                // Replacing the extension with null clears it.
                self.operations.push(PatchOperation {
                    op: PatchOp::Remove,
                    path: PatchPath::Extension(schema),
                    value: None,
                });
                return Ok(());
            }
            other => {
                return Err(ScimError::invalid_value(format!(
                    "In operation {n}, the value for {} must be an object of its attributes, not {}.",
                    schema.urn(),
                    other.map_or("nothing", kind_of)
                )));
            }
        };
        for (key, value) in members {
            let name = format!("{}:{key}", schema.urn());
            match schema::resolve(resource, &name) {
                Ok(Resolved::Attr(path)) => self.operations.push(PatchOperation {
                    op,
                    path: PatchPath::Attr { path, filter: None },
                    value: Some(value.clone()),
                }),
                Ok(_) => self.ignore(name),
                Err(detail) => return Err(ScimError::invalid_path(format!("In operation {n}: {detail}"))),
            }
        }
        Ok(())
    }
}

/// The rule for read-only attributes, shared by the appliers: `id` may be "set" to the
/// resource's own id (Okta sends it along with the display name), anything else
/// read-only is a `mutability` error. `Ok(true)` means "nothing to do".
pub(crate) fn read_only_check(op: &PatchOperation, path: &AttrPath, id: &str) -> Result<bool, ScimError> {
    if path.leaf().mutability != Mutability::ReadOnly && path.attr.mutability != Mutability::ReadOnly {
        return Ok(false);
    }
    if path.key().1 == "id" && op.op != PatchOp::Remove && op.value.as_ref().and_then(Value::as_str) == Some(id) {
        return Ok(true);
    }
    Err(ScimError::mutability(format!("{path} is set by attest and cannot be changed.")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sources::scim::error::ScimType;

    fn parse(body: Value) -> PatchRequest {
        PatchRequest::parse(&body, ResourceType::User).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    fn error(body: Value) -> ScimError {
        PatchRequest::parse(&body, ResourceType::User).expect_err(&body.to_string())
    }

    fn paths(request: &PatchRequest) -> Vec<(PatchOp, String)> {
        request
            .operations()
            .iter()
            .map(|o| {
                let text = match &o.path {
                    PatchPath::Attr { path, filter: None } => path.to_string(),
                    PatchPath::Attr { path, filter: Some(f) } => format!("{path} if {f}"),
                    PatchPath::Extension(s) => s.urn().to_owned(),
                    PatchPath::Ignored(t) => format!("ignored {t}"),
                };
                (o.op, text)
            })
            .collect()
    }

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn entra_requests() {
        // Update user, multi-valued and single-valued properties.
        let request = parse(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]
        }));
        assert_eq!(
            paths(&request),
            [
                (PatchOp::Replace, r#"emails.value if emails.type eq "work""#.to_owned()),
                (PatchOp::Replace, "name.familyName".to_owned())
            ]
        );
        assert_eq!(request.operations()[0].value, Some(json!("updatedEmail@microsoft.com")));
        // Disable user, both the compliant and the older string form.
        for value in [json!(false), json!("False")] {
            let request = parse(json!({
                "Operations": [{"op": "Replace", "path": "active", "value": value}],
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
            }));
            assert_eq!(paths(&request), [(PatchOp::Replace, "active".to_owned())]);
        }
        // Replace several attributes without a path (aadOptscim062020).
        let request = parse(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
                {"op": "replace", "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
                }}
            ]
        }));
        let mut got = paths(&request);
        got[1..].sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            got,
            [
                (PatchOp::Replace, r#"emails.value if emails.type eq "work""#.to_owned()),
                (PatchOp::Replace, "displayName".to_owned()),
                (PatchOp::Replace, "name.familyName".to_owned()),
                (PatchOp::Replace, "name.givenName".to_owned()),
                (PatchOp::Replace, format!("{ENTERPRISE}:employeeNumber")),
            ]
        );
        // Manager by URN path, with a plain id or an object.
        for value in [json!("00aa00aa"), json!({"value": "00aa00aa"})] {
            let request = parse(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": value}]
            }));
            assert_eq!(paths(&request), [(PatchOp::Add, format!("{ENTERPRISE}:manager"))]);
        }
        // Default mappings Entra sends that attest does not keep.
        let request = parse(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
                {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
                {"op": "Add", "path": "preferredLanguage", "value": "en-US"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag", "value": "x"},
                {"op": "Replace", "path": "title", "value": "Engineer"}
            ]
        }));
        assert_eq!(paths(&request), [(PatchOp::Replace, "title".to_owned())]);
        assert_eq!(request.ignored().len(), 4);
        assert_eq!(request.ignored()[2], "preferredLanguage");
    }

    #[test]
    fn okta_requests() {
        let request = parse(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        }));
        assert_eq!(paths(&request), [(PatchOp::Replace, "active".to_owned())]);
        assert_eq!(request.operations()[0].value, Some(json!(false)));
        let request = PatchRequest::parse(
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
                    {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]}
                ]
            }),
            ResourceType::Group,
        )
        .unwrap();
        assert_eq!(
            paths(&request),
            [
                (PatchOp::Remove, r#"members if members.value eq "89bb1940-b905-4575-9e7f-6f887cfb368e""#.to_owned()),
                (PatchOp::Add, "members".to_owned())
            ]
        );
    }

    #[test]
    fn the_extension_as_a_whole() {
        let request = parse(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "value": {ENTERPRISE: {"department": "Sales", "costCenter": "4130"}}},
                {"op": "add", "path": ENTERPRISE, "value": {"employeeNumber": "7"}},
                {"op": "remove", "path": ENTERPRISE}
            ]
        }));
        assert_eq!(
            paths(&request),
            [
                (PatchOp::Replace, format!("{ENTERPRISE}:department")),
                (PatchOp::Add, format!("{ENTERPRISE}:employeeNumber")),
                (PatchOp::Remove, ENTERPRISE.to_owned()),
            ]
        );
        assert_eq!(request.ignored(), [format!("{ENTERPRISE}:costCenter")]);
    }

    #[test]
    fn bad_requests_name_the_problem() {
        let ok_schemas = json!(["urn:ietf:params:scim:api:messages:2.0:PatchOp"]);
        let table = [
            (json!([]), ScimType::InvalidSyntax, "JSON object"),
            (json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}), ScimType::InvalidSyntax, "schemas"),
            (
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []}),
                ScimType::InvalidSyntax,
                "schemas",
            ),
            (json!({"schemas": ok_schemas}), ScimType::InvalidSyntax, "non-empty"),
            (json!({"schemas": ok_schemas, "Operations": []}), ScimType::InvalidSyntax, "non-empty"),
            (json!({"schemas": ok_schemas, "Operations": {}}), ScimType::InvalidSyntax, "must be a list"),
            (
                json!({"schemas": ok_schemas, "Operations": ["add"]}),
                ScimType::InvalidSyntax,
                "Operation 1 must be an object",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"path": "title"}]}),
                ScimType::InvalidSyntax,
                "needs an \"op\"",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "merge", "path": "title", "value": 1}]}),
                ScimType::InvalidSyntax,
                "'merge'",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "add", "path": "title"}]}),
                ScimType::InvalidValue,
                "needs a \"value\"",
            ),
            (json!({"schemas": ok_schemas, "Operations": [{"op": "remove"}]}), ScimType::NoTarget, "has no path"),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "add", "value": "x"}]}),
                ScimType::InvalidValue,
                "object of attributes",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "add", "path": 3, "value": "x"}]}),
                ScimType::InvalidPath,
                "must be text",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]}),
                ScimType::InvalidPath,
                "emails[type eq",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "add", "value": {"a b": 1}}]}),
                ScimType::InvalidPath,
                "In operation 1",
            ),
            (
                json!({"schemas": ok_schemas, "Operations": [{"op": "add", "path": ENTERPRISE, "value": "x"}]}),
                ScimType::InvalidValue,
                "object of its attributes",
            ),
        ];
        for (body, scim_type, expected) in table {
            let err = error(body.clone());
            assert_eq!(err.scim_type(), Some(scim_type), "{body}: {err}");
            assert!(err.detail().contains(expected), "{body}: {err}");
        }
        let many: Vec<Value> =
            (0..=MAX_OPERATIONS).map(|_| json!({"op": "add", "path": "title", "value": "x"})).collect();
        let err = error(json!({"schemas": ok_schemas, "Operations": many}));
        assert_eq!(err.scim_type(), Some(ScimType::TooMany));
    }

    #[test]
    fn op_and_keys_in_any_case() {
        let request = parse(json!({
            "SCHEMAS": ["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
            "operations": [{"OP": "REPLACE", "Path": "userName", "Value": "x"}, {"op": "ReMoVe", "path": "title"}]
        }));
        assert_eq!(paths(&request), [(PatchOp::Replace, "userName".to_owned()), (PatchOp::Remove, "title".to_owned())]);
    }

    #[test]
    fn read_only_rule() {
        let op = |op, value: Value| PatchOperation { op, path: PatchPath::Ignored(String::new()), value: Some(value) };
        let id = schema::path(ResourceType::Group, "id").unwrap();
        let meta = schema::path(ResourceType::Group, "meta.lastModified").unwrap();
        let name = schema::path(ResourceType::Group, "displayName").unwrap();
        assert_eq!(read_only_check(&op(PatchOp::Replace, json!("g1")), &id, "g1"), Ok(true));
        assert_eq!(read_only_check(&op(PatchOp::Replace, json!("x")), &name, "g1"), Ok(false));
        for (o, path) in [
            (op(PatchOp::Replace, json!("g2")), id),
            (op(PatchOp::Remove, json!("g1")), id),
            (op(PatchOp::Add, json!("x")), meta),
        ] {
            let err = read_only_check(&o, &path, "g1").unwrap_err();
            assert_eq!(err.scim_type(), Some(ScimType::Mutability));
        }
    }
}
