//! The reviewer's side: one review (its items, filters, paging and decisions) and the
//! self-review question. Access is guarded by the [`Reviewer`] extractor.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;
use openidconnect::url::form_urlencoded;

use super::{Chrome, Section, State, flash, flash_error, format};
use crate::auth::Identity;
use crate::domain::decision::{Action, Decision, MAX_REASON_LEN};
use crate::domain::directory::ObjectId;
use crate::domain::paging::{MAX_SEARCH_LEN, PAGE_SIZE, Page, PageAt};
use crate::error::AppError;
use crate::service::panel::{self, Access, Selection};
use crate::store::decisions::ItemFilter;
use crate::store::decisions::ListedItem;
use crate::store::{self, Keyset};

/// A signed-in reviewer of the instance named in the path: one of its snapshotted
/// reviewers (fallbacks included), a manager with people in it, or the principal of a
/// self-review. Anyone else gets 404, so an instance's existence is not revealed.
pub struct Reviewer {
    /// Who.
    pub identity: Identity,
    /// What they may do with the instance.
    pub access: Access,
}

fn review_not_found() -> AppError {
    AppError::NotFound(
        "There is no access review here for you. Your reviews are listed under My access reviews.".into(),
    )
}

impl FromRequest for Reviewer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let identity = crate::auth::CurrentUser::from_request(req, payload).into_inner();
        let state = req.app_data::<State>().cloned();
        let id = ObjectId::try_from(req.match_info().get("id").unwrap_or_default().to_owned());
        Box::pin(async move {
            let identity = identity?.0;
            let (Some(state), Ok(id)) = (state, id) else { return Err(review_not_found()) };
            let user = identity.user.id.clone();
            let access = state.db(move |conn| panel::access(conn, id.as_str(), &user)).await?;
            match access {
                Some(access) => Ok(Self { identity, access }),
                None => Err(review_not_found()),
            }
        })
    }
}

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
    Ok(View { show, filter: ItemFilter { decision, recommended_deny: show == "recommendeddeny", search }, at })
}

impl View {
    /// The query string that shows this view again (first page).
    fn query(&self) -> String {
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
}

impl ItemView {
    fn new(row: ListedItem, names: &HashMap<String, String>, now: NaiveDateTime) -> Self {
        let decision = Decision::parse(&row.decision).unwrap_or(Decision::NotReviewed);
        let (recommendation, recommendation_class) = match row.recommendation.as_str() {
            "Approve" => ("Approve", "rec-approve"),
            "Deny" => ("Deny", "rec-deny"),
            _ => ("No information", "rec-none"),
        };
        Self {
            guest: row.principal_type == "Guest",
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
            decided_by: row.reviewed_by.as_ref().and_then(|id| names.get(id).cloned()).unwrap_or_default(),
            decided_at: row.reviewed_at.map(format::datetime).unwrap_or_default(),
            justification: row.justification,
            apply_result: match row.apply_result.as_str() {
                "AppliedSuccessfully" => "Removed",
                "AppliedSuccessfullyButObjectNotFound" => "Already gone",
                "ApplyNotSupported" => "Not applied: remove it where it is granted",
                "NotApplied" => "Not applied",
                _ => "",
            },
            apply_class: match row.apply_result.as_str() {
                "AppliedSuccessfully" | "AppliedSuccessfullyButObjectNotFound" => "apply-ok",
                "ApplyNotSupported" | "NotApplied" => "apply-warning",
                _ => "",
            },
            apply_detail: row.apply_detail,
            id: row.id,
            name: row.principal_name,
            upn: row.principal_upn,
        }
    }
}

/// What the review is about, in words.
fn resource_label(access: &Access) -> String {
    let i = &access.instance;
    match (i.resource_type.as_str(), &i.resource_scope) {
        ("Group", _) => format!("Members of the group {}", i.resource_name),
        ("Application", _) => format!("Users assigned to the application {}", i.resource_name),
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
    open: bool,
    reviewed: i64,
    total: i64,
    percent: i64,
    others: Vec<String>,
    per_person: bool,
    justification_required: bool,
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
    let me = reviewer.identity.user.id.clone();
    let chrome = chrome.in_section(Section::Home);
    let id = access.instance.id.clone();

    if access.self_review {
        let instance = id.clone();
        let scope = access.scope.clone();
        let (rows, names) = state
            .db(move |conn| {
                let rows = store::decisions::page(conn, &instance, &scope, &ItemFilter::default(), &Keyset::First, 1)?;
                let names = reviewer_names(conn, &rows)?;
                Ok((rows, names))
            })
            .await?;
        let answered = rows.first().and_then(|r| match Decision::parse(&r.decision) {
            Some(Decision::Approve) => Some("Yes"),
            Some(Decision::Deny) => Some("No"),
            _ => None,
        });
        let item = rows.into_iter().next().map(|r| ItemView::new(r, &names, now));
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

    table_page(&state, chrome, access, view, me, format!("/reviews/{id}"), None)
        .await
        .map(|p| AnyReviewPage::Table(Box::new(p)))
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
    let id = access.instance.id.clone();
    let open = series.is_none() && access.is_open(now);
    let (instance, scope, filter, at) = (id.clone(), access.scope.clone(), view.filter.clone(), view.at.clone());
    let per_person = matches!(access.definition.reviewer_kind.as_str(), "Managers" | "Self");
    let access_for_counts = access.clone();
    let (page, names, (tally, recommended_deny), others) = state
        .db(move |conn| {
            let keyset = Keyset::resolve(&at, |cursor| store::decisions::name_of(conn, &instance, cursor))?;
            let rows = store::decisions::page(conn, &instance, &scope, &filter, &keyset, PAGE_SIZE)?;
            let page = Page::from_rows(rows, &at, PAGE_SIZE, |r| r.id.clone());
            let names = reviewer_names(conn, &page.items)?;
            let counts = panel::counts(conn, &access_for_counts)?;
            let others = store::instances::other_reviewer_names(conn, &instance, &me)?;
            Ok((page, names, counts, others))
        })
        .await?;
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
        due: format::end_of(access.instance.end_at, access.instance.completed_at),
        open,
        ended: !access.is_open(now),
        reviewed,
        total,
        percent: percent(reviewed, total),
        others,
        per_person,
        justification_required: access.instance.justification_required,
        matching: if view.filter.search.is_some() { -1 } else { count_of(view.show) },
        tabs,
        show: view.show,
        q: view.filter.search.clone().unwrap_or_default(),
        pager_prev: link(&page.prev, "before"),
        pager_next: link(&page.next, "after"),
        items: page.items.into_iter().map(|r| ItemView::new(r, &names, now)).collect(),
        max_reason: MAX_REASON_LEN,
        chart: if series.is_some() { crate::domain::chart::decision_bar(&tally) } else { Vec::new() },
        results: None,
        base_path,
        series,
    })
}

fn reviewer_names(conn: &mut store::Conn, rows: &[ListedItem]) -> Result<HashMap<String, String>, AppError> {
    let mut ids: Vec<String> = rows.iter().filter_map(|r| r.reviewed_by.clone()).collect();
    ids.sort();
    ids.dedup();
    Ok(store::users::display_names(conn, &ids)?)
}

/// `POST /reviews/{id}`: a decision on ticked rows, on every row matching the current
/// filter, or (self-review) on the person's own item. Answers with a redirect back to the
/// same view and a message saying what happened or why nothing did.
pub async fn decide(
    reviewer: Reviewer,
    state: State,
    session: Session,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let mut items = Vec::new();
    let (mut action, mut reason, mut apply_to, mut show, mut q) = (None, String::new(), None, None, None);
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "item" => items.push(value.into_owned()),
            "action" => action = Some(value.into_owned()),
            "reason" => reason = value.into_owned(),
            "apply_to" => apply_to = Some(value.into_owned()),
            "show" => show = Some(value.into_owned()),
            "q" => q = Some(value.into_owned()),
            _ => {}
        }
    }
    let view = view_of(show.as_deref(), q.as_deref(), None, None)?;
    let id = reviewer.access.instance.id.clone();
    let back = match view.query() {
        query if query.is_empty() => format!("/reviews/{id}"),
        query => format!("/reviews/{id}?{query}"),
    };
    let redirect = HttpResponse::SeeOther().insert_header(("Location", back)).finish();
    let Some(action) = action.as_deref().and_then(Action::parse) else {
        flash_error(&session, "Choose Approve, Deny, Don't know or Accept recommendations.");
        return Ok(redirect);
    };
    let selection = match apply_to.as_deref() {
        Some("matching") if !reviewer.access.self_review => Selection::Matching(view.filter.clone()),
        Some("selected" | "matching") | None => {
            if items.iter().any(|i| ObjectId::try_from(i.clone()).is_err()) {
                return Err(AppError::BadRequest("A selected row is not valid. Reload the page and try again.".into()));
            }
            Selection::Items(items)
        }
        Some(_) => {
            return Err(AppError::BadRequest("Choose whether to decide for the selected rows or all matching.".into()));
        }
    };
    let now = state.clock.now();
    let actor = reviewer.identity.user.clone();
    let access = reviewer.access;
    let result = state.db(move |conn| panel::decide(conn, &access, &selection, action, &reason, &actor, now)).await?;
    match result {
        Ok(0) => flash(&session, "Nothing changed: the selected people already have decisions or no recommendation."),
        Ok(n) => flash(&session, &decided_message(action, n)),
        Err(refused) => flash_error(&session, &refused.0),
    }
    Ok(redirect)
}

fn decided_message(action: Action, n: usize) -> String {
    let people = format::count(i64::try_from(n).unwrap_or(i64::MAX), "person", "people");
    match action {
        Action::Approve => format!("Approved for {people}."),
        Action::Deny => format!("Denied for {people}."),
        Action::DontKnow => format!("Marked “don't know” for {people}."),
        Action::AcceptRecommendations => format!("Recommendations accepted for {people}."),
    }
}

/// For the access panel's list: (instance, its name, progress) rows split into current
/// and past, current ones by due date.
pub fn split_reviews(mut all: Vec<panel::MyReview>) -> (Vec<panel::MyReview>, Vec<panel::MyReview>) {
    all.sort_by(|a, b| a.instance.end_at.cmp(&b.instance.end_at).then_with(|| a.name.cmp(&b.name)));
    let (current, mut past): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.instance.status == "InProgress");
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
