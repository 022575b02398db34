//! Several reviewers on one item: how their decisions make the item's outcome, per stage
//! (midPoint's outcome strategies). Pure: the service keeps each reviewer's vote and asks
//! [`outcome`] what the item's decision is.

use chrono::NaiveDateTime;

use super::decision::Decision;
use super::review::FieldError;
use super::state::stored_state;

stored_state! {
    /// How the decisions of several reviewers of one item make its outcome.
    #[derive(Default)]
    OutcomeRule in "review_definition_outcomes.rule, review_instances.outcome_rule" {
        /// The last decision wins (Entra's rule, the default).
        #[default]
        LastWins => "LastDecisionWins",
        /// One reviewer's Deny denies, whatever the others decide.
        AnyDeny => "AnyDenyDenies",
        /// Approved only when every reviewer of the item approves.
        AllApprove => "AllMustApprove",
    }
}

impl OutcomeRule {
    /// How the form and the series page name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::LastWins => "The last decision wins",
            Self::AnyDeny => "Any deny denies",
            Self::AllApprove => "All must approve",
        }
    }

    /// What it means, for the form's hint and the series page.
    pub fn describe(self) -> &'static str {
        match self {
            Self::LastWins => "each reviewer's decision replaces the one before",
            Self::AnyDeny => "one reviewer's Deny denies, whatever the others decide",
            Self::AllApprove => {
                "a person keeps access only when every reviewer approves; until then they count as not reviewed"
            }
        }
    }

    /// Whether each reviewer's decision is kept apart (every rule but the last-wins one).
    pub fn keeps_votes(self) -> bool {
        self != Self::LastWins
    }
}

/// One reviewer's decision on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// The reviewer (the person a delegate decided for).
    pub seat: String,
    /// Their decision.
    pub decision: Decision,
    /// When.
    pub at: NaiveDateTime,
}

/// The outcome of an item under `rule`, given every reviewer's vote and how many reviewers
/// the item has (`expected`: all of them must approve under [`OutcomeRule::AllApprove`]),
/// with the vote that decided it (its reviewer, reason and time are the outcome's): the
/// latest vote, the latest Deny where a Deny denies, the approval that completed "all must
/// approve". With no vote, or while "all must approve" waits, the item is not reviewed and
/// no vote decided it.
pub fn outcome(rule: OutcomeRule, votes: &[Vote], expected: usize) -> (Decision, Option<usize>) {
    let latest_of = |d: Option<Decision>| {
        votes
            .iter()
            .enumerate()
            .filter(|(_, v)| d.is_none_or(|d| v.decision == d))
            .max_by_key(|(_, v)| v.at)
            .map(|(i, _)| i)
    };
    let decided = |i: Option<usize>| (i.and_then(|i| votes.get(i)).map_or(Decision::NotReviewed, |v| v.decision), i);
    let deny = latest_of(Some(Decision::Deny));
    match rule {
        OutcomeRule::LastWins => decided(latest_of(None)),
        OutcomeRule::AnyDeny => decided(deny.or_else(|| latest_of(None))),
        OutcomeRule::AllApprove if deny.is_some() => decided(deny),
        OutcomeRule::AllApprove => {
            let approvals = votes.iter().filter(|v| v.decision == Decision::Approve).count();
            if approvals >= expected.max(1) {
                decided(latest_of(Some(Decision::Approve)))
            } else {
                match latest_of(Some(Decision::DontKnow)) {
                    Some(i) => decided(Some(i)),
                    None => (Decision::NotReviewed, None),
                }
            }
        }
    }
}

/// Reads the rule of stage `stage` from its form field (`outcome_rule`, or
/// `stage2_outcome_rule`, `stage3_outcome_rule`): empty means the default; anything else
/// unknown is an error naming the field.
pub fn from_form(text: &str, field: &'static str, errors: &mut Vec<FieldError>) -> OutcomeRule {
    match text.trim() {
        "" => OutcomeRule::default(),
        t => OutcomeRule::parse(t).unwrap_or_else(|| {
            errors.push(FieldError {
                field,
                message: "Choose how several reviewers' decisions count: the last decision wins, any deny denies, or \
                          all must approve"
                    .into(),
            });
            OutcomeRule::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(seat: &str, decision: Decision, minute: u32) -> Vote {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap().and_hms_opt(9, minute, 0).unwrap();
        Vote { seat: seat.into(), decision, at }
    }

    #[test]
    fn the_three_rules() {
        use Decision::*;
        let of = |rule, votes: &[Vote], expected| outcome(rule, votes, expected).0;
        let split = [vote("a", Deny, 1), vote("b", Approve, 2)];
        assert_eq!(outcome(OutcomeRule::LastWins, &split, 2), (Approve, Some(1)), "the later approval wins");
        assert_eq!(outcome(OutcomeRule::AnyDeny, &split, 2), (Deny, Some(0)), "one deny denies, and is credited");
        assert_eq!(outcome(OutcomeRule::AllApprove, &split, 2), (Deny, Some(0)));
        let one = [vote("a", Approve, 1)];
        assert_eq!(outcome(OutcomeRule::AllApprove, &one, 2), (NotReviewed, None), "waiting for the second");
        assert_eq!(of(OutcomeRule::AnyDeny, &one, 2), Approve);
        let both = [vote("a", Approve, 1), vote("b", Approve, 2)];
        assert_eq!(outcome(OutcomeRule::AllApprove, &both, 2), (Approve, Some(1)));
        let unsure = [vote("a", Approve, 1), vote("b", DontKnow, 2)];
        assert_eq!(outcome(OutcomeRule::AllApprove, &unsure, 2), (DontKnow, Some(1)));
        assert_eq!(outcome(OutcomeRule::AnyDeny, &[], 2), (NotReviewed, None));
        // An item of one reviewer: their approval is everyone's.
        assert_eq!(of(OutcomeRule::AllApprove, &one, 1), Approve);
        assert_eq!(of(OutcomeRule::AllApprove, &one, 0), Approve, "never more than the votes there are");
    }

    #[test]
    fn the_form_field() {
        let mut errors = Vec::new();
        assert_eq!(from_form("", "outcome_rule", &mut errors), OutcomeRule::LastWins);
        assert_eq!(from_form("AllMustApprove", "outcome_rule", &mut errors), OutcomeRule::AllApprove);
        assert!(errors.is_empty());
        from_form("Majority", "stage2_outcome_rule", &mut errors);
        assert_eq!(errors[0].field, "stage2_outcome_rule");
        assert!(OutcomeRule::ALL.iter().all(|r| !r.label().is_empty() && !r.describe().is_empty()));
    }
}
