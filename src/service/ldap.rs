//! LDAP and Active Directory connections: adding and changing one (the bind password sealed,
//! never shown again), testing it, syncing it (on demand, with a dry run, and on each
//! connection's interval), and writing review removals back.
//!
//! A sync reads the whole directory first — outside any database transaction, so a slow or
//! failing server holds no lock — then writes it in one transaction through the import
//! engine (the same difference, the same checks, a full import: what the directory no
//! longer holds is removed from the source). A sync that fails anywhere changes nothing;
//! the connection keeps its last good sync and shows the error.

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::json;

use crate::auth::secrets;
use crate::db::DbConnection;
use crate::domain::source::{self, SourceKind};
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::import::{self, ImportError, ImportOptions, ImportReport, Target};
use crate::service::sources;
use crate::sources::Records;
use crate::sources::csv::{FileKind, Problem};
use crate::sources::ldap::{self, LdapConfig, LdapFailure, Leftovers, Session};
use crate::store;
use crate::store::sources::SourceRow;

/// A connection as an admin enters it: the settings and, when given, a new password.
#[derive(Debug, Clone)]
pub struct ConnectionInput {
    pub name: String,
    /// The settings; `password` in it is ignored.
    pub config: LdapConfig,
    /// A new bind password; `None` keeps the stored one.
    pub password: Option<String>,
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// It works: users and groups matched (on the first page).
    Works { users: usize, groups: usize },
    /// What failed, in words.
    Failed(String),
}

/// What a sync did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// Added, changed and removed per kind.
    pub import: ImportReport,
    /// Entries left out and member values outside what the connection reads.
    pub leftovers: Leftovers,
    /// The attribute that keys users (userPrincipalName, mail), for the report's words.
    pub key_attribute: String,
}

impl SyncReport {
    /// The report as lines of text, for the command line.
    pub fn lines(&self) -> Vec<String> {
        let mut out = self.import.lines();
        let l = &self.leftovers;
        if l.users_without_key > 0 {
            out.push(format!(
                "{} user entr(ies) without the {} attribute were not synced, e.g. {}",
                l.users_without_key,
                self.key_attribute,
                l.users_without_key_examples.join("; ")
            ));
        }
        if l.outside_members > 0 {
            out.push(format!(
                "{} member value(s) are outside the users and groups this connection reads (base DNs and filters), \
                 e.g. {}",
                l.outside_members,
                l.outside_member_examples.join("; ")
            ));
        }
        if l.outside_managers > 0 {
            out.push(format!("{} manager(s) are outside the users this connection reads", l.outside_managers));
        }
        out
    }
}

/// Why a sync changed nothing.
#[derive(Debug)]
pub enum SyncError {
    /// The directory could not be read: what failed.
    Directory(String),
    /// The entries have problems, or the database failed.
    Import(ImportError),
}

impl From<AppError> for SyncError {
    fn from(e: AppError) -> Self {
        Self::Import(ImportError::App(e))
    }
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Directory(message) => write!(f, "nothing was synced: {message}"),
            Self::Import(e) => write!(f, "{e}"),
        }
    }
}

fn bad(problems: Vec<String>) -> AppError {
    AppError::BadRequest(problems.join(" "))
}

/// The settings of an LDAP source.
pub fn config_of(source: &SourceRow) -> Result<LdapConfig, AppError> {
    if source.kind != SourceKind::Ldap {
        return Err(AppError::BadRequest(format!(
            "\"{}\" is a {} source, not an LDAP connection.",
            source.name,
            source.kind.label()
        )));
    }
    serde_json::from_str(&source.settings).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("the settings of the LDAP source {} cannot be read: {e}", source.name))
    })
}

/// The LDAP source with this id or name (whatever its case).
pub fn find(conn: &mut DbConnection, id_or_name: &str) -> Result<(SourceRow, LdapConfig), AppError> {
    let source = match store::sources::get(conn, id_or_name)? {
        Some(s) => s,
        None => store::sources::by_name(conn, id_or_name)?
            .ok_or_else(|| AppError::NotFound(format!("There is no source named \"{id_or_name}\".")))?,
    };
    let config = config_of(&source)?;
    Ok((source, config))
}

/// Adds an LDAP connection. The name must be new; the password is sealed.
pub fn add(
    conn: &mut DbConnection,
    input: ConnectionInput,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<SourceRow, AppError> {
    let mut problems = Vec::new();
    if let Some(p) = source::name_problem(&input.name) {
        problems.push(format!("Name: {p}"));
    }
    problems.extend(input.config.problems());
    let password = input.password.unwrap_or_default();
    if password.is_empty() && !input.config.bind_dn.trim().is_empty() {
        problems.push("Password: give the bind DN's password.".into());
    }
    if !problems.is_empty() {
        return Err(bad(problems));
    }
    let config = LdapConfig { password: seal(&password)?, ..input.config };
    let settings = serde_json::to_string(&config).map_err(|e| AppError::Internal(e.into()))?;
    conn.write(|conn| {
        if let Some(found) = store::sources::by_name(conn, &input.name)? {
            return Err(AppError::BadRequest(format!(
                "There is a source named \"{}\" already: choose another name.",
                found.name
            )));
        }
        let row = SourceRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: input.name.trim().to_owned(),
            kind: SourceKind::Ldap,
            created_at: now,
            changed_at: None,
            settings: settings.clone(),
            sync_attempted_at: None,
            synced_at: None,
        };
        store::sources::insert(conn, &row)?;
        let details = audit_details(&row.name, &config);
        store::audit::append(conn, &by.event(now, "LdapConnectionAdded", ("Source", &row.id), details))?;
        Ok(row)
    })
}

/// Changes an LDAP connection's settings; an empty password keeps the stored one.
pub fn update(
    conn: &mut DbConnection,
    source_id: &str,
    input: ConnectionInput,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<SourceRow, AppError> {
    let (source, old) = find(conn, source_id)?;
    let problems = input.config.problems();
    if !problems.is_empty() {
        return Err(bad(problems));
    }
    let password = match input.password.filter(|p| !p.is_empty()) {
        Some(p) => seal(&p)?,
        None => old.password.clone(),
    };
    let config = LdapConfig { password, ..input.config };
    let settings = serde_json::to_string(&config).map_err(|e| AppError::Internal(e.into()))?;
    conn.write(|conn| {
        store::sources::set_settings(conn, &source.id, &settings)?;
        let mut details = audit_details(&source.name, &config);
        details["passwordChanged"] = json!(config.password != old.password);
        store::audit::append(conn, &by.event(now, "LdapConnectionChanged", ("Source", &source.id), details))?;
        Ok(SourceRow { settings: settings.clone(), ..source.clone() })
    })
}

/// What the audit trail keeps of a connection's settings: everything but the password.
fn audit_details(name: &str, config: &LdapConfig) -> serde_json::Value {
    json!({
        "source": name,
        "url": config.url,
        "security": config.security,
        "bindDn": config.bind_dn,
        "preset": config.preset,
        "usersBase": config.users_base,
        "groupsBase": config.groups_base,
        "syncIntervalMinutes": config.sync_interval_minutes,
    })
}

fn seal(password: &str) -> Result<String, AppError> {
    if password.is_empty() {
        return Ok(String::new());
    }
    secrets::current().seal(password).map_err(|e| AppError::Internal(e.into()))
}

/// Opens a session with the connection's stored password.
fn open(config: &LdapConfig) -> Result<Session, String> {
    let password = if config.password.is_empty() {
        String::new()
    } else {
        secrets::current().open(&config.password).map_err(|e| e.to_string())?
    };
    Session::open(config, &password).map_err(|e| e.to_string())
}

/// Tests the connection: reach, TLS, bind, both base DNs, both filters.
pub fn test(conn: &mut DbConnection, source_id: &str) -> Result<TestOutcome, AppError> {
    let (_, config) = find(conn, source_id)?;
    Ok(test_config(&config))
}

/// Tests settings before they are saved (the password given in the clear, or the stored
/// one of `stored` when none is given).
pub fn test_config(config: &LdapConfig) -> TestOutcome {
    let problems = config.problems();
    if !problems.is_empty() {
        return TestOutcome::Failed(problems.join(" "));
    }
    ldap::off_runtime(|| match open(config) {
        Err(message) => TestOutcome::Failed(message),
        Ok(mut session) => match session.test() {
            Ok((users, groups)) => TestOutcome::Works { users, groups },
            Err(e) => TestOutcome::Failed(e.to_string()),
        },
    })
}

/// Reads the directory of `config`.
fn read(config: &LdapConfig) -> Result<ldap::Directory, String> {
    ldap::off_runtime(|| {
        let mut session = open(config)?;
        session.read().map_err(|e: LdapFailure| e.to_string())
    })
}

/// Syncs the connection `id_or_name`: reads the directory, then writes it in one
/// transaction (or shows what would change). A failure changes nothing and is shown on
/// the connection's page.
pub fn sync(
    conn: &mut DbConnection,
    id_or_name: &str,
    dry_run: bool,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<SyncReport, SyncError> {
    let (source, config) = find(conn, id_or_name)?;
    // A read that an apply's removals may have overtaken is read again, a few times.
    let mut attempt = 1;
    let outcome = loop {
        match read_and_write(conn, &source, &config, dry_run, by, now) {
            Err(SyncError::Import(ImportError::Stale)) if attempt < STALE_READS => attempt += 1,
            outcome => break outcome,
        }
    };
    if !dry_run {
        let ok = outcome.is_ok();
        conn.write(|conn| store::sources::synced(conn, &source.id, now, ok).map_err(AppError::from))?;
    }
    match &outcome {
        Err(SyncError::Directory(message)) => {
            sources::record_error(conn, &source.id, &format!("A sync failed: {message}"), now)?;
        }
        Err(e @ SyncError::Import(ImportError::Stale)) => {
            sources::record_error(conn, &source.id, &format!("A sync failed: {e}"), now)?;
        }
        _ => {}
    }
    outcome
}

/// How many times a sync reads the directory again when applying review results wrote to
/// it during the read, before it gives up until the next sync.
const STALE_READS: usize = 3;

/// One read of the directory, written in one transaction unless an apply wrote to the
/// directory meanwhile.
fn read_and_write(
    conn: &mut DbConnection,
    source: &SourceRow,
    config: &LdapConfig,
    dry_run: bool,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<SyncReport, SyncError> {
    let write_backs = store::sources::write_backs(conn, &source.id).map_err(AppError::from)?;
    let directory = read(config).map_err(SyncError::Directory)?;
    let users_read = directory.users.len();
    let mapped = ldap::map(config, directory);
    // A directory that suddenly returns nobody (a changed filter, an emptied OU seen
    // through a broken replica) would remove every user of the source: refuse it.
    if mapped.users.is_empty() && store::sources::holdings(conn, &source.id).map_err(AppError::from)?.users > 0 {
        return Err(SyncError::Directory(format!(
            "the users filter {} under {} matched {users_read} entr(ies) with a {} attribute; a sync that finds \
             nobody would remove every user of this connection, so nothing was changed",
            config.users_filter, config.users_base, config.mapping.upn
        )));
    }
    let leftovers = mapped.leftovers.clone();
    let inputs = [mapped.users, mapped.groups, mapped.members];
    let target = Target {
        source: &source.name,
        kind: SourceKind::Ldap,
        inputs: vec![FileKind::Users, FileKind::Groups, FileKind::GroupMembers],
        action: "DirectorySynced",
        what: "A sync",
        details: json!({
            "outsideMembers": leftovers.outside_members,
            "usersWithoutKey": leftovers.users_without_key,
        }),
        write_backs_seen: Some(write_backs),
    };
    // Each attempt of the transaction reads its own copy of the entries.
    let open_input = |i: usize| -> Result<Box<dyn Records>, Problem> { Ok(Box::new(inputs[i].clone())) };
    let report = import::write_records(conn, &target, open_input, ImportOptions { dry_run, full: true }, by, now)
        .map_err(SyncError::Import)?;
    Ok(SyncReport { import: report, leftovers, key_attribute: config.mapping.upn.clone() })
}

/// Syncs each LDAP connection whose interval has passed since its last attempt; returns
/// how many synced. A failing one is recorded on its page and does not hold up the others.
pub fn sync_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut synced = 0;
    for source in store::sources::of_kind(conn, SourceKind::Ldap)? {
        let Ok(config) = config_of(&source) else { continue };
        if config.sync_interval_minutes == 0 {
            continue;
        }
        let due = source
            .sync_attempted_at
            .and_then(|at| at.checked_add_signed(TimeDelta::minutes(i64::from(config.sync_interval_minutes))))
            .is_none_or(|next| next <= now);
        if !due {
            continue;
        }
        match sync(conn, &source.id, false, Actor::Scheduler, now) {
            Ok(_) => synced += 1,
            Err(e) => tracing::warn!(source = %source.name, error = %e, "a scheduled LDAP sync failed"),
        }
    }
    Ok(synced)
}

/// What writing one removal back to LDAP did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The member value was deleted.
    Removed,
    /// It was not there (removed by someone else, or the group is gone).
    AlreadyGone,
    /// It could not be written: why. The item stays to apply; the next apply retries it.
    Failed(String),
}

/// The removals of one apply batch written to one LDAP connection.
#[derive(Debug, Default)]
pub struct WriteBack {
    /// Item id → what writing did.
    pub outcomes: std::collections::HashMap<String, WriteOutcome>,
    /// Items whose removal the read-back of the group confirmed.
    pub verified: Vec<String>,
    /// One entry per write for the audit trail: (item id, details).
    pub audit: Vec<(String, serde_json::Value)>,
}

/// Removes the memberships `items` ((item id, user id)) of the group `group_id` from the
/// LDAP connection `source_id`, then reads the group back. A connection that cannot be
/// opened, or is lost, fails the items not written yet with its message; a refusal fails
/// only its item.
pub fn remove_memberships(
    conn: &mut DbConnection,
    source_id: &str,
    group_id: &str,
    items: &[(&str, &str)],
) -> Result<WriteBack, AppError> {
    let mut out = WriteBack::default();
    if items.is_empty() {
        return Ok(out);
    }
    let (source, config) = find(conn, source_id)?;
    let group_dn = store::apply::group_external_id(conn, group_id)?;
    let user_ids: Vec<&str> = items.iter().map(|(_, u)| *u).collect();
    let dns = store::apply::user_external_ids(conn, &user_ids)?;
    let fail_all = |out: &mut WriteBack, message: &str, from: usize| {
        for (item, user) in &items[from..] {
            out.outcomes.insert((*item).to_owned(), WriteOutcome::Failed(message.to_owned()));
            out.audit.push((
                (*item).to_owned(),
                json!({ "source": source.name, "group": group_dn, "member": dns.get(*user), "outcome": "failed",
                        "error": message }),
            ));
        }
    };
    let Some(group_dn) = group_dn.clone() else {
        fail_all(&mut out, "the group has no DN in this connection: sync it again", 0);
        return Ok(out);
    };
    ldap::off_runtime(|| {
        let mut session = match open(&config) {
            Ok(s) => s,
            Err(message) => {
                fail_all(&mut out, &message, 0);
                return;
            }
        };
        let mut removed: Vec<(&str, String)> = Vec::new();
        for (i, (item, user)) in items.iter().enumerate() {
            let Some(member_dn) = dns.get(*user) else {
                out.outcomes.insert((*item).to_owned(), WriteOutcome::Failed("the user has no DN: sync again".into()));
                continue;
            };
            let (outcome, word, error) = match session.remove_member(&group_dn, member_dn) {
                Ok(ldap::Removal::Removed { .. }) => {
                    removed.push((item, ldap::normalise_dn(member_dn)));
                    (WriteOutcome::Removed, "removed", None)
                }
                Ok(ldap::Removal::AlreadyGone) => (WriteOutcome::AlreadyGone, "alreadyGone", None),
                Err(e) if e.is_connection() => {
                    fail_all(&mut out, &e.to_string(), i);
                    break;
                }
                Err(e) => (WriteOutcome::Failed(e.to_string()), "failed", Some(e.to_string())),
            };
            out.audit.push((
                (*item).to_owned(),
                json!({ "source": source.name, "group": group_dn, "member": member_dn, "outcome": word,
                        "error": error }),
            ));
            out.outcomes.insert((*item).to_owned(), outcome);
        }
        // Read back: a removal counts as verified once the directory no longer lists it.
        if !removed.is_empty() {
            match session.members_of(&group_dn) {
                Ok(now_held) => {
                    let held = now_held.unwrap_or_default();
                    out.verified =
                        removed.into_iter().filter(|(_, dn)| !held.contains(dn)).map(|(i, _)| i.to_owned()).collect();
                }
                Err(e) => {
                    tracing::warn!(source = %source.name, error = %e, "reading a group back after removals failed")
                }
            }
        }
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The pages' use cases: the connection form (save or test what was entered, every problem
// named at once) and a connection's page. Kept apart from the command line's functions
// above, which they reuse.
// ---------------------------------------------------------------------------------------

/// Why the connection form saved (or tested) nothing.
#[derive(Debug)]
pub enum FormError {
    /// What to fix, each message starting with the field's name ("URL: …").
    Invalid(Vec<String>),
    /// Anything else (the connection is gone, the database failed).
    App(AppError),
}

impl From<AppError> for FormError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

/// Everything wrong with what the form holds: what the edge found reading it (`found`:
/// a number that is not one, an unknown preset), the settings' problems, the name of a new
/// connection, and a missing password (a new connection with a bind DN needs one; an
/// existing one keeps its stored password when none is given).
fn form_problems(input: &ConnectionInput, new: bool, found: Vec<String>) -> Vec<String> {
    let mut problems = found;
    if new && let Some(p) = source::name_problem(&input.name) {
        problems.push(format!("Name: {p}"));
    }
    problems.extend(input.config.problems());
    let no_password = input.password.as_deref().is_none_or(str::is_empty);
    if new && no_password && !input.config.bind_dn.trim().is_empty() {
        problems.push("Password: give the bind DN's password.".into());
    }
    problems
}

/// Saves the form: adds a connection (`source_id` `None`) or changes one. Every problem is
/// returned at once (`found`: those the edge found reading the form); a refusal of
/// [`add`] or [`update`] (a name that is taken) too.
pub fn save(
    conn: &mut DbConnection,
    source_id: Option<&str>,
    (input, found): (ConnectionInput, Vec<String>),
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<SourceRow, FormError> {
    let problems = form_problems(&input, source_id.is_none(), found);
    if !problems.is_empty() {
        return Err(FormError::Invalid(problems));
    }
    let saved = match source_id {
        None => add(conn, input, by, now),
        Some(id) => update(conn, id, input, by, now),
    };
    saved.map_err(|e| match e {
        AppError::BadRequest(m) | AppError::Conflict(m) => FormError::Invalid(vec![m]),
        other => FormError::App(other),
    })
}

/// Tests the settings entered in the form before they are saved. Without a new password,
/// an existing connection (`source_id`) is tested with its stored one.
pub fn test_input(
    conn: &mut DbConnection,
    source_id: Option<&str>,
    (input, found): (ConnectionInput, Vec<String>),
) -> Result<TestOutcome, FormError> {
    let problems = form_problems(&input, source_id.is_none(), found);
    if !problems.is_empty() {
        return Err(FormError::Invalid(problems));
    }
    let password = match (input.password.filter(|p| !p.is_empty()), source_id) {
        (Some(p), _) => seal(&p)?,
        (None, Some(id)) => find(conn, id)?.1.password,
        (None, None) => String::new(),
    };
    Ok(test_config(&LdapConfig { password, ..input.config }))
}

/// A source's page: what [`sources::detail`] gives, with the settings of an LDAP
/// connection (its sealed password included: the page says only that one is stored).
pub fn source_page(
    conn: &mut DbConnection,
    source_id: &str,
) -> Result<(sources::SourceSummary, Vec<sources::TokenRow>, Option<LdapConfig>), AppError> {
    let (summary, tokens) = sources::detail(conn, source_id)?;
    let config = match summary.source.kind {
        SourceKind::Ldap => Some(config_of(&summary.source)?),
        _ => None,
    };
    Ok((summary, tokens, config))
}
