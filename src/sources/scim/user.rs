//! The User resource: core User (RFC 7643 §4.1) with the Enterprise User extension
//! (§4.3), as far as attest keeps it.
//!
//! POST and PUT bodies, path-less PATCH values and PATCH operations all end in one
//! setter ([`ScimUser::apply_patch`] and [`ScimUser::parse`] share it), so an attribute
//! is checked the same way however it arrives.

use serde_json::{Map, Value, json};

use super::error::{ScimError, quote};
use super::filter::{CompValue, Filter};
use super::meta::{Meta, location};
use super::patch::{PatchOp, PatchPath, PatchRequest, read_only_check};
use super::schema::{self, AttrPath, Mutability, Resolved, ResourceType, Schema};
use super::value::{
    boolean, canonical, check_schemas, display_text, get_ci, identifier, kind_of, object_id, required_identifier,
};
use super::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use crate::domain::directory::UserType;

/// The most email addresses a user may have.
pub const MAX_EMAILS: usize = 20;

/// The parts of a user's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    /// The full name, formatted for display.
    pub formatted: Option<String>,
    /// The family name.
    pub family_name: Option<String>,
    /// The given name.
    pub given_name: Option<String>,
}

impl PersonName {
    fn is_empty(&self) -> bool {
        self.formatted.is_none() && self.family_name.is_none() && self.given_name.is_none()
    }
}

/// One email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The address, as sent.
    pub value: String,
    /// `work`, `home`, `other` or whatever the client sent.
    pub kind: Option<String>,
    /// Whether it is the primary address (at most one is).
    pub primary: bool,
}

impl Email {
    /// The element as rendered (and as value filters see it).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("value".into(), json!(self.value));
        if let Some(kind) = &self.kind {
            out.insert("type".into(), json!(kind));
        }
        out.insert("primary".into(), json!(self.primary));
        Value::Object(out)
    }

    fn same_address(&self, other: &Email) -> bool {
        let fold = |e: &Email| (schema::fold_case(&e.value), e.kind.as_deref().map(schema::fold_case));
        fold(self) == fold(other)
    }
}

/// A SCIM user as attest keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    /// `userName`: the sign-in name, unique case-insensitively.
    pub user_name: String,
    /// `externalId`: the client's id for the user.
    pub external_id: Option<String>,
    /// `name`.
    pub name: PersonName,
    /// `displayName`, cleaned.
    pub display_name: Option<String>,
    /// `title` (job title), cleaned.
    pub title: Option<String>,
    /// `userType`: Member or Guest.
    pub user_type: Option<UserType>,
    /// `active`: whether the account is enabled (true unless a client says otherwise).
    pub active: bool,
    /// `emails`.
    pub emails: Vec<Email>,
    /// Enterprise `employeeNumber`.
    pub employee_number: Option<String>,
    /// Enterprise `department`, cleaned.
    pub department: Option<String>,
    /// Enterprise `manager.value`: the id of the manager's user.
    pub manager: Option<String>,
}

impl ScimUser {
    /// A user with only a userName, enabled.
    pub fn new(user_name: impl Into<String>) -> Self {
        Self {
            user_name: user_name.into(),
            external_id: None,
            name: PersonName::default(),
            display_name: None,
            title: None,
            user_type: None,
            active: true,
            emails: Vec::new(),
            employee_number: None,
            department: None,
            manager: None,
        }
    }

    /// Parses the body of a POST (create) or PUT (replace) to `/Users`. `schemas` must name
    /// the core User schema; attributes attest does not keep are ignored, read-only ones
    /// (`id`, `meta`) too (RFC 7644 §3.3, §3.5.1), and nulls mean "not set". Names are
    /// cleaned; identifiers are checked; `userName` is required.
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let Some(members) = body.as_object() else {
            return Err(ScimError::invalid_syntax("The body must be a JSON object: a User resource."));
        };
        check_schemas(body, Schema::User)?;
        let mut user = ScimUser::new(String::new());
        for (key, value) in members {
            if value.is_null() || key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            match schema::resolve(ResourceType::User, key) {
                Ok(Resolved::Attr(path)) => user.set_from_body(&path, value)?,
                Ok(Resolved::Extension(schema)) => {
                    let Some(inner) = value.as_object() else {
                        return Err(ScimError::invalid_value(format!(
                            "{} must be an object of its attributes, not {}.",
                            schema.urn(),
                            kind_of(value)
                        )));
                    };
                    for (key, value) in inner {
                        if let Ok(Resolved::Attr(path)) =
                            schema::resolve(ResourceType::User, &format!("{}:{key}", schema.urn()))
                            && !value.is_null()
                        {
                            user.set_from_body(&path, value)?;
                        }
                    }
                }
                // Names attest does not keep, well-formed or not, are ignored like any
                // attribute it does not keep (`password`, `groups`, `roles`, `@odata…`).
                Ok(Resolved::Unknown) | Err(_) => {}
            }
        }
        if user.user_name.is_empty() {
            return Err(ScimError::invalid_value(
                "userName is required: the user's sign-in name, such as ada@example.com.",
            ));
        }
        user.check_emails(&[])?;
        Ok(user)
    }

    fn set_from_body(&mut self, path: &AttrPath, value: &Value) -> Result<(), ScimError> {
        if path.attr.mutability == Mutability::ReadOnly || path.leaf().mutability == Mutability::ReadOnly {
            return Ok(());
        }
        self.set(PatchOp::Replace, path, None, Some(value))
    }

    /// Applies a PATCH to this user (whose id is `id`) and returns the changed user, or
    /// the first operation's error: `mutability` for `id` and `meta`, `invalidValue` for
    /// a bad or missing value, `noTarget` when a value filter matches nothing that could
    /// be changed. A replace of `emails[type eq "work"].value` on a user without a work
    /// email adds one, as Entra expects.
    pub fn apply_patch(&self, id: &str, patch: &PatchRequest) -> Result<ScimUser, ScimError> {
        let mut user = self.clone();
        for op in patch.operations() {
            match &op.path {
                PatchPath::Attr { path, filter } => {
                    if !read_only_check(op, path, id)? {
                        user.set(op.op, path, filter.as_ref(), op.value.as_ref())?;
                    }
                }
                PatchPath::Extension(Schema::EnterpriseUser) => {
                    user.employee_number = None;
                    user.department = None;
                    user.manager = None;
                }
                PatchPath::Extension(_) | PatchPath::Ignored(_) => {}
            }
        }
        Ok(user)
    }

    /// Sets, adds or removes one attribute. `raw` is the operation's value: for add and
    /// replace the new value (`null` clears), for remove the values to remove, if any.
    fn set(
        &mut self,
        op: PatchOp,
        path: &AttrPath,
        filter: Option<&Filter>,
        raw: Option<&Value>,
    ) -> Result<(), ScimError> {
        let what = path.to_string();
        let value = match (op, raw) {
            (PatchOp::Remove, _) | (_, None | Some(Value::Null)) => None,
            (_, Some(value)) => Some(value),
        };
        let (schema, attr, sub) = path.key();
        if op == PatchOp::Add && value.is_none() && path.attr.multi_valued && sub.is_none() && filter.is_none() {
            // Adding null to a list adds nothing (replacing with null clears it).
            return Ok(());
        }
        if (schema, attr) == (Schema::User, "emails") {
            return self.set_emails(op, path, filter, value, raw);
        }
        if filter.is_some() {
            return Err(ScimError::invalid_path(format!("{what} takes no value filter.")));
        }
        match (schema, attr, sub) {
            (Schema::User, "username", None) => match value {
                Some(value) => self.user_name = required_identifier(&what, value)?,
                None => {
                    return Err(ScimError::invalid_value("userName is required; replace it instead of removing it."));
                }
            },
            (Schema::User, "externalid", None) => self.external_id = optional(value, |v| identifier(&what, v))?,
            (Schema::User, "displayname", None) => self.display_name = optional(value, |v| display_text(&what, v))?,
            (Schema::User, "title", None) => self.title = optional(value, |v| display_text(&what, v))?,
            (Schema::User, "usertype", None) => {
                self.user_type =
                    optional(value, |v| canonical(&what, v, path.leaf().canonical_values))?.and_then(UserType::parse)
            }
            (Schema::User, "active", None) => match value {
                Some(value) => self.active = boolean(&what, value)?.unwrap_or(self.active),
                None => {
                    return Err(ScimError::invalid_value("active cannot be removed; replace it with true or false."));
                }
            },
            (Schema::User, "name", None) => match value {
                None => self.name = PersonName::default(),
                Some(Value::Object(parts)) => {
                    for (key, part) in parts {
                        if let Some(sub) = path.attr.sub(key) {
                            self.set_name_part(sub.key, &path.with_sub(Some(sub)).to_string(), Some(part))?;
                        }
                    }
                }
                Some(other) => {
                    return Err(ScimError::invalid_value(format!(
                        "name must be an object such as {{\"givenName\": \"Ada\", \"familyName\": \"Lovelace\"}}, not {}.",
                        kind_of(other)
                    )));
                }
            },
            (Schema::User, "name", Some(part)) => self.set_name_part(part, &what, value)?,
            (Schema::EnterpriseUser, "employeenumber", None) => {
                self.employee_number = optional(value, |v| identifier(&what, v))?
            }
            (Schema::EnterpriseUser, "department", None) => {
                self.department = optional(value, |v| display_text(&what, v))?
            }
            (Schema::EnterpriseUser, "manager", None) => self.manager = optional(value, |v| manager_id(&what, v))?,
            (Schema::EnterpriseUser, "manager", Some("value")) => {
                self.manager = optional(value, |v| object_id(&what, v))?
            }
            _ => return Err(ScimError::invalid_path(format!("attest cannot {} {what}.", op.as_str()))),
        }
        Ok(())
    }

    fn set_name_part(&mut self, part: &str, what: &str, value: Option<&Value>) -> Result<(), ScimError> {
        let text = optional(value.filter(|v| !v.is_null()), |v| display_text(what, v))?;
        match part {
            "formatted" => self.name.formatted = text,
            "familyname" => self.name.family_name = text,
            "givenname" => self.name.given_name = text,
            _ => return Err(ScimError::invalid_path(format!("attest cannot change {what}."))),
        }
        Ok(())
    }

    fn set_emails(
        &mut self,
        op: PatchOp,
        path: &AttrPath,
        filter: Option<&Filter>,
        value: Option<&Value>,
        raw: Option<&Value>,
    ) -> Result<(), ScimError> {
        let what = path.to_string();
        let matched: Vec<usize> = (0..self.emails.len())
            .filter(|&i| filter.is_none_or(|f| f.matches_element(&self.emails[i].to_json())))
            .collect();
        // Emails this operation made primary, which win over an older primary.
        let mut touched = Vec::new();
        match (path.sub.map(|s| s.key), value) {
            (None, None) => match (filter, op, raw) {
                (None, PatchOp::Remove, Some(list @ (Value::Array(_) | Value::Object(_)))) => {
                    // Remove the listed addresses (the form Entra once used for members).
                    let gone = parse_emails(&what, list)?;
                    self.emails.retain(|e| !gone.iter().any(|g| g.value.eq_ignore_ascii_case(&e.value)));
                }
                (None, _, _) => self.emails.clear(),
                (Some(_), _, _) => retain_unmatched(&mut self.emails, &matched),
            },
            (None, Some(value)) => match filter {
                None => {
                    let new = parse_emails(&what, value)?;
                    if op == PatchOp::Replace {
                        self.emails = new;
                    } else {
                        for email in new {
                            let primary = email.primary;
                            let at = match self.emails.iter().position(|e| e.same_address(&email)) {
                                Some(at) => {
                                    self.emails[at] = email;
                                    at
                                }
                                None => {
                                    self.emails.push(email);
                                    self.emails.len() - 1
                                }
                            };
                            if primary {
                                touched.push(at);
                            }
                        }
                    }
                }
                Some(filter) => {
                    let Value::Object(fields) = value else {
                        return Err(ScimError::invalid_value(format!(
                            "The value for {what}[…] must be an object such as {{\"value\": \"ada@example.com\"}}, not {}.",
                            kind_of(value)
                        )));
                    };
                    let targets = if matched.is_empty() {
                        self.emails.push(new_email_from(filter, &what)?);
                        vec![self.emails.len() - 1]
                    } else {
                        matched
                    };
                    for &i in &targets {
                        for (key, field) in fields {
                            if let Some(sub) = path.attr.sub(key) {
                                set_email_part(
                                    &mut self.emails[i],
                                    sub.key,
                                    &format!("{what}.{}", sub.name),
                                    Some(field),
                                )?;
                            }
                        }
                        if self.emails[i].primary && fields.keys().any(|k| k.eq_ignore_ascii_case("primary")) {
                            touched.push(i);
                        }
                    }
                }
            },
            (Some("value"), None) => retain_unmatched(&mut self.emails, &matched),
            (Some(part), None) => {
                for &i in &matched {
                    set_email_part(&mut self.emails[i], part, &what, None)?;
                }
            }
            (Some(part), Some(value)) => {
                let targets = if matched.is_empty() {
                    let email = match filter {
                        Some(filter) => new_email_from(filter, &what)?,
                        None => Email { value: String::new(), kind: None, primary: false },
                    };
                    self.emails.push(email);
                    vec![self.emails.len() - 1]
                } else {
                    matched
                };
                for &i in &targets {
                    set_email_part(&mut self.emails[i], part, &what, Some(value))?;
                    if part == "primary" && self.emails[i].primary {
                        touched.push(i);
                    }
                }
            }
        }
        self.check_emails(&touched)
    }

    /// At most [`MAX_EMAILS`], each with an address, and at most one primary: when an
    /// operation made one primary, the others stop being primary (RFC 7643 §2.4).
    fn check_emails(&mut self, touched: &[usize]) -> Result<(), ScimError> {
        if self.emails.len() > MAX_EMAILS {
            return Err(ScimError::invalid_value(format!(
                "A user can have at most {MAX_EMAILS} email addresses; this one would have {}.",
                self.emails.len()
            )));
        }
        if self.emails.iter().any(|e| e.value.is_empty()) {
            return Err(ScimError::no_target(
                "No email matches the path, and the value does not say which address to add; set emails[…].value.",
            ));
        }
        let primaries = self.emails.iter().filter(|e| e.primary).count();
        if primaries > 1 {
            match touched.last() {
                Some(&keep) => {
                    for (i, email) in self.emails.iter_mut().enumerate() {
                        email.primary = i == keep;
                    }
                }
                None => {
                    return Err(ScimError::invalid_value(
                        "At most one email can be primary; mark only one with \"primary\": true.",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The primary email address, or the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.iter().find(|e| e.primary).or(self.emails.first()).map(|e| e.value.as_str())
    }

    /// The user as a SCIM resource, with `meta`; absent attributes are left out (clients
    /// expect no nulls).
    pub fn to_json(&self, id: &str, meta: &Meta<'_>) -> Value {
        let mut out = Map::new();
        let enterprise = self.enterprise_json(meta.base_url);
        let mut schemas = vec![json!(USER_SCHEMA)];
        if enterprise.is_some() {
            schemas.push(json!(ENTERPRISE_USER_SCHEMA));
        }
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), json!(id));
        insert_opt(&mut out, "externalId", &self.external_id);
        out.insert("userName".into(), json!(self.user_name));
        if !self.name.is_empty() {
            let mut name = Map::new();
            insert_opt(&mut name, "formatted", &self.name.formatted);
            insert_opt(&mut name, "familyName", &self.name.family_name);
            insert_opt(&mut name, "givenName", &self.name.given_name);
            out.insert("name".into(), Value::Object(name));
        }
        insert_opt(&mut out, "displayName", &self.display_name);
        insert_opt(&mut out, "title", &self.title);
        if let Some(user_type) = self.user_type {
            out.insert("userType".into(), json!(user_type.as_str()));
        }
        out.insert("active".into(), json!(self.active));
        if !self.emails.is_empty() {
            out.insert("emails".into(), Value::Array(self.emails.iter().map(Email::to_json).collect()));
        }
        if let Some(enterprise) = enterprise {
            out.insert(ENTERPRISE_USER_SCHEMA.into(), enterprise);
        }
        out.insert("meta".into(), meta.render(ResourceType::User, id));
        Value::Object(out)
    }

    fn enterprise_json(&self, base_url: &str) -> Option<Value> {
        let mut out = Map::new();
        insert_opt(&mut out, "employeeNumber", &self.employee_number);
        insert_opt(&mut out, "department", &self.department);
        if let Some(manager) = &self.manager {
            out.insert(
                "manager".into(),
                json!({"value": manager, "$ref": location(base_url, ResourceType::User, manager)}),
            );
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        map.insert(key.into(), json!(value));
    }
}

/// Runs a check on a value when there is one; `None` (a removal) stays `None`.
fn optional<T>(
    value: Option<&Value>,
    check: impl FnOnce(&Value) -> Result<Option<T>, ScimError>,
) -> Result<Option<T>, ScimError> {
    value.map(check).transpose().map(Option::flatten)
}

fn retain_unmatched(emails: &mut Vec<Email>, matched: &[usize]) {
    let mut i = 0;
    emails.retain(|_| {
        let keep = !matched.contains(&i);
        i += 1;
        keep
    });
}

/// The manager as clients send it: an id, `{"value": id}`, or a list of one such object
/// (older Entra); "" or null clear it.
fn manager_id(what: &str, value: &Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Object(_) => object_id(&format!("{what}.value"), get_ci(value, "value").unwrap_or(&Value::Null)),
        Value::Array(items) => match items.as_slice() {
            [] => Ok(None),
            [one] => manager_id(what, one),
            _ => Err(ScimError::invalid_value(format!("{what} holds one manager, not {}.", items.len()))),
        },
        other => object_id(what, other),
    }
}

/// A list of emails (or one email object).
fn parse_emails(what: &str, value: &Value) -> Result<Vec<Email>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).collect(),
        Value::Object(_) => vec![value],
        other => {
            return Err(ScimError::invalid_value(format!(
                "{what} must be a list of objects such as {{\"value\": \"ada@example.com\", \"type\": \"work\"}}, not {}.",
                kind_of(other)
            )));
        }
    };
    if items.len() > MAX_EMAILS {
        return Err(ScimError::invalid_value(format!(
            "A user can have at most {MAX_EMAILS} email addresses; {what} lists {}.",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let Some(fields) = item.as_object() else {
            return Err(ScimError::invalid_value(format!(
                "Email {} of {what} must be an object such as {{\"value\": \"ada@example.com\"}}, not {}.",
                n + 1,
                kind_of(item)
            )));
        };
        let mut email = Email { value: String::new(), kind: None, primary: false };
        for (key, field) in fields {
            if let Some(sub) = schema::path(ResourceType::User, "emails").and_then(|p| p.attr.sub(key)) {
                set_email_part(&mut email, sub.key, &format!("{what}.{}", sub.name), Some(field))?;
            }
        }
        if email.value.is_empty() {
            return Err(ScimError::invalid_value(format!("Email {} of {what} has no \"value\": the address.", n + 1)));
        }
        out.push(email);
    }
    Ok(out)
}

fn set_email_part(email: &mut Email, part: &str, what: &str, value: Option<&Value>) -> Result<(), ScimError> {
    let value = value.filter(|v| !v.is_null());
    match part {
        "value" => email.value = optional(value, |v| identifier(what, v))?.unwrap_or_default(),
        "type" => email.kind = optional(value, |v| identifier(what, v))?,
        "primary" => email.primary = optional(value, |v| boolean(what, v))?.unwrap_or(false),
        _ => return Err(ScimError::invalid_path(format!("attest cannot change {what}."))),
    }
    Ok(())
}

/// The email a value filter of equalities describes (`type eq "work"`), for an add or
/// replace that matched none; other filters cannot say what to add: `noTarget`.
fn new_email_from(filter: &Filter, what: &str) -> Result<Email, ScimError> {
    let no_target = || {
        ScimError::no_target(format!(
            "No email of the user matches {} in {what}, so there is nothing to change.",
            quote(&filter.to_string())
        ))
    };
    let mut email = Email { value: String::new(), kind: None, primary: false };
    for (path, value) in filter.equalities().ok_or_else(no_target)? {
        let json = match value {
            CompValue::String(text) => json!(text),
            CompValue::Bool(b) => json!(b),
            _ => return Err(no_target()),
        };
        set_email_part(&mut email, path.leaf().key, &path.to_string(), Some(&json))?;
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::sources::scim::error::ScimType;

    const ENTERPRISE: &str = ENTERPRISE_USER_SCHEMA;

    fn meta() -> Meta<'static> {
        let at = NaiveDate::from_ymd_opt(2026, 3, 27).unwrap().and_hms_opt(19, 59, 26).unwrap();
        Meta { base_url: "https://attest.example.com/scim/v2", created: at, last_modified: at, version: "1" }
    }

    fn patch(user: &ScimUser, operations: Value) -> Result<ScimUser, ScimError> {
        let request = PatchRequest::parse(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}),
            ResourceType::User,
        )?;
        user.apply_patch("u1", &request)
    }

    fn entra_user() -> ScimUser {
        ScimUser::parse(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": []
        }))
        .unwrap()
    }

    #[test]
    fn parses_entra_create_user() {
        let user = entra_user();
        assert_eq!(user.user_name, "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee");
        assert_eq!(user.external_id.as_deref(), Some("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"));
        assert!(user.active);
        assert_eq!(user.name.formatted.as_deref(), Some("givenName familyName"));
        assert_eq!(user.primary_email(), Some("Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"));
        assert_eq!(user.emails[0].kind.as_deref(), Some("work"));
    }

    #[test]
    fn parses_older_entra_and_okta_bodies() {
        // Entra's older sample: nulls for everything it has no value for, a misspelled
        // extension URN, department and manager at the top level.
        let user = ScimUser::parse(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "externalId": "jyoung",
            "userName": "jyoung@testuser.com",
            "active": true,
            "addresses": null,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
            "meta": {"resourceType": "User"},
            "name": {"familyName": "Young", "givenName": "Joy"},
            "phoneNumbers": null,
            "preferredLanguage": null,
            "title": null,
            "department": null,
            "manager": null
        }))
        .unwrap();
        assert_eq!(user.display_name.as_deref(), Some("Joy Young"));
        assert_eq!(user.title, None);
        assert_eq!(user.manager, None);
        // Okta: password, groups, locale are not kept; PUT carries the id and meta.
        let user = ScimUser::parse(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": "False",
            "meta": {"resourceType": "User"}
        }))
        .unwrap();
        assert_eq!(user.name.given_name.as_deref(), Some("Another"));
        assert!(!user.active);
        assert_eq!(user.emails.len(), 1);
    }

    #[test]
    fn parses_the_enterprise_extension() {
        let user = ScimUser::parse(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "ereckert@contoso.com",
            "userType": "guest",
            "title": "  Director\u{202e}\u{0} ",
            ENTERPRISE: {"employeeNumber": "100009", "department": "Human Resources US", "manager": {"value": "00aa00aa", "displayName": "x"}, "costCenter": "x"}
        }))
        .unwrap();
        assert_eq!(user.user_type, Some(UserType::Guest));
        assert_eq!(user.title.as_deref(), Some("Director"));
        assert_eq!(user.employee_number.as_deref(), Some("100009"));
        assert_eq!(user.department.as_deref(), Some("Human Resources US"));
        assert_eq!(user.manager.as_deref(), Some("00aa00aa"));
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        let table = [
            (json!("x"), ScimType::InvalidSyntax, "JSON object"),
            (json!({"userName": "a"}), ScimType::InvalidSyntax, "schemas"),
            (
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "a"}),
                ScimType::InvalidSyntax,
                "schemas",
            ),
            (json!({"schemas": [USER_SCHEMA]}), ScimType::InvalidValue, "userName is required"),
            (json!({"schemas": [USER_SCHEMA], "userName": ""}), ScimType::InvalidValue, "userName is required"),
            (json!({"schemas": [USER_SCHEMA], "userName": "a\u{0}"}), ScimType::InvalidValue, "U+0000"),
            (json!({"schemas": [USER_SCHEMA], "userName": "a\u{202e}moc.evil"}), ScimType::InvalidValue, "U+202E"),
            (json!({"schemas": [USER_SCHEMA], "userName": "x".repeat(257)}), ScimType::InvalidValue, "at most 256"),
            (json!({"schemas": [USER_SCHEMA], "userName": ["a"]}), ScimType::InvalidValue, "must be text"),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "yes"}),
                ScimType::InvalidValue,
                "true or false",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "userType": "Contractor"}),
                ScimType::InvalidValue,
                "Member or Guest",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "name": "Ada"}),
                ScimType::InvalidValue,
                "name must be an object",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": "a@b"}),
                ScimType::InvalidValue,
                "list of objects",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"type": "work"}]}),
                ScimType::InvalidValue,
                "no \"value\"",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"value": "a@b", "primary": true}, {"value": "c@d", "primary": true}]}),
                ScimType::InvalidValue,
                "one email can be primary",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": vec![json!({"value": "a@b"}); 21]}),
                ScimType::InvalidValue,
                "at most 20",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", ENTERPRISE: "x"}),
                ScimType::InvalidValue,
                "object of its attributes",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", ENTERPRISE: {"manager": "../x"}}),
                ScimType::InvalidValue,
                "id of a resource",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a", ENTERPRISE: {"manager": [{"value": "a"}, {"value": "b"}]}}),
                ScimType::InvalidValue,
                "one manager",
            ),
        ];
        for (body, scim_type, expected) in table {
            let err = ScimUser::parse(&body).expect_err(&body.to_string());
            assert_eq!(err.scim_type(), Some(scim_type), "{body}: {err}");
            assert!(err.detail().contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn renders_with_meta_and_without_nulls() {
        let mut user = entra_user();
        user.manager = Some("m1".into());
        user.department = Some("Sales".into());
        let json = user.to_json("48af03ac28ad4fb88478", &meta());
        assert_eq!(
            json,
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE],
                "id": "48af03ac28ad4fb88478",
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                "active": true,
                "emails": [{"value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com", "type": "work", "primary": true}],
                ENTERPRISE: {"department": "Sales", "manager": {"value": "m1", "$ref": "https://attest.example.com/scim/v2/Users/m1"}},
                "meta": {
                    "resourceType": "User",
                    "created": "2026-03-27T19:59:26.000Z",
                    "lastModified": "2026-03-27T19:59:26.000Z",
                    "location": "https://attest.example.com/scim/v2/Users/48af03ac28ad4fb88478",
                    "version": "W/\"1\""
                }
            })
        );
        let bare = ScimUser::new("a").to_json("u1", &meta());
        assert_eq!(bare["schemas"], json!([USER_SCHEMA]));
        assert!(bare.get("emails").is_none() && bare.get("name").is_none() && bare.get(ENTERPRISE).is_none());
        // What attest renders, it parses back to the same user.
        assert_eq!(ScimUser::parse(&json).unwrap(), user);
    }

    #[test]
    fn entra_patches() {
        let user = entra_user();
        // Update user [multi-valued properties].
        let changed = patch(
            &user,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]),
        )
        .unwrap();
        assert_eq!(
            changed.emails,
            [Email { value: "updatedEmail@microsoft.com".into(), kind: Some("work".into()), primary: true }]
        );
        assert_eq!(changed.name.family_name.as_deref(), Some("updatedFamilyName"));
        // Update user [single-valued properties].
        let changed =
            patch(&user, json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]))
                .unwrap();
        assert_eq!(changed.user_name, "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com");
        // Disable user, with a boolean and with Entra's string.
        for value in [json!(false), json!("False")] {
            let changed = patch(&user, json!([{"op": "Replace", "path": "active", "value": value}])).unwrap();
            assert!(!changed.active);
        }
        let changed = patch(&user, json!([{"op": "Replace", "path": "active", "value": "True"}])).unwrap();
        assert!(changed.active);
        // Path-less replace of several attributes.
        let changed = patch(
            &user,
            json!([{"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }}]),
        )
        .unwrap();
        assert_eq!(changed.display_name.as_deref(), Some("Bjfe"));
        assert_eq!(changed.name.given_name.as_deref(), Some("Kkom"));
        assert_eq!(changed.name.family_name.as_deref(), Some("Unua"));
        assert_eq!(changed.name.formatted.as_deref(), Some("givenName familyName"));
        assert_eq!(changed.employee_number.as_deref(), Some("Aklq"));
        // Manager: by URN path with an id or {"value": id}, unqualified with a list (older
        // Entra), and removed.
        for (path, value) in [
            (format!("{ENTERPRISE}:manager"), json!("00aa00aa")),
            (format!("{ENTERPRISE}:manager"), json!({"value": "00aa00aa"})),
            ("manager".to_owned(), json!([{"$ref": "http://x/scim/Users/00aa00aa", "value": "00aa00aa"}])),
            (format!("{ENTERPRISE}:manager.value"), json!("00aa00aa")),
        ] {
            let changed = patch(&user, json!([{"op": "Add", "path": path, "value": value}])).unwrap();
            assert_eq!(changed.manager.as_deref(), Some("00aa00aa"), "{path}");
            let removed = patch(&changed, json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}])).unwrap();
            assert_eq!(removed.manager, None);
            let cleared = patch(&changed, json!([{"op": "Replace", "path": path, "value": ""}])).unwrap();
            assert_eq!(cleared.manager, None);
        }
        // Attributes attest does not keep change nothing.
        let same = patch(
            &user,
            json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555"},
                {"op": "Add", "path": "nickName", "value": "Babs"}
            ]),
        )
        .unwrap();
        assert_eq!(same, user);
    }

    #[test]
    fn okta_patches() {
        let user = entra_user();
        let changed = patch(&user, json!([{"op": "replace", "value": {"active": false}}])).unwrap();
        assert!(!changed.active);
        // The resource's own id in a path-less value is accepted and changes nothing.
        let changed = patch(&user, json!([{"op": "replace", "value": {"id": "u1", "displayName": "Test"}}])).unwrap();
        assert_eq!(changed.display_name.as_deref(), Some("Test"));
    }

    #[test]
    fn email_operations() {
        let mut user = ScimUser::new("ada");
        user.emails = vec![
            Email { value: "ada@work.example".into(), kind: Some("work".into()), primary: true },
            Email { value: "ada@home.example".into(), kind: Some("home".into()), primary: false },
        ];
        let values = |u: &ScimUser| u.emails.iter().map(|e| (e.value.clone(), e.primary)).collect::<Vec<_>>();
        let table: Vec<(Value, Vec<(&str, bool)>)> = vec![
            (
                json!([{"op": "add", "path": "emails", "value": [{"value": "x@y", "type": "other"}]}]),
                vec![("ada@work.example", true), ("ada@home.example", false), ("x@y", false)],
            ),
            // A new primary takes over.
            (
                json!([{"op": "add", "path": "emails", "value": {"value": "x@y", "primary": true}}]),
                vec![("ada@work.example", false), ("ada@home.example", false), ("x@y", true)],
            ),
            // The same address and type again replaces, not duplicates.
            (
                json!([{"op": "add", "path": "emails", "value": [{"value": "ADA@home.example", "type": "Home"}]}]),
                vec![("ada@work.example", true), ("ADA@home.example", false)],
            ),
            (json!([{"op": "replace", "path": "emails", "value": [{"value": "only@one"}]}]), vec![("only@one", false)]),
            (json!([{"op": "remove", "path": "emails"}]), vec![]),
            (json!([{"op": "replace", "path": "emails", "value": null}]), vec![]),
            (
                json!([{"op": "add", "path": "emails", "value": null}]),
                vec![("ada@work.example", true), ("ada@home.example", false)],
            ),
            (
                json!([{"op": "add", "path": "emails", "value": []}]),
                vec![("ada@work.example", true), ("ada@home.example", false)],
            ),
            (json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]), vec![("ada@work.example", true)]),
            (
                json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
                vec![("ada@work.example", true), ("ada@home.example", false)],
            ),
            (json!([{"op": "remove", "path": "emails[type eq \"work\"].value"}]), vec![("ada@home.example", false)]),
            (
                json!([{"op": "remove", "path": "emails", "value": [{"value": "ADA@HOME.EXAMPLE"}]}]),
                vec![("ada@work.example", true)],
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
                vec![("ada@work.example", false), ("ada@home.example", true)],
            ),
            (
                json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
                vec![("ada@work.example", false), ("ada@home.example", false)],
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "new@home", "primary": true}}]),
                vec![("ada@work.example", false), ("new@home", true)],
            ),
            // No element matches: the equality describes a new one.
            (
                json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]),
                vec![("ada@work.example", true), ("ada@home.example", false), ("o@x", false)],
            ),
            (
                json!([{"op": "add", "path": "emails[type eq \"other\"]", "value": {"value": "o@x"}}]),
                vec![("ada@work.example", true), ("ada@home.example", false), ("o@x", false)],
            ),
            (
                json!([{"op": "replace", "path": "emails.type", "value": "work"}]),
                vec![("ada@work.example", true), ("ada@home.example", false)],
            ),
        ];
        for (operations, expected) in table {
            let changed = patch(&user, operations.clone()).unwrap_or_else(|e| panic!("{operations}: {e}"));
            let expected: Vec<(String, bool)> = expected.into_iter().map(|(v, p)| (v.to_owned(), p)).collect();
            assert_eq!(values(&changed), expected, "{operations}");
        }
        let changed =
            patch(&user, json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]))
                .unwrap();
        assert_eq!(changed.emails[2].kind.as_deref(), Some("other"));
        let changed = patch(&user, json!([{"op": "replace", "path": "emails.type", "value": "work"}])).unwrap();
        assert!(changed.emails.iter().all(|e| e.kind.as_deref() == Some("work")));
        // A user without emails gets the work email Entra sets.
        let bare = ScimUser::new("ada");
        let changed =
            patch(&bare, json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@w"}])).unwrap();
        assert_eq!(changed.emails, [Email { value: "a@w".into(), kind: Some("work".into()), primary: false }]);
        let changed = patch(&bare, json!([{"op": "add", "path": "emails.value", "value": "a@w"}])).unwrap();
        assert_eq!(changed.primary_email(), Some("a@w"));

        let errors = [
            (
                json!([{"op": "replace", "path": "emails[type ne \"work\" and type ne \"home\"].value", "value": "x"}]),
                ScimType::NoTarget,
            ),
            (json!([{"op": "replace", "path": "emails[type eq \"other\"].type", "value": "home"}]), ScimType::NoTarget),
            (json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": "x@y"}]), ScimType::InvalidValue),
            (
                json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "maybe"}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "replace", "path": "emails", "value": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "add", "path": "emails", "value": (0..19).map(|i| json!({"value": format!("x{i}@y")})).collect::<Vec<_>>()}]),
                ScimType::InvalidValue,
            ),
        ];
        for (operations, scim_type) in errors {
            let err = patch(&user, operations.clone()).expect_err(&operations.to_string());
            assert_eq!(err.scim_type(), Some(scim_type), "{operations}: {err}");
        }
        assert_eq!(
            patch(&bare, json!([{"op": "add", "path": "emails.type", "value": "work"}])).unwrap_err().scim_type(),
            Some(ScimType::NoTarget)
        );
    }

    #[test]
    fn patch_errors() {
        let user = entra_user();
        let table = [
            (json!([{"op": "replace", "path": "id", "value": "other"}]), ScimType::Mutability),
            (json!([{"op": "remove", "path": "id"}]), ScimType::Mutability),
            (
                json!([{"op": "replace", "path": "meta.lastModified", "value": "2026-01-01T00:00:00Z"}]),
                ScimType::Mutability,
            ),
            (json!([{"op": "replace", "value": {"meta": {}}}]), ScimType::Mutability),
            (json!([{"op": "replace", "path": "manager.$ref", "value": "x"}]), ScimType::Mutability),
            (json!([{"op": "remove", "path": "userName"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "userName", "value": null}]), ScimType::InvalidValue),
            (json!([{"op": "remove", "path": "active"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "active", "value": 0}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "userType", "value": "Employee"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "name", "value": "Ada"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "userName", "value": "bad\u{202e}name"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "externalId", "value": {"a": 1}}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "x"}]), ScimType::InvalidPath),
        ];
        for (operations, scim_type) in table {
            let err = patch(&user, operations.clone()).expect_err(&operations.to_string());
            assert_eq!(err.scim_type(), Some(scim_type), "{operations}: {err}");
        }
        // Nothing is half-applied: the user given is unchanged.
        assert_eq!(user, entra_user());
    }

    #[test]
    fn patches_clear_and_clean() {
        let user = entra_user();
        let changed = patch(
            &user,
            json!([
                {"op": "replace", "path": "displayName", "value": "  Ada \u{202e}Lovelace\r\n"},
                {"op": "add", "path": "title", "value": "x".repeat(10_000)},
                {"op": "add", "path": "userType", "value": "member"},
                {"op": "remove", "path": "externalId"},
                {"op": "remove", "path": "name.givenName"},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"department": "R&D"}},
            ]),
        )
        .unwrap();
        assert_eq!(changed.display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(changed.title.as_deref().map(|t| t.chars().count()), Some(256));
        assert_eq!(changed.user_type, Some(UserType::Member));
        assert_eq!(changed.external_id, None);
        assert_eq!(changed.name.given_name, None);
        assert_eq!(changed.name.family_name.as_deref(), Some("familyName"));
        assert_eq!(changed.department.as_deref(), Some("R&D"));
        let removed =
            patch(&changed, json!([{"op": "remove", "path": ENTERPRISE}, {"op": "remove", "path": "name"}])).unwrap();
        assert_eq!(removed.department, None);
        assert_eq!(removed.name, PersonName::default());
    }

    #[test]
    fn every_writable_user_attribute_can_be_set_and_read_back() {
        // The table and the setter agree: each attribute attest advertises as writable is
        // accepted by PATCH and rendered back under the same name.
        for schema in [Schema::User, Schema::EnterpriseUser] {
            for attr in schema.def().attributes.iter().filter(|a| a.mutability != Mutability::ReadOnly) {
                let path = AttrPath { schema, attr, sub: None };
                let value = match (attr.key, attr.kind) {
                    ("usertype", _) => json!("Guest"),
                    ("manager", _) => json!({"value": "m1"}),
                    ("name", _) => json!({"givenName": "G", "familyName": "F", "formatted": "G F"}),
                    ("emails", _) => json!([{"value": "a@b", "type": "work", "primary": true}]),
                    (_, schema::AttrType::Boolean) => json!(false),
                    _ => json!("v"),
                };
                let request = PatchRequest::parse(
                    &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "replace", "path": path.to_string(), "value": value}]}),
                    ResourceType::User,
                )
                .unwrap();
                let user = ScimUser::new("u").apply_patch("u1", &request).unwrap_or_else(|e| panic!("{path}: {e}"));
                let rendered = user.to_json("u1", &meta());
                let container = if schema == Schema::User { &rendered } else { &rendered[ENTERPRISE] };
                let got = &container[attr.name];
                match attr.key {
                    "manager" => assert_eq!(got["value"], "m1"),
                    _ => assert_eq!(got, &value, "{path}"),
                }
            }
        }
    }
}
