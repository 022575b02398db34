//! `/admin/directory/import`: the upload page of the CSV import. Step one uploads the
//! files (multipart) and shows the dry run's difference; step two ("Import") runs the same
//! import for real from the files kept on the server under a random id — the difference is
//! computed again there, never taken from the browser. Both steps carry the CSRF token
//! (the upload in a form part that this handler checks before it keeps anything); both are
//! for admins only. The templates of every kind of file are downloads linked on the page.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::service::actor::Actor;
use crate::service::import::{self, ImportError, ImportFile, ImportOptions, ImportReport};
use crate::sources::csv::FileKind;
use crate::web::guard::Admin;
use crate::web::{Chrome, Section, State, csrf, flash};

/// The most an upload may hold, all files together.
pub const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;
/// The most files one upload may hold.
const MAX_FILES: usize = 20;
/// How long uploaded files wait for "Import".
const KEPT_FOR: Duration = Duration::from_secs(30 * 60);

/// Where uploads wait between the two steps.
fn stash_root() -> PathBuf {
    std::env::temp_dir().join("attest-imports")
}

/// What is kept beside the uploaded files.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// The admin who uploaded them: only they may import them.
    user_id: String,
    source: String,
    full: bool,
    /// The files' names as uploaded, in order; stored as `0.csv`, `1.csv`, …
    names: Vec<String>,
}

/// A kind of file and its template's link, for the page.
pub struct TemplateLink {
    pub label: &'static str,
    pub href: String,
    pub headers: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    chrome: Chrome,
    source: String,
    full: bool,
    errors: Vec<String>,
    more_errors: u64,
    report: Option<ImportReport>,
    upload_id: String,
    templates: Vec<TemplateLink>,
}

impl ImportPage {
    fn new(chrome: Chrome) -> Self {
        Self {
            chrome: chrome.in_section(Section::Directory),
            source: String::new(),
            full: false,
            errors: Vec::new(),
            more_errors: 0,
            report: None,
            upload_id: String::new(),
            templates: FileKind::ALL
                .into_iter()
                .map(|k| TemplateLink {
                    label: k.label(),
                    href: format!("/admin/directory/import/templates/{}.csv", k.slug()),
                    headers: k.headers().join(", "),
                })
                .collect(),
        }
    }

    fn with_error(mut self, error: ImportError) -> Self {
        match error {
            ImportError::Invalid { problems, total } => {
                self.more_errors = total.saturating_sub(problems.len() as u64);
                self.errors = problems.iter().map(ToString::to_string).collect();
            }
            ImportError::App(AppError::BadRequest(m) | AppError::Conflict(m) | AppError::NotFound(m)) => {
                self.errors = vec![m];
            }
            ImportError::Stale => self.errors = vec![error.to_string()],
            ImportError::App(e) => {
                tracing::error!(error = %e, "an import failed");
                self.errors = vec!["The import failed; nothing was written. Try again in a moment.".into()];
            }
        }
        self
    }
}

/// `GET /admin/directory/import`
pub async fn page(_admin: Admin, chrome: Chrome) -> ImportPage {
    ImportPage::new(chrome)
}

/// `GET /admin/directory/import/templates/{kind}.csv`
pub async fn template(_admin: Admin, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let kind = name
        .strip_suffix(".csv")
        .and_then(FileKind::from_slug)
        .ok_or_else(|| AppError::NotFound("There is no such template.".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}.csv\"", kind.slug())))
        .body(kind.template()))
}

/// A form part's name.
fn part_name(field: &actix_multipart::Field) -> String {
    field.content_disposition().and_then(|d| d.get_name()).unwrap_or_default().to_owned()
}

/// Reads a small text part (at most 4 KiB).
async fn small_text(field: &mut actix_multipart::Field) -> Result<String, String> {
    let mut out = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|_| "The upload was cut off; try again.".to_owned())?;
        if out.len() + chunk.len() > 4096 {
            return Err("A form field is too long.".into());
        }
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).map_err(|_| "A form field is not text.".into())
}

/// `POST /admin/directory/import` (multipart): keeps the files and shows the dry run.
pub async fn upload(admin: Admin, state: State, chrome: Chrome, session: Session, mut form: Multipart) -> ImportPage {
    let page = ImportPage::new(chrome);
    let id = crate::auth::token::new_token();
    let dir = stash_root().join(&id);
    let read = read_upload(&session, &mut form, &dir).await;
    let (source, full, names) = match read {
        Ok(found) => found,
        Err(message) => {
            let _ = std::fs::remove_dir_all(&dir);
            return ImportPage { errors: vec![message], ..page };
        }
    };
    let page = ImportPage { source: source.clone(), full, ..page };
    let manifest = Manifest { user_id: admin.0.user.id.clone(), source: source.clone(), full, names };
    let files = stashed_files(&dir, &manifest.names);
    let kept = serde_json::to_vec(&manifest)
        .map_err(std::io::Error::other)
        .and_then(|m| std::fs::write(dir.join("manifest.json"), m));
    if let Err(e) = kept {
        tracing::error!(error = %e, "keeping an upload");
        let _ = std::fs::remove_dir_all(&dir);
        return ImportPage { errors: vec!["The files could not be kept on the server; try again.".into()], ..page };
    }
    let now = state.clock.now();
    let user = admin.0.user.clone();
    let options = ImportOptions { dry_run: true, full };
    let result = state
        .db(move |conn| Ok(import::import(conn, &source, &files, options, Actor::Person(&user), now)))
        .await
        .unwrap_or_else(|e| Err(ImportError::App(e)));
    match result {
        Ok(report) => ImportPage { report: Some(report), upload_id: id, ..page },
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            page.with_error(e)
        }
    }
}

/// Reads the form: the CSRF token first, then the source, the "full" box and the files
/// (written into `dir`). Returns the source name, "full" and the files' names.
async fn read_upload(
    session: &Session,
    form: &mut Multipart,
    dir: &Path,
) -> Result<(String, bool, Vec<String>), String> {
    prune_old_uploads();
    std::fs::create_dir_all(dir).map_err(|e| {
        tracing::error!(error = %e, "creating an upload folder");
        "The files could not be kept on the server; try again.".to_owned()
    })?;
    let (mut token_ok, mut source, mut full, mut names, mut total) = (false, String::new(), false, Vec::new(), 0usize);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| "The upload could not be read; choose the files again.".to_owned())?;
        let name = part_name(&field);
        if !token_ok && name != csrf::CSRF_FIELD {
            return Err(expired());
        }
        match name.as_str() {
            csrf::CSRF_FIELD => {
                token_ok = csrf::check(session, &small_text(&mut field).await?);
                if !token_ok {
                    return Err(expired());
                }
            }
            "source" => source = small_text(&mut field).await?.trim().to_owned(),
            "full" => full = !small_text(&mut field).await?.is_empty(),
            "files" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect::<String>())
                    .unwrap_or_default();
                if names.len() >= MAX_FILES {
                    return Err(format!("Upload at most {MAX_FILES} files at once."));
                }
                let path = dir.join(format!("{}.csv", names.len()));
                let mut out =
                    std::fs::File::create(&path).map_err(|_| "The files could not be kept; try again.".to_owned())?;
                let mut size = 0usize;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|_| "The upload was cut off; choose the files again.".to_owned())?;
                    size += chunk.len();
                    total += chunk.len();
                    if total > MAX_UPLOAD_BYTES {
                        return Err(format!(
                            "The files are larger than {} MiB together: import them in parts, or use attest import on the command line.",
                            MAX_UPLOAD_BYTES / (1024 * 1024)
                        ));
                    }
                    std::io::Write::write_all(&mut out, &chunk)
                        .map_err(|_| "The files could not be kept; try again.".to_owned())?;
                }
                // A file input left empty still sends a part without a name or content.
                if file_name.is_empty() && size == 0 {
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
                names.push(if file_name.is_empty() { format!("file {}", names.len() + 1) } else { file_name });
            }
            _ => while field.next().await.is_some() {},
        }
    }
    if !token_ok {
        return Err(expired());
    }
    if names.is_empty() {
        return Err("Choose at least one CSV file to import.".into());
    }
    Ok((source, full, names))
}

fn expired() -> String {
    "This form has expired or did not come from attest, so nothing was changed. Reload the page and try again.".into()
}

fn stashed_files(dir: &Path, names: &[String]) -> Vec<ImportFile> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| ImportFile { name: name.clone(), path: dir.join(format!("{i}.csv")) })
        .collect()
}

/// Removes uploads older than [`KEPT_FOR`].
fn prune_old_uploads() {
    let Ok(entries) = std::fs::read_dir(stash_root()) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > KEPT_FOR);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The form of step two.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    upload: String,
}

/// `POST /admin/directory/import/confirm`: imports the kept files for real.
pub async fn confirm(
    admin: Admin,
    state: State,
    chrome: Chrome,
    session: Session,
    form: web::Form<Confirm>,
) -> Either<HttpResponse, ImportPage> {
    let page = ImportPage::new(chrome);
    let id = form.into_inner().upload;
    let gone = || "These files are no longer kept (they wait 30 minutes): upload them again.".to_owned();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Either::Right(ImportPage { errors: vec![gone()], ..page });
    }
    let dir = stash_root().join(&id);
    let manifest: Option<Manifest> =
        std::fs::read(dir.join("manifest.json")).ok().and_then(|m| serde_json::from_slice(&m).ok());
    let Some(manifest) = manifest.filter(|m| m.user_id == admin.0.user.id) else {
        return Either::Right(ImportPage { errors: vec![gone()], ..page });
    };
    let files = stashed_files(&dir, &manifest.names);
    let now = state.clock.now();
    let user = admin.0.user.clone();
    let options = ImportOptions { dry_run: false, full: manifest.full };
    let source = manifest.source.clone();
    let result = state
        .db(move |conn| Ok(import::import(conn, &source, &files, options, Actor::Person(&user), now)))
        .await
        .unwrap_or_else(|e| Err(ImportError::App(e)));
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(report) => {
            let counts: Vec<String> = report
                .kinds
                .iter()
                .map(|d| format!("{}: {} added, {} changed, {} removed", d.kind, d.added, d.changed, d.removed))
                .collect();
            flash(&session, &format!("Imported into \"{}\". {}.", report.source, counts.join("; ")));
            Either::Left(HttpResponse::SeeOther().insert_header(("Location", "/admin/directory/import")).finish())
        }
        Err(e) => Either::Right(ImportPage { source: manifest.source, full: manifest.full, ..page }.with_error(e)),
    }
}
