//! One occurrence of a series: its results page, and stopping, resetting, reminding and
//! applying its denials.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use openidconnect::url::form_urlencoded;

use crate::domain::directory::ObjectId;
use crate::domain::review::{DefaultDecision, InstanceStatus};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::apply::Planned;
use crate::service::panel::Refused;
use crate::service::rows::{DefinitionRow, InstanceRow};
use crate::service::{apply, results};
use crate::web::format;
use crate::web::guard::ReviewManager;
use crate::web::{Chrome, Section, State, flash, flash_error};

/// `GET /admin/access-reviews/{id}/instances/{instance}`: the results of one occurrence —
/// the chart, the decisions with their apply results, and what can be done with it.
pub async fn results(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    path: web::Path<(ObjectId, ObjectId)>,
    query: web::Query<crate::web::panel::ReviewQuery>,
) -> Result<crate::web::panel::ReviewPage, AppError> {
    let (definition, instance) = path.into_inner();
    let (definition, instance) = (definition.into_string(), instance.into_string());
    let view = query.into_inner().view()?;
    let scope = manager.scope.clone();
    let (def_id, inst_id) = (definition.clone(), instance.clone());
    let now = state.clock.now();
    let tasks_shown = super::remediation::TASKS_ON_RESULTS;
    let results::Overview { access, not_applied, contacted, reviewers, remediation } =
        state.db(move |conn| results::overview(conn, &scope, &def_id, &inst_id, 50, tasks_shown, now)).await?;
    let series = (access.definition.display_name.clone(), format!("/admin/access-reviews/{definition}"));
    let status = access.instance.status;
    let may_reassign = manager.identity.is_admin && access.is_open(now);
    let mut page = crate::web::panel::table_page(
        &state,
        chrome.in_section(Section::Reviews),
        access,
        view,
        manager.identity.user.id.clone(),
        format!("/admin/access-reviews/{definition}/instances/{instance}"),
        Some(series),
    )
    .await?;
    // Admins reassign anyone's people while the review runs, from the ticked rows.
    page.can_reassign = may_reassign;
    page.reassign_action = format!("/admin/access-reviews/{definition}/instances/{instance}/reassign");
    page.results = Some(crate::web::panel::ResultsPanel {
        status: status.results_label(),
        running: status.is_open(),
        can_apply: status.can_apply(),
        applied: status == InstanceStatus::Applied,
        not_applied,
        contacted: contacted
            .into_iter()
            .map(|c| crate::web::panel::Contacted {
                name: c.display_name,
                address: c.address,
                notified: format::datetime(c.last_notified_at),
                delivered: c.last_sent_at.map_or_else(|| "Waiting in the outbox".to_owned(), format::datetime),
            })
            .collect(),
        reviewers: reviewers.map(ReviewerTable::new),
        remediation: super::remediation::RemediationPanel::from(remediation),
    });
    Ok(page)
}

/// `POST …/instances/{instance}/reassign`: an admin hands the ticked people (or everyone
/// in the list) to another reviewer, with a note; back to the results page with what
/// happened or why nothing did. Other people who manage reviews get 403: reassigning
/// anyone's people is an admin's.
pub async fn reassign(
    manager: ReviewManager,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    if !manager.identity.is_admin {
        return Err(AppError::Forbidden);
    }
    let (definition, instance) = path.into_inner();
    let (definition, instance) = (definition.into_string(), instance.into_string());
    let (mut items, mut apply_to, mut show, mut q, mut to, mut note) =
        (Vec::new(), None, None, None, String::new(), String::new());
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "item" => items.push(value.into_owned()),
            "apply_to" => apply_to = Some(value.into_owned()),
            "show" => show = Some(value.into_owned()),
            "q" => q = Some(value.into_owned()),
            "to" => to = value.into_owned(),
            "note" => note = value.into_owned(),
            _ => {}
        }
    }
    let view = crate::web::panel::ReviewQuery::of(show, q).view()?;
    let back = match view.query() {
        query if query.is_empty() => format!("/admin/access-reviews/{definition}/instances/{instance}"),
        query => format!("/admin/access-reviews/{definition}/instances/{instance}?{query}"),
    };
    let selection = crate::web::panel::reassign_selection(apply_to.as_deref(), items, &view)?;
    let (now, actor, scope) = (state.clock.now(), manager.identity.user.clone(), manager.scope.clone());
    let result = state
        .db(move |conn| {
            crate::service::panel::reassign_as_admin(
                conn,
                &scope,
                (&definition, &instance),
                &selection,
                (&to, &note),
                &actor,
                now,
            )
        })
        .await;
    crate::web::panel::flash_reassigned(&session, result)?;
    Ok(HttpResponse::SeeOther().insert_header(("Location", back)).finish())
}

/// How many reviewers the results page lists (the laggards first).
const REVIEWERS_LISTED: usize = 50;

/// The results page's table of reviewers and how far each got.
pub struct ReviewerTable {
    /// The first [`REVIEWERS_LISTED`], those who have not started first.
    pub rows: Vec<ReviewerLine>,
    /// How many reviewers there are.
    pub total: usize,
    /// How many of them have not started.
    pub not_started: usize,
    /// The reviewers share the people (owners, selected reviewers).
    pub shared: bool,
}

/// One reviewer's line.
pub struct ReviewerLine {
    /// Name ("" for a deleted account) and UPN.
    pub name: String,
    pub upn: String,
    /// A fallback reviewer.
    pub fallback: bool,
    /// People to review, and how many are decided.
    pub items: i64,
    pub decided: i64,
    /// Their last decision, or "".
    pub last: String,
    /// Their status in words, and whether it is "not started".
    pub status: &'static str,
    pub not_started: bool,
}

impl ReviewerTable {
    fn new(all: Vec<results::ReviewerRow>) -> Self {
        let total = all.len();
        let not_started = all.iter().filter(|r| r.progress.not_started()).count();
        let shared = all.iter().any(|r| r.progress.shared);
        let rows = all
            .into_iter()
            .take(REVIEWERS_LISTED)
            .map(|r| ReviewerLine {
                status: r.progress.status(),
                not_started: r.progress.not_started(),
                fallback: r.progress.fallback,
                items: r.progress.items,
                decided: r.progress.decided,
                last: r.progress.last_decision.map(format::datetime).unwrap_or_default(),
                name: r.name,
                upn: r.upn,
            })
            .collect();
        Self { rows, total, not_started, shared }
    }
}

/// A question before an action that cannot be undone (stop, reset).
#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/confirm.html")]
pub struct ConfirmPage {
    chrome: Chrome,
    series: (String, String),
    results_path: String,
    title: String,
    consequences: Vec<String>,
    action: String,
    button: &'static str,
}

/// The series and occurrence named in a results path, if `manager` may manage them.
async fn load_instance(
    state: &State,
    manager: &ReviewManager,
    path: (ObjectId, ObjectId),
) -> Result<(DefinitionRow, InstanceRow), AppError> {
    let (definition, instance) = (path.0.into_string(), path.1.into_string());
    let scope = manager.scope.clone();
    state.db(move |conn| results::managed_instance(conn, &scope, &definition, &instance)).await
}

fn results_path(d: &DefinitionRow, i: &InstanceRow) -> String {
    format!("/admin/access-reviews/{}/instances/{}", d.id, i.id)
}

fn confirm_page(
    chrome: Chrome,
    d: &DefinitionRow,
    i: &InstanceRow,
    verb: &str,
    title: String,
    consequences: Vec<String>,
    button: &'static str,
) -> Result<ConfirmPage, AppError> {
    if !i.status.is_open() {
        return Err(AppError::BadRequest(format!(
            "This review has already ended, so it cannot be {verb}. Go back to its results."
        )));
    }
    let results_path = results_path(d, i);
    Ok(ConfirmPage {
        chrome: chrome.in_section(Section::Reviews),
        series: (d.display_name.clone(), format!("/admin/access-reviews/{}", d.id)),
        action: format!("{results_path}/{}", if verb == "stopped" { "stop" } else { "reset" }),
        results_path,
        title,
        consequences,
        button,
    })
}

/// `GET …/instances/{instance}/stop`: what stopping does, and the button.
pub async fn stop_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<ConfirmPage, AppError> {
    let (d, i) = load_instance(&state, &manager, path.into_inner()).await?;
    let default = match d.default_decision {
        DefaultDecision::Approve => "approved, as the review's settings say",
        DefaultDecision::Deny => "denied, as the review's settings say",
        DefaultDecision::Recommendation => "decided as recommended, as the review's settings say",
        DefaultDecision::None => "left not reviewed (the review has no default decision)",
    };
    let mut consequences = vec![
        "Reviewers can no longer decide; the decisions made so far become final.".to_owned(),
        format!("The {} people nobody reviewed are {default}.", i.not_reviewed),
        "A stopped review cannot be restarted.".to_owned(),
    ];
    if d.auto_apply {
        consequences.push("Denied access is then removed automatically (auto-apply is on).".to_owned());
    }
    confirm_page(chrome, &d, &i, "stopped", format!("Stop “{}” now?", d.display_name), consequences, "Stop the review")
}

/// `POST …/instances/{instance}/stop`
pub async fn stop(
    manager: ReviewManager,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    instance_action(state, manager, session, path, results::stop, |()| {
        "The review was stopped. Its decisions are final.".to_owned()
    })
    .await
}

/// `POST …/instances/{instance}/stop-stage`: ends the current stage of a multi-stage
/// occurrence now and starts the next.
pub async fn stop_stage(
    manager: ReviewManager,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    instance_action(state, manager, session, path, results::stop_stage, |ended| match ended {
        results::StageEnded::Next { ended, moved } => format!(
            "Stage {ended} ended: {} moved on to stage {}.",
            format::count(i64::from(moved), "person", "people"),
            ended + 1
        ),
        results::StageEnded::ReviewEnded => {
            "The stage ended and nobody moved on to a next stage: the review ended. Its decisions are final.".to_owned()
        }
    })
    .await
}

/// Runs an action on an occurrence the person manages, then goes back to its results page
/// with a message saying what happened, or why nothing did.
async fn instance_action<T: Send + 'static>(
    state: State,
    manager: ReviewManager,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
    action: impl FnOnce(
        &mut crate::db::DbConnection,
        &DefinitionRow,
        &InstanceRow,
        Actor<'_>,
        chrono::NaiveDateTime,
    ) -> Result<Result<T, Refused>, AppError>
    + Send
    + 'static,
    done: impl FnOnce(T) -> String,
) -> Result<HttpResponse, AppError> {
    let (d, i) = load_instance(&state, &manager, path.into_inner()).await?;
    let back = results_path(&d, &i);
    let (now, actor) = (state.clock.now(), manager.identity.user);
    match state.db(move |conn| action(conn, &d, &i, Actor::Person(&actor), now)).await? {
        Ok(outcome) => flash(&session, &done(outcome)),
        Err(refused) => flash_error(&session, &refused.0),
    }
    Ok(HttpResponse::SeeOther().insert_header(("Location", back)).finish())
}

/// `POST …/instances/{instance}/remind`: mails a reminder now to every reviewer who still
/// has people to review (Entra's sendReminder).
pub async fn remind(
    manager: ReviewManager,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    let run = |conn: &mut _, _: &DefinitionRow, i: &InstanceRow, actor: Actor<'_>, now| {
        if !i.status.is_open() {
            return Ok(Err(Refused("This review has ended: reminders go only to reviews in progress.".into())));
        }
        crate::service::notify::send_reminder(conn, i, actor, now).map(Ok)
    };
    instance_action(state, manager, session, path, run, |n| match n {
        0 => "Every reviewer has finished: nobody needed a reminder.".to_owned(),
        n => format!(
            "A reminder was sent to {}.",
            format::count(i64::try_from(n).unwrap_or(i64::MAX), "reviewer", "reviewers")
        ),
    })
    .await
}

/// `GET …/instances/{instance}/reset`: what resetting does, and the button.
pub async fn reset_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<ConfirmPage, AppError> {
    let (d, i) = load_instance(&state, &manager, path.into_inner()).await?;
    let decided = i.total_items - i.not_reviewed;
    let consequences = vec![
        format!("All {decided} decisions made so far go back to “not reviewed”; reviewers start over."),
        "The audit trail keeps every decision that was made, with who made it and why.".to_owned(),
        "The review keeps running until its end date.".to_owned(),
    ];
    let title = format!("Reset the decisions of “{}”?", d.display_name);
    confirm_page(chrome, &d, &i, "reset", title, consequences, "Reset all decisions")
}

/// `POST …/instances/{instance}/reset`
pub async fn reset(
    manager: ReviewManager,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    let reset =
        |conn: &mut _, _: &DefinitionRow, i: &InstanceRow, actor: Actor<'_>, now| results::reset(conn, i, actor, now);
    instance_action(state, manager, session, path, reset, |n| {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        format!("{} reset to not reviewed.", format::count(n, "decision was", "decisions were"))
    })
    .await
}

/// The dry run before applying: what will be removed, per item, with warnings.
#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/apply.html")]
pub struct ApplyPage {
    chrome: Chrome,
    series: (String, String),
    results_path: String,
    resource: String,
    p: apply::Preview,
    /// Denials not applied yet (what the button applies).
    pending: i64,
    /// How many of them the table lists.
    listed: i64,
}

/// `GET …/instances/{instance}/apply`: the preview (a dry run; changes nothing).
pub async fn apply_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<ApplyPage, AppError> {
    let (d, i) = load_instance(&state, &manager, path.into_inner()).await?;
    if i.status.is_open() {
        return Err(AppError::BadRequest(
            "This review is still in progress: stop it or wait for its end before applying its denials.".into(),
        ));
    }
    let (now, actor, id) = (state.clock.now(), manager.identity.user.clone(), i.id.clone());
    let preview = state.db(move |conn| apply::preview(conn, &id, &actor, now)).await?.ok_or_else(|| {
        AppError::NotFound("This review has no such occurrence. Go back to the review's page.".into())
    })?;
    Ok(ApplyPage {
        chrome: chrome.in_section(Section::Reviews),
        series: (d.display_name.clone(), format!("/admin/access-reviews/{}", d.id)),
        results_path: results_path(&d, &i),
        resource: i.resource_name.clone(),
        pending: preview.counts.total(),
        listed: i64::try_from(preview.items.len()).unwrap_or(i64::MAX),
        p: preview,
    })
}

/// `POST …/instances/{instance}/apply`: applies the denials and says what came of it.
pub async fn apply_denials(
    manager: ReviewManager,
    state: State,
    session: Session,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    let run =
        |conn: &mut _, _: &DefinitionRow, i: &InstanceRow, actor: Actor<'_>, now| apply::apply(conn, &i.id, actor, now);
    instance_action(state, manager, session, path, run, |summary| applied_message(&summary)).await
}

/// "Applied: 3 removed, 1 already gone, 2 could not be removed here."
fn applied_message(s: &apply::ApplySummary) -> String {
    if *s == apply::ApplySummary::default() {
        return "Nothing left to apply: every denial had been applied already.".into();
    }
    let mut parts = vec![format!("{} removed", s.applied)];
    if s.not_found > 0 {
        parts.push(format!("{} already gone", s.not_found));
    }
    if s.access_remains > 0 {
        parts.push(format!(
            "{} still {} the access through a group although the direct link was removed",
            s.access_remains,
            if s.access_remains == 1 { "has" } else { "have" }
        ));
    }
    let elsewhere = s.not_supported - s.access_remains;
    if elsewhere > 0 {
        parts.push(format!("{elsewhere} could not be removed here"));
    }
    if s.refused > 0 {
        parts.push(format!("{} refused", s.refused));
    }
    let marked = if s.not_supported + s.refused > 0 { " See the rows marked below." } else { "" };
    format!("Denials applied: {}.{marked}", parts.join(", "))
}
