//! The plan of an instance's start: which people of a resource's population are reviewed,
//! who reviews each of them, and what is recommended. Pure: the service gathers the facts
//! (the population with its access paths, the reviewers, the sign-ins) and writes the plan.
//!
//! Owners and selected reviewers review the whole instance; managers and self-reviewers
//! their own items; the fallbacks what has nobody else — and, for independence, the access
//! of the reviewers themselves: nobody decides their own access outside a self-review (see
//! [`route`]).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};

use super::decision::{Pool, route};
use super::directory::UserType;
use super::recommendation::{Recommendation, SignInScope, recommend};
use super::review::{ReviewerKind, UserScope};

/// What the rules need to know of one person in the population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The user's id.
    pub id: String,
    /// The name items are sorted by.
    pub display_name: String,
    /// Entra's `userType`.
    pub user_type: UserType,
    /// Whether the account is enabled (a disabled one is recommended for denial).
    pub enabled: bool,
    /// When the account was created (new accounts are not inactive).
    pub created_at: NaiveDateTime,
    /// The last sign-in to the tenant.
    pub last_sign_in_at: Option<NaiveDateTime>,
    /// The user's manager, if the directory names one.
    pub manager_id: Option<String>,
}

/// One person of the population and what the service carries along for them (their
/// access path, the context shown on the row); the plan does not look into `access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<T> {
    /// The facts the rules use.
    pub person: Person,
    /// Carried through to the planned item unchanged.
    pub access: T,
}

/// Which sign-ins recommendations look at.
#[derive(Debug, Clone, Copy)]
pub enum SignIns<'a> {
    /// Sign-ins to the tenant, kept on each person: group and role reviews.
    Directory,
    /// Sign-ins to one application: application reviews.
    Application {
        /// The application's name, as reasons say it.
        name: &'a str,
        /// The last sign-in to it of each user who has one.
        last: &'a HashMap<String, NaiveDateTime>,
    },
}

/// The series' settings the plan follows.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Which users are reviewed.
    pub scope: UserScope,
    /// Who reviews.
    pub reviewer_kind: ReviewerKind,
    /// Whether recommendations are made.
    pub recommendations: bool,
    /// The look-back of recommendations, in days.
    pub lookback_days: u32,
    /// The sign-ins recommendations look at.
    pub sign_ins: SignIns<'a>,
}

/// The people who may review, by id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reviewers<'a> {
    /// The resource's owners (read when the series is reviewed by owners).
    pub owners: &'a [String],
    /// The series' selected reviewers.
    pub selected: &'a [String],
    /// The series' fallback reviewers.
    pub fallbacks: &'a [String],
}

/// One decision item as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<T> {
    /// Whose access it is.
    pub person: Person,
    /// What the service carried along.
    pub access: T,
    /// The one person assigned to decide it (a manager, or the person in a self-review).
    pub reviewer_id: Option<String>,
    /// Who decides it when nobody is assigned.
    pub pool: Pool,
    /// The sign-in the recommendation looked at.
    pub last_sign_in: Option<NaiveDateTime>,
    /// The recommendation.
    pub recommendation: Recommendation,
    /// Its reason, as a sentence.
    pub reason: String,
}

/// What an instance's start writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<T> {
    /// The items, by name then id.
    pub items: Vec<Item<T>>,
    /// The instance's reviewers with whether each is a fallback reviewer: the named ones
    /// (sorted), then the managers (sorted), then the fallbacks who decide something.
    pub reviewers: Vec<(String, bool)>,
    /// Items of the reviewers' own access that went to the fallbacks or the admins.
    pub own_access_routed: usize,
}

impl<T> Plan<T> {
    /// How many items carry this recommendation.
    pub fn recommended(&self, recommendation: Recommendation) -> usize {
        self.items.iter().filter(|i| i.recommendation == recommendation).count()
    }

    /// How many items went to the portal admins.
    pub fn routed_to_admins(&self) -> usize {
        self.items.iter().filter(|i| i.reviewer_id.is_none() && i.pool == Pool::Admins).count()
    }
}

/// Whether `person` is reviewed under `scope`: everyone, guests, or the inactive (not
/// counting accounts created within the inactivity window).
pub fn in_scope(scope: UserScope, person: &Person, now: NaiveDateTime) -> bool {
    match scope {
        UserScope::All => true,
        UserScope::Guests => person.user_type == UserType::Guest,
        UserScope::Inactive(days) => {
            // Checked: a clock near the start of time cannot panic a review's start.
            now.checked_sub_signed(TimeDelta::days(i64::from(days)))
                .is_some_and(|cutoff| person.created_at < cutoff && person.last_sign_in_at.is_none_or(|at| at < cutoff))
        }
    }
}

/// Who decides each item, and who the instance's reviewers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// For each person, in the order given: the one person assigned (a manager, the person
    /// in a self-review), or nobody and the pool that decides it.
    pub routes: Vec<(Option<String>, Pool)>,
    /// The instance's reviewers with whether each is a fallback reviewer: the named ones
    /// (sorted), then the managers (sorted), then the fallbacks who decide something.
    pub reviewers: Vec<(String, bool)>,
    /// Items of the reviewers' own access that went to the fallbacks or the admins.
    pub own_access_routed: usize,
}

/// Routes `people` — (person id, manager id) — to reviewers of `kind`: at an instance's
/// start, and when its items move on to a later stage with other reviewers.
pub fn routing(kind: ReviewerKind, named: &Reviewers<'_>, people: &[(&str, Option<&str>)]) -> Routing {
    let reviewers: HashSet<String> = match kind {
        ReviewerKind::Owners => named.owners.iter().cloned().collect(),
        ReviewerKind::Selected => named.selected.iter().cloned().collect(),
        // Managers and self-reviewers decide their own people only; the rest goes to the
        // fallbacks.
        ReviewerKind::Managers | ReviewerKind::Self_ => HashSet::new(),
    };
    // A fallback who is also a reviewer counts as a reviewer.
    let fallback_pool: Vec<String> = named.fallbacks.iter().filter(|f| !reviewers.contains(*f)).cloned().collect();
    let assigned_to = |(id, manager): &(&str, Option<&str>)| match kind {
        ReviewerKind::Self_ => Some((*id).to_owned()),
        // Nobody is their own manager; a directory that says so gets the fallbacks.
        ReviewerKind::Managers => manager.filter(|m| m != id).map(str::to_owned),
        ReviewerKind::Owners | ReviewerKind::Selected => None,
    };
    let routes: Vec<(Option<String>, Pool)> = people
        .iter()
        .map(|p| match assigned_to(p) {
            Some(reviewer) => (Some(reviewer), Pool::Reviewers),
            None => (None, route(p.0, &reviewers, &fallback_pool)),
        })
        .collect();

    let mut instance_reviewers: Vec<(String, bool)> = reviewers.iter().map(|u| (u.clone(), false)).collect();
    instance_reviewers.sort();
    if kind == ReviewerKind::Managers {
        let mut managers: Vec<String> = routes.iter().filter_map(|(who, _)| who.clone()).collect();
        managers.sort();
        managers.dedup();
        instance_reviewers.extend(managers.into_iter().map(|m| (m, false)));
    }
    // A fallback decides something when an unassigned fallback item is not their own.
    let mut fallback_items =
        people.iter().zip(&routes).filter(|(_, (who, pool))| who.is_none() && *pool == Pool::Fallback);
    let first = fallback_items.next().map(|(p, _)| p.0);
    let more_than_one = fallback_items.next().is_some();
    let decides = |f: &str| more_than_one || first.is_some_and(|only| only != f);
    // One row per person: a manager who is also a deciding fallback is a fallback (their
    // own people come to them by name either way).
    for f in fallback_pool.iter().filter(|f| decides(f)) {
        match instance_reviewers.iter_mut().find(|(u, _)| u == f) {
            Some(row) => row.1 = true,
            None => instance_reviewers.push((f.clone(), true)),
        }
    }
    let own_access_routed = people
        .iter()
        .zip(&routes)
        .filter(|((id, _), (who, pool))| {
            who.is_none()
                && *pool != Pool::Reviewers
                && (reviewers.contains(*id) || fallback_pool.iter().any(|f| f == id))
        })
        .count();
    Routing { routes, reviewers: instance_reviewers, own_access_routed }
}

/// Plans an instance of one resource: keeps the people in scope, sorts them by name,
/// fixes the reviewer (or pool) of each item and its recommendation, and lists the
/// instance's reviewers.
pub fn plan<T>(settings: &Settings<'_>, named: &Reviewers<'_>, people: Vec<Member<T>>, now: NaiveDateTime) -> Plan<T> {
    let mut people: Vec<Member<T>> = people.into_iter().filter(|m| in_scope(settings.scope, &m.person, now)).collect();
    people.sort_by(|a, b| (&a.person.display_name, &a.person.id).cmp(&(&b.person.display_name, &b.person.id)));

    let keys: Vec<(&str, Option<&str>)> =
        people.iter().map(|m| (m.person.id.as_str(), m.person.manager_id.as_deref())).collect();
    let Routing { routes, reviewers: instance_reviewers, own_access_routed } =
        routing(settings.reviewer_kind, named, &keys);

    // Application reviews look at sign-ins to the app, and their reasons say so.
    let scope = match settings.sign_ins {
        SignIns::Directory => SignInScope::Directory,
        SignIns::Application { name, .. } => SignInScope::Application(name),
    };
    let items = people
        .into_iter()
        .zip(routes)
        .map(|(m, (reviewer_id, pool))| {
            let last_sign_in = match settings.sign_ins {
                SignIns::Directory => m.person.last_sign_in_at,
                SignIns::Application { last, .. } => last.get(&m.person.id).copied(),
            };
            let (recommendation, reason) =
                recommend(settings.recommendations, m.person.enabled, last_sign_in, settings.lookback_days, scope, now);
            Item { person: m.person, access: m.access, reviewer_id, pool, last_sign_in, recommendation, reason }
        })
        .collect();
    Plan { items, reviewers: instance_reviewers, own_access_routed }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap()
    }

    fn days_ago(days: i64) -> NaiveDateTime {
        now() - TimeDelta::days(days)
    }

    /// A member created a year ago who signed in yesterday, without a manager.
    fn person(id: &str) -> Person {
        Person {
            id: id.into(),
            display_name: format!("Name {id}"),
            user_type: UserType::Member,
            enabled: true,
            created_at: days_ago(365),
            last_sign_in_at: Some(days_ago(1)),
            manager_id: None,
        }
    }

    fn members(people: Vec<Person>) -> Vec<Member<()>> {
        people.into_iter().map(|person| Member { person, access: () }).collect()
    }

    fn settings(kind: ReviewerKind) -> Settings<'static> {
        Settings {
            scope: UserScope::All,
            reviewer_kind: kind,
            recommendations: true,
            lookback_days: 30,
            sign_ins: SignIns::Directory,
        }
    }

    fn ids(v: &[String]) -> Vec<String> {
        v.to_vec()
    }

    /// (principal, reviewer, pool) of each planned item.
    fn routes(plan: &Plan<()>) -> Vec<(&str, Option<&str>, Pool)> {
        plan.items.iter().map(|i| (i.person.id.as_str(), i.reviewer_id.as_deref(), i.pool)).collect()
    }

    #[test]
    fn scope_keeps_everyone_guests_or_the_inactive() {
        let guest = Person { user_type: UserType::Guest, ..person("guest") };
        let idle = Person { last_sign_in_at: Some(days_ago(100)), ..person("idle") };
        let never = Person { last_sign_in_at: None, ..person("never") };
        let new = Person { created_at: days_ago(10), last_sign_in_at: None, ..person("new") };
        let active = person("active");
        let cases: [(UserScope, &Person, bool); 10] = [
            (UserScope::All, &guest, true),
            (UserScope::All, &active, true),
            (UserScope::Guests, &guest, true),
            (UserScope::Guests, &active, false),
            (UserScope::Guests, &idle, false),
            (UserScope::Inactive(90), &idle, true),
            (UserScope::Inactive(90), &never, true),
            (UserScope::Inactive(90), &active, false),
            // Recently created accounts are not inactive, signed in or not.
            (UserScope::Inactive(90), &new, false),
            (UserScope::Inactive(120), &idle, false),
        ];
        for (scope, p, kept) in cases {
            assert_eq!(in_scope(scope, p, now()), kept, "{scope:?} {}", p.id);
        }
        let all = members(vec![guest, idle, never, new, active]);
        let guests = plan(
            &Settings { scope: UserScope::Guests, ..settings(ReviewerKind::Self_) },
            &Reviewers::default(),
            all.clone(),
            now(),
        );
        assert_eq!(routes(&guests), [("guest", Some("guest"), Pool::Reviewers)]);
        let inactive = plan(
            &Settings { scope: UserScope::Inactive(90), ..settings(ReviewerKind::Self_) },
            &Reviewers::default(),
            all,
            now(),
        );
        assert_eq!(
            inactive.items.iter().map(|i| i.person.id.as_str()).collect::<Vec<_>>(),
            ["idle", "never"],
            "by name"
        );
    }

    #[test]
    fn items_are_sorted_by_name_then_id() {
        let b = Person { display_name: "Bo".into(), ..person("1") };
        let a2 = Person { display_name: "Al".into(), ..person("3") };
        let a1 = Person { display_name: "Al".into(), ..person("2") };
        let p = plan(&settings(ReviewerKind::Self_), &Reviewers::default(), members(vec![b, a2, a1]), now());
        assert_eq!(p.items.iter().map(|i| i.person.id.as_str()).collect::<Vec<_>>(), ["2", "3", "1"]);
    }

    #[test]
    fn owners_review_everyone_but_themselves() {
        let owners = ids(&["owner".into()]);
        let fallbacks = ids(&["fb".into()]);
        let named = Reviewers { owners: &owners, selected: &[], fallbacks: &fallbacks };
        let p = plan(&settings(ReviewerKind::Owners), &named, members(vec![person("a"), person("owner")]), now());
        assert_eq!(routes(&p), [("a", None, Pool::Reviewers), ("owner", None, Pool::Fallback)]);
        assert_eq!(p.reviewers, [("owner".to_owned(), false), ("fb".to_owned(), true)]);
        assert_eq!(p.own_access_routed, 1);

        // No owners: everything goes to the fallbacks.
        let named = Reviewers { owners: &[], selected: &[], fallbacks: &fallbacks };
        let p = plan(&settings(ReviewerKind::Owners), &named, members(vec![person("a")]), now());
        assert_eq!(routes(&p), [("a", None, Pool::Fallback)]);
        assert_eq!(p.reviewers, [("fb".to_owned(), true)]);

        // A reviewer's own access with no other fallback goes to the admins.
        let named = Reviewers { owners: &owners, selected: &[], fallbacks: &owners };
        let p = plan(&settings(ReviewerKind::Owners), &named, members(vec![person("owner")]), now());
        assert_eq!(routes(&p), [("owner", None, Pool::Admins)]);
        assert_eq!(p.routed_to_admins(), 1);
        assert_eq!(p.reviewers, [("owner".to_owned(), false)], "a fallback who is an owner counts as an owner");
    }

    #[test]
    fn selected_reviewers_review_the_whole_instance() {
        let selected = ids(&["s1".into(), "s2".into()]);
        let named = Reviewers { owners: &["ignored".into()], selected: &selected, fallbacks: &[] };
        let p = plan(&settings(ReviewerKind::Selected), &named, members(vec![person("a"), person("s1")]), now());
        // A reviewer's own access leaves the reviewers (none decides it, not even another
        // one); without fallbacks it goes to the admins.
        assert_eq!(routes(&p), [("a", None, Pool::Reviewers), ("s1", None, Pool::Admins)]);
        assert_eq!(p.reviewers, [("s1".to_owned(), false), ("s2".to_owned(), false)]);
        assert_eq!(p.own_access_routed, 1);
    }

    #[test]
    fn managers_review_their_people_and_the_rest_goes_to_the_fallbacks() {
        let fallbacks = ids(&["fb".into()]);
        let named = Reviewers { owners: &[], selected: &[], fallbacks: &fallbacks };
        let cases: [(Option<&str>, Option<&str>, Pool); 3] = [
            (Some("boss"), Some("boss"), Pool::Reviewers),
            (None, None, Pool::Fallback),
            // Nobody is their own manager.
            (Some("self"), None, Pool::Fallback),
        ];
        for (manager, reviewer, pool) in cases {
            let p = Person { manager_id: manager.map(str::to_owned), ..person("self") };
            let planned = plan(&settings(ReviewerKind::Managers), &named, members(vec![p, person("x")]), now());
            assert_eq!(planned.items[0].reviewer_id.as_deref(), reviewer, "{manager:?}");
            assert_eq!(planned.items[0].pool, pool, "{manager:?}");
        }
        let people = vec![
            Person { manager_id: Some("m2".into()), ..person("a") },
            Person { manager_id: Some("m1".into()), ..person("b") },
            Person { manager_id: Some("m2".into()), ..person("c") },
        ];
        let p = plan(&settings(ReviewerKind::Managers), &named, members(people), now());
        assert_eq!(p.reviewers, [("m1".to_owned(), false), ("m2".to_owned(), false)], "no fallback decides anything");

        // A manager who is also a deciding fallback is listed once, as a fallback.
        let fallbacks = ids(&["m1".into()]);
        let named = Reviewers { owners: &[], selected: &[], fallbacks: &fallbacks };
        let people = vec![Person { manager_id: Some("m1".into()), ..person("a") }, person("b")];
        let p = plan(&settings(ReviewerKind::Managers), &named, members(people), now());
        assert_eq!(routes(&p), [("a", Some("m1"), Pool::Reviewers), ("b", None, Pool::Fallback)]);
        assert_eq!(p.reviewers, [("m1".to_owned(), true)]);
    }

    #[test]
    fn a_fallback_whose_only_item_is_their_own_is_not_listed() {
        let fallbacks = ids(&["fb".into(), "other".into()]);
        let named = Reviewers { owners: &[], selected: &[], fallbacks: &fallbacks };
        let p = plan(&settings(ReviewerKind::Owners), &named, members(vec![person("fb")]), now());
        assert_eq!(routes(&p), [("fb", None, Pool::Fallback)]);
        assert_eq!(p.reviewers, [("other".to_owned(), true)]);
        assert_eq!(p.own_access_routed, 1);
    }

    #[test]
    fn self_review_assigns_each_item_to_its_person() {
        let fallbacks = ids(&["fb".into()]);
        let named = Reviewers { owners: &[], selected: &[], fallbacks: &fallbacks };
        let p = plan(&settings(ReviewerKind::Self_), &named, members(vec![person("a"), person("fb")]), now());
        assert_eq!(routes(&p), [("a", Some("a"), Pool::Reviewers), ("fb", Some("fb"), Pool::Reviewers)]);
        assert!(p.reviewers.is_empty());
        assert_eq!(p.own_access_routed, 0);
    }

    #[test]
    fn recommendations_follow_the_sign_ins_of_the_scope() {
        let idle = Person { last_sign_in_at: Some(days_ago(60)), ..person("idle") };
        let disabled = Person { enabled: false, ..person("disabled") };
        let people = || members(vec![idle.clone(), disabled.clone(), person("active")]);
        let p = plan(&settings(ReviewerKind::Self_), &Reviewers::default(), people(), now());
        let got: Vec<_> = p.items.iter().map(|i| (i.person.id.as_str(), i.recommendation)).collect();
        assert_eq!(
            got,
            [("active", Recommendation::Approve), ("disabled", Recommendation::Deny), ("idle", Recommendation::Deny)]
        );
        assert_eq!(p.items[2].reason, "No sign-in for 60 days (look-back 30 days)");
        assert_eq!(p.recommended(Recommendation::Deny), 2);
        assert_eq!(p.recommended(Recommendation::Approve), 1);

        // Application reviews look at sign-ins to the app (none on record for "active").
        let last: HashMap<String, NaiveDateTime> = [("idle".to_owned(), days_ago(2))].into();
        let app = Settings {
            sign_ins: SignIns::Application { name: "Payroll", last: &last },
            ..settings(ReviewerKind::Self_)
        };
        let p = plan(&app, &Reviewers::default(), people(), now());
        let got: Vec<_> = p
            .items
            .iter()
            .map(|i| (i.person.id.as_str(), i.recommendation, i.last_sign_in, i.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("active", Recommendation::NoInfoAvailable, None, "No sign-in to Payroll on record"),
                ("disabled", Recommendation::Deny, None, "The account is disabled"),
                (
                    "idle",
                    Recommendation::Approve,
                    Some(days_ago(2)),
                    "Signed in to Payroll 2 days ago (look-back 30 days)"
                ),
            ]
        );

        let off = Settings { recommendations: false, ..settings(ReviewerKind::Self_) };
        let p = plan(&off, &Reviewers::default(), people(), now());
        assert!(p.items.iter().all(|i| i.recommendation == Recommendation::NoInfoAvailable && i.reason.is_empty()));
        assert_eq!(p.items[2].last_sign_in, Some(days_ago(60)), "the sign-in is kept either way");
    }
}
