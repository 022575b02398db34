//! Multi-stage reviews (Entra's `stageSettings`): a series of two or three stages, each
//! with its own reviewers, duration and recommendation setting. When a stage ends, the items
//! whose decision is one of the stage's *decisions that move* go on to the next stage, not
//! reviewed again; the others keep their decision as final. A later stage's decision
//! overrides an earlier one. Pure: the form's stage fields in, a checked plan out.

use chrono::{NaiveDateTime, TimeDelta};
use serde::Deserialize;

use super::decision::Decision;
use super::recommendation::Recommendation;
use super::review::{FieldError, ReviewerKind, ScopeKind, lines};
use super::state::stored_state;

/// The most stages a series may have (Entra's limit).
pub const MAX_STAGES: usize = 3;

stored_state! {
    /// A kind of decision that can move an item on to the next stage.
    Move in "review_definition_stages.moves" {
        /// Approved.
        Approve => "Approve",
        /// Denied.
        Deny => "Deny",
        /// Marked "Don't know".
        DontKnow => "DontKnow",
        /// Nobody decided it in the stage.
        NotReviewed => "NotReviewed",
        /// Decided as recommended (approved when recommended for approval, denied when
        /// recommended for denial): a later stage can check what was decided by following
        /// the recommendation.
        Recommendation => "Recommendation",
    }
}

impl Move {
    /// How the form names it ("Denied").
    pub fn label(self) -> &'static str {
        match self {
            Self::Approve => "Approved",
            Self::Deny => "Denied",
            Self::DontKnow => "Don't know",
            Self::NotReviewed => "Not reviewed",
            Self::Recommendation => "Decided as recommended",
        }
    }
}

/// The decisions whose items move on from a stage (empty for the last stage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves(Vec<Move>);

impl Moves {
    /// Every kind of decision: Entra's default.
    pub fn all() -> Self {
        Self(Move::ALL.to_vec())
    }

    /// The set as stored: comma-separated spellings in declaration order ("" for none).
    pub fn to_stored(&self) -> String {
        self.0.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored set; an unknown spelling is `None` (a read error for the caller).
    pub fn stored(text: &str) -> Option<Self> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            out.push(Move::parse(part)?);
        }
        Some(Self::of(out))
    }

    /// The set of `moves`, each once, in declaration order.
    pub fn of(moves: impl IntoIterator<Item = Move>) -> Self {
        let picked: Vec<Move> = moves.into_iter().collect();
        Self(Move::ALL.into_iter().filter(|m| picked.contains(m)).collect())
    }

    /// Whether `m` is in the set.
    pub fn contains(&self, m: Move) -> bool {
        self.0.contains(&m)
    }

    /// Whether nothing moves.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds in the set.
    pub fn iter(&self) -> impl Iterator<Item = Move> + '_ {
        self.0.iter().copied()
    }

    /// The decisions that move whatever the recommendation was.
    pub fn decisions(&self) -> Vec<Decision> {
        self.0
            .iter()
            .filter_map(|m| match m {
                Move::Approve => Some(Decision::Approve),
                Move::Deny => Some(Decision::Deny),
                Move::DontKnow => Some(Decision::DontKnow),
                Move::NotReviewed => Some(Decision::NotReviewed),
                Move::Recommendation => None,
            })
            .collect()
    }

    /// Whether an item decided `decision`, recommended `recommendation`, moves on.
    pub fn moves(&self, decision: Decision, recommendation: Recommendation) -> bool {
        let as_recommended = matches!(
            (decision, recommendation),
            (Decision::Approve, Recommendation::Approve) | (Decision::Deny, Recommendation::Deny)
        );
        self.decisions().contains(&decision) || (as_recommended && self.contains(Move::Recommendation))
    }

    /// How pages say it: "Denied, Not reviewed"; "Nothing" when empty.
    pub fn label(&self) -> String {
        if self.0.is_empty() {
            return "Nothing".to_owned();
        }
        self.0.iter().map(|m| m.label()).collect::<Vec<_>>().join(", ")
    }
}

/// One later stage (2 or 3) as typed in the form.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LaterStageForm {
    /// Who reviews: a [`ReviewerKind`] spelling (not self-review).
    pub reviewer_kind: String,
    /// User principal names, one per line (selected reviewers).
    pub reviewers: String,
    /// User principal names, one per line.
    pub fallback_reviewers: String,
    /// Days.
    pub duration_days: String,
    /// Show recommendations in this stage.
    pub recommendations: Option<String>,
    /// The decisions whose items move on from this stage (stage 2 of three), as ticked.
    pub moves: Vec<String>,
}

/// The stage fields of the create form.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct StageForm {
    /// How many stages: "1" (or empty), "2" or "3".
    pub count: String,
    /// The decisions whose items move on from stage 1, as ticked.
    pub first_moves: Vec<String>,
    /// Stages 2 and 3.
    pub later: [LaterStageForm; 2],
    /// Reviewers of later stages see earlier stages' decisions.
    pub decision_histories: Option<String>,
}

impl StageForm {
    /// The form as a new admin first sees it: one stage; if they add one, everything moves.
    pub fn with_defaults() -> Self {
        let all: Vec<String> = Move::ALL.iter().map(|m| m.as_str().to_owned()).collect();
        let later = LaterStageForm {
            reviewer_kind: ReviewerKind::Selected.as_str().to_owned(),
            duration_days: "7".into(),
            recommendations: Some("on".into()),
            moves: all.clone(),
            ..LaterStageForm::default()
        };
        Self { count: "1".into(), first_moves: all, later: [later.clone(), later], decision_histories: None }
    }

    /// Takes one urlencoded pair if it is a stage field (`stages`, `stage1_moves`,
    /// `stage2_reviewer_kind`, …, `decision_histories`); returns whether it was one. A
    /// multi-valued field (`…_moves`) gathers every value sent.
    pub fn take(&mut self, key: &str, value: &str) -> bool {
        match key {
            "stages" => value.clone_into(&mut self.count),
            "stage1_moves" => self.first_moves.push(value.to_owned()),
            "decision_histories" => self.decision_histories = Some(value.to_owned()),
            _ => {
                let Some((n, field)) = key.strip_prefix("stage").and_then(|rest| rest.split_once('_')) else {
                    return false;
                };
                let Some(stage) = (match n {
                    "2" => self.later.get_mut(0),
                    "3" => self.later.get_mut(1),
                    _ => None,
                }) else {
                    return false;
                };
                match field {
                    "reviewer_kind" => value.clone_into(&mut stage.reviewer_kind),
                    "reviewers" => value.clone_into(&mut stage.reviewers),
                    "fallback_reviewers" => value.clone_into(&mut stage.fallback_reviewers),
                    "duration_days" => value.clone_into(&mut stage.duration_days),
                    "recommendations" => stage.recommendations = Some(value.to_owned()),
                    "moves" => stage.moves.push(value.to_owned()),
                    _ => return false,
                }
            }
        }
        true
    }

    /// Whether `m` is ticked in the moves field `field` (`stage1_moves` or `stage2_moves`).
    pub fn moves_ticked(&self, field: &str, m: &str) -> bool {
        let ticked = match field {
            "stage1_moves" => &self.first_moves,
            "stage2_moves" => &self.later[0].moves,
            _ => return false,
        };
        ticked.iter().any(|v| v == m)
    }
}

/// A later stage, checked; reviewers still named as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDraft {
    /// Who reviews.
    pub reviewer_kind: ReviewerKind,
    /// User principal names (selected reviewers).
    pub reviewers: Vec<String>,
    /// User principal names.
    pub fallback_reviewers: Vec<String>,
    /// Days.
    pub duration_days: u32,
    /// Show recommendations.
    pub recommendations: bool,
    /// What moves on from it (empty for the last stage).
    pub moves: Moves,
}

/// The stages of a multi-stage series, checked. Stage 1's reviewers, fallbacks and
/// recommendation setting are the series' own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staging {
    /// Stage 1's duration in days.
    pub first_duration: u32,
    /// What moves on from stage 1.
    pub first_moves: Moves,
    /// Stages 2 (and 3).
    pub later: Vec<StageDraft>,
    /// Reviewers of later stages see earlier stages' decisions.
    pub decision_histories: bool,
}

impl Staging {
    /// The occurrence's duration: the stages' added up.
    pub fn total_days(&self) -> u32 {
        self.later.iter().fold(self.first_duration, |sum, s| sum.saturating_add(s.duration_days))
    }

    /// How many stages.
    pub fn count(&self) -> usize {
        1 + self.later.len()
    }
}

/// The longest stage.
const MAX_STAGE_DAYS: u32 = 180;

fn ticked(values: &[String]) -> Option<Moves> {
    let mut out = Vec::new();
    for v in values {
        out.push(Move::parse(v)?);
    }
    Some(Moves::of(out))
}

/// Field names of the later stages, by stage number (2 or 3).
fn field(stage: usize, name: &str) -> &'static str {
    match (stage, name) {
        (2, "reviewer_kind") => "stage2_reviewer_kind",
        (2, "reviewers") => "stage2_reviewers",
        (2, "duration_days") => "stage2_duration_days",
        (2, "recommendations") => "stage2_recommendations",
        (2, "moves") => "stage2_moves",
        (3, "reviewer_kind") => "stage3_reviewer_kind",
        (3, "reviewers") => "stage3_reviewers",
        (3, "duration_days") => "stage3_duration_days",
        (3, "recommendations") => "stage3_recommendations",
        _ => "stages",
    }
}

/// What the rest of the form says that the stages depend on.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// What is reviewed (owners exist only for groups and applications).
    pub scope: Option<ScopeKind>,
    /// Stage 1's reviewers.
    pub first_kind: Option<ReviewerKind>,
    /// Stage 1's duration, as typed in the duration field.
    pub first_duration: Option<u32>,
    /// Whether the review computes recommendations (stage 1 shows them).
    pub recommendations: bool,
}

impl StageForm {
    /// Checks the stages: `None` for a one-stage series. Every problem goes to `errors`,
    /// naming its field.
    pub fn validate(&self, context: Context, errors: &mut Vec<FieldError>) -> Option<Staging> {
        let mut err = |field: &'static str, message: String| errors.push(FieldError { field, message });
        let count = match self.count.trim() {
            "" | "1" => return None,
            "2" => 2,
            "3" => 3,
            _ => {
                err("stages", "Choose one, two or three stages".into());
                return None;
            }
        };
        let as_recommended = |m: &Moves| m.contains(Move::Recommendation) && !context.recommendations;
        let first_moves = match ticked(&self.first_moves) {
            Some(m) if as_recommended(&m) => {
                err(
                    "stage1_moves",
                    "“Decided as recommended” needs recommendations: turn them on, or untick it".into(),
                );
                None
            }
            Some(m) if !m.is_empty() => Some(m),
            Some(_) => {
                err(
                    "stage1_moves",
                    "Tick at least one decision that moves on to stage 2: otherwise stage 2 has nothing to review"
                        .into(),
                );
                None
            }
            None => {
                err("stage1_moves", "Tick only the decisions listed".into());
                None
            }
        };
        let mut later = Vec::new();
        let mut valid = true;
        for n in 2..=count {
            let Some(form) = self.later.get(n - 2) else { break };
            let kind = match ReviewerKind::parse(&form.reviewer_kind) {
                Some(ReviewerKind::Self_) => {
                    err(
                        field(n, "reviewer_kind"),
                        format!(
                            "Stage {n} cannot be a self-review: a later stage's reviewers check what an earlier stage decided"
                        ),
                    );
                    None
                }
                Some(ReviewerKind::Owners) if context.scope.is_some_and(|s| !s.has_owners()) => {
                    err(
                        field(n, "reviewer_kind"),
                        format!("Roles have no owners: choose selected users or managers for stage {n}"),
                    );
                    None
                }
                Some(kind) => Some(kind),
                None => {
                    err(field(n, "reviewer_kind"), format!("Choose who reviews stage {n}"));
                    None
                }
            };
            let reviewers = lines(&form.reviewers);
            if kind == Some(ReviewerKind::Selected) && reviewers.is_empty() {
                err(
                    field(n, "reviewers"),
                    format!("Enter the user principal name of at least one reviewer for stage {n}"),
                );
            }
            let duration = match form.duration_days.trim().parse::<u32>() {
                Ok(days @ 1..=MAX_STAGE_DAYS) => Some(days),
                _ => {
                    err(
                        field(n, "duration_days"),
                        format!("Enter a duration of 1 to {MAX_STAGE_DAYS} days for stage {n}"),
                    );
                    None
                }
            };
            let recommendations = form.recommendations.is_some();
            if recommendations && !context.recommendations {
                err(
                    field(n, "recommendations"),
                    format!(
                        "Stage {n} can show recommendations only when the review computes them: turn recommendations on, or off for stage {n}"
                    ),
                );
            }
            let moves = if n < count {
                match ticked(&form.moves) {
                    Some(m) if as_recommended(&m) => {
                        err(
                            field(n, "moves"),
                            "“Decided as recommended” needs recommendations: turn them on, or untick it".into(),
                        );
                        None
                    }
                    Some(m) if !m.is_empty() => Some(m),
                    _ => {
                        err(field(n, "moves"), format!("Tick at least one decision that moves on to stage {}", n + 1));
                        None
                    }
                }
            } else {
                Some(Moves::default())
            };
            match (kind, duration, moves) {
                (Some(reviewer_kind), Some(duration_days), Some(moves)) => later.push(StageDraft {
                    reviewer_kind,
                    fallback_reviewers: lines(&form.fallback_reviewers),
                    reviewers: if reviewer_kind == ReviewerKind::Selected { reviewers } else { Vec::new() },
                    duration_days,
                    recommendations,
                    moves,
                }),
                _ => valid = false,
            }
        }
        let (Some(first_duration), Some(first_moves), true, Some(_)) =
            (context.first_duration, first_moves, valid, context.first_kind)
        else {
            return None;
        };
        Some(Staging { first_duration, first_moves, later, decision_histories: self.decision_histories.is_some() })
    }
}

/// The planned window of each stage of an occurrence that starts at `start`: each stage
/// starts when the one before ends. `None` when a date falls past the calendar.
pub fn windows(start: NaiveDateTime, durations: &[u32]) -> Option<Vec<(NaiveDateTime, NaiveDateTime)>> {
    let mut at = start;
    let mut out = Vec::with_capacity(durations.len());
    for days in durations {
        let end = at.checked_add_signed(TimeDelta::try_days(i64::from(*days))?)?;
        out.push((at, end));
        at = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn context() -> Context {
        Context {
            scope: Some(ScopeKind::Groups),
            first_kind: Some(ReviewerKind::Owners),
            first_duration: Some(7),
            recommendations: true,
        }
    }

    fn two_stages() -> StageForm {
        let mut form = StageForm::with_defaults();
        form.count = "2".into();
        form.later[0].reviewers = "sec@example.com".into();
        form
    }

    #[test]
    fn moves_follow_the_decision_or_the_recommendation() {
        let only = Moves::of([Move::Deny, Move::NotReviewed]);
        assert!(only.moves(Decision::Deny, Recommendation::Approve));
        assert!(only.moves(Decision::NotReviewed, Recommendation::Deny));
        assert!(!only.moves(Decision::Approve, Recommendation::Approve));
        assert!(!only.moves(Decision::DontKnow, Recommendation::NoInfoAvailable));
        let followed = Moves::of([Move::Recommendation]);
        assert!(followed.moves(Decision::Approve, Recommendation::Approve));
        assert!(followed.moves(Decision::Deny, Recommendation::Deny));
        assert!(!followed.moves(Decision::Approve, Recommendation::Deny));
        assert!(!followed.moves(Decision::NotReviewed, Recommendation::Deny));
        assert_eq!(Moves::stored(&only.to_stored()), Some(only.clone()));
        assert_eq!(Moves::stored("Deny,Maybe"), None);
        assert_eq!(only.label(), "Denied, Not reviewed");
        assert_eq!(Moves::default().label(), "Nothing");
    }

    #[test]
    fn one_stage_is_the_default_and_two_add_up() {
        let mut errors = Vec::new();
        assert_eq!(StageForm::with_defaults().validate(context(), &mut errors), None);
        let staging = two_stages().validate(context(), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let staging = staging.expect("two stages");
        assert_eq!(staging.count(), 2);
        assert_eq!(staging.total_days(), 14);
        assert_eq!(staging.first_moves, Moves::all());
        assert_eq!(staging.later[0].reviewers, vec!["sec@example.com".to_owned()]);
        assert!(staging.later[0].moves.is_empty(), "the last stage moves nothing on");
    }

    #[test]
    fn each_problem_names_its_field() {
        let mut form = two_stages();
        form.count = "3".into();
        form.first_moves.clear();
        form.later[0].reviewer_kind = "Self".into();
        form.later[1].reviewers.clear();
        form.later[1].duration_days = "0".into();
        let mut errors = Vec::new();
        assert_eq!(form.validate(Context { recommendations: false, ..context() }, &mut errors), None);
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "stage1_moves",
                "stage2_reviewer_kind",
                "stage2_recommendations",
                "stage2_moves",
                "stage3_reviewers",
                "stage3_duration_days",
                "stage3_recommendations"
            ]
        );
        let mut errors = Vec::new();
        let roles = Context { scope: Some(ScopeKind::DirectoryRoles), ..context() };
        let mut owners = two_stages();
        owners.later[0].reviewer_kind = "Owners".into();
        assert_eq!(owners.validate(roles, &mut errors), None);
        assert!(errors[0].message.contains("Roles have no owners"), "{errors:?}");
    }

    #[test]
    fn form_pairs_fill_the_stage_fields() {
        let mut form = StageForm::default();
        for (k, v) in [
            ("stages", "3"),
            ("stage1_moves", "Deny"),
            ("stage1_moves", "NotReviewed"),
            ("stage2_reviewer_kind", "Managers"),
            ("stage3_duration_days", "4"),
            ("stage2_moves", "NotReviewed"),
            ("decision_histories", "on"),
        ] {
            assert!(form.take(k, v), "{k}");
        }
        assert!(!form.take("stage4_duration_days", "1"));
        assert!(!form.take("stage2_colour", "1"));
        assert_eq!(form.first_moves, ["Deny", "NotReviewed"]);
        assert_eq!(form.later[0].reviewer_kind, "Managers");
        assert_eq!(form.later[1].duration_days, "4");
        assert!(form.moves_ticked("stage2_moves", "NotReviewed"));
        assert!(form.decision_histories.is_some());
    }

    #[test]
    fn windows_follow_each_other_and_overflow_is_none() {
        let start = NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(9, 0, 0)).expect("date");
        let w = windows(start, &[7, 3, 4]).expect("windows");
        assert_eq!(w[0].0, start);
        assert_eq!(w[1].0, w[0].1);
        assert_eq!(w[2].1 - start, TimeDelta::days(14));
        assert_eq!(windows(NaiveDateTime::MAX, &[1]), None);
    }
}
