//! When the occurrences of a review series start and end. Pure: dates in, dates out.
//!
//! Rules, as Entra ID applies them:
//! - frequencies: one time, weekly, monthly, quarterly (every 3 months), semi-annually (6)
//!   and annually (12); monthly-based occurrences keep the start's day of the month,
//!   clamped to the month's last day (a series starting on 31 January runs on 28 or 29
//!   February, then 31 March);
//! - an occurrence lasts `duration_days` and must end before the next one starts: at most
//!   6 days weekly, 27 monthly, 80 quarterly, 170 semi-annually, 350 annually, and 180 for a
//!   one-time review;
//! - a series ends never, after an end date (no occurrence starts after it), or after N
//!   occurrences.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta};

/// How often a series recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// A single occurrence.
    OneTime,
    /// Every week.
    Weekly,
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every six months.
    SemiAnnually,
    /// Every twelve months.
    Annually,
}

impl Frequency {
    /// Every frequency, in the order forms list them.
    pub const ALL: [Frequency; 6] =
        [Self::OneTime, Self::Weekly, Self::Monthly, Self::Quarterly, Self::SemiAnnually, Self::Annually];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneTime => "OneTime",
            Self::Weekly => "Weekly",
            Self::Monthly => "Monthly",
            Self::Quarterly => "Quarterly",
            Self::SemiAnnually => "SemiAnnually",
            Self::Annually => "Annually",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// How people read it.
    pub fn label(self) -> &'static str {
        match self {
            Self::OneTime => "One time",
            Self::Weekly => "Weekly",
            Self::Monthly => "Monthly",
            Self::Quarterly => "Quarterly",
            Self::SemiAnnually => "Semi-annually",
            Self::Annually => "Annually",
        }
    }

    /// The longest an occurrence may last, in days.
    pub fn max_duration_days(self) -> u32 {
        match self {
            Self::OneTime => 180,
            Self::Weekly => 6,
            Self::Monthly => 27,
            Self::Quarterly => 80,
            Self::SemiAnnually => 170,
            Self::Annually => 350,
        }
    }

    fn months(self) -> Option<u32> {
        match self {
            Self::Monthly => Some(1),
            Self::Quarterly => Some(3),
            Self::SemiAnnually => Some(6),
            Self::Annually => Some(12),
            Self::OneTime | Self::Weekly => None,
        }
    }
}

/// When a series stops producing occurrences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesEnd {
    /// It recurs until stopped.
    Never,
    /// No occurrence starts after this date.
    OnDate(NaiveDate),
    /// It stops after this many occurrences.
    AfterOccurrences(u32),
}

/// A series' schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The first occurrence's start (midnight UTC of this date).
    pub start: NaiveDate,
    /// How often.
    pub frequency: Frequency,
    /// How long each occurrence lasts.
    pub duration_days: u32,
    /// When it stops.
    pub end: SeriesEnd,
}

/// One occurrence: its number (0-based) and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// 0 for the first.
    pub index: u32,
    /// When it opens.
    pub start: NaiveDateTime,
    /// When it closes.
    pub end: NaiveDateTime,
}

impl Schedule {
    /// Checks the duration against the frequency; the message says how to fix it.
    pub fn validate(&self) -> Result<(), String> {
        let max = self.frequency.max_duration_days();
        if self.duration_days < 1 || self.duration_days > max {
            let what = match self.frequency {
                Frequency::OneTime => "a one-time review".to_owned(),
                f => format!("a {} review", f.label().to_lowercase()),
            };
            return Err(format!("Enter a duration of 1 to {max} days for {what}"));
        }
        match self.end {
            SeriesEnd::OnDate(date) if date < self.start => Err("Enter an end date on or after the start date".into()),
            SeriesEnd::AfterOccurrences(0) => Err("Enter a number of occurrences of at least 1".into()),
            _ => Ok(()),
        }
    }

    /// The start date of occurrence `index`, ignoring the series end.
    fn start_date(&self, index: u32) -> Option<NaiveDate> {
        if index == 0 {
            return Some(self.start);
        }
        match self.frequency {
            Frequency::OneTime => None,
            Frequency::Weekly => self.start.checked_add_signed(TimeDelta::weeks(i64::from(index))),
            // Counting from the series start (not the previous occurrence) keeps the day
            // of the month: 31 Jan → 28/29 Feb → 31 Mar.
            f => self.start.checked_add_months(Months::new(f.months()? * index)),
        }
    }

    /// Occurrence `index`, if the series has it.
    pub fn occurrence(&self, index: u32) -> Option<Occurrence> {
        if let SeriesEnd::AfterOccurrences(n) = self.end
            && index >= n
        {
            return None;
        }
        let date = self.start_date(index)?;
        if let SeriesEnd::OnDate(last) = self.end
            && date > last
        {
            return None;
        }
        let start = date.and_hms_opt(0, 0, 0)?;
        Some(Occurrence { index, start, end: start + TimeDelta::days(i64::from(self.duration_days)) })
    }

    /// The occurrence a scheduler should create at `now`, given that occurrences before
    /// `next` exist already. Catch-up rule: occurrences whose whole window passed while
    /// attest was down are skipped, so a long outage creates at most one instance — the
    /// latest one still open — never a burst of stale ones.
    pub fn due(&self, next: u32, now: NaiveDateTime) -> Due {
        let mut index = next;
        loop {
            let Some(occ) = self.occurrence(index) else { return Due::Finished };
            if occ.start > now {
                return Due::NotYet(occ);
            }
            if occ.end > now {
                return Due::Start { occurrence: occ, skipped: index - next };
            }
            index += 1;
        }
    }
}

/// What the scheduler should do for a series now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Start this occurrence; `skipped` earlier ones passed unseen.
    Start { occurrence: Occurrence, skipped: u32 },
    /// Nothing yet; this one starts next.
    NotYet(Occurrence),
    /// The series has no more occurrences.
    Finished,
}

/// The last day of `date`'s month (for forms and tests).
pub fn last_day_of_month(date: NaiveDate) -> u32 {
    let first_next = date.with_day(1).and_then(|d| d.checked_add_months(Months::new(1)));
    first_next.and_then(|d| d.pred_opt()).map_or(28, |d| d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn schedule(start: NaiveDate, frequency: Frequency, end: SeriesEnd) -> Schedule {
        Schedule { start, frequency, duration_days: 5, end }
    }

    fn starts(s: &Schedule, n: u32) -> Vec<Option<NaiveDate>> {
        (0..n).map(|i| s.occurrence(i).map(|o| o.start.date())).collect()
    }

    #[test]
    fn every_frequency_steps_as_expected() {
        let table = [
            (Frequency::OneTime, vec![Some(d(2026, 1, 15)), None, None]),
            (Frequency::Weekly, vec![Some(d(2026, 1, 15)), Some(d(2026, 1, 22)), Some(d(2026, 1, 29))]),
            (Frequency::Monthly, vec![Some(d(2026, 1, 15)), Some(d(2026, 2, 15)), Some(d(2026, 3, 15))]),
            (Frequency::Quarterly, vec![Some(d(2026, 1, 15)), Some(d(2026, 4, 15)), Some(d(2026, 7, 15))]),
            (Frequency::SemiAnnually, vec![Some(d(2026, 1, 15)), Some(d(2026, 7, 15)), Some(d(2027, 1, 15))]),
            (Frequency::Annually, vec![Some(d(2026, 1, 15)), Some(d(2027, 1, 15)), Some(d(2028, 1, 15))]),
        ];
        for (frequency, expected) in table {
            assert_eq!(starts(&schedule(d(2026, 1, 15), frequency, SeriesEnd::Never), 3), expected, "{frequency:?}");
        }
    }

    #[test]
    fn month_ends_and_leap_years() {
        let monthly = schedule(d(2028, 1, 31), Frequency::Monthly, SeriesEnd::Never);
        assert_eq!(
            starts(&monthly, 4),
            vec![Some(d(2028, 1, 31)), Some(d(2028, 2, 29)), Some(d(2028, 3, 31)), Some(d(2028, 4, 30))]
        );
        let non_leap = schedule(d(2027, 1, 31), Frequency::Monthly, SeriesEnd::Never);
        assert_eq!(starts(&non_leap, 2)[1], Some(d(2027, 2, 28)));
        let annual_leap_day = schedule(d(2028, 2, 29), Frequency::Annually, SeriesEnd::Never);
        assert_eq!(
            starts(&annual_leap_day, 5)[1..],
            [Some(d(2029, 2, 28)), Some(d(2030, 2, 28)), Some(d(2031, 2, 28)), Some(d(2032, 2, 29))]
        );
        let quarterly = schedule(d(2026, 11, 30), Frequency::Quarterly, SeriesEnd::Never);
        assert_eq!(starts(&quarterly, 2)[1], Some(d(2027, 2, 28)));
        assert_eq!(last_day_of_month(d(2028, 2, 3)), 29);
        assert_eq!(last_day_of_month(d(2026, 12, 3)), 31);
    }

    #[test]
    fn series_ends() {
        let on_date = schedule(d(2026, 1, 1), Frequency::Monthly, SeriesEnd::OnDate(d(2026, 3, 1)));
        assert_eq!(starts(&on_date, 4), vec![Some(d(2026, 1, 1)), Some(d(2026, 2, 1)), Some(d(2026, 3, 1)), None]);
        let after = schedule(d(2026, 1, 1), Frequency::Weekly, SeriesEnd::AfterOccurrences(2));
        assert_eq!(starts(&after, 3), vec![Some(d(2026, 1, 1)), Some(d(2026, 1, 8)), None]);
        let never = schedule(d(2026, 1, 1), Frequency::Annually, SeriesEnd::Never);
        assert!(never.occurrence(50).is_some());
    }

    #[test]
    fn durations_must_fit_in_a_period() {
        let table = [
            (Frequency::OneTime, 180, true),
            (Frequency::OneTime, 181, false),
            (Frequency::Weekly, 6, true),
            (Frequency::Weekly, 7, false),
            (Frequency::Monthly, 27, true),
            (Frequency::Monthly, 28, false),
            (Frequency::Quarterly, 80, true),
            (Frequency::SemiAnnually, 171, false),
            (Frequency::Annually, 350, true),
            (Frequency::Annually, 0, false),
        ];
        for (frequency, days, ok) in table {
            let s = Schedule { start: d(2026, 1, 1), frequency, duration_days: days, end: SeriesEnd::Never };
            assert_eq!(s.validate().is_ok(), ok, "{frequency:?} {days}");
        }
        let monthly =
            Schedule { start: d(2026, 1, 1), frequency: Frequency::Monthly, duration_days: 30, end: SeriesEnd::Never };
        assert_eq!(monthly.validate().unwrap_err(), "Enter a duration of 1 to 27 days for a monthly review");
        let backwards = Schedule { end: SeriesEnd::OnDate(d(2025, 1, 1)), ..monthly };
        assert!(Schedule { duration_days: 5, ..backwards }.validate().unwrap_err().contains("on or after the start"));
    }

    #[test]
    fn occurrences_last_their_duration() {
        let s =
            Schedule { start: d(2026, 3, 1), frequency: Frequency::Monthly, duration_days: 14, end: SeriesEnd::Never };
        let o = s.occurrence(1).unwrap();
        assert_eq!(
            (o.start, o.end),
            (d(2026, 4, 1).and_hms_opt(0, 0, 0).unwrap(), d(2026, 4, 15).and_hms_opt(0, 0, 0).unwrap())
        );
    }

    #[test]
    fn catch_up_skips_stale_occurrences() {
        let s =
            Schedule { start: d(2026, 1, 5), frequency: Frequency::Weekly, duration_days: 3, end: SeriesEnd::Never };
        let at = |day: u32, hour: u32| d(2026, 1, day).and_hms_opt(hour, 0, 0).unwrap();
        assert!(matches!(s.due(0, at(4, 23)), Due::NotYet(o) if o.index == 0));
        assert!(matches!(s.due(0, at(5, 0)), Due::Start { occurrence, skipped: 0 } if occurrence.index == 0));
        // Down from 5 to 20 January: weeks 0 and 1 passed whole; week 2 (19–22) is open.
        assert!(matches!(s.due(0, at(20, 9)), Due::Start { occurrence, skipped: 2 } if occurrence.index == 2));
        // Between windows, nothing is started late: the next one waits for its start.
        assert!(matches!(s.due(0, at(24, 9)), Due::NotYet(o) if o.index == 3));
        let once = Schedule { frequency: Frequency::OneTime, ..s };
        assert_eq!(once.due(1, at(6, 0)), Due::Finished);
        assert_eq!(once.due(0, at(9, 0)), Due::Finished, "a one-time review missed entirely is not started late");
    }
}
