//! Recommendations shown beside each decision item, fixed when an instance starts.

use chrono::{NaiveDateTime, TimeDelta};

use super::directory::days_since;

/// Entra's recommendation values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recommendation {
    /// Keep the access.
    Approve,
    /// Remove the access.
    Deny,
    /// Nothing to go on.
    NoInfoAvailable,
}

impl Recommendation {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::NoInfoAvailable => "NoInfoAvailable",
        }
    }
}

/// The recommendation for one principal and its reason, e.g. "No sign-in for 94 days".
///
/// - recommendations off → no information;
/// - account disabled → Deny;
/// - no sign-in at all on record → no information;
/// - no sign-in within the look-back (to the tenant, or to the app for app reviews) → Deny;
/// - otherwise → Approve.
pub fn recommend(
    enabled: bool,
    account_enabled: bool,
    last_sign_in: Option<NaiveDateTime>,
    lookback_days: u32,
    now: NaiveDateTime,
) -> (Recommendation, String) {
    if !enabled {
        return (Recommendation::NoInfoAvailable, String::new());
    }
    if !account_enabled {
        return (Recommendation::Deny, "The account is disabled".into());
    }
    match last_sign_in {
        None => (Recommendation::NoInfoAvailable, "No sign-in on record".into()),
        Some(at) if at < now - TimeDelta::days(i64::from(lookback_days)) => {
            (Recommendation::Deny, format!("No sign-in for {} days", days_since(at, now)))
        }
        Some(at) => (Recommendation::Approve, format!("Signed in {} days ago", days_since(at, now))),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn recommendations_follow_sign_ins() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let ago = |days| Some(now - TimeDelta::days(days));
        assert_eq!(recommend(true, true, ago(94), 30, now), (Recommendation::Deny, "No sign-in for 94 days".into()));
        assert_eq!(recommend(true, true, ago(3), 30, now), (Recommendation::Approve, "Signed in 3 days ago".into()));
        assert_eq!(
            recommend(true, true, ago(30), 30, now).0,
            Recommendation::Approve,
            "exactly the look-back is still active"
        );
        assert_eq!(recommend(true, false, ago(1), 30, now), (Recommendation::Deny, "The account is disabled".into()));
        assert_eq!(recommend(true, true, None, 30, now).0, Recommendation::NoInfoAvailable);
        assert_eq!(recommend(false, false, ago(400), 30, now), (Recommendation::NoInfoAvailable, String::new()));
    }
}
