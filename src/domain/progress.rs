//! Each reviewer's progress in one occurrence, for the results page ("which of the 11
//! managers has not started"), from two grouped reads of its items — how many are
//! assigned to whom and decided, and who decided how many when — not a count per reviewer.

use chrono::NaiveDateTime;

/// Items of an occurrence sharing an assigned reviewer and a decided state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// The one reviewer the items are assigned to (manager reviews, routed items); `None`:
    /// the occurrence's reviewers share them (or, in a manager review, the fallbacks).
    pub reviewer: Option<String>,
    /// Unassigned items that are the fallbacks' even where the reviewers share the rest (an
    /// item routed to the fallbacks, e.g. a reviewer's own access).
    pub for_fallbacks: bool,
    /// Whether they hold a decision.
    pub decided: bool,
    /// How many items.
    pub items: i64,
}

/// What one person decided in an occurrence (decisions that stand now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    /// Their user id.
    pub id: String,
    /// How many items hold their decision.
    pub decided: i64,
    /// Their latest decision.
    pub last_at: Option<NaiveDateTime>,
}

/// How an occurrence's items are shared among its reviewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Every reviewer may decide every item (owners, selected reviewers).
    Shared,
    /// Each item has its reviewer (managers; the fallbacks take the items without one).
    PerItem,
}

/// One reviewer's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerProgress {
    /// The reviewer's user id.
    pub id: String,
    /// A fallback reviewer (people without a manager, resources without an owner).
    pub fallback: bool,
    /// The people they review (those they share with the other reviewers included).
    pub items: i64,
    /// Decided: of their items (per item), or by them (shared).
    pub decided: i64,
    /// Their latest decision.
    pub last_decision: Option<NaiveDateTime>,
    /// Whether the items are shared with the other reviewers.
    pub shared: bool,
}

impl ReviewerProgress {
    /// Whether they have not decided anything although they have people to review.
    pub fn not_started(&self) -> bool {
        self.items > 0 && self.last_decision.is_none() && (self.shared || self.decided == 0)
    }

    /// Their status in words.
    pub fn status(&self) -> &'static str {
        if self.items == 0 {
            "Nobody to review"
        } else if self.not_started() {
            "Not started"
        } else if !self.shared && self.decided >= self.items {
            "Done"
        } else {
            "In progress"
        }
    }
}

/// Each reviewer's progress, those who have not started first, then the least advanced,
/// then by `name`. `reviewers` are the occurrence's reviewers (id, fallback); a person the
/// items are assigned to who is not among them (routed there later) is added.
pub fn per_reviewer(
    sharing: Sharing,
    reviewers: &[(String, bool)],
    assigned: &[Assigned],
    deciders: &[Decider],
    name: impl Fn(&str) -> String,
) -> Vec<ReviewerProgress> {
    let mut who: Vec<(String, bool)> = reviewers.to_vec();
    for a in assigned {
        if let Some(r) = &a.reviewer
            && !who.iter().any(|(id, _)| id == r)
        {
            who.push((r.clone(), false));
        }
    }
    // Where the reviewers share the people, the fallbacks take what was routed to them — or
    // everything, when there is no other reviewer (a resource without an owner).
    let fallbacks_take_all = !reviewers.iter().any(|(_, fallback)| !fallback);
    let mut out: Vec<ReviewerProgress> = who
        .into_iter()
        .map(|(id, fallback)| {
            let decider = deciders.iter().find(|d| d.id == id);
            let last_decision = decider.and_then(|d| d.last_at);
            let whole = reviewers.iter().any(|(r, _)| *r == id);
            let mine = |a: &&Assigned| match &a.reviewer {
                Some(r) => *r == id,
                None => match sharing {
                    Sharing::PerItem => fallback,
                    Sharing::Shared if fallback => a.for_fallbacks || fallbacks_take_all,
                    Sharing::Shared => whole && !a.for_fallbacks,
                },
            };
            let sum = |decided_only: bool| {
                assigned
                    .iter()
                    .filter(mine)
                    .filter(|a| !decided_only || a.decided)
                    .fold(0_i64, |n, a| n.saturating_add(a.items))
            };
            // Shared people are decided by whoever gets there first: count their own decisions.
            let shared = sharing == Sharing::Shared && if fallback { fallbacks_take_all } else { whole };
            let (items, decided) = (sum(false), if shared { decider.map_or(0, |d| d.decided) } else { sum(true) });
            ReviewerProgress { id, fallback, items, decided, last_decision, shared }
        })
        .collect();
    let share = |p: &ReviewerProgress| if p.items == 0 { 1.0 } else { p.decided as f64 / p.items as f64 };
    out.sort_by(|a, b| {
        b.not_started()
            .cmp(&a.not_started())
            .then(share(a).total_cmp(&share(b)))
            .then_with(|| name(&a.id).cmp(&name(&b.id)))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(h: u32) -> Option<NaiveDateTime> {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(h, 0, 0)
    }

    fn a(to: Option<&str>, decided: bool, items: i64) -> Assigned {
        Assigned { reviewer: to.map(Into::into), for_fallbacks: false, decided, items }
    }

    fn d(id: &str, decided: i64, last: Option<NaiveDateTime>) -> Decider {
        Decider { id: id.into(), decided, last_at: last }
    }

    #[test]
    fn managers_each_have_their_people() {
        let reviewers = vec![("amy".to_owned(), false), ("bob".to_owned(), false), ("fay".to_owned(), true)];
        let assigned = vec![
            a(Some("amy"), false, 3),
            a(Some("amy"), true, 2),
            a(Some("bob"), false, 4),
            a(Some("cy"), true, 1),
            a(None, true, 1),
            a(None, false, 2),
        ];
        let deciders = vec![d("amy", 2, at(10)), d("cy", 1, at(9)), d("fay", 1, at(11))];
        let rows = per_reviewer(Sharing::PerItem, &reviewers, &assigned, &deciders, str::to_owned);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["bob", "fay", "amy", "cy"], "not started first, then the least advanced");
        assert_eq!((rows[0].items, rows[0].decided, rows[0].status()), (4, 0, "Not started"));
        assert_eq!((rows[1].items, rows[1].decided, rows[1].fallback), (3, 1, true), "the people without a manager");
        assert_eq!((rows[2].items, rows[2].decided, rows[2].last_decision), (5, 2, at(10)));
        assert_eq!(rows[2].status(), "In progress");
        assert_eq!((rows[3].items, rows[3].status()), (1, "Done"), "routed to someone not in the snapshot");
    }

    #[test]
    fn owners_share_the_people() {
        let reviewers = vec![("omar".to_owned(), false), ("olga".to_owned(), false)];
        // Default decisions at the end are nobody's: they are in no decider's count.
        let assigned = vec![a(None, true, 5), a(None, false, 5)];
        let rows = per_reviewer(Sharing::Shared, &reviewers, &assigned, &[d("omar", 3, at(12))], str::to_owned);
        assert_eq!(rows[0].id, "olga");
        assert_eq!((rows[0].items, rows[0].decided, rows[0].status()), (10, 0, "Not started"));
        assert_eq!((rows[1].items, rows[1].decided, rows[1].status()), (10, 3, "In progress"));
        assert_eq!(rows[1].last_decision, at(12));
    }

    #[test]
    fn fallbacks_of_shared_reviews_take_what_was_routed_to_them() {
        let reviewers = vec![("omar".to_owned(), false), ("fay".to_owned(), true)];
        // Omar's own access went to the fallback.
        let routed = Assigned { reviewer: None, for_fallbacks: true, decided: false, items: 1 };
        let assigned = vec![a(None, true, 4), a(None, false, 5), routed];
        let rows = per_reviewer(Sharing::Shared, &reviewers, &assigned, &[d("omar", 4, at(8))], str::to_owned);
        assert_eq!(rows[0].id, "fay");
        assert_eq!((rows[0].items, rows[0].decided, rows[0].shared, rows[0].status()), (1, 0, false, "Not started"));
        assert_eq!((rows[1].items, rows[1].decided, rows[1].shared), (9, 4, true));
        // A resource without owners: the fallbacks review everyone.
        let only = vec![("fay".to_owned(), true)];
        let rows = per_reviewer(Sharing::Shared, &only, &[a(None, false, 9)], &[], str::to_owned);
        assert_eq!((rows[0].items, rows[0].status()), (9, "Not started"));
    }

    #[test]
    fn nobody_to_review_is_not_a_laggard() {
        let rows = per_reviewer(Sharing::PerItem, &[("x".to_owned(), true)], &[], &[], str::to_owned);
        assert_eq!((rows[0].items, rows[0].not_started(), rows[0].status()), (0, false, "Nobody to review"));
    }
}
