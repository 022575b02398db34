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
//!
//! All date arithmetic is checked: a date past chrono's range (year ±262 143) means "no
//! such occurrence", never a panic, whatever was stored.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta};

use super::state::stored_state;

stored_state! {
    /// How often a series recurs.
    Frequency in "review_definitions.frequency" {
        /// A single occurrence.
        OneTime => "OneTime",
        /// Every week.
        Weekly => "Weekly",
        /// Every month.
        Monthly => "Monthly",
        /// Every three months.
        Quarterly => "Quarterly",
        /// Every six months.
        SemiAnnually => "SemiAnnually",
        /// Every twelve months.
        Annually => "Annually",
    }
}

impl Frequency {
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

stored_state! {
    /// How a stored series ends: the kind of [`SeriesEnd`], beside its date or count.
    EndKind in "review_definitions.end_kind" {
        /// It recurs until stopped.
        Never => "Never",
        /// No occurrence starts after a date.
        OnDate => "OnDate",
        /// It stops after a number of occurrences.
        AfterOccurrences => "AfterOccurrences",
    }
}

impl SeriesEnd {
    /// The kind stored for this end.
    pub fn kind(self) -> EndKind {
        match self {
            Self::Never => EndKind::Never,
            Self::OnDate(_) => EndKind::OnDate,
            Self::AfterOccurrences(_) => EndKind::AfterOccurrences,
        }
    }

    /// The end a stored kind, date and count describe; `None` when the kind's value is missing
    /// or out of range.
    pub fn stored(kind: EndKind, date: Option<NaiveDate>, count: Option<i32>) -> Option<Self> {
        Some(match kind {
            EndKind::Never => Self::Never,
            EndKind::OnDate => Self::OnDate(date?),
            EndKind::AfterOccurrences => Self::AfterOccurrences(u32::try_from(count?).ok()?),
        })
    }
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

/// What is wrong with a schedule, by the part of it to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// The first occurrence cannot be placed (its start or end is past the calendar).
    Start(String),
    /// The duration does not fit the frequency.
    Duration(String),
    /// The end date is before the start.
    EndDate(String),
    /// The number of occurrences is zero.
    Occurrences(String),
}

impl ScheduleError {
    /// The message, which says how to fix it.
    pub fn message(&self) -> &str {
        match self {
            Self::Start(m) | Self::Duration(m) | Self::EndDate(m) | Self::Occurrences(m) => m,
        }
    }
}

impl Schedule {
    /// Checks the duration against the frequency, the end against the start, and that the
    /// first occurrence has a place in the calendar; the message says how to fix it.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let max = self.frequency.max_duration_days();
        if self.duration_days < 1 || self.duration_days > max {
            let what = match self.frequency {
                Frequency::OneTime => "a one-time review".to_owned(),
                f => format!("a {} review", f.label().to_lowercase()),
            };
            return Err(ScheduleError::Duration(format!("Enter a duration of 1 to {max} days for {what}")));
        }
        match self.end {
            SeriesEnd::OnDate(date) if date < self.start => {
                return Err(ScheduleError::EndDate("Enter an end date on or after the start date".into()));
            }
            SeriesEnd::AfterOccurrences(0) => {
                return Err(ScheduleError::Occurrences("Enter a number of occurrences of at least 1".into()));
            }
            _ => {}
        }
        if self.occurrence(0).is_none() {
            return Err(ScheduleError::Start("Enter an earlier start date".into()));
        }
        Ok(())
    }

    /// The start date of occurrence `index`, ignoring the series end.
    fn start_date(&self, index: u32) -> Option<NaiveDate> {
        if index == 0 {
            return Some(self.start);
        }
        match self.frequency {
            Frequency::OneTime => None,
            Frequency::Weekly => self.start.checked_add_signed(TimeDelta::try_weeks(i64::from(index))?),
            // Counting from the series start (not the previous occurrence) keeps the day
            // of the month: 31 Jan → 28/29 Feb → 31 Mar.
            f => self.start.checked_add_months(Months::new(f.months()?.checked_mul(index)?)),
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
        let end = start.checked_add_signed(TimeDelta::try_days(i64::from(self.duration_days))?)?;
        Some(Occurrence { index, start, end })
    }

    /// The occurrence a scheduler should create at `now`, given that occurrences before
    /// `next` exist already. Catch-up rule: occurrences whose whole window passed while
    /// attest was down are skipped, so a long outage creates at most one instance — the
    /// latest one still open — never a burst of stale ones.
    pub fn due(&self, next: u32, now: NaiveDateTime) -> Due {
        // Jump close to `now` instead of walking every period since the start: a series
        // that started long ago (or a date far in the past in the database) costs the same.
        // Only the occurrence before the one counted may still be open (a duration fits in
        // a period), so the walk below takes a step or two.
        let mut index = next.max(self.periods_until(now.date()).saturating_sub(1));
        loop {
            let Some(occ) = self.occurrence(index) else { return Due::Finished };
            if occ.start > now {
                return Due::NotYet(occ);
            }
            if occ.end > now {
                return Due::Start { occurrence: occ, skipped: index.saturating_sub(next) };
            }
            let Some(following) = index.checked_add(1) else { return Due::Finished };
            index = following;
        }
    }
}

impl Schedule {
    /// How many whole periods lie between the start and `day` (0 before the start): the
    /// index of the occurrence starting on or just before `day`, give or take one for the
    /// days at the end of a month.
    fn periods_until(&self, day: NaiveDate) -> u32 {
        if day <= self.start {
            return 0;
        }
        let periods = match self.frequency {
            Frequency::OneTime => 0,
            Frequency::Weekly => day.signed_duration_since(self.start).num_weeks(),
            f => {
                let months = (i64::from(day.year()) - i64::from(self.start.year())) * 12 + i64::from(day.month())
                    - i64::from(self.start.month());
                months / i64::from(f.months().unwrap_or(1))
            }
        };
        u32::try_from(periods.max(0)).unwrap_or(u32::MAX)
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
        assert_eq!(
            monthly.validate().unwrap_err(),
            ScheduleError::Duration("Enter a duration of 1 to 27 days for a monthly review".into())
        );
        let backwards = Schedule { end: SeriesEnd::OnDate(d(2025, 1, 1)), ..monthly };
        assert!(matches!(
            Schedule { duration_days: 5, ..backwards }.validate(),
            Err(ScheduleError::EndDate(m)) if m.contains("on or after the start")
        ));
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

    /// Dates at the edges of the calendar, and a spread in between.
    fn edge_dates() -> Vec<NaiveDate> {
        let mut dates = vec![
            NaiveDate::MIN,
            NaiveDate::MAX,
            d(262_142, 12, 31),
            d(262_142, 12, 1),
            NaiveDate::MIN.succ_opt().unwrap(),
            d(1, 1, 1),
            d(9999, 12, 31),
            d(2000, 2, 29),
        ];
        let mut day = d(1999, 12, 25);
        while day < d(2001, 3, 5) {
            dates.push(day);
            day = day.succ_opt().unwrap();
        }
        let mut near_end = NaiveDate::MAX;
        for _ in 0..400 {
            near_end = near_end.pred_opt().unwrap();
            dates.push(near_end);
        }
        dates
    }

    #[test]
    fn no_date_or_index_panics() {
        let ends = |start: NaiveDate| {
            [
                SeriesEnd::Never,
                SeriesEnd::OnDate(NaiveDate::MAX),
                SeriesEnd::OnDate(start),
                SeriesEnd::AfterOccurrences(u32::MAX),
            ]
        };
        let nows = [NaiveDateTime::MIN, NaiveDateTime::MAX, d(2026, 11, 28).and_hms_opt(9, 0, 0).unwrap()];
        for start in edge_dates() {
            for frequency in Frequency::ALL {
                for duration_days in [1, frequency.max_duration_days(), u32::MAX] {
                    for end in ends(start) {
                        let s = Schedule { start, frequency, duration_days, end };
                        let _ = s.validate();
                        let mut previous = None;
                        for index in
                            [0, 1, 2, 11, 12, 1_000, 100_000, u32::MAX / 12, u32::MAX / 7, u32::MAX - 1, u32::MAX]
                        {
                            if let Some(o) = s.occurrence(index) {
                                assert!(o.end > o.start, "{s:?} {index}");
                                if let Some(p) = previous {
                                    assert!(o.start > p, "occurrences move forward: {s:?} {index}");
                                }
                                previous = Some(o.start);
                            }
                        }
                        for next in [0, 5, u32::MAX - 1, u32::MAX] {
                            for now in nows {
                                let _ = s.due(next, now);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_first_occurrence_past_the_calendar_is_refused_not_a_panic() {
        let s =
            Schedule { start: NaiveDate::MAX, frequency: Frequency::OneTime, duration_days: 14, end: SeriesEnd::Never };
        assert_eq!(s.occurrence(0), None);
        assert_eq!(s.validate(), Err(ScheduleError::Start("Enter an earlier start date".into())));
        assert_eq!(s.due(0, NaiveDateTime::MAX), Due::Finished);
        let weekly = Schedule { start: d(262_142, 12, 1), frequency: Frequency::Weekly, duration_days: 6, ..s };
        assert!(weekly.occurrence(0).is_some());
        assert_eq!(weekly.occurrence(10), None, "past the calendar: no such occurrence");
        assert!(matches!(weekly.due(0, NaiveDateTime::MAX), Due::Finished));
        let monthly = Schedule { frequency: Frequency::Annually, start: d(2026, 1, 1), duration_days: 14, ..s };
        assert_eq!(monthly.occurrence(u32::MAX), None, "12 × u32::MAX months overflows: none, not a panic");
    }

    /// `due` as it was first written: walking from `next`, one occurrence at a time.
    fn due_by_walking(s: &Schedule, next: u32, now: NaiveDateTime) -> Due {
        let mut index = next;
        loop {
            let Some(occ) = s.occurrence(index) else { return Due::Finished };
            if occ.start > now {
                return Due::NotYet(occ);
            }
            if occ.end > now {
                return Due::Start { occurrence: occ, skipped: index - next };
            }
            index += 1;
        }
    }

    #[test]
    fn jumping_to_now_finds_what_walking_finds() {
        let mut starts = vec![d(2026, 1, 31), d(2028, 2, 29), d(2026, 11, 30), d(2026, 3, 1)];
        starts.push(d(2027, 8, 31));
        for start in starts {
            for frequency in Frequency::ALL {
                for duration_days in [1, 3, frequency.max_duration_days()] {
                    for end in [SeriesEnd::Never, SeriesEnd::AfterOccurrences(7), SeriesEnd::OnDate(d(2029, 5, 31))] {
                        let s = Schedule { start, frequency, duration_days, end };
                        let mut now = start.and_hms_opt(0, 0, 0).unwrap() - TimeDelta::days(3);
                        while now.date() < d(2031, 1, 1) {
                            for next in [0, 1, 3] {
                                assert_eq!(s.due(next, now), due_by_walking(&s, next, now), "{s:?} {next} {now}");
                            }
                            now += TimeDelta::hours(37);
                        }
                    }
                }
            }
        }
    }
}
