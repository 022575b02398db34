//! Sign-in events from the exports of identity providers, as CSV or JSON lines.
//!
//! One reader takes Entra ID's sign-in log (the portal's CSV download, or Graph `signIn`
//! objects one per line), Okta's System Log (its CSV export, or its events one per line)
//! and a plain file with `userPrincipalName`, `appId` and `time` columns. Each line becomes
//! an [`Event`] (user, optional application, time, the export's event id), is skipped
//! because it is not a successful sign-in, or is a [`Problem`]. Nothing here does I/O
//! beyond reading the `Read` it is given, one line at a time.

use std::io::{BufRead, BufReader, Read};

use chrono::NaiveDateTime;
use serde_json::Value;

use super::csv::{Problem, checked_text, normalise, parse_time};

/// The longest identifier kept from an event (user, application, event id).
const MAX_ID: usize = 256;

/// Okta's event types that are sign-ins: to an application, and to Okta itself.
const OKTA_APP_SIGN_IN: &str = "user.authentication.sso";
const OKTA_SESSION_START: &str = "user.session.start";

/// Names a column or JSON path may have, per thing an event needs. Header names are
/// compared loosely (see `csv::normalise`); JSON paths exactly.
const TIME: &[&str] = &["Date (UTC)", "createdDateTime", "published", "time", "signedInAt", "timestamp", "Date"];
const USER_UPN: &[&str] = &["Username", "User principal name", "userPrincipalName", "actor.alternateId", "upn", "user"];
const USER_ID: &[&str] = &["User ID", "userId", "actor.id"];
const APP_ID: &[&str] = &["Application ID", "appId"];
const APP_NAME: &[&str] = &[
    "Application",
    "appDisplayName",
    "target.displayName",
    "target[].displayName",
    "target{}.displayName",
    "target.alternateId",
    "target[].alternateId",
    "target{}.alternateId",
    "application",
];
const EVENT_ID: &[&str] = &["Request ID", "id", "uuid", "eventId"];
const STATUS: &[&str] = &["Status", "outcome.result", "status.errorCode", "Sign-in error code", "result"];
const EVENT_TYPE: &[&str] = &["eventType"];

/// Who signed in: by userPrincipalName (or Okta login), or by the directory's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Upn(String),
    Id(String),
}

/// The application signed in to: by appId, or by name (matched against appId, then name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    Id(String),
    Name(String),
}

/// A successful sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub line: u64,
    pub user: Who,
    pub app: Option<App>,
    pub at: NaiveDateTime,
    /// The export's id of the event, when it has one.
    pub event_id: Option<String>,
}

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A successful sign-in.
    Event(Event),
    /// A failed or interrupted sign-in, or another kind of event: not counted.
    Skipped,
    /// A line that cannot be used, and why.
    Problem(Problem),
}

enum Format<R: Read> {
    Csv { reader: csv::Reader<BufReader<R>>, headers: Vec<String>, record: csv::ByteRecord },
    Json { reader: BufReader<R>, line: u64, buf: Vec<u8> },
}

/// A file of sign-in events being read.
pub struct Reader<R: Read> {
    file: String,
    format: Format<R>,
}

impl<R: Read> Reader<R> {
    /// Opens a file: JSON lines when its first non-blank character is `{`, CSV otherwise
    /// (whose header must name a time and a user column).
    pub fn new(file: &str, read: R) -> Result<Self, Problem> {
        let mut buffered = BufReader::new(read);
        let whole = |message: String| Problem { file: file.to_owned(), line: 1, column: None, message };
        let first = loop {
            let buf = buffered.fill_buf().map_err(|e| whole(format!("the file cannot be read: {e}")))?;
            match buf.iter().position(|b| !b.is_ascii_whitespace() && !matches!(b, 0xef | 0xbb | 0xbf)) {
                Some(i) => break buf.get(i).copied(),
                None if buf.is_empty() => break None,
                None => {
                    let n = buf.len();
                    buffered.consume(n);
                }
            }
        };
        let format = match first {
            None => return Err(whole("the file is empty.".into())),
            Some(b'{') => Format::Json { reader: buffered, line: 0, buf: Vec::new() },
            Some(_) => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(buffered);
                let raw = reader.byte_headers().map_err(|_| whole("the header row is not valid CSV.".into()))?;
                let headers: Vec<String> = raw
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').trim().to_owned())
                    .collect();
                let has = |names: &[&str]| headers.iter().any(|h| names.iter().any(|n| normalise(n) == normalise(h)));
                if !has(TIME) {
                    return Err(whole(format!(
                        "the header row names no time column: add one of {} (the export's columns are fine).",
                        TIME.join(", ")
                    )));
                }
                if !has(USER_UPN) && !has(USER_ID) {
                    return Err(whole(format!(
                        "the header row names no user column: add one of {}.",
                        [USER_UPN, USER_ID].concat().join(", ")
                    )));
                }
                Format::Csv { reader, headers, record: csv::ByteRecord::new() }
            }
        };
        Ok(Self { file: file.to_owned(), format })
    }

    /// The next line's outcome; `None` at the end of the file.
    pub fn next_event(&mut self) -> Option<Outcome> {
        let file = self.file.clone();
        match &mut self.format {
            Format::Csv { reader, headers, record } => loop {
                match reader.read_byte_record(record) {
                    Ok(false) => return None,
                    Err(e) => {
                        let line = e.position().map_or(0, csv::Position::line);
                        let message = "this line is not valid CSV; check its quotes.".to_owned();
                        return Some(Outcome::Problem(Problem { file, line, column: None, message }));
                    }
                    Ok(true) => {}
                }
                if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                    continue;
                }
                let line = record.position().map_or(0, csv::Position::line);
                let lookup = |names: &[&str]| -> Result<Option<String>, Problem> {
                    // Names in their order of preference: Entra's "User" (a display
                    // name) is only used when there is no "Username".
                    let matching = names
                        .iter()
                        .flat_map(|n| headers.iter().enumerate().filter(move |(_, h)| normalise(n) == normalise(h)));
                    for (i, header) in matching {
                        let text = checked_text(record.get(i).unwrap_or_default(), MAX_ID).map_err(|message| {
                            Problem { file: file.clone(), line, column: Some((i + 1, header.clone())), message }
                        })?;
                        if !text.is_empty() {
                            return Ok(Some(text));
                        }
                    }
                    Ok(None)
                };
                return Some(outcome(&file, line, lookup));
            },
            Format::Json { reader, line, buf } => loop {
                buf.clear();
                match reader.read_until(b'\n', buf) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => {
                        let message = format!("the file cannot be read: {e}");
                        return Some(Outcome::Problem(Problem { file, line: *line + 1, column: None, message }));
                    }
                }
                *line = line.saturating_add(1);
                let at = *line;
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let value: Value = match serde_json::from_slice(buf) {
                    Ok(v @ Value::Object(_)) => v,
                    _ => {
                        let message = "this line is not a JSON object: each line holds one event.".to_owned();
                        return Some(Outcome::Problem(Problem { file, line: at, column: None, message }));
                    }
                };
                let lookup = |names: &[&str]| -> Result<Option<String>, Problem> {
                    for name in names {
                        let Some(found) = json_path(&value, name) else { continue };
                        let text = checked_text(found.as_bytes(), MAX_ID).map_err(|message| Problem {
                            file: file.clone(),
                            line: at,
                            column: Some((0, (*name).to_owned())),
                            message,
                        })?;
                        if !text.is_empty() {
                            return Ok(Some(text));
                        }
                    }
                    Ok(None)
                };
                return Some(outcome(&file, at, lookup));
            },
        }
    }
}

/// The value at a dotted path of a JSON event as text. `target.…` looks in Okta's
/// `target` list for the application instance.
fn json_path(value: &Value, path: &str) -> Option<String> {
    let path = path.replace("[]", "").replace("{}", "");
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut at = value.get(first)?;
    if let Value::Array(items) = at {
        at = items
            .iter()
            .find(|t| t.get("type").and_then(Value::as_str) == Some("AppInstance"))
            .or_else(|| items.first())?;
    }
    for part in parts {
        at = at.get(part)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a line is, from a lookup of its values by the names they may have.
fn outcome(file: &str, line: u64, lookup: impl Fn(&[&str]) -> Result<Option<String>, Problem>) -> Outcome {
    let read = || -> Result<Outcome, Problem> {
        let problem = |message: String| Problem { file: file.to_owned(), line, column: None, message };
        let event_type = lookup(EVENT_TYPE)?;
        if let Some(t) = &event_type
            && t != OKTA_APP_SIGN_IN
            && t != OKTA_SESSION_START
        {
            return Ok(Outcome::Skipped);
        }
        if let Some(status) = lookup(STATUS)?
            && !is_success(&status)
        {
            return Ok(Outcome::Skipped);
        }
        let Some(time) = lookup(TIME)? else {
            return Err(problem("the event has no time: give it in the time column.".into()));
        };
        let at = parse_time(&time)
            .ok_or_else(|| problem(format!("{time:?} is not a time: write it as 2026-01-31T09:00:00Z.")))?;
        let user = match (lookup(USER_UPN)?, lookup(USER_ID)?) {
            (Some(upn), _) => Who::Upn(upn),
            (None, Some(id)) => Who::Id(id),
            (None, None) => return Err(problem("the event names no user: give a user principal name or id.".into())),
        };
        // An Okta session start is a sign-in to Okta itself: no application.
        let app = if event_type.as_deref() == Some(OKTA_SESSION_START) {
            None
        } else {
            match lookup(APP_ID)? {
                Some(id) => Some(App::Id(id)),
                None => lookup(APP_NAME)?.map(App::Name),
            }
        };
        Ok(Outcome::Event(Event { line, user, app, at, event_id: lookup(EVENT_ID)? }))
    };
    read().unwrap_or_else(Outcome::Problem)
}

/// Whether a status says the sign-in succeeded: Entra's "Success" or error code 0, Okta's
/// "SUCCESS".
fn is_success(status: &str) -> bool {
    status.eq_ignore_ascii_case("success") || status == "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Outcome> {
        let mut reader = Reader::new("s", text.as_bytes()).unwrap();
        std::iter::from_fn(|| reader.next_event()).collect()
    }

    fn event(o: &Outcome) -> &Event {
        match o {
            Outcome::Event(e) => e,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn entra_csv() {
        let text = "Date (UTC),Request ID,User,Username,User ID,Application,Application ID,Status\n\
                    2026-11-01T08:00:00Z,r1,Ada,ada@contoso.com,u1,Payroll,app-1,Success\n\
                    2026-11-01T09:00:00Z,r2,Ada,ada@contoso.com,u1,Payroll,app-1,Failure\n";
        let out = all(text);
        let e = event(&out[0]);
        assert_eq!(e.user, Who::Upn("ada@contoso.com".into()));
        assert_eq!(e.app, Some(App::Id("app-1".into())));
        assert_eq!(e.event_id.as_deref(), Some("r1"));
        assert_eq!(out[1], Outcome::Skipped);
    }

    #[test]
    fn okta_json_lines() {
        let text = r#"{"uuid":"e1","published":"2026-11-01T08:00:00.000Z","eventType":"user.authentication.sso","actor":{"id":"00u1","alternateId":"ada@contoso.com"},"outcome":{"result":"SUCCESS"},"target":[{"type":"AppInstance","alternateId":"Payroll","displayName":"Payroll"}]}
{"uuid":"e2","published":"2026-11-01T08:00:00Z","eventType":"user.session.start","actor":{"alternateId":"ada@contoso.com"},"outcome":{"result":"SUCCESS"}}
{"uuid":"e3","published":"2026-11-01T08:00:00Z","eventType":"user.account.lock","actor":{"alternateId":"ada@contoso.com"}}
not json
"#;
        let out = all(text);
        assert_eq!(event(&out[0]).app, Some(App::Name("Payroll".into())));
        assert_eq!(event(&out[1]).app, None);
        assert_eq!(out[2], Outcome::Skipped);
        assert!(matches!(&out[3], Outcome::Problem(p) if p.line == 4));
    }

    #[test]
    fn a_file_without_a_time_column_is_refused() {
        let err = Reader::new("s.csv", "Username,Application\na@b,c\n".as_bytes()).err().unwrap();
        assert!(err.message.contains("no time column"));
    }
}
