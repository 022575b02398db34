//! The directory's vocabulary, mirroring Entra ID: user and group kinds, role kinds, and the
//! path by which a user holds access.

use super::state::stored_state;
use chrono::NaiveDateTime;

stored_state! {
    /// Entra's `userType`.
    UserType in "users.user_type, decision_items.principal_type" { Member => "Member", Guest => "Guest" }
}

stored_state! {
    /// Security groups and Microsoft 365 (unified) groups.
    GroupType in "groups.group_type" { Security => "Security", Microsoft365 => "Microsoft365" }
}

stored_state! {
    /// Directory roles (tenant-wide) and resource roles (on a scope such as a subscription).
    RoleKind in "role_definitions.role_kind" { Directory => "Directory", Resource => "Resource" }
}

stored_state! {
    /// A role assignment is either active now or only eligible (activated on demand, PIM).
    AssignmentType in "role_assignments.assignment_type" { Active => "Active", Eligible => "Eligible" }
}

impl UserType {
    /// The type in words ("Guest", "Member").
    pub fn label(self) -> &'static str {
        match self {
            Self::Member => "Member",
            Self::Guest => "Guest",
        }
    }
}

impl GroupType {
    /// How the portal names the type.
    pub fn label(self) -> &'static str {
        match self {
            Self::Security => "Security",
            Self::Microsoft365 => "Microsoft 365",
        }
    }
}

/// A group met on the way from a resource to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// The group's display name.
    pub name: String,
}

/// How a user holds access to a group or an application. Kept on review items, because
/// only direct access can be removed by a review; the rest must be shown as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessPath {
    /// A direct membership or assignment.
    Direct,
    /// Membership of a dynamic group, by its rule.
    DynamicRule(String),
    /// Through nested groups: the outermost first, ending with the group that holds the
    /// user directly.
    ViaGroups(Vec<GroupRef>),
}

impl AccessPath {
    /// A short text for tables: "Direct", "Dynamic rule", "Via Engineering › Backend".
    pub fn describe(&self) -> String {
        match self {
            Self::Direct => "Direct".to_owned(),
            Self::DynamicRule(_) => "Dynamic rule".to_owned(),
            Self::ViaGroups(groups) => {
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                format!("Via {}", names.join(" › "))
            }
        }
    }

    /// Whether a review could remove this access by deleting one direct link.
    pub fn is_direct(&self) -> bool {
        matches!(self, Self::Direct)
    }
}

/// The id of a directory object as it may appear in a URL: UUID-like text. Anything else
/// (NUL bytes, quotes, very long strings) is refused before it reaches the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ObjectId(String);

impl ObjectId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for ObjectId {
    type Error = String;

    fn try_from(id: String) -> Result<Self, String> {
        if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            Ok(Self(id))
        } else {
            Err("not an object id".into())
        }
    }
}

/// The longest name kept, in characters (Entra's limit for display names).
pub const MAX_DISPLAY_TEXT: usize = 256;

/// The display name of user `id` from `names` (looked up by id), or "A deleted account"
/// when the account is gone: histories (reassignments, delegations, votes) outlive it.
pub fn name_or_deleted(names: &std::collections::HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| "A deleted account".to_owned())
}

/// A one-line name from outside (a display name, department, job title, a claim shown back
/// to its owner) made safe to store and show: control characters (C0, DEL, C1) are
/// dropped, those that break lines (CR, LF, tab, NEL, U+2028, U+2029) become spaces, bidi
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are dropped so a
/// name cannot reverse the text around it, runs of spaces become one, the ends are
/// trimmed, and at most [`MAX_DISPLAY_TEXT`] characters are kept.
///
/// Every way directory data comes in goes through this one function: the demo generator
/// today, and the SCIM, CSV and LDAP importers when they come. Identifiers are never
/// cleaned to make them match: a sign-in name that this function would change is refused
/// instead (see `service::sessions::match_user`).
pub fn clean_display_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_DISPLAY_TEXT * 4));
    let mut kept = 0;
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => continue,
            c if c.is_control() => continue,
            c => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if kept + usize::from(space) + 1 > MAX_DISPLAY_TEXT {
            break;
        }
        if space {
            out.push(' ');
            kept += 1;
            space = false;
        }
        out.push(c);
        kept += 1;
    }
    out
}

/// Whether a role assignment is in force at `now`: started and not yet ended.
pub fn assignment_in_force(start: NaiveDateTime, end: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    start <= now && end.is_none_or(|end| now < end)
}

/// Whole days from `then` to `now` (0 for the future).
pub fn days_since(then: NaiveDateTime, now: NaiveDateTime) -> i64 {
    (now - then).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, day).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    #[test]
    fn text_enums_round_trip() {
        for t in UserType::ALL {
            assert_eq!(UserType::parse(t.as_str()), Some(t));
        }
        assert_eq!(GroupType::parse("Microsoft365"), Some(GroupType::Microsoft365));
        assert_eq!(GroupType::Microsoft365.label(), "Microsoft 365");
        assert_eq!(RoleKind::parse("directory"), None);
    }

    #[test]
    fn access_paths_describe_themselves() {
        assert_eq!(AccessPath::Direct.describe(), "Direct");
        assert_eq!(AccessPath::DynamicRule("user.department -eq \"Sales\"".into()).describe(), "Dynamic rule");
        let via = AccessPath::ViaGroups(vec![
            GroupRef { id: "a".into(), name: "Engineering".into() },
            GroupRef { id: "b".into(), name: "Backend".into() },
        ]);
        assert_eq!(via.describe(), "Via Engineering › Backend");
        assert!(!via.is_direct());
    }

    #[test]
    fn object_ids_are_plain() {
        assert!(ObjectId::try_from("3f1c-AB09".to_owned()).is_ok());
        for bad in ["", "a'b", "a\0b", "a/b", &"x".repeat(65)] {
            assert!(ObjectId::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_text_is_cleaned_of_controls_and_bidi_overrides() {
        for (raw, clean) in [
            ("Omar Haddad", "Omar Haddad"),
            ("  Omar \t Haddad  ", "Omar Haddad"),
            ("Omar Haddad\r\nBcc: x@evil.example", "Omar Haddad Bcc: x@evil.example"),
            ("Omar\nHaddad", "Omar Haddad"),
            ("Omar\u{2028}Haddad\u{85}", "Omar Haddad"),
            ("Om\0ar\u{7}\u{1b}[31m", "Omar[31m"),
            ("Omar\u{7f}\u{9b}", "Omar"),
            ("Omar \u{202e}dadd\u{202c}aH", "Omar daddaH"),
            ("\u{2066}\u{2067}\u{2068}Omar\u{2069}\u{202a}\u{202b}\u{202d}", "Omar"),
            // Right-to-left names and marks are names, not attacks.
            ("عمر حداد", "عمر حداد"),
            ("Ørsted \u{200f}", "Ørsted \u{200f}"),
            ("Åsa Sørensen-Łukasz", "Åsa Sørensen-Łukasz"),
            ("\r\n\t", ""),
            ("", ""),
        ] {
            assert_eq!(clean_display_text(raw), clean, "{raw:?}");
        }
        let long = "é".repeat(MAX_DISPLAY_TEXT + 10);
        assert_eq!(clean_display_text(&long).chars().count(), MAX_DISPLAY_TEXT);
        let words = "ab ".repeat(MAX_DISPLAY_TEXT);
        let cut = clean_display_text(&words);
        assert!(cut.chars().count() <= MAX_DISPLAY_TEXT && !cut.ends_with(' '), "{cut:?}");
        assert_eq!(clean_display_text(&clean_display_text("a\r\n b")), clean_display_text("a\r\n b"), "idempotent");
    }

    #[test]
    fn assignments_are_in_force_between_start_and_end() {
        assert!(assignment_in_force(at(1), None, at(2)));
        assert!(assignment_in_force(at(1), Some(at(3)), at(2)));
        assert!(!assignment_in_force(at(1), Some(at(2)), at(2)));
        assert!(!assignment_in_force(at(3), None, at(2)));
        assert_eq!(days_since(at(1), at(11)), 10);
        assert_eq!(days_since(at(11), at(1)), 0);
    }
}
