//! The audit log as admins read it: the known actions, the page's filters, and an event's
//! details in words.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::review::FieldError;

/// Actions attest records, with the words the filter shows. A new kind of event is added
/// here so that it can be filtered on.
pub const ACTIONS: &[(&str, &str)] = &[
    ("SignIn", "Signed in"),
    ("SignOut", "Signed out"),
    ("OnboardDirectory", "Onboarded the directory"),
    ("UpdateAccessReviewSettings", "Changed access review settings"),
    ("CreateReviewDefinition", "Created a review"),
    ("UpdateReviewDefinition", "Changed a review"),
    ("DeleteReviewDefinition", "Deleted a review"),
    ("ReviewInstanceStarted", "Review started"),
    ("OccurrencesSkipped", "Occurrences skipped"),
    ("RecordDecision", "Recorded a decision"),
    ("ReviewEnded", "Review ended"),
    ("ReviewStopped", "Review stopped"),
    ("ResetDecisions", "Reset the decisions"),
    ("ApplyStarted", "Started applying results"),
    ("ApplyDecision", "Applied a decision"),
    ("ApplyCompleted", "Finished applying results"),
    ("GuestDeleted", "Deleted a blocked guest"),
    ("GuestDeletionCancelled", "Kept a re-enabled guest"),
    ("RemindersSent", "Reminders sent"),
    ("MailResent", "Sent a mail again"),
];

/// The words for a stored action (the action itself when unknown).
pub fn action_label(action: &str) -> &str {
    ACTIONS.iter().find(|(a, _)| *a == action).map_or(action, |(_, label)| label)
}

/// The longest text accepted in the actor and target filters.
pub const MAX_FILTER_LEN: usize = 200;

/// The audit page's query string, as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditParams {
    /// Name, UPN (part of either) or id of who did it.
    #[serde(default)]
    pub actor: String,
    /// One of [`ACTIONS`], or empty for all.
    #[serde(default)]
    pub action: String,
    /// The id of what it was done to.
    #[serde(default)]
    pub target: String,
    /// First day, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    #[serde(default)]
    pub to: String,
    /// Continue with events older than this id.
    pub after: Option<String>,
    /// Page back to events newer than this id.
    pub before: Option<String>,
}

/// Where a page of the log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventPage {
    /// The newest events.
    Newest,
    /// Events older than this id.
    OlderThan(i64),
    /// Events newer than this id (the previous page).
    NewerThan(i64),
}

/// The audit log's filters, valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Name or UPN contains this, or the actor's id is this.
    pub actor: Option<String>,
    /// Exactly this action.
    pub action: Option<String>,
    /// Exactly this target id.
    pub target: Option<String>,
    /// At or after the start of this day.
    pub from: Option<NaiveDate>,
    /// Before the end of this day.
    pub to: Option<NaiveDate>,
}

impl AuditFilter {
    /// Start of the first day (inclusive), if bounded.
    pub fn from_time(&self) -> Option<NaiveDateTime> {
        self.from.and_then(|d| d.and_hms_opt(0, 0, 0))
    }

    /// Start of the day after the last day (exclusive), if bounded.
    pub fn until_time(&self) -> Option<NaiveDateTime> {
        self.to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0))
    }
}

impl AuditParams {
    /// The filters and the page, or every problem with a message that says how to fix it.
    pub fn validate(&self) -> Result<(AuditFilter, EventPage), Vec<FieldError>> {
        let mut errors = Vec::new();
        let text = |value: &str, field: &'static str, what: &str, errors: &mut Vec<FieldError>| {
            let value = value.trim();
            if value.chars().count() > MAX_FILTER_LEN {
                errors.push(FieldError {
                    field,
                    message: format!("Enter {what} of at most {MAX_FILTER_LEN} characters"),
                });
                None
            } else {
                Some(value.to_owned()).filter(|v| !v.is_empty())
            }
        };
        let actor = text(&self.actor, "actor", "a name, UPN or id", &mut errors);
        let target = text(&self.target, "target", "a target id", &mut errors);
        let action = match self.action.trim() {
            "" => None,
            a if ACTIONS.iter().any(|(known, _)| *known == a) => Some(a.to_owned()),
            _ => {
                errors.push(FieldError { field: "action", message: "Choose an action from the list".into() });
                None
            }
        };
        let day = |value: &str, field: &'static str, which: &str, errors: &mut Vec<FieldError>| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_or_else(
                |_| {
                    errors.push(FieldError {
                        field,
                        message: format!("Enter the {which} date as year-month-day, for example 2026-09-30"),
                    });
                    None
                },
                Some,
            );
            // A year such as -262143 parses, but PostgreSQL cannot hold it.
            crate::domain::review::within_filter_range(parsed, field, which, errors)
        };
        let from = day(&self.from, "from", "first", &mut errors);
        let to = day(&self.to, "to", "last", &mut errors);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.push(FieldError { field: "to", message: format!("Enter a last date on or after {from}") });
        }
        let cursor = |value: &Option<String>| -> Result<Option<i64>, ()> {
            match value.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| ()),
            }
        };
        let page = match (cursor(&self.after), cursor(&self.before)) {
            (Ok(None), Ok(None)) => EventPage::Newest,
            (Ok(Some(id)), Ok(None)) => EventPage::OlderThan(id),
            (Ok(None), Ok(Some(id))) => EventPage::NewerThan(id),
            _ => {
                errors.push(FieldError {
                    field: "actor",
                    message: "This page link is not valid: start again from the newest events".into(),
                });
                EventPage::Newest
            }
        };
        if errors.is_empty() { Ok((AuditFilter { actor, action, target, from, to }, page)) } else { Err(errors) }
    }

    /// The filters as a query string (for page links and the CSV link), without paging.
    pub fn filter_query(&self) -> String {
        let mut out = String::new();
        for (key, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !value.trim().is_empty() {
                if !out.is_empty() {
                    out.push('&');
                }
                out.push_str(key);
                out.push('=');
                out.push_str(&encode(value.trim()));
            }
        }
        out
    }
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One line of an event's details: what, and its old and new value when it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailLine {
    /// The field.
    pub key: String,
    /// The value before, when the event records a change.
    pub old: Option<String>,
    /// The value (after the change).
    pub new: String,
}

/// An event's details (JSON) as lines: `{"x": {"old": a, "new": b}}` reads "x: a → b".
/// Text that is not a JSON object is shown as one line.
pub fn describe(details: &str) -> Vec<DetailLine> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(details) else {
        return if details.is_empty() {
            Vec::new()
        } else {
            vec![DetailLine { key: String::new(), old: None, new: details.to_owned() }]
        };
    };
    map.into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::Object(change) if change.contains_key("new") || change.contains_key("old") => {
                DetailLine {
                    key,
                    old: Some(change.get("old").map_or_else(String::new, plain)),
                    new: change.get("new").map_or_else(String::new, plain),
                }
            }
            other => DetailLine { key, old: None, new: plain(&other) },
        })
        .collect()
}

/// A JSON value as text: strings without quotes, null as "—".
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_changes() {
        let lines = describe(r#"{"status":{"old":"Active","new":"Deleted"},"displayName":"<b>x</b>","n":3}"#);
        assert_eq!(
            lines,
            vec![
                DetailLine { key: "displayName".into(), old: None, new: "<b>x</b>".into() },
                DetailLine { key: "n".into(), old: None, new: "3".into() },
                DetailLine { key: "status".into(), old: Some("Active".into()), new: "Deleted".into() },
            ]
        );
        assert_eq!(describe("not json")[0].new, "not json");
        assert!(describe("").is_empty());
    }

    #[test]
    fn filters_validate() {
        let p = AuditParams { actor: " Dana ".into(), action: "SignIn".into(), ..AuditParams::default() };
        let (f, page) = p.validate().unwrap();
        assert_eq!((f.actor.as_deref(), f.action.as_deref(), page), (Some("Dana"), Some("SignIn"), EventPage::Newest));
        assert_eq!(p.filter_query(), "actor=Dana&action=SignIn");

        let bad = AuditParams {
            action: "DropTables".into(),
            from: "2026-13-01".into(),
            to: "yesterday".into(),
            ..AuditParams::default()
        };
        let errors = bad.validate().unwrap_err();
        assert_eq!(errors.iter().map(|e| e.field).collect::<Vec<_>>(), vec!["action", "from", "to"]);

        let backwards = AuditParams { from: "2026-11-02".into(), to: "2026-11-01".into(), ..AuditParams::default() };
        assert!(backwards.validate().unwrap_err()[0].message.contains("on or after 2026-11-02"));
        let page = AuditParams { after: Some("42".into()), ..AuditParams::default() }.validate().unwrap().1;
        assert_eq!(page, EventPage::OlderThan(42));
        assert!(AuditParams { after: Some("x".into()), ..AuditParams::default() }.validate().is_err());
        assert_eq!(AuditParams { actor: "a&b c".into(), ..AuditParams::default() }.filter_query(), "actor=a%26b%20c");
    }
}
