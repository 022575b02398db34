//! LDAP and Active Directory: a connection's settings and presets, reading the directory in
//! pages (RFC 2696) into the records an import writes, and the writes applying a review
//! makes (deleting a member value, then reading the group back).
//!
//! Every operation has a time-out. Failures are classified for the person who must fix
//! them ([`LdapFailure`]): the server cannot be reached, TLS failed, the bind was refused, a
//! base DN does not exist, a filter matched nothing.
//!
//! Keys: a user is their userPrincipalName (the preset's attribute: `userPrincipalName` in
//! AD, `mail` in OpenLDAP) and keeps their DN as `external_id`; a group is its DN. Member
//! values are DNs, matched whatever their case and the spaces around `,` and `=`. Values
//! are checked like a CSV file's (control characters, bidirectional controls, lengths):
//! a directory is data from outside.
//!
//! The blocking client runs its own small runtime: call these from a blocking thread, never
//! from an async task.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Mod, Scope, SearchEntry};
use serde::{Deserialize, Serialize};

use crate::domain::directory::{GroupType, MAX_DISPLAY_TEXT, UserType};
use crate::sources::Records;
use crate::sources::csv::{
    Field, FileKind, GroupRecord, Line, MAX_DESCRIPTION_LEN, MAX_ID_LEN, Principal, Problem, Record, UserRecord,
    checked_text, is_bidi_control, upn_problem,
};

/// Entries asked for per page.
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// Seconds an operation may take.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;
/// The longest DN accepted.
pub const MAX_DN_LEN: usize = 1024;
/// Examples kept of each kind of thing a sync reports.
const EXAMPLES: usize = 5;

/// LDAP result codes attest tells apart.
mod rc {
    pub const SUCCESS: u32 = 0;
    pub const NO_SUCH_ATTRIBUTE: u32 = 16;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const OBJECT_CLASS_VIOLATION: u32 = 65;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const CONFIDENTIALITY_REQUIRED: u32 = 13;
    pub const STRONG_AUTH_REQUIRED: u32 = 8;
}

/// Which directory product a connection's defaults are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Microsoft Active Directory (and Samba AD).
    Ad,
    /// OpenLDAP with inetOrgPerson users and groupOfNames / groupOfUniqueNames groups.
    Openldap,
}

impl Preset {
    /// The preset as the command line and the form name it.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ad" | "activedirectory" | "active-directory" => Some(Self::Ad),
            "openldap" => Some(Self::Openldap),
            _ => None,
        }
    }

    /// Its name in words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ad => "Active Directory",
            Self::Openldap => "OpenLDAP",
        }
    }

    /// Its name on the command line and in forms.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Ad => "ad",
            Self::Openldap => "openldap",
        }
    }

    /// The users filter it starts with.
    pub fn users_filter(self) -> &'static str {
        match self {
            // People, not computer accounts (computer is a subclass of user). Not the usual
            // (objectCategory=person): only AD itself expands "person" to the category's DN,
            // and a directory speaking AD's schema (Samba, slapd with msuser.schema) matches
            // nothing with it; objectClass is indexed in AD since Windows Server 2008.
            Self::Ad => "(&(objectClass=user)(!(objectClass=computer)))",
            Self::Openldap => "(objectClass=inetOrgPerson)",
        }
    }

    /// The groups filter it starts with.
    pub fn groups_filter(self) -> &'static str {
        match self {
            // Security groups only (groupType bit 0x80000000): distribution groups grant no access.
            Self::Ad => "(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=2147483648))",
            Self::Openldap => "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
        }
    }

    /// Its attribute mapping.
    pub fn mapping(self) -> Mapping {
        match self {
            Self::Ad => Mapping {
                upn: "userPrincipalName".into(),
                display_name: "displayName".into(),
                mail: "mail".into(),
                manager: "manager".into(),
                department: "department".into(),
                job_title: "title".into(),
                employee_id: "employeeID".into(),
                given_name: "givenName".into(),
                surname: "sn".into(),
                last_sign_in: "lastLogonTimestamp".into(),
                group_name: "cn".into(),
                group_description: "description".into(),
                members: vec!["member".into()],
                disabled: Disabled::UserAccountControl,
            },
            Self::Openldap => Mapping {
                upn: "mail".into(),
                display_name: "displayName".into(),
                mail: "mail".into(),
                manager: "manager".into(),
                department: "departmentNumber".into(),
                job_title: "title".into(),
                employee_id: "employeeNumber".into(),
                given_name: "givenName".into(),
                surname: "sn".into(),
                // The lastbind overlay's attribute, where it is loaded.
                last_sign_in: "authTimestamp".into(),
                group_name: "cn".into(),
                group_description: "description".into(),
                members: vec!["member".into(), "uniqueMember".into()],
                disabled: Disabled::Locked,
            },
        }
    }
}

/// How a disabled account shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Disabled {
    /// AD: bit 2 (ACCOUNTDISABLE) of userAccountControl.
    UserAccountControl,
    /// OpenLDAP / 389: `nsAccountLock: TRUE`, or a `pwdAccountLockedTime` (ppolicy).
    Locked,
}

/// Which attributes hold what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    pub manager: String,
    pub department: String,
    pub job_title: String,
    pub employee_id: String,
    pub given_name: String,
    pub surname: String,
    pub last_sign_in: String,
    pub group_name: String,
    pub group_description: String,
    /// The attributes listing a group's members (DNs).
    pub members: Vec<String>,
    pub disabled: Disabled,
}

impl Mapping {
    /// The attributes a sync reads of each user.
    pub fn user_attributes(&self) -> Vec<String> {
        let mut attrs: Vec<String> = [
            &self.upn,
            &self.display_name,
            &self.mail,
            &self.manager,
            &self.department,
            &self.job_title,
            &self.employee_id,
            &self.given_name,
            &self.surname,
            &self.last_sign_in,
        ]
        .into_iter()
        .filter(|a| !a.is_empty())
        .cloned()
        .collect();
        attrs.push("cn".into());
        match self.disabled {
            Disabled::UserAccountControl => attrs.push("userAccountControl".into()),
            Disabled::Locked => {
                attrs.push("nsAccountLock".into());
                attrs.push("pwdAccountLockedTime".into());
            }
        }
        attrs
    }

    /// The attributes a sync reads of each group.
    pub fn group_attributes(&self) -> Vec<String> {
        let mut attrs = vec![self.group_name.clone(), self.group_description.clone()];
        attrs.extend(self.members.iter().cloned());
        attrs
    }
}

/// How a connection secures its traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with StartTLS before the bind.
    StartTls,
    /// `ldap://` in the clear (a test directory; the password crosses the network as is).
    Plain,
}

impl Security {
    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ldaps => "LDAPS (TLS)",
            Self::StartTls => "StartTLS",
            Self::Plain => "none (plain LDAP)",
        }
    }
}

/// A connection's settings as stored (the password sealed, see `auth::secrets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LdapConfig {
    pub url: String,
    pub security: Security,
    pub bind_dn: String,
    /// The sealed bind password; never shown.
    #[serde(default)]
    pub password: String,
    pub preset: Preset,
    pub users_base: String,
    pub users_filter: String,
    pub groups_base: String,
    pub groups_filter: String,
    pub mapping: Mapping,
    /// Minutes between scheduled syncs; 0: only on demand.
    pub sync_interval_minutes: u32,
    pub timeout_seconds: u32,
    pub page_size: u32,
}

impl LdapConfig {
    /// What is wrong with the settings, each naming the field to fix; empty when nothing.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let url = self.url.trim();
        match url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()) {
            Some(s) if s == "ldaps" => {
                if self.security != Security::Ldaps {
                    out.push("URL: an ldaps:// URL is TLS already: choose LDAPS as its security.".into());
                }
            }
            Some(s) if s == "ldap" => {
                if self.security == Security::Ldaps {
                    out.push(
                        "URL: LDAPS needs an ldaps:// URL; for ldap:// choose StartTLS (or plain LDAP for a test \
                         directory)."
                            .into(),
                    );
                }
            }
            _ => out.push(format!("URL: {url:?} is not an LDAP URL: write ldaps://host:636 or ldap://host:389.")),
        }
        if url.chars().any(char::is_whitespace) || url.len() > 512 {
            out.push("URL: remove the spaces.".into());
        }
        for (name, dn, required) in [
            ("Bind DN", &self.bind_dn, false),
            ("Users base DN", &self.users_base, true),
            ("Groups base DN", &self.groups_base, true),
        ] {
            if let Some(p) = dn_problem(dn, required) {
                out.push(format!("{name}: {p}"));
            }
        }
        for (name, filter) in [("Users filter", &self.users_filter), ("Groups filter", &self.groups_filter)] {
            if let Some(p) = filter_problem(filter) {
                out.push(format!("{name}: {p}"));
            }
        }
        if !(1..=3600).contains(&self.timeout_seconds) {
            out.push("Time-out: give between 1 and 3600 seconds.".into());
        }
        if !(1..=5000).contains(&self.page_size) {
            out.push("Page size: give between 1 and 5000 entries.".into());
        }
        if self.sync_interval_minutes > 7 * 24 * 60 {
            out.push("Sync interval: give at most a week (10080 minutes), or 0 for on demand only.".into());
        }
        out
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.timeout_seconds.max(1)))
    }
}

/// What is wrong with a DN, or `None`.
pub fn dn_problem(dn: &str, required: bool) -> Option<String> {
    let dn = dn.trim();
    if dn.is_empty() {
        return required.then(|| "give a DN such as ou=people,dc=example,dc=org.".into());
    }
    if let Err(p) = checked_text(dn.as_bytes(), MAX_DN_LEN) {
        return Some(p);
    }
    (!dn.contains('=')).then(|| format!("{dn:?} is not a DN: write it as ou=people,dc=example,dc=org."))
}

/// What is wrong with a search filter, or `None`: it must be parenthesised and balanced.
pub fn filter_problem(filter: &str) -> Option<String> {
    let f = filter.trim();
    if let Err(p) = checked_text(f.as_bytes(), 2048) {
        return Some(p);
    }
    let mut depth: i64 = 0;
    for c in f.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    (!f.starts_with('(') || !f.ends_with(')') || depth != 0)
        .then(|| format!("{f:?} is not an LDAP filter: write it in parentheses, e.g. (objectClass=inetOrgPerson)."))
}

/// Why an LDAP operation failed, in terms of what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdapFailure {
    /// No connection: DNS, refused, time-out.
    #[error("the LDAP server {url} cannot be reached: {detail}")]
    Unreachable { url: String, detail: String },
    /// TLS (or StartTLS) failed: a plain server, an untrusted certificate.
    #[error("TLS with {url} failed: {detail}")]
    Tls { url: String, detail: String },
    /// The server insists on TLS (confidentiality required).
    #[error("the LDAP server requires TLS: use ldaps:// or StartTLS")]
    TlsRequired,
    /// Wrong bind DN or password.
    #[error("the server refused the bind as {bind_dn}: check the bind DN and password")]
    BindRefused { bind_dn: String },
    /// A base DN does not exist.
    #[error("the {which} base DN {dn} was not found on the server")]
    BaseNotFound { which: &'static str, dn: String },
    /// A filter matched no entry.
    #[error("no entries matched the {which} filter {filter} under {base}")]
    NoEntries { which: &'static str, filter: String, base: String },
    /// An operation took longer than the time-out.
    #[error("the LDAP server did not answer within {0} seconds")]
    Timeout(u32),
    /// Anything else the server answered.
    #[error("the LDAP server answered: {0}")]
    Other(String),
}

impl LdapFailure {
    /// Whether the connection is gone (later operations on it would fail the same way).
    pub fn is_connection(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Tls { .. } | Self::Timeout(_) | Self::TlsRequired)
    }
}

/// A classified failure from an `ldap3` error.
fn classify(config: &LdapConfig, e: LdapError) -> LdapFailure {
    let url = config.url.clone();
    match e {
        LdapError::Timeout { .. } => LdapFailure::Timeout(config.timeout_seconds),
        LdapError::LdapResult { result } => match result.rc {
            rc::CONFIDENTIALITY_REQUIRED | rc::STRONG_AUTH_REQUIRED => LdapFailure::TlsRequired,
            rc::INVALID_CREDENTIALS => LdapFailure::BindRefused { bind_dn: config.bind_dn.clone() },
            _ => LdapFailure::Other(describe(result.rc, &result.text)),
        },
        LdapError::Io { source } => {
            let detail = source.to_string();
            if source.kind() == std::io::ErrorKind::InvalidData || detail.to_ascii_lowercase().contains("tls") {
                LdapFailure::Tls { url, detail }
            } else {
                LdapFailure::Unreachable { url, detail }
            }
        }
        LdapError::Rustls { source } => LdapFailure::Tls { url, detail: source.to_string() },
        LdapError::UrlParsing { source } => LdapFailure::Unreachable { url, detail: source.to_string() },
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            if lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake") {
                LdapFailure::Tls { url, detail }
            } else if lower.contains("connection") || lower.contains("eof") || lower.contains("closed") {
                LdapFailure::Unreachable { url, detail }
            } else {
                LdapFailure::Other(detail)
            }
        }
    }
}

fn describe(code: u32, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() { format!("result code {code}") } else { format!("{text} (result code {code})") }
}

/// Runs `f` (which uses [`Session`]) on a thread of its own. The blocking client starts a
/// small runtime of its own, which tokio refuses inside a thread of another runtime — and
/// the web server's and the scheduler's blocking threads are such threads.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A bound connection. Use it inside [`off_runtime`].
pub struct Session {
    conn: LdapConn,
    config: LdapConfig,
}

impl Session {
    /// Connects (TLS as configured) and binds with `password`.
    pub fn open(config: &LdapConfig, password: &str) -> Result<Self, LdapFailure> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(config.timeout())
            .set_starttls(config.security == Security::StartTls);
        let conn = LdapConn::with_settings(settings, config.url.trim()).map_err(|e| match e {
            // StartTLS refused: a server without TLS on this port.
            LdapError::LdapResult { result } if config.security == Security::StartTls => LdapFailure::Tls {
                url: config.url.clone(),
                detail: format!(
                    "the server refused StartTLS ({}): configure TLS on the server, or use its ldaps:// port",
                    describe(result.rc, &result.text)
                ),
            },
            e => classify(config, e),
        })?;
        let mut session = Self { conn, config: config.clone() };
        // An empty bind DN is an anonymous session.
        if !config.bind_dn.trim().is_empty() {
            let result = session
                .conn
                .with_timeout(config.timeout())
                .simple_bind(config.bind_dn.trim(), password)
                .map_err(|e| classify(config, e))?;
            match result.rc {
                rc::SUCCESS => {}
                rc::INVALID_CREDENTIALS => return Err(LdapFailure::BindRefused { bind_dn: config.bind_dn.clone() }),
                rc::CONFIDENTIALITY_REQUIRED | rc::STRONG_AUTH_REQUIRED => return Err(LdapFailure::TlsRequired),
                code => return Err(LdapFailure::Other(describe(code, &result.text))),
            }
        }
        Ok(session)
    }

    /// Checks that `base` exists.
    fn base_exists(&mut self, which: &'static str, base: &str) -> Result<(), LdapFailure> {
        let found = self
            .conn
            .with_timeout(self.config.timeout())
            .search(base.trim(), Scope::Base, "(objectClass=*)", vec!["1.1"])
            .map_err(|e| classify(&self.config, e))?;
        match found.1.rc {
            rc::SUCCESS => Ok(()),
            rc::NO_SUCH_OBJECT => Err(LdapFailure::BaseNotFound { which, dn: base.trim().to_owned() }),
            code => Err(LdapFailure::Other(describe(code, &found.1.text))),
        }
    }

    /// Reads every entry under `base` matching `filter`, a page at a time.
    fn search_all(
        &mut self,
        which: &'static str,
        base: &str,
        filter: &str,
        attrs: Vec<String>,
    ) -> Result<Vec<SearchEntry>, LdapFailure> {
        self.base_exists(which, base)?;
        let config = self.config.clone();
        let page = i32::try_from(config.page_size.clamp(1, 5000)).unwrap_or(500);
        let adapters: Vec<Box<dyn Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(page))];
        let mut stream = self
            .conn
            .with_timeout(config.timeout())
            .streaming_search_with(adapters, base.trim(), Scope::Subtree, filter.trim(), attrs)
            .map_err(|e| classify(&config, e))?;
        let mut out = Vec::new();
        loop {
            match stream.next() {
                Ok(Some(entry)) => out.push(SearchEntry::construct(entry)),
                Ok(None) => break,
                Err(e) => return Err(classify(&config, e)),
            }
        }
        let result = stream.result();
        match result.rc {
            rc::SUCCESS => Ok(out),
            rc::NO_SUCH_OBJECT => Err(LdapFailure::BaseNotFound { which, dn: base.trim().to_owned() }),
            code => Err(LdapFailure::Other(describe(code, &result.text))),
        }
    }

    /// Tests the connection as a sync would use it: the bind (done), both bases, and that
    /// each filter matches at least one entry. Returns (users, groups) seen on the first page.
    pub fn test(&mut self) -> Result<(usize, usize), LdapFailure> {
        let config = self.config.clone();
        let mut counts = [0usize; 2];
        for (i, (which, base, filter)) in [
            ("users", &config.users_base, &config.users_filter),
            ("groups", &config.groups_base, &config.groups_filter),
        ]
        .into_iter()
        .enumerate()
        {
            self.base_exists(which, base)?;
            let options = ldap3::SearchOptions::new().sizelimit(i32::try_from(config.page_size).unwrap_or(500));
            let found = self
                .conn
                .with_search_options(options)
                .with_timeout(config.timeout())
                .search(base.trim(), Scope::Subtree, filter.trim(), vec!["1.1"])
                .map_err(|e| classify(&config, e))?;
            // 4: size limit exceeded, which is fine: there are entries.
            if found.1.rc != rc::SUCCESS && found.1.rc != 4 {
                return Err(LdapFailure::Other(describe(found.1.rc, &found.1.text)));
            }
            if found.0.is_empty() {
                return Err(LdapFailure::NoEntries {
                    which,
                    filter: filter.trim().to_owned(),
                    base: base.trim().to_owned(),
                });
            }
            counts[i] = found.0.len();
        }
        Ok((counts[0], counts[1]))
    }

    /// Reads the users and groups of the connection.
    pub fn read(&mut self) -> Result<Directory, LdapFailure> {
        let config = self.config.clone();
        let m = &config.mapping;
        let users = self.search_all("users", &config.users_base, &config.users_filter, m.user_attributes())?;
        let groups = self.search_all("groups", &config.groups_base, &config.groups_filter, m.group_attributes())?;
        Ok(Directory { users, groups })
    }

    /// Deletes `member` (a DN) from the group `group` (a DN), from whichever member
    /// attribute holds it; reads the group first, so that a value already gone says so.
    pub fn remove_member(&mut self, group: &str, member: &str) -> Result<Removal, LdapFailure> {
        let config = self.config.clone();
        let attrs = config.mapping.members.clone();
        let ldap3::SearchResult(entries, result) = self
            .conn
            .with_timeout(config.timeout())
            .search(group, Scope::Base, "(objectClass=*)", attrs)
            .map_err(|e| classify(&config, e))?;
        match result.rc {
            rc::SUCCESS => {}
            // The group is gone, and the membership with it.
            rc::NO_SUCH_OBJECT => return Ok(Removal::AlreadyGone),
            code => return Err(LdapFailure::Other(describe(code, &result.text))),
        }
        let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) else {
            return Ok(Removal::AlreadyGone);
        };
        let wanted = normalise_dn(member);
        let held = entry.attrs.iter().find_map(|(attr, values)| {
            values.iter().find(|v| normalise_dn(v) == wanted).map(|v| (attr.clone(), v.clone()))
        });
        let Some((attr, value)) = held else { return Ok(Removal::AlreadyGone) };
        let last = entry.attrs.get(&attr).is_some_and(|values| values.len() == 1);
        let result = self
            .conn
            .with_timeout(config.timeout())
            .modify(group, vec![Mod::Delete(attr.as_str(), HashSet::from([value.as_str()]))])
            .map_err(|e| classify(&config, e))?;
        match result.rc {
            rc::SUCCESS => Ok(Removal::Removed { attribute: attr }),
            rc::NO_SUCH_ATTRIBUTE => Ok(Removal::AlreadyGone),
            // groupOfNames and groupOfUniqueNames must keep one member: say so, not just
            // the server's code.
            rc::OBJECT_CLASS_VIOLATION if last => Err(LdapFailure::Other(format!(
                "{} refused to remove the last {attr} of {}: this kind of group must keep one member; add \
                 another member (or delete the group) in the directory",
                config.url,
                shown(group)
            ))),
            code => Err(LdapFailure::Other(describe(code, &result.text))),
        }
    }

    /// The member values (normalised DNs) of the group `group` now; `None` when the group is gone.
    pub fn members_of(&mut self, group: &str) -> Result<Option<HashSet<String>>, LdapFailure> {
        let config = self.config.clone();
        let ldap3::SearchResult(entries, result) = self
            .conn
            .with_timeout(config.timeout())
            .search(group, Scope::Base, "(objectClass=*)", config.mapping.members.clone())
            .map_err(|e| classify(&config, e))?;
        if result.rc == rc::NO_SUCH_OBJECT {
            return Ok(None);
        }
        if result.rc != rc::SUCCESS {
            return Err(LdapFailure::Other(describe(result.rc, &result.text)));
        }
        Ok(entries
            .into_iter()
            .next()
            .map(|e| SearchEntry::construct(e).attrs.into_values().flatten().map(|v| normalise_dn(&v)).collect()))
    }
}

/// What removing a member value did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// The value was deleted from this attribute.
    Removed { attribute: String },
    /// The value (or the group) was not there.
    AlreadyGone,
}

/// The entries a sync read.
#[derive(Debug, Default)]
pub struct Directory {
    pub users: Vec<SearchEntry>,
    pub groups: Vec<SearchEntry>,
}

/// A DN as compared: lower case, no spaces around `,`, `=` and `+`.
pub fn normalise_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, ',' | '=' | '+') {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
            while chars.peek() == Some(&' ') {
                chars.next();
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A DN (or any value from the directory) as messages show it: control characters and
/// bidirectional controls written as `\u{…}`, so that a hostile entry can neither break a
/// line of a report nor disguise the name it is reported under.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    if attr.is_empty() {
        return None;
    }
    entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(attr)).and_then(|(_, v)| v.first().cloned())
}

fn all<'e>(entry: &'e SearchEntry, attr: &str) -> impl Iterator<Item = &'e String> {
    let attr = attr.to_owned();
    entry.attrs.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(&attr)).flat_map(|(_, v)| v.iter())
}

/// A time from AD (`lastLogonTimestamp`: 100 ns intervals since 1601) or LDAP generalized
/// time (`20261130091500Z`).
pub fn parse_ldap_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() > 14 {
        let ticks: i64 = text.parse().ok()?;
        if ticks <= 0 {
            return None;
        }
        // Seconds between 1601-01-01 and 1970-01-01.
        let unix = (ticks / 10_000_000).checked_sub(11_644_473_600)?;
        return DateTime::from_timestamp(unix, 0).map(|t| t.naive_utc());
    }
    let digits = text.trim_end_matches('Z');
    let digits = digits.split(['.', ',']).next().unwrap_or(digits);
    NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok()
}

/// What a sync saw besides the records: entries left out and member values that point
/// outside what the connection reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Users without the key attribute (e.g. no userPrincipalName): not synced.
    pub users_without_key: u64,
    pub users_without_key_examples: Vec<String>,
    /// Member values that are neither a user nor a group the connection read (outside the
    /// base DNs or the filters).
    pub outside_members: u64,
    pub outside_member_examples: Vec<String>,
    /// Managers outside what the connection reads (the user is synced without a manager).
    pub outside_managers: u64,
}

/// The records a sync imports: users, groups and memberships, with the DN of each record
/// for messages.
pub struct Mapped {
    pub users: Entries,
    pub groups: Entries,
    pub members: Entries,
    pub leftovers: Leftovers,
}

/// Turns the entries read into checked records. Problems name the DN and attribute.
pub fn map(config: &LdapConfig, dir: Directory) -> Mapped {
    let m = &config.mapping;
    let mut leftovers = Leftovers::default();
    // First pass: who is who, by normalised DN.
    let mut upn_of: HashMap<String, String> = HashMap::new();
    for e in &dir.users {
        if let Some(upn) = first(e, &m.upn).map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()) {
            upn_of.insert(normalise_dn(&e.dn), upn);
        }
    }
    let group_dns: HashMap<String, String> = dir.groups.iter().map(|g| (normalise_dn(&g.dn), g.dn.clone())).collect();
    let mut users = Entries::new(FileKind::Users, "LDAP users");
    for e in dir.users {
        let Some(upn) = upn_of.get(&normalise_dn(&e.dn)).cloned() else {
            leftovers.users_without_key += 1;
            if leftovers.users_without_key_examples.len() < EXAMPLES {
                leftovers.users_without_key_examples.push(shown(&e.dn));
            }
            continue;
        };
        let mut problems = Vec::new();
        let mut text = |attr: &str, field: Field, max: usize| -> Option<String> {
            let raw = first(&e, attr)?;
            match checked_text(raw.as_bytes(), max) {
                Ok(t) if t.is_empty() => None,
                Ok(t) => Some(t),
                Err(p) => {
                    problems.push((field, format!("{attr}: {p}")));
                    None
                }
            }
        };
        let upn_checked = text(&m.upn, Field::Upn, MAX_ID_LEN);
        let display = text(&m.display_name, Field::DisplayName, MAX_DISPLAY_TEXT)
            .or_else(|| text("cn", Field::DisplayName, MAX_DISPLAY_TEXT));
        let mail = text(&m.mail, Field::Mail, MAX_ID_LEN);
        let department = text(&m.department, Field::Department, MAX_DISPLAY_TEXT);
        let job_title = text(&m.job_title, Field::JobTitle, MAX_DISPLAY_TEXT);
        let employee_id = text(&m.employee_id, Field::EmployeeId, MAX_ID_LEN);
        let given_name = text(&m.given_name, Field::GivenName, MAX_DISPLAY_TEXT);
        let family_name = text(&m.surname, Field::Surname, MAX_DISPLAY_TEXT);
        if let Some(upn) = &upn_checked
            && let Some(p) = upn_problem(upn)
        {
            problems.push((Field::Upn, format!("{}: {p}", m.upn)));
        }
        // The DN is kept as the user's external id and shown: checked like any value.
        if let Err(p) = checked_text(e.dn.as_bytes(), MAX_DN_LEN) {
            problems.push((Field::ExternalId, format!("the DN: {p}")));
        }
        let manager_upn = first(&e, &m.manager).and_then(|dn| {
            let found = upn_of.get(&normalise_dn(&dn)).cloned();
            if found.is_none() {
                leftovers.outside_managers += 1;
            }
            found
        });
        let enabled = match m.disabled {
            Disabled::UserAccountControl => {
                first(&e, "userAccountControl").and_then(|v| v.trim().parse::<i64>().ok()).is_none_or(|v| v & 2 == 0)
            }
            Disabled::Locked => {
                let ns_locked = first(&e, "nsAccountLock").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                !ns_locked && first(&e, "pwdAccountLockedTime").is_none()
            }
        };
        let last_sign_in = first(&e, &m.last_sign_in).and_then(|v| parse_ldap_time(&v));
        let record = UserRecord {
            upn: upn_checked.unwrap_or(upn),
            display_name: display.unwrap_or_default(),
            mail,
            user_type: UserType::Member,
            enabled,
            manager_upn,
            department,
            job_title,
            employee_id,
            external_id: Some(e.dn.clone()),
            given_name,
            family_name,
            last_sign_in,
        };
        let record = UserRecord {
            display_name: if record.display_name.is_empty() { record.upn.clone() } else { record.display_name },
            ..record
        };
        users.push(e.dn, Record::User(record), problems);
    }
    let mut groups = Entries::new(FileKind::Groups, "LDAP groups");
    let mut members = Entries::new(FileKind::GroupMembers, "LDAP group members");
    for g in dir.groups {
        let mut problems = Vec::new();
        let mut text = |attr: &str, field: Field, max: usize| -> Option<String> {
            let raw = first(&g, attr)?;
            match checked_text(raw.as_bytes(), max) {
                Ok(t) if t.is_empty() => None,
                Ok(t) => Some(t),
                Err(p) => {
                    problems.push((field, format!("{attr}: {p}")));
                    None
                }
            }
        };
        let name = text(&m.group_name, Field::DisplayName, MAX_DISPLAY_TEXT);
        let description = text(&m.group_description, Field::Description, MAX_DESCRIPTION_LEN);
        if let Err(p) = checked_text(g.dn.as_bytes(), MAX_DN_LEN) {
            problems.push((Field::GroupId, format!("the DN: {p}")));
        }
        let record = GroupRecord {
            id: g.dn.clone(),
            display_name: name.unwrap_or_else(|| g.dn.clone()),
            description,
            group_type: GroupType::Security,
        };
        for attr in &m.members {
            let mut seen = HashSet::new();
            for value in all(&g, attr) {
                let key = normalise_dn(value);
                // A member listed in both member and uniqueMember is one membership.
                if !seen.insert(key.clone()) {
                    continue;
                }
                let member = if let Some(upn) = upn_of.get(&key) {
                    Principal::User(upn.clone())
                } else if let Some(dn) = group_dns.get(&key) {
                    Principal::Group(dn.clone())
                } else {
                    leftovers.outside_members += 1;
                    if leftovers.outside_member_examples.len() < EXAMPLES {
                        leftovers.outside_member_examples.push(format!("{} (in {})", shown(value), shown(&g.dn)));
                    }
                    continue;
                };
                members.push(g.dn.clone(), Record::Member { group: g.dn.clone(), member }, Vec::new());
            }
        }
        groups.push(g.dn, Record::Group(record), problems);
    }
    Mapped { users, groups, members, leftovers }
}

/// A record and the problems found in its entry (field, message).
type Entry = (Record, Vec<(Field, String)>);

/// Records read from a directory, one kind, as an import reads a file: the "line" of a
/// record is its position, and problems name the entry's DN.
#[derive(Debug, Clone)]
pub struct Entries {
    kind: FileKind,
    name: &'static str,
    dns: Vec<String>,
    records: Vec<Option<Entry>>,
    next: usize,
}

impl Entries {
    fn new(kind: FileKind, name: &'static str) -> Self {
        Self { kind, name, dns: Vec::new(), records: Vec::new(), next: 0 }
    }

    fn push(&mut self, dn: String, record: Record, problems: Vec<(Field, String)>) {
        self.dns.push(dn);
        self.records.push(Some((record, problems)));
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl Records for Entries {
    fn kind(&self) -> FileKind {
        self.kind
    }

    fn name(&self) -> &str {
        self.name
    }

    fn column_of(&self, _field: Field) -> Option<(usize, String)> {
        None
    }

    fn problem(&self, line: u64, _field: Option<Field>, message: String) -> Problem {
        let dn = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)).and_then(|i| self.dns.get(i));
        Problem {
            file: match dn {
                Some(dn) => format!("{} entry {}", self.name, shown(dn)),
                None => self.name.to_owned(),
            },
            line: 0,
            column: None,
            message,
        }
    }

    fn next_record(&mut self) -> Option<Result<Line, Vec<Problem>>> {
        let slot = self.records.get_mut(self.next)?;
        self.next += 1;
        let line = self.next as u64;
        let (record, problems) = slot.take()?;
        if problems.is_empty() {
            return Some(Ok(Line { line, record }));
        }
        Some(Err(problems.into_iter().map(|(f, m)| self.problem(line, Some(f), m)).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: dn.into(),
            attrs: attrs.iter().map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())).collect(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn dns_compare_whatever_their_case_and_spaces() {
        assert_eq!(normalise_dn("CN=Ann Lee, OU=People ,DC=Example,DC=org"), "cn=ann lee,ou=people,dc=example,dc=org");
        assert_eq!(normalise_dn(" uid = a + cn=b "), "uid=a+cn=b");
    }

    #[test]
    fn times_from_ad_and_generalized_time() {
        // 2026-11-30 00:00:00 UTC as a FILETIME.
        let ticks = (1_795_996_800i64 + 11_644_473_600) * 10_000_000;
        assert_eq!(parse_ldap_time(&ticks.to_string()).unwrap().to_string(), "2026-11-30 00:00:00");
        assert_eq!(parse_ldap_time("20261130091500Z").unwrap().to_string(), "2026-11-30 09:15:00");
        assert_eq!(parse_ldap_time("20261130091500.123Z").unwrap().to_string(), "2026-11-30 09:15:00");
        assert_eq!(parse_ldap_time("0"), None);
        // The largest value does not overflow.
        let _ = parse_ldap_time("9223372036854775807");
        let _ = parse_ldap_time("99999999999999999999999");
        assert_eq!(parse_ldap_time("nonsense"), None);
    }

    #[test]
    fn settings_name_what_to_fix() {
        let mut c = LdapConfig {
            url: "ldap://localhost:389".into(),
            security: Security::StartTls,
            bind_dn: "cn=admin,dc=example,dc=org".into(),
            password: String::new(),
            preset: Preset::Openldap,
            users_base: "ou=people,dc=example,dc=org".into(),
            users_filter: Preset::Openldap.users_filter().into(),
            groups_base: "ou=groups,dc=example,dc=org".into(),
            groups_filter: Preset::Openldap.groups_filter().into(),
            mapping: Preset::Openldap.mapping(),
            sync_interval_minutes: 60,
            timeout_seconds: 30,
            page_size: 500,
        };
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        c.url = "http://x".into();
        c.users_base = "people".into();
        c.groups_filter = "(objectClass=group".into();
        c.timeout_seconds = 0;
        let p = c.problems().join("\n");
        assert!(
            p.contains("URL:")
                && p.contains("Users base DN:")
                && p.contains("Groups filter:")
                && p.contains("Time-out"),
            "{p}"
        );
        c.url = "ldaps://x".into();
        assert!(c.problems().iter().any(|p| p.contains("choose LDAPS")));
    }

    #[test]
    fn entries_become_checked_records() {
        let config = LdapConfig {
            url: "ldap://x".into(),
            security: Security::Plain,
            bind_dn: String::new(),
            password: String::new(),
            preset: Preset::Ad,
            users_base: "dc=x".into(),
            users_filter: "(a=b)".into(),
            groups_base: "dc=x".into(),
            groups_filter: "(a=b)".into(),
            mapping: Preset::Ad.mapping(),
            sync_interval_minutes: 0,
            timeout_seconds: 5,
            page_size: 100,
        };
        let dir = Directory {
            users: vec![
                entry(
                    "CN=Ann,OU=People,DC=x",
                    &[
                        ("userPrincipalName", &["ann@x.org"]),
                        ("displayName", &["Ann"]),
                        ("userAccountControl", &["514"]),
                    ],
                ),
                entry(
                    "CN=Bob,OU=People,DC=x",
                    &[
                        ("userPrincipalName", &["bob@x.org"]),
                        ("manager", &["cn=ann, ou=people,dc=x"]),
                        ("displayName", &["Bob\u{202e}gpj.exe"]),
                    ],
                ),
                entry("CN=svc,OU=People,DC=x", &[("displayName", &["No UPN"])]),
            ],
            groups: vec![
                entry(
                    "CN=Ops,OU=Groups,DC=x",
                    &[
                        ("cn", &["Ops"]),
                        ("member", &["CN=Ann,OU=People,DC=x", "CN=Sub,OU=Groups,DC=x", "CN=Eve,OU=Elsewhere,DC=x"]),
                    ],
                ),
                entry("CN=Sub,OU=Groups,DC=x", &[("cn", &["Sub"])]),
            ],
        };
        let mut mapped = map(&config, dir);
        assert_eq!(mapped.leftovers.users_without_key, 1);
        assert_eq!(mapped.leftovers.outside_members, 1);
        assert!(mapped.leftovers.outside_member_examples[0].contains("Eve"));
        let ann = mapped.users.next_record().unwrap().unwrap();
        let Record::User(ann) = ann.record else { panic!() };
        assert!(!ann.enabled, "bit 2 of 514 is set");
        assert_eq!(ann.external_id.as_deref(), Some("CN=Ann,OU=People,DC=x"));
        let bob = mapped.users.next_record().unwrap().unwrap_err();
        assert!(bob[0].to_string().contains("CN=Bob") && bob[0].to_string().contains("bidirectional"), "{}", bob[0]);
        let m1 = mapped.members.next_record().unwrap().unwrap();
        assert_eq!(
            m1.record,
            Record::Member { group: "CN=Ops,OU=Groups,DC=x".into(), member: Principal::User("ann@x.org".into()) }
        );
        let m2 = mapped.members.next_record().unwrap().unwrap();
        assert_eq!(
            m2.record,
            Record::Member {
                group: "CN=Ops,OU=Groups,DC=x".into(),
                member: Principal::Group("CN=Sub,OU=Groups,DC=x".into())
            }
        );
        assert!(mapped.members.next_record().is_none());
    }
}
