//! Escalation: N days before a review ends (or its current stage does), the people nobody
//! has reviewed yet are also given to someone else — the manager of their reviewer, or the
//! fallback reviewers — who is told by mail; the original reviewer can still decide. Entra
//! has no timed escalation; midPoint escalates by timed actions, Okta and SailPoint by
//! reminders to managers. Pure: the rule of who gets what, and when.

use chrono::{NaiveDateTime, TimeDelta};

use super::review::FieldError;
use super::state::stored_state;

stored_state! {
    /// Whom unreviewed items are escalated to.
    EscalationTarget in "review_definition_escalations.target" {
        /// The manager of the item's reviewer (the fallback reviewers where the item has no
        /// one reviewer, or the reviewer no manager).
        Managers => "Managers",
        /// The stage's fallback reviewers.
        Fallback => "Fallback",
    }
}

impl EscalationTarget {
    /// How pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Managers => "the reviewer's manager",
            Self::Fallback => "the fallback reviewers",
        }
    }
}

/// A series' escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// How many days before the end.
    pub days_before: u32,
    /// To whom.
    pub target: EscalationTarget,
}

impl Escalation {
    /// When items of a review (or stage) ending at `end` are escalated; `None` past the
    /// calendar.
    pub fn at(self, end: NaiveDateTime) -> Option<NaiveDateTime> {
        end.checked_sub_signed(TimeDelta::try_days(i64::from(self.days_before))?)
    }

    /// "3 days before the end, to the reviewer's manager".
    pub fn describe(self) -> String {
        let days = if self.days_before == 1 { "1 day".to_owned() } else { format!("{} days", self.days_before) };
        format!("{days} before the end, to {}", self.target.label())
    }

    /// Checks the form's escalation fields (`on`: the box is ticked) against the length of
    /// each stage in days (one entry for a one-stage review): `None` when off.
    pub fn from_form(
        on: bool,
        days: &str,
        target: &str,
        stage_days: &[u32],
        errors: &mut Vec<FieldError>,
    ) -> Option<Self> {
        if !on {
            return None;
        }
        let target = match EscalationTarget::parse(target) {
            Some(t) => Some(t),
            None => {
                errors.push(FieldError {
                    field: "escalation_target",
                    message: "Choose whom to escalate to: the reviewer's manager or the fallback reviewers".into(),
                });
                None
            }
        };
        let shortest = stage_days.iter().copied().min().unwrap_or(0);
        let days_before = match days.trim().parse::<u32>() {
            Ok(n) if n >= 1 && n < shortest => Some(n),
            Ok(n) if n >= 1 => {
                // Without a valid duration (reported on its field) there is nothing to compare.
                if shortest > 0 {
                    let what = if stage_days.len() > 1 { "its shortest stage lasts" } else { "the review lasts" };
                    errors.push(FieldError {
                        field: "escalation_days",
                        message: format!(
                            "Escalate at most {} days before the end: {what} {shortest} days, and {n} days before would be at its start or earlier",
                            shortest.saturating_sub(1)
                        ),
                    });
                }
                None
            }
            _ => {
                errors.push(FieldError {
                    field: "escalation_days",
                    message: "Enter how many days before the end to escalate, a whole number such as 3".into(),
                });
                None
            }
        };
        Some(Self { days_before: days_before?, target: target? })
    }
}

/// Who an unreviewed item is escalated to: for [`EscalationTarget::Managers`], the manager
/// of its one reviewer (`reviewer_manager`), else the `fallbacks`; never the item's own
/// principal (nobody decides their own access) nor its reviewer (who has it already).
pub fn recipients(
    target: EscalationTarget,
    principal: &str,
    reviewer: Option<&str>,
    reviewer_manager: Option<&str>,
    fallbacks: &[String],
) -> Vec<String> {
    let chosen: Vec<&str> = match (target, reviewer.and(reviewer_manager)) {
        (EscalationTarget::Managers, Some(manager)) => vec![manager],
        _ => fallbacks.iter().map(String::as_str).collect(),
    };
    let mut out: Vec<String> =
        chosen.into_iter().filter(|p| *p != principal && Some(*p) != reviewer).map(str::to_owned).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_form_is_checked_against_the_shortest_stage() {
        let mut errors = Vec::new();
        assert_eq!(Escalation::from_form(false, "x", "y", &[7], &mut errors), None);
        assert!(errors.is_empty());
        let ok = Escalation::from_form(true, "3", "Managers", &[7], &mut errors);
        assert_eq!(ok, Some(Escalation { days_before: 3, target: EscalationTarget::Managers }));
        assert_eq!(Escalation::from_form(true, "7", "Fallback", &[7], &mut errors), None);
        assert_eq!(errors[0].field, "escalation_days");
        assert!(errors[0].message.contains("at most 6 days"), "{:?}", errors[0]);
        errors.clear();
        assert_eq!(Escalation::from_form(true, "4", "Fallback", &[7, 4], &mut errors), None);
        assert!(errors[0].message.contains("shortest stage lasts 4 days"), "{:?}", errors[0]);
        errors.clear();
        assert_eq!(Escalation::from_form(true, "0", "Boss", &[7], &mut errors), None);
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["escalation_target", "escalation_days"]);
    }

    #[test]
    fn managers_get_their_reports_items_and_nobody_their_own() {
        let fallbacks = vec!["fb".to_owned(), "p".to_owned()];
        let to = |r: Option<&str>, m: Option<&str>| recipients(EscalationTarget::Managers, "p", r, m, &fallbacks);
        assert_eq!(to(Some("r"), Some("boss")), ["boss"]);
        assert_eq!(to(Some("r"), None), ["fb"], "no manager: the fallbacks, not the principal");
        assert_eq!(to(None, Some("boss")), ["fb"], "a pool's item: the fallbacks");
        assert_eq!(to(Some("r"), Some("p")), Vec::<String>::new(), "the manager is the principal");
        let fb = recipients(EscalationTarget::Fallback, "x", Some("fb"), Some("boss"), &fallbacks);
        assert_eq!(fb, ["p"], "the reviewer already has it");
    }

    #[test]
    fn escalation_time_is_checked() {
        let end = NaiveDate::from_ymd_opt(2026, 12, 15).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("date");
        let e = Escalation { days_before: 3, target: EscalationTarget::Fallback };
        assert_eq!(e.at(end), NaiveDate::from_ymd_opt(2026, 12, 12).and_then(|d| d.and_hms_opt(0, 0, 0)));
        assert_eq!(e.at(NaiveDateTime::MIN), None);
        assert_eq!(e.describe(), "3 days before the end, to the fallback reviewers");
    }
}
