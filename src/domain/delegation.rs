//! Delegation for a period (out of office): a person names a delegate who, while the
//! period runs, reviews on their behalf. Pure: the form's rules, and whether a delegation
//! is in force at a moment.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

/// The longest period a delegation may run: a year (a longer absence is a change of
/// reviewer, which an admin makes).
pub const MAX_DAYS: i64 = 366;

/// The longest note kept with a delegation.
pub const MAX_NOTE_LEN: usize = 500;

/// A delegation's period, as checked: from the start of `first` to the end of `last`
/// (whole days, UTC), with its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// When the delegate starts reviewing on the person's behalf.
    pub starts_at: NaiveDateTime,
    /// When they stop (exclusive).
    pub ends_at: NaiveDateTime,
    /// Why, for the delegate ("" when none).
    pub note: String,
}

/// Why a delegation cannot be made; the message says what to fix. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelegationError {
    /// No user principal name was entered.
    NoDelegate,
    /// Nobody in the directory has this user principal name or mail address.
    Unknown(String),
    /// The person's account is disabled.
    Disabled(String),
    /// The person named themself.
    ToSelf,
    /// A date is missing or not a date.
    BadDate(&'static str),
    /// The last day is before the first.
    EndsBeforeStart,
    /// The period is over already.
    InThePast,
    /// The period is longer than [`MAX_DAYS`].
    TooLong,
    /// The note is too long.
    NoteTooLong,
    /// Another delegation of the person covers part of the period.
    Overlaps(String),
}

impl DelegationError {
    /// The message for the person naming a delegate.
    pub fn message(&self) -> String {
        match self {
            Self::NoDelegate => "Enter the user principal name or mail address of your delegate, such as \
                                 name@contoso.example. Nothing was saved."
                .into(),
            Self::Unknown(upn) => format!(
                "No one in the directory has the user principal name or mail address “{}”. Check the spelling. \
                 Nothing was saved.",
                upn.chars().take(200).collect::<String>()
            ),
            Self::Disabled(name) => format!(
                "{name}'s account is disabled, so they cannot sign in to review. Choose someone else. Nothing was \
                 saved."
            ),
            Self::ToSelf => "You cannot be your own delegate: enter someone else's user principal name. Nothing \
                             was saved."
                .into(),
            Self::BadDate(which) => {
                format!("Enter the {which} as a date, such as 2026-12-24. Nothing was saved.")
            }
            Self::EndsBeforeStart => {
                "The last day is before the first day: correct one of them. Nothing was saved.".into()
            }
            Self::InThePast => "The last day has passed already: choose dates from today on. Nothing was saved.".into(),
            Self::TooLong => format!(
                "A delegation runs at most {MAX_DAYS} days: shorten the period (for a longer absence, ask an admin \
                 to reassign your reviews). Nothing was saved."
            ),
            Self::NoteTooLong => format!("Shorten the note to at most {MAX_NOTE_LEN} characters. Nothing was saved."),
            Self::Overlaps(name) => format!(
                "Your delegation to {name} covers part of these days already: end it first, or choose other days. \
                 Nothing was saved."
            ),
        }
    }
}

/// Checks a delegation's form: its first and last day (`YYYY-MM-DD`, UTC, both included)
/// and note, at `now`. A period that began earlier today starts now, so that nothing is
/// backdated.
pub fn check_period(first: &str, last: &str, note: &str, now: NaiveDateTime) -> Result<Period, DelegationError> {
    let day = |text: &str, which: &'static str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| DelegationError::BadDate(which))
    };
    let (first, last) = (day(first, "first day")?, day(last, "last day")?);
    if last < first {
        return Err(DelegationError::EndsBeforeStart);
    }
    let ends_at = last.succ_opt().ok_or(DelegationError::TooLong)?.and_time(NaiveTime::MIN);
    if ends_at <= now {
        return Err(DelegationError::InThePast);
    }
    let days = (last - first).num_days().checked_add(1).ok_or(DelegationError::TooLong)?;
    if days > MAX_DAYS {
        return Err(DelegationError::TooLong);
    }
    let note = clean_note(note);
    if note.chars().count() > MAX_NOTE_LEN {
        return Err(DelegationError::NoteTooLong);
    }
    let starts_at = first.and_time(NaiveTime::MIN).max(now);
    Ok(Period { starts_at, ends_at, note })
}

/// A note as kept: its lines, without control characters (a NUL, a terminal escape) or
/// bidi overrides and isolates (which could reorder the page around it), trimmed.
fn clean_note(note: &str) -> String {
    note.chars()
        .filter(|c| *c == '\n' || !(c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Whether a delegation from `starts_at` to `ends_at` (unless `ended_at`, when it was
/// ended early) is in force at `now`.
pub fn in_force(
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> bool {
    starts_at <= now && now < end_of(ends_at, ended_at)
}

/// When a delegation stops: its planned end, or its early end.
pub fn end_of(ends_at: NaiveDateTime, ended_at: Option<NaiveDateTime>) -> NaiveDateTime {
    ended_at.map_or(ends_at, |e| e.min(ends_at))
}

/// The last day a delegation runs (its end is exclusive, at midnight), for pages and mails.
pub fn last_day(ends_at: NaiveDateTime) -> NaiveDate {
    (ends_at - TimeDelta::seconds(1)).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_period_is_whole_days_from_now_on() {
        let now = at("2026-12-02 15:00");
        let p = check_period("2026-12-02", "2026-12-04", "  skiing ", now).unwrap();
        assert_eq!(p.starts_at, now, "today's start is not backdated");
        assert_eq!(p.ends_at, at("2026-12-05 00:00"), "the last day is included");
        assert_eq!(p.note, "skiing");
        let hostile = check_period("2026-12-02", "2026-12-04", "a\u{0}b\u{1b}[31m\u{202e}c\nd\r", now).unwrap();
        assert_eq!(hostile.note, "ab[31mc\nd", "no control character or override is kept");
        assert_eq!(last_day(p.ends_at).to_string(), "2026-12-04");
        let later = check_period("2026-12-10", "2026-12-10", "", now).unwrap();
        assert_eq!(later.starts_at, at("2026-12-10 00:00"));
    }

    #[test]
    fn the_rules_and_their_messages() {
        let now = at("2026-12-02 15:00");
        assert_eq!(check_period("", "2026-12-04", "", now), Err(DelegationError::BadDate("first day")));
        assert_eq!(check_period("2026-12-02", "4 Dec", "", now), Err(DelegationError::BadDate("last day")));
        assert_eq!(check_period("2026-12-05", "2026-12-04", "", now), Err(DelegationError::EndsBeforeStart));
        assert_eq!(check_period("2026-11-01", "2026-12-01", "", now), Err(DelegationError::InThePast));
        assert_eq!(check_period("2026-12-02", "2027-12-31", "", now), Err(DelegationError::TooLong));
        assert_eq!(check_period("2026-12-02", "2026-12-03", &"x".repeat(501), now), Err(DelegationError::NoteTooLong));
        // The calendar's last day cannot overflow the arithmetic.
        assert_eq!(check_period("+262143-12-31", "+262143-12-31", "", now), Err(DelegationError::BadDate("first day")));
        assert!(check_period("9999-12-31", "9999-12-31", "", now).is_ok());
        assert!(DelegationError::Overlaps("Ana".into()).message().contains("Ana"));
        assert!(DelegationError::TooLong.message().contains("366"));
    }

    #[test]
    fn in_force_until_its_end_or_an_early_end() {
        let (s, e) = (at("2026-12-02 00:00"), at("2026-12-05 00:00"));
        assert!(!in_force(s, e, None, at("2026-12-01 23:59")));
        assert!(in_force(s, e, None, s));
        assert!(!in_force(s, e, None, e));
        assert!(!in_force(s, e, Some(at("2026-12-03 09:00")), at("2026-12-03 09:00")));
        assert!(in_force(s, e, Some(at("2026-12-03 09:00")), at("2026-12-03 08:59")));
    }
}
