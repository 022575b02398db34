//! SCIM errors (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a detail that
//! says what to fix. Every parser in this module returns them, so the HTTP edge only
//! renders.

use std::fmt;

use serde_json::{Value, json};

use super::ERROR_SCHEMA;

/// The `scimType` values of RFC 7644 §3.12 that attest uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter is malformed or names an attribute or operator attest cannot filter on.
    InvalidFilter,
    /// The request body is not a valid SCIM message (not JSON, wrong shape, wrong schema).
    InvalidSyntax,
    /// A PATCH `path` is malformed or names something that cannot be patched that way.
    InvalidPath,
    /// A value is missing, of the wrong type or out of range.
    InvalidValue,
    /// The change is not compatible with the attribute's mutability (`id`, `meta`).
    Mutability,
    /// A PATCH path with a value filter matched nothing that could be changed.
    NoTarget,
    /// A value that must be unique is already taken.
    Uniqueness,
    /// The request would return or touch more resources than attest handles at once.
    TooMany,
}

impl ScimType {
    /// The spelling on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::InvalidValue => "invalidValue",
            Self::Mutability => "mutability",
            Self::NoTarget => "noTarget",
            Self::Uniqueness => "uniqueness",
            Self::TooMany => "tooMany",
        }
    }

    /// The HTTP status RFC 7644 §3.12 gives this error: 409 for uniqueness, 400 otherwise.
    pub fn status(self) -> u16 {
        match self {
            Self::Uniqueness => 409,
            _ => 400,
        }
    }
}

/// An error answer of the SCIM API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

impl ScimError {
    /// An error of a kind that has a `scimType`, with the status RFC 7644 gives it.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self { status: scim_type.status(), scim_type: Some(scim_type), detail: detail.into() }
    }

    /// `invalidFilter` (400).
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, detail)
    }

    /// `invalidSyntax` (400).
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }

    /// `invalidPath` (400).
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, detail)
    }

    /// `invalidValue` (400).
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }

    /// `mutability` (400).
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, detail)
    }

    /// `noTarget` (400).
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, detail)
    }

    /// `uniqueness` (409).
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Uniqueness, detail)
    }

    /// `tooMany` (400).
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(ScimType::TooMany, detail)
    }

    /// An error without a `scimType`: 401 (no valid token), 404 (no such resource), 412
    /// (the `If-Match` version is not current), 413 (body too large), 501 (not supported).
    pub fn with_status(status: u16, detail: impl Into<String>) -> Self {
        Self { status, scim_type: None, detail: detail.into() }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `scimType`, when the error has one.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }

    /// What went wrong and how to fix it.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The RFC 7644 §3.12 body. `status` is a string there, not a number.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t.as_str(), self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

/// A piece of client input quoted in an error detail: at most 60 characters, with control
/// and bidi characters escaped, so a hostile value can neither flood nor garble the message
/// (or a log that shows it).
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::from("'");
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() || is_format_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Bidi controls and line or paragraph separators: invisible characters that change how
/// the text around them is shown.
pub(crate) fn is_format_char(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc_7644_error_with_status_as_string() {
        let err = ScimError::uniqueness("A user with userName 'ada' already exists.");
        assert_eq!(err.status(), 409);
        assert_eq!(
            err.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "A user with userName 'ada' already exists."
            })
        );
    }

    #[test]
    fn every_scim_type_has_its_status() {
        let table = [
            (ScimType::InvalidFilter, "invalidFilter", 400),
            (ScimType::InvalidSyntax, "invalidSyntax", 400),
            (ScimType::InvalidPath, "invalidPath", 400),
            (ScimType::InvalidValue, "invalidValue", 400),
            (ScimType::Mutability, "mutability", 400),
            (ScimType::NoTarget, "noTarget", 400),
            (ScimType::Uniqueness, "uniqueness", 409),
            (ScimType::TooMany, "tooMany", 400),
        ];
        for (t, text, status) in table {
            let err = ScimError::new(t, "x");
            assert_eq!(err.to_json()["scimType"], text);
            assert_eq!(err.to_json()["status"], status.to_string());
            assert_eq!(err.status(), status);
        }
    }

    #[test]
    fn errors_without_type_omit_scim_type() {
        let body = ScimError::with_status(404, "No user has the id 'x'.").to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn quoted_input_is_bounded_and_escaped() {
        assert_eq!(quote("ab"), "'ab'");
        assert_eq!(quote("a\u{202e}b\0"), "'a\\u{202e}b\\u{0}'");
        let long = quote(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), 63);
        assert!(long.ends_with("…'"));
    }
}
