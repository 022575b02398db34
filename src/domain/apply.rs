//! Applying a review's denials: what removing one denied item's access means, given what
//! the directory holds now. Pure: the store gathers the facts, this decides, the service
//! carries it out. The preview and the apply run the same planner, so they agree.

/// Days between disabling a denied guest ("block then delete") and deleting the account.
pub const GUEST_DELETE_AFTER_DAYS: i64 = 30;

/// The directory role whose last active holder is never removed.
pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";

/// Stored apply results (Entra's `applyResult`, plus `NotApplied` for refusals).
pub mod result {
    /// Not applied yet (every item starts so; approved items stay so).
    pub const NEW: &str = "New";
    /// The access was removed (or the guest disabled).
    pub const APPLIED: &str = "AppliedSuccessfully";
    /// The access was already gone.
    pub const NOT_FOUND: &str = "AppliedSuccessfullyButObjectNotFound";
    /// attest cannot remove this access (it comes from elsewhere).
    pub const NOT_SUPPORTED: &str = "ApplyNotSupported";
    /// attest refused to remove it (the last Global Administrator).
    pub const REFUSED: &str = "NotApplied";
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
    /// Active or Eligible.
    pub assignment_type: String,
    /// The scope ("/" for the directory).
    pub scope: String,
    /// The scope's name.
    pub scope_name: String,
}

impl Held {
    /// An active tenant-wide assignment (what counts towards "the last Global Administrator").
    pub fn is_active_tenant_wide(&self) -> bool {
        self.assignment_type == "Active" && self.scope == "/"
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
    /// The access is already gone: why.
    AlreadyGone(String),
    /// attest cannot remove it: the reason, naming the real path.
    NotSupported(String),
    /// attest will not remove it: why.
    Refused(String),
}

impl Verdict {
    /// The apply result stored for this verdict.
    pub fn result(&self) -> &'static str {
        match self {
            Self::Remove(..) => result::APPLIED,
            Self::AlreadyGone(_) => result::NOT_FOUND,
            Self::NotSupported(_) => result::NOT_SUPPORTED,
            Self::Refused(_) => result::REFUSED,
        }
    }

    /// The detail stored with the result.
    pub fn detail(&self) -> &str {
        match self {
            Self::Remove(_, d) | Self::AlreadyGone(d) | Self::NotSupported(d) | Self::Refused(d) => d,
        }
    }
}

/// An item's plan: the action in words (what an admin is asked to confirm) and the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPlan {
    /// "Remove from the group Project Falcon", "Disable the guest account now; …".
    pub action: String,
    /// What will happen.
    pub verdict: Verdict,
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
fn holding_groups(paths: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if let Some(last) = via(p).rsplit(" › ").next()
            && !out.iter().any(|g| g == last)
        {
            out.push(last.to_owned());
        }
    }
    out
}

/// A removal's detail, saying which other paths keep giving access.
fn removed(done: String, access_path: &str) -> String {
    let others = other_paths(access_path);
    if others.is_empty() {
        done
    } else {
        format!("{done}; still has access {}: review or change that separately", others.join("; ").to_lowercase())
    }
}

/// Plans one denied item.
pub fn plan(resource: &Resource, item: &ItemFacts<'_>, state: &mut PlanState) -> ItemPlan {
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
        return ItemPlan { action, verdict };
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
                let paths = other_paths(item.access_path);
                let groups = holding_groups(&paths);
                Verdict::NotSupported(format!(
                    "Membership through the nested group {} ({}): remove them from {} or review that group",
                    groups.join(", "),
                    paths.join("; "),
                    if groups.len() == 1 { "it" } else { "those groups" },
                ))
            } else if item.direct_link {
                Verdict::Remove(
                    Step::RemoveMembership,
                    removed(format!("Removed from the group {name}"), item.access_path),
                )
            } else {
                Verdict::AlreadyGone(format!("No longer a direct member of {name}"))
            };
            ItemPlan { action, verdict }
        }
        Resource::Application { found, .. } => {
            let action = format!("Remove the assignment to {name}");
            let verdict = if !found {
                Verdict::AlreadyGone(format!("The application {name} no longer exists"))
            } else if !item.user_found {
                Verdict::AlreadyGone("The user no longer exists".into())
            } else if !item.access_direct {
                let paths = other_paths(item.access_path);
                let assigned: Vec<&str> = paths.iter().filter_map(|p| via(p).split(" › ").next()).collect::<Vec<_>>();
                Verdict::NotSupported(format!(
                    "Access through the group {} assigned to {name} ({}): remove them from the group or unassign it",
                    assigned.join(", "),
                    paths.join("; ")
                ))
            } else if item.direct_link {
                Verdict::Remove(
                    Step::RemoveAppAssignment,
                    removed(format!("Assignment to {name} removed"), item.access_path),
                )
            } else {
                Verdict::AlreadyGone(format!("No longer assigned to {name} directly"))
            };
            ItemPlan { action, verdict }
        }
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
            ItemPlan { action, verdict }
        }
    }
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
        }
    }

    fn ga(id: &str, kind: &str) -> Held {
        Held { id: id.into(), assignment_type: kind.into(), scope: "/".into(), scope_name: "Directory".into() }
    }

    #[test]
    fn group_items() {
        let mut s = PlanState::default();
        let p = plan(&group(), &facts("Direct", true, &[]), &mut s);
        assert_eq!(p.action, "Remove from the group Falcon");
        assert_eq!(p.verdict, Verdict::Remove(Step::RemoveMembership, "Removed from the group Falcon".into()));
        let both = plan(&group(), &facts("Direct; Via Backend", true, &[]), &mut s);
        assert!(both.verdict.detail().contains("still has access via backend"), "{both:?}");
        let gone = plan(&group(), &ItemFacts { direct_link: false, ..facts("Direct", true, &[]) }, &mut s);
        assert_eq!(gone.verdict.result(), result::NOT_FOUND);
        let nested = plan(&group(), &facts("Via Platform Team › SRE On-call", false, &[]), &mut s);
        assert_eq!(nested.verdict.result(), result::NOT_SUPPORTED);
        assert!(nested.verdict.detail().starts_with("Membership through the nested group SRE On-call"), "{nested:?}");
        let dynamic = grp(true, Some("user.x"), false);
        assert!(plan(&dynamic, &facts("Dynamic rule", false, &[]), &mut s).verdict.detail().contains("dynamic rule"));
        let synced = grp(true, None, true);
        assert!(plan(&synced, &facts("Direct", true, &[]), &mut s).verdict.detail().contains("on-premises"));
        let missing = grp(false, None, false);
        assert_eq!(plan(&missing, &facts("Direct", true, &[]), &mut s).verdict.result(), result::NOT_FOUND);
    }

    #[test]
    fn guests_are_blocked_whatever_the_path() {
        let mut s = PlanState::default();
        let f = ItemFacts { block_guest: true, ..facts("Via X", false, &[]) };
        let p = plan(&group(), &f, &mut s);
        assert_eq!(p.action, "Disable the guest account now; delete it after 30 days");
        assert!(matches!(p.verdict, Verdict::Remove(Step::BlockGuest, _)));
        let gone = plan(&group(), &ItemFacts { user_found: false, ..f }, &mut s);
        assert_eq!(gone.verdict.result(), result::NOT_FOUND);
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
        assert_eq!(last.verdict.result(), result::REFUSED);
        assert_eq!(s.active_global_admins, 1);
        // Eligible assignments are no one's way in now: they go.
        let eligible = [ga("c", "Eligible")];
        assert_eq!(plan(&role, &facts("", true, &eligible), &mut s).verdict.result(), result::APPLIED);
        assert_eq!(plan(&role, &facts("", true, &[]), &mut s).verdict.result(), result::NOT_FOUND);
    }
}
