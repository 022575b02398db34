//! When an instance really ended: a stopped review ends when it was stopped, not at its
//! planned end.

use chrono::NaiveDateTime;

/// When an occurrence was stopped, if it was stopped before its planned end `end_at`.
/// `completed_at` is when it was completed: the scheduler completes an occurrence at or
/// after its end, so a completion before the end is a stop.
pub fn stopped_at(end_at: NaiveDateTime, completed_at: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    completed_at.filter(|at| *at < end_at)
}

/// When the occurrence ended (or will end): when it was stopped, else its planned end.
/// This is what reports give as its end (Entra's `endDateTime` moves to the stop too).
pub fn actual_end(end_at: NaiveDateTime, completed_at: Option<NaiveDateTime>) -> NaiveDateTime {
    stopped_at(end_at, completed_at).unwrap_or(end_at)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta};

    use super::*;

    #[test]
    fn a_stop_before_the_end_is_the_end() {
        let end = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let early = end - TimeDelta::days(3);
        assert_eq!(stopped_at(end, Some(early)), Some(early));
        assert_eq!(actual_end(end, Some(early)), early);
        // Completed by the scheduler a little after the end, or not yet: the planned end.
        let late = end + TimeDelta::seconds(10);
        assert_eq!(stopped_at(end, Some(late)), None);
        assert_eq!(actual_end(end, Some(late)), end);
        assert_eq!(stopped_at(end, Some(end)), None);
        assert_eq!(actual_end(end, None), end);
    }
}
