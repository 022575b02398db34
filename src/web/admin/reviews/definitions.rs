//! Series of access reviews: the list, creating, a series' page, editing and deleting.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;
use openidconnect::url::form_urlencoded;

use crate::domain::directory::ObjectId;
use crate::domain::paging::ListParams;
use crate::domain::recurrence::{EndKind, Frequency, Schedule, SeriesEnd};
use crate::domain::review::{
    DefinitionStatus, DirectoryKind, FieldError, PICKERS, ResourceKind, ReviewForm, ReviewerKind, ScopeKind,
    UserScopeKind, search_text, years_ahead,
};
use crate::domain::stage::Move;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::onboarding::{self, Onboarded};
use crate::service::reviews::{Found, Owned, find, managed};
use crate::service::rows::{CurrentInstance, DefinitionRow, UserRef};
use crate::web::admin::FormErrors;
use crate::web::format;
use crate::web::guard::ReviewManager;
use crate::web::pager::Pager;
use crate::web::{Chrome, Section, State, flash};

/// A series as the list shows it.
pub struct DefinitionItem {
    id: String,
    name: String,
    what: &'static str,
    reviewers: &'static str,
    frequency: &'static str,
    /// A one-time review (no recurrence to end).
    one_time: bool,
    /// The status as people read it.
    status: String,
    /// Deleted: no edit or delete buttons.
    deleted: bool,
    next_start: String,
    /// The groups, applications or roles it reviews, in short ("Sales Team and 2 more").
    resources: String,
    /// When the occurrence in progress is due; empty when none runs.
    due: String,
    /// "12 of 40 reviewed" over the instances in progress; empty when none runs.
    progress: String,
    /// The results of the occurrence in progress: its one instance's page, or the
    /// series' list of occurrences when it reviews several resources.
    results: String,
}

impl DefinitionItem {
    fn new(d: &DefinitionRow) -> Self {
        Self {
            id: d.id.clone(),
            name: d.display_name.clone(),
            what: d.scope_kind.label(),
            reviewers: d.reviewer_kind.label(),
            frequency: d.frequency.label(),
            one_time: d.frequency == Frequency::OneTime,
            status: d.status.label().to_owned(),
            deleted: d.status == DefinitionStatus::Deleted,
            next_start: d.next_start_at.map_or_else(|| "—".to_owned(), format::date),
            resources: String::new(),
            due: String::new(),
            progress: String::new(),
            results: String::new(),
        }
    }

    /// Adds what the list shows beyond the series itself: its resources, and the due date,
    /// progress and results of its occurrence in progress.
    fn with(mut self, scope: ScopeKind, names: &[&str], current: Option<&CurrentInstance>) -> Self {
        self.resources = match (scope, names) {
            (ScopeKind::GuestGroups, _) => "All Microsoft 365 groups with guests".to_owned(),
            (_, []) => "—".to_owned(),
            (_, [one]) => (*one).to_owned(),
            (_, [first, rest @ ..]) => format!("{first} and {} more", rest.len()),
        };
        if let Some(c) = current {
            self.due = format::date(c.due);
            self.progress = format!("{} of {} reviewed", c.reviewed, c.total);
            self.results = match &c.instance_id {
                Some(instance) => format!("/admin/access-reviews/{}/instances/{instance}", self.id),
                None => format!("/admin/access-reviews/{}#occurrences", self.id),
            };
        }
        self
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/index.html")]
pub struct ReviewsPage {
    chrome: Chrome,
    onboarded: Option<Onboarded>,
    may_onboard: bool,
    /// The viewer manages only reviews of what they own.
    owner_only: bool,
    definitions: Vec<DefinitionItem>,
    pager: Pager,
}

/// `GET /admin/access-reviews`
pub async fn index(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    params: web::Query<ListParams>,
) -> Result<ReviewsPage, AppError> {
    let request = params.into_inner().validate().map_err(AppError::BadRequest)?;
    let now = state.clock.now();
    let user = manager.identity.user.id.clone();
    let scope = manager.scope.clone();
    let req = request.clone();
    let list = state.db(move |conn| crate::service::reviews::list(conn, &scope, &user, &req, now)).await?;
    let crate::service::reviews::DefinitionList { page, current, resource_names: names, onboarded, may_onboard } = list;
    Ok(ReviewsPage {
        chrome: chrome.in_section(Section::Reviews),
        onboarded,
        may_onboard,
        owner_only: manager.scope.owner().is_some(),
        pager: Pager::unsearched(&page),
        definitions: page
            .items
            .iter()
            .map(|d| {
                let resources: Vec<&str> = names
                    .iter()
                    .filter(|(id, _)| *id == d.id)
                    .map(|(_, n)| n.as_deref().unwrap_or("(deleted)"))
                    .collect();
                let now_running = current.iter().find(|c| c.definition_id == d.id);
                DefinitionItem::new(d).with(d.scope_kind, &resources, now_running)
            })
            .collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/new.html")]
pub struct NewReviewPage {
    chrome: Chrome,
    form: ReviewForm,
    errors: FormErrors,
    frequencies: Vec<(&'static str, &'static str)>,
    /// For an owner: the names of the groups and applications they own (and may review).
    owned: Option<Vec<String>>,
    /// What the pickers found, when the person searched.
    results: Vec<PickerResults>,
    /// The range of the date inputs.
    dates: DateRange,
    /// The decisions that can move people on to a next stage: (value, label).
    moves: Vec<(&'static str, &'static str)>,
}

impl NewReviewPage {
    fn new(
        chrome: Chrome,
        form: ReviewForm,
        errors: Vec<FieldError>,
        owned: Option<Vec<String>>,
        today: NaiveDate,
    ) -> Self {
        Self {
            chrome: chrome.in_section(Section::Reviews),
            errors: FormErrors(errors),
            frequencies: Frequency::ALL.iter().map(|f| (f.as_str(), f.label())).collect(),
            dates: DateRange::starting(
                today,
                NaiveDate::parse_from_str(form.start_date.trim(), "%Y-%m-%d").unwrap_or(today),
            ),
            form,
            owned,
            results: Vec::new(),
            moves: Move::ALL.iter().map(|m| (m.as_str(), m.label())).collect(),
        }
    }

    /// Whether the form offers only reviews of owned groups and applications.
    fn owner_only(&self) -> bool {
        self.owned.is_some()
    }

    /// Whether a radio or select holds `value`.
    fn is(&self, current: &str, value: &str) -> bool {
        current == value
    }

    /// What the picker of `field` found, if the person searched it.
    fn results_for(&self, field: &str) -> Option<&PickerResults> {
        self.results.iter().find(|r| r.field == field)
    }

    /// Where the form posts.
    fn action(&self) -> String {
        "/admin/access-reviews/new".to_owned()
    }
}

/// The dates the forms' date inputs offer: from today to ten years ahead (the server
/// checks the same bounds, see `domain::review`; the inputs only help to pick a date in
/// range).
pub struct DateRange {
    today: String,
    /// The latest start.
    latest: String,
    /// The latest end of a series starting by `start`.
    latest_end: String,
}

impl DateRange {
    /// The range of a series that starts on `start`.
    fn starting(today: NaiveDate, start: NaiveDate) -> Self {
        Self {
            today: today.to_string(),
            latest: years_ahead(today).to_string(),
            latest_end: years_ahead(start.max(today)).to_string(),
        }
    }
}

/// One picker's search and what it found.
pub struct PickerResults {
    /// The form field it fills.
    field: &'static str,
    /// What was searched for, as typed.
    query: String,
    /// What it found.
    found: Found,
    /// What to fix instead, when the search could not run.
    error: Option<String>,
}

/// Prefills of the create form, from a group's, app's or role's page.
#[derive(serde::Deserialize)]
pub struct Prefill {
    group: Option<ObjectId>,
    application: Option<ObjectId>,
    role: Option<ObjectId>,
}

async fn require_onboarded(state: &State) -> Result<(), AppError> {
    if state.db(onboarding::status).await?.is_none() {
        return Err(AppError::Conflict(
            "Access reviews are not enabled in this directory. A Global Administrator or User Administrator must onboard first.".into(),
        ));
    }
    Ok(())
}

/// `GET /admin/access-reviews/new`: the form with Entra's defaults; from a group's, an
/// application's or a role's page, with that resource chosen and the review named after it.
pub async fn new_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    prefill: web::Query<Prefill>,
) -> Result<NewReviewPage, AppError> {
    require_onboarded(&state).await?;
    let today = state.clock.now().date();
    let mut form = ReviewForm::with_defaults(today);
    let prefill = prefill.into_inner();
    let owned = owned_names(&state, &manager).await?;
    let found = state
        .db(move |conn| {
            crate::service::reviews::prefill(
                conn,
                prefill.group.as_ref().map(ObjectId::as_str),
                prefill.application.as_ref().map(ObjectId::as_str),
                prefill.role.as_ref().map(ObjectId::as_str),
            )
        })
        .await?;
    if let Some((scope, name)) = found {
        form.scope = scope.as_str().into();
        form.name = match scope {
            ScopeKind::Groups => format!("Review of {name} members"),
            ScopeKind::Applications => format!("Review of {name} users"),
            _ => format!("Review of {name} assignments"),
        };
        match scope {
            ScopeKind::Groups => form.groups = name,
            ScopeKind::Applications => form.applications = name,
            ScopeKind::DirectoryRoles => {
                form.roles = name;
                form.reviewer_kind = ReviewerKind::Selected.as_str().into();
            }
            _ => {
                form.resource_role = name;
                form.reviewer_kind = ReviewerKind::Selected.as_str().into();
            }
        }
    }
    Ok(NewReviewPage::new(chrome, form, Vec::new(), owned, today))
}

/// For an owner, the names of what they own; `None` for admins, who may review anything.
async fn owned_names(state: &State, manager: &ReviewManager) -> Result<Option<Vec<String>>, AppError> {
    let Some(owner) = manager.scope.owner().map(str::to_owned) else { return Ok(None) };
    Ok(Some(state.db(move |conn| Ok(Owned::of(conn, &owner)?.names)).await?))
}

/// Runs the searches the person asked for (the Search button pressed, and any search box
/// with text in it) and empties the search boxes, so that the next submission saves.
async fn run_searches(
    state: &State,
    manager: &ReviewManager,
    form: &mut ReviewForm,
) -> Result<Vec<PickerResults>, AppError> {
    let mut wanted: Vec<(&'static str, String)> =
        form.searches.drain(..).filter(|(_, q)| !q.trim().is_empty()).collect();
    if let Some(field) = PICKERS.iter().map(|(f, _)| *f).find(|f| *f == form.find)
        && !wanted.iter().any(|(f, _)| *f == field)
    {
        wanted.push((field, String::new()));
    }
    form.find.clear();
    let scope = manager.scope.clone();
    state
        .db(move |conn| {
            let mut out = Vec::new();
            for (field, raw) in wanted {
                let Some(kind) = PICKERS.iter().find(|(f, _)| *f == field).map(|(_, k)| *k) else { continue };
                let (found, error) = match search_text(&raw) {
                    Ok(text) if text.is_empty() => {
                        (Found::default(), Some(format!("Type the start of the name of the {} to find", kind.noun())))
                    }
                    Ok(text) => (find(conn, &scope, kind, &text)?, None),
                    Err(message) => (Found::default(), Some(message)),
                };
                out.push(PickerResults { field, query: search_text(&raw).unwrap_or_default(), found, error });
            }
            Ok(out)
        })
        .await
}

/// The review forms as posted: read from the body (up to the size a review with
/// thousands of names needs, see `MAX_FORM_BYTES`), with every value kept.
fn posted_form(body: &web::Bytes) -> ReviewForm {
    ReviewForm::from_pairs(form_urlencoded::parse(body))
}

/// `POST /admin/access-reviews/new`: a search of the directory (a picker's Search
/// button, or Enter in its box) shows the form again with what it found and everything
/// typed kept; otherwise the series is saved when the whole form is valid, or the form
/// comes back with every problem and the values kept.
pub async fn create(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    session: Session,
    body: web::Bytes,
) -> Result<actix_web::Either<HttpResponse, (NewReviewPage, actix_web::http::StatusCode)>, AppError> {
    require_onboarded(&state).await?;
    let mut form = posted_form(&body);
    let now = state.clock.now();
    let owned = owned_names(&state, &manager).await?;
    if form.is_search() {
        let results = run_searches(&state, &manager, &mut form).await?;
        let page = NewReviewPage { results, ..NewReviewPage::new(chrome, form, Vec::new(), owned, now.date()) };
        return Ok(actix_web::Either::Right((page, actix_web::http::StatusCode::OK)));
    }
    let draft = match form.validate(now.date()) {
        Ok(draft) => draft,
        Err(errors) => {
            return Ok(actix_web::Either::Right((
                NewReviewPage::new(chrome, form, errors, owned, now.date()),
                actix_web::http::StatusCode::BAD_REQUEST,
            )));
        }
    };
    let actor = manager.identity.user.clone();
    let name = draft.name.clone();
    let first = draft.schedule.occurrence(0).map(|o| format::date(o.start)).unwrap_or_default();
    let scope = manager.scope.clone();
    let created =
        state.db(move |conn| crate::service::reviews::create(conn, &draft, &scope, Actor::Person(&actor), now)).await?;
    match created {
        Ok(id) => {
            flash(&session, &format!("Review “{name}” created. Its first occurrence starts on {first}."));
            Ok(actix_web::Either::Left(
                HttpResponse::SeeOther().insert_header(("Location", format!("/admin/access-reviews/{id}"))).finish(),
            ))
        }
        Err(errors) => Ok(actix_web::Either::Right((
            NewReviewPage::new(chrome, form, errors, owned, now.date()),
            actix_web::http::StatusCode::BAD_REQUEST,
        ))),
    }
}

/// The search of the review forms' pickers: `kind` (groups, applications,
/// directory-roles, resource-roles or users) and `q`, the start of a name.
#[derive(serde::Deserialize)]
pub struct SearchQuery {
    kind: String,
    #[serde(default)]
    q: String,
}

/// `GET /admin/access-reviews/directory?kind=…&q=…`: what a picker finds, as JSON
/// (`{"choices":[{"value","label","detail"}],"more"}`), for the forms' script. For people
/// who manage reviews only; at most a page of names starting with `q`.
pub async fn search(
    manager: ReviewManager,
    state: State,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let kind = DirectoryKind::parse(&query.kind).ok_or_else(|| {
        AppError::BadRequest("Search groups, applications, directory-roles, resource-roles or users.".into())
    })?;
    let text = search_text(&query.q).map_err(AppError::BadRequest)?;
    let scope = manager.scope.clone();
    let found = state.db(move |conn| find(conn, &scope, kind, &text)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// A named resource of a series.
pub struct ResourceItem {
    kind: ResourceKind,
    id: String,
    name: String,
    excluded: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/show.html")]
pub struct DefinitionPage {
    chrome: Chrome,
    /// How several reviewers' decisions count, per stage, in words.
    outcome_rules: Vec<String>,
    item: DefinitionItem,
    d: DefinitionRow,
    resources: Vec<ResourceItem>,
    reviewers: Vec<(UserRef, bool)>,
    created_by: String,
    created: String,
    user_scope: String,
    end: String,
    default_decision: &'static str,
    instances: Vec<InstanceItem>,
    /// Its stages, when it has several.
    stages: Vec<StageItem>,
    /// Its escalation, in words ("Off").
    escalation: String,
}

/// A stage of a series as its page lists it.
pub struct StageItem {
    /// "Stage 2".
    title: String,
    /// Who reviews, how long, with which recommendations.
    facts: String,
    /// What moves on to the next stage ("" for the last).
    moves: String,
    /// Its named reviewers: (name, UPN, fallback).
    named: Vec<(String, String, bool)>,
}

impl StageItem {
    fn new(s: &crate::service::rows::DefinitionStageRow, named: &[(UserRef, bool)]) -> Self {
        let moves = crate::domain::stage::Moves::stored(&s.moves).unwrap_or_default();
        Self {
            title: format!("Stage {}", s.stage),
            facts: format!(
                "{}, {}{}{}",
                s.reviewer_kind.label(),
                format::count(i64::from(s.duration_days), "day", "days"),
                if s.recommendations_enabled { ", with recommendations" } else { ", without recommendations" },
                if s.decision_histories { ", sees earlier stages' decisions" } else { "" },
            ),
            moves: if moves.is_empty() { String::new() } else { moves.label() },
            named: named.iter().map(|(u, f)| (u.display_name.clone(), u.upn.clone(), *f)).collect(),
        }
    }
}

/// An instance as a series' page lists it.
pub struct InstanceItem {
    id: String,
    occurrence: i32,
    resource: String,
    start: String,
    end: String,
    status: String,
    reviewed: i32,
    total: i32,
    recommended_deny: i32,
}

/// `GET /admin/access-reviews/{id}`
pub async fn show(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
) -> Result<DefinitionPage, AppError> {
    let id = id.into_inner().into_string();
    let detail = state.db(move |conn| crate::service::reviews::detail(conn, &manager.scope, &id, 200)).await?;
    let crate::service::reviews::DefinitionDetail {
        definition: d,
        resources,
        reviewers,
        created_by,
        instances,
        stages,
        escalation,
        outcome_rules,
    } = detail;
    let escalation = escalation.map_or_else(|| "Off".to_owned(), |e| e.describe());
    // Each stage's rule (the series' own when it has one stage), the default included.
    let stage_count = i32::try_from(stages.len()).unwrap_or(1).max(1);
    let outcome_rules = (1..=stage_count)
        .map(|n| {
            let rule = outcome_rules.iter().find(|(s, _)| *s == n).map_or_else(Default::default, |(_, r)| *r);
            let label = format!("{}: {}", rule.label(), rule.describe());
            if stage_count > 1 { format!("Stage {n}: {label}") } else { label }
        })
        .collect();
    let stages = stages.into_iter().map(|(s, named)| StageItem::new(&s, &named)).collect();
    let resources = resources
        .into_iter()
        .map(|r| ResourceItem {
            kind: r.kind,
            id: r.id,
            name: r.name.unwrap_or_else(|| "(deleted)".to_owned()),
            excluded: r.excluded,
        })
        .collect();
    let user_scope = match (d.user_scope, d.inactive_days) {
        (UserScopeKind::Guests, _) => "Guest users only".to_owned(),
        (UserScopeKind::Inactive, Some(days)) => format!("Inactive users (no sign-in for {days} days)"),
        _ => "All users".to_owned(),
    };
    let end = series_end(&d);
    let default_decision = d.default_decision.label();
    let instances = instances
        .into_iter()
        .map(|i| InstanceItem {
            id: i.id,
            occurrence: i.occurrence + 1,
            resource: i.resource_name,
            start: format::datetime(i.start_at),
            end: format::datetime(i.end_at),
            status: i.status.label().to_owned(),
            reviewed: i.total_items - i.not_reviewed,
            total: i.total_items,
            recommended_deny: i.recommended_deny,
        })
        .collect();
    Ok(DefinitionPage {
        stages,
        escalation,
        outcome_rules,
        instances,
        chrome: chrome.in_section(Section::Reviews),
        item: DefinitionItem::new(&d),
        created: format::datetime(d.created_at),
        d,
        resources,
        reviewers,
        created_by,
        user_scope,
        end,
        default_decision,
    })
}

/// When a series ends, as its page says it: a one-time review ends with its only
/// occurrence, whose end date is known.
fn series_end(d: &DefinitionRow) -> String {
    match (d.frequency, d.end_kind, d.end_date, d.occurrences) {
        (Frequency::OneTime, ..) => {
            let once = Schedule {
                start: d.start_date,
                frequency: Frequency::OneTime,
                duration_days: u32::try_from(d.duration_days).unwrap_or(0),
                end: SeriesEnd::Never,
            };
            let end = once.occurrence(0).map(|o| o.end);
            match end {
                Some(at) => format!("After its one occurrence, on {}", format::date(at)),
                None => "After its one occurrence".to_owned(),
            }
        }
        (_, EndKind::OnDate, Some(date), _) => format!("On {date}: no occurrence starts after it"),
        (_, EndKind::AfterOccurrences, _, Some(1)) => "After 1 occurrence".to_owned(),
        (_, EndKind::AfterOccurrences, _, Some(n)) => format!("After {n} occurrences"),
        _ => "Never: it recurs until it is deleted".to_owned(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/edit.html")]
pub struct EditReviewPage {
    chrome: Chrome,
    id: String,
    item: DefinitionItem,
    /// Who reviews (stored; an edit cannot change it), for the fields it needs.
    reviewer_kind: ReviewerKind,
    form: ReviewForm,
    errors: FormErrors,
    /// What the pickers found, when the person searched.
    results: Vec<PickerResults>,
    /// The range of the end date input.
    dates: DateRange,
}

impl EditReviewPage {
    /// The error of a later stage's field (`n` 2 or 3, `name` e.g. "reviewers").
    fn stage_error(&self, n: &usize, name: &str) -> Option<&str> {
        self.errors.get(&format!("stage{n}_{name}"))
    }

    fn new(chrome: Chrome, d: &DefinitionRow, form: ReviewForm, errors: Vec<FieldError>, today: NaiveDate) -> Self {
        Self {
            chrome: chrome.in_section(Section::Reviews),
            id: d.id.clone(),
            item: DefinitionItem::new(d),
            reviewer_kind: d.reviewer_kind,
            form,
            errors: FormErrors(errors),
            results: Vec::new(),
            dates: DateRange::starting(today, d.start_date),
        }
    }

    /// Whether a radio holds `value`.
    fn is(&self, current: &str, value: &str) -> bool {
        current == value
    }

    /// What the picker of `field` found, if the person searched it.
    fn results_for(&self, field: &str) -> Option<&PickerResults> {
        self.results.iter().find(|r| r.field == field)
    }

    /// Where the form posts.
    fn action(&self) -> String {
        format!("/admin/access-reviews/{}/edit", self.id)
    }
}

/// `GET /admin/access-reviews/{id}/edit`
pub async fn edit_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
) -> Result<EditReviewPage, AppError> {
    let id = id.into_inner().into_string();
    let (d, form) = state.db(move |conn| crate::service::reviews::editable(conn, &manager.scope, &id)).await?;
    Ok(EditReviewPage::new(chrome, &d, form, Vec::new(), state.clock.now().date()))
}

/// `POST /admin/access-reviews/{id}/edit`: a search of the directory shows the form again
/// with what it found; otherwise the changes are saved when valid, or the form comes back
/// with every problem and the values kept.
pub async fn edit(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    session: Session,
    id: web::Path<ObjectId>,
    body: web::Bytes,
) -> Result<actix_web::Either<HttpResponse, (EditReviewPage, actix_web::http::StatusCode)>, AppError> {
    let id = id.into_inner().into_string();
    let mut posted = posted_form(&body);
    let now = state.clock.now();
    if posted.is_search() {
        let (scope, key) = (manager.scope.clone(), id.clone());
        let d = state.db(move |conn| managed(conn, &scope, &key)).await?;
        let results = run_searches(&state, &manager, &mut posted).await?;
        let page = EditReviewPage { results, ..EditReviewPage::new(chrome, &d, posted, Vec::new(), now.date()) };
        return Ok(actix_web::Either::Right((page, actix_web::http::StatusCode::OK)));
    }
    let actor = manager.identity.user.clone();
    let (key, posted_copy) = (id.clone(), posted.clone());
    let (result, d) = state
        .db(move |conn| {
            let result =
                crate::service::reviews::update(conn, &key, &posted_copy, &manager.scope, Actor::Person(&actor), now)?;
            let d = managed(conn, &manager.scope, &key)?;
            Ok((result, d))
        })
        .await?;
    match result {
        Ok(()) => {
            flash(&session, &format!("Changes to “{}” saved. They apply from the next occurrence.", d.display_name));
            Ok(actix_web::Either::Left(
                HttpResponse::SeeOther().insert_header(("Location", format!("/admin/access-reviews/{id}"))).finish(),
            ))
        }
        Err(errors) => Ok(actix_web::Either::Right((
            EditReviewPage::new(chrome, &d, posted, errors, now.date()),
            actix_web::http::StatusCode::BAD_REQUEST,
        ))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/delete.html")]
pub struct DeleteReviewPage {
    chrome: Chrome,
    item: DefinitionItem,
    in_progress: usize,
}

/// `GET /admin/access-reviews/{id}/delete`: says exactly what deleting does.
pub async fn delete_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
) -> Result<DeleteReviewPage, AppError> {
    let id = id.into_inner().into_string();
    let (d, in_progress) =
        state.db(move |conn| crate::service::reviews::with_running(conn, &manager.scope, &id)).await?;
    Ok(DeleteReviewPage { chrome: chrome.in_section(Section::Reviews), item: DefinitionItem::new(&d), in_progress })
}

/// `POST /admin/access-reviews/{id}/delete`
pub async fn delete(
    manager: ReviewManager,
    state: State,
    session: Session,
    id: web::Path<ObjectId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner().into_string();
    let now = state.clock.now();
    let actor = manager.identity.user.clone();
    let name = state
        .db(move |conn| crate::service::reviews::delete(conn, &id, &manager.scope, Actor::Person(&actor), now))
        .await?;
    flash(&session, &format!("“{name}” was deleted. No more occurrences will start; its history stays."));
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/admin/access-reviews")).finish())
}
