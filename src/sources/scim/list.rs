//! List responses and paging (RFC 7644 §3.4.2, §3.4.2.4).
//!
//! Paging is by `startIndex` (1-based) and `count`. Sorting is not supported
//! (`sort.supported` is false in `/ServiceProviderConfig`): `sortBy` and `sortOrder` are
//! ignored, and the store must return resources in one stable order (by id, say) so that
//! consecutive pages neither skip nor repeat, as Okta requires.

use serde_json::{Value, json};

use super::LIST_SCHEMA;
use super::error::{ScimError, quote};

/// Resources on a page when the client does not say.
pub const DEFAULT_COUNT: u32 = 100;

/// The most resources on one page (also `filter.maxResults`).
pub const MAX_COUNT: u32 = 1000;

/// Which page a list request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// The 1-based index of the first resource.
    pub start_index: u64,
    /// How many resources at most (0: only `totalResults`).
    pub count: u32,
}

impl Default for Paging {
    fn default() -> Self {
        Self { start_index: 1, count: DEFAULT_COUNT }
    }
}

impl Paging {
    /// From the query parameters. As RFC 7644 says, a `startIndex` below 1 means 1 and a
    /// negative `count` means 0; a `count` above [`MAX_COUNT`] is lowered to it. What is not
    /// a whole number is `invalidValue`.
    pub fn parse(start_index: Option<&str>, count: Option<&str>) -> Result<Self, ScimError> {
        let start_index = match start_index.map(str::trim).filter(|s| !s.is_empty()) {
            None => 1,
            Some(text) => {
                let n: i64 = text.parse().map_err(|_| {
                    ScimError::invalid_value(format!(
                        "startIndex must be a whole number, 1 or more, not {}.",
                        quote(text)
                    ))
                })?;
                n.max(1).unsigned_abs()
            }
        };
        let count = match count.map(str::trim).filter(|s| !s.is_empty()) {
            None => DEFAULT_COUNT,
            Some(text) => {
                let n: i64 = text.parse().map_err(|_| {
                    ScimError::invalid_value(format!(
                        "count must be a whole number from 0 to {MAX_COUNT}, not {}.",
                        quote(text)
                    ))
                })?;
                u32::try_from(n.clamp(0, i64::from(MAX_COUNT))).unwrap_or(MAX_COUNT)
            }
        };
        Ok(Self { start_index, count })
    }

    /// How many resources to skip (SQL `OFFSET`).
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }
}

/// A page of resources.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    /// How many resources match in all.
    pub total_results: u64,
    /// The 1-based index of the first resource on this page.
    pub start_index: u64,
    /// The resources on this page, rendered and projected.
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// The RFC 7644 §3.4.2 body; `itemsPerPage` is the number of resources on the page,
    /// and the numbers are JSON numbers (Okta insists).
    pub fn to_json(&self) -> Value {
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": self.total_results,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::scim::error::ScimType;

    #[test]
    fn paging_parameters() {
        let table = [
            (None, None, 1, DEFAULT_COUNT),
            (Some("1"), Some("100"), 1, 100),
            (Some("101"), Some("100"), 101, 100),
            (Some(" 3 "), Some("0"), 3, 0),
            (Some("0"), Some("-5"), 1, 0),
            (Some("-7"), Some("5000"), 1, MAX_COUNT),
            (Some(""), Some(""), 1, DEFAULT_COUNT),
            (Some("9223372036854775807"), Some("1"), 9_223_372_036_854_775_807, 1),
        ];
        for (start, count, want_start, want_count) in table {
            let paging = Paging::parse(start, count).unwrap();
            assert_eq!((paging.start_index, paging.count), (want_start, want_count), "{start:?} {count:?}");
        }
        assert_eq!(Paging::parse(Some("101"), None).unwrap().offset(), 100);
        assert_eq!(Paging::default().offset(), 0);
        for (start, count) in [
            (Some("x"), None),
            (Some("1.5"), None),
            (Some("99999999999999999999"), None),
            (None, Some("ten")),
            (None, Some("1e3")),
        ] {
            let err = Paging::parse(start, count).unwrap_err();
            assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
            assert!(err.detail().contains("whole number"));
        }
    }

    #[test]
    fn renders_a_list() {
        let empty = ListResponse { total_results: 0, start_index: 1, resources: vec![] };
        assert_eq!(
            empty.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
            })
        );
        let page = ListResponse {
            total_results: 250,
            start_index: 101,
            resources: vec![json!({"id": "a"}), json!({"id": "b"})],
        };
        let json = page.to_json();
        assert_eq!(json["itemsPerPage"], 2);
        assert_eq!(json["totalResults"], 250);
        assert_eq!(json["startIndex"], 101);
    }
}
