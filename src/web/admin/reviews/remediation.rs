//! Remediation tasks of an occurrence: the removals its push sources must make. The
//! results page shows the first ones ([`RemediationPanel`]); `GET …/remediation` pages
//! through all of them by keyset, `GET …/remediation.csv` hands them over as a file.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::directory::ObjectId;
use crate::domain::paging::ListParams;
use crate::domain::source::TaskState;
use crate::error::AppError;
use crate::service::remediation::{self, Task, Tasks};
use crate::service::reviews::managed;
use crate::web::format;
use crate::web::guard::ReviewManager;
use crate::web::pager::Pager;
use crate::web::{Chrome, Section, State, stream};

/// How many tasks the results page shows.
pub const TASKS_ON_RESULTS: usize = 20;

/// One task as a table shows it.
pub struct TaskLine {
    pub name: String,
    pub upn: String,
    pub access: String,
    pub source: String,
    /// "Open", "Removed at source", or for a removal attest wrote (LDAP) "Removed in Corp
    /// LDAP, verified".
    pub state: String,
    /// `tag-warn` for overdue, `tag-ok` for removed at source.
    pub state_class: &'static str,
    /// When the source's write (or attest's read-back) showed it gone ("" while open).
    pub removed_at: String,
    /// Whether attest removed it in the source itself (LDAP).
    pub removed_by_attest: bool,
    /// When a later sync saw the access granted again after its removal ("" if never).
    pub regranted_at: String,
    /// When applying made the task.
    pub created: String,
}

impl From<Task> for TaskLine {
    fn from(t: Task) -> Self {
        let state = match (t.removed_by_attest, t.state) {
            (true, TaskState::RemovedAtSource) => format!("Removed in {}, verified", t.source),
            (true, _) => format!("Removed in {}, not verified yet", t.source),
            (false, state) => state.label().to_owned(),
        };
        Self {
            state,
            removed_by_attest: t.removed_by_attest,
            regranted_at: t.regranted_at.map(format::datetime).unwrap_or_default(),
            state_class: match t.state {
                TaskState::Open => "",
                TaskState::Overdue => "tag-urgent",
                TaskState::RemovedAtSource => "tag-ok",
            },
            removed_at: t.removed_at_source_at.map(format::datetime).unwrap_or_default(),
            created: format::datetime(t.created_at),
            name: t.principal_name,
            upn: t.principal_upn,
            access: t.access_path,
            source: t.source,
        }
    }
}

/// The results page's summary of the tasks, with the first ones.
pub struct RemediationPanel {
    pub lines: Vec<TaskLine>,
    pub all: i64,
    pub open: i64,
    pub overdue: i64,
    pub removed: i64,
    pub days: i64,
    /// More tasks than are shown.
    pub more: bool,
}

impl From<Tasks> for RemediationPanel {
    fn from(t: Tasks) -> Self {
        let more = t.page.next.is_some();
        Self {
            lines: t.page.items.into_iter().map(TaskLine::from).collect(),
            all: t.counts.all,
            open: t.counts.open,
            overdue: t.counts.overdue,
            removed: t.counts.all.saturating_sub(t.counts.open),
            days: t.days,
            more,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reviews/remediation.html")]
pub struct TasksPage {
    chrome: Chrome,
    series: (String, String),
    resource: String,
    results_path: String,
    r: RemediationPanel,
    pager: Pager,
}

/// `GET /admin/access-reviews/{id}/instances/{instance}/remediation`: every remediation
/// task of the occurrence, a page at a time.
pub async fn tasks_page(
    manager: ReviewManager,
    state: State,
    chrome: Chrome,
    path: web::Path<(ObjectId, ObjectId)>,
    params: web::Query<ListParams>,
) -> Result<TasksPage, AppError> {
    let (definition, instance) = path.into_inner();
    let (definition, instance) = (definition.into_string(), instance.into_string());
    let request = params.into_inner().validate().map_err(AppError::BadRequest)?;
    let (scope, at, now) = (manager.scope.clone(), request.at.clone(), state.clock.now());
    let (d, i, tasks) =
        state.db(move |conn| remediation::managed_tasks(conn, &scope, &definition, &instance, &at, now)).await?;
    let pager = Pager::new(&request, &tasks.page);
    Ok(TasksPage {
        chrome: chrome.in_section(Section::Reviews),
        series: (d.display_name.clone(), format!("/admin/access-reviews/{}", d.id)),
        resource: i.resource_name.clone(),
        results_path: format!("/admin/access-reviews/{}/instances/{}", d.id, i.id),
        r: RemediationPanel::from(tasks),
        pager,
    })
}

/// `GET /admin/access-reviews/{id}/instances/{instance}/remediation.csv`: one row per
/// removal to make where, streamed.
pub async fn tasks_csv(
    manager: ReviewManager,
    state: State,
    path: web::Path<(ObjectId, ObjectId)>,
) -> Result<HttpResponse, AppError> {
    let (definition, instance) = path.into_inner();
    let (definition, instance) = (definition.into_string(), instance.into_string());
    let now = state.clock.now();
    let (conn, i) = stream::checked(&state.pool, move |conn| {
        let d = managed(conn, &manager.scope, &definition)?;
        crate::service::results::instance(conn, &d, &instance)
    })
    .await?;
    let file = format!("remediation-{}-{}.csv", format::date(i.start_at), i.id);
    Ok(stream::csv(conn, &file, move |conn, out| remediation::csv(conn, &i, now, out)))
}
