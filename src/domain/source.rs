//! Sources: who owns a directory object, and what that means for changing it.
//!
//! Every user, group, membership, application, assignment and role assignment carries the
//! id of the source that brought it in. A source changes and deletes only its own rows. A
//! source that attest can write back to (the built-in `local` one, an LDAP connection) has
//! review removals made directly; a push source (SCIM, CSV) cannot be changed from here, so a
//! removal becomes a remediation task that a later delivery of that source verifies.

use chrono::{NaiveDateTime, TimeDelta};

use super::state::stored_state;

/// The id (and name) of the built-in source: demo data and objects created in attest.
pub const LOCAL: &str = "local";

/// The longest source name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Days after which an open remediation task is shown as overdue, unless the admin set another.
pub const DEFAULT_REMEDIATION_DAYS: i64 = 14;

stored_state! {
    /// What kind of connector a source is.
    SourceKind in "sources.kind" {
        /// attest itself: demo data and objects created here.
        Local => "Local",
        /// A SCIM 2.0 provisioning client (Entra ID, Okta, …) pushing users and groups.
        Scim => "Scim",
        /// CSV files imported by an admin or a script.
        Csv => "Csv",
        /// An LDAP or Active Directory connection.
        Ldap => "Ldap",
    }
}

impl SourceKind {
    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "attest",
            Self::Scim => "SCIM provisioning",
            Self::Csv => "CSV import",
            Self::Ldap => "LDAP directory",
        }
    }

    /// Whether attest can remove access in this source itself when a review denies it.
    /// For the others, applying yields a remediation task.
    pub fn can_remove(self) -> bool {
        matches!(self, Self::Local | Self::Ldap)
    }

    /// Whether a removal must also be written to the source's own directory (LDAP):
    /// applying makes it there first, and only then in attest's copy.
    pub fn writes_back(self) -> bool {
        matches!(self, Self::Ldap)
    }
}

/// The most days an admin may allow before an open remediation task is overdue.
pub const MAX_REMEDIATION_DAYS: i64 = 365;

/// Where a remediation task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// The source still grants the access.
    Open,
    /// Still granted, longer than the days allowed.
    Overdue,
    /// A later write of the source showed the access gone.
    RemovedAtSource,
}

impl TaskState {
    /// The state of a task created at `created_at`, seen removed at `removed_at`, at `now`,
    /// when tasks may stay open `days` days.
    pub fn of(created_at: NaiveDateTime, removed_at: Option<NaiveDateTime>, now: NaiveDateTime, days: i64) -> Self {
        if removed_at.is_some() {
            return Self::RemovedAtSource;
        }
        match overdue_since(now, days) {
            Some(limit) if created_at <= limit => Self::Overdue,
            _ => Self::Open,
        }
    }

    /// The state in words, as the results page and the CSV say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Overdue => "Overdue",
            Self::RemovedAtSource => "Removed at source",
        }
    }
}

/// Tasks created at or before this time are overdue at `now` when still open (`None` when
/// `days` reaches out of the calendar).
pub fn overdue_since(now: NaiveDateTime, days: i64) -> Option<NaiveDateTime> {
    now.checked_sub_signed(TimeDelta::try_days(days)?)
}

/// The days an admin entered, or why they cannot be used.
pub fn parse_remediation_days(text: &str) -> Result<i64, String> {
    let problem = || {
        format!("Enter a whole number of days from 1 to {MAX_REMEDIATION_DAYS}, such as {DEFAULT_REMEDIATION_DAYS}.")
    };
    let days: i64 = text.trim().parse().map_err(|_| problem())?;
    if (1..=MAX_REMEDIATION_DAYS).contains(&days) { Ok(days) } else { Err(problem()) }
}

/// The reason given for a denial attest cannot apply because a push source owns the access.
pub fn managed_by(source_name: &str) -> String {
    format!("managed by {source_name}: remove it there")
}

/// Why a source name cannot be used, or `None` when it can: 1 to [`MAX_NAME_LEN`]
/// characters of letters, digits, space, `-`, `_` and `.`, not starting or ending with a
/// space (names appear in URLs, file names and mails).
pub fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("Give the source a name, such as \"Entra ID\" or \"HR export\".".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Some(format!("A source name is at most {MAX_NAME_LEN} characters."));
    }
    if name.trim() != name {
        return Some("A source name cannot start or end with a space.".into());
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))) {
        return Some(format!(
            "A source name may hold letters, digits, spaces, '-', '_' and '.', not {:?}.",
            bad.escape_default().to_string()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_sources_are_changed_here() {
        assert!(SourceKind::Local.can_remove());
        assert!(!SourceKind::Scim.can_remove());
        assert!(!SourceKind::Csv.can_remove());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(name_problem("Entra ID"), None);
        assert_eq!(name_problem("hr-export_2026.v2"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem(" x").is_some());
        assert!(name_problem("a\u{202e}b").is_some());
        assert!(name_problem("a/b").is_some());
        assert!(name_problem(&"x".repeat(65)).is_some());
        assert_eq!(managed_by("Okta"), "managed by Okta: remove it there");
    }

    #[test]
    fn tasks_become_overdue() {
        let at = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).and_then(|x| x.and_hms_opt(9, 0, 0)).unwrap();
        assert_eq!(TaskState::of(at(1), None, at(14), 14), TaskState::Open);
        assert_eq!(TaskState::of(at(1), None, at(15), 14), TaskState::Overdue);
        assert_eq!(TaskState::of(at(1), Some(at(20)), at(30), 14), TaskState::RemovedAtSource);
        assert_eq!(TaskState::of(at(1), None, at(2), i64::MAX), TaskState::Open, "no overflow");
        assert_eq!(parse_remediation_days(" 30 "), Ok(30));
        for bad in ["0", "-1", "366", "x", "", "1e3", "99999999999999999999"] {
            assert!(parse_remediation_days(bad).is_err(), "{bad}");
        }
    }
}
