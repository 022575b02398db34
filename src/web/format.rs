//! How times and counts are written on pages.

use chrono::NaiveDateTime;

use crate::domain::directory::days_since;

/// An absolute UTC time: "2026-11-28 14:03 UTC".
pub fn datetime(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An absolute UTC time to the second, for records: "2026-11-28 14:03:07 UTC".
pub fn datetime_seconds(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An occurrence's end: its planned end, or when it was stopped with the planned end
/// beside it ("Stopped on 2026-11-29 10:15 UTC (planned end 2026-12-05 00:00 UTC)").
pub fn end_of(end_at: NaiveDateTime, completed_at: Option<NaiveDateTime>) -> String {
    match crate::domain::occurrence::stopped_at(end_at, completed_at) {
        Some(stopped) => format!("Stopped on {} (planned end {})", datetime(stopped), datetime(end_at)),
        None => datetime(end_at),
    }
}

/// A date: "2026-11-28".
pub fn date(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A time, or "Never" when absent ("last used", "last changed").
pub fn datetime_or_never(at: Option<NaiveDateTime>) -> String {
    at.map_or_else(|| "Never".to_owned(), datetime)
}

/// A past time with its age: "2026-10-01 (58 days ago)", "Never" when absent.
pub fn last_seen(at: Option<NaiveDateTime>, now: NaiveDateTime) -> String {
    match at {
        None => "Never".to_owned(),
        Some(at) => match days_since(at, now) {
            0 => format!("{} (today)", date(at)),
            1 => format!("{} (yesterday)", date(at)),
            n => format!("{} ({n} days ago)", date(at)),
        },
    }
}

/// "1 user", "2 users".
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn times_read_well() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(14, 3, 0).unwrap();
        assert_eq!(datetime(now), "2026-11-28 14:03 UTC");
        assert_eq!(last_seen(None, now), "Never");
        assert_eq!(last_seen(Some(now), now), "2026-11-28 (today)");
        assert_eq!(last_seen(Some(now - chrono::TimeDelta::days(40)), now), "2026-10-19 (40 days ago)");
        assert_eq!(count(1, "user", "users"), "1 user");
        assert_eq!(count(3, "user", "users"), "3 users");
        assert_eq!(datetime_seconds(now + chrono::TimeDelta::seconds(7)), "2026-11-28 14:03:07 UTC");
        let end = now + chrono::TimeDelta::days(7);
        assert_eq!(end_of(end, None), "2026-12-05 14:03 UTC");
        assert_eq!(end_of(end, Some(now)), "Stopped on 2026-11-28 14:03 UTC (planned end 2026-12-05 14:03 UTC)");
    }
}
