//! A review series as an admin describes it on the create form, and the rules it must meet
//! before anything is saved. Pure: the form's text in, a draft or field errors out. Names
//! (groups, applications, users) are resolved against the directory by the service.

use chrono::{Months, NaiveDate};
use serde::Deserialize;

use super::decision::Decision;
use super::directory::{AssignmentType, RoleKind};
use super::escalation::{Escalation, EscalationTarget};
use super::notify::ReminderSchedule;
use super::recommendation::Recommendation;
use super::recurrence::{EndKind, Frequency, Schedule, ScheduleError, SeriesEnd};
use super::stage::{Context as StageContext, StageForm, Staging};
use super::state::stored_state;

stored_state! {
    /// What a series reviews.
    ScopeKind in "review_definitions.scope_kind" {
        /// Members of selected groups (one instance per group).
        Groups => "Groups",
        /// Guests of every Microsoft 365 group that has guests, minus exclusions.
        GuestGroups => "GuestGroups",
        /// Users assigned to selected applications.
        Applications => "Applications",
        /// Assignments of directory roles.
        DirectoryRoles => "DirectoryRoles",
        /// Assignments of resource roles under a scope.
        ResourceRoles => "ResourceRoles",
    }
}

impl ScopeKind {
    /// How pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Groups => "Group members",
            Self::GuestGroups => "Guests in Microsoft 365 groups",
            Self::Applications => "Application users",
            Self::DirectoryRoles => "Directory roles",
            Self::ResourceRoles => "Resource roles",
        }
    }

    /// The scope of a review of a role of this kind.
    pub fn of_role(kind: RoleKind) -> Self {
        match kind {
            RoleKind::Directory => Self::DirectoryRoles,
            RoleKind::Resource => Self::ResourceRoles,
        }
    }

    pub fn has_owners(self) -> bool {
        matches!(self, Self::Groups | Self::GuestGroups | Self::Applications)
    }
}

/// Which users of the resource are reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserScope {
    /// Everyone.
    All,
    /// Guests only.
    Guests,
    /// Users without a sign-in for this many days (recently created users excluded).
    Inactive(u32),
}

stored_state! {
    /// What a resource of a review is: a group, an application or a role.
    ResourceKind in "review_instances.resource_type, review_definition_resources.resource_type, remediation_tasks.resource_type" {
        /// Group memberships.
        Group => "Group",
        /// Application assignments.
        Application => "Application",
        /// Role assignments.
        Role => "Role",
    }
}

impl ResourceKind {
    /// The spelling in the review history report and its query string.
    pub fn report_name(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Application => "application",
            Self::Role => "role",
        }
    }

    /// Reads the report's spelling.
    pub fn parse_report_name(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.report_name() == text)
    }

    /// As the report form labels it.
    pub fn plural_label(self) -> &'static str {
        match self {
            Self::Group => "Groups",
            Self::Application => "Applications",
            Self::Role => "Roles",
        }
    }

    /// The kind of the resources of a series with this scope.
    pub fn of_scope(scope: ScopeKind) -> Self {
        match scope {
            ScopeKind::Groups | ScopeKind::GuestGroups => Self::Group,
            ScopeKind::Applications => Self::Application,
            ScopeKind::DirectoryRoles | ScopeKind::ResourceRoles => Self::Role,
        }
    }

    /// The scopes of series whose resources are of this kind.
    pub fn scopes(self) -> &'static [ScopeKind] {
        match self {
            Self::Group => &[ScopeKind::Groups, ScopeKind::GuestGroups],
            Self::Application => &[ScopeKind::Applications],
            Self::Role => &[ScopeKind::DirectoryRoles, ScopeKind::ResourceRoles],
        }
    }
}

stored_state! {
    /// Who reviews.
    ReviewerKind in "review_definitions.reviewer_kind" {
        /// The group's or application's owners.
        Owners => "Owners",
        /// Named users.
        Selected => "Selected",
        /// Each user reviews their own access.
        Self_ => "Self",
        /// Each user's manager.
        Managers => "Managers",
    }
}

impl ReviewerKind {
    /// Reviewers of this kind are assigned their own items (each manager their reports,
    /// each person their own access) instead of reviewing the whole instance.
    pub fn assigns_items(self) -> bool {
        matches!(self, Self::Managers | Self::Self_)
    }

    /// How pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Owners => "Owners",
            Self::Selected => "Selected users",
            Self::Self_ => "Users review their own access",
            Self::Managers => "Managers of users",
        }
    }
}

stored_state! {
    /// What happens to items nobody reviewed when an instance ends.
    DefaultDecision in "review_definitions.default_decision" {
        /// Leave them not reviewed (no change).
        None => "None",
        /// Remove access.
        Deny => "Deny",
        /// Keep access.
        Approve => "Approve",
        /// Take the recommendation.
        Recommendation => "Recommendation",
    }
}

/// A series made without saying keeps unreviewed access as it is.
impl Default for DefaultDecision {
    fn default() -> Self {
        Self::None
    }
}

impl DefaultDecision {
    /// What the default decides when an instance ends: for items recommended so (`None`:
    /// every item), this decision. Only items nobody decided are touched.
    pub fn assignments(self) -> &'static [(Option<Recommendation>, Decision)] {
        match self {
            Self::None => &[],
            Self::Approve => &[(None, Decision::Approve)],
            Self::Deny => &[(None, Decision::Deny)],
            Self::Recommendation => {
                &[(Some(Recommendation::Approve), Decision::Approve), (Some(Recommendation::Deny), Decision::Deny)]
            }
        }
    }

    /// How pages name it (the form's options).
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "No change",
            Self::Deny => "Remove access",
            Self::Approve => "Approve access",
            Self::Recommendation => "Take recommendations",
        }
    }
}

stored_state! {
    /// Which role assignments a role review covers.
    RoleAssignmentTypes in "review_definitions.role_assignment_types" {
        /// Active assignments only.
        Active => "Active",
        /// Eligible (PIM) assignments only.
        Eligible => "Eligible",
        /// Both.
        Both => "Both",
    }
}

impl RoleAssignmentTypes {
    /// How pages say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active assignments only",
            Self::Eligible => "eligible assignments only",
            Self::Both => "active and eligible assignments",
        }
    }

    /// The assignment types covered.
    pub fn types(self) -> &'static [AssignmentType] {
        match self {
            Self::Active => &[AssignmentType::Active],
            Self::Eligible => &[AssignmentType::Eligible],
            Self::Both => &AssignmentType::ALL,
        }
    }
}

stored_state! {
    /// The kind of a stored [`UserScope`] (the inactive days are kept beside it).
    UserScopeKind in "review_definitions.user_scope" {
        /// Everyone.
        All => "All",
        /// Guests only.
        Guests => "Guests",
        /// Users without a recent sign-in.
        Inactive => "Inactive",
    }
}

impl UserScope {
    /// The kind stored for this scope.
    pub fn kind(self) -> UserScopeKind {
        match self {
            Self::All => UserScopeKind::All,
            Self::Guests => UserScopeKind::Guests,
            Self::Inactive(_) => UserScopeKind::Inactive,
        }
    }

    /// The scope a stored kind and day count describe; `None` when the days are missing or out
    /// of range.
    pub fn stored(kind: UserScopeKind, inactive_days: Option<i32>) -> Option<Self> {
        Some(match kind {
            UserScopeKind::All => Self::All,
            UserScopeKind::Guests => Self::Guests,
            UserScopeKind::Inactive => Self::Inactive(u32::try_from(inactive_days?).ok()?),
        })
    }
}

stored_state! {
    /// What happens to a denied guest when results are applied.
    GuestDeniedAction in "review_definitions.guest_denied_action" {
        /// Remove the guest's access to the resource only.
        RemoveAccess => "RemoveAccess",
        /// Block the guest's sign-in now and delete the account 30 days later.
        BlockThenDelete => "BlockThenDelete",
    }
}

stored_state! {
    /// Where a review series stands (`review_definitions.status`).
    DefinitionStatus in "review_definitions.status" {
        /// Occurrences still start.
        Active => "Active",
        /// Its last occurrence has ended.
        Completed => "Completed",
        /// Deleted by an admin: nothing starts any more; its history stays.
        Deleted => "Deleted",
    }
}

impl DefinitionStatus {
    /// How pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Completed => "Ended",
            Self::Deleted => "Deleted",
        }
    }
}

stored_state! {
    /// Where one occurrence of a series for one resource stands (`review_instances.status`).
    InstanceStatus in "review_instances.status" {
        /// Created, not open yet.
        NotStarted => "NotStarted",
        /// Reviewers decide.
        InProgress => "InProgress",
        /// Ended; its denials are not applied yet.
        Completed => "Completed",
        /// Its denials are being applied.
        Applying => "Applying",
        /// Its denials have been applied.
        Applied => "Applied",
    }
}

impl InstanceStatus {
    /// How pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "Not started",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Applying => "Applying results",
            Self::Applied => "Results applied",
        }
    }

    /// Whether it has ended (its results can be seen, and applied).
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Completed | Self::Applying | Self::Applied)
    }

    /// Whether applying its denials has begun.
    pub fn apply_began(self) -> bool {
        matches!(self, Self::Applying | Self::Applied)
    }

    /// Whether reviewers can still decide.
    pub fn is_open(self) -> bool {
        self == Self::InProgress
    }

    /// The status in one or two words, as the home page lists a person's reviews
    /// ("Applying", "Applied").
    pub fn short_label(self) -> &'static str {
        match self {
            Self::NotStarted => "Not started",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Applying => "Applying",
            Self::Applied => "Applied",
        }
    }

    /// The status as reports and exports say it ("Applying the denials", "Completed and
    /// applied").
    pub fn report_label(self) -> &'static str {
        match self {
            Self::NotStarted => "Not started",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Applying => "Applying the denials",
            Self::Applied => "Completed and applied",
        }
    }

    /// The status as an occurrence's results page says it: what is left to do about its
    /// denials ("Completed — denials not applied yet").
    pub fn results_label(self) -> &'static str {
        match self {
            Self::Completed => "Completed — denials not applied yet",
            other => other.report_label(),
        }
    }

    /// Whether its denials can be applied now: it ended and they are not all applied yet
    /// (an interrupted apply may be resumed).
    pub fn can_apply(self) -> bool {
        matches!(self, Self::Completed | Self::Applying)
    }
}

/// What a picker of the review forms finds in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    /// Groups, by name.
    Groups,
    /// Applications that require assignment, by name.
    Applications,
    /// Directory roles, by name.
    DirectoryRoles,
    /// Resource roles, by name.
    ResourceRoles,
    /// Enabled users, by display name or user principal name.
    Users,
}

impl DirectoryKind {
    /// Every kind.
    pub const ALL: [Self; 5] =
        [Self::Groups, Self::Applications, Self::DirectoryRoles, Self::ResourceRoles, Self::Users];

    /// The spelling in the search endpoint's `kind` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Groups => "groups",
            Self::Applications => "applications",
            Self::DirectoryRoles => "directory-roles",
            Self::ResourceRoles => "resource-roles",
            Self::Users => "users",
        }
    }

    /// Parses the endpoint's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What is searched, as a search box's label says it.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Groups => "groups",
            Self::Applications => "applications",
            Self::DirectoryRoles => "directory roles",
            Self::ResourceRoles => "resource roles",
            Self::Users => "people",
        }
    }
}

/// The form fields filled by picking from the directory, and what each one finds. A
/// field holds names one per line (a user principal name for people), except
/// `resource_role`, which holds one.
pub const PICKERS: [(&str, DirectoryKind); 8] = [
    ("groups", DirectoryKind::Groups),
    ("excluded_groups", DirectoryKind::Groups),
    ("applications", DirectoryKind::Applications),
    ("roles", DirectoryKind::DirectoryRoles),
    ("resource_role", DirectoryKind::ResourceRoles),
    ("reviewers", DirectoryKind::Users),
    ("fallback_reviewers", DirectoryKind::Users),
    ("additional_recipients", DirectoryKind::Users),
];

/// The longest text a picker searches for.
pub const MAX_SEARCH: usize = 100;

/// Search text as typed: trimmed, control characters (a pasted tab or line break) read as
/// spaces, and at most [`MAX_SEARCH`] characters, or what to fix.
pub fn search_text(raw: &str) -> Result<String, String> {
    let text: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned();
    if text.chars().count() > MAX_SEARCH {
        return Err(format!("Enter at most {MAX_SEARCH} characters to search"));
    }
    Ok(text)
}

/// The create form as submitted: every field as text, so nothing typed is lost when the
/// page comes back with errors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    pub name: String,
    pub description_for_reviewers: String,
    pub description_for_admins: String,
    pub scope: String,
    pub groups: String,
    pub excluded_groups: String,
    pub applications: String,
    pub roles: String,
    pub role_assignment_types: String,
    pub resource_role: String,
    pub resource_scope: String,
    pub user_scope: String,
    pub inactive_days: String,
    pub reviewer_kind: String,
    pub reviewers: String,
    pub fallback_reviewers: String,
    pub start_date: String,
    pub frequency: String,
    pub duration_days: String,
    pub end_kind: String,
    pub end_date: String,
    pub occurrences: String,
    pub auto_apply: Option<String>,
    pub default_decision: String,
    pub guest_denied_action: String,
    pub recommendations: Option<String>,
    pub lookback_days: String,
    pub justification_required: Option<String>,
    pub mail_notifications: Option<String>,
    pub reminders: Option<String>,
    /// Remind at half-time (when reminders are on).
    pub reminder_half_time: Option<String>,
    /// Days before the end to remind on ("7, 3, 1").
    pub reminder_days: String,
    /// Escalate what nobody reviewed (ticked).
    pub escalation: Option<String>,
    /// Days before the end to escalate.
    pub escalation_days: String,
    /// To whom: an [`EscalationTarget`](super::escalation::EscalationTarget) spelling.
    pub escalation_target: String,
    /// User principal names, one per line.
    pub additional_recipients: String,
    /// How several reviewers' decisions on one person count, in stage 1 (an
    /// [`OutcomeRule`](super::outcome::OutcomeRule) spelling; empty: the default).
    pub outcome_rule: String,
    /// The same for stage 2.
    pub stage2_outcome_rule: String,
    /// The same for stage 3.
    pub stage3_outcome_rule: String,
    /// The stages of a multi-stage series.
    #[serde(skip)]
    pub stages: StageForm,
    /// The picker whose Search button was pressed (a field of [`PICKERS`]), if any.
    #[serde(skip)]
    pub find: String,
    /// The search text typed in each picker, by field; only fields of [`PICKERS`].
    #[serde(skip)]
    pub searches: Vec<(&'static str, String)>,
}

impl ReviewForm {
    /// A text field by its form name.
    fn text_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "name" => &mut self.name,
            "description_for_reviewers" => &mut self.description_for_reviewers,
            "description_for_admins" => &mut self.description_for_admins,
            "scope" => &mut self.scope,
            "groups" => &mut self.groups,
            "excluded_groups" => &mut self.excluded_groups,
            "applications" => &mut self.applications,
            "roles" => &mut self.roles,
            "role_assignment_types" => &mut self.role_assignment_types,
            "resource_role" => &mut self.resource_role,
            "resource_scope" => &mut self.resource_scope,
            "user_scope" => &mut self.user_scope,
            "inactive_days" => &mut self.inactive_days,
            "reviewer_kind" => &mut self.reviewer_kind,
            "reviewers" => &mut self.reviewers,
            "fallback_reviewers" => &mut self.fallback_reviewers,
            "start_date" => &mut self.start_date,
            "frequency" => &mut self.frequency,
            "duration_days" => &mut self.duration_days,
            "end_kind" => &mut self.end_kind,
            "end_date" => &mut self.end_date,
            "occurrences" => &mut self.occurrences,
            "default_decision" => &mut self.default_decision,
            "guest_denied_action" => &mut self.guest_denied_action,
            "lookback_days" => &mut self.lookback_days,
            "additional_recipients" => &mut self.additional_recipients,
            "reminder_days" => &mut self.reminder_days,
            "escalation_days" => &mut self.escalation_days,
            "escalation_target" => &mut self.escalation_target,
            "outcome_rule" => &mut self.outcome_rule,
            "stage2_outcome_rule" => &mut self.stage2_outcome_rule,
            "stage3_outcome_rule" => &mut self.stage3_outcome_rule,
            _ => return None,
        })
    }

    /// The text of a picker's field (names one per line), by its form name.
    pub fn picked(&self, field: &str) -> &str {
        match field {
            "groups" => &self.groups,
            "excluded_groups" => &self.excluded_groups,
            "applications" => &self.applications,
            "roles" => &self.roles,
            "resource_role" => &self.resource_role,
            "reviewers" => &self.reviewers,
            "fallback_reviewers" => &self.fallback_reviewers,
            "additional_recipients" => &self.additional_recipients,
            _ => "",
        }
    }

    /// Whether `value` is among the names of a picker's field already.
    pub fn has_picked(&self, field: &str, value: &str) -> bool {
        self.picked(field).lines().any(|line| line.trim().eq_ignore_ascii_case(value.trim()))
    }

    /// The form from its urlencoded pairs, as a browser sends it: each field as typed (a
    /// field sent twice keeps its last value), the search boxes (`q_<field>`) and button
    /// (`find`), and the names ticked in search results (`pick_<field>`, any number)
    /// added to their field once each. Unknown names are ignored.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut form = Self::default();
        let mut picks: Vec<(&'static str, String)> = Vec::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            let picker = |name: &str| PICKERS.iter().map(|(f, _)| *f).find(|f| *f == name);
            if let Some(field) = key.strip_prefix("pick_").and_then(picker) {
                picks.push((field, value.to_owned()));
            } else if let Some(field) = key.strip_prefix("q_").and_then(picker) {
                form.searches.retain(|(f, _)| *f != field);
                form.searches.push((field, value.to_owned()));
            } else if key == "find" {
                form.find = picker(value).unwrap_or_default().to_owned();
            } else if let Some(text) = form.text_mut(key) {
                value.clone_into(text);
            } else if form.stages.take(key, value) {
                // A stage's field.
            } else {
                let flag = Some(value.to_owned());
                match key {
                    "auto_apply" => form.auto_apply = flag,
                    "recommendations" => form.recommendations = flag,
                    "justification_required" => form.justification_required = flag,
                    "mail_notifications" => form.mail_notifications = flag,
                    "reminders" => form.reminders = flag,
                    "reminder_half_time" => form.reminder_half_time = flag,
                    "escalation" => form.escalation = flag,
                    _ => {}
                }
            }
        }
        for (field, value) in picks {
            form.pick(field, &value);
        }
        form
    }

    /// Adds a name chosen from the directory to a picker's field, unless it is there
    /// already; the one-name field (`resource_role`) takes it instead.
    pub fn pick(&mut self, field: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || value.contains(['\n', '\r']) || self.has_picked(field, value) {
            return;
        }
        let Some(text) = self.text_mut(field) else { return };
        if field == "resource_role" {
            value.clone_into(text);
            return;
        }
        if !text.trim().is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(value);
    }

    /// Whether the person asked to search (a Search button, or Enter in a search box)
    /// rather than to save.
    pub fn is_search(&self) -> bool {
        !self.find.is_empty() || self.searches.iter().any(|(_, q)| !q.trim().is_empty())
    }

    /// The form as a new admin first sees it: Entra's defaults.
    pub fn with_defaults(today: NaiveDate) -> Self {
        Self {
            scope: "Groups".into(),
            role_assignment_types: "Both".into(),
            user_scope: "All".into(),
            inactive_days: "90".into(),
            reviewer_kind: "Owners".into(),
            start_date: today.format("%Y-%m-%d").to_string(),
            frequency: Frequency::OneTime.as_str().into(),
            duration_days: "14".into(),
            end_kind: EndKind::Never.as_str().into(),
            default_decision: "None".into(),
            guest_denied_action: "RemoveAccess".into(),
            recommendations: Some("on".into()),
            lookback_days: "30".into(),
            mail_notifications: Some("on".into()),
            reminders: Some("on".into()),
            reminder_half_time: Some("on".into()),
            reminder_days: ReminderSchedule::default().days_text(),
            stages: StageForm::with_defaults(),
            escalation_days: "3".into(),
            escalation_target: EscalationTarget::Managers.as_str().into(),
            ..Self::default()
        }
    }
}

/// "1 day", "3 days".
fn plural(n: i64, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// A field and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form field's name (and the id of its input).
    pub field: &'static str,
    /// What to do, e.g. "Enter a name for the review".
    pub message: String,
}

/// A valid series, with resources and reviewers still named as the admin typed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionDraft {
    pub name: String,
    pub description_for_reviewers: String,
    pub description_for_admins: String,
    pub scope: ScopeKind,
    /// Group names, application names or role names, by scope.
    pub resources: Vec<String>,
    /// Groups left out of an all-guest-groups review.
    pub excluded_groups: Vec<String>,
    pub role_assignment_types: Option<RoleAssignmentTypes>,
    pub resource_scope: Option<String>,
    pub user_scope: UserScope,
    pub reviewer_kind: ReviewerKind,
    /// User principal names.
    pub reviewers: Vec<String>,
    /// User principal names.
    pub fallback_reviewers: Vec<String>,
    pub schedule: Schedule,
    pub auto_apply: bool,
    pub default_decision: DefaultDecision,
    pub block_then_delete_guests: bool,
    pub recommendations: bool,
    pub lookback_days: u32,
    pub justification_required: bool,
    pub mail_notifications: bool,
    /// When reviewers who have not finished are reminded, if they are.
    pub reminders: Option<ReminderSchedule>,
    /// Who else gets the completion mail: user principal names.
    pub additional_recipients: Vec<String>,
    /// Stages after the first, when the series has them.
    pub staging: Option<Staging>,
    /// What nobody reviewed goes to someone else before the end, if it does.
    pub escalation: Option<Escalation>,
    /// How several reviewers' decisions on one person count, by stage (1 to the number
    /// of stages).
    pub outcome_rules: Vec<(i32, super::outcome::OutcomeRule)>,
}

/// The longest name, and the longest description for reviewers (it goes into mails).
pub const MAX_NAME: usize = 256;
/// Entra's limit on the description reviewers see.
pub const MAX_REVIEWER_TEXT: usize = 256;

/// The earliest date a form accepts: nothing in attest happened before it.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};
/// The latest date a filter accepts (a report's period, the audit log's last day): far
/// enough for any question, and a date both databases can hold.
pub const LATEST_FILTER_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => date,
    None => NaiveDate::MAX,
};

/// A filter's day (a report's period, the audit log's days) if it lies within
/// [`EARLIEST_DATE`] and [`LATEST_FILTER_DATE`]; otherwise `None` and a message for `field`
/// (`which` is "first", "last", …).
pub fn within_filter_range(
    day: Option<NaiveDate>,
    field: &'static str,
    which: &str,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let day = day?;
    if (EARLIEST_DATE..=LATEST_FILTER_DATE).contains(&day) {
        return Some(day);
    }
    errors.push(FieldError {
        field,
        message: format!("Enter a {which} date from {EARLIEST_DATE} to {LATEST_FILTER_DATE}"),
    });
    None
}

/// How far ahead a series may be planned: its start from today, its end from the later of
/// its start and today.
pub const MAX_YEARS_AHEAD: u32 = 10;
/// The most occurrences a series may be limited to (ten years of weekly reviews fit).
pub const MAX_OCCURRENCES: u32 = 1_000;

/// `date` plus [`MAX_YEARS_AHEAD`] years; the calendar's last day if that is past it.
pub fn years_ahead(date: NaiveDate) -> NaiveDate {
    date.checked_add_months(Months::new(MAX_YEARS_AHEAD * 12)).unwrap_or(NaiveDate::MAX)
}

/// A date typed as YYYY-MM-DD (what a date input sends), surrounding blanks ignored.
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// The non-blank lines of a field, trimmed, each once (ignoring case): names typed one per
/// line.
pub(crate) fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(line)) {
            out.push(line.to_owned());
        }
    }
    out
}

fn number(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

impl ReviewForm {
    /// Checks every rule of a new series (it starts today or later); all problems are
    /// reported at once, field by field.
    pub fn validate(&self, today: NaiveDate) -> Result<DefinitionDraft, Vec<FieldError>> {
        self.validate_with(today, today)
    }

    /// Checks every rule, with a start allowed from `earliest_start` (an edit keeps a
    /// start that may have passed) and the other dates bounded from `today`.
    pub fn validate_with(
        &self,
        today: NaiveDate,
        earliest_start: NaiveDate,
    ) -> Result<DefinitionDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err =
            |field: &'static str, message: &str| errors.push(FieldError { field, message: message.to_owned() });

        let name = self.name.trim().to_owned();
        if name.is_empty() {
            err("name", "Enter a name for the review");
        } else if name.chars().count() > MAX_NAME {
            err("name", &format!("Enter a name of at most {MAX_NAME} characters"));
        }
        let description_for_reviewers = self.description_for_reviewers.trim().to_owned();
        if description_for_reviewers.chars().count() > MAX_REVIEWER_TEXT {
            err(
                "description_for_reviewers",
                &format!(
                    "Enter a description for reviewers of at most {MAX_REVIEWER_TEXT} characters (it goes into their mail)"
                ),
            );
        }

        let scope = ScopeKind::parse(&self.scope);
        let mut resources = Vec::new();
        let mut role_assignment_types = None;
        let mut resource_scope = None;
        match scope {
            None => err("scope", "Choose what to review"),
            Some(ScopeKind::Groups) => {
                resources = lines(&self.groups);
                if resources.is_empty() {
                    err("groups", "Enter the name of at least one group to review");
                }
            }
            Some(ScopeKind::GuestGroups) => {}
            Some(ScopeKind::Applications) => {
                resources = lines(&self.applications);
                if resources.is_empty() {
                    err("applications", "Enter the name of at least one application to review");
                }
            }
            Some(ScopeKind::DirectoryRoles) => {
                resources = lines(&self.roles);
                if resources.is_empty() {
                    err("roles", "Enter the name of at least one directory role to review");
                }
            }
            Some(ScopeKind::ResourceRoles) => {
                resources = lines(&self.resource_role);
                if resources.len() != 1 {
                    err("resource_role", "Enter the name of one resource role, such as Owner or Contributor");
                }
                let path = self.resource_scope.trim();
                if !path.starts_with("/subscriptions/") {
                    err(
                        "resource_scope",
                        "Enter a scope that starts with /subscriptions/, such as /subscriptions/ID/resourceGroups/NAME",
                    );
                } else {
                    resource_scope = Some(path.trim_end_matches('/').to_owned());
                }
            }
        }
        if matches!(scope, Some(ScopeKind::DirectoryRoles | ScopeKind::ResourceRoles)) {
            role_assignment_types = match RoleAssignmentTypes::parse(&self.role_assignment_types) {
                Some(types) => Some(types),
                None => {
                    err("role_assignment_types", "Choose active, eligible or both kinds of role assignment");
                    None
                }
            };
        }

        let user_scope = match self.user_scope.as_str() {
            "All" => Some(UserScope::All),
            "Guests" => Some(UserScope::Guests),
            "Inactive" => match number(&self.inactive_days) {
                Some(days @ 1..=730) => Some(UserScope::Inactive(days)),
                _ => {
                    err("inactive_days", "Enter a number of days from 1 to 730");
                    None
                }
            },
            _ => {
                err("user_scope", "Choose which users to review");
                None
            }
        };

        let reviewer_kind = ReviewerKind::parse(&self.reviewer_kind);
        let reviewers = lines(&self.reviewers);
        let fallback_reviewers = lines(&self.fallback_reviewers);
        match reviewer_kind {
            None => err("reviewer_kind", "Choose who reviews"),
            Some(ReviewerKind::Owners) if scope.is_some_and(|s| !s.has_owners()) => {
                err("reviewer_kind", "Roles have no owners: choose selected users, managers or self-review")
            }
            Some(ReviewerKind::Selected) if reviewers.is_empty() => {
                err("reviewers", "Enter the user principal name of at least one reviewer")
            }
            // Owners of selected groups and applications are checked against the directory
            // by the service; the guest groups are found anew at each start, so one of them
            // may have no owner at any time.
            Some(ReviewerKind::Owners) if scope == Some(ScopeKind::GuestGroups) && fallback_reviewers.is_empty() => {
                err(
                    "fallback_reviewers",
                    "Enter at least one fallback reviewer: the groups are found at each start, and a group without an owner goes to them",
                )
            }
            _ => {}
        }

        let latest_start = years_ahead(today);
        let start = match parse_date(&self.start_date) {
            None => {
                err("start_date", "Enter a start date as YYYY-MM-DD, for example 2026-12-01");
                None
            }
            Some(date) if date < earliest_start.max(EARLIEST_DATE) => {
                err("start_date", "Enter a start date of today or later");
                None
            }
            Some(date) if date > latest_start => {
                err(
                    "start_date",
                    &format!("Enter a start date no later than {latest_start}, {MAX_YEARS_AHEAD} years from today"),
                );
                None
            }
            date => date,
        };
        let frequency = Frequency::parse(&self.frequency);
        if frequency.is_none() {
            err("frequency", "Choose how often the review recurs");
        }
        let duration = number(&self.duration_days);
        if duration.is_none() {
            err("duration_days", "Enter the duration as a number of days");
        }
        // With stages, the duration field is stage 1's; the occurrence lasts them all.
        let mut stage_errors = Vec::new();
        let staging = self.stages.validate(
            StageContext {
                scope,
                first_kind: reviewer_kind,
                first_duration: duration,
                recommendations: self.recommendations.is_some(),
            },
            &mut stage_errors,
        );
        let duration = staging.as_ref().map(Staging::total_days).or(duration);
        let latest_end = years_ahead(start.unwrap_or(today).max(today));
        let end = match (EndKind::parse(&self.end_kind), frequency) {
            (_, Some(Frequency::OneTime)) | (Some(EndKind::Never), _) => Some(SeriesEnd::Never),
            (Some(EndKind::OnDate), _) => match parse_date(&self.end_date) {
                Some(date) if date > latest_end => {
                    err(
                        "end_date",
                        &format!(
                            "Enter an end date no later than {latest_end}: a series is planned at most {MAX_YEARS_AHEAD} years ahead"
                        ),
                    );
                    None
                }
                Some(date) => Some(SeriesEnd::OnDate(date)),
                None => {
                    err("end_date", "Enter an end date as YYYY-MM-DD, for example 2027-12-31");
                    None
                }
            },
            (Some(EndKind::AfterOccurrences), _) => match number(&self.occurrences) {
                Some(n @ 1..=MAX_OCCURRENCES) => Some(SeriesEnd::AfterOccurrences(n)),
                _ => {
                    err("occurrences", "Enter a number of occurrences from 1 to 1,000");
                    None
                }
            },
            (None, _) => {
                err("end_kind", "Choose when the series ends");
                None
            }
        };
        let schedule = match (start, frequency, duration, end) {
            (Some(start), Some(frequency), Some(duration_days), Some(end)) => {
                let schedule = Schedule { start, frequency, duration_days, end };
                match schedule.validate() {
                    Ok(()) => Some(schedule),
                    Err(ScheduleError::Duration(message)) if staging.is_some() => {
                        err("duration_days", &format!("{message}: the stages' durations added up are {duration_days}"));
                        None
                    }
                    Err(problem) => {
                        let field = match problem {
                            ScheduleError::Start(_) => "start_date",
                            ScheduleError::Duration(_) => "duration_days",
                            ScheduleError::EndDate(_) => "end_date",
                            ScheduleError::Occurrences(_) => "occurrences",
                        };
                        err(field, problem.message());
                        None
                    }
                }
            }
            _ => None,
        };

        let default_decision = match self.default_decision.as_str() {
            "None" => Some(DefaultDecision::None),
            "Deny" => Some(DefaultDecision::Deny),
            "Approve" => Some(DefaultDecision::Approve),
            "Recommendation" => Some(DefaultDecision::Recommendation),
            _ => {
                err("default_decision", "Choose what happens if reviewers don't respond");
                None
            }
        };
        let block_then_delete_guests = self.guest_denied_action == "BlockThenDelete";
        if block_then_delete_guests && user_scope != Some(UserScope::Guests) {
            err("guest_denied_action", "Blocking and deleting denied users is only for reviews of guests only");
        }
        let recommendations = self.recommendations.is_some();
        let lookback_days = number(&self.lookback_days).unwrap_or(0);
        if recommendations && !(1..=180).contains(&lookback_days) {
            err("lookback_days", "Enter a look-back of 1 to 180 days");
        }

        let reminders = match self
            .reminders
            .as_ref()
            .map(|_| ReminderSchedule::from_form(self.reminder_half_time.is_some(), &self.reminder_days))
        {
            Some(Ok(plan)) => {
                // A day as far from the end as the review is long falls on its start and is
                // skipped; refused only when no reminder would ever go (the default days
                // must not trouble a short review that also reminds at half-time).
                if let (Some(days), Some(&nearest)) = (duration, plan.days_before.last())
                    && !plan.half_time
                    && nearest >= i64::from(days)
                {
                    let days = i64::from(days);
                    err(
                        "reminder_days",
                        &format!(
                            "A review of {} can remind at most {} before its end: choose fewer days, or half-time",
                            plural(days, "day"),
                            plural(days.saturating_sub(1), "day")
                        ),
                    );
                }
                Some(plan)
            }
            Some(Err(message)) => {
                err("reminder_days", &message);
                None
            }
            None => None,
        };

        let stage_days: Vec<u32> = match &staging {
            Some(s) => std::iter::once(s.first_duration).chain(s.later.iter().map(|l| l.duration_days)).collect(),
            None => duration.into_iter().collect(),
        };
        let escalation = Escalation::from_form(
            self.escalation.is_some(),
            &self.escalation_days,
            &self.escalation_target,
            &stage_days,
            &mut stage_errors,
        );
        let outcome_rules = [
            (1, &self.outcome_rule, "outcome_rule"),
            (2, &self.stage2_outcome_rule, "stage2_outcome_rule"),
            (3, &self.stage3_outcome_rule, "stage3_outcome_rule"),
        ]
        .into_iter()
        .take(staging.as_ref().map_or(1, Staging::count))
        .map(|(stage, text, field)| (stage, super::outcome::from_form(text, field, &mut stage_errors)))
        .collect();
        errors.extend(stage_errors);
        match (errors.is_empty(), scope, user_scope, reviewer_kind, schedule, default_decision) {
            (true, Some(scope), Some(user_scope), Some(reviewer_kind), Some(schedule), Some(default_decision)) => {
                Ok(DefinitionDraft {
                    name,
                    description_for_reviewers,
                    description_for_admins: self.description_for_admins.trim().to_owned(),
                    scope,
                    resources,
                    excluded_groups: if scope == ScopeKind::GuestGroups {
                        lines(&self.excluded_groups)
                    } else {
                        Vec::new()
                    },
                    role_assignment_types,
                    resource_scope,
                    user_scope,
                    reviewer_kind,
                    reviewers: if reviewer_kind == ReviewerKind::Selected { reviewers } else { Vec::new() },
                    // In a self-review everyone decides on their own access: nothing falls back.
                    fallback_reviewers: if reviewer_kind == ReviewerKind::Self_ {
                        Vec::new()
                    } else {
                        fallback_reviewers
                    },
                    schedule,
                    auto_apply: self.auto_apply.is_some(),
                    default_decision,
                    block_then_delete_guests,
                    recommendations,
                    lookback_days: if recommendations { lookback_days } else { 30 },
                    justification_required: self.justification_required.is_some(),
                    mail_notifications: self.mail_notifications.is_some(),
                    reminders,
                    additional_recipients: lines(&self.additional_recipients),
                    staging,
                    escalation,
                    outcome_rules,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Which review series someone may create and manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewScope {
    /// Every series (portal admins).
    All,
    /// Series of groups and applications this user owns (owners, while the tenant lets
    /// owners manage reviews of their resources).
    OwnedBy(String),
}

impl ReviewScope {
    /// The owner whose resources bound this scope, if any.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::OwnedBy(user) => Some(user),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn valid() -> ReviewForm {
        ReviewForm {
            name: "Quarterly review of Sales".into(),
            groups: "Sales Team\nsales team\n\n".into(),
            fallback_reviewers: "dana.whitfield@contoso.example".into(),
            ..ReviewForm::with_defaults(today())
        }
    }

    fn errors(form: ReviewForm) -> Vec<(&'static str, String)> {
        form.validate(today()).unwrap_err().into_iter().map(|e| (e.field, e.message)).collect()
    }

    #[test]
    fn the_default_reminders_suit_a_review_of_one_day_and_days_alone_must_fall_within_it() {
        let short = ReviewForm { duration_days: "1".into(), ..valid() };
        assert_eq!(short.clone().validate(today()).unwrap().reminders, Some(ReminderSchedule::default()));
        let only_days = ReviewForm { reminder_half_time: None, ..short };
        assert_eq!(
            errors(only_days),
            vec![(
                "reminder_days",
                "A review of 1 day can remind at most 0 days before its end: choose fewer days, or half-time".into()
            )]
        );
    }

    #[test]
    fn a_valid_form_gives_a_draft() {
        let draft = valid().validate(today()).unwrap();
        assert_eq!(draft.resources, vec!["Sales Team"], "blank lines and repeats are dropped");
        assert_eq!(draft.scope, ScopeKind::Groups);
        assert_eq!(draft.schedule.duration_days, 14);
        assert!(
            draft.recommendations
                && draft.mail_notifications
                && draft.reminders == Some(ReminderSchedule::default())
                && !draft.auto_apply
        );
    }

    #[test]
    fn every_rule_has_its_message() {
        let table: Vec<(ReviewForm, &str, &str)> = vec![
            (ReviewForm { name: " ".into(), ..valid() }, "name", "Enter a name for the review"),
            (ReviewForm { name: "x".repeat(257), ..valid() }, "name", "at most 256"),
            (
                ReviewForm { description_for_reviewers: "x".repeat(257), ..valid() },
                "description_for_reviewers",
                "at most 256",
            ),
            (ReviewForm { scope: "Everything".into(), ..valid() }, "scope", "Choose what to review"),
            (ReviewForm { groups: "\n".into(), ..valid() }, "groups", "at least one group"),
            (ReviewForm { scope: "Applications".into(), ..valid() }, "applications", "at least one application"),
            (
                ReviewForm {
                    scope: "DirectoryRoles".into(),
                    reviewer_kind: "Selected".into(),
                    reviewers: "a@b".into(),
                    ..valid()
                },
                "roles",
                "at least one directory role",
            ),
            (
                ReviewForm { scope: "DirectoryRoles".into(), roles: "Global Administrator".into(), ..valid() },
                "reviewer_kind",
                "Roles have no owners",
            ),
            (
                ReviewForm {
                    scope: "ResourceRoles".into(),
                    resource_role: "Owner".into(),
                    resource_scope: "rg-web".into(),
                    reviewer_kind: "Self".into(),
                    ..valid()
                },
                "resource_scope",
                "/subscriptions/",
            ),
            (
                ReviewForm { user_scope: "Inactive".into(), inactive_days: "731".into(), ..valid() },
                "inactive_days",
                "1 to 730",
            ),
            (
                ReviewForm { user_scope: "Inactive".into(), inactive_days: "soon".into(), ..valid() },
                "inactive_days",
                "1 to 730",
            ),
            (ReviewForm { reviewer_kind: "Selected".into(), ..valid() }, "reviewers", "at least one reviewer"),
            (
                ReviewForm { scope: "GuestGroups".into(), fallback_reviewers: String::new(), ..valid() },
                "fallback_reviewers",
                "Enter at least one fallback reviewer: the groups are found at each start",
            ),
            (ReviewForm { start_date: "1/12/2026".into(), ..valid() }, "start_date", "YYYY-MM-DD"),
            (ReviewForm { start_date: "2026-11-27".into(), ..valid() }, "start_date", "today or later"),
            (
                ReviewForm { start_date: "+262142-12-31".into(), ..valid() },
                "start_date",
                "Enter a start date no later than 2036-11-28, 10 years from today",
            ),
            (ReviewForm { start_date: "-0001-01-01".into(), ..valid() }, "start_date", "today or later"),
            (
                ReviewForm {
                    frequency: "Weekly".into(),
                    duration_days: "3".into(),
                    end_kind: "OnDate".into(),
                    end_date: "+262142-12-31".into(),
                    ..valid()
                },
                "end_date",
                "Enter an end date no later than 2036-11-28: a series is planned at most 10 years ahead",
            ),
            (
                ReviewForm {
                    frequency: "Weekly".into(),
                    duration_days: "3".into(),
                    end_kind: "OnDate".into(),
                    end_date: "31/12/2027".into(),
                    ..valid()
                },
                "end_date",
                "YYYY-MM-DD",
            ),
            (
                ReviewForm {
                    frequency: "Weekly".into(),
                    duration_days: "3".into(),
                    end_kind: "AfterOccurrences".into(),
                    occurrences: "1001".into(),
                    ..valid()
                },
                "occurrences",
                "from 1 to 1,000",
            ),
            (ReviewForm { duration_days: "4294967296".into(), ..valid() }, "duration_days", "number of days"),
            (ReviewForm { duration_days: "4294967295".into(), ..valid() }, "duration_days", "1 to 180 days"),
            (ReviewForm { frequency: "Daily".into(), ..valid() }, "frequency", "how often"),
            (
                ReviewForm { frequency: "Monthly".into(), duration_days: "28".into(), ..valid() },
                "duration_days",
                "Enter a duration of 1 to 27 days for a monthly review",
            ),
            (ReviewForm { duration_days: "two weeks".into(), ..valid() }, "duration_days", "number of days"),
            (
                ReviewForm {
                    frequency: "Weekly".into(),
                    duration_days: "3".into(),
                    end_kind: "OnDate".into(),
                    end_date: "2026-11-01".into(),
                    ..valid()
                },
                "end_date",
                "on or after the start",
            ),
            (
                ReviewForm {
                    frequency: "Weekly".into(),
                    duration_days: "3".into(),
                    end_kind: "AfterOccurrences".into(),
                    occurrences: "0".into(),
                    ..valid()
                },
                "occurrences",
                "from 1 to 1,000",
            ),
            (
                ReviewForm { guest_denied_action: "BlockThenDelete".into(), ..valid() },
                "guest_denied_action",
                "guests only",
            ),
            (ReviewForm { lookback_days: "0".into(), ..valid() }, "lookback_days", "1 to 180"),
            (ReviewForm { default_decision: "Maybe".into(), ..valid() }, "default_decision", "don't respond"),
        ];
        for (form, field, message) in table {
            let errs = errors(form);
            assert!(errs.iter().any(|(f, m)| *f == field && m.contains(message)), "{field}: {errs:?}");
        }
    }

    #[test]
    fn all_problems_are_reported_together() {
        let errs =
            errors(ReviewForm { name: String::new(), groups: String::new(), duration_days: "x".into(), ..valid() });
        let fields: Vec<&str> = errs.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["name", "groups", "duration_days"]);
    }

    #[test]
    fn one_time_reviews_ignore_the_end_fields() {
        let draft = ReviewForm { end_kind: "AfterOccurrences".into(), occurrences: "".into(), ..valid() }
            .validate(today())
            .unwrap();
        assert_eq!(draft.schedule.end, SeriesEnd::Never);
    }

    #[test]
    fn fallback_reviewers_are_needed_only_where_nobody_else_can_review() {
        // Owners of selected groups are checked against the directory by the service.
        for kind in ["Owners", "Managers", "Selected", "Self"] {
            let form = ReviewForm {
                reviewer_kind: kind.into(),
                reviewers: "a@contoso.example".into(),
                fallback_reviewers: String::new(),
                ..valid()
            };
            assert!(form.validate(today()).is_ok(), "{kind}");
        }
        let self_review = ReviewForm { reviewer_kind: "Self".into(), ..valid() }.validate(today()).unwrap();
        assert!(self_review.fallback_reviewers.is_empty(), "nothing falls back in a self-review");
        let managers = ReviewForm { reviewer_kind: "Managers".into(), ..valid() }.validate(today()).unwrap();
        assert_eq!(managers.fallback_reviewers, vec!["dana.whitfield@contoso.example"]);
    }

    #[test]
    fn every_date_is_bounded_and_no_date_panics() {
        // Starts from far in the past to the calendar's end, and ends likewise: each one is
        // either accepted within the range or refused with a message on its own field.
        let mut dates: Vec<String> = vec![
            "+262142-12-31".into(),
            "+262143-12-31".into(),
            "-262143-01-01".into(),
            "0000-01-01".into(),
            "9999-12-31".into(),
            "1999-12-31".into(),
            "2036-11-28".into(),
            "2036-11-29".into(),
        ];
        let mut day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        while day.year_ce().1 < 2038 {
            dates.push(day.to_string());
            day = day.checked_add_days(chrono::Days::new(11)).unwrap();
        }
        let latest = NaiveDate::from_ymd_opt(2036, 11, 28).unwrap();
        for frequency in ["OneTime", "Weekly", "Monthly", "Annually"] {
            for start in &dates {
                let form = ReviewForm {
                    frequency: frequency.into(),
                    duration_days: "6".into(),
                    start_date: start.clone(),
                    ..valid()
                };
                match form.validate(today()) {
                    Ok(draft) => {
                        assert!(draft.schedule.start >= today() && draft.schedule.start <= latest, "{start}");
                        assert!(draft.schedule.occurrence(0).is_some());
                    }
                    Err(errs) => assert!(errs.iter().all(|e| e.field == "start_date"), "{start}: {errs:?}"),
                }
                for end in &dates {
                    let form = ReviewForm { end_kind: "OnDate".into(), end_date: end.clone(), ..form.clone() };
                    match form.validate(today()) {
                        Ok(draft) => {
                            if let SeriesEnd::OnDate(last) = draft.schedule.end {
                                assert!(last >= draft.schedule.start && last <= years_ahead(draft.schedule.start));
                            }
                        }
                        Err(errs) => assert!(
                            errs.iter().all(|e| e.field == "start_date" || e.field == "end_date"),
                            "{start} {end}: {errs:?}"
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn an_edit_keeps_a_start_that_has_passed() {
        let started = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
        let form = ReviewForm {
            start_date: "2025-01-06".into(),
            frequency: "Weekly".into(),
            duration_days: "3".into(),
            ..valid()
        };
        assert!(form.validate(today()).is_err(), "a new series cannot start in the past");
        let draft = form.validate_with(today(), started).unwrap();
        assert_eq!(draft.schedule.start, started);
        // Its end is bounded from today, not from the old start.
        let end = ReviewForm { end_kind: "OnDate".into(), end_date: "2036-11-28".into(), ..form.clone() };
        assert!(end.validate_with(today(), started).is_ok());
        let too_late = ReviewForm { end_date: "2036-11-29".into(), ..end };
        assert_eq!(too_late.validate_with(today(), started).unwrap_err()[0].field, "end_date");
    }

    #[test]
    fn every_stored_state_has_a_label() {
        // A label reads as words, never as an identifier such as "InProgress".
        let camel =
            |text: &str| text.as_bytes().windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
        for s in InstanceStatus::ALL {
            assert_eq!(InstanceStatus::parse(s.as_str()), Some(s));
            assert!(!camel(s.label()), "{s:?}");
        }
        assert_eq!(InstanceStatus::InProgress.label(), "In progress");
        for s in DefinitionStatus::ALL {
            assert_eq!(DefinitionStatus::parse(s.as_str()), Some(s));
            assert!(!camel(s.label()), "{s:?}");
        }
        assert_eq!(DefinitionStatus::Completed.label(), "Ended");
        for d in ["None", "Deny", "Approve", "Recommendation"] {
            assert_eq!(DefaultDecision::parse(d).map(DefaultDecision::as_str), Some(d));
            assert!(!camel(DefaultDecision::parse(d).map_or("", DefaultDecision::label)));
        }
        assert_eq!(RoleAssignmentTypes::Both.label(), "active and eligible assignments");
        assert_eq!(RoleAssignmentTypes::Eligible.types(), [AssignmentType::Eligible]);
    }

    #[test]
    fn picks_join_their_fields_once_and_searches_are_told_apart_from_saving() {
        let pairs = [
            ("name", "Picked"),
            ("groups", "Sales Team\r\n"),
            ("pick_groups", "sales team"),
            ("pick_groups", "Project Falcon"),
            ("pick_groups", "Project Falcon"),
            ("pick_groups", "Evil\nGroup"),
            ("pick_resource_role", "Owner"),
            ("pick_resource_role", "Contributor"),
            ("pick_unknown", "x"),
            ("q_reviewers", " "),
            ("recommendations", "on"),
            ("name", "Picked again"),
        ];
        let form = ReviewForm::from_pairs(pairs);
        assert_eq!(form.name, "Picked again", "the last value of a field sent twice");
        assert_eq!(form.groups, "Sales Team\r\nProject Falcon", "each name once, a line break refused");
        assert_eq!(form.resource_role, "Contributor", "a one-name field takes the last pick");
        assert_eq!(form.recommendations.as_deref(), Some("on"));
        assert!(!form.is_search(), "an empty search box is no search");
        assert!(ReviewForm::from_pairs([("q_groups", "sal")]).is_search());
        assert!(ReviewForm::from_pairs([("find", "reviewers")]).is_search());
        assert!(!ReviewForm::from_pairs([("find", "name")]).is_search(), "only pickers search");
        assert_eq!(search_text(" Sales\tTeam\n"), Ok("Sales Team".to_owned()));
        assert!(search_text(&"x".repeat(101)).is_err());
        assert_eq!(DirectoryKind::parse("resource-roles"), Some(DirectoryKind::ResourceRoles));
        for (field, _) in PICKERS {
            assert!(ReviewForm::default().text_mut(field).is_some(), "{field} is a field");
        }
    }

    #[test]
    fn filter_dates_stay_within_what_both_databases_hold() {
        let mut errors = Vec::new();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(within_filter_range(day(2026, 9, 30), "from", "first", &mut errors), day(2026, 9, 30));
        assert_eq!(within_filter_range(None, "from", "first", &mut errors), None);
        assert!(errors.is_empty());
        assert_eq!(within_filter_range(Some(NaiveDate::MIN), "from", "first", &mut errors), None);
        assert_eq!(within_filter_range(day(10_000, 1, 1), "to", "last", &mut errors), None);
        assert_eq!(errors[0].message, "Enter a first date from 2000-01-01 to 9999-12-31");
        assert_eq!(errors[1].field, "to");
    }
}
