//! `meta` of rendered resources (RFC 7643 §3.1) and the entity tags built from versions.

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{Value, json};

use super::schema::ResourceType;

/// What the store knows about a resource besides its attributes, and where the SCIM API
/// is served, for rendering `meta` and references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta<'a> {
    /// The SCIM base URL as clients reach it, e.g. `https://attest.example.com/scim/v2`.
    pub base_url: &'a str,
    /// When the resource was created (UTC).
    pub created: NaiveDateTime,
    /// When it last changed (UTC).
    pub last_modified: NaiveDateTime,
    /// Its version: any text that changes whenever the resource changes (a counter, a
    /// hash). Rendered as the weak entity tag `W/"…"`.
    pub version: &'a str,
}

impl Meta<'_> {
    /// The `meta` object of a resource.
    pub fn render(&self, resource: ResourceType, id: &str) -> Value {
        json!({
            "resourceType": resource.name(),
            "created": format_time(self.created),
            "lastModified": format_time(self.last_modified),
            "location": location(self.base_url, resource, id),
            "version": etag(self.version),
        })
    }
}

/// The URL of a resource: `{base}/Users/{id}`.
pub fn location(base_url: &str, resource: ResourceType, id: &str) -> String {
    format!("{}{}/{id}", base_url.trim_end_matches('/'), resource.endpoint())
}

/// A time as SCIM writes it: `2026-01-23T04:56:22.000Z`.
pub fn format_time(time: NaiveDateTime) -> String {
    time.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The weak entity tag of a version, for `meta.version` and the `ETag` header. Characters
/// an entity tag cannot hold (RFC 9110 §8.8.3: `"`, controls, spaces) are dropped.
pub fn etag(version: &str) -> String {
    let clean: String = version.chars().filter(|c| is_etag_char(*c)).collect();
    format!("W/\"{clean}\"")
}

fn is_etag_char(c: char) -> bool {
    c == '!' || (('#'..='~').contains(&c)) || (c as u32) >= 0x80 && !c.is_control()
}

/// Whether an `If-Match` header allows changing a resource at `version`: `*`, or a list of
/// entity tags one of which is the version's (weak comparison, RFC 9110 §13.1.1, so `W/`
/// prefixes do not matter). The same test answers `If-None-Match` with the opposite
/// meaning.
pub fn etag_matches(header: &str, version: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let wanted = etag(version);
    let wanted = wanted.trim_start_matches("W/");
    header.split(',').map(str::trim).map(|tag| tag.strip_prefix("W/").unwrap_or(tag)).any(|tag| tag == wanted)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 27).unwrap().and_hms_opt(h, 59, 26).unwrap()
    }

    #[test]
    fn renders_meta() {
        let meta = Meta {
            base_url: "https://attest.example.com/scim/v2/",
            created: at(9),
            last_modified: at(19),
            version: "7",
        };
        assert_eq!(
            meta.render(ResourceType::User, "2819c223"),
            json!({
                "resourceType": "User",
                "created": "2026-03-27T09:59:26.000Z",
                "lastModified": "2026-03-27T19:59:26.000Z",
                "location": "https://attest.example.com/scim/v2/Users/2819c223",
                "version": "W/\"7\""
            })
        );
        assert_eq!(location("/scim/v2", ResourceType::Group, "g1"), "/scim/v2/Groups/g1");
    }

    #[test]
    fn entity_tags() {
        assert_eq!(etag("3694e05e9dff591"), "W/\"3694e05e9dff591\"");
        assert_eq!(etag("a\"b c\u{0}d"), "W/\"abcd\"");
        assert!(etag_matches("*", "1"));
        assert!(etag_matches("W/\"1\"", "1"));
        assert!(etag_matches("\"1\"", "1"));
        assert!(etag_matches("W/\"0\", W/\"1\"", "1"));
        assert!(!etag_matches("W/\"2\"", "1"));
        assert!(!etag_matches("W/\"11\"", "1"));
        assert!(!etag_matches("", "1"));
    }
}
