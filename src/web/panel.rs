//! The reviewer's side: one review (its items, filters, paging and decisions) and the
//! self-review question. Access is guarded by the [`Reviewer`] extractor (in `web::guard`).

use std::collections::HashMap;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;
use openidconnect::url::form_urlencoded;

use super::guard::{Reviewer, review_not_found};
use super::{Chrome, Section, State, flash, flash_error, format};
use crate::domain::apply::ApplyResult;
use crate::domain::decision::{Action, Decider, Decision, MAX_NOTE_LEN, MAX_REASON_LEN, Pool, Undecidable};
use crate::domain::directory::{ObjectId, UserType, name_or_deleted};
use crate::domain::paging::{MAX_SEARCH_LEN, PageAt};
use crate::domain::recommendation::Recommendation;
use crate::domain::review::{ResourceKind, ReviewerKind};
use crate::error::AppError;
use crate::service::panel::{self, Access, Decided, Reassigned, Selection};
use crate::service::rows::{ItemEvent, ItemFilter, ItemScope, ListedItem, VoteRow};

/// The filter tabs of a review page, as the query string names them.
const SHOWS: [(&str, &str); 6] = [
    ("all", "All"),
    ("notreviewed", "Not reviewed"),
    ("approved", "Approved"),
    ("denied", "Denied"),
    ("dontknow", "Don't know"),
    ("recommendeddeny", "Recommended deny"),
];

/// A review page's query: which tab, what search, which page.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReviewQuery {
    show: Option<String>,
    q: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

impl ReviewQuery {
    /// The tab and search a form carried back (first page).
    pub fn of(show: Option<String>, q: Option<String>) -> Self {
        Self { show, q, after: None, before: None }
    }

    /// Validates the query (see [`view_of`]).
    pub fn view(self) -> Result<View, AppError> {
        view_of(self.show.as_deref(), self.q.as_deref(), self.after, self.before)
    }
}

/// A validated review query.
#[derive(Debug, Clone)]
pub struct View {
    show: &'static str,
    filter: ItemFilter,
    at: PageAt,
}

fn view_of(
    show: Option<&str>,
    q: Option<&str>,
    after: Option<String>,
    before: Option<String>,
) -> Result<View, AppError> {
    let show = match show.filter(|s| !s.is_empty()) {
        None => "all",
        Some(s) => SHOWS.iter().map(|(k, _)| *k).find(|k| *k == s).ok_or_else(|| {
            AppError::BadRequest("This filter does not exist. Choose one of the tabs above the list.".into())
        })?,
    };
    let search = q.map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    if search.as_ref().is_some_and(|q| q.chars().count() > MAX_SEARCH_LEN) {
        return Err(AppError::BadRequest(format!("Enter a search of at most {MAX_SEARCH_LEN} characters.")));
    }
    let params = crate::domain::paging::ListParams { q: None, after, before };
    let at = params.validate().map_err(AppError::BadRequest)?.at;
    let decision = match show {
        "notreviewed" => Some(Decision::NotReviewed),
        "approved" => Some(Decision::Approve),
        "denied" => Some(Decision::Deny),
        "dontknow" => Some(Decision::DontKnow),
        _ => None,
    };
    Ok(View {
        show,
        filter: ItemFilter { decision, recommended_deny: show == "recommendeddeny", search, expression: None },
        at,
    })
}

impl View {
    /// The query string that shows this view again (first page).
    pub fn query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if self.show != "all" {
            out.append_pair("show", self.show);
        }
        if let Some(q) = &self.filter.search {
            out.append_pair("q", q);
        }
        out.finish()
    }
}

/// A filter tab with its count.
pub struct Tab {
    key: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
    href: String,
}

/// A decision item as the table shows it.
pub struct ItemView {
    id: String,
    name: String,
    upn: String,
    guest: bool,
    /// Job title and department at the instance's start ("Sales Manager · Sales").
    role: String,
    /// The manager's name at the instance's start.
    manager: String,
    access: String,
    last_sign_in: String,
    recommendation: &'static str,
    recommendation_class: &'static str,
    recommendation_reason: String,
    decision: &'static str,
    decision_class: &'static str,
    decided_by: String,
    decided_at: String,
    justification: String,
    /// What applying the decision did, in words ("" before apply).
    apply_result: &'static str,
    /// `apply-ok`, `apply-warning` (not applied: shown loudly) or empty.
    apply_class: &'static str,
    /// Why it was not applied, naming the path that really grants the access.
    apply_detail: String,
    /// Why the viewer may not decide it ("Your own access — decided by the fallback
    /// reviewer"), if they may not.
    blocked: Option<String>,
    /// The person's detail page ("" where there is none: an admin's results page).
    href: String,
    /// The access no longer exists in the directory (the instance is a snapshot): the
    /// source owning the resource, "" when unknown.
    gone: Option<String>,
    /// Earlier stages' decisions: ("Stage 1: Denied", by whom or "", reason or "").
    history: Vec<(String, String, String)>,
    /// Escalated to the viewer: nobody had reviewed it near the end.
    escalated: bool,
    /// Each reviewer's decision where a rule weighs them ("Omar Haddad: Approved").
    votes: Vec<String>,
}

impl ItemView {
    fn new(
        row: ListedItem,
        names: &HashMap<String, String>,
        now: NaiveDateTime,
        decider: Option<&Decider>,
        base_path: Option<&str>,
    ) -> Self {
        let decision = row.decision;
        let recommendation = row.recommendation.label();
        let recommendation_class = match row.recommendation {
            Recommendation::Approve => "rec-approve",
            Recommendation::Deny => "rec-deny",
            Recommendation::NoInfoAvailable => "rec-none",
        };
        let assignee = row.reviewer_id.as_ref().and_then(|id| names.get(id)).map(String::as_str);
        let blocked = decider
            .and_then(|d| {
                d.may_decide_item(&row.id, &row.principal_id, row.reviewer_id.as_deref(), row.reviewer_pool).err()
            })
            .map(|why| why.note_naming(assignee));
        let role = [row.principal_job_title.as_str(), row.principal_department.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        Self {
            guest: row.principal_type == UserType::Guest,
            role,
            manager: row.principal_manager,
            access: row.access_path,
            last_sign_in: format::last_seen(row.last_sign_in, now),
            recommendation,
            recommendation_class,
            recommendation_reason: row.recommendation_reason,
            decision: decision.label(),
            decision_class: match decision {
                Decision::NotReviewed => "decision-none",
                Decision::Approve => "decision-approve",
                Decision::Deny => "decision-deny",
                Decision::DontKnow => "decision-unsure",
            },
            decided_by: decided_by(&row.reviewed_by, &row.reviewed_for, names),
            decided_at: row.reviewed_at.map(format::datetime).unwrap_or_default(),
            justification: row.justification,
            apply_result: match row.apply_result {
                ApplyResult::New | ApplyResult::AppliedWithUnknownFailure => "",
                result => result.label(),
            },
            apply_class: match row.apply_result {
                result if result.is_remediated() => "apply-ok",
                ApplyResult::ApplyNotSupported | ApplyResult::NotApplied => "apply-warning",
                _ => "",
            },
            apply_detail: row.apply_detail,
            blocked,
            href: base_path.map(|base| format!("{base}/items/{}", row.id)).unwrap_or_default(),
            gone: None,
            history: Vec::new(),
            escalated: decider.is_some_and(|d| d.escalated.contains(&row.id)),
            votes: Vec::new(),
            id: row.id,
            name: row.principal_name,
            upn: row.principal_upn,
        }
    }
}

/// Who decided, as a row says it: "Ana Ruiz", or "Kim Lee on behalf of Ana Ruiz" for a
/// delegate's decision ("" when nobody did).
fn decided_by(by: &Option<String>, on_behalf: &Option<String>, names: &HashMap<String, String>) -> String {
    let name = |id: &Option<String>| id.as_ref().and_then(|id| names.get(id).cloned());
    match (name(by), name(on_behalf)) {
        (Some(by), Some(of)) => format!("{by} on behalf of {of}"),
        (by, _) => by.unwrap_or_default(),
    }
}

impl ItemView {
    /// The row as a stage without recommendations shows it.
    fn without_recommendation(self) -> Self {
        Self {
            recommendation: "Not shown in this stage",
            recommendation_class: "rec-none",
            recommendation_reason: String::new(),
            ..self
        }
    }
}

/// Why the person sees the people they see, where it is not plain: a fallback reviewer or
/// an admin deciding what nobody else may. Empty for owners, selected reviewers, managers
/// and self-reviewers.
pub fn why_you(reviewer_kind: ReviewerKind, resource_name: &str, scope: &ItemScope) -> Vec<String> {
    let ItemScope::Reviewer { decider, whole, .. } = scope else { return Vec::new() };
    let mut out = Vec::new();
    if decider.fallback {
        out.push(match (reviewer_kind, whole) {
            (ReviewerKind::Managers, _) => {
                "You review the people without a manager: you are this review's fallback reviewer.".into()
            }
            (ReviewerKind::Owners, Some(Pool::Fallback)) => format!(
                "You review everyone here because {resource_name} has no owner: you are this review's fallback reviewer."
            ),
            (_, Some(Pool::Fallback)) => {
                "You review everyone here because this review has no other reviewer: you are its fallback reviewer.".into()
            }
            _ => "You review the access of this review's own reviewers: nobody decides their own access, and you are \
                  the fallback reviewer."
                .into(),
        });
    }
    if decider.admin {
        out.push(
            "As an administrator, you review access that nobody else may decide: these people review it themselves, \
             and there is no other fallback reviewer."
                .into(),
        );
    }
    out
}

/// What the review is about, in words.
/// "You review on behalf of Ana Ruiz, as their delegate." on a delegate's pages.
fn on_behalf_line(access: &Access) -> Option<String> {
    access.on_behalf_of.as_ref().map(|(_, name)| {
        // Isolated: a right-to-left name, or an override planted in it, cannot reorder the
        // sentence.
        let name = crate::domain::notify::isolate(name);
        format!(
            "You review on behalf of {name}, as their delegate: your decisions are recorded as yours, on their \
             behalf."
        )
    })
}

fn resource_label(access: &Access) -> String {
    let i = &access.instance;
    match (i.resource_type, &i.resource_scope) {
        (ResourceKind::Group, _) => format!("Members of the group {}", i.resource_name),
        (ResourceKind::Application, _) => format!("Users assigned to the application {}", i.resource_name),
        (_, Some(scope)) => format!("Assignments of the role {} at {scope}", i.resource_name),
        _ => format!("Assignments of the directory role {}", i.resource_name),
    }
}

/// The review page.
#[derive(Template, WebTemplate)]
#[template(path = "panel/review.html")]
pub struct ReviewPage {
    chrome: Chrome,
    name: String,
    description: String,
    resource: String,
    due: String,
    /// The stage the review is in, when it has several.
    stage: Option<StageView>,
    /// How several reviewers' decisions count, in words ("" for the last decision wins).
    outcome_rule: String,
    open: bool,
    reviewed: i64,
    total: i64,
    percent: i64,
    others: Vec<String>,
    per_person: bool,
    justification_required: bool,
    /// Why the person reviews these people, when it needs saying (fallbacks, admins).
    why: Vec<String>,
    /// How many recommendations "Accept recommendations" accepts in the current list.
    accept_count: i64,
    tabs: Vec<Tab>,
    show: &'static str,
    q: String,
    items: Vec<ItemView>,
    matching: i64,
    pager_prev: Option<String>,
    pager_next: Option<String>,
    max_reason: usize,
    /// The page's own path (links and forms).
    base_path: String,
    /// For an admin's results page: the series' name and path.
    series: Option<(String, String)>,
    /// The instance has ended (decisions are final).
    ended: bool,
    /// The results chart (admins' results page only).
    chart: Vec<crate::domain::chart::Segment>,
    /// What admins can do with the occurrence (results page only).
    pub(crate) results: Option<ResultsPanel>,
    /// Rows can be ticked and reassigned (a reviewer's open page; an admin's results page
    /// while the review runs).
    pub(crate) can_reassign: bool,
    /// Where the reassign button posts.
    pub(crate) reassign_action: String,
    /// The people the viewer reassigned, newest first.
    handed_on: Vec<HandedOnView>,
    max_note: usize,
}

/// The stage a multi-stage review is in, as its pages say it.
pub struct StageView {
    /// "Stage 2 of 3".
    pub label: String,
    /// Who reviews it ("Selected users").
    pub who: &'static str,
    /// It is not the last stage (an admin can end it and start the next).
    pub more: bool,
    /// Its number.
    pub number: i32,
}

impl StageView {
    /// The current stage of `access`, if its instance has several.
    pub fn of(access: &panel::Access) -> Option<Self> {
        let stage = access.stage.as_ref()?;
        Some(Self {
            label: format!("Stage {} of {}", stage.stage, access.instance.stage_count),
            who: stage.reviewer_kind.label(),
            more: stage.stage < access.instance.stage_count,
            number: stage.stage,
        })
    }
}

/// Earlier stages' decisions on one item, as its row lists them: ("Stage 1: Denied", by
/// whom, reason).
fn stage_lines(
    kept: &[crate::service::rows::StageDecisionRow],
    names: &HashMap<String, String>,
) -> Vec<(String, String, String)> {
    kept.iter()
        .map(|k| {
            let by = decided_by(&k.reviewed_by, &k.reviewed_for, names);
            (format!("Stage {}: {}", k.stage, k.decision.label()), by, k.justification.clone())
        })
        .collect()
}

/// Each reviewer's decision on one item, as its row lists them: "Omar Haddad: Denied",
/// "Stage 2 · …" with several stages, "(by Kim Lee)" when a delegate decided for them.
fn vote_lines(votes: &[VoteRow], names: &HashMap<String, String>, multi_stage: bool) -> Vec<String> {
    let name = |id: &str| name_or_deleted(names, id);
    votes
        .iter()
        .map(|v| {
            let stage = if multi_stage { format!("Stage {} · ", v.stage) } else { String::new() };
            let by = if v.decided_by == v.seat { String::new() } else { format!(" (by {})", name(&v.decided_by)) };
            format!("{stage}{}: {}{by}", name(&v.seat), v.decision.label())
        })
        .collect()
}

/// A person the viewer reassigned: to whom, when, why.
pub struct HandedOnView {
    name: String,
    to: String,
    at: String,
    note: String,
}

/// The results page's status and actions.
pub struct ResultsPanel {
    /// The occurrence's status in words.
    pub status: &'static str,
    /// Running: it can be stopped and its decisions reset.
    pub running: bool,
    /// Ended and denials not yet applied (or applying was interrupted).
    pub can_apply: bool,
    /// Denials have been applied.
    pub applied: bool,
    /// Items whose denial could not be applied here.
    pub not_applied: i64,
    /// The reviewers mailed about it (first 50 by name), with when.
    pub contacted: Vec<Contacted>,
    /// How far each reviewer got (none for a self-review).
    pub reviewers: Option<crate::web::admin::reviews::ReviewerTable>,
    /// The removals a push source must make, with the first ones.
    pub remediation: crate::web::admin::reviews::RemediationPanel,
}

/// A reviewer the occurrence's mails went to.
pub struct Contacted {
    /// Name and address.
    pub name: String,
    /// Mail address ("" when the directory has none).
    pub address: String,
    /// When the last mail was written.
    pub notified: String,
    /// When the mail server took it, or why not yet.
    pub delivered: String,
}

/// The self-review page: "Do you still need access?"
#[derive(Template, WebTemplate)]
#[template(path = "panel/self_review.html")]
pub struct SelfReviewPage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    resource: String,
    resource_name: String,
    due: String,
    open: bool,
    justification_required: bool,
    item: Option<ItemView>,
    answered: Option<&'static str>,
    max_reason: usize,
}

/// Either page.
pub enum AnyReviewPage {
    /// A reviewer's table.
    Table(Box<ReviewPage>),
    /// A person's own question.
    Own(Box<SelfReviewPage>),
}

impl actix_web::Responder for AnyReviewPage {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        match self {
            Self::Table(page) => page.respond_to(req).map_into_boxed_body(),
            Self::Own(page) => page.respond_to(req).map_into_boxed_body(),
        }
    }
}

/// `GET /reviews/{id}`
pub async fn review(
    reviewer: Reviewer,
    state: State,
    chrome: Chrome,
    query: web::Query<ReviewQuery>,
) -> Result<AnyReviewPage, AppError> {
    let view = query.into_inner().view()?;
    let now = state.clock.now();
    let access = reviewer.access;
    // A delegate sees the page as the reviewer they act for: the others are the others of
    // that reviewer.
    let me = access.on_behalf_of.as_ref().map_or_else(|| reviewer.identity.user.id.clone(), |(id, _)| id.clone());
    let chrome = chrome.in_section(Section::Home);
    let id = access.instance.id.clone();

    if access.self_review {
        let for_item = access.clone();
        let (row, names) = state.db(move |conn| panel::own_item(conn, &for_item)).await?;
        let answered = row.as_ref().and_then(|r| match r.decision {
            Decision::Approve => Some("Yes"),
            Decision::Deny => Some("No"),
            Decision::NotReviewed | Decision::DontKnow => None,
        });
        let item = row.map(|r| ItemView::new(r, &names, now, access.scope.decider(), None));
        return Ok(AnyReviewPage::Own(Box::new(SelfReviewPage {
            chrome,
            id,
            name: access.definition.display_name.clone(),
            description: access.definition.description_for_reviewers.clone(),
            resource: resource_label(&access),
            resource_name: access.instance.resource_name.clone(),
            due: format::end_of(access.instance.end_at, access.instance.completed_at),
            open: access.is_open(now),
            justification_required: access.instance.justification_required,
            item,
            answered,
            max_reason: MAX_REASON_LEN,
        })));
    }

    let base_path = access.review_path();
    table_page(&state, chrome, access, view, me, base_path, None).await.map(|p| AnyReviewPage::Table(Box::new(p)))
}

/// Renders the table of an instance for `base` (the page's path): the reviewer's page, or
/// with `series` (name, path) the admin's read-only results page of a series' instance.
pub async fn table_page(
    state: &State,
    chrome: Chrome,
    access: Access,
    view: View,
    me: String,
    base_path: String,
    series: Option<(String, String)>,
) -> Result<ReviewPage, AppError> {
    let now = state.clock.now();
    let open = series.is_none() && access.is_open(now);
    let (filter, at) = (view.filter.clone(), view.at.clone());
    let per_person = matches!(access.reviewer_kind(), ReviewerKind::Managers | ReviewerKind::Self_);
    let for_table = access.clone();
    // A stage without recommendations shows none (its items keep them, for the record).
    let recommends = series.is_some() || access.shows_recommendations();
    // Only a reviewer's open page offers "Accept recommendations".
    let panel::Table { page, names, counts, accept_count, others, gone, handed_on, history, votes } =
        state.db(move |conn| panel::table(conn, &for_table, &filter, &at, &me, open && recommends)).await?;
    let others: Vec<String> = others
        .into_iter()
        .map(|(name, fallback)| if fallback { format!("{name} (fallback reviewer)") } else { name })
        .collect();
    let (tally, recommended_deny) = (counts.tally, counts.recommended_deny);
    let count_of = |key: &str| match key {
        "notreviewed" => tally.not_reviewed,
        "approved" => tally.approved,
        "denied" => tally.denied,
        "dontknow" => tally.dont_know,
        "recommendeddeny" => recommended_deny,
        _ => tally.total(),
    };
    let with_query = |query: String| if query.is_empty() { base_path.clone() } else { format!("{base_path}?{query}") };
    let tabs = SHOWS
        .iter()
        .map(|(key, label)| {
            let tab = View { show: key, ..view.clone() };
            Tab { key, label, count: count_of(key), current: *key == view.show, href: with_query(tab.query()) }
        })
        .collect();
    let base = view.query();
    let link = |cursor: &Option<String>, dir: &str| {
        cursor.as_ref().map(|c| {
            let sep = if base.is_empty() { "" } else { "&" };
            format!("{base_path}?{base}{sep}{dir}={c}")
        })
    };
    let (reviewed, total) = (tally.reviewed(), tally.total());
    Ok(ReviewPage {
        chrome,
        name: access.definition.display_name.clone(),
        description: access.definition.description_for_reviewers.clone(),
        resource: resource_label(&access),
        due: format::end_of(access.due(), access.instance.completed_at),
        stage: StageView::of(&access),
        outcome_rule: match access.instance.outcome_rule {
            rule if rule.keeps_votes() => format!("{} ({})", rule.label().to_lowercase(), rule.describe()),
            _ => String::new(),
        },
        open,
        ended: !access.is_open(now),
        reviewed,
        total,
        percent: percent(reviewed, total),
        others,
        per_person,
        justification_required: access.instance.justification_required,
        why: on_behalf_line(&access)
            .into_iter()
            .chain(why_you(access.reviewer_kind(), &access.instance.resource_name, &access.scope))
            .collect(),
        accept_count,
        matching: if view.filter.search.is_some() { -1 } else { count_of(view.show) },
        tabs,
        show: view.show,
        q: view.filter.search.clone().unwrap_or_default(),
        pager_prev: link(&page.prev, "before"),
        pager_next: link(&page.next, "after"),
        items: {
            let (decider, base) = (access.scope.decider(), series.is_none().then_some(base_path.as_str()));
            let multi_stage = access.instance.stage_count > 1;
            page.items
                .into_iter()
                .map(|r| {
                    let gone = gone.get(&r.id).cloned();
                    let history = history.get(&r.id).map(|kept| stage_lines(kept, &names)).unwrap_or_default();
                    let votes = votes.get(&r.id).map(|v| vote_lines(v, &names, multi_stage)).unwrap_or_default();
                    let item = ItemView { gone, history, votes, ..ItemView::new(r, &names, now, decider, base) };
                    if recommends { item } else { item.without_recommendation() }
                })
                .collect()
        },
        max_reason: MAX_REASON_LEN,
        chart: if series.is_some() { crate::domain::chart::decision_bar(&tally) } else { Vec::new() },
        results: None,
        can_reassign: open,
        reassign_action: base_path.clone(),
        handed_on: handed_on
            .into_iter()
            .map(|(r, name)| HandedOnView {
                name,
                to: name_or_deleted(&names, &r.to_user),
                at: format::datetime(r.at),
                note: r.note,
            })
            .collect(),
        max_note: MAX_NOTE_LEN,
        base_path,
        series,
    })
}

/// `POST /reviews/{id}`: a decision on ticked rows, on every row matching the current
/// filter, or (self-review) on the person's own item. "Accept recommendations" with no row
/// ticked is for everyone in the current list, as in Entra. Answers with a redirect back to
/// the same view (or to the person's page it came from) and a message saying what happened
/// or why nothing did.
pub async fn decide(
    reviewer: Reviewer,
    state: State,
    session: Session,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let mut items = Vec::new();
    let (mut action, mut reason, mut apply_to, mut show, mut q) = (None, String::new(), None, None, None);
    let mut from_item = false;
    let (mut to, mut note) = (String::new(), String::new());
    let mut read_in_stage = None;
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "stage" => read_in_stage = value.parse::<i32>().ok(),
            "to" => to = value.into_owned(),
            "note" => note = value.into_owned(),
            "item" => items.push(value.into_owned()),
            "action" => action = Some(value.into_owned()),
            "reason" => reason = value.into_owned(),
            "apply_to" => apply_to = Some(value.into_owned()),
            "show" => show = Some(value.into_owned()),
            "q" => q = Some(value.into_owned()),
            "from" => from_item = value == "item",
            _ => {}
        }
    }
    let view = view_of(show.as_deref(), q.as_deref(), None, None)?;
    let base = reviewer.access.review_path();
    if items.iter().any(|i| ObjectId::try_from(i.clone()).is_err()) {
        return Err(AppError::BadRequest("A selected row is not valid. Reload the page and try again.".into()));
    }
    // Back to the person's page when deciding from it (one person, by a valid id).
    let back = match (view.query(), from_item, items.as_slice()) {
        (_, true, [item]) => format!("{base}/items/{item}"),
        (query, _, _) if query.is_empty() => base,
        (query, _, _) => format!("{base}?{query}"),
    };
    let redirect = HttpResponse::SeeOther().insert_header(("Location", back)).finish();
    let mut reviewer = reviewer;
    if let Some(stage) = read_in_stage {
        // The stage the page was read in: the service refuses a decision or a reassignment
        // made on a page of a stage that has ended since, saying so.
        reviewer.access.instance.stage = stage;
    }
    if action.as_deref() == Some(REASSIGN) {
        let selection = reassign_selection(apply_to.as_deref(), items, &view)?;
        let (now, actor, access) = (state.clock.now(), reviewer.identity.user.clone(), reviewer.access);
        let result = state.db(move |conn| panel::reassign(conn, &access, &selection, (&to, &note), &actor, now)).await;
        flash_reassigned(&session, result)?;
        return Ok(redirect);
    }
    let Some(action) = action.as_deref().and_then(Action::parse) else {
        flash_error(&session, "Choose Approve, Deny, Don't know or Accept recommendations.");
        return Ok(redirect);
    };
    let own = reviewer.access.self_review;
    let selection = match apply_to.as_deref() {
        Some("matching") if !own => Selection::Matching(view.filter.clone()),
        Some("selected" | "matching") | None if action == Action::AcceptRecommendations && items.is_empty() && !own => {
            Selection::Matching(view.filter.clone())
        }
        Some("selected" | "matching") | None => Selection::Items(items),
        Some(_) => {
            return Err(AppError::BadRequest("Choose whether to decide for the selected rows or all matching.".into()));
        }
    };
    let ticked = matches!(selection, Selection::Items(_));
    let now = state.clock.now();
    let actor = reviewer.identity.user.clone();
    let access = reviewer.access;
    let (resource, ends) = (access.instance.resource_name.clone(), format::datetime(access.instance.end_at));
    let result = state.db(move |conn| panel::decide(conn, &access, &selection, action, &reason, &actor, now)).await?;
    match result {
        Ok(done) if own && done.changed > 0 => flash(&session, &self_review_message(action, &resource, &ends)),
        Ok(done) => flash(&session, &decided_message(action, &done, ticked)),
        Err(refused) => flash_error(&session, &refused.0),
    }
    Ok(redirect)
}

/// The value of the reassign button (the decision buttons' values are [`Action`]s).
const REASSIGN: &str = "Reassign";

/// Which items a reassignment takes: the ticked rows, or everyone in the current list.
pub(crate) fn reassign_selection(
    apply_to: Option<&str>,
    items: Vec<String>,
    view: &View,
) -> Result<Selection, AppError> {
    if items.iter().any(|i| ObjectId::try_from(i.clone()).is_err()) {
        return Err(AppError::BadRequest("A selected row is not valid. Reload the page and try again.".into()));
    }
    match apply_to {
        Some("matching") => Ok(Selection::Matching(view.filter.clone())),
        Some("selected") | None => Ok(Selection::Items(items)),
        Some(_) => Err(AppError::BadRequest("Choose whether to reassign the selected rows or all matching.".into())),
    }
}

/// Says what a reassignment did, or why nothing was changed (a conflict with someone
/// else's reassignment included); other errors go on to the error page.
pub(crate) fn flash_reassigned(
    session: &Session,
    result: Result<Result<Reassigned, panel::Refused>, AppError>,
) -> Result<(), AppError> {
    match result {
        Ok(Ok(done)) => {
            let people = format::count(i64::try_from(done.moved).unwrap_or(i64::MAX), "person", "people");
            let mut message = format!("Reassigned {people} to {}.", done.to);
            if done.mailed {
                message.push_str(" They were told by mail.");
            }
            if done.skipped > 0 {
                let left = format::count(i64::try_from(done.skipped).unwrap_or(i64::MAX), "person", "people");
                message.push_str(&format!(
                    " Left out {left}: you do not decide them, or {} reviews them already.",
                    done.to
                ));
            }
            flash(session, &message);
        }
        Ok(Err(refused)) => flash_error(session, &refused.0),
        Err(AppError::Conflict(message)) => flash_error(session, &message),
        Err(e) => return Err(e),
    }
    Ok(())
}

/// What a self-reviewer is told: about their own access, not "1 person".
fn self_review_message(action: Action, resource: &str, ends: &str) -> String {
    match action {
        Action::Deny => format!(
            "You said you no longer need access to {resource}. It will be removed when the review ends ({ends}); \
             you can change your answer until then."
        ),
        _ => format!(
            "You said you still need access to {resource}. You can change your answer until the review ends ({ends})."
        ),
    }
}

fn decided_message(action: Action, done: &Decided, ticked: bool) -> String {
    let count = |n: usize, one: &str, many: &str| format::count(i64::try_from(n).unwrap_or(i64::MAX), one, many);
    let people = count(done.changed, "person", "people");
    let mut out = match (action, done.changed) {
        (Action::AcceptRecommendations, 0) if ticked => {
            "Nothing changed: the selected people already have decisions or no recommendation.".to_owned()
        }
        (Action::AcceptRecommendations, 0) => {
            "Nothing changed: everyone in this list has a decision or no recommendation.".to_owned()
        }
        (_, 0) => "Nothing changed.".to_owned(),
        (Action::Approve, _) => format!("Approved for {people}."),
        (Action::Deny, _) => format!("Denied for {people}."),
        (Action::DontKnow, _) => format!("Marked “don't know” for {people}."),
        (Action::AcceptRecommendations, _) => format!("Recommendations accepted for {people}."),
    };
    if let Some((n, rule)) = done.outcome_differs {
        out.push_str(&format!(
            " By this review's rule (“{}”), {} another outcome for now: the results show each reviewer's decision.",
            rule.label(),
            if n == 1 { "1 person has".to_owned() } else { format!("{n} people have") }
        ));
    }
    // "Everyone in this list" leaves out what the reviewer may not decide, and says so.
    let own = done.skipped.iter().find_map(|u| match u {
        Undecidable::OwnAccess(pool) => Some(("Your", *pool)),
        Undecidable::TheirOwnAccess(pool) => Some(("Their", *pool)),
        Undecidable::Elsewhere(_) => None,
    });
    if let Some((whose, pool)) = own {
        out.push_str(&format!(
            " {whose} own access was left out: it is {}.",
            pool.map_or("decided by another reviewer", Pool::decided_by)
        ));
    }
    let others: Vec<Option<Pool>> = done
        .skipped
        .iter()
        .filter_map(|u| match u {
            Undecidable::Elsewhere(pool) => Some(*pool),
            Undecidable::OwnAccess(_) | Undecidable::TheirOwnAccess(_) => None,
        })
        .collect();
    if let Some(first) = others.first() {
        let who = count(others.len(), "person", "people");
        out.push_str(&match first {
            Some(pool) => {
                format!(" Left out {who} who review this access themselves: their own access is {}.", pool.decided_by())
            }
            None => format!(" Left out {who} decided by another reviewer."),
        });
    }
    out
}

/// For the access panel's list: (instance, its name, progress) rows split into current
/// and past, current ones by due date.
pub fn split_reviews(mut all: Vec<panel::MyReview>) -> (Vec<panel::MyReview>, Vec<panel::MyReview>) {
    all.sort_by(|a, b| a.instance.end_at.cmp(&b.instance.end_at).then_with(|| a.name.cmp(&b.name)));
    let (current, mut past): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.instance.status.is_open());
    past.reverse();
    (current, past)
}

/// Progress of a listed review as "12 of 40 reviewed".
pub fn progress_of(r: &panel::MyReview) -> String {
    format!("{} of {} reviewed", r.reviewed, r.total)
}

/// Share of `total` that is reviewed, in whole percent (an empty review is done).
pub fn percent(reviewed: i64, total: i64) -> i64 {
    if total == 0 { 100 } else { reviewed * 100 / total }
}

/// The person page: everything a reviewer may want before deciding on one person.
#[derive(Template, WebTemplate)]
#[template(path = "panel/item.html")]
pub struct ItemPage {
    chrome: Chrome,
    /// The stage the page is read in, when the review has several (sent back with a
    /// decision, which an ended stage refuses).
    stage: Option<i32>,
    /// Whom a delegate reviews for, in words.
    on_behalf: Option<String>,
    /// The review's name and page.
    review_name: String,
    review_path: String,
    /// What is reviewed, in words.
    resource: String,
    item: ItemView,
    /// A self-review (the form asks Yes / No).
    self_review: bool,
    /// The reviewer may decide it now.
    can_decide: bool,
    justification_required: bool,
    max_reason: usize,
    /// The access paths to the resource, one per way the person has it.
    paths: Vec<String>,
    /// The application role or role assignment type, if any.
    access_detail: String,
    /// Member / Guest, enabled or not, in today's directory.
    account: String,
    /// Last sign-in to the tenant, today.
    last_tenant: String,
    /// Last sign-in to the reviewed application (application reviews).
    last_app: Option<String>,
    /// The latest sign-ins: (when, where).
    sign_ins: Vec<(String, String)>,
    /// Earlier decisions on this access.
    earlier: Vec<EarlierView>,
    /// This item's audit trail.
    history: Vec<HistoryView>,
    /// Its reassignments, oldest first.
    reassignments: Vec<ReassignmentView>,
}

/// One reassignment of the item, in words.
pub struct ReassignmentView {
    at: String,
    from: String,
    to: String,
    by: String,
    note: String,
}

/// A decision on the same access in an earlier occurrence.
pub struct EarlierView {
    occurrence: i64,
    period: String,
    decision: &'static str,
    decision_class: &'static str,
    by: String,
    at: String,
    reason: String,
    applied: String,
}

/// One event of the item's audit trail, in words.
pub struct HistoryView {
    at: String,
    who: String,
    what: String,
    reason: String,
}

fn decision_class(d: Decision) -> &'static str {
    match d {
        Decision::NotReviewed => "decision-none",
        Decision::Approve => "decision-approve",
        Decision::Deny => "decision-deny",
        Decision::DontKnow => "decision-unsure",
    }
}

/// An audit event of an item in words ("Not reviewed → Denied", "Applied: Removed").
fn history_view(e: ItemEvent) -> HistoryView {
    let details: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let label = |v: &serde_json::Value| v.as_str().and_then(Decision::parse).map_or("?", Decision::label);
    let (what, reason) = match e.action.as_str() {
        "RecordDecision" => {
            let decision = &details["decision"];
            let accepted = if details["action"] == Action::AcceptRecommendations.as_str() {
                " (accepted the recommendation)"
            } else {
                ""
            };
            (
                format!("{} → {}{accepted}", label(&decision["old"]), label(&decision["new"])),
                text(&details["justification"]),
            )
        }
        "ReassignDecisionItem" => {
            let reviewer = &details["reviewer"];
            (
                format!("Reassigned from {} to {}", text(&reviewer["old"]), text(&reviewer["new"])),
                text(&details["note"]),
            )
        }
        "ApplyDecision" => {
            let result = details["result"].as_str().unwrap_or("");
            (format!("Applied: {}", ApplyResult::parse(result).map_or(result, |r| r.label())), text(&details["reason"]))
        }
        other => (other.to_owned(), String::new()),
    };
    let who = match details["onBehalfOf"]["name"].as_str() {
        Some(of) => format!("{} on behalf of {of}", e.actor_name),
        None => e.actor_name,
    };
    HistoryView { at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(), who, what, reason }
}

/// The path of a person's page in a review (`/reviews/{id}/items/{item}`, or a delegate's
/// `/reviews/{id}/for/{user}/items/{item}`).
#[derive(serde::Deserialize)]
pub struct ItemPath {
    item: String,
}

/// `GET /reviews/{id}/items/{item}`: one person's access — every path to the resource,
/// their sign-ins, earlier decisions on this access and this item's history — for a
/// reviewer of the instance who sees that item (anyone else: 404, as for the review).
pub async fn item(
    reviewer: Reviewer,
    state: State,
    chrome: Chrome,
    path: web::Path<ItemPath>,
) -> Result<ItemPage, AppError> {
    let item = ObjectId::try_from(path.into_inner().item).map_err(|_| review_not_found())?;
    let now = state.clock.now();
    let access = reviewer.access;
    let for_detail = access.clone();
    let detail = state
        .db(move |conn| panel::item_detail(conn, &for_detail, item.as_str()))
        .await?
        .ok_or_else(review_not_found)?;
    let review_path = access.review_path();
    let row = &detail.item;
    let paths: Vec<String> = row.access_path.split("; ").map(str::to_owned).collect();
    let access_detail = row.access_detail.clone();
    let account = match &detail.user {
        None => "No longer in the directory".to_owned(),
        Some(u) => format!("{}, {}", u.user_type.label(), if u.enabled { "enabled" } else { "disabled" }),
    };
    let last_tenant = format::last_seen(detail.user.as_ref().and_then(|u| u.last_sign_in_at), now);
    let last_app = (access.instance.resource_type == ResourceKind::Application)
        .then(|| format::last_seen(detail.last_app_sign_in, now));
    let sign_ins = detail
        .sign_ins
        .iter()
        .map(|(at, app)| (format::datetime(*at), app.clone().unwrap_or_else(|| "Directory".to_owned())))
        .collect();
    let name_of = |id: &Option<String>| id.as_ref().and_then(|id| detail.names.get(id).cloned());
    let earlier = detail
        .earlier
        .iter()
        .map(|e| {
            let d = e.decision;
            EarlierView {
                occurrence: i64::from(e.occurrence) + 1,
                period: format!("{} to {}", format::date(e.start_at), format::date(e.completed_at.unwrap_or(e.end_at))),
                decision: d.label(),
                decision_class: decision_class(d),
                by: name_of(&e.reviewed_by).unwrap_or_else(|| {
                    if e.reviewed_at.is_some() { "attest (no response)".to_owned() } else { String::new() }
                }),
                at: e.reviewed_at.map(format::datetime).unwrap_or_default(),
                reason: e.justification.clone(),
                applied: e.apply_result.label().to_owned(),
            }
        })
        .collect();
    let history = detail.history.iter().cloned().map(history_view).collect();
    let reassignments = detail
        .reassignments
        .iter()
        .map(|(at, from, to, by, note)| ReassignmentView {
            at: format::datetime(*at),
            from: from.clone(),
            to: to.clone(),
            by: by.clone(),
            note: note.clone(),
        })
        .collect();
    let listed = ListedItem::from(row.clone());
    let votes = vote_lines(&detail.votes, &detail.names, access.instance.stage_count > 1);
    let item =
        ItemView { votes, ..ItemView::new(listed, &detail.names, now, access.scope.decider(), Some(&review_path)) };
    Ok(ItemPage {
        chrome: chrome.in_section(Section::Home),
        stage: access.stage.as_ref().map(|s| s.stage),
        on_behalf: on_behalf_line(&access),
        review_name: access.definition.display_name.clone(),
        resource: resource_label(&access),
        can_decide: access.is_open(now) && detail.undecidable.is_none(),
        self_review: access.self_review,
        justification_required: access.instance.justification_required,
        max_reason: MAX_REASON_LEN,
        review_path,
        item,
        paths,
        access_detail,
        account,
        last_tenant,
        last_app,
        sign_ins,
        earlier,
        history,
        reassignments,
    })
}
