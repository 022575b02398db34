//! Checks of single values from request bodies, shared by the resource parsers and the
//! PATCH appliers. Names (display name, title, department, name parts) are cleaned with
//! [`clean_display_text`]; identifiers (userName, externalId, email addresses, employee
//! numbers, ids) are never changed to make them fit: one holding a control or bidi
//! character is refused, so what a client matches on is what attest stores.

use serde_json::Value;

use super::error::{ScimError, is_format_char, quote};
use super::schema::MAX_TEXT;
use crate::domain::directory::{ObjectId, clean_display_text};

/// Case-insensitive lookup of a JSON object member (attribute names are
/// case-insensitive, RFC 7643 §2.1).
pub(crate) fn get_ci<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// Text from a JSON value: strings as they are, numbers as written (some clients send
/// employee numbers as numbers). `None` for null.
fn text<'a>(what: &str, value: &'a Value) -> Result<Option<std::borrow::Cow<'a, str>>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_str().into())),
        Value::Number(n) => Ok(Some(n.to_string().into())),
        _ => Err(ScimError::invalid_value(format!("{what} must be text, not {}.", kind_of(value)))),
    }
}

/// How a JSON value is described in messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An identifier: not blank, at most [`MAX_TEXT`] characters, no control or bidi
/// characters. `None` for null or "" (clients clear attributes with either).
pub(crate) fn identifier(what: &str, value: &Value) -> Result<Option<String>, ScimError> {
    let Some(text) = text(what, value)? else { return Ok(None) };
    if text.is_empty() {
        return Ok(None);
    }
    if text.trim().is_empty() {
        return Err(ScimError::invalid_value(format!("{what} is blank; send a value or null.")));
    }
    if let Some(c) = text.chars().find(|c| c.is_control() || is_format_char(*c)) {
        return Err(ScimError::invalid_value(format!(
            "{what} holds the invisible character U+{:04X}; send it without control or bidi characters.",
            u32::from(c)
        )));
    }
    let count = text.chars().count();
    if count > MAX_TEXT {
        return Err(ScimError::invalid_value(format!(
            "{what} is {count} characters long; attest keeps at most {MAX_TEXT}."
        )));
    }
    Ok(Some(text.into_owned()))
}

/// An identifier that must be there.
pub(crate) fn required_identifier(what: &str, value: &Value) -> Result<String, ScimError> {
    identifier(what, value)?.ok_or_else(|| ScimError::invalid_value(format!("{what} is required and cannot be empty.")))
}

/// A name to show, cleaned; `None` for null or when nothing is left after cleaning.
pub(crate) fn display_text(what: &str, value: &Value) -> Result<Option<String>, ScimError> {
    Ok(text(what, value)?.map(|t| clean_display_text(&t)).filter(|t| !t.is_empty()))
}

/// A boolean: `true`/`false`, or the strings `"True"`/`"False"` in any case (Entra sends
/// `active` as a string). `None` for null.
pub(crate) fn boolean(what: &str, value: &Value) -> Result<Option<bool>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Value::String(s) => Err(ScimError::invalid_value(format!("{what} must be true or false, not {}.", quote(s)))),
        other => Err(ScimError::invalid_value(format!("{what} must be true or false, not {}.", kind_of(other)))),
    }
}

/// The id of a resource attest gave out (a user, a group).
pub(crate) fn object_id(what: &str, value: &Value) -> Result<Option<String>, ScimError> {
    let Some(text) = identifier(what, value)? else { return Ok(None) };
    ObjectId::try_from(text).map(|id| Some(id.into_string())).map_err(|_| {
        ScimError::invalid_value(format!("{what} must be the id of a resource in attest (letters, digits and '-').",))
    })
}

/// One of a closed set of values, matched case-insensitively, as the set spells it.
pub(crate) fn canonical(
    what: &str,
    value: &Value,
    allowed: &'static [&'static str],
) -> Result<Option<&'static str>, ScimError> {
    let Some(text) = text(what, value)? else { return Ok(None) };
    if text.is_empty() {
        return Ok(None);
    }
    allowed.iter().copied().find(|a| a.eq_ignore_ascii_case(&text)).map(Some).ok_or_else(|| {
        ScimError::invalid_value(format!("{what} must be {}, not {}.", allowed.join(" or "), quote(&text)))
    })
}

/// Checks the `schemas` of a POST or PUT body: a list naming the core schema of the
/// resource type. Other URNs are tolerated (Entra lists a Microsoft group schema, older
/// Entra versions misspelled the enterprise one).
pub(crate) fn check_schemas(body: &Value, core: super::schema::Schema) -> Result<(), ScimError> {
    let listed = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core.urn()))));
    if listed {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!("The body must have \"schemas\": [\"{}\"].", core.urn())))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn identifiers_are_checked_not_cleaned() {
        assert_eq!(identifier("userName", &json!("ada@example.com")).unwrap().as_deref(), Some("ada@example.com"));
        assert_eq!(identifier("userName", &json!(" a b ")).unwrap().as_deref(), Some(" a b "));
        assert_eq!(identifier("employeeNumber", &json!(100009)).unwrap().as_deref(), Some("100009"));
        assert_eq!(identifier("externalId", &json!(null)).unwrap(), None);
        assert_eq!(identifier("externalId", &json!("")).unwrap(), None);
        for bad in [
            json!("   "),
            json!("a\u{0}b"),
            json!("a\nb"),
            json!("a\u{202e}b"),
            json!("a\u{2066}"),
            json!(true),
            json!({}),
            json!(["a"]),
        ] {
            let err = identifier("userName", &bad).unwrap_err();
            assert!(err.detail().starts_with("userName "), "{}", err.detail());
        }
        assert!(identifier("userName", &json!("x".repeat(256))).is_ok());
        let err = identifier("userName", &json!("é".repeat(257))).unwrap_err();
        assert!(err.detail().contains("257 characters"), "{}", err.detail());
        assert!(required_identifier("userName", &json!("")).unwrap_err().detail().contains("required"));
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(
            display_text("displayName", &json!(" Ada\u{202e}\n Lovelace\u{0} ")).unwrap().as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(display_text("displayName", &json!("\u{202e}\u{0}")).unwrap(), None);
        assert_eq!(display_text("displayName", &json!("x".repeat(100_000))).unwrap().unwrap().chars().count(), 256);
        assert!(display_text("displayName", &json!(["x"])).is_err());
    }

    #[test]
    fn booleans_accept_entra_strings() {
        for (value, expected) in [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!("True"), Some(true)),
            (json!("FALSE"), Some(false)),
            (json!(null), None),
        ] {
            assert_eq!(boolean("active", &value).unwrap(), expected, "{value}");
        }
        for bad in [json!("yes"), json!(1), json!("")] {
            assert!(boolean("active", &bad).unwrap_err().detail().contains("true or false"));
        }
    }

    #[test]
    fn ids_and_closed_sets() {
        assert_eq!(object_id("manager", &json!("00aa00aa-bb11")).unwrap().as_deref(), Some("00aa00aa-bb11"));
        assert!(object_id("manager", &json!("a b")).is_err());
        assert!(object_id("manager", &json!("x".repeat(65))).is_err());
        assert_eq!(canonical("userType", &json!("guest"), &["Member", "Guest"]).unwrap(), Some("Guest"));
        assert!(
            canonical("userType", &json!("Contractor"), &["Member", "Guest"])
                .unwrap_err()
                .detail()
                .contains("Member or Guest")
        );
    }
}
