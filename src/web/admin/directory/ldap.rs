//! Directory → Sources, LDAP and Active Directory connections: the form adding one
//! (`/admin/directory/sources/ldap/new`) and changing one (`…/{id}/edit`), each with a
//! "Test connection" button that tries the entered settings before anything is saved; the
//! test of a saved connection; and "Sync now", which shows the dry run's difference first
//! and syncs for real only when confirmed (the difference is read again then, never taken
//! from the browser).
//!
//! The bind password is write-only: it is never put back into a page, not even when the
//! form comes back with errors, and the edit form only says that one is stored.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::not_found;
use crate::domain::directory::ObjectId;
use crate::domain::review::FieldError;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::import::{ImportError, ImportReport};
use crate::service::ldap::{self, ConnectionInput, FormError, SyncError, SyncReport, TestOutcome};
use crate::sources::ldap::{DEFAULT_PAGE_SIZE, DEFAULT_TIMEOUT_SECONDS, LdapConfig, Leftovers, Preset, Security};
use crate::web::admin::FormErrors;
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State, flash, flash_error};

/// The form's fields in page order, with the words a problem starts with ("URL: …"), so
/// that each message of the service lands at its field and the summary lists them in the
/// order of the page.
const FIELDS: [(&str, &str); 14] = [
    ("Name", "name"),
    ("Preset", "preset"),
    ("URL", "url"),
    ("Security", "security"),
    ("Bind DN", "bind_dn"),
    ("Password", "password"),
    ("Users base DN", "users_base"),
    ("Users filter", "users_filter"),
    ("Groups base DN", "groups_base"),
    ("Groups filter", "groups_filter"),
    ("UPN attribute", "upn_attribute"),
    ("Sync interval", "sync_interval"),
    ("Time-out", "timeout"),
    ("Page size", "page_size"),
];

/// The minutes between scheduled syncs a new connection starts with.
const DEFAULT_INTERVAL_MINUTES: u32 = 60;

/// The form as posted; every field is text, checked in [`LdapForm::input`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LdapForm {
    pub name: String,
    pub preset: String,
    pub url: String,
    pub security: String,
    pub bind_dn: String,
    /// Never shown back.
    pub password: String,
    pub users_base: String,
    pub users_filter: String,
    pub groups_base: String,
    pub groups_filter: String,
    pub upn_attribute: String,
    pub sync_interval: String,
    pub timeout: String,
    pub page_size: String,
    /// Which button: "test" tests the settings, anything else saves them.
    pub action: String,
}

impl LdapForm {
    /// A new connection's form: OpenLDAP, StartTLS, the defaults for the numbers; filters
    /// left empty (the preset's apply).
    fn blank() -> Self {
        Self {
            preset: Preset::Openldap.slug().to_owned(),
            security: "starttls".to_owned(),
            sync_interval: DEFAULT_INTERVAL_MINUTES.to_string(),
            timeout: DEFAULT_TIMEOUT_SECONDS.to_string(),
            page_size: DEFAULT_PAGE_SIZE.to_string(),
            ..Self::default()
        }
    }

    /// A saved connection's form (no password: it is write-only).
    fn of(name: &str, c: &LdapConfig) -> Self {
        Self {
            name: name.to_owned(),
            preset: c.preset.slug().to_owned(),
            url: c.url.clone(),
            security: security_slug(c.security).to_owned(),
            bind_dn: c.bind_dn.clone(),
            password: String::new(),
            users_base: c.users_base.clone(),
            users_filter: c.users_filter.clone(),
            groups_base: c.groups_base.clone(),
            groups_filter: c.groups_filter.clone(),
            upn_attribute: c.mapping.upn.clone(),
            sync_interval: c.sync_interval_minutes.to_string(),
            timeout: c.timeout_seconds.to_string(),
            page_size: c.page_size.to_string(),
            action: String::new(),
        }
    }

    /// The form as it is shown back: values capped, the password dropped.
    fn shown_back(self) -> Self {
        let cap = |s: String| -> String { s.chars().take(2048).collect() };
        Self {
            name: cap(self.name),
            preset: cap(self.preset),
            url: cap(self.url),
            security: cap(self.security),
            bind_dn: cap(self.bind_dn),
            password: String::new(),
            users_base: cap(self.users_base),
            users_filter: cap(self.users_filter),
            groups_base: cap(self.groups_base),
            groups_filter: cap(self.groups_filter),
            upn_attribute: cap(self.upn_attribute),
            sync_interval: cap(self.sync_interval),
            timeout: cap(self.timeout),
            page_size: cap(self.page_size),
            action: String::new(),
        }
    }

    /// The connection the form describes, and what is wrong with the fields that must be
    /// read before the service can check the rest (numbers, the preset, the security, the
    /// UPN attribute). Filters and the UPN attribute left empty take the preset's.
    fn input(&self) -> (ConnectionInput, Vec<String>) {
        let mut found = Vec::new();
        let preset = Preset::parse(&self.preset).unwrap_or_else(|| {
            found.push("Preset: choose Active Directory or OpenLDAP.".to_owned());
            Preset::Openldap
        });
        let security = match self.security.as_str() {
            "ldaps" => Security::Ldaps,
            "starttls" => Security::StartTls,
            "plain" => Security::Plain,
            _ => {
                found.push("Security: choose LDAPS, StartTLS or none.".to_owned());
                Security::StartTls
            }
        };
        let mut number = |text: &str, label: &str, hint: &str, default: u32| -> u32 {
            text.trim().parse::<u32>().unwrap_or_else(|_| {
                found.push(format!("{label}: {hint}"));
                default
            })
        };
        let sync_interval_minutes = number(
            &self.sync_interval,
            "Sync interval",
            "give a whole number of minutes, or 0 to sync only on demand.",
            DEFAULT_INTERVAL_MINUTES,
        );
        let timeout_seconds =
            number(&self.timeout, "Time-out", "give a whole number of seconds, such as 30.", DEFAULT_TIMEOUT_SECONDS);
        let page_size =
            number(&self.page_size, "Page size", "give a whole number of entries, such as 500.", DEFAULT_PAGE_SIZE);
        let mut mapping = preset.mapping();
        let upn = self.upn_attribute.trim();
        if !upn.is_empty() {
            if is_attribute_name(upn) {
                mapping.upn = upn.to_owned();
            } else {
                found.push(
                    "UPN attribute: give an attribute name such as userPrincipalName or mail (letters, digits and \
                     “-”)."
                        .to_owned(),
                );
            }
        }
        let or_default = |text: &str, default: &str| {
            if text.trim().is_empty() { default.to_owned() } else { text.trim().to_owned() }
        };
        let config = LdapConfig {
            url: self.url.trim().to_owned(),
            security,
            bind_dn: self.bind_dn.trim().to_owned(),
            password: String::new(),
            preset,
            users_base: self.users_base.trim().to_owned(),
            users_filter: or_default(&self.users_filter, preset.users_filter()),
            groups_base: self.groups_base.trim().to_owned(),
            groups_filter: or_default(&self.groups_filter, preset.groups_filter()),
            mapping,
            sync_interval_minutes,
            timeout_seconds,
            page_size,
        };
        let password = (!self.password.is_empty()).then(|| self.password.clone());
        (ConnectionInput { name: self.name.trim().to_owned(), config, password }, found)
    }
}

/// An LDAP attribute name (its "descr" form): a letter, then letters, digits and "-".
fn is_attribute_name(text: &str) -> bool {
    text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn security_slug(security: Security) -> &'static str {
    match security {
        Security::Ldaps => "ldaps",
        Security::StartTls => "starttls",
        Security::Plain => "plain",
    }
}

/// The service's problems as field errors, in the order of the page.
fn form_errors(problems: Vec<String>) -> FormErrors {
    let place = |m: &str| {
        FIELDS
            .iter()
            .position(|(label, _)| m.strip_prefix(label).is_some_and(|rest| rest.starts_with(':')))
            .unwrap_or(0)
    };
    let mut errors: Vec<(usize, FieldError)> = problems
        .into_iter()
        .map(|message| {
            let at = place(&message);
            (at, FieldError { field: FIELDS[at].1, message })
        })
        .collect();
    errors.sort_by_key(|(at, _)| *at);
    FormErrors(errors.into_iter().map(|(_, e)| e).collect())
}

/// What a test found, as the page says it.
pub struct TestView {
    pub works: bool,
    pub message: String,
}

impl From<TestOutcome> for TestView {
    fn from(outcome: TestOutcome) -> Self {
        match outcome {
            TestOutcome::Works { users, groups } => Self {
                works: true,
                message: format!(
                    "The connection works: {}, {}.",
                    crate::web::format::count(i64::try_from(users).unwrap_or(i64::MAX), "user", "users"),
                    crate::web::format::count(i64::try_from(groups).unwrap_or(i64::MAX), "group", "groups")
                ),
            },
            TestOutcome::Failed(why) => Self { works: false, message: format!("The connection test failed: {why}.") },
        }
    }
}

/// A preset's defaults, for the form's hints (and its script, which fills them in).
pub struct PresetDefaults {
    pub slug: &'static str,
    pub label: &'static str,
    pub users_filter: &'static str,
    pub groups_filter: &'static str,
    pub upn: String,
}

fn presets() -> Vec<PresetDefaults> {
    [Preset::Ad, Preset::Openldap]
        .into_iter()
        .map(|p| PresetDefaults {
            slug: p.slug(),
            label: p.label(),
            users_filter: p.users_filter(),
            groups_filter: p.groups_filter(),
            upn: p.mapping().upn,
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/ldap_form.html")]
pub struct LdapFormPage {
    chrome: Chrome,
    /// The connection being changed; `None` for a new one.
    source_id: Option<String>,
    f: LdapForm,
    errors: FormErrors,
    test: Option<TestView>,
    presets: Vec<PresetDefaults>,
}

impl LdapFormPage {
    fn new(chrome: Chrome, source_id: Option<String>, f: LdapForm) -> Self {
        Self {
            chrome: chrome.in_section(Section::Directory),
            source_id,
            f: f.shown_back(),
            errors: FormErrors(Vec::new()),
            test: None,
            presets: presets(),
        }
    }

    /// The ids describing a field: its hint, and its error when it has one.
    fn described(&self, field: &str) -> String {
        if self.errors.get(field).is_some() { format!("{field}-hint {field}-error") } else { format!("{field}-hint") }
    }

    /// Where the form posts.
    fn action(&self) -> String {
        match &self.source_id {
            Some(id) => format!("/admin/directory/sources/{id}/edit"),
            None => "/admin/directory/sources/ldap/new".to_owned(),
        }
    }
}

/// `GET /admin/directory/sources/ldap/new`
pub async fn new_form(_admin: Admin, chrome: Chrome) -> LdapFormPage {
    LdapFormPage::new(chrome, None, LdapForm::blank())
}

/// `GET /admin/directory/sources/{id}/edit`
pub async fn edit_form(
    _admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
) -> Result<LdapFormPage, AppError> {
    let id = id.into_inner().into_string();
    let lookup = id.clone();
    let (source, config) = state
        .db(move |conn| match ldap::find(conn, &lookup) {
            Err(AppError::NotFound(_) | AppError::BadRequest(_)) => Err(not_found("LDAP connection")),
            other => other,
        })
        .await?;
    Ok(LdapFormPage::new(chrome, Some(id), LdapForm::of(&source.name, &config)))
}

type FormAnswer = Either<HttpResponse, (LdapFormPage, StatusCode)>;

/// Saves or tests the form of a new connection (`source_id` `None`) or of a saved one.
async fn submit(
    admin: Admin,
    state: State,
    chrome: Chrome,
    session: Session,
    source_id: Option<String>,
    form: LdapForm,
) -> Result<FormAnswer, AppError> {
    let testing = form.action == "test";
    let input = form.input();
    let (now, user, id) = (state.clock.now(), admin.0.user.clone(), source_id.clone());
    let mut page = LdapFormPage::new(chrome, source_id, form);
    if testing {
        let outcome = state.db(move |conn| Ok(ldap::test_input(conn, id.as_deref(), input))).await?;
        return match outcome {
            Ok(outcome) => {
                page.test = Some(TestView::from(outcome));
                Ok(Either::Right((page, StatusCode::OK)))
            }
            Err(e) => invalid(page, e),
        };
    }
    let saved = state.db(move |conn| Ok(ldap::save(conn, id.as_deref(), input, Actor::Person(&user), now))).await?;
    match saved {
        Ok(row) => {
            let what = if page.source_id.is_some() { "Saved the changes to" } else { "Added" };
            flash(&session, &format!("{what} the LDAP connection \"{}\". Test it, then sync it.", row.name));
            Ok(Either::Left(
                HttpResponse::SeeOther()
                    .insert_header(("Location", format!("/admin/directory/sources/{}", row.id)))
                    .finish(),
            ))
        }
        Err(e) => invalid(page, e),
    }
}

/// The form again with what to fix (400), or the error page for anything else.
fn invalid(mut page: LdapFormPage, error: FormError) -> Result<FormAnswer, AppError> {
    match error {
        FormError::Invalid(problems) => {
            page.errors = form_errors(problems);
            Ok(Either::Right((page, StatusCode::BAD_REQUEST)))
        }
        FormError::App(AppError::NotFound(_)) => Err(not_found("LDAP connection")),
        FormError::App(e) => Err(e),
    }
}

/// `POST /admin/directory/sources/ldap/new`: adds the connection, or tests the settings.
pub async fn create(
    admin: Admin,
    state: State,
    chrome: Chrome,
    session: Session,
    form: web::Form<LdapForm>,
) -> Result<FormAnswer, AppError> {
    submit(admin, state, chrome, session, None, form.into_inner()).await
}

/// `POST /admin/directory/sources/{id}/edit`: saves the changes (an empty password keeps
/// the stored one), or tests the settings.
pub async fn update(
    admin: Admin,
    state: State,
    chrome: Chrome,
    session: Session,
    id: web::Path<ObjectId>,
    form: web::Form<LdapForm>,
) -> Result<FormAnswer, AppError> {
    let mut form = form.into_inner();
    // The name is not changed here: the edit form shows it and sends none.
    form.name = String::new();
    submit(admin, state, chrome, session, Some(id.into_inner().into_string()), form).await
}

fn back_to(id: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", format!("/admin/directory/sources/{id}"))).finish()
}

/// `POST /admin/directory/sources/{id}/test`: tests the saved connection; the source's
/// page then says what it found.
pub async fn test(
    _admin: Admin,
    state: State,
    session: Session,
    id: web::Path<ObjectId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner().into_string();
    let lookup = id.clone();
    let outcome = state
        .db(move |conn| match ldap::test(conn, &lookup) {
            Err(AppError::NotFound(_) | AppError::BadRequest(_)) => Err(not_found("LDAP connection")),
            other => other,
        })
        .await?;
    let view = TestView::from(outcome);
    if view.works {
        flash(&session, &view.message)
    } else {
        flash_error(&session, &view.message)
    }
    Ok(back_to(&id))
}

/// One kind's line of a sync's difference.
pub struct KindLine {
    pub kind: String,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub examples: Vec<String>,
}

fn kind_lines(report: &ImportReport) -> Vec<KindLine> {
    report
        .kinds
        .iter()
        .map(|d| KindLine {
            kind: d.kind.to_string(),
            added: d.added,
            changed: d.changed,
            removed: d.removed,
            unchanged: d.unchanged,
            examples: [
                ("Added", &d.added_examples),
                ("Changed", &d.changed_examples),
                ("Removed", &d.removed_examples),
            ]
            .into_iter()
            .flat_map(|(word, list)| list.iter().map(move |e| format!("{word}: {e}")))
            .collect(),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/ldap_sync.html")]
pub struct SyncPage {
    chrome: Chrome,
    source_id: String,
    source_name: String,
    kinds: Vec<KindLine>,
    leftovers: Leftovers,
    key_attribute: String,
    /// Why the dry run changed nothing (empty when it worked).
    errors: Vec<String>,
}

/// A sync's failure as lines to show.
fn sync_error_lines(error: SyncError) -> Result<Vec<String>, AppError> {
    match error {
        SyncError::Directory(m) => Ok(vec![format!("Nothing was synced: {m}.")]),
        SyncError::Import(ImportError::Invalid { problems, total }) => {
            let mut lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            if total > problems.len() as u64 {
                lines.push(format!("… and {} more", total - problems.len() as u64));
            }
            Ok(lines)
        }
        SyncError::Import(e @ ImportError::Stale) => Ok(vec![format!("Nothing was synced: {e}.")]),
        SyncError::Import(ImportError::App(AppError::NotFound(_))) => Err(not_found("LDAP connection")),
        SyncError::Import(ImportError::App(AppError::BadRequest(m) | AppError::Conflict(m))) => Ok(vec![m]),
        SyncError::Import(ImportError::App(e)) => Err(e),
    }
}

/// The connection's id and name (when it is found) and the outcome of a sync of it.
async fn run_sync(
    admin: &Admin,
    state: &State,
    id: &str,
    dry_run: bool,
) -> Result<(String, Result<SyncReport, SyncError>), AppError> {
    let (now, user, lookup) = (state.clock.now(), admin.0.user.clone(), id.to_owned());
    state
        .db(move |conn| {
            let outcome = ldap::sync(conn, &lookup, dry_run, Actor::Person(&user), now);
            let name = outcome.as_ref().map(|r| r.import.source.clone()).unwrap_or_default();
            Ok((name, outcome))
        })
        .await
}

/// `POST /admin/directory/sources/{id}/sync`: "Sync now" — reads the directory and shows
/// what a sync would change, with a button that syncs.
pub async fn preview(
    admin: Admin,
    state: State,
    chrome: Chrome,
    id: web::Path<ObjectId>,
) -> Result<SyncPage, AppError> {
    let id = id.into_inner().into_string();
    let (name, outcome) = run_sync(&admin, &state, &id, true).await?;
    let mut page = SyncPage {
        chrome: chrome.in_section(Section::Directory),
        source_id: id,
        source_name: name,
        kinds: Vec::new(),
        leftovers: Leftovers::default(),
        key_attribute: String::new(),
        errors: Vec::new(),
    };
    match outcome {
        Ok(report) => {
            page.kinds = kind_lines(&report.import);
            page.leftovers = report.leftovers;
            page.key_attribute = report.key_attribute;
        }
        Err(e) => page.errors = sync_error_lines(e)?,
    }
    Ok(page)
}

/// `POST /admin/directory/sources/{id}/sync/confirm`: syncs for real (the directory is
/// read again), then back to the connection's page saying what changed.
pub async fn confirm(
    admin: Admin,
    state: State,
    session: Session,
    id: web::Path<ObjectId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner().into_string();
    let (_, outcome) = run_sync(&admin, &state, &id, false).await?;
    match outcome {
        Ok(report) => {
            let counts: Vec<String> = report
                .import
                .kinds
                .iter()
                .map(|d| format!("{}: {} added, {} changed, {} removed", d.kind, d.added, d.changed, d.removed))
                .collect();
            flash(&session, &format!("Synced \"{}\". {}.", report.import.source, counts.join("; ")));
        }
        Err(e) => flash_error(&session, &sync_error_lines(e)?.join(" ")),
    }
    Ok(back_to(&id))
}
