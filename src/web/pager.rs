//! The search box and previous/next links of a keyset-paged list, shared by every list
//! page (`m::search` and `m::pager` in templates/macros.html render it).

use crate::domain::paging::{ListRequest, Page};

/// Search box and previous/next links of a list.
pub struct Pager {
    /// The search text, as entered.
    pub q: String,
    /// Id to page back from.
    pub prev: Option<String>,
    /// Id to page on from.
    pub next: Option<String>,
}

impl Pager {
    /// The pager of `page`, found for `request`.
    pub fn new<T>(request: &ListRequest, page: &Page<T>) -> Self {
        Self { q: request.search.clone().unwrap_or_default(), prev: page.prev.clone(), next: page.next.clone() }
    }

    /// The pager of a list without search.
    pub fn unsearched<T>(page: &Page<T>) -> Self {
        Self { q: String::new(), prev: page.prev.clone(), next: page.next.clone() }
    }
}
