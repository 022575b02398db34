//! Reviewers' decisions: what an action does to the selected items, and the rules it must
//! follow. Pure: the service loads the items, asks [`plan`], and writes what it returns.

use std::collections::HashSet;

use super::recommendation::Recommendation;
use super::state::stored_state;

stored_state! {
    /// A decision item's decision, as stored.
    Decision in "decision_items.decision" {
        /// Nobody decided yet.
        NotReviewed => "NotReviewed",
        /// Keep the access.
        Approve => "Approve",
        /// Remove the access.
        Deny => "Deny",
        /// The reviewer cannot tell.
        DontKnow => "DontKnow",
    }
}

impl Decision {
    /// As the reviewer's buttons say it ("Not reviewed → Deny" in the audit log).
    pub fn verb(self) -> &'static str {
        match self {
            Self::NotReviewed => "Not reviewed",
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::DontKnow => "Don't know",
        }
    }

    /// As the page shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotReviewed => "Not reviewed",
            Self::Approve => "Approved",
            Self::Deny => "Denied",
            Self::DontKnow => "Don't know",
        }
    }
}

/// What a reviewer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Approve the selected items.
    Approve,
    /// Deny the selected items.
    Deny,
    /// Mark the selected items "don't know".
    DontKnow,
    /// Take the recommendation for the selected items nobody has decided yet.
    AcceptRecommendations,
}

impl Action {
    /// Reads a form's button value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Approve" => Self::Approve,
            "Deny" => Self::Deny,
            "DontKnow" => Self::DontKnow,
            "AcceptRecommendations" => Self::AcceptRecommendations,
            _ => return None,
        })
    }

    /// As the buttons and the audit log say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::DontKnow => "Don't know",
            Self::AcceptRecommendations => "Accept recommendations",
        }
    }

    /// As the audit trail and messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::DontKnow => "DontKnow",
            Self::AcceptRecommendations => "AcceptRecommendations",
        }
    }
}

/// The longest reason kept.
pub const MAX_REASON_LEN: usize = 500;

/// An item as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The item's id.
    pub id: String,
    /// Its decision now.
    pub decision: Decision,
    /// Its recommendation.
    pub recommendation: Recommendation,
    /// Why that recommendation.
    pub recommendation_reason: String,
}

/// One item's new decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The item's id.
    pub id: String,
    /// Its decision before.
    pub old: Decision,
    /// Its decision now.
    pub new: Decision,
    /// The reason stored with it.
    pub justification: String,
    /// What its recommendation says (`None`: no information), so the counters of
    /// recommendations still to accept follow the change.
    pub recommended: Option<Decision>,
}

/// Why an action cannot be taken; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Nothing was selected.
    NothingSelected,
    /// This review requires a reason to approve.
    ReasonRequired,
    /// This review requires a reason to approve, and accepting these recommendations
    /// approves this many people.
    ReasonRequiredToAccept(usize),
    /// The reason is too long.
    ReasonTooLong,
}

impl PlanError {
    /// The message for the reviewer.
    pub fn message(&self) -> String {
        match self {
            Self::NothingSelected => "Select at least one person, then choose a decision.".into(),
            Self::ReasonRequired => "Enter a reason: this review requires one to approve access.".into(),
            Self::ReasonRequiredToAccept(n) => format!(
                "Enter a reason: this review requires one to approve access, and accepting these recommendations \
                 approves {}. Nothing was changed.",
                if *n == 1 { "1 person".to_owned() } else { format!("{n} people") }
            ),
            Self::ReasonTooLong => format!("Shorten the reason to at most {MAX_REASON_LEN} characters."),
        }
    }
}

/// The changes an action makes to `items` (all selected, all visible to the reviewer).
///
/// - Approve, Deny, Don't know set that decision on every selected item, overwriting an
///   earlier one (the last submitted decision wins); approving needs a reason when the
///   review requires one.
/// - Accept recommendations decides only items nobody decided yet, and only where there
///   is a recommendation; the reason is the reviewer's, or else the recommendation's. When
///   the review requires a reason to approve, accepting a recommendation to approve needs
///   one too (the generated text is no reason): otherwise nothing is decided.
pub fn plan(
    action: Action,
    reason: &str,
    reason_required_to_approve: bool,
    items: &[Current],
) -> Result<Vec<Change>, PlanError> {
    let reason = reason.trim();
    if items.is_empty() {
        return Err(PlanError::NothingSelected);
    }
    if reason.chars().count() > MAX_REASON_LEN {
        return Err(PlanError::ReasonTooLong);
    }
    let set = |new: Decision| -> Vec<Change> {
        items
            .iter()
            .map(|i| Change {
                id: i.id.clone(),
                old: i.decision,
                new,
                justification: reason.to_owned(),
                recommended: recommended(i.recommendation),
            })
            .collect()
    };
    Ok(match action {
        Action::Approve if reason.is_empty() && reason_required_to_approve => return Err(PlanError::ReasonRequired),
        Action::Approve => set(Decision::Approve),
        Action::Deny => set(Decision::Deny),
        Action::DontKnow => set(Decision::DontKnow),
        Action::AcceptRecommendations => {
            let changes: Vec<Change> = items
                .iter()
                .filter(|i| i.decision == Decision::NotReviewed)
                .filter_map(|i| {
                    let new = recommended(i.recommendation)?;
                    let justification = if reason.is_empty() {
                        format!("Accepted the recommendation: {}", i.recommendation_reason)
                    } else {
                        reason.to_owned()
                    };
                    Some(Change { id: i.id.clone(), old: i.decision, new, justification, recommended: Some(new) })
                })
                .collect();
            let approvals = changes.iter().filter(|c| c.new == Decision::Approve).count();
            if reason.is_empty() && reason_required_to_approve && approvals > 0 {
                return Err(PlanError::ReasonRequiredToAccept(approvals));
            }
            changes
        }
    })
}

/// The decision a stored recommendation stands for (`None`: no information).
pub fn recommended(recommendation: Recommendation) -> Option<Decision> {
    match recommendation {
        Recommendation::Approve => Some(Decision::Approve),
        Recommendation::Deny => Some(Decision::Deny),
        Recommendation::NoInfoAvailable => None,
    }
}

/// Items nobody has decided yet that have a recommendation: what "Accept recommendations"
/// would decide. Kept as counters on the instance next to the [`Tally`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// Recommended for approval.
    pub approve: i64,
    /// Recommended for denial.
    pub deny: i64,
}

impl Pending {
    /// Both kinds.
    pub fn total(&self) -> i64 {
        self.approve + self.deny
    }

    /// Counts one undecided item recommended `recommended` (no information counts nowhere).
    pub fn add(&mut self, recommended: Option<Decision>, n: i64) {
        match recommended {
            Some(Decision::Approve) => self.approve += n,
            Some(Decision::Deny) => self.deny += n,
            _ => {}
        }
    }

    /// The net change `changes` make: an item leaves the counts when it is decided and
    /// comes back if it is ever set to not reviewed again.
    pub fn delta(changes: &[Change]) -> Self {
        let mut p = Self::default();
        for c in changes {
            match (c.old == Decision::NotReviewed, c.new == Decision::NotReviewed) {
                (true, false) => p.add(c.recommended, -1),
                (false, true) => p.add(c.recommended, 1),
                _ => {}
            }
        }
        p
    }
}

/// How many items hold each decision; changes move items between the counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Not reviewed.
    pub not_reviewed: i64,
    /// Approved.
    pub approved: i64,
    /// Denied.
    pub denied: i64,
    /// Don't know.
    pub dont_know: i64,
}

impl Tally {
    fn slot(&mut self, d: Decision) -> &mut i64 {
        match d {
            Decision::NotReviewed => &mut self.not_reviewed,
            Decision::Approve => &mut self.approved,
            Decision::Deny => &mut self.denied,
            Decision::DontKnow => &mut self.dont_know,
        }
    }

    /// The net change of each count that `changes` make.
    pub fn delta(changes: &[Change]) -> Self {
        let mut t = Self::default();
        for c in changes {
            *t.slot(c.old) -= 1;
            *t.slot(c.new) += 1;
        }
        t
    }

    /// How many items hold decision `d`.
    pub fn get(&self, d: Decision) -> i64 {
        match d {
            Decision::NotReviewed => self.not_reviewed,
            Decision::Approve => self.approved,
            Decision::Deny => self.denied,
            Decision::DontKnow => self.dont_know,
        }
    }

    /// Adds `n` items with decision `d`.
    pub fn add(&mut self, d: Decision, n: i64) {
        *self.slot(d) += n;
    }

    /// Items in all.
    pub fn total(&self) -> i64 {
        self.not_reviewed + self.approved + self.denied + self.dont_know
    }

    /// Items someone decided.
    pub fn reviewed(&self) -> i64 {
        self.total() - self.not_reviewed
    }
}

stored_state! {
    /// Who decides an item that is not assigned to one person (the item's reviewer is empty;
    /// managers and self-reviewers are assigned their items by name).
    Pool in "decision_items.reviewer_pool" {
        /// The instance's reviewers: the resource's owners or the selected reviewers.
        Reviewers => "Reviewers",
        /// Its fallback reviewers: for a resource without owners, people without a manager,
        /// and the own access of the instance's reviewers.
        Fallback => "Fallback",
        /// Any portal admin: a reviewer's own access when no other fallback reviewer exists.
        Admins => "Admins",
    }
}

impl Pool {
    /// Who the pool is, as a reassignment's history names the one it took an item from.
    pub fn who(self) -> &'static str {
        match self {
            Self::Reviewers => "The reviewers",
            Self::Fallback => "The fallback reviewers",
            Self::Admins => "The administrators",
        }
    }

    /// Who decides, as a row of the review page says it ("decided by the fallback reviewer").
    pub fn decided_by(self) -> &'static str {
        match self {
            Self::Reviewers => "decided by the other reviewers",
            Self::Fallback => "decided by the fallback reviewer",
            Self::Admins => "decided by an administrator",
        }
    }
}

/// Where an item that nobody in particular was assigned goes when its instance starts.
///
/// Independence (auditors' word): outside a self-review nobody decides their own access.
/// The item goes to the instance's `reviewers` unless there are none or the principal is
/// one of them; then to the `fallbacks` other than the principal; when there is none, to
/// any portal admin (who is then checked not to be the principal either). A fallback who is
/// also one of the reviewers counts as a reviewer: pass `fallbacks` without them.
pub fn route(principal: &str, reviewers: &HashSet<String>, fallbacks: &[String]) -> Pool {
    if !reviewers.is_empty() && !reviewers.contains(principal) {
        Pool::Reviewers
    } else if fallbacks.iter().any(|f| f != principal) {
        Pool::Fallback
    } else {
        Pool::Admins
    }
}

/// One person's standing in one instance: which items they decide. This is the access
/// rule of the panel, in one place; the store lists and counts by the same facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    /// The person's user id.
    pub user: String,
    /// One of the instance's reviewers (an owner or a selected reviewer).
    pub reviewer: bool,
    /// One of its fallback reviewers.
    pub fallback: bool,
    /// A portal admin.
    pub admin: bool,
    /// A self-review: the person answers for their own access.
    pub self_review: bool,
    /// Items escalated to them (nobody had reviewed them near the end): theirs to decide
    /// too.
    pub escalated: std::collections::BTreeSet<String>,
    /// The delegate deciding on `user`'s behalf, when someone is: they do not decide their
    /// own access either.
    pub acting: Option<String>,
}

/// Why a person may not decide an item they can see. Each names who decides it: a pool, or
/// (`None`) the one person the item is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecidable {
    /// It is their own access.
    OwnAccess(Option<Pool>),
    /// It is the own access of the person a delegate decides for.
    TheirOwnAccess(Option<Pool>),
    /// Someone else decides it: a reviewer's own access routed to a pool, or an item
    /// assigned to another person.
    Elsewhere(Option<Pool>),
}

fn decided_by(pool: Option<Pool>) -> &'static str {
    pool.map_or("decided by another reviewer", Pool::decided_by)
}

impl Undecidable {
    /// How a row of the review page says it.
    pub fn note(self) -> String {
        match self {
            Self::OwnAccess(pool) => format!("Your own access — {}", decided_by(pool)),
            Self::TheirOwnAccess(pool) => format!("Their own access — {}", decided_by(pool)),
            Self::Elsewhere(Some(pool)) => format!("A reviewer's own access — {}", pool.decided_by()),
            Self::Elsewhere(None) => "Decided by another reviewer".to_owned(),
        }
    }

    /// Why a decision on it was refused.
    pub fn refusal(self) -> String {
        match self {
            Self::OwnAccess(pool) => {
                format!("You cannot decide on your own access: it is {}. Nothing was changed.", decided_by(pool))
            }
            Self::TheirOwnAccess(pool) => format!(
                "The person you review for cannot decide on their own access, so neither can you: it is {}. \
                 Nothing was changed.",
                decided_by(pool)
            ),
            Self::Elsewhere(Some(pool)) => format!(
                "Some of the selected people review this access themselves: their own access is {}. \
                 Nothing was changed.",
                pool.decided_by()
            ),
            Self::Elsewhere(None) => {
                "Some of the selected people are reviewed by someone else. Nothing was changed.".to_owned()
            }
        }
    }
}

impl Undecidable {
    /// [`Self::note`], naming the person an item is assigned to (`assignee`, when known):
    /// in an instance whose reviewers share every item, only a reassignment gives an item
    /// to one person.
    pub fn note_naming(self, assignee: Option<&str>) -> String {
        match (self, assignee) {
            (Self::Elsewhere(None), Some(name)) => format!("Reassigned to {name}"),
            _ => self.note(),
        }
    }

    /// [`Self::refusal`], naming the person an item is assigned to (`assignee`, when known).
    pub fn refusal_naming(self, assignee: Option<&str>) -> String {
        match (self, assignee) {
            (Self::Elsewhere(None), Some(name)) => {
                format!("Some of the selected people are now reviewed by {name}. Nothing was changed.")
            }
            _ => self.refusal(),
        }
    }
}

impl Decider {
    /// Whether this person decides items of `pool` that nobody was assigned.
    pub fn in_pool(&self, pool: Pool) -> bool {
        match pool {
            Pool::Reviewers => self.reviewer,
            Pool::Fallback => self.fallback,
            Pool::Admins => self.admin,
        }
    }

    /// The pools whose items this person decides.
    pub fn pools(&self) -> Vec<Pool> {
        Pool::ALL.into_iter().filter(|p| self.in_pool(*p)).collect()
    }

    /// [`Self::may_decide`] for the item `item`, which may also have been escalated to
    /// this person (independence first: never their own access).
    pub fn may_decide_item(
        &self,
        item: &str,
        principal: &str,
        reviewer: Option<&str>,
        pool: Pool,
    ) -> Result<(), Undecidable> {
        match self.may_decide(principal, reviewer, pool) {
            Err(Undecidable::Elsewhere(_)) if self.escalated.contains(item) => Ok(()),
            other => other,
        }
    }

    /// Whether this person may decide the item of `principal` assigned to `reviewer` (or
    /// to nobody in particular, then to `pool`): an assigned item is its reviewer's, an
    /// unassigned one its pool's, and outside a self-review nobody decides their own access.
    pub fn may_decide(&self, principal: &str, reviewer: Option<&str>, pool: Pool) -> Result<(), Undecidable> {
        let theirs = match reviewer {
            Some(r) => r == self.user,
            None => self.in_pool(pool),
        };
        let decided_by = reviewer.is_none().then_some(pool);
        if self.acting.as_deref() == Some(principal) {
            Err(Undecidable::OwnAccess(decided_by))
        } else if principal == self.user && self.acting.is_some() {
            Err(Undecidable::TheirOwnAccess(decided_by))
        } else if principal == self.user && !self.self_review {
            Err(Undecidable::OwnAccess(decided_by))
        } else if theirs {
            Ok(())
        } else {
            Err(Undecidable::Elsewhere(decided_by))
        }
    }
}

/// The longest note kept with a reassignment.
pub const MAX_NOTE_LEN: usize = 500;

/// The person items are to be reassigned to, as the directory holds them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignee {
    /// Their user id.
    pub id: String,
    /// Their display name.
    pub name: String,
    /// Whether their account is enabled (a disabled one cannot sign in to decide).
    pub enabled: bool,
}

/// Why items cannot be reassigned; the message says what to fix. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReassignError {
    /// No user principal name was entered.
    NoAssignee,
    /// Nobody in the directory has this user principal name.
    Unknown(String),
    /// The person's account is disabled.
    Disabled(String),
    /// A reviewer named themself.
    ToSelf,
    /// The person is the principal of a selected item: nobody reviews their own access.
    OwnAccess(String),
    /// A self-review: each person answers for their own access.
    SelfReview,
    /// The note is too long.
    NoteTooLong,
    /// Nothing was selected.
    NothingSelected,
    /// Every selected item is the person's already.
    AlreadyTheirs(String),
}

impl ReassignError {
    /// The message for the person reassigning.
    pub fn message(&self) -> String {
        match self {
            Self::NoAssignee => "Enter the user principal name of the person to reassign to, such as \
                                 name@contoso.example. Nothing was changed."
                .into(),
            Self::Unknown(upn) => format!(
                "No one in the directory has the user principal name “{}”. Check the spelling, or enter \
                 someone else's. Nothing was changed.",
                upn.chars().take(200).collect::<String>()
            ),
            Self::Disabled(name) => format!(
                "{name}'s account is disabled, so they cannot sign in to review. Choose someone else. \
                 Nothing was changed."
            ),
            Self::ToSelf => "You already review these people: enter someone else's user principal name. \
                             Nothing was changed."
                .into(),
            Self::OwnAccess(name) => format!(
                "{name} cannot review the selected people: their own access is among them, and nobody decides \
                 on their own access. Untick {name}, or choose someone else. Nothing was changed."
            ),
            Self::SelfReview => {
                "In a self-review each person answers for their own access: it cannot be reassigned.".into()
            }
            Self::NoteTooLong => format!("Shorten the note to at most {MAX_NOTE_LEN} characters. Nothing was changed."),
            Self::NothingSelected => "Select at least one person, then choose whom to reassign them to.".into(),
            Self::AlreadyTheirs(name) => format!("{name} already reviews the selected people. Nothing was changed."),
        }
    }
}

/// Checks a reassignment of the items of `principals` (user ids) by `actor` to `to` (`None`:
/// the name entered, `upn`, found nobody). Independence: nobody is given their own access
/// to decide, and a reviewer cannot hand work to themself; an admin moving someone else's
/// items (`by_admin`) may take them over. Returns the note, trimmed.
pub fn check_reassign<'a>(
    actor: &str,
    by_admin: bool,
    upn: &str,
    to: Option<&Assignee>,
    principals: &[&str],
    note: &'a str,
) -> Result<&'a str, ReassignError> {
    let note = note.trim();
    if upn.trim().is_empty() {
        return Err(ReassignError::NoAssignee);
    }
    let Some(to) = to else { return Err(ReassignError::Unknown(upn.trim().to_owned())) };
    if note.chars().count() > MAX_NOTE_LEN {
        return Err(ReassignError::NoteTooLong);
    }
    if principals.is_empty() {
        return Err(ReassignError::NothingSelected);
    }
    if to.id == actor && !by_admin {
        return Err(ReassignError::ToSelf);
    }
    if principals.contains(&to.id.as_str()) {
        return Err(ReassignError::OwnAccess(to.name.clone()));
    }
    if !to.enabled {
        return Err(ReassignError::Disabled(to.name.clone()));
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, decision: Decision, rec: &str) -> Current {
        let recommendation = Recommendation::parse(rec).unwrap_or(Recommendation::NoInfoAvailable);
        Current { id: id.into(), decision, recommendation, recommendation_reason: format!("reason {id}") }
    }

    #[test]
    fn decisions_overwrite_and_carry_the_reason() {
        let items = [item("a", Decision::NotReviewed, "Deny"), item("b", Decision::Deny, "Deny")];
        let changes = plan(Action::Approve, "  still on the project ", false, &items).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.new == Decision::Approve && c.justification == "still on the project"));
        assert_eq!(changes[1].old, Decision::Deny, "the last decision wins");
        assert_eq!(plan(Action::DontKnow, "", true, &items).unwrap()[0].new, Decision::DontKnow);
    }

    #[test]
    fn the_rules_and_their_messages() {
        let items = [item("a", Decision::NotReviewed, "Approve")];
        assert_eq!(plan(Action::Approve, " ", true, &items), Err(PlanError::ReasonRequired));
        assert!(plan(Action::Deny, "", true, &items).is_ok(), "a reason is required to approve only");
        assert_eq!(plan(Action::Deny, "", false, &[]), Err(PlanError::NothingSelected));
        assert_eq!(plan(Action::Deny, &"x".repeat(501), false, &items), Err(PlanError::ReasonTooLong));
        assert!(PlanError::ReasonRequired.message().contains("requires one to approve"));
        assert!(PlanError::ReasonTooLong.message().contains("500"));
    }

    #[test]
    fn accepting_recommendations_never_overwrites_a_decision() {
        let items = [
            item("a", Decision::NotReviewed, "Deny"),
            item("b", Decision::NotReviewed, "Approve"),
            item("c", Decision::NotReviewed, "NoInfoAvailable"),
            item("d", Decision::Approve, "Deny"),
        ];
        // (Without "reason required": with it, approving "b" would need a reason; see below.)
        let changes = plan(Action::AcceptRecommendations, "", false, &items).unwrap();
        let got: Vec<(&str, Decision)> = changes.iter().map(|c| (c.id.as_str(), c.new)).collect();
        assert_eq!(got, vec![("a", Decision::Deny), ("b", Decision::Approve)]);
        assert_eq!(changes[0].justification, "Accepted the recommendation: reason a");
    }

    #[test]
    fn tallies_follow_changes() {
        let items = [item("a", Decision::NotReviewed, "Deny"), item("b", Decision::Deny, "Deny")];
        let d = Tally::delta(&plan(Action::Approve, "", false, &items).unwrap());
        assert_eq!(d, Tally { not_reviewed: -1, approved: 2, denied: -1, dont_know: 0 });
        let mut t = Tally::default();
        t.add(Decision::NotReviewed, 3);
        t.add(Decision::Deny, 1);
        assert_eq!((t.total(), t.reviewed()), (4, 1));
        assert_eq!(Decision::parse("DontKnow").map(Decision::label), Some("Don't know"));
        assert_eq!(Action::parse("Reset"), None);
    }
    #[test]
    fn accepting_recommendations_that_approve_needs_the_required_reason() {
        let items = [
            item("a", Decision::NotReviewed, "Approve"),
            item("b", Decision::NotReviewed, "Approve"),
            item("c", Decision::NotReviewed, "Deny"),
        ];
        assert_eq!(plan(Action::AcceptRecommendations, " ", true, &items), Err(PlanError::ReasonRequiredToAccept(2)));
        assert!(PlanError::ReasonRequiredToAccept(2).message().contains("approves 2 people"));
        assert!(PlanError::ReasonRequiredToAccept(1).message().contains("approves 1 person"));
        // Denials alone need no reason; a reason given is everyone's justification.
        let denials = plan(Action::AcceptRecommendations, "", true, &items[2..]).unwrap();
        assert_eq!(denials.len(), 1);
        let all = plan(Action::AcceptRecommendations, "Checked with the team", true, &items).unwrap();
        assert!(all.iter().all(|c| c.justification == "Checked with the team"));
        // Without the setting, the recommendation's reason is the justification.
        let free = plan(Action::AcceptRecommendations, "", false, &items).unwrap();
        assert_eq!(free[0].justification, "Accepted the recommendation: reason a");
        // Items decided already are not counted as approvals to be made.
        let decided = [item("a", Decision::Deny, "Approve"), item("c", Decision::NotReviewed, "Deny")];
        assert_eq!(plan(Action::AcceptRecommendations, "", true, &decided).unwrap().len(), 1);
    }

    #[test]
    fn pending_recommendations_follow_changes() {
        let items = [
            item("a", Decision::NotReviewed, "Approve"),
            item("b", Decision::NotReviewed, "Deny"),
            item("c", Decision::NotReviewed, "NoInfoAvailable"),
            item("d", Decision::Deny, "Approve"),
        ];
        let changes = plan(Action::DontKnow, "", false, &items).unwrap();
        assert_eq!(Pending::delta(&changes), Pending { approve: -1, deny: -1 });
        let accepted = plan(Action::AcceptRecommendations, "", false, &items).unwrap();
        assert_eq!(Pending::delta(&accepted), Pending { approve: -1, deny: -1 });
        let back = Change {
            id: "x".into(),
            old: Decision::Approve,
            new: Decision::NotReviewed,
            justification: String::new(),
            recommended: Some(Decision::Deny),
        };
        assert_eq!(Pending::delta(&[back]), Pending { approve: 0, deny: 1 });
        assert_eq!(recommended(Recommendation::NoInfoAvailable), None);
        assert_eq!(Pending { approve: 2, deny: 3 }.total(), 5);
    }

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn nobody_is_routed_their_own_access() {
        let none = HashSet::new();
        let (owners, fallbacks) = (ids(&["omar", "olga"]).into_iter().collect(), ids(&["dana"]));
        assert_eq!(route("tom", &owners, &fallbacks), Pool::Reviewers);
        // An owner who is a member: the fallback reviewer decides.
        assert_eq!(route("omar", &owners, &fallbacks), Pool::Fallback);
        // No owner (or a manager review's people without a manager): the fallbacks.
        assert_eq!(route("tom", &none, &fallbacks), Pool::Fallback);
        // The only fallback reviewer is the principal: an admin decides.
        assert_eq!(route("dana", &none, &fallbacks), Pool::Admins);
        assert_eq!(route("dana", &none, &ids(&["dana", "ian"])), Pool::Fallback);
        // No fallback reviewers at all.
        assert_eq!(route("omar", &owners, &[]), Pool::Admins);
        assert_eq!(route("tom", &none, &[]), Pool::Admins);
    }

    fn decider(user: &str, reviewer: bool, fallback: bool, admin: bool) -> Decider {
        Decider {
            user: user.into(),
            reviewer,
            fallback,
            admin,
            self_review: false,
            escalated: Default::default(),
            acting: None,
        }
    }

    #[test]
    fn the_access_rule() {
        let owner = decider("omar", true, false, false);
        assert_eq!(owner.may_decide("tom", None, Pool::Reviewers), Ok(()));
        assert_eq!(owner.may_decide("omar", None, Pool::Fallback), Err(Undecidable::OwnAccess(Some(Pool::Fallback))));
        // Even an own item that (wrongly) stayed with the reviewers is refused.
        assert_eq!(owner.may_decide("omar", None, Pool::Reviewers), Err(Undecidable::OwnAccess(Some(Pool::Reviewers))));
        // Another owner's own access is the fallback's, not a co-owner's.
        assert_eq!(owner.may_decide("olga", None, Pool::Fallback), Err(Undecidable::Elsewhere(Some(Pool::Fallback))));
        let fallback = decider("dana", false, true, false);
        assert_eq!(fallback.may_decide("omar", None, Pool::Fallback), Ok(()));
        assert_eq!(
            fallback.may_decide("tom", None, Pool::Reviewers),
            Err(Undecidable::Elsewhere(Some(Pool::Reviewers)))
        );
        assert_eq!(
            fallback.may_decide("dana", None, Pool::Fallback),
            Err(Undecidable::OwnAccess(Some(Pool::Fallback)))
        );
        // Admins decide what went to them, except their own access.
        let admin = decider("ian", false, false, true);
        assert_eq!(admin.may_decide("dana", None, Pool::Admins), Ok(()));
        assert_eq!(admin.may_decide("ian", None, Pool::Admins), Err(Undecidable::OwnAccess(Some(Pool::Admins))));
        assert_eq!(admin.may_decide("tom", None, Pool::Reviewers), Err(Undecidable::Elsewhere(Some(Pool::Reviewers))));
        // Assigned items: the manager's; the self-reviewer's own.
        let manager = decider("priya", false, false, false);
        assert_eq!(manager.may_decide("tom", Some("priya"), Pool::Reviewers), Ok(()));
        assert_eq!(manager.may_decide("tom", Some("grace"), Pool::Reviewers), Err(Undecidable::Elsewhere(None)));
        let me = Decider { self_review: true, ..decider("tom", false, false, false) };
        assert_eq!(me.may_decide("tom", Some("tom"), Pool::Reviewers), Ok(()));
        assert!(decider("tom", false, false, false).may_decide("tom", Some("tom"), Pool::Reviewers).is_err());
        // An item escalated to a manager's manager is theirs too, but never their own access.
        let boss =
            Decider { escalated: ["i1".to_owned(), "i2".to_owned()].into(), ..decider("grace", false, false, false) };
        assert_eq!(boss.may_decide_item("i1", "tom", Some("priya"), Pool::Reviewers), Ok(()));
        assert_eq!(
            boss.may_decide_item("i3", "tom", Some("priya"), Pool::Reviewers),
            Err(Undecidable::Elsewhere(None))
        );
        assert_eq!(
            boss.may_decide_item("i2", "grace", Some("priya"), Pool::Reviewers),
            Err(Undecidable::OwnAccess(None))
        );
        // A delegate decides what the manager they act for decides, but neither one's own
        // access.
        let delegate = Decider { acting: Some("kim".to_owned()), ..decider("priya", false, false, false) };
        assert_eq!(delegate.may_decide("tom", Some("priya"), Pool::Reviewers), Ok(()));
        assert_eq!(delegate.may_decide("kim", Some("priya"), Pool::Reviewers), Err(Undecidable::OwnAccess(None)));
        assert_eq!(
            delegate.may_decide("priya", None, Pool::Fallback),
            Err(Undecidable::TheirOwnAccess(Some(Pool::Fallback)))
        );
        assert!(Undecidable::TheirOwnAccess(None).refusal().contains("neither can you"));
        // What people read.
        assert_eq!(
            Undecidable::OwnAccess(Some(Pool::Fallback)).note(),
            "Your own access — decided by the fallback reviewer"
        );
        assert_eq!(Undecidable::OwnAccess(Some(Pool::Admins)).note(), "Your own access — decided by an administrator");
        assert!(
            Undecidable::OwnAccess(Some(Pool::Fallback)).refusal().starts_with("You cannot decide on your own access")
        );
        assert_eq!(Pool::parse("Admins"), Some(Pool::Admins));
        assert_eq!(owner.pools(), vec![Pool::Reviewers]);
    }

    #[test]
    fn reassigning_keeps_independence() {
        let bob = Assignee { id: "bob".into(), name: "Bob".into(), enabled: true };
        assert_eq!(check_reassign("omar", false, "bob@x", Some(&bob), &["tom"], "  away "), Ok("away"));
        assert_eq!(check_reassign("omar", false, " ", Some(&bob), &["tom"], ""), Err(ReassignError::NoAssignee));
        assert_eq!(
            check_reassign("omar", false, "zed@x", None, &["tom"], ""),
            Err(ReassignError::Unknown("zed@x".into()))
        );
        assert_eq!(check_reassign("bob", false, "bob@x", Some(&bob), &["tom"], ""), Err(ReassignError::ToSelf));
        assert!(check_reassign("bob", true, "bob@x", Some(&bob), &["tom"], "").is_ok(), "an admin may take them");
        assert_eq!(
            check_reassign("omar", false, "bob@x", Some(&bob), &["tom", "bob"], ""),
            Err(ReassignError::OwnAccess("Bob".into()))
        );
        assert_eq!(
            check_reassign("dana", true, "bob@x", Some(&bob), &["bob"], ""),
            Err(ReassignError::OwnAccess("Bob".into()))
        );
        let off = Assignee { enabled: false, ..bob.clone() };
        assert_eq!(
            check_reassign("omar", false, "bob@x", Some(&off), &["tom"], ""),
            Err(ReassignError::Disabled("Bob".into()))
        );
        assert_eq!(
            check_reassign("omar", false, "bob@x", Some(&bob), &["tom"], &"n".repeat(501)),
            Err(ReassignError::NoteTooLong)
        );
        assert!(ReassignError::OwnAccess("Bob".into()).message().contains("Untick Bob"));
        assert!(ReassignError::Unknown("zed@x".into()).message().contains("“zed@x”"));
    }
}
