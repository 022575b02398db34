//! The audit log as admins read it: the known actions, the page's filters, and an event's
//! details in words.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::apply::ApplyResult;
use super::review::{FieldError, ResourceKind};

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
    ("StopReviewDefinition", "Stopped a review series"),
    ("CreateReviewHistoryDefinition", "Asked for a review-history report"),
    ("DeleteReviewHistoryDefinition", "Deleted a review-history report"),
    ("ReviewInstanceStarted", "Review started"),
    ("OccurrencesSkipped", "Occurrences skipped"),
    ("RecordDecision", "Recorded a decision"),
    ("ReassignDecisionItem", "Reassigned a person's review"),
    ("DelegateReviews", "Named a delegate"),
    ("EndDelegation", "Ended a delegation"),
    ("ReviewStageEnded", "Ended a review stage"),
    ("EscalateDecisionItems", "Escalated what nobody reviewed"),
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
    ("SourceTokenCreated", "Created a source token"),
    ("SourceTokenRevoked", "Revoked a source token"),
    ("RemediationVerified", "Saw removals made at their source"),
    ("AccessRegranted", "Saw removed access granted again"),
    ("LdapConnectionAdded", "Added an LDAP connection"),
    ("LdapConnectionChanged", "Changed an LDAP connection"),
    ("DirectorySynced", "Synced a directory"),
    ("LdapWrite", "Wrote to an LDAP directory"),
    ("ApiClientCreated", "Registered an API client"),
    ("ApiClientRevoked", "Revoked an API client"),
    ("PersonalTokenCreated", "Created a personal access token"),
    ("PersonalTokenRevoked", "Revoked a personal access token"),
    ("ScimUserCreated", "SCIM: created a user"),
    ("ScimUserUpdated", "SCIM: changed a user"),
    ("ScimUserDeleted", "SCIM: deleted a user"),
    ("ScimGroupCreated", "SCIM: created a group"),
    ("ScimGroupUpdated", "SCIM: changed a group"),
    ("ScimGroupDeleted", "SCIM: deleted a group"),
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
    /// The field, in words ("Decision").
    pub key: String,
    /// The value before, when the event records a change.
    pub old: Option<String>,
    /// The value (after the change).
    pub new: String,
}

/// How a detail's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// As it is (strings without quotes, lists joined).
    Plain,
    /// A decision ("NotReviewed" → "Not reviewed").
    Decision,
    /// The button a reviewer pressed, or what applying did.
    Action,
    /// An apply result ("AppliedSuccessfully" → "Removed").
    ApplyResult,
    /// Apply results with counts.
    ApplyResults,
    /// An occurrence index, counted from 0 where it is stored and from 1 where people read it.
    Occurrence,
    /// A number of days.
    Days,
    /// Yes or no.
    YesNo,
    /// What a series reviews.
    Scope,
    /// Who reviews (a kind), or how many reviewers.
    Reviewers,
    /// How often a series recurs.
    Frequency,
    /// What happens to items nobody reviewed.
    DefaultDecision,
    /// A reminder round.
    Round,
    /// A mail's kind.
    MailKind,
    /// The resources of a series.
    Resources,
}

/// Known detail keys: their words and how their values read, in the order the page lists
/// them. Ids (`…Id`) are not listed: the page names what an event is about instead.
const KEYS: &[(&str, &str, Value)] = &[
    ("decision", "Decision", Value::Decision),
    ("justification", "Reason", Value::Plain),
    ("action", "Action", Value::Action),
    ("result", "Result", Value::ApplyResult),
    ("reason", "Reason", Value::Plain),
    ("principal", "Person", Value::Plain),
    ("displayName", "Name", Value::Plain),
    ("upn", "User principal name", Value::Plain),
    ("status", "Status", Value::Plain),
    ("resource", "Resource", Value::Plain),
    ("resourceType", "Kind of resource", Value::Plain),
    ("occurrence", "Occurrence", Value::Occurrence),
    ("items", "People", Value::Plain),
    ("recommendedDeny", "Recommended deny", Value::Plain),
    ("reviewers", "Reviewers", Value::Reviewers),
    ("daysLong", "Duration", Value::Days),
    ("scope", "What is reviewed", Value::Scope),
    ("resources", "Resources", Value::Resources),
    ("frequency", "Recurrence", Value::Frequency),
    ("durationInDays", "Duration", Value::Days),
    ("startDate", "Start", Value::Plain),
    ("defaultDecision", "Default decision", Value::DefaultDecision),
    ("defaultDecisionsApplied", "Decided by default", Value::Plain),
    ("autoApply", "Auto-apply", Value::YesNo),
    ("decisionsReset", "Decisions reset", Value::Plain),
    ("denied", "Denied", Value::Plain),
    ("resumed", "Resumed after an interruption", Value::YesNo),
    ("results", "Results", Value::ApplyResults),
    ("skipped", "Occurrences skipped", Value::Plain),
    ("round", "Round", Value::Round),
    ("to", "To", Value::Plain),
    ("reviewer", "Reviewer", Value::Plain),
    ("note", "Note", Value::Plain),
    ("kind", "Mail", Value::MailKind),
    ("previousError", "Previous error", Value::Plain),
    ("disabledAt", "Disabled at", Value::Plain),
    ("accessReviews", "Access reviews turned on", Value::YesNo),
    ("ownersManageReviews", "Owners manage reviews of what they own", Value::YesNo),
    ("descriptionForReviewers", "Description for reviewers", Value::Plain),
    ("descriptionForAdmins", "Description for administrators", Value::Plain),
    ("justificationRequired", "Reason required to approve", Value::YesNo),
    ("additionalRecipients", "Additional recipients", Value::Plain),
];

/// "ownersManageReviews" → "Owners manage reviews": a key nobody gave words yet.
fn humanize(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else if c == '_' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON value as text: strings without quotes, null as "—", yes/no, lists joined.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::Bool(b) => if *b { "Yes" } else { "No" }.to_owned(),
        serde_json::Value::Array(list) => list.iter().map(plain).collect::<Vec<_>>().join(", "),
        serde_json::Value::Object(map) => {
            map.iter().map(|(k, v)| format!("{}: {}", humanize(k), plain(v))).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// A value read as `how` says.
fn read(how: Value, value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    let text = value.as_str();
    let words = |f: &dyn Fn(&str) -> Option<&'static str>| text.and_then(f).map_or_else(|| plain(value), str::to_owned);
    match how {
        Value::Plain => plain(value),
        // As the reviewer's buttons say it ("Not reviewed → Deny").
        Value::Decision => words(&|t| super::decision::Decision::parse(t).map(super::decision::Decision::verb)),
        Value::Action => words(&|t| super::decision::Action::parse(t).map(super::decision::Action::label)),
        Value::ApplyResult => {
            text.map_or_else(|| plain(value), |t| ApplyResult::parse(t).map_or(t, |r| r.label()).to_owned())
        }
        Value::ApplyResults => match value {
            J::Object(map) => map
                .iter()
                .map(|(k, v)| format!("{} {}", ApplyResult::parse(k).map_or(k.as_str(), |r| r.label()), plain(v)))
                .collect::<Vec<_>>()
                .join(", "),
            other => plain(other),
        },
        Value::Occurrence => {
            value.as_i64().and_then(|n| n.checked_add(1)).map_or_else(|| plain(value), |n| n.to_string())
        }
        Value::Days => match value.as_i64() {
            Some(1) => "1 day".to_owned(),
            Some(n) => format!("{n} days"),
            None => plain(value),
        },
        Value::YesNo => match (value, text) {
            (_, Some("true" | "Enabled")) => "Yes".to_owned(),
            (_, Some("false" | "NotEnabled")) => "No".to_owned(),
            (other, _) => plain(other),
        },
        Value::Scope => words(&|t| super::review::ScopeKind::parse(t).map(|k| k.label())),
        Value::Reviewers => words(&|t| super::review::ReviewerKind::parse(t).map(|k| k.label())),
        Value::Frequency => words(&|t| super::recurrence::Frequency::parse(t).map(|f| f.label())),
        Value::DefaultDecision => words(&|t| super::review::DefaultDecision::parse(t).map(|d| d.label())),
        // A reminder sent from the results page is recorded as "Manual".
        Value::Round => match (text, text.and_then(super::notify::ReminderRound::parse)) {
            (_, Some(round)) => round.label(),
            (Some("Manual"), None) => "Sent by an administrator".to_owned(),
            _ => plain(value),
        },
        Value::MailKind => words(&|t| super::notify::MailKind::parse(t).map(|k| k.label())),
        Value::Resources => match value {
            J::Array(list) => {
                let count = |kind: ResourceKind, excluded: bool| {
                    list.iter()
                        .filter(|r| r.get("type").and_then(J::as_str) == Some(kind.as_str()))
                        .filter(|r| r.get("excluded").and_then(J::as_bool).unwrap_or(false) == excluded)
                        .count()
                };
                let mut parts = Vec::new();
                for kind in ResourceKind::ALL {
                    let (one, many) = (kind.report_name(), kind.plural_label().to_lowercase());
                    match count(kind, false) {
                        0 => {}
                        1 => parts.push(format!("1 {one}")),
                        n => parts.push(format!("{n} {many}")),
                    }
                    match count(kind, true) {
                        0 => {}
                        n => parts.push(format!("{n} excluded {}", if n == 1 { one } else { many.as_str() })),
                    }
                }
                if parts.is_empty() { "—".to_owned() } else { parts.join(", ") }
            }
            other => plain(other),
        },
    }
}

/// An event's details (JSON) as lines an auditor reads, e.g. "Decision: Not reviewed →
/// Deny", "Reason: Left the project": known keys in words and in a sensible order, stored
/// values as the pages label them (decisions, apply results, kinds), occurrences counted
/// from 1, yes/no for flags; `{"old": a, "new": b}` reads "a → b". Ids are left out (the
/// page names what the event is about); keys nobody gave words keep a readable form of
/// their name. Text that is not a JSON object is shown as one line.
pub fn describe(details: &str) -> Vec<DetailLine> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(details) else {
        return if details.is_empty() {
            Vec::new()
        } else {
            vec![DetailLine { key: String::new(), old: None, new: details.to_owned() }]
        };
    };
    let mut lines: Vec<(usize, DetailLine)> = map
        .into_iter()
        .filter(|(key, _)| !(key.ends_with("Id") && key.len() > 2))
        .map(|(key, value)| {
            let (rank, label, how) = KEYS
                .iter()
                .position(|(k, _, _)| *k == key)
                .map_or((KEYS.len(), humanize(&key), Value::Plain), |i| (i, KEYS[i].1.to_owned(), KEYS[i].2));
            let line = match value {
                serde_json::Value::Object(change) if change.contains_key("new") || change.contains_key("old") => {
                    let side = |k: &str| change.get(k).map_or_else(|| "—".to_owned(), |v| read(how, v));
                    DetailLine { key: label, old: Some(side("old")), new: side("new") }
                }
                other => DetailLine { key: label, old: None, new: read(how, &other) },
            };
            (rank, line)
        })
        .collect();
    // Changes first, then the known keys in their order, then the rest by name.
    lines.sort_by(|(ra, a), (rb, b)| {
        b.old.is_some().cmp(&a.old.is_some()).then(ra.cmp(rb)).then_with(|| a.key.cmp(&b.key))
    });
    lines.into_iter().map(|(_, line)| line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_changes() {
        let lines = describe(r#"{"status":{"old":"Active","new":"Deleted"},"displayName":"<b>x</b>","nThings":3}"#);
        assert_eq!(
            lines,
            vec![
                DetailLine { key: "Status".into(), old: Some("Active".into()), new: "Deleted".into() },
                DetailLine { key: "Name".into(), old: None, new: "<b>x</b>".into() },
                DetailLine { key: "N things".into(), old: None, new: "3".into() },
            ]
        );
        assert_eq!(describe("not json")[0].new, "not json");
        assert!(describe("").is_empty());
    }

    fn line(l: &DetailLine) -> String {
        match &l.old {
            Some(old) => format!("{}: {old} → {}", l.key, l.new),
            None => format!("{}: {}", l.key, l.new),
        }
    }

    #[test]
    fn decisions_read_like_sentences() {
        let d = r#"{"instanceId":"i-1","principalId":"u-1","principal":"Ada Lovelace","action":"Deny","decision":{"old":"NotReviewed","new":"Deny"},"justification":"Left the project"}"#;
        let lines: Vec<String> = describe(d).iter().map(line).collect();
        assert_eq!(
            lines,
            vec!["Decision: Not reviewed → Deny", "Reason: Left the project", "Action: Deny", "Person: Ada Lovelace"]
        );
        let accepted = r#"{"action":"AcceptRecommendations","decision":{"old":"NotReviewed","new":"DontKnow"}}"#;
        let lines: Vec<String> = describe(accepted).iter().map(line).collect();
        assert_eq!(lines, vec!["Decision: Not reviewed → Don't know", "Action: Accept recommendations"]);
    }

    #[test]
    fn occurrences_count_from_one_and_values_have_words() {
        let started = r#"{"definitionId":"d","occurrence":0,"resource":"VPN Users","items":12,"recommendedDeny":3,"reviewers":2,"daysLong":1}"#;
        let lines: Vec<String> = describe(started).iter().map(line).collect();
        assert_eq!(
            lines,
            vec![
                "Resource: VPN Users",
                "Occurrence: 1",
                "People: 12",
                "Recommended deny: 3",
                "Reviewers: 2",
                "Duration: 1 day"
            ]
        );
        let ended = r#"{"defaultDecision":"Recommendation","defaultDecisionsApplied":4,"autoApply":false}"#;
        let lines: Vec<String> = describe(ended).iter().map(line).collect();
        assert_eq!(lines, vec!["Default decision: Take recommendations", "Decided by default: 4", "Auto-apply: No"]);
        let applied = r#"{"result":"ApplyNotSupported","results":{"AppliedSuccessfully":3,"NotApplied":1}}"#;
        let lines: Vec<String> = describe(applied).iter().map(line).collect();
        assert_eq!(
            lines,
            vec!["Result: Not applied: remove it where it is granted", "Results: Removed 3, Not applied 1"]
        );
        let created = r#"{"resources":[{"type":"Group","id":"g1","excluded":false},{"type":"Group","id":"g2","excluded":false},{"type":"Group","id":"g3","excluded":true}],"to":["Ada","Bo"],"accessReviews":{"old":"NotEnabled","new":"Enabled"}}"#;
        let lines: Vec<String> = describe(created).iter().map(line).collect();
        assert_eq!(
            lines,
            vec!["Access reviews turned on: No → Yes", "Resources: 2 groups, 1 excluded group", "To: Ada, Bo"]
        );
        assert_eq!(
            line(&describe(r#"{"ownersManageReviews":{"old":false,"new":true}}"#)[0]),
            "Owners manage reviews of what they own: No → Yes"
        );
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
