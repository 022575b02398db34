//! Rules of the CSV exports: which columns, how cells and times are written, and what the
//! review-history report's filters accept.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::decision::Decision;
use super::review::{FieldError, ResourceKind, ScopeKind};

/// Columns of a review-results export, after Entra's review-history report.
pub const RESULT_COLUMNS: [&str; 22] = [
    "AccessReviewId",
    "SeriesId",
    "ReviewType",
    "Resource",
    "ReviewName",
    "ReviewStartDate",
    "ReviewEndDate",
    "ReviewStatus",
    "PrincipalId",
    "PrincipalName",
    "PrincipalUPN",
    "PrincipalType",
    "ReviewDate",
    "ReviewResult",
    "Justification",
    "ReviewerId",
    "ReviewerName",
    "ReviewerUPN",
    "AppliedBy",
    "AppliedDate",
    "AccessRecommendation",
    "ApplyResult",
];

/// The columns a multi-stage review's results add after [`RESULT_COLUMNS`]: each stage's
/// decision, who made it, when, and why.
pub fn stage_columns(stages: i32) -> Vec<String> {
    (1..=stages)
        .flat_map(|n| ["Decision", "ReviewerName", "ReviewDate", "Justification"].map(|c| format!("Stage{n}{c}")))
        .collect()
}

/// The columns of a review's remediation tasks as CSV: one row per removal to make where.
pub const REMEDIATION_COLUMNS: [&str; 13] = [
    "Source",
    "ResourceType",
    "Resource",
    "PrincipalUPN",
    "PrincipalName",
    "AccessPath",
    "Decision",
    "Reviewer",
    "DecidedAt",
    "Reason",
    "TaskState",
    "SeenRemovedAt",
    "RegrantedAt",
];

/// A cell as written to the file. Spreadsheets run a cell that starts with `=`, `+`, `-`
/// or `@` as a formula (tab and carriage return can smuggle one in too), so a name or a
/// justification like `=HYPERLINK(…)` could run when an auditor opens the export: such
/// cells get a leading `'`, which spreadsheets show as text and do not evaluate.
pub fn guard_cell(text: &str) -> Cow<'_, [u8]> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => {
            let mut out = Vec::with_capacity(text.len() + 1);
            out.push(b'\'');
            out.extend_from_slice(text.as_bytes());
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(text.as_bytes()),
    }
}

/// A UTC time in ISO 8601 (`2026-11-28T09:00:00Z`), written without a formatter: an
/// export writes hundreds of thousands of them.
#[derive(Debug, Clone, Copy)]
pub struct IsoTime([u8; 20]);

impl IsoTime {
    /// `at` (UTC), to the second.
    pub fn new(at: NaiveDateTime) -> Self {
        let mut b = *b"0000-00-00T00:00:00Z";
        let year = u32::try_from(at.year()).unwrap_or(0).min(9999);
        put(&mut b[0..4], year);
        put(&mut b[5..7], at.month());
        put(&mut b[8..10], at.day());
        put(&mut b[11..13], at.hour());
        put(&mut b[14..16], at.minute());
        put(&mut b[17..19], at.second());
        Self(b)
    }

    /// The text, as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Writes `n` as zero-padded decimal digits filling `out`.
fn put(out: &mut [u8], mut n: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
    }
}

/// The report's filters as the form sends them (repeated `kind` and `result`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryParams {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// Checked kinds.
    pub kinds: Vec<String>,
    /// Checked results.
    pub results: Vec<String>,
    /// Whether the form was sent at all (a first visit shows the defaults).
    pub submitted: bool,
}

impl HistoryParams {
    /// Reads the pairs of a query string; unknown keys are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut p = Self::default();
        for (key, value) in pairs {
            p.submitted = true;
            match key.as_ref() {
                "from" => p.from = value.trim().to_owned(),
                "to" => p.to = value.trim().to_owned(),
                "kind" => p.kinds.push(value.into_owned()),
                "result" => p.results.push(value.into_owned()),
                _ => {}
            }
        }
        if !p.submitted {
            p.kinds = ResourceKind::ALL.iter().map(|k| k.report_name().to_owned()).collect();
            p.results = Decision::ALL.iter().map(|d| d.as_str().to_owned()).collect();
        }
        p
    }

    /// Whether a checkbox of `kind` or `result` is checked.
    pub fn has(&self, list: &str, value: &str) -> bool {
        let values = if list == "kind" { &self.kinds } else { &self.results };
        values.iter().any(|v| v == value)
    }

    /// The filters, or every problem with a message that says how to fix it.
    pub fn validate(&self) -> Result<HistoryFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let from = parse_day(&self.from, "from", "start", &mut errors);
        let to = parse_day(&self.to, "to", "end", &mut errors);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.push(FieldError {
                field: "to",
                message: format!("Enter an end date on or after the start date ({from})"),
            });
        }
        let mut kinds = Vec::new();
        for k in &self.kinds {
            match ResourceKind::parse_report_name(k) {
                Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                Some(_) => {}
                None => errors.push(FieldError {
                    field: "kind",
                    message: format!("“{}” is not a kind of resource: choose groups, applications or roles", clip(k)),
                }),
            }
        }
        if kinds.is_empty() && self.kinds.is_empty() {
            errors.push(FieldError { field: "kind", message: "Select at least one kind of resource".into() });
        }
        let mut results = Vec::new();
        for r in &self.results {
            match Decision::parse(r) {
                Some(d) if !results.contains(&d) => results.push(d),
                Some(_) => {}
                None => errors.push(FieldError {
                    field: "result",
                    message: format!("“{}” is not a result: choose Approve, Deny, Don't know or Not reviewed", clip(r)),
                }),
            }
        }
        if results.is_empty() && self.results.is_empty() {
            errors.push(FieldError { field: "result", message: "Select at least one result".into() });
        }
        if errors.is_empty() { Ok(HistoryFilter { from, to, kinds, results }) } else { Err(errors) }
    }
}

/// At most 40 characters of what someone typed, for a message.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

fn parse_day(text: &str, field: &'static str, which: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    if text.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // A year such as -262143 parses, but PostgreSQL cannot hold it.
        Ok(day) => crate::domain::review::within_filter_range(Some(day), field, which, errors),
        Err(_) => {
            errors.push(FieldError {
                field,
                message: format!("Enter the {which} date as year-month-day, for example 2026-09-30"),
            });
            None
        }
    }
}

/// The review-history report's filters, valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Reviews still running on or after this day.
    pub from: Option<NaiveDate>,
    /// Reviews started on or before this day.
    pub to: Option<NaiveDate>,
    /// Reviews of these kinds.
    pub kinds: Vec<ResourceKind>,
    /// Items with these results.
    pub results: Vec<Decision>,
}

impl HistoryFilter {
    /// The stored scopes of the kinds asked for.
    pub fn scopes(&self) -> Vec<ScopeKind> {
        self.kinds.iter().flat_map(|k| k.scopes().iter().copied()).collect()
    }

    /// Whether every result is asked for (no filter on the items).
    pub fn all_results(&self) -> bool {
        Decision::ALL.iter().all(|d| self.results.contains(d))
    }

    /// The results asked for, as stored.
    pub fn result_names(&self) -> Vec<&'static str> {
        self.results.iter().map(|d| d.as_str()).collect()
    }

    /// Start of the first day (inclusive), if bounded.
    pub fn from_time(&self) -> Option<NaiveDateTime> {
        self.from.and_then(|d| d.and_hms_opt(0, 0, 0))
    }

    /// Start of the day after the last day (exclusive), if bounded.
    pub fn until_time(&self) -> Option<NaiveDateTime> {
        self.to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0))
    }

    /// A file name that says what the report holds.
    pub fn file_name(&self) -> String {
        let day = |d: Option<NaiveDate>| d.map_or_else(|| "all".to_owned(), |d| d.to_string());
        format!("access-review-history-{}-to-{}.csv", day(self.from), day(self.to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HistoryParams {
        HistoryParams::from_pairs(pairs.iter().map(|(k, v)| (Cow::from(*k), Cow::from(*v))))
    }

    #[test]
    fn formula_cells_are_quoted() {
        for bad in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x", "\r=x"] {
            assert_eq!(guard_cell(bad).first(), Some(&b'\''), "{bad:?}");
        }
        assert_eq!(guard_cell("Ada = admin").as_ref(), b"Ada = admin");
        assert_eq!(guard_cell("").as_ref(), b"");
    }

    #[test]
    fn times_are_iso() {
        let at = NaiveDate::from_ymd_opt(2026, 1, 9).unwrap().and_hms_opt(7, 5, 3).unwrap();
        assert_eq!(IsoTime::new(at).as_bytes(), b"2026-01-09T07:05:03Z");
    }

    #[test]
    fn kinds_follow_the_scope() {
        assert_eq!(ResourceKind::of_scope(ScopeKind::GuestGroups), ResourceKind::Group);
        assert_eq!(ResourceKind::of_scope(ScopeKind::ResourceRoles), ResourceKind::Role);
    }

    #[test]
    fn history_filters_validate() {
        let first = params(&[]);
        assert!(!first.submitted && first.has("kind", "role") && first.has("result", "DontKnow"));
        let all = first.validate().unwrap();
        assert!(all.all_results() && all.from.is_none());

        let ok = params(&[("from", "2026-09-01"), ("to", "2026-09-30"), ("kind", "group"), ("result", "Deny")])
            .validate()
            .unwrap();
        assert_eq!(ok.scopes(), vec![ScopeKind::Groups, ScopeKind::GuestGroups]);
        assert_eq!(ok.until_time().unwrap().to_string(), "2026-10-01 00:00:00");
        assert!(!ok.all_results());
        assert_eq!(ok.file_name(), "access-review-history-2026-09-01-to-2026-09-30.csv");

        let bad = params(&[("from", "2026-09-31"), ("to", "x"), ("kind", "printer"), ("result", "Maybe")])
            .validate()
            .unwrap_err();
        let fields: Vec<_> = bad.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["from", "to", "kind", "result"]);
        assert!(bad[2].message.contains("“printer”"));

        let backwards =
            params(&[("from", "2026-09-30"), ("to", "2026-09-01"), ("kind", "role"), ("result", "Approve")])
                .validate()
                .unwrap_err();
        assert_eq!(backwards[0].field, "to");
        assert!(backwards[0].message.contains("on or after"));

        let none = params(&[("from", "")]).validate().unwrap_err();
        assert_eq!(none.iter().map(|e| e.field).collect::<Vec<_>>(), vec!["kind", "result"]);
    }
}
