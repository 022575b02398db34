//! Importing a directory from CSV files into a CSV source, and sign-in events from exports.
//!
//! An import is one write transaction: the files are read in the order their kinds depend
//! on each other (users, groups, applications, then the links between them), a thousand
//! lines at a time; each chunk is compared with what the source holds and written in
//! batches. A dry run runs the very same code and rolls back, so the difference it shows is
//! exactly what a real run writes. Any problem in any file rolls everything back, and every
//! problem is listed with its file, line and column.
//!
//! References: a member, owner, manager or assignee given by userPrincipalName is the
//! source's own user of that name first, else any source's (UPNs are unique in the
//! directory); a group given by id is the source's own group with that id in the source;
//! an application is the one with that appId, whichever source holds it; a role is a role
//! definition by name or id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::db::{DbConnection, Retryable};
use crate::domain::source::SourceKind;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::sources;
use crate::sources::Records;
use crate::sources::csv::{Field, FileKind, Line, Principal, Problem, Reader, Record};
use crate::sources::sign_ins;
use crate::store;
use crate::store::import::{ImportedApp, ImportedGroup, ImportedRoleAssignment, ImportedUser, Link, Seen, tags};

/// Lines read and written together.
const CHUNK: usize = 1000;
/// Examples kept per kind and kind of change.
const EXAMPLES: usize = 3;
/// Problems listed at most (the rest are counted).
pub const MAX_PROBLEMS: usize = 200;

/// A file to import: the name to show in messages, and where it is.
#[derive(Debug, Clone)]
pub struct ImportFile {
    pub name: String,
    pub path: PathBuf,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Show the difference, write nothing.
    pub dry_run: bool,
    /// Remove the source's objects of the kinds in the files that the files no longer hold.
    pub full: bool,
}

/// What an import changes (or would change) of one kind of object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindDiff {
    pub kind: FileKind,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub added_examples: Vec<String>,
    pub changed_examples: Vec<String>,
    pub removed_examples: Vec<String>,
}

impl KindDiff {
    fn new(kind: FileKind) -> Self {
        Self {
            kind,
            added: 0,
            changed: 0,
            removed: 0,
            unchanged: 0,
            added_examples: Vec::new(),
            changed_examples: Vec::new(),
            removed_examples: Vec::new(),
        }
    }

    fn add(&mut self, example: impl FnOnce() -> String) {
        self.added += 1;
        if self.added_examples.len() < EXAMPLES {
            self.added_examples.push(example());
        }
    }

    fn change(&mut self, example: impl FnOnce() -> String) {
        self.changed += 1;
        if self.changed_examples.len() < EXAMPLES {
            self.changed_examples.push(example());
        }
    }
}

/// What an import did, or — for a dry run — would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub source: String,
    pub dry_run: bool,
    pub full: bool,
    /// Each file with its kind and number of records.
    pub files: Vec<(String, FileKind, u64)>,
    /// Per kind in the files, in import order.
    pub kinds: Vec<KindDiff>,
}

impl ImportReport {
    /// The report as lines of text, for the command line.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.kinds {
            out.push(format!(
                "{}: {} added, {} changed, {} removed, {} unchanged",
                d.kind, d.added, d.changed, d.removed, d.unchanged
            ));
            for (word, examples) in
                [("added", &d.added_examples), ("changed", &d.changed_examples), ("removed", &d.removed_examples)]
            {
                for e in examples {
                    out.push(format!("  {word}: {e}"));
                }
            }
        }
        out
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// The files have problems: the first [`MAX_PROBLEMS`] of them, and how many in all.
    Invalid { problems: Vec<Problem>, total: u64 },
    /// The source's directory was changed by applying review results after it was read
    /// (see [`Target::write_backs_seen`]): the read may predate those removals.
    Stale,
    /// Anything else (a bad source name, the database).
    App(AppError),
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::App(e) => write!(f, "{e}"),
            Self::Stale => write!(f, "{STALE}"),
            Self::Invalid { problems, total } => {
                writeln!(f, "nothing was imported: {total} problem(s) to fix")?;
                for p in problems {
                    writeln!(f, "  {p}")?;
                }
                if *total > problems.len() as u64 {
                    writeln!(f, "  … and {} more", *total - problems.len() as u64)?;
                }
                Ok(())
            }
        }
    }
}

/// How a transaction ends early: with problems, for a dry run, or on an error.
enum Abort {
    Invalid(Problems),
    DryRun(ImportReport),
    Stale,
    App(AppError),
}

/// What a stale read is told as.
const STALE: &str = "nothing was written: applying review results removed memberships in this directory while it \
                     was read, so the read may predate them; sync again";

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Self::App(e.into())
    }
}

impl From<AppError> for Abort {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl Retryable for Abort {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::App(e) if e.is_retryable())
    }
}

/// The problems met so far: the first [`MAX_PROBLEMS`], and a count.
#[derive(Debug, Default)]
struct Problems {
    list: Vec<Problem>,
    total: u64,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        self.total = self.total.saturating_add(1);
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(p);
        }
    }
}

fn open(file: &ImportFile) -> Result<Reader<BufReader<File>>, Problem> {
    let read = File::open(&file.path).map_err(|e| Problem {
        file: file.name.clone(),
        line: 0,
        column: None,
        message: format!("the file cannot be opened: {e}"),
    })?;
    Reader::new(&file.name, BufReader::new(read))
}

/// Imports `files` into the CSV source `source_name` (created on first use). Returns what
/// changed, or would change for a dry run. A failed import writes nothing and is recorded
/// on the source's page.
pub fn import(
    conn: &mut DbConnection,
    source_name: &str,
    files: &[ImportFile],
    options: ImportOptions,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<ImportReport, ImportError> {
    if files.is_empty() {
        return Err(ImportError::App(AppError::BadRequest("Choose at least one CSV file to import.".into())));
    }
    // The kinds first, so that the files are read in the order their references need.
    let mut problems = Problems::default();
    let mut ordered: Vec<(FileKind, &ImportFile)> = Vec::new();
    for file in files {
        match open(file) {
            Ok(reader) => ordered.push((reader.kind(), file)),
            Err(p) => problems.push(p),
        }
    }
    if problems.total > 0 {
        return Err(failed(conn, source_name, "A CSV import", problems, now));
    }
    ordered.sort_by_key(|(kind, _)| *kind);
    let target = Target {
        source: source_name,
        kind: SourceKind::Csv,
        inputs: ordered.iter().map(|(k, _)| *k).collect(),
        action: "DirectoryImported",
        what: "A CSV import",
        details: json!({ "files": files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>() }),
        write_backs_seen: None,
    };
    let open_input = |i: usize| -> Result<Box<dyn Records + '_>, Problem> {
        let (_, file) = ordered[i];
        Ok(Box::new(open(file)?))
    };
    write_records(conn, &target, open_input, options, by, now)
}

/// Where and how [`write_records`] writes.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The source's name (created on first use).
    pub source: &'a str,
    /// Its kind (a name of another kind's source is refused).
    pub kind: SourceKind,
    /// The kind of each input, in the order they are written.
    pub inputs: Vec<FileKind>,
    /// The audit event's action ("DirectoryImported", "DirectorySynced").
    pub action: &'a str,
    /// How the source's error list names a refused write ("A CSV import").
    pub what: &'a str,
    /// More details for the audit event.
    pub details: serde_json::Value,
    /// For a directory attest writes back to: the source's count of write-backs
    /// (`store::sources::write_backs`) taken before the directory was read. When an apply
    /// has written since, nothing is written ([`ImportError::Stale`]): writing the read
    /// would put back memberships just removed and flag them as granted again.
    pub write_backs_seen: Option<i64>,
}

/// Writes the inputs of `target` (`open_input(i)` opens the i-th, again on a retry) into
/// its source in one transaction, or — for a dry run — shows what that would change.
/// Records the audit event with the counts; a refused write is recorded on the source's
/// page.
pub fn write_records<'a>(
    conn: &mut DbConnection,
    target: &Target<'_>,
    open_input: impl Fn(usize) -> Result<Box<dyn Records + 'a>, Problem>,
    options: ImportOptions,
    by: Actor<'_>,
    now: NaiveDateTime,
) -> Result<ImportReport, ImportError> {
    let kinds = &target.inputs;
    store::import::before(conn).map_err(AppError::from)?;
    let outcome = conn.write(|conn| {
        let source = sources::ensure(conn, target.source, target.kind, now)?;
        if let Some(seen) = target.write_backs_seen {
            // Under the source's lock, so an apply batch cannot write back until this ends.
            store::locks::lock_source(conn, &source.id)?;
            if store::sources::write_backs(conn, &source.id)? != seen {
                return Err(Abort::Stale);
            }
        }
        store::import::begin(conn)?;
        let mut run = Run {
            source: &source.id,
            now,
            problems: Problems::default(),
            diffs: Vec::new(),
            files: Vec::new(),
            manager_columns: Vec::new(),
        };
        for i in 0..kinds.len() {
            match open_input(i) {
                Ok(mut input) => run.input(conn, input.as_mut())?,
                Err(p) => run.problems.push(p),
            }
        }
        if kinds.contains(&FileKind::Users) {
            run.managers(conn)?;
        }
        if options.full && run.problems.total == 0 {
            run.remove_unseen(conn, kinds)?;
        }
        store::import::end(conn)?;
        if run.problems.total > 0 {
            return Err(Abort::Invalid(std::mem::take(&mut run.problems)));
        }
        let report = ImportReport {
            source: source.name.clone(),
            dry_run: options.dry_run,
            full: options.full,
            files: run.files,
            kinds: run.diffs,
        };
        if options.dry_run {
            return Err(Abort::DryRun(report));
        }
        let counts: serde_json::Map<String, serde_json::Value> = report
            .kinds
            .iter()
            .map(|d| {
                (d.kind.slug().to_owned(), json!({ "added": d.added, "changed": d.changed, "removed": d.removed }))
            })
            .collect();
        let mut details = json!({ "source": source.name, "full": options.full, "counts": counts });
        if let (Some(all), serde_json::Value::Object(extra)) = (details.as_object_mut(), &target.details) {
            all.extend(extra.clone());
        }
        store::audit::append(conn, &by.event(now, target.action, ("Source", &source.id), details))?;
        sources::changed(conn, &source.id, now)?;
        Ok(report)
    });
    store::import::after(conn).map_err(AppError::from)?;
    match outcome {
        Ok(report) | Err(Abort::DryRun(report)) => Ok(report),
        Err(Abort::Invalid(problems)) => Err(failed(conn, target.source, target.what, problems, now)),
        Err(Abort::Stale) => Err(ImportError::Stale),
        Err(Abort::App(e)) => Err(ImportError::App(e)),
    }
}

/// The error of a failed import, recorded on the source when it exists.
fn failed(
    conn: &mut DbConnection,
    source_name: &str,
    what: &str,
    problems: Problems,
    now: NaiveDateTime,
) -> ImportError {
    if let Ok(Some(source)) = store::sources::by_name(conn, source_name) {
        let first = problems.list.first().map(ToString::to_string).unwrap_or_default();
        let message = format!("{what} was refused with {} problem(s), the first: {first}", problems.total);
        if let Err(e) = sources::record_error(conn, &source.id, &message, now) {
            tracing::warn!(error = %e, "recording a failed import");
        }
    }
    ImportError::Invalid { problems: problems.list, total: problems.total }
}

/// One import's state inside its transaction.
struct Run<'a> {
    source: &'a str,
    now: NaiveDateTime,
    problems: Problems,
    diffs: Vec<KindDiff>,
    files: Vec<(String, FileKind, u64)>,
    /// Per users file read: its name and the position and name of its manager column,
    /// for problems found when managers are resolved after every user is written.
    manager_columns: Vec<(String, Option<(usize, String)>)>,
}

impl Run<'_> {
    fn diff(&mut self, kind: FileKind) -> &mut KindDiff {
        let i = match self.diffs.iter().position(|d| d.kind == kind) {
            Some(i) => i,
            None => {
                self.diffs.push(KindDiff::new(kind));
                self.diffs.len() - 1
            }
        };
        &mut self.diffs[i]
    }

    /// Reads one input in chunks and writes each.
    fn input(&mut self, conn: &mut DbConnection, reader: &mut dyn Records) -> Result<(), Abort> {
        let kind = reader.kind();
        self.diff(kind);
        if kind == FileKind::Users {
            self.manager_columns.push((reader.name().to_owned(), reader.column_of(Field::ManagerUpn)));
        }
        let mut rows = 0u64;
        let mut chunk: Vec<Line> = Vec::with_capacity(CHUNK);
        loop {
            let next = reader.next_record();
            let done = next.is_none();
            match next {
                Some(Ok(line)) => {
                    rows += 1;
                    chunk.push(line);
                }
                Some(Err(problems)) => {
                    rows += 1;
                    problems.into_iter().for_each(|p| self.problems.push(p));
                }
                None => {}
            }
            if chunk.len() >= CHUNK || (done && !chunk.is_empty()) {
                let lines = std::mem::take(&mut chunk);
                self.chunk(conn, reader, lines)?;
            }
            if done {
                break;
            }
        }
        self.files.push((reader.name().to_owned(), kind, rows));
        Ok(())
    }

    /// Drops lines whose key an earlier line had, naming both.
    fn unique(&mut self, conn: &mut DbConnection, reader: &dyn Records, lines: Vec<Line>) -> Result<Vec<Line>, Abort> {
        let kind = reader.kind();
        let keys: Vec<String> = lines.iter().map(|l| l.record.key()).collect();
        let earlier = store::import::seen_lines(conn, tags_of(kind), &keys)?;
        let mut here: HashMap<String, u64> = HashMap::new();
        let mut out = Vec::with_capacity(lines.len());
        for (line, key) in lines.into_iter().zip(keys) {
            let first = earlier.get(&key).map(|l| u64::try_from(*l).unwrap_or(0)).or_else(|| here.get(&key).copied());
            if let Some(first) = first {
                let field = key_field(kind);
                self.problems.push(reader.problem(
                    line.line,
                    Some(field),
                    format!("this {} repeats line {first}: keep one line per {}.", singular(kind), key_words(kind)),
                ));
                continue;
            }
            here.insert(key, line.line);
            out.push(line);
        }
        Ok(out)
    }

    fn chunk(&mut self, conn: &mut DbConnection, reader: &dyn Records, lines: Vec<Line>) -> Result<(), Abort> {
        let lines = self.unique(conn, reader, lines)?;
        match reader.kind() {
            FileKind::Users => self.users(conn, reader, lines),
            FileKind::Groups => self.groups(conn, lines),
            FileKind::Applications => self.apps(conn, reader, lines),
            FileKind::GroupMembers | FileKind::GroupOwners | FileKind::AppAssignments => {
                self.links(conn, reader, lines)
            }
            FileKind::RoleAssignments => self.role_assignments(conn, reader, lines),
        }
    }

    fn users(&mut self, conn: &mut DbConnection, reader: &dyn Records, lines: Vec<Line>) -> Result<(), Abort> {
        let keys: Vec<String> = lines.iter().map(|l| l.record.key()).collect();
        let existing: HashMap<String, (ImportedUser, Option<String>)> = store::import::users_by_upn(conn, &keys)?
            .into_iter()
            .map(|(u, manager)| (u.upn.to_lowercase(), (u, manager)))
            .collect();
        let (mut new, mut seen, mut signed_in) = (Vec::new(), Vec::new(), Vec::new());
        for (line, key) in lines.into_iter().zip(keys) {
            let Record::User(r) = line.record else { continue };
            let old = existing.get(&key);
            if let Some((old, _)) = old
                && old.source_id != self.source
            {
                self.problems.push(reader.problem(
                    line.line,
                    Some(Field::Upn),
                    format!(
                        "the user {} belongs to another source: a source changes only its own users. Remove the \
                         line, or remove the user from the other source first.",
                        old.upn
                    ),
                ));
                continue;
            }
            let row = ImportedUser {
                id: old.map_or_else(|| uuid::Uuid::new_v4().to_string(), |(o, _)| o.id.clone()),
                upn: r.upn.clone(),
                display_name: r.display_name,
                mail: r.mail,
                user_type: r.user_type,
                enabled: r.enabled,
                department: r.department,
                job_title: r.job_title,
                employee_number: r.employee_id,
                external_id: r.external_id,
                given_name: r.given_name,
                family_name: r.family_name,
                source_id: self.source.to_owned(),
            };
            if let Some(at) = r.last_sign_in {
                signed_in.push((row.id.clone(), at));
            }
            let mut counted = true;
            match old {
                None => {
                    self.diff(FileKind::Users).add(|| row.upn.clone());
                    new.push(row.clone());
                }
                Some((old, manager)) => {
                    let manager_dropped = r.manager_upn.is_none() && manager.is_some();
                    if *old != row || manager_dropped {
                        let what = changed_fields(old, &row, manager_dropped);
                        self.diff(FileKind::Users).change(|| format!("{} ({what})", row.upn));
                        store::import::update_user(conn, &row, self.now)?;
                        if manager_dropped {
                            store::import::set_manager(conn, self.source, &row.id, None)?;
                        }
                    } else {
                        counted = false;
                        self.diff(FileKind::Users).unchanged += 1;
                    }
                }
            }
            seen.push(Seen {
                tag: tags::USERS,
                key,
                line: i64::try_from(line.line).unwrap_or(i64::MAX),
                a: row.id,
                b: self.manager_columns.len().saturating_sub(1).to_string(),
                reference: r.manager_upn.map(|m| m.to_lowercase()),
                counted,
            });
        }
        store::import::insert_users(conn, &new, self.now)?;
        // Not a change of the user: a directory's last sign-in only moves forward.
        store::import::raise_last_sign_in(conn, &signed_in)?;
        store::import::mark_seen(conn, &seen)?;
        Ok(())
    }

    /// Sets the managers the users files named, once every user is written.
    fn managers(&mut self, conn: &mut DbConnection) -> Result<(), Abort> {
        let mut after = String::new();
        loop {
            let batch = store::import::with_references(conn, tags::USERS, &after, CHUNK as i64)?;
            let Some(last) = batch.last() else { break };
            after = last.key.clone();
            let upns: Vec<String> = batch.iter().filter_map(|s| s.reference.clone()).collect();
            let ids = store::import::user_ids(conn, self.source, &upns)?;
            let users: Vec<String> = batch.iter().map(|s| s.a.clone()).collect();
            let current = store::import::managers(conn, &users)?;
            // Changed managers, each with their reports in this chunk: one write per manager.
            let mut changed: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for seen in batch {
                let Some(manager_upn) = &seen.reference else { continue };
                let (file, column) =
                    seen.b.parse::<usize>().ok().and_then(|i| self.manager_columns.get(i).cloned()).unwrap_or_default();
                let Some(manager) = ids.get(manager_upn) else {
                    self.problems.push(Problem {
                        file,
                        line: u64::try_from(seen.line).unwrap_or(0),
                        column,
                        message: format!(
                            "the manager {manager_upn} of {} is not a user of the directory: add them to the users \
                             file or leave managerUserPrincipalName empty.",
                            seen.key
                        ),
                    });
                    continue;
                };
                if manager == &seen.a {
                    self.problems.push(Problem {
                        file,
                        line: u64::try_from(seen.line).unwrap_or(0),
                        column,
                        message: format!("{} cannot be their own manager.", seen.key),
                    });
                    continue;
                }
                if current.get(&seen.a).and_then(Option::as_deref) != Some(manager.as_str()) {
                    changed.entry(manager.clone()).or_default().push(seen.a.clone());
                    if !seen.counted {
                        let diff = self.diff(FileKind::Users);
                        diff.unchanged = diff.unchanged.saturating_sub(1);
                        diff.change(|| format!("{} (manager)", seen.key));
                    }
                }
            }
            for (manager, reports) in changed {
                store::import::set_managers(conn, self.source, Some(&manager), &reports)?;
            }
        }
        Ok(())
    }

    fn groups(&mut self, conn: &mut DbConnection, lines: Vec<Line>) -> Result<(), Abort> {
        let keys: Vec<String> = lines.iter().map(|l| l.record.key()).collect();
        let existing: HashMap<String, ImportedGroup> = store::import::groups_by_external(conn, self.source, &keys)?
            .into_iter()
            .filter_map(|g| Some((g.external_id.clone()?, g)))
            .collect();
        let (mut new, mut seen) = (Vec::new(), Vec::new());
        for (line, key) in lines.into_iter().zip(keys) {
            let Record::Group(r) = line.record else { continue };
            let old = existing.get(&key);
            let row = ImportedGroup {
                id: old.map_or_else(|| uuid::Uuid::new_v4().to_string(), |o| o.id.clone()),
                external_id: Some(r.id.clone()),
                display_name: r.display_name,
                description: r.description,
                group_type: r.group_type,
                source_id: self.source.to_owned(),
            };
            match old {
                None => {
                    self.diff(FileKind::Groups).add(|| format!("{} ({})", row.display_name, r.id));
                    new.push(row.clone());
                }
                Some(old) if *old != row => {
                    self.diff(FileKind::Groups).change(|| format!("{} ({})", row.display_name, r.id));
                    store::import::update_group(conn, &row, self.now)?;
                }
                Some(_) => self.diff(FileKind::Groups).unchanged += 1,
            }
            seen.push(seen_row(tags::GROUPS, key, line.line, row.id, String::new()));
        }
        store::import::insert_groups(conn, &new, self.now)?;
        store::import::mark_seen(conn, &seen)?;
        Ok(())
    }

    fn apps(&mut self, conn: &mut DbConnection, reader: &dyn Records, lines: Vec<Line>) -> Result<(), Abort> {
        let keys: Vec<String> = lines.iter().map(|l| l.record.key()).collect();
        let existing: HashMap<String, ImportedApp> =
            store::import::apps_by_app_id(conn, &keys)?.into_iter().map(|a| (a.app_id.clone(), a)).collect();
        let (mut new, mut seen) = (Vec::new(), Vec::new());
        for (line, key) in lines.into_iter().zip(keys) {
            let Record::Application(r) = line.record else { continue };
            let old = existing.get(&key);
            if let Some(old) = old
                && old.source_id != self.source
            {
                self.problems.push(reader.problem(
                    line.line,
                    Some(Field::AppId),
                    format!(
                        "the application {} ({}) belongs to another source: a source changes only its own \
                         applications. Remove the line.",
                        old.display_name, old.app_id
                    ),
                ));
                continue;
            }
            let row = ImportedApp {
                id: old.map_or_else(|| uuid::Uuid::new_v4().to_string(), |o| o.id.clone()),
                app_id: r.app_id.clone(),
                display_name: r.display_name,
                assignment_required: r.assignment_required,
                homepage: r.homepage,
                external_id: Some(r.app_id),
                source_id: self.source.to_owned(),
            };
            match old {
                None => {
                    self.diff(FileKind::Applications).add(|| row.display_name.clone());
                    new.push(row.clone());
                }
                Some(old) if *old != row => {
                    self.diff(FileKind::Applications).change(|| row.display_name.clone());
                    store::import::update_app(conn, &row)?;
                }
                Some(_) => self.diff(FileKind::Applications).unchanged += 1,
            }
            seen.push(seen_row(tags::APPS, key, line.line, row.id, String::new()));
        }
        store::import::insert_apps(conn, &new, self.now)?;
        store::import::mark_seen(conn, &seen)?;
        Ok(())
    }

    /// Memberships, ownerships and app assignments: links between two resolved objects.
    fn links(&mut self, conn: &mut DbConnection, reader: &dyn Records, lines: Vec<Line>) -> Result<(), Abort> {
        let kind = reader.kind();
        // Resolve every name the chunk uses, in a few queries.
        let (mut upns, mut group_keys, mut app_keys) = (HashSet::new(), HashSet::new(), HashSet::new());
        for line in &lines {
            match &line.record {
                Record::Member { group, member } => {
                    group_keys.insert(group.clone());
                    match member {
                        Principal::User(u) => upns.insert(u.to_lowercase()),
                        Principal::Group(g) => group_keys.insert(g.clone()),
                    };
                }
                Record::Owner { group, owner } => {
                    group_keys.insert(group.clone());
                    upns.insert(owner.to_lowercase());
                }
                Record::AppAssignment { app_id, principal, .. } => {
                    app_keys.insert(app_id.clone());
                    match principal {
                        Principal::User(u) => upns.insert(u.to_lowercase()),
                        Principal::Group(g) => group_keys.insert(g.clone()),
                    };
                }
                _ => {}
            }
        }
        let users = store::import::user_ids(conn, self.source, &upns.into_iter().collect::<Vec<_>>())?;
        let groups = store::import::group_ids(conn, self.source, &group_keys.into_iter().collect::<Vec<_>>())?;
        let apps: HashMap<String, (String, String)> =
            store::import::apps_by_app_id(conn, &app_keys.into_iter().collect::<Vec<_>>())?
                .into_iter()
                .map(|a| (a.app_id.clone(), (a.id, a.display_name)))
                .collect();
        // (link, left id, right id, role, key, line, example)
        let mut wanted: Vec<(Link, String, String, String, String, u64, String)> = Vec::new();
        for line in lines {
            let key = line.record.key();
            let group_of = |run: &mut Self, id: &str, field: Field| -> Option<String> {
                let found = groups.get(id).cloned();
                if found.is_none() {
                    run.problems.push(reader.problem(
                        line.line,
                        Some(field),
                        format!("there is no group with the id {id:?} in this source: add it to the groups file."),
                    ));
                }
                found
            };
            let user_of = |run: &mut Self, upn: &str, field: Field| -> Option<String> {
                let found = users.get(&upn.to_lowercase()).cloned();
                if found.is_none() {
                    run.problems.push(reader.problem(
                        line.line,
                        Some(field),
                        format!("there is no user {upn} in the directory: add them to the users file."),
                    ));
                }
                found
            };
            let item = match line.record {
                Record::Member { group, member } => {
                    let g = group_of(self, &group, Field::GroupId);
                    let (link, m) = match &member {
                        Principal::User(u) => (Link::MemberUser, user_of(self, u, Field::MemberUpn)),
                        Principal::Group(id) => (Link::MemberGroup, group_of(self, id, Field::MemberGroupId)),
                    };
                    let name = match member {
                        Principal::User(u) | Principal::Group(u) => u,
                    };
                    g.zip(m).map(|(g, m)| (link, g, m, String::new(), format!("{name} in {group}")))
                }
                Record::Owner { group, owner } => {
                    let g = group_of(self, &group, Field::GroupId);
                    let u = user_of(self, &owner, Field::OwnerUpn);
                    g.zip(u).map(|(g, u)| (Link::Owner, g, u, String::new(), format!("{owner} owns {group}")))
                }
                Record::AppAssignment { app_id, principal, app_role } => {
                    let app = apps.get(&app_id).cloned();
                    if app.is_none() {
                        self.problems.push(reader.problem(
                            line.line,
                            Some(Field::AppId),
                            format!(
                                "there is no application with the appId {app_id:?}: add it to the applications file."
                            ),
                        ));
                    }
                    let (link, p, name) = match principal {
                        Principal::User(u) => (Link::AppUser, user_of(self, &u, Field::Upn), u),
                        Principal::Group(id) => (Link::AppGroup, group_of(self, &id, Field::GroupId), id),
                    };
                    app.zip(p).map(|((a, app_name), p)| (link, a, p, app_role, format!("{name} in {app_name}")))
                }
                _ => None,
            };
            if let Some((link, l, r, role, example)) = item {
                wanted.push((link, l, r, role, key, line.line, example));
            }
        }
        for link in [Link::MemberUser, Link::MemberGroup, Link::Owner, Link::AppUser, Link::AppGroup] {
            let these: Vec<&(Link, String, String, String, String, u64, String)> =
                wanted.iter().filter(|w| w.0 == link).collect();
            if these.is_empty() {
                continue;
            }
            let pairs: Vec<(String, String)> = these.iter().map(|w| (w.1.clone(), w.2.clone())).collect();
            let existing = store::import::links(conn, link, &pairs)?;
            let (mut new, mut seen) = (Vec::new(), Vec::new());
            for (_, l, r, role, key, line, example) in these {
                match existing.get(&(l.clone(), r.clone())) {
                    None => {
                        self.diff(kind).add(|| example.clone());
                        new.push((l.clone(), r.clone(), role.clone()));
                    }
                    // Held by another source already: that source's link, left alone.
                    Some(found) if found.source_id != self.source => self.diff(kind).unchanged += 1,
                    Some(found)
                        if matches!(link, Link::AppUser | Link::AppGroup)
                            && found.app_role.as_deref() != Some(role.as_str()) =>
                    {
                        self.diff(kind).change(|| format!("{example} (role {role})"));
                        store::import::set_app_role(conn, link, self.source, l, r, role)?;
                    }
                    Some(_) => self.diff(kind).unchanged += 1,
                }
                seen.push(seen_row(link_tag(link), key.clone(), *line, l.clone(), r.clone()));
            }
            store::import::insert_links(conn, link, self.source, &new, self.now)?;
            store::import::mark_seen(conn, &seen)?;
        }
        Ok(())
    }

    fn role_assignments(
        &mut self,
        conn: &mut DbConnection,
        reader: &dyn Records,
        lines: Vec<Line>,
    ) -> Result<(), Abort> {
        let mut role_names = HashSet::new();
        let mut upns = HashSet::new();
        for line in &lines {
            if let Record::RoleAssignment(r) = &line.record {
                role_names.insert(r.role.clone());
                role_names.insert(r.role.to_lowercase());
                upns.insert(r.upn.to_lowercase());
            }
        }
        let roles = store::import::role_ids(conn, &role_names.into_iter().collect::<Vec<_>>())?;
        let users = store::import::user_ids(conn, self.source, &upns.into_iter().collect::<Vec<_>>())?;
        let role_ids: Vec<String> = roles.values().cloned().collect::<HashSet<_>>().into_iter().collect();
        let user_ids: Vec<String> = users.values().cloned().collect();
        let existing: HashMap<(String, String, String, String), ImportedRoleAssignment> =
            store::import::role_assignments_of(conn, &role_ids, &user_ids)?
                .into_iter()
                .map(|a| {
                    ((a.role_id.clone(), a.user_id.clone(), a.scope.clone(), a.assignment_type.as_str().to_owned()), a)
                })
                .collect();
        let (mut new, mut seen) = (Vec::new(), Vec::new());
        for line in lines {
            let key = line.record.key();
            let Record::RoleAssignment(r) = line.record else { continue };
            let role = roles.get(&r.role).or_else(|| roles.get(&r.role.to_lowercase()));
            if role.is_none() {
                self.problems.push(reader.problem(
                    line.line,
                    Some(Field::Role),
                    format!("there is no role named {:?}: use a role's name or id as the directory shows it.", r.role),
                ));
            }
            let user = users.get(&r.upn.to_lowercase());
            if user.is_none() {
                self.problems.push(reader.problem(
                    line.line,
                    Some(Field::Upn),
                    format!("there is no user {} in the directory: add them to the users file.", r.upn),
                ));
            }
            let (Some(role), Some(user)) = (role, user) else { continue };
            let old =
                existing.get(&(role.clone(), user.clone(), r.scope.clone(), r.assignment_type.as_str().to_owned()));
            if let Some(old) = old
                && old.source_id != self.source
            {
                self.diff(FileKind::RoleAssignments).unchanged += 1;
                continue;
            }
            let row = ImportedRoleAssignment {
                id: old.map_or_else(|| uuid::Uuid::new_v4().to_string(), |o| o.id.clone()),
                role_id: role.clone(),
                user_id: user.clone(),
                scope: r.scope.clone(),
                scope_name: r.scope_name.clone(),
                assignment_type: r.assignment_type,
                start_at: r.start.unwrap_or(self.now),
                end_at: r.end,
                source_id: self.source.to_owned(),
            };
            let example = || format!("{} as {} ({})", r.upn, r.role, r.assignment_type);
            match old {
                None => {
                    self.diff(FileKind::RoleAssignments).add(example);
                    new.push(row.clone());
                }
                // An empty start keeps the start the assignment has.
                Some(old) => {
                    let row = ImportedRoleAssignment { start_at: r.start.unwrap_or(old.start_at), ..row.clone() };
                    if *old != row {
                        self.diff(FileKind::RoleAssignments).change(example);
                        store::import::update_role_assignment(conn, &row)?;
                    } else {
                        self.diff(FileKind::RoleAssignments).unchanged += 1;
                    }
                }
            }
            seen.push(seen_row(tags::ROLE_ASSIGNMENTS, key, line.line, row.id, String::new()));
        }
        store::import::insert_role_assignments(conn, &new)?;
        store::import::mark_seen(conn, &seen)?;
        Ok(())
    }

    /// A full import: removes the source's objects of the kinds in the files that the files
    /// no longer hold, links before the objects they join.
    fn remove_unseen(&mut self, conn: &mut DbConnection, kinds: &[FileKind]) -> Result<(), Abort> {
        for kind in FileKind::ALL.into_iter().rev().filter(|k| kinds.contains(k)) {
            for tag in tags_of(kind) {
                let removed = store::import::remove_unseen(conn, self.source, tag, EXAMPLES as i64)?;
                let diff = self.diff(kind);
                diff.removed = diff.removed.saturating_add(u64::try_from(removed.count).unwrap_or(0));
                for e in removed.examples {
                    if diff.removed_examples.len() < EXAMPLES {
                        diff.removed_examples.push(e);
                    }
                }
            }
        }
        // The report lists kinds in import order.
        self.diffs.sort_by_key(|d| d.kind);
        Ok(())
    }
}

fn seen_row(tag: &'static str, key: String, line: u64, a: String, b: String) -> Seen {
    Seen { tag, key, line: i64::try_from(line).unwrap_or(i64::MAX), a, b, reference: None, counted: true }
}

fn tags_of(kind: FileKind) -> &'static [&'static str] {
    match kind {
        FileKind::Users => &[tags::USERS],
        FileKind::Groups => &[tags::GROUPS],
        FileKind::Applications => &[tags::APPS],
        FileKind::GroupMembers => &[tags::MEMBER_USERS, tags::MEMBER_GROUPS],
        FileKind::GroupOwners => &[tags::OWNERS],
        FileKind::AppAssignments => &[tags::APP_USERS, tags::APP_GROUPS],
        FileKind::RoleAssignments => &[tags::ROLE_ASSIGNMENTS],
    }
}

fn link_tag(link: Link) -> &'static str {
    match link {
        Link::MemberUser => tags::MEMBER_USERS,
        Link::MemberGroup => tags::MEMBER_GROUPS,
        Link::Owner => tags::OWNERS,
        Link::AppUser => tags::APP_USERS,
        Link::AppGroup => tags::APP_GROUPS,
    }
}

fn key_field(kind: FileKind) -> Field {
    match kind {
        FileKind::Users | FileKind::RoleAssignments => Field::Upn,
        FileKind::Groups | FileKind::GroupMembers | FileKind::GroupOwners => Field::GroupId,
        FileKind::Applications | FileKind::AppAssignments => Field::AppId,
    }
}

fn singular(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Users => "user",
        FileKind::Groups => "group",
        FileKind::Applications => "application",
        FileKind::GroupMembers => "membership",
        FileKind::GroupOwners => "ownership",
        FileKind::AppAssignments => "app assignment",
        FileKind::RoleAssignments => "role assignment",
    }
}

fn key_words(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Users => "userPrincipalName (whatever its case)",
        FileKind::Groups => "group id",
        FileKind::Applications => "appId",
        FileKind::GroupMembers => "group and member",
        FileKind::GroupOwners => "group and owner",
        FileKind::AppAssignments => "application and user or group",
        FileKind::RoleAssignments => "role, user, scope and assignment type",
    }
}

/// The names of the fields that differ, for a change's example.
fn changed_fields(old: &ImportedUser, new: &ImportedUser, manager: bool) -> String {
    let mut out = Vec::new();
    let checks: [(&str, bool); 11] = [
        ("userPrincipalName", old.upn != new.upn),
        ("displayName", old.display_name != new.display_name),
        ("mail", old.mail != new.mail),
        ("userType", old.user_type != new.user_type),
        ("accountEnabled", old.enabled != new.enabled),
        ("department", old.department != new.department),
        ("jobTitle", old.job_title != new.job_title),
        ("employeeId", old.employee_number != new.employee_number),
        ("externalId", old.external_id != new.external_id),
        ("givenName", old.given_name != new.given_name),
        ("surname", old.family_name != new.family_name),
    ];
    out.extend(checks.iter().filter(|(_, differs)| *differs).map(|(name, _)| *name));
    if manager {
        out.push("manager");
    }
    out.join(", ")
}

// ---- sign-in events ----

/// What a sign-in import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SignInReport {
    /// Lines read (events and others).
    pub read: u64,
    /// Successful sign-ins recorded now.
    pub imported: u64,
    /// Successful sign-ins that were recorded before (the same event imported again).
    pub already_imported: u64,
    /// Failed sign-ins and other events, not counted.
    pub skipped: u64,
    /// Sign-ins of users the directory does not have.
    pub unknown_users: u64,
    /// A few of those users.
    pub unknown_user_examples: Vec<String>,
    /// Sign-ins to applications the directory does not have (kept as sign-ins to the tenant).
    pub unknown_apps: u64,
}

/// A sign-in file to read: a name for messages, and its content.
pub struct SignInFile<'a> {
    pub name: String,
    pub read: Box<dyn Read + 'a>,
}

/// Imports sign-in events: successful sign-ins of known users are recorded once each (by
/// the export's event id, else by user, application and time) and move the users' last
/// sign-in forward. A line that cannot be read is a problem and nothing is written; unknown
/// users are counted, not fatal.
pub fn import_sign_ins(conn: &mut DbConnection, files: Vec<SignInFile<'_>>) -> Result<SignInReport, ImportError> {
    let mut report = SignInReport::default();
    let mut readers = Vec::new();
    let mut problems = Problems::default();
    for file in files {
        match sign_ins::Reader::new(&file.name, file.read) {
            Ok(r) => readers.push(r),
            Err(p) => problems.push(p),
        }
    }
    if problems.total > 0 {
        return Err(ImportError::Invalid { problems: problems.list, total: problems.total });
    }
    // The files are streams, read once: a transaction that PostgreSQL asks to run again is
    // refused instead (the same files sent again are imported, idempotently).
    let mut started = false;
    let result = conn.write(|conn| {
        if std::mem::replace(&mut started, true) {
            return Err(Abort::App(AppError::Conflict(
                "Another import wrote sign-ins at the same time: send the events again.".into(),
            )));
        }
        let mut chunk = Vec::with_capacity(CHUNK);
        for reader in &mut readers {
            loop {
                let next = reader.next_event();
                let done = next.is_none();
                match next {
                    Some(sign_ins::Outcome::Event(e)) => {
                        report.read += 1;
                        chunk.push(e);
                    }
                    Some(sign_ins::Outcome::Skipped) => {
                        report.read += 1;
                        report.skipped += 1;
                    }
                    Some(sign_ins::Outcome::Problem(p)) => {
                        report.read += 1;
                        problems.push(p);
                    }
                    None => {}
                }
                if chunk.len() >= CHUNK || (done && !chunk.is_empty()) {
                    record_sign_ins(conn, std::mem::take(&mut chunk), &mut report)?;
                }
                if done {
                    break;
                }
            }
        }
        if problems.total > 0 {
            return Err(Abort::Invalid(std::mem::take(&mut problems)));
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(report),
        Err(Abort::Invalid(p)) => Err(ImportError::Invalid { problems: p.list, total: p.total }),
        Err(Abort::App(e)) => Err(ImportError::App(e)),
        Err(Abort::DryRun(_) | Abort::Stale) => {
            Err(ImportError::App(AppError::internal(anyhow::anyhow!("a sign-in import has no dry run or stale read"))))
        }
    }
}

fn record_sign_ins(
    conn: &mut DbConnection,
    events: Vec<sign_ins::Event>,
    report: &mut SignInReport,
) -> Result<(), Abort> {
    use sign_ins::{App, Who};
    let mut upns = HashSet::new();
    let mut ids = HashSet::new();
    let mut apps = HashSet::new();
    for e in &events {
        match &e.user {
            Who::Upn(u) => upns.insert(u.to_lowercase()),
            Who::Id(i) => ids.insert(i.clone()),
        };
        match &e.app {
            Some(App::Id(a) | App::Name(a)) => apps.insert(a.clone()),
            None => false,
        };
    }
    let known = store::sign_ins::resolve(
        conn,
        &upns.into_iter().collect::<Vec<_>>(),
        &ids.into_iter().collect::<Vec<_>>(),
        &apps.into_iter().collect::<Vec<_>>(),
    )?;
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        let user = match &e.user {
            Who::Upn(u) => known.users_by_upn.get(&u.to_lowercase()),
            Who::Id(i) => known.user_ids.get(i),
        };
        let Some(user) = user else {
            report.unknown_users += 1;
            let name = match e.user {
                Who::Upn(u) | Who::Id(u) => u,
            };
            if report.unknown_user_examples.len() < EXAMPLES && !report.unknown_user_examples.contains(&name) {
                report.unknown_user_examples.push(name);
            }
            continue;
        };
        let app = match &e.app {
            None => None,
            Some(App::Id(a)) => {
                let found = known.apps_by_app_id.get(a).cloned();
                if found.is_none() {
                    report.unknown_apps += 1;
                }
                found
            }
            Some(App::Name(n)) => {
                let found = known.apps_by_app_id.get(n).or_else(|| known.apps_by_name.get(&n.to_lowercase())).cloned();
                if found.is_none() {
                    report.unknown_apps += 1;
                }
                found
            }
        };
        let key = match &e.event_id {
            Some(id) => format!("id:{id}"),
            None => {
                use sha2::Digest;
                let text = format!("{user}\u{1f}{}\u{1f}{}", app.as_deref().unwrap_or(""), e.at);
                format!("k:{:x}", sha2::Sha256::digest(text.as_bytes()))
            }
        };
        rows.push(store::sign_ins::KeyedSignIn {
            user_id: user.clone(),
            app_id: app,
            signed_in_at: e.at,
            event_key: key,
        });
    }
    let inserted = store::sign_ins::insert_keyed(conn, &rows)?;
    report.imported += inserted as u64;
    report.already_imported += (rows.len() - inserted.min(rows.len())) as u64;
    Ok(())
}
