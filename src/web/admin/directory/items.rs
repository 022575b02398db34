//! The rows of the directory lists and pages, as templates read them.

use chrono::NaiveDateTime;

use crate::domain::directory::{AssignmentType, RoleKind, UserType, assignment_in_force};
use crate::service::directory::Member;
use crate::service::rows::{AppRow, AssignmentRow, GroupRow, RoleRow, UserRef, UserRow};
use crate::web::format::{self, last_seen};

/// A user row of a list.
pub struct UserItem {
    pub id: String,
    pub display_name: String,
    pub upn: String,
    pub guest: bool,
    pub enabled: bool,
    pub department: String,
    pub job_title: String,
    pub last_sign_in: String,
    /// How the user holds the access a page lists (empty on the users list).
    pub paths: Vec<String>,
    /// The name of the source that brought the user in ("" where not shown).
    pub source: String,
}

impl UserItem {
    pub(super) fn new(
        user: UserRow,
        last_sign_in: Option<NaiveDateTime>,
        now: NaiveDateTime,
        paths: Vec<String>,
    ) -> Self {
        Self {
            guest: user.user_type == UserType::Guest,
            id: user.id,
            display_name: user.display_name,
            upn: user.upn,
            enabled: user.enabled,
            department: user.department.unwrap_or_default(),
            job_title: user.job_title.unwrap_or_default(),
            last_sign_in: last_seen(last_sign_in, now),
            paths,
            source: String::new(),
        }
    }
}

impl UserItem {
    /// A member of a group or application as its page lists them.
    pub(super) fn member(m: Member, now: NaiveDateTime) -> Self {
        Self::new(m.user, m.last_sign_in, now, m.paths)
    }
}

/// A group row of a list.
pub struct GroupItem {
    pub id: String,
    pub display_name: String,
    pub kind: &'static str,
    pub dynamic: bool,
    pub synced: bool,
    pub mail_enabled: bool,
    pub description: String,
    /// How it relates to the page's subject ("Via Engineering" on a user page).
    pub via: String,
    /// The name of its source ("" where not shown).
    pub source: String,
}

impl From<GroupRow> for GroupItem {
    fn from(g: GroupRow) -> Self {
        Self {
            kind: g.group_type.label(),
            dynamic: g.membership_rule.is_some(),
            synced: g.on_premises_sync,
            mail_enabled: g.mail_enabled,
            description: g.description.unwrap_or_default(),
            id: g.id,
            display_name: g.display_name,
            via: String::new(),
            source: String::new(),
        }
    }
}

/// An application row of a list.
pub struct AppItem {
    pub id: String,
    pub display_name: String,
    pub app_id: String,
    pub assignment_required: bool,
    /// The app role and how the page's subject holds it.
    pub role: String,
    pub via: String,
    pub last_sign_in: String,
    /// The name of its source ("" where not shown).
    pub source: String,
}

impl AppItem {
    pub(super) fn new(a: AppRow, role: String, via: String) -> Self {
        Self {
            id: a.id,
            display_name: a.display_name,
            app_id: a.app_id,
            assignment_required: a.assignment_required,
            role,
            via,
            last_sign_in: String::new(),
            source: String::new(),
        }
    }
}

/// A role row of a list.
pub struct RoleItem {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub directory: bool,
    pub privileged: bool,
    pub assignments: i64,
}

impl RoleItem {
    pub(super) fn new(role: RoleRow, assignments: i64) -> Self {
        Self {
            assignments,
            directory: role.role_kind == RoleKind::Directory,
            id: role.id,
            display_name: role.display_name,
            description: role.description,
            privileged: role.privileged,
        }
    }
}

/// A role assignment as a user's page or a role's page shows it.
pub struct AssignmentItem {
    pub role_id: String,
    pub role_name: String,
    pub privileged: bool,
    pub user: Option<UserRef>,
    pub eligible: bool,
    pub scope_name: String,
    pub scope: String,
    pub start: String,
    pub end: String,
    pub status: &'static str,
}

impl AssignmentItem {
    pub(super) fn new(a: AssignmentRow, role: Option<&RoleRow>, user: Option<UserRef>, now: NaiveDateTime) -> Self {
        let status = if assignment_in_force(a.start_at, a.end_at, now) {
            "In force"
        } else if a.start_at > now {
            "Scheduled"
        } else {
            "Expired"
        };
        Self {
            role_id: a.role_id,
            role_name: role.map(|r| r.display_name.clone()).unwrap_or_default(),
            privileged: role.is_some_and(|r| r.privileged),
            user,
            eligible: a.assignment_type == AssignmentType::Eligible,
            scope_name: a.scope_name,
            scope: a.scope,
            start: format::date(a.start_at),
            end: a.end_at.map_or_else(|| "Permanent".to_owned(), format::date),
            status,
        }
    }
}
