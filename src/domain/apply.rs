//! Applying a review's denials: what removing one denied item's access means, given what
//! the directory holds now. Pure: the store gathers the facts, this decides, the service
//! carries it out. The preview and the apply run the same planner, so they agree.

use super::directory::AssignmentType;
use super::source::{SourceKind, managed_by};
use super::state::stored_state;

/// Days between disabling a denied guest ("block then delete") and deleting the account.
pub const GUEST_DELETE_AFTER_DAYS: i64 = 30;

/// The directory role whose last active holder is never removed.
pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";

stored_state! {
    /// What applying did to a decision item (Entra's `applyResult`, plus `NotApplied` for
    /// refusals).
    ApplyResult in "decision_items.apply_result" {
        /// Not applied yet (every item starts so; approved items stay so).
        New => "New",
        /// The access was removed (or the guest disabled).
        AppliedSuccessfully => "AppliedSuccessfully",
        /// The access was already gone.
        AppliedSuccessfullyButObjectNotFound => "AppliedSuccessfullyButObjectNotFound",
        /// attest cannot remove this access (it comes from elsewhere), or removed the direct
        /// link while the access remains through another path (see [`Verdict::RemoveButAccessRemains`]).
        ApplyNotSupported => "ApplyNotSupported",
        /// Removing it failed for a reason attest could not tell.
        AppliedWithUnknownFailure => "AppliedWithUnknownFailure",
        /// attest refused to remove it (the last Global Administrator).
        NotApplied => "NotApplied",
    }
}

impl ApplyResult {
    /// The result in words, as the results page, the review page and the mails say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::AppliedSuccessfully => "Removed",
            Self::AppliedSuccessfullyButObjectNotFound => "Already gone",
            Self::ApplyNotSupported => "Not applied: remove it where it is granted",
            Self::AppliedWithUnknownFailure => "Failed",
            Self::NotApplied => "Not applied",
            Self::New => "Not applied yet",
        }
    }

    /// The access is gone: removed now, or found gone already.
    pub fn is_remediated(self) -> bool {
        matches!(self, Self::AppliedSuccessfully | Self::AppliedSuccessfullyButObjectNotFound)
    }

    /// Applying ended without removing the access: someone must look at it.
    pub fn needs_attention(self) -> bool {
        matches!(self, Self::ApplyNotSupported | Self::AppliedWithUnknownFailure | Self::NotApplied)
    }
}

/// The resource of an instance as the directory holds it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A group.
    Group {
        /// Its name (from the snapshot when it no longer exists).
        name: String,
        /// Whether it still exists.
        found: bool,
        /// Its membership rule, when dynamic.
        rule: Option<String>,
        /// Synced from on-premises Active Directory.
        synced: bool,
        /// A mail-enabled security group (managed in Exchange).
        mail_enabled_security: bool,
    },
    /// An application.
    Application {
        /// Its name.
        name: String,
        /// Whether it still exists.
        found: bool,
    },
    /// A directory or resource role.
    Role {
        /// Its name.
        name: String,
        /// Whether it still exists.
        found: bool,
        /// Marked privileged.
        privileged: bool,
        /// The directory role Global Administrator.
        global_admin: bool,
    },
}

impl Resource {
    /// The resource's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Group { name, .. } | Self::Application { name, .. } | Self::Role { name, .. } => name,
        }
    }
}

/// A role assignment a denied principal still holds, in the instance's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The assignment's id.
    pub id: String,
    /// Active or eligible.
    pub assignment_type: AssignmentType,
    /// The scope ("/" for the directory).
    pub scope: String,
    /// The scope's name.
    pub scope_name: String,
    /// The source that owns the assignment.
    pub source_id: String,
}

impl Held {
    /// An active tenant-wide assignment (what counts towards "the last Global Administrator").
    pub fn is_active_tenant_wide(&self) -> bool {
        self.assignment_type == AssignmentType::Active && self.scope == "/"
    }
}

/// One denied item and what the directory holds of its access now.
#[derive(Debug, Clone, Copy)]
pub struct ItemFacts<'a> {
    /// The access path snapshotted at start ("Direct", "Via A › B", "Dynamic rule", …;
    /// several joined by "; ").
    pub access_path: &'a str,
    /// Whether the snapshot found a direct membership or assignment.
    pub access_direct: bool,
    /// A guest, in a review whose denied guests are blocked then deleted.
    pub block_guest: bool,
    /// The principal's account still exists.
    pub user_found: bool,
    /// Groups and applications: the direct membership or assignment still exists.
    pub direct_link: bool,
    /// Roles: the assignments still held in the instance's scope.
    pub held: &'a [Held],
    /// Groups and applications: every other path through which the principal holds the
    /// access now, as the directory says at apply time ("Via Sales Team", "Via Platform
    /// Team › SRE On-call"), names in their own case. Empty for roles.
    pub other_paths_now: &'a [String],
    /// The source owning the link a removal would delete (the direct membership or
    /// assignment; for roles, a held assignment's source that attest cannot change, else
    /// any held one's). `None` when there is no such link.
    pub link_source: Option<&'a LinkSource>,
}

/// The source that owns a membership or assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSource {
    /// Its id.
    pub id: String,
    /// Its name ("Entra ID").
    pub name: String,
    /// What kind of connector it is.
    pub kind: SourceKind,
}

impl LinkSource {
    /// Whether attest cannot remove the link itself: its source must (a remediation task).
    pub fn is_push(&self) -> bool {
        !self.kind.can_remove()
    }
}

/// What applying does to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Delete the direct group membership.
    RemoveMembership,
    /// Delete the direct application assignment.
    RemoveAppAssignment,
    /// Delete these role assignments.
    RemoveRoleAssignments(Vec<String>),
    /// Disable the guest now and schedule its deletion.
    BlockGuest,
}

/// The verdict on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Remove: the step, and the detail to store once done.
    Remove(Step, String),
    /// Remove the direct link (the step), although the access remains through another path
    /// (the detail names it, in its own case: "Direct assignment to Salesforce removed;
    /// access remains via Sales Team: …").
    ///
    /// Stored as `ApplyNotSupported`, not `AppliedSuccessfully`. Entra has no value for
    /// "removed one path of several"; the removal did happen (the audit event and the
    /// detail say so), but the denial's purpose — the person no longer has the access — was
    /// not achieved. `ApplyNotSupported` is the value every reader already treats as "not
    /// remediated, act where it is granted": the results page's notice and its marked rows,
    /// the results-applied mail, the CSV's `ApplyResult` and any tool reading Entra's
    /// values. A `AppliedSuccessfully` with a caveat in the detail would be counted as
    /// remediated by every one of them that does not parse the detail.
    RemoveButAccessRemains(Step, String, Remains),
    /// The access is already gone: why.
    AlreadyGone(String),
    /// attest cannot remove it: the reason, naming the real path.
    NotSupported(String),
    /// attest will not remove it: why.
    Refused(String),
}

impl Verdict {
    /// The apply result stored for this verdict.
    pub fn result(&self) -> ApplyResult {
        match self {
            Self::Remove(..) => ApplyResult::AppliedSuccessfully,
            Self::AlreadyGone(_) => ApplyResult::AppliedSuccessfullyButObjectNotFound,
            Self::RemoveButAccessRemains(..) | Self::NotSupported(_) => ApplyResult::ApplyNotSupported,
            Self::Refused(_) => ApplyResult::NotApplied,
        }
    }

    /// The detail stored with the result.
    pub fn detail(&self) -> &str {
        match self {
            Self::Remove(_, d)
            | Self::RemoveButAccessRemains(_, d, _)
            | Self::AlreadyGone(d)
            | Self::NotSupported(d)
            | Self::Refused(d) => d,
        }
    }

    /// What applying changes in the directory, if anything.
    pub fn step(&self) -> Option<&Step> {
        match self {
            Self::Remove(step, _) | Self::RemoveButAccessRemains(step, _, _) => Some(step),
            Self::AlreadyGone(_) | Self::NotSupported(_) | Self::Refused(_) => None,
        }
    }

    /// Whether the person no longer has the access once applied (removed, or already gone).
    pub fn remediated(&self) -> bool {
        matches!(self, Self::Remove(..) | Self::AlreadyGone(_))
    }
}

/// What remains of an access after its direct link is removed, for a preview ("Access
/// remains via Sales Team: remove them from Sales Team or unassign it from Salesforce").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remains(pub String);

/// How many denied items each outcome of a plan has (a preview's summary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanCounts {
    /// The access will be removed (or the guest disabled).
    pub remove: i64,
    /// The direct link will be removed, but the access remains through another path.
    pub access_remains: i64,
    /// The access is already gone.
    pub already_gone: i64,
    /// attest cannot remove it: it comes from elsewhere.
    pub not_supported: i64,
    /// attest will not remove it (the last Global Administrator).
    pub refused: i64,
}

impl PlanCounts {
    /// Counts one verdict.
    pub fn add(&mut self, verdict: &Verdict) {
        let slot = match verdict {
            Verdict::Remove(..) => &mut self.remove,
            Verdict::RemoveButAccessRemains(..) => &mut self.access_remains,
            Verdict::AlreadyGone(_) => &mut self.already_gone,
            Verdict::NotSupported(_) => &mut self.not_supported,
            Verdict::Refused(_) => &mut self.refused,
        };
        *slot = slot.saturating_add(1);
    }

    /// Every denied item planned.
    pub fn total(&self) -> i64 {
        [self.remove, self.access_remains, self.already_gone, self.not_supported, self.refused]
            .iter()
            .fold(0_i64, |sum, n| sum.saturating_add(*n))
    }

    /// The words on the apply button: only the denials that will take the access away are
    /// counted ("Apply 2 denials" when a third is refused); when none will, applying only
    /// records the results.
    pub fn button(&self) -> String {
        match self.remove {
            0 => "Record the results".to_owned(),
            1 => "Apply 1 denial".to_owned(),
            n => format!("Apply {n} denials"),
        }
    }

    /// What applying will not do, one sentence per kind (empty when every denial ends the
    /// access).
    pub fn not_applied(&self) -> Vec<String> {
        let people = |n: i64| if n == 1 { "1 person".to_owned() } else { format!("{n} people") };
        let mut out = Vec::new();
        if self.access_remains > 0 {
            out.push(format!(
                "{} keep{} the access through a group: their direct membership or assignment is removed, the access is not. Each row names the group.",
                people(self.access_remains),
                if self.access_remains == 1 { "s" } else { "" }
            ));
        }
        if self.not_supported > 0 {
            out.push(format!(
                "{} keep{} the access because it is granted elsewhere (a nested group, a dynamic rule, an on-premises or Exchange group, a group assigned to the application, a provisioning source such as SCIM or a CSV import): remove it there. Each row says where.",
                people(self.not_supported),
                if self.not_supported == 1 { "s" } else { "" }
            ));
        }
        if self.refused > 0 {
            out.push(format!(
                "{} keep{} the access because attest refuses to remove it (the last active {GLOBAL_ADMINISTRATOR}).",
                people(self.refused),
                if self.refused == 1 { "s" } else { "" }
            ));
        }
        if self.already_gone > 0 {
            out.push(format!(
                "{} no longer {} the access: recorded as already gone.",
                people(self.already_gone),
                if self.already_gone == 1 { "has" } else { "have" }
            ));
        }
        out
    }
}

/// An item's plan: the action in words (what an admin is asked to confirm) and the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPlan {
    /// "Remove from the group Project Falcon", "Disable the guest account now; …".
    pub action: String,
    /// What will happen.
    pub verdict: Verdict,
    /// The source that must make the removal, when attest cannot (its id): applying
    /// records a remediation task for it.
    pub remediate_at: Option<String>,
    /// The source whose own directory attest must remove the membership from (an LDAP
    /// connection, its id), before removing it from attest's copy.
    pub write_back: Option<String>,
}

/// What the planner carries from item to item.
#[derive(Debug, Clone, Default)]
pub struct PlanState {
    /// Active tenant-wide Global Administrator assignments that would remain.
    pub active_global_admins: i64,
}

/// The access paths of an item other than "Direct".
fn other_paths(access_path: &str) -> Vec<&str> {
    access_path.split("; ").map(str::trim).filter(|p| !p.is_empty() && *p != "Direct").collect()
}

/// "Via A › B" → "A › B".
fn via(path: &str) -> &str {
    path.strip_prefix("Via ").unwrap_or(path)
}

/// The groups that hold the principal directly, from "Via A › B" paths (the last of each).
fn holding_groups<S: AsRef<str>>(paths: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if let Some(last) = via(p.as_ref()).rsplit(" › ").next()
            && !out.iter().any(|g| g == last)
        {
            out.push(last.to_owned());
        }
    }
    out
}

/// The groups assigned to an application, from "Via A › B" paths (the first of each).
fn assigned_groups<S: AsRef<str>>(paths: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if let Some(first) = via(p.as_ref()).split(" › ").next()
            && !out.iter().any(|g| g == first)
        {
            out.push(first.to_owned());
        }
    }
    out
}

/// A direct link removed while the access remains: the detail to store ("Direct assignment
/// to Salesforce removed; access remains via Sales Team: …") and the preview's note.
fn removed_but_remains<S: AsRef<str>>(step: Step, done: String, paths: &[S], hint: String) -> Verdict {
    let remains = remains(paths);
    let detail = format!("{done}; {remains}: {hint}");
    let mut note = format!("{remains}: {hint}");
    if let Some(first) = note.get(..1) {
        note = format!("{}{}", first.to_uppercase(), &note[1..]);
    }
    Verdict::RemoveButAccessRemains(step, detail, Remains(note))
}

/// "access remains via Sales Team and via Engineering All › Backend Developers": the paths
/// as the pages show them, names in their own case.
fn remains<S: AsRef<str>>(paths: &[S]) -> String {
    let phrases: Vec<String> = paths
        .iter()
        .map(|p| match p.as_ref() {
            "Dynamic rule" => "through the group's dynamic rule".to_owned(),
            p => format!("via {}", via(p)),
        })
        .collect();
    format!("access remains {}", phrases.join(" and "))
}

/// "A", "A and B", "A, B and C": every path must go for the access to end.
fn all_of(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What to do about access that remains through groups, for a group review.
fn group_hint<S: AsRef<str>>(paths: &[S]) -> String {
    match &holding_groups(paths)[..] {
        [] => "change the group's rule or review that access separately".to_owned(),
        [one] => format!("remove them from {one} or review that group separately"),
        many => format!("remove them from {} or review those groups separately", all_of(many)),
    }
}

/// What to do about access that remains through assigned groups, for an app review.
fn app_hint<S: AsRef<str>>(paths: &[S], app: &str) -> String {
    match &assigned_groups(paths)[..] {
        [one] => format!("remove them from {one} or unassign it from {app}"),
        many => format!("remove them from {} or unassign those groups from {app}", all_of(many)),
    }
}

/// Plans one denied item. A removal of a link that a push source owns (SCIM, CSV) is not
/// made here: the verdict names that source, and the plan says where to remediate.
pub fn plan(resource: &Resource, item: &ItemFacts<'_>, state: &mut PlanState) -> ItemPlan {
    let (action, verdict) = plan_verdict(resource, item, state);
    let push = item.link_source.filter(|s| s.is_push());
    let write_back = item
        .link_source
        .filter(|s| s.kind.writes_back() && verdict.step() == Some(&Step::RemoveMembership))
        .map(|s| s.id.clone());
    match (verdict.step(), push) {
        (Some(Step::RemoveMembership | Step::RemoveAppAssignment), Some(source)) => ItemPlan {
            action,
            verdict: Verdict::NotSupported(managed_by(&source.name)),
            remediate_at: Some(source.id.clone()),
            write_back: None,
        },
        // Roles are decided in their branch, before the last-Global-Administrator count:
        // their only refusal of this kind is the source's.
        (None, Some(source)) if matches!((resource, &verdict), (Resource::Role { .. }, Verdict::NotSupported(_))) => {
            ItemPlan { action, verdict, remediate_at: Some(source.id.clone()), write_back: None }
        }
        _ => ItemPlan { action, verdict, remediate_at: None, write_back },
    }
}

/// The action and verdict of one item, as if attest could change every source.
fn plan_verdict(resource: &Resource, item: &ItemFacts<'_>, state: &mut PlanState) -> (String, Verdict) {
    let name = resource.name();
    if item.block_guest {
        let action = format!("Disable the guest account now; delete it after {GUEST_DELETE_AFTER_DAYS} days");
        let verdict = if item.user_found {
            Verdict::Remove(
                Step::BlockGuest,
                format!("Guest account disabled; it will be deleted after {GUEST_DELETE_AFTER_DAYS} days"),
            )
        } else {
            Verdict::AlreadyGone("The guest account no longer exists".into())
        };
        return (action, verdict);
    }
    match resource {
        Resource::Group { found, rule, synced, mail_enabled_security, .. } => {
            let action = format!("Remove from the group {name}");
            let verdict = if !found {
                Verdict::AlreadyGone(format!("The group {name} no longer exists"))
            } else if !item.user_found {
                Verdict::AlreadyGone("The user no longer exists".into())
            } else if let Some(rule) = rule {
                Verdict::NotSupported(format!(
                    "Membership comes from the dynamic rule of {name} ({rule}): change the rule or the user's attributes"
                ))
            } else if *synced {
                Verdict::NotSupported(format!(
                    "{name} is synced from on-premises Active Directory: remove the membership there (a change here would come back at the next sync)"
                ))
            } else if *mail_enabled_security {
                Verdict::NotSupported(format!(
                    "{name} is a mail-enabled security group, managed in Exchange: remove the membership there"
                ))
            } else if !item.access_direct {
                let snapshot = other_paths(item.access_path);
                if item.other_paths_now.is_empty() && !item.direct_link {
                    Verdict::AlreadyGone(format!("No longer a member of {name}"))
                } else {
                    // Name the paths that grant it now; the snapshot's when only a direct
                    // link (added since the review started, so not reviewed) is left.
                    let paths: Vec<&str> = if item.other_paths_now.is_empty() {
                        snapshot
                    } else {
                        item.other_paths_now.iter().map(String::as_str).collect()
                    };
                    let groups = holding_groups(&paths);
                    Verdict::NotSupported(format!(
                        "Membership through the nested group {} ({}): remove them from {} or review that group",
                        groups.join(", "),
                        paths.join("; "),
                        if groups.len() == 1 { "it" } else { "those groups" },
                    ))
                }
            } else if !item.other_paths_now.is_empty() {
                let paths = item.other_paths_now;
                if item.direct_link {
                    removed_but_remains(
                        Step::RemoveMembership,
                        format!("Direct membership of {name} removed"),
                        paths,
                        group_hint(paths),
                    )
                } else {
                    Verdict::NotSupported(format!(
                        "No longer a direct member of {name}, but {}: {}",
                        remains(paths),
                        group_hint(paths)
                    ))
                }
            } else if item.direct_link {
                Verdict::Remove(Step::RemoveMembership, removed_from_group(name))
            } else {
                Verdict::AlreadyGone(format!("No longer a direct member of {name}"))
            };
            (action, verdict)
        }
        Resource::Application { found, .. } => {
            let action = format!("Remove the assignment to {name}");
            let verdict = if !found {
                Verdict::AlreadyGone(format!("The application {name} no longer exists"))
            } else if !item.user_found {
                Verdict::AlreadyGone("The user no longer exists".into())
            } else if !item.access_direct {
                let snapshot = other_paths(item.access_path);
                if item.other_paths_now.is_empty() && !item.direct_link {
                    Verdict::AlreadyGone(format!("No longer has access to {name}"))
                } else {
                    let paths: Vec<&str> = if item.other_paths_now.is_empty() {
                        snapshot
                    } else {
                        item.other_paths_now.iter().map(String::as_str).collect()
                    };
                    Verdict::NotSupported(format!(
                        "Access through the group {} assigned to {name} ({}): remove them from the group or unassign it",
                        assigned_groups(&paths).join(", "),
                        paths.join("; ")
                    ))
                }
            } else if !item.other_paths_now.is_empty() {
                let paths = item.other_paths_now;
                if item.direct_link {
                    removed_but_remains(
                        Step::RemoveAppAssignment,
                        format!("Direct assignment to {name} removed"),
                        paths,
                        app_hint(paths, name),
                    )
                } else {
                    Verdict::NotSupported(format!(
                        "No longer assigned to {name} directly, but {}: {}",
                        remains(paths),
                        app_hint(paths, name)
                    ))
                }
            } else if item.direct_link {
                Verdict::Remove(Step::RemoveAppAssignment, format!("Assignment to {name} removed"))
            } else {
                Verdict::AlreadyGone(format!("No longer assigned to {name} directly"))
            };
            (action, verdict)
        }
        // Roles have no second path in attest's directory (no role-assignable groups): every
        // assignment of the reviewed kinds in the review's scope is removed, so the rule
        // above does not arise for them.
        Resource::Role { found, global_admin, .. } => {
            let held: Vec<String> = item
                .held
                .iter()
                .map(|h| format!("{} assignment of {name} at {}", h.assignment_type, h.scope_name))
                .collect();
            let action = if held.is_empty() {
                format!("Remove the assignments of {name}")
            } else {
                format!("Remove the {}", held.join(" and the "))
            };
            let active_ga =
                if *global_admin { item.held.iter().filter(|h| h.is_active_tenant_wide()).count() } else { 0 };
            let active_ga = i64::try_from(active_ga).unwrap_or(i64::MAX);
            let verdict = if !found {
                Verdict::AlreadyGone(format!("The role {name} no longer exists"))
            } else if item.held.is_empty() {
                Verdict::AlreadyGone(format!("No longer holds {name} in this review's scope"))
            } else if let Some(source) = item.link_source.filter(|s| s.is_push()) {
                // Before the count: an assignment attest does not remove leaves the
                // number of Global Administrators as it is.
                Verdict::NotSupported(managed_by(&source.name))
            } else if active_ga > 0 && state.active_global_admins - active_ga < 1 {
                Verdict::Refused(format!(
                    "This is the last active {GLOBAL_ADMINISTRATOR}: removing it would leave the directory without one. Make someone else {GLOBAL_ADMINISTRATOR} first, then apply again from a new review"
                ))
            } else {
                state.active_global_admins -= active_ga;
                Verdict::Remove(
                    Step::RemoveRoleAssignments(item.held.iter().map(|h| h.id.clone()).collect()),
                    format!("Removed the {}", held.join(" and the ")),
                )
            };
            (action, verdict)
        }
    }
}

/// What a removed membership's result says ("Removed from the group Falcon").
pub fn removed_from_group(name: &str) -> String {
    format!("Removed from the group {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grp(found: bool, rule: Option<&str>, synced: bool) -> Resource {
        Resource::Group {
            name: "Falcon".into(),
            found,
            rule: rule.map(Into::into),
            synced,
            mail_enabled_security: false,
        }
    }

    fn group() -> Resource {
        grp(true, None, false)
    }

    fn facts<'a>(path: &'a str, direct: bool, held: &'a [Held]) -> ItemFacts<'a> {
        ItemFacts {
            access_path: path,
            access_direct: direct,
            block_guest: false,
            user_found: true,
            direct_link: true,
            held,
            other_paths_now: &[],
            link_source: None,
        }
    }

    fn ga(id: &str, kind: &str) -> Held {
        Held {
            id: id.into(),
            assignment_type: AssignmentType::parse(kind).unwrap_or(AssignmentType::Active),
            scope: "/".into(),
            scope_name: "Directory".into(),
            source_id: "local".into(),
        }
    }

    #[test]
    fn group_items() {
        let mut s = PlanState::default();
        let p = plan(&group(), &facts("Direct", true, &[]), &mut s);
        assert_eq!(p.action, "Remove from the group Falcon");
        assert_eq!(p.verdict, Verdict::Remove(Step::RemoveMembership, "Removed from the group Falcon".into()));
        assert!(p.verdict.remediated());
        let gone = plan(&group(), &ItemFacts { direct_link: false, ..facts("Direct", true, &[]) }, &mut s);
        assert_eq!(gone.verdict.result(), ApplyResult::AppliedSuccessfullyButObjectNotFound);
        let nested = plan(&group(), &facts("Via Platform Team › SRE On-call", false, &[]), &mut s);
        assert_eq!(nested.verdict.result(), ApplyResult::ApplyNotSupported);
        assert!(nested.verdict.detail().starts_with("Membership through the nested group SRE On-call"), "{nested:?}");
        let dynamic = grp(true, Some("user.x"), false);
        assert!(plan(&dynamic, &facts("Dynamic rule", false, &[]), &mut s).verdict.detail().contains("dynamic rule"));
        let synced = grp(true, None, true);
        assert!(plan(&synced, &facts("Direct", true, &[]), &mut s).verdict.detail().contains("on-premises"));
        let missing = grp(false, None, false);
        assert_eq!(
            plan(&missing, &facts("Direct", true, &[]), &mut s).verdict.result(),
            ApplyResult::AppliedSuccessfullyButObjectNotFound
        );
    }

    #[test]
    fn a_direct_member_who_is_also_a_member_through_a_nested_group_keeps_the_access() {
        let mut s = PlanState::default();
        let now = ["Via Backend Developers".to_owned()];
        let f = ItemFacts { other_paths_now: &now, ..facts("Direct; Via Backend Developers", true, &[]) };
        let p = plan(&group(), &f, &mut s);
        assert_eq!(
            p.verdict,
            Verdict::RemoveButAccessRemains(
                Step::RemoveMembership,
                "Direct membership of Falcon removed; access remains via Backend Developers: remove them from Backend Developers or review that group separately".into(),
                Remains("Access remains via Backend Developers: remove them from Backend Developers or review that group separately".into())
            )
        );
        assert_eq!(p.verdict.result(), ApplyResult::ApplyNotSupported, "not remediated");
        assert!(!p.verdict.remediated());
        assert_eq!(p.verdict.step(), Some(&Step::RemoveMembership), "the direct link still goes");
        // The direct link went meanwhile, the nested one did not: nothing to remove, and
        // not "already gone" either.
        let p = plan(&group(), &ItemFacts { direct_link: false, ..f }, &mut s);
        assert_eq!(p.verdict.result(), ApplyResult::ApplyNotSupported);
        assert!(
            p.verdict
                .detail()
                .starts_with("No longer a direct member of Falcon, but access remains via Backend Developers")
        );
        assert_eq!(p.verdict.step(), None);
        // What counts is the directory now: the nested membership ended since the start.
        let p = plan(&group(), &facts("Direct; Via Backend Developers", true, &[]), &mut s);
        assert_eq!(p.verdict.result(), ApplyResult::AppliedSuccessfully);
        // Only nested at start and gone from it now: already gone, not "cannot remove".
        let p =
            plan(&group(), &ItemFacts { direct_link: false, ..facts("Via Backend Developers", false, &[]) }, &mut s);
        assert_eq!(p.verdict, Verdict::AlreadyGone("No longer a member of Falcon".into()));
        // Several paths, deeper chains: each named, the holding groups offered.
        let now = ["Via Platform Team › SRE On-call".to_owned(), "Via Backend Developers".to_owned()];
        let p = plan(&group(), &ItemFacts { other_paths_now: &now, ..facts("Direct", true, &[]) }, &mut s);
        assert!(
            p.verdict.detail().ends_with(
                "access remains via Platform Team › SRE On-call and via Backend Developers: remove them from SRE On-call and Backend Developers or review those groups separately"
            ),
            "{p:?}"
        );
    }

    #[test]
    fn guests_are_blocked_whatever_the_path() {
        let mut s = PlanState::default();
        let now = ["Via X".to_owned()];
        let f = ItemFacts { block_guest: true, other_paths_now: &now, ..facts("Via X", false, &[]) };
        let p = plan(&group(), &f, &mut s);
        assert_eq!(p.action, "Disable the guest account now; delete it after 30 days");
        assert!(matches!(p.verdict, Verdict::Remove(Step::BlockGuest, _)));
        let gone = plan(&group(), &ItemFacts { user_found: false, ..f }, &mut s);
        assert_eq!(gone.verdict.result(), ApplyResult::AppliedSuccessfullyButObjectNotFound);
    }

    #[test]
    fn apps_name_the_assigned_group() {
        let app = Resource::Application { name: "Jira".into(), found: true };
        let mut s = PlanState::default();
        let p = plan(&app, &facts("Via Engineering All › Backend Developers", false, &[]), &mut s);
        assert!(p.verdict.detail().starts_with("Access through the group Engineering All assigned to Jira"), "{p:?}");
        let direct = plan(&app, &facts("Direct", true, &[]), &mut s);
        assert_eq!(direct.verdict, Verdict::Remove(Step::RemoveAppAssignment, "Assignment to Jira removed".into()));
    }

    #[test]
    fn an_app_assigned_directly_and_through_a_group_stays() {
        let app = Resource::Application { name: "Salesforce".into(), found: true };
        let mut s = PlanState::default();
        let now = ["Via Sales Team".to_owned()];
        let p = plan(&app, &ItemFacts { other_paths_now: &now, ..facts("Direct; Via Sales Team", true, &[]) }, &mut s);
        assert_eq!(
            p.verdict,
            Verdict::RemoveButAccessRemains(
                Step::RemoveAppAssignment,
                "Direct assignment to Salesforce removed; access remains via Sales Team: remove them from Sales Team or unassign it from Salesforce".into(),
                Remains("Access remains via Sales Team: remove them from Sales Team or unassign it from Salesforce".into())
            )
        );
        assert_eq!(p.verdict.result(), ApplyResult::ApplyNotSupported);
        // A group assigned since the review started counts too: the person has the access.
        let p = plan(&app, &ItemFacts { other_paths_now: &now, ..facts("Direct", true, &[]) }, &mut s);
        assert_eq!(p.verdict.result(), ApplyResult::ApplyNotSupported);
        let p = plan(&app, &ItemFacts { direct_link: false, ..facts("Via Sales Team", false, &[]) }, &mut s);
        assert_eq!(p.verdict, Verdict::AlreadyGone("No longer has access to Salesforce".into()));
    }

    #[test]
    fn counts_say_what_will_and_will_not_be_applied() {
        let mut c = PlanCounts::default();
        assert_eq!(c.button(), "Record the results");
        assert!(c.not_applied().is_empty());
        c.add(&Verdict::Remove(Step::RemoveMembership, String::new()));
        assert_eq!(c.button(), "Apply 1 denial");
        c.add(&Verdict::Remove(Step::RemoveMembership, String::new()));
        c.add(&Verdict::Refused(String::new()));
        c.add(&Verdict::RemoveButAccessRemains(Step::RemoveMembership, String::new(), Remains(String::new())));
        c.add(&Verdict::NotSupported(String::new()));
        c.add(&Verdict::NotSupported(String::new()));
        c.add(&Verdict::AlreadyGone(String::new()));
        assert_eq!(c, PlanCounts { remove: 2, access_remains: 1, already_gone: 1, not_supported: 2, refused: 1 });
        assert_eq!(c.total(), 7);
        assert_eq!(c.button(), "Apply 2 denials", "only what takes the access away");
        let lines = c.not_applied();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("1 person keeps the access through a group"), "{lines:?}");
        assert!(lines[1].starts_with("2 people keep the access because it is granted elsewhere"), "{lines:?}");
        assert!(lines[2].contains("last active Global Administrator"), "{lines:?}");
        assert!(lines[3].starts_with("1 person no longer has the access"), "{lines:?}");
    }

    #[test]
    fn the_last_global_administrator_stays() {
        let role =
            Resource::Role { name: GLOBAL_ADMINISTRATOR.into(), found: true, privileged: true, global_admin: true };
        let mut s = PlanState { active_global_admins: 2 };
        let a = [ga("a", "Active")];
        let b = [ga("b", "Active"), ga("b2", "Eligible")];
        let first = plan(&role, &facts("Active at Directory", true, &a), &mut s);
        assert_eq!(
            first.verdict,
            Verdict::Remove(
                Step::RemoveRoleAssignments(vec!["a".into()]),
                "Removed the Active assignment of Global Administrator at Directory".into()
            )
        );
        let last = plan(&role, &facts("", true, &b), &mut s);
        assert_eq!(last.verdict.result(), ApplyResult::NotApplied);
        assert_eq!(s.active_global_admins, 1);
        // Eligible assignments are no one's way in now: they go.
        let eligible = [ga("c", "Eligible")];
        assert_eq!(plan(&role, &facts("", true, &eligible), &mut s).verdict.result(), ApplyResult::AppliedSuccessfully);
        assert_eq!(
            plan(&role, &facts("", true, &[]), &mut s).verdict.result(),
            ApplyResult::AppliedSuccessfullyButObjectNotFound
        );
    }

    fn push(kind: SourceKind) -> LinkSource {
        LinkSource { id: "s1".into(), name: "Okta".into(), kind }
    }

    #[test]
    fn a_push_source_removes_its_own_links() {
        let mut s = PlanState::default();
        let okta = push(SourceKind::Scim);
        let f = ItemFacts { link_source: Some(&okta), ..facts("Direct", true, &[]) };
        let p = plan(&group(), &f, &mut s);
        assert_eq!(p.verdict, Verdict::NotSupported("managed by Okta: remove it there".into()));
        assert_eq!(p.verdict.result(), ApplyResult::ApplyNotSupported);
        assert_eq!(p.remediate_at.as_deref(), Some("s1"));
        assert_eq!(p.verdict.step(), None, "nothing is removed here");
        let app = Resource::Application { name: "Jira".into(), found: true };
        let csv = push(SourceKind::Csv);
        let p = plan(&app, &ItemFacts { link_source: Some(&csv), ..facts("Direct", true, &[]) }, &mut s);
        assert_eq!(p.remediate_at.as_deref(), Some("s1"));
        // Already gone stays already gone, whoever owned it.
        let p = plan(&group(), &ItemFacts { direct_link: false, ..f }, &mut s);
        assert_eq!(p.verdict.result(), ApplyResult::AppliedSuccessfullyButObjectNotFound);
        assert_eq!(p.remediate_at, None);
        // A local link is removed as before.
        let local = push(SourceKind::Local);
        let p = plan(&group(), &ItemFacts { link_source: Some(&local), ..facts("Direct", true, &[]) }, &mut s);
        assert_eq!(p.verdict.result(), ApplyResult::AppliedSuccessfully);
        assert_eq!(p.remediate_at, None);
        // Roles: a pushed assignment is not removed and does not count against the last
        // Global Administrator.
        let role =
            Resource::Role { name: GLOBAL_ADMINISTRATOR.into(), found: true, privileged: true, global_admin: true };
        let mut s = PlanState { active_global_admins: 1 };
        let a = [ga("a", "Active")];
        let p = plan(&role, &ItemFacts { link_source: Some(&okta), ..facts("", true, &a) }, &mut s);
        assert_eq!(p.verdict, Verdict::NotSupported("managed by Okta: remove it there".into()));
        assert_eq!(p.remediate_at.as_deref(), Some("s1"));
        assert_eq!(s.active_global_admins, 1);
    }
}
