//! Keyset paging: lists are ordered by (name, id) and a page continues after, or ends
//! before, the id of a row. Unlike OFFSET, page 1000 costs what page 1 costs.

use serde::Deserialize;

use super::directory::ObjectId;

/// Rows on one page of a list.
pub const PAGE_SIZE: usize = 50;

/// The longest search text accepted.
pub const MAX_SEARCH_LEN: usize = 200;

/// The query string of a paged, searchable list, as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    /// Search text (name or UPN contains it).
    pub q: Option<String>,
    /// Continue after the row with this id.
    pub after: Option<String>,
    /// End before the row with this id (the previous page).
    pub before: Option<String>,
}

/// Where a page starts, by the id of a row on a neighbouring page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    /// The first page.
    First,
    /// The page after the row with this id.
    After(String),
    /// The page before the row with this id.
    Before(String),
}

/// A list request after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// Trimmed, non-empty search text.
    pub search: Option<String>,
    /// Which page.
    pub at: PageAt,
}

impl ListParams {
    /// Validates the query string; the error says what to change.
    pub fn validate(self) -> Result<ListRequest, String> {
        let search = self.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        if let Some(q) = &search
            && q.chars().count() > MAX_SEARCH_LEN
        {
            return Err(format!("Enter a search of at most {MAX_SEARCH_LEN} characters."));
        }
        let at = match (self.after.filter(|s| !s.is_empty()), self.before.filter(|s| !s.is_empty())) {
            (None, None) => PageAt::First,
            (Some(id), None) => PageAt::After(check_cursor(id)?),
            (None, Some(id)) => PageAt::Before(check_cursor(id)?),
            (Some(_), Some(_)) => {
                return Err("A page link has both 'after' and 'before'; use one.".into());
            }
        };
        Ok(ListRequest { search, at })
    }
}

fn check_cursor(id: String) -> Result<String, String> {
    ObjectId::try_from(id)
        .map(ObjectId::into_string)
        .map_err(|_| "This page link is not valid. Start again from the first page.".to_owned())
}

/// One page of rows, with the ids to continue from.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, in list order.
    pub items: Vec<T>,
    /// Id of the last row, when a next page exists.
    pub next: Option<String>,
    /// Id of the first row, when a previous page exists.
    pub prev: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in the direction `at` asks for
    /// (descending for `Before`); the extra row only tells that more exist.
    pub fn from_rows(mut rows: Vec<T>, at: &PageAt, limit: usize, id_of: impl Fn(&T) -> String) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        if matches!(at, PageAt::Before(_)) {
            rows.reverse();
        }
        let (has_prev, has_next) = match at {
            PageAt::First => (false, more),
            PageAt::After(_) => (true, more),
            PageAt::Before(_) => (more, true),
        };
        let next = if has_next { rows.last().map(&id_of) } else { None };
        let prev = if has_prev { rows.first().map(&id_of) } else { None };
        Page { items: rows, next, prev }
    }

    /// Whether the page is the only one.
    pub fn is_single(&self) -> bool {
        self.next.is_none() && self.prev.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, after: Option<&str>, before: Option<&str>) -> ListParams {
        ListParams { q: q.map(Into::into), after: after.map(Into::into), before: before.map(Into::into) }
    }

    #[test]
    fn params_validate() {
        let ok = params(Some("  ada "), Some("abc-1"), None).validate().unwrap();
        assert_eq!(ok.search.as_deref(), Some("ada"));
        assert_eq!(ok.at, PageAt::After("abc-1".into()));
        assert_eq!(
            params(Some("   "), Some(""), None).validate().unwrap(),
            ListRequest { search: None, at: PageAt::First }
        );
        assert!(params(None, Some("a"), Some("b")).validate().unwrap_err().contains("use one"));
        assert!(params(None, Some("x' OR 1=1"), None).validate().unwrap_err().contains("not valid"));
        assert!(params(Some(&"x".repeat(201)), None, None).validate().unwrap_err().contains("200"));
    }

    #[test]
    fn pages_know_their_neighbours() {
        let first = Page::from_rows(vec![1, 2, 3], &PageAt::First, 2, |n| n.to_string());
        assert_eq!((first.items.clone(), first.prev.clone(), first.next.clone()), (vec![1, 2], None, Some("2".into())));
        let last = Page::from_rows(vec![3], &PageAt::After("2".into()), 2, |n| n.to_string());
        assert_eq!((last.prev.clone(), last.next.clone()), (Some("3".into()), None));
        // Fetched descending: 2, 1, 0 → shown 1, 2 with a previous page before 1.
        let back = Page::from_rows(vec![2, 1, 0], &PageAt::Before("3".into()), 2, |n| n.to_string());
        assert_eq!(
            (back.items.clone(), back.prev.clone(), back.next.clone()),
            (vec![1, 2], Some("1".into()), Some("2".into()))
        );
        let only = Page::from_rows(vec![1], &PageAt::First, 2, |n| n.to_string());
        assert!(only.is_single());
    }
}
