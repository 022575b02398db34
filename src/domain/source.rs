//! Sources: who owns a directory object, and what that means for changing it.
//!
//! Every user, group, membership, application, assignment and role assignment carries the
//! id of the source that brought it in. A source changes and deletes only its own rows. A
//! source that attest can write back to (the built-in `local` one; LDAP later) has review
//! removals made directly; a push source (SCIM, CSV) cannot be changed from here, so a
//! removal becomes a remediation task that a later delivery of that source verifies.

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
        matches!(self, Self::Local)
    }
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
}
