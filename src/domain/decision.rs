//! Reviewers' decisions: what an action does to the selected items, and the rules it must
//! follow. Pure: the service loads the items, asks [`plan`], and writes what it returns.

use super::recommendation::Recommendation;

/// A decision item's decision, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Nobody decided yet.
    NotReviewed,
    /// Keep the access.
    Approve,
    /// Remove the access.
    Deny,
    /// The reviewer cannot tell.
    DontKnow,
}

impl Decision {
    /// Every decision, in the order the page lists them.
    pub const ALL: [Decision; 4] = [Self::NotReviewed, Self::Approve, Self::Deny, Self::DontKnow];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotReviewed => "NotReviewed",
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::DontKnow => "DontKnow",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
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
    pub recommendation: String,
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
}

/// Why an action cannot be taken; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Nothing was selected.
    NothingSelected,
    /// This review requires a reason to approve.
    ReasonRequired,
    /// The reason is too long.
    ReasonTooLong,
}

impl PlanError {
    /// The message for the reviewer.
    pub fn message(&self) -> String {
        match self {
            Self::NothingSelected => "Select at least one person, then choose a decision.".into(),
            Self::ReasonRequired => "Enter a reason: this review requires one to approve access.".into(),
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
///   is a recommendation; the reason is the reviewer's, or else the recommendation's.
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
            .map(|i| Change { id: i.id.clone(), old: i.decision, new, justification: reason.to_owned() })
            .collect()
    };
    Ok(match action {
        Action::Approve if reason.is_empty() && reason_required_to_approve => return Err(PlanError::ReasonRequired),
        Action::Approve => set(Decision::Approve),
        Action::Deny => set(Decision::Deny),
        Action::DontKnow => set(Decision::DontKnow),
        Action::AcceptRecommendations => items
            .iter()
            .filter(|i| i.decision == Decision::NotReviewed)
            .filter_map(|i| {
                let new = match i.recommendation.as_str() {
                    r if r == Recommendation::Approve.as_str() => Decision::Approve,
                    r if r == Recommendation::Deny.as_str() => Decision::Deny,
                    _ => return None,
                };
                let justification = if reason.is_empty() {
                    format!("Accepted the recommendation: {}", i.recommendation_reason)
                } else {
                    reason.to_owned()
                };
                Some(Change { id: i.id.clone(), old: i.decision, new, justification })
            })
            .collect(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, decision: Decision, rec: &str) -> Current {
        Current { id: id.into(), decision, recommendation: rec.into(), recommendation_reason: format!("reason {id}") }
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
        let changes = plan(Action::AcceptRecommendations, "", true, &items).unwrap();
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
}
