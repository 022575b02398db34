//! Recommendations shown beside each decision item, fixed when an instance starts. Their
//! reasons go into justifications ("Accepted the recommendation: …"), the audit trail and
//! the CSV exports, so they read as plain sentences that stand on their own: which
//! sign-in, how long ago, and the look-back they were measured against.

use chrono::{NaiveDateTime, TimeDelta};

use super::directory::days_since;
use super::state::stored_state;

stored_state! {
    /// Entra's recommendation values.
    Recommendation in "decision_items.recommendation" {
        /// Keep the access.
        Approve => "Approve",
        /// Remove the access.
        Deny => "Deny",
        /// Nothing to go on.
        NoInfoAvailable => "NoInfoAvailable",
    }
}

impl Recommendation {
    /// How a review's table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::NoInfoAvailable => "No information",
        }
    }
}

/// Which sign-ins a recommendation looks at (Entra's `recommendationInsightSettings`
/// last-sign-in scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInScope<'a> {
    /// Sign-ins to the directory (the tenant): group and role reviews.
    Directory,
    /// Sign-ins to this application: application reviews.
    Application(&'a str),
}

impl SignInScope<'_> {
    /// "" or " to Salesforce": what "sign-in" refers to, when it is not the directory.
    fn to(self) -> String {
        match self {
            Self::Directory => String::new(),
            Self::Application(name) => format!(" to {name}"),
        }
    }
}

/// "1 day", "34 days".
fn days(n: i64) -> String {
    if n == 1 { "1 day".to_owned() } else { format!("{n} days") }
}

/// "today", "yesterday", "3 days ago": how long before `now` the day of `at` was (calendar
/// days, as people count them).
fn ago(at: NaiveDateTime, now: NaiveDateTime) -> String {
    match (now.date() - at.date()).num_days() {
        n if n <= 0 => "today".to_owned(),
        1 => "yesterday".to_owned(),
        n => format!("{n} days ago"),
    }
}

/// The recommendation for one principal and its reason, e.g. "No sign-in for 34 days
/// (look-back 30 days)" or, in an application review, "Signed in to Salesforce yesterday
/// (look-back 30 days)".
///
/// - recommendations off → no information;
/// - account disabled → Deny;
/// - no sign-in at all on record → no information;
/// - no sign-in within the look-back (to the directory, or to the app for app reviews) → Deny;
/// - otherwise → Approve.
pub fn recommend(
    enabled: bool,
    account_enabled: bool,
    last_sign_in: Option<NaiveDateTime>,
    lookback_days: u32,
    scope: SignInScope<'_>,
    now: NaiveDateTime,
) -> (Recommendation, String) {
    if !enabled {
        return (Recommendation::NoInfoAvailable, String::new());
    }
    if !account_enabled {
        return (Recommendation::Deny, "The account is disabled".into());
    }
    let lookback = i64::from(lookback_days);
    let threshold = format!("look-back {}", days(lookback));
    let to = scope.to();
    match last_sign_in {
        None => (Recommendation::NoInfoAvailable, format!("No sign-in{to} on record")),
        // Checked: a clock near the end of time cannot panic a review's start.
        Some(at) if now.checked_sub_signed(TimeDelta::days(lookback)).is_none_or(|cutoff| at < cutoff) => {
            (Recommendation::Deny, format!("No sign-in{to} for {} ({threshold})", days(days_since(at, now))))
        }
        Some(at) => (Recommendation::Approve, format!("Signed in{to} {} ({threshold})", ago(at, now))),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    const TENANT: SignInScope<'static> = SignInScope::Directory;

    #[test]
    fn recommendations_follow_sign_ins() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let ago = |days| Some(now - TimeDelta::days(days));
        assert_eq!(
            recommend(true, true, ago(94), 30, TENANT, now),
            (Recommendation::Deny, "No sign-in for 94 days (look-back 30 days)".into())
        );
        assert_eq!(
            recommend(true, true, ago(3), 30, TENANT, now),
            (Recommendation::Approve, "Signed in 3 days ago (look-back 30 days)".into())
        );
        assert_eq!(
            recommend(true, true, ago(30), 30, TENANT, now).0,
            Recommendation::Approve,
            "exactly the look-back is still active"
        );
        assert_eq!(
            recommend(true, false, ago(1), 30, TENANT, now),
            (Recommendation::Deny, "The account is disabled".into())
        );
        assert_eq!(
            recommend(true, true, None, 30, TENANT, now),
            (Recommendation::NoInfoAvailable, "No sign-in on record".into())
        );
        assert_eq!(
            recommend(false, false, ago(400), 30, TENANT, now),
            (Recommendation::NoInfoAvailable, String::new())
        );
    }

    #[test]
    fn reasons_read_as_people_speak() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let at = |d: u32, h: u32| Some(NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(h, 0, 0).unwrap());
        let reason = |last| recommend(true, true, last, 30, TENANT, now).1;
        assert_eq!(reason(at(28, 8)), "Signed in today (look-back 30 days)");
        // Yesterday evening is yesterday, though less than a day ago.
        assert_eq!(reason(at(27, 22)), "Signed in yesterday (look-back 30 days)");
        assert_eq!(reason(at(27, 1)), "Signed in yesterday (look-back 30 days)");
        assert_eq!(reason(at(26, 12)), "Signed in 2 days ago (look-back 30 days)");
        // A sign-in clock slightly ahead of attest's is still today.
        assert_eq!(reason(at(28, 10)), "Signed in today (look-back 30 days)");
        assert!(!reason(at(27, 22)).contains(" 0 days") && !reason(at(27, 1)).contains(" 1 days"));
        // One-day look-backs and one-day gaps read in the singular.
        let deny = recommend(true, true, Some(now - TimeDelta::hours(30)), 1, TENANT, now).1;
        assert_eq!(deny, "No sign-in for 1 day (look-back 1 day)");
    }

    #[test]
    fn application_reviews_name_the_application() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let app = SignInScope::Application("Salesforce");
        assert_eq!(
            recommend(true, true, Some(now - TimeDelta::days(34)), 30, app, now),
            (Recommendation::Deny, "No sign-in to Salesforce for 34 days (look-back 30 days)".into())
        );
        assert_eq!(
            recommend(true, true, Some(now - TimeDelta::days(1)), 30, app, now).1,
            "Signed in to Salesforce yesterday (look-back 30 days)"
        );
        assert_eq!(recommend(true, true, None, 30, app, now).1, "No sign-in to Salesforce on record");
    }

    #[test]
    fn the_end_of_time_does_not_panic() {
        let now = NaiveDateTime::MIN;
        assert_eq!(recommend(true, true, Some(now), 30, TENANT, now).0, Recommendation::Deny);
        let late = NaiveDateTime::MAX;
        assert_eq!(recommend(true, true, Some(late), 180, TENANT, late).0, Recommendation::Approve);
    }
}
