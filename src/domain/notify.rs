//! Notification rules: which mails exist, what they say in their subject, where their
//! links lead, when reminder rounds are due, and how long the sender waits before trying
//! a failed mail again.

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::domain::directory::clean_display_text;
use crate::domain::review::{DefaultDecision, ResourceKind};
use crate::domain::state::stored_state;

stored_state! {
    /// What a mail is about.
    MailKind in "outbox.kind" {
        /// A review started: to each of its reviewers.
        ReviewStarted => "ReviewStarted",
        /// A self-review started: to each person asked about their own access.
        SelfReviewStarted => "SelfReviewStarted",
        /// A reminder to a reviewer who still has people to review.
        Reminder => "Reminder",
        /// A review ended: to the series' creator.
        ReviewCompleted => "ReviewCompleted",
        /// A review's denials were applied: to the series' creator.
        ResultsApplied => "ResultsApplied",
        /// People of a review were reassigned: to their new reviewer.
        Reassigned => "Reassigned",
        /// People nobody reviewed were escalated: to the manager or fallback reviewer who
        /// may now decide them too.
        Escalated => "Escalated",
    }
}

impl MailKind {
    /// In words, for the outbox page.
    pub fn label(self) -> &'static str {
        match self {
            Self::ReviewStarted => "Review started",
            Self::SelfReviewStarted => "Self-review started",
            Self::Reminder => "Reminder",
            Self::ReviewCompleted => "Review completed",
            Self::ResultsApplied => "Results applied",
            Self::Reassigned => "Reassigned to you",
            Self::Escalated => "Escalated to you",
        }
    }
}

/// How an instance ended, for the completion mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub approved: i64,
    pub denied: i64,
    pub dont_know: i64,
    pub not_reviewed: i64,
    /// The series' default decision for people nobody reviewed.
    pub default_decision: DefaultDecision,
    /// Denied items by apply result, in words (results-applied mails).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<(String, i64)>,
}

/// What a mail says, fixed when it is enqueued (stored as JSON beside it). The parts are
/// rendered from these facts and the public URL when the mail is sent or read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailFacts {
    /// The recipient's display name, for the greeting.
    pub recipient_name: String,
    /// The series' name.
    pub review_name: String,
    /// The group, application or role reviewed.
    pub resource_name: String,
    /// "Group", "Application" or "Role".
    pub resource_type: ResourceKind,
    /// The series' description for reviewers (at most 256 characters).
    pub description: String,
    pub definition_id: String,
    pub instance_id: String,
    /// When the review ends (UTC).
    pub due: NaiveDateTime,
    /// People for this recipient to review (started), still to review (reminder), or in
    /// the review (completed).
    pub items: i64,
    /// The recipient answers for their own access only.
    pub self_review: bool,
    /// How the review ended (completion mails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Who handed the people on, and their note (reassignment mails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassigned: Option<Handover>,
    /// The stage the mail is about, of how many, in a multi-stage review (`due` is then
    /// the stage's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<(i32, i32)>,
    /// The reviewer the recipient receives this for, as their delegate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf: Option<Delegator>,
}

/// The reviewer a delegate receives a mail for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegator {
    /// Their user id (the review page's path names it).
    pub id: String,
    /// Their display name.
    pub name: String,
    /// The last day the delegation runs.
    pub until: chrono::NaiveDate,
}

impl Delegator {
    /// Their name for the text part ([isolated](isolate)).
    pub fn name_text(&self) -> String {
        isolate(&self.name)
    }
}

/// Who reassigned people to the recipient, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// The display name of whoever reassigned them.
    pub by: String,
    /// Their note ("" when none).
    pub note: String,
}

impl Handover {
    /// The name of whoever reassigned, for the text part ([isolated](isolate)).
    pub fn by_text(&self) -> String {
        isolate(&self.by)
    }
}

impl MailFacts {
    /// The path a mail's button leads to: the review page for reviewers, the results page
    /// for the series' owner.
    pub fn link_path(&self, kind: MailKind) -> String {
        match kind {
            MailKind::ReviewCompleted | MailKind::ResultsApplied => {
                format!("/admin/access-reviews/{}/instances/{}", self.definition_id, self.instance_id)
            }
            _ => match &self.on_behalf {
                Some(d) => format!("/reviews/{}/for/{}", self.instance_id, d.id),
                None => format!("/reviews/{}", self.instance_id),
            },
        }
    }

    /// The subject line; names in it are [isolated](isolate). A delegate's copy says
    /// whose it is.
    pub fn subject(&self, kind: MailKind) -> String {
        match &self.on_behalf {
            Some(d) => format!("For {}: {}", d.name_text(), self.own_subject(kind)),
            None => self.own_subject(kind),
        }
    }

    fn own_subject(&self, kind: MailKind) -> String {
        let due = self.due.format("%Y-%m-%d");
        let (resource, review) = (isolate(&self.resource_name), isolate(&self.review_name));
        match kind {
            MailKind::ReviewStarted => match self.stage {
                Some((n, of)) => format!("Review access to {resource}: {review}, stage {n} of {of} (due {due})"),
                None => format!("Review access to {resource}: {review} (due {due})"),
            },
            MailKind::SelfReviewStarted => format!("Do you still need access to {resource}? Please answer by {due}"),
            MailKind::Reminder if self.self_review => {
                format!("Reminder: do you still need access to {resource}? Please answer by {due}")
            }
            MailKind::Reminder => format!(
                "Reminder: {} {} left to review in {review} (due {due})",
                self.items,
                if self.items == 1 { "person" } else { "people" },
            ),
            MailKind::ReviewCompleted => format!("Review completed: {review} ({resource})"),
            MailKind::ResultsApplied => format!("Results applied: {review} ({resource})"),
            MailKind::Escalated => format!(
                "{} {} not yet reviewed in {review}: escalated to you (due {due})",
                self.items,
                if self.items == 1 { "person" } else { "people" },
            ),
            MailKind::Reassigned => format!(
                "{} {} to review in {review} (due {due})",
                self.items,
                if self.items == 1 { "person was reassigned to you" } else { "people were reassigned to you" },
            ),
        }
    }

    /// The recipient's name for the text part ([isolated](isolate)).
    pub fn recipient_text(&self) -> String {
        isolate(&self.recipient_name)
    }

    /// The reviewed resource's name for the text part ([isolated](isolate)).
    pub fn resource_text(&self) -> String {
        isolate(&self.resource_name)
    }

    /// The series' name for the text part ([isolated](isolate)).
    pub fn review_text(&self) -> String {
        isolate(&self.review_name)
    }
}

/// A name as a mail's subject and text part show it: [cleaned](clean_display_text) and
/// between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE, so that its
/// direction — a right-to-left name, or a U+202E planted in it — cannot reorder the text
/// around it. (The HTML part uses `<bdi>` instead.)
pub fn isolate(name: &str) -> String {
    format!("\u{2068}{}\u{2069}", clean_display_text(name))
}

/// Text made safe for a mail header (a subject, a name in To): control characters, which
/// could end the header and start another, and line separators become spaces, bidi
/// embeddings and overrides are dropped, runs of spaces become one. The isolates that
/// [`isolate`] puts around names stay.
pub fn header_text(text: &str) -> String {
    let spaced: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}'))
        .map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest a review runs, in days: reminders are chosen within it.
const MAX_REMINDER_DAYS: i64 = 3650;
/// The most reminder days a series may choose.
pub const MAX_REMINDER_ROUNDS: usize = 10;

/// When the reviewers of an instance who have not finished are reminded: at half-time,
/// and on chosen days before the end (Entra's fixed rounds are half-time and two days
/// before; Okta and SailPoint let admins choose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSchedule {
    /// At half of the review's time.
    pub half_time: bool,
    /// Days before the end, largest first, each once.
    pub days_before: Vec<i64>,
}

impl Default for ReminderSchedule {
    /// Half-time and two days before the end, as Entra reminds.
    fn default() -> Self {
        Self { half_time: true, days_before: vec![2] }
    }
}

impl ReminderSchedule {
    /// Reads the form: the half-time box and the days typed ("7, 3, 1"); a message naming
    /// what to fix otherwise.
    pub fn from_form(half_time: bool, days: &str) -> Result<Self, String> {
        let mut days_before = Vec::new();
        for word in days.split([',', ' ', ';']).map(str::trim).filter(|w| !w.is_empty()) {
            match word.parse::<i64>() {
                Ok(n) if (1..=MAX_REMINDER_DAYS).contains(&n) => days_before.push(n),
                _ => {
                    let word: String = word.chars().take(20).collect();
                    return Err(format!(
                        "“{word}” is not a number of days: write whole days before the end, such as 7, 3, 1"
                    ));
                }
            }
        }
        days_before.sort_unstable_by(|a, b| b.cmp(a));
        days_before.dedup();
        if days_before.len() > MAX_REMINDER_ROUNDS {
            return Err(format!("Choose at most {MAX_REMINDER_ROUNDS} reminder days"));
        }
        if !half_time && days_before.is_empty() {
            return Err("Choose when to remind: at half-time, on days before the end, or both".into());
        }
        Ok(Self { half_time, days_before })
    }

    /// The days as the form shows them ("7, 3, 1").
    pub fn days_text(&self) -> String {
        self.days_before.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    }

    /// As stored: "HalfTime,7,3,1". Read back by [`Self::stored`].
    pub fn to_stored(&self) -> String {
        let half = self.half_time.then(|| ReminderRound::HalfTime.key());
        half.into_iter().chain(self.days_before.iter().map(i64::to_string)).collect::<Vec<_>>().join(",")
    }

    /// The stored schedule, or none (reminders off) for an empty value; what cannot be read
    /// is left out, and a value with nothing readable is the default (a stored value is
    /// attest's own, so this only guards against damage).
    pub fn stored(text: &str) -> Option<Self> {
        if text.trim().is_empty() {
            return None;
        }
        let mut half_time = false;
        let mut days = Vec::new();
        for word in text.split(',').map(str::trim) {
            match word.parse::<i64>() {
                Ok(n) if (1..=MAX_REMINDER_DAYS).contains(&n) => days.push(n),
                _ => half_time |= word == ReminderRound::HalfTime.key(),
            }
        }
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        Some(if !half_time && days.is_empty() { Self::default() } else { Self { half_time, days_before: days } })
    }

    /// In words, for the series page: "At half-time and 7, 3 and 1 days before the end".
    pub fn describe(&self) -> String {
        let days = match self.days_before.as_slice() {
            [] => None,
            [1] => Some("1 day before the end".to_owned()),
            [one] => Some(format!("{one} days before the end")),
            [first @ .., last] => Some(format!(
                "{} and {last} days before the end",
                first.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            )),
        };
        match (self.half_time, days) {
            (true, Some(days)) => format!("At half-time and {days}"),
            (true, None) => "At half-time".to_owned(),
            (false, Some(days)) => days,
            (false, None) => String::new(),
        }
    }

    /// The rounds of an instance running from `start` to `end`, in time order: each
    /// within the review (a day before the end that falls before its start is left out).
    fn rounds(&self, start: NaiveDateTime, end: NaiveDateTime) -> Vec<(NaiveDateTime, ReminderRound)> {
        let mut rounds: Vec<(NaiveDateTime, ReminderRound)> = self
            .days_before
            .iter()
            .filter_map(|&n| Some((end.checked_sub_signed(TimeDelta::try_days(n)?)?, ReminderRound::DaysBefore(n))))
            .collect();
        if self.half_time {
            rounds.push((start + (end - start) / 2, ReminderRound::HalfTime));
        }
        rounds.retain(|(at, _)| *at > start && *at < end);
        rounds.sort_by_key(|(at, _)| *at);
        rounds
    }
}

/// A reminder round of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderRound {
    /// Half of the review's time has passed.
    HalfTime,
    /// This many days before the end.
    DaysBefore(i64),
}

impl ReminderRound {
    /// How `reminder_rounds.round` and the audit trail store it: "HalfTime", "DaysBefore7".
    pub fn key(self) -> String {
        match self {
            Self::HalfTime => "HalfTime".to_owned(),
            Self::DaysBefore(n) => format!("DaysBefore{n}"),
        }
    }

    /// A stored key; "BeforeEnd" is the fixed two-days round of earlier versions.
    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "HalfTime" => Some(Self::HalfTime),
            "BeforeEnd" => Some(Self::DaysBefore(2)),
            _ => key.strip_prefix("DaysBefore")?.parse().ok().filter(|n| *n > 0).map(Self::DaysBefore),
        }
    }

    /// As the audit log says it.
    pub fn label(self) -> String {
        match self {
            Self::HalfTime => "Half-time".to_owned(),
            Self::DaysBefore(1) => "1 day before the end".to_owned(),
            Self::DaysBefore(n) => format!("{n} days before the end"),
        }
    }
}

/// The reminder round due at `now` for an instance running from `start` to `end` and
/// created at `created`, on `schedule`: the latest round whose time has come, or `None`.
/// After downtime only the latest round is due, so reviewers never get two reminders at
/// once; and a round that had passed when the instance was created (it started late) is
/// not due.
pub fn reminder_due(
    schedule: &ReminderSchedule,
    start: NaiveDateTime,
    end: NaiveDateTime,
    created: NaiveDateTime,
    now: NaiveDateTime,
) -> Option<ReminderRound> {
    if now >= end || end <= start {
        return None;
    }
    schedule
        .rounds(start, end)
        .into_iter()
        .rev()
        .find(|(at, _)| *at <= now)
        .filter(|(at, _)| *at > created)
        .map(|(_, round)| round)
}

/// Attempts after which a mail is given up (and shown as failed).
pub const MAX_ATTEMPTS: i32 = 8;

/// When to try again after `attempts` failed attempts: 1, 2, 5, 10, 30 minutes, then 1,
/// 2 hours; `None` once [`MAX_ATTEMPTS`] have failed (about 4 hours in all, long enough
/// to outlast a mail server's maintenance window).
pub fn retry_delay(attempts: i32) -> Option<TimeDelta> {
    let minutes = match attempts {
        ..=1 => 1,
        2 => 2,
        3 => 5,
        4 => 10,
        5 => 30,
        6 => 60,
        7 => 120,
        _ => return None,
    };
    (attempts < MAX_ATTEMPTS).then(|| TimeDelta::minutes(minutes))
}

/// A sending error as stored and shown: one line, at most 500 characters.
pub fn error_summary(error: &str) -> String {
    let line = error.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

stored_state! {
    /// Where a mail stands in the outbox (`outbox.status`).
    MailStatus in "outbox.status" {
        /// Waiting for its (next) attempt.
        Pending => "Pending",
        /// Claimed by the sender and handed to the SMTP server.
        Sending => "Sending",
        /// Accepted by the SMTP server.
        Sent => "Sent",
        /// Given up (or interrupted mid-send).
        Failed => "Failed",
    }
}

impl MailStatus {
    /// In words, for the outbox pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting to be sent",
            Self::Sending => "Sending",
            Self::Sent => "Sent",
            Self::Failed => "Failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, day).unwrap().and_hms_opt(hour, 0, 0).unwrap()
    }

    #[test]
    fn reminders_at_half_time_and_two_days_before_the_end() {
        let (start, end) = (at(1, 0), at(15, 0));
        let standard = ReminderSchedule::default();
        let due = |now| reminder_due(&standard, start, end, start, now);
        assert_eq!(due(at(7, 23)), None);
        assert_eq!(due(at(8, 0)), Some(ReminderRound::HalfTime));
        assert_eq!(due(at(12, 23)), Some(ReminderRound::HalfTime));
        assert_eq!(due(at(13, 0)), Some(ReminderRound::DaysBefore(2)));
        assert_eq!(due(at(14, 23)), Some(ReminderRound::DaysBefore(2)));
        assert_eq!(due(at(15, 0)), None, "not at or after the end");
    }

    #[test]
    fn short_reviews_remind_in_time_order_and_late_starts_skip_passed_rounds() {
        let standard = ReminderSchedule::default();
        let (start, end) = (at(1, 0), at(4, 0));
        // In a short review two days before the end comes before half-time: each in its turn.
        assert_eq!(reminder_due(&standard, start, end, start, at(2, 0)), Some(ReminderRound::DaysBefore(2)));
        assert_eq!(reminder_due(&standard, start, end, start, at(2, 12)), Some(ReminderRound::HalfTime));
        assert_eq!(reminder_due(&standard, start, end, start, at(3, 23)), Some(ReminderRound::HalfTime));
        // Created after half-time (the scheduler was down): no reminder right after the start mail.
        assert_eq!(reminder_due(&standard, start, end, at(3, 0), at(3, 1)), None);
        let (start, end) = (at(1, 0), at(15, 0));
        assert_eq!(reminder_due(&standard, start, end, at(10, 0), at(10, 1)), None);
        assert_eq!(reminder_due(&standard, start, end, at(10, 0), at(13, 1)), Some(ReminderRound::DaysBefore(2)));
    }

    #[test]
    fn chosen_days_remind_on_those_days_only_within_the_review() {
        let schedule = ReminderSchedule::from_form(false, "1, 7,3 ,7").unwrap();
        assert_eq!(schedule.days_before, vec![7, 3, 1]);
        assert_eq!(schedule.describe(), "7, 3 and 1 days before the end");
        let (start, end) = (at(1, 0), at(11, 0));
        let due = |now| reminder_due(&schedule, start, end, start, now);
        assert_eq!(due(at(3, 23)), None);
        assert_eq!(due(at(4, 0)), Some(ReminderRound::DaysBefore(7)));
        assert_eq!(due(at(6, 0)), Some(ReminderRound::DaysBefore(7)), "no half-time round");
        assert_eq!(due(at(8, 0)), Some(ReminderRound::DaysBefore(3)));
        assert_eq!(due(at(10, 0)), Some(ReminderRound::DaysBefore(1)));
        // A day before the start of a short review is left out.
        assert_eq!(reminder_due(&schedule, at(1, 0), at(3, 0), at(1, 0), at(1, 12)), None);
        assert_eq!(reminder_due(&schedule, at(1, 0), at(3, 0), at(1, 0), at(2, 0)), Some(ReminderRound::DaysBefore(1)));
    }

    #[test]
    fn schedules_are_stored_read_back_and_refused_with_what_to_fix() {
        let both = ReminderSchedule::from_form(true, "7 3").unwrap();
        assert_eq!(both.to_stored(), "HalfTime,7,3");
        assert_eq!(ReminderSchedule::stored(&both.to_stored()), Some(both.clone()));
        assert_eq!(ReminderSchedule::stored(""), None, "reminders off");
        assert_eq!(both.describe(), "At half-time and 7 and 3 days before the end");
        assert_eq!(ReminderSchedule::stored("garbage"), Some(ReminderSchedule::default()));
        assert_eq!(ReminderSchedule::default().to_stored(), "HalfTime,2");
        assert!(ReminderSchedule::from_form(false, "").unwrap_err().contains("Choose when"));
        assert!(ReminderSchedule::from_form(true, "7, soon").unwrap_err().contains("“soon”"));
        assert!(ReminderSchedule::from_form(true, "0").is_err());
        assert!(ReminderSchedule::from_form(true, "99999999999999999999").is_err());
        let many: Vec<String> = (1..=11).map(|n| n.to_string()).collect();
        assert!(ReminderSchedule::from_form(true, &many.join(",")).unwrap_err().contains("at most"));
        assert_eq!(ReminderRound::parse("BeforeEnd"), Some(ReminderRound::DaysBefore(2)));
        assert_eq!(ReminderRound::parse(&ReminderRound::DaysBefore(7).key()), Some(ReminderRound::DaysBefore(7)));
        assert_eq!(ReminderRound::parse("DaysBefore-1"), None);
        assert_eq!(ReminderRound::DaysBefore(1).label(), "1 day before the end");
    }

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_delay(1), Some(TimeDelta::minutes(1)));
        assert_eq!(retry_delay(3), Some(TimeDelta::minutes(5)));
        assert_eq!(retry_delay(7), Some(TimeDelta::minutes(120)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        let mut delays = (1..MAX_ATTEMPTS).map(|a| retry_delay(a).unwrap());
        let first = delays.next().unwrap();
        assert!(delays.all(|d| d >= first));
    }

    #[test]
    fn headers_hold_one_line() {
        assert_eq!(header_text("Omar Haddad\r\nBcc: x@evil.example"), "Omar Haddad Bcc: x@evil.example");
        assert_eq!(header_text("a\u{0}\u{85}\u{2028}b\tc"), "a b c");
        assert_eq!(header_text("Review \u{202e}x"), "Review x");
        assert_eq!(
            header_text("Review access to Sales Team (due 2026-12-15)"),
            "Review access to Sales Team (due 2026-12-15)"
        );
    }

    #[test]
    fn names_are_isolated() {
        assert_eq!(isolate("Omar Haddad"), "\u{2068}Omar Haddad\u{2069}");
        // A planted override, or an isolate closed early, cannot get out of its isolate.
        assert_eq!(isolate("Omar \u{202e}dadd\u{2069}aH"), "\u{2068}Omar daddaH\u{2069}");
        assert_eq!(isolate("عمر"), "\u{2068}عمر\u{2069}");
        let subject = format!("Review access to {}", isolate("Sales\r\nBcc: x"));
        assert_eq!(header_text(&subject), subject, "isolated names are header-safe already");
        let facts = MailFacts {
            recipient_name: "Omar".into(),
            review_name: "Guests\n\u{202e}".into(),
            resource_name: "Sales\r\nBcc: x@evil.example".into(),
            resource_type: ResourceKind::Group,
            description: String::new(),
            definition_id: "d1".into(),
            instance_id: "i1".into(),
            due: at(15, 0),
            items: 2,
            self_review: false,
            outcome: None,
            reassigned: None,
            stage: None,
            on_behalf: None,
        };
        for kind in MailKind::ALL {
            let subject = facts.subject(kind);
            assert!(!subject.contains(|c: char| c.is_control() || c == '\u{202e}'), "{kind:?}: {subject:?}");
        }
    }

    #[test]
    fn subjects_and_links() {
        let facts = MailFacts {
            recipient_name: "Omar".into(),
            review_name: "Falcon guests".into(),
            resource_name: "Project Falcon".into(),
            resource_type: ResourceKind::Group,
            description: String::new(),
            definition_id: "d1".into(),
            instance_id: "i1".into(),
            due: at(15, 0),
            items: 1,
            self_review: false,
            outcome: None,
            reassigned: None,
            stage: None,
            on_behalf: None,
        };
        assert_eq!(
            facts.subject(MailKind::ReviewStarted),
            "Review access to \u{2068}Project Falcon\u{2069}: \u{2068}Falcon guests\u{2069} (due 2026-12-15)"
        );
        assert_eq!(
            facts.subject(MailKind::Reminder),
            "Reminder: 1 person left to review in \u{2068}Falcon guests\u{2069} (due 2026-12-15)"
        );
        assert_eq!(facts.link_path(MailKind::Reminder), "/reviews/i1");
        assert_eq!(facts.link_path(MailKind::ReviewCompleted), "/admin/access-reviews/d1/instances/i1");
        assert_eq!(MailKind::parse("Reminder"), Some(MailKind::Reminder));
        assert!(MailKind::ALL.iter().all(|k| MailKind::parse(k.as_str()) == Some(*k)));
        assert_eq!(facts.link_path(MailKind::ResultsApplied), "/admin/access-reviews/d1/instances/i1");
        // A delegate's copy opens the review on the reviewer's behalf and says whose it is.
        let until = chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        let copy = MailFacts { on_behalf: Some(Delegator { id: "u9".into(), name: "Ana".into(), until }), ..facts };
        assert_eq!(copy.link_path(MailKind::Reminder), "/reviews/i1/for/u9");
        assert!(copy.subject(MailKind::Reminder).starts_with("For \u{2068}Ana\u{2069}: Reminder: 1 person"));
        assert_eq!(copy.link_path(MailKind::ReviewCompleted), "/admin/access-reviews/d1/instances/i1");
        assert_eq!(error_summary("a\n  b"), "a b");
        assert_eq!(error_summary(&"x".repeat(600)).chars().count(), 501);
    }

    #[test]
    fn mail_statuses_have_labels() {
        for stored in ["Pending", "Sending", "Sent", "Failed"] {
            assert!(MailStatus::parse(stored).is_some(), "{stored}");
        }
        assert_eq!(MailStatus::parse("Pending").map(MailStatus::label), Some("Waiting to be sent"));
        assert_eq!(MailStatus::parse("pending"), None);
    }
}
