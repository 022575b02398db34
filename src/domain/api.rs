//! Callers of the Graph-compatible API and what they may do: application clients and
//! personal access tokens, each with one of Graph's two access review permissions.

use chrono::{NaiveDateTime, TimeDelta};

use super::state::stored_state;

stored_state! {
    /// A caller's permission, spelled as Microsoft Graph names them.
    Permission in "api_clients.permission, personal_tokens.permission" {
        /// Read every review, instance and decision the caller may see.
        Read => "AccessReview.Read.All",
        /// Also create, change and delete series, decide, stop, apply and reset.
        ReadWrite => "AccessReview.ReadWrite.All",
    }
}

impl Permission {
    /// Whether it allows changes.
    pub fn can_write(self) -> bool {
        self == Self::ReadWrite
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read access reviews",
            Self::ReadWrite => "Read and change access reviews",
        }
    }
}

/// Minutes an access token issued to a client lives (Entra's are 60 to 90).
pub const ACCESS_TOKEN_MINUTES: i64 = 60;
/// The longest life of a client secret or a personal access token.
pub const MAX_CREDENTIAL_DAYS: i64 = 730;
/// The life of a new credential when none is chosen.
pub const DEFAULT_CREDENTIAL_DAYS: i64 = 180;
/// The longest name of a client or token.
pub const MAX_NAME_LEN: usize = 100;

/// When a credential made at `now` for `days` days expires; `None` when `days` is out of
/// range (1 to [`MAX_CREDENTIAL_DAYS`]).
pub fn expiry(now: NaiveDateTime, days: i64) -> Option<NaiveDateTime> {
    if !(1..=MAX_CREDENTIAL_DAYS).contains(&days) {
        return None;
    }
    now.checked_add_signed(TimeDelta::days(days))
}

/// What is wrong with a client's or token's name, or `None`.
pub fn name_problem(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return Some("Give a name, e.g. after the script or tool that uses it.".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Some(format!("The name is longer than {MAX_NAME_LEN} characters: shorten it."));
    }
    // An allow-list, as for source names: no control or bidirectional characters.
    name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')' | '/'))).map(|bad| {
        format!("A name may hold letters, digits, spaces and - _ . ( ) /, not {:?}.", bad.escape_default().to_string())
    })
}

/// Whether a credential is usable at `now`.
pub fn is_live(expires_at: Option<NaiveDateTime>, revoked_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    revoked_at.is_none() && expires_at.is_none_or(|at| at > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_and_expiry() {
        assert_eq!(Permission::parse("AccessReview.ReadWrite.All"), Some(Permission::ReadWrite));
        assert!(!Permission::Read.can_write());
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(expiry(now, 0), None);
        assert_eq!(expiry(now, 731), None);
        assert_eq!(expiry(now, 1), Some(now + TimeDelta::days(1)));
        assert!(is_live(Some(now + TimeDelta::days(1)), None, now));
        assert!(!is_live(Some(now), None, now));
        assert!(!is_live(None, Some(now), now));
        assert!(name_problem("ci pipeline").is_none());
        assert!(name_problem(" ").is_some());
        assert!(name_problem("a\u{202e}b").is_some());
    }
}
