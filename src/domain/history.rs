//! Review-history reports as Graph's clients ask for them (`accessReviewHistoryDefinition`):
//! their decision filters and scopes, and the rules that turn a request into the admin
//! page's review-history filter ([`HistoryFilter`]), with every problem named by Graph's
//! properties. Pure: the service stores and serves them.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::domain::decision::Decision;
use crate::domain::export::{HistoryFilter, HistoryParams};
use crate::domain::review::{FieldError, MAX_NAME, ResourceKind, within_filter_range};

/// Graph's decision filter for people who were never notified. attest notifies every
/// reviewer, so it selects nothing more.
pub const NOT_NOTIFIED: &str = "notNotified";
/// Graph's property of the period's start, which its problems name.
pub const START_FIELD: &str = "reviewHistoryPeriodStartDateTime";
/// Graph's property of the period's end.
pub const END_FIELD: &str = "reviewHistoryPeriodEndDateTime";
/// One of Graph's decision filters (`accessReviewHistoryDecisionFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionFilter {
    /// Items with this decision.
    Decision(Decision),
    /// `notNotified`: nothing in attest.
    NotNotified,
}

impl DecisionFilter {
    /// Every filter, in Graph's order.
    pub const ALL: [Self; 5] = [
        Self::Decision(Decision::Approve),
        Self::Decision(Decision::Deny),
        Self::Decision(Decision::NotReviewed),
        Self::Decision(Decision::DontKnow),
        Self::NotNotified,
    ];

    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decision(Decision::Approve) => "approve",
            Self::Decision(Decision::Deny) => "deny",
            Self::Decision(Decision::NotReviewed) => "notReviewed",
            Self::Decision(Decision::DontKnow) => "dontKnow",
            Self::NotNotified => NOT_NOTIFIED,
        }
    }

    /// Reads Graph's spelling in any case (clients write `Approve` as often as `approve`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// A scope as a client sent it, kept to be given back as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryScope {
    /// Its `@odata.type`.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The query, which says which kinds of resource ([`kinds_of_query`]).
    pub query: String,
    /// Its `queryType`.
    pub query_type: String,
    /// Its `queryRoot`.
    pub query_root: Option<String>,
}

/// The kinds of resource a scope's query selects: a query naming `/groups` selects groups,
/// `/servicePrincipals` applications, `roleManagement` or `roleDefinitions` roles (the
/// queries of attest's own series' scopes, and Graph's `contains(scope/query, '/groups')`).
pub fn kinds_of_query(query: &str) -> Vec<ResourceKind> {
    let query = query.to_ascii_lowercase();
    ResourceKind::ALL
        .into_iter()
        .filter(|kind| match kind {
            ResourceKind::Group => query.contains("/groups"),
            ResourceKind::Application => query.contains("/serviceprincipals"),
            ResourceKind::Role => query.contains("rolemanagement") || query.contains("roledefinitions"),
        })
        .collect()
}

/// A report as a client asks for it, read by the API edge.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    /// The name.
    pub display_name: String,
    /// The period (UTC).
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Graph's decision filters as sent; empty: every decision.
    pub decisions: Vec<String>,
    /// The scopes as sent; empty: every kind of resource.
    pub scopes: Vec<HistoryScope>,
}

/// The non-empty lines of a stored list.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// At most 200 characters of what a client sent, for a message (a query is long).
fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The admin page's report filter for a period, decision filters and kinds, or every
/// problem, named by Graph's properties. The period's days count: the report covers the
/// reviews still running on the start's day or later and started on the end's day or
/// earlier, as the page's "from" and "to".
pub fn report_filter(
    start: NaiveDateTime,
    end: NaiveDateTime,
    decisions: &[DecisionFilter],
    kinds: &[ResourceKind],
) -> Result<HistoryFilter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let from = within_filter_range(Some(start.date()), START_FIELD, "start", &mut errors);
    let to = within_filter_range(Some(end.date()), END_FIELD, "end", &mut errors);
    let (Some(from), Some(to)) = (from, to) else { return Err(errors) };
    // The page compares days; two times of one day are compared here.
    if from == to && end < start {
        errors.push(FieldError { field: END_FIELD, message: format!("Enter an end on or after the start ({start})") });
    }
    let results: Vec<&'static str> = decisions
        .iter()
        .filter_map(|d| match d {
            DecisionFilter::Decision(d) => Some(d.as_str()),
            DecisionFilter::NotNotified => None,
        })
        .collect();
    // Only `notNotified`: a report without rows (nobody is left unnotified). The page's
    // rules want a result, so every one is checked and then none is kept.
    let nothing = !decisions.is_empty() && results.is_empty();
    let params = HistoryParams {
        from: from.to_string(),
        to: to.to_string(),
        kinds: kinds.iter().map(|k| k.report_name().to_owned()).collect(),
        results: if results.is_empty() {
            Decision::ALL.iter().map(|d| d.as_str().to_owned()).collect()
        } else {
            results.iter().map(|r| (*r).to_owned()).collect()
        },
        submitted: true,
    };
    match params.validate() {
        Ok(mut filter) if errors.is_empty() => {
            if nothing {
                filter.results.clear();
            }
            Ok(filter)
        }
        Ok(_) => Err(errors),
        Err(found) => {
            errors.extend(found.into_iter().map(|e| FieldError {
                field: match e.field {
                    "from" => START_FIELD,
                    "to" => END_FIELD,
                    "kind" => "scopes",
                    "result" => "decisions",
                    other => other,
                },
                message: e.message,
            }));
            Err(errors)
        }
    }
}

/// A request checked: its name, decision filters (Graph's spelling) and kinds.
#[derive(Debug)]
pub struct Checked {
    /// The name, trimmed.
    pub display_name: String,
    /// The decision filters, each once.
    pub decisions: Vec<DecisionFilter>,
    /// The kinds of resource, in one order.
    pub kinds: Vec<ResourceKind>,
}

/// Checks a request with the page's rules; every problem, named by Graph's properties.
pub fn check(req: &HistoryRequest) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    let display_name = req.display_name.trim().to_owned();
    if display_name.is_empty() {
        errors.push(FieldError { field: "displayName", message: "Give the report a name".into() });
    } else if display_name.chars().any(char::is_control) {
        errors.push(FieldError { field: "displayName", message: "Give a name without control characters".into() });
    } else if display_name.chars().count() > MAX_NAME {
        errors.push(FieldError {
            field: "displayName",
            message: format!("Give a name of at most {MAX_NAME} characters"),
        });
    }
    let mut decisions = Vec::new();
    for text in &req.decisions {
        match DecisionFilter::parse(text) {
            Some(d) if !decisions.contains(&d) => decisions.push(d),
            Some(_) => {}
            None => errors.push(FieldError {
                field: "decisions",
                message: format!(
                    "“{}” is not a decision: use approve, deny, dontKnow, notReviewed or notNotified",
                    clip(text)
                ),
            }),
        }
    }
    let mut kinds = Vec::new();
    for scope in &req.scopes {
        // PostgreSQL keeps no NUL in text, and no query Graph documents has one.
        let texts = [&scope.odata_type, &scope.query, &scope.query_type];
        if texts.into_iter().chain(scope.query_root.as_ref()).any(|t| t.contains('\0')) {
            errors.push(FieldError { field: "scopes", message: "remove the NUL character from the scope".into() });
            continue;
        }
        let found = kinds_of_query(&scope.query);
        if found.is_empty() {
            errors.push(FieldError {
                field: "scopes",
                message: format!(
                    "the query “{}” names no kind of resource attest reviews: use \
                     /identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '/groups') \
                     (or '/servicePrincipals', or 'roleManagement')",
                    clip(&scope.query)
                ),
            });
        }
        kinds.extend(found);
    }
    // One order whatever the scopes' order: the stored kinds and the audit trail read alike.
    let kinds: Vec<ResourceKind> = if req.scopes.is_empty() {
        ResourceKind::ALL.to_vec()
    } else {
        ResourceKind::ALL.into_iter().filter(|k| kinds.contains(k)).collect()
    };
    if req.decisions.is_empty() {
        decisions = DecisionFilter::ALL.to_vec();
    }
    match report_filter(req.start, req.end, &decisions, &kinds) {
        Ok(_) if errors.is_empty() => Ok(Checked { display_name, decisions, kinds }),
        Ok(_) => Err(errors),
        Err(found) => {
            // A decision or scope the loops above refused is not named twice.
            let named: Vec<&str> = errors.iter().map(|e| e.field).collect();
            let more: Vec<FieldError> = found.into_iter().filter(|e| !named.contains(&e.field)).collect();
            errors.extend(more);
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    fn request(decisions: &[&str], queries: &[&str]) -> HistoryRequest {
        HistoryRequest {
            display_name: "Q3 evidence".into(),
            start: at(2026, 9, 1, 0),
            end: at(2026, 9, 30, 23),
            decisions: decisions.iter().map(|d| (*d).to_owned()).collect(),
            scopes: queries
                .iter()
                .map(|q| HistoryScope {
                    odata_type: "#microsoft.graph.accessReviewQueryScope".into(),
                    query: (*q).to_owned(),
                    query_type: "MicrosoftGraph".into(),
                    query_root: None,
                })
                .collect(),
        }
    }

    #[test]
    fn queries_select_kinds_as_attest_and_graph_write_them() {
        let defs = "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, ";
        assert_eq!(kinds_of_query(&format!("{defs}'/groups')")), vec![ResourceKind::Group]);
        assert_eq!(kinds_of_query(&format!("{defs}'/servicePrincipals')")), vec![ResourceKind::Application]);
        assert_eq!(
            kinds_of_query("/roleManagement/directory/roleAssignmentScheduleInstances"),
            vec![ResourceKind::Role]
        );
        assert_eq!(kinds_of_query("/roleManagement/directory/roleDefinitions/x"), vec![ResourceKind::Role]);
        assert_eq!(kinds_of_query("/GROUPS/x/transitiveMembers"), vec![ResourceKind::Group]);
        assert!(kinds_of_query("/users").is_empty());
    }

    #[test]
    fn decisions_read_in_any_case_and_not_notified_adds_nothing() {
        let checked = check(&request(&["Approve", "DENY", "notNotified", "approve"], &[])).unwrap();
        let names: Vec<_> = checked.decisions.iter().map(|d| d.as_str()).collect();
        assert_eq!(names, vec!["approve", "deny", "notNotified"]);
        assert_eq!(checked.kinds, ResourceKind::ALL.to_vec(), "no scopes: every kind");
        let filter = report_filter(at(2026, 9, 1, 0), at(2026, 9, 30, 0), &checked.decisions, &checked.kinds).unwrap();
        assert_eq!(filter.results, vec![Decision::Approve, Decision::Deny]);
        assert_eq!(filter.from, NaiveDate::from_ymd_opt(2026, 9, 1));
        assert_eq!(filter.to, NaiveDate::from_ymd_opt(2026, 9, 30));

        let none =
            report_filter(at(2026, 9, 1, 0), at(2026, 9, 2, 0), &[DecisionFilter::NotNotified], &[ResourceKind::Group])
                .unwrap();
        assert!(none.results.is_empty() && !none.all_results(), "notNotified alone selects nothing");

        let every = check(&request(&[], &["/groups"])).unwrap();
        assert_eq!(every.decisions, DecisionFilter::ALL.to_vec());
        assert_eq!(every.kinds, vec![ResourceKind::Group]);
    }

    #[test]
    fn bad_requests_name_graph_properties() {
        let mut bad = request(&["maybe"], &["/users"]);
        bad.display_name = " ".into();
        let fields: Vec<_> = check(&bad).unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["displayName", "decisions", "scopes"]);

        let mut backwards = request(&[], &[]);
        backwards.end = at(2026, 8, 1, 0);
        let errors = check(&backwards).unwrap_err();
        assert_eq!(errors[0].field, END_FIELD);
        assert!(errors[0].message.contains("on or after"), "{}", errors[0].message);

        let mut same_day = request(&[], &[]);
        same_day.start = at(2026, 9, 1, 12);
        same_day.end = at(2026, 9, 1, 8);
        assert_eq!(check(&same_day).unwrap_err()[0].field, END_FIELD);

        let mut ancient = request(&[], &[]);
        ancient.start = at(1066, 10, 14, 0);
        assert_eq!(check(&ancient).unwrap_err()[0].field, START_FIELD);
    }
}
