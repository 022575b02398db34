//! CSV import: the files an organisation exports from its directory, one file per kind of
//! object, read as a stream of checked records.
//!
//! The kind of a file is told by its header row (see [`FileKind::detect`]); header names
//! are matched whatever their case, spaces, `-` and `_` (`User principal name` is
//! `userPrincipalName`), a byte-order mark is skipped, unknown columns are ignored and a
//! missing required one is named. Each record is checked before anything is written:
//! control characters, bidirectional overrides, over-long values, bad booleans, dates and
//! enumerations, and the shape of identifiers give a [`Problem`] naming the file, line,
//! column and what to fix. Values starting with `=`, `+`, `-` or `@` are data and kept as
//! they are: every CSV that attest writes neutralises such cells (`domain::export::guard_cell`).
//!
//! Keys: within its source a user is its userPrincipalName (whatever its case), a group its
//! `id` in the source (kept as `external_id`), an application its `appId`, a membership or
//! an ownership the pair of group and member, an app assignment the pair of application and
//! user or group, a role assignment the role, user, scope and assignment type.
//!
//! Nothing here does I/O beyond reading the `Read` it is given, one record at a time.

use std::fmt;
use std::io::Read;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::domain::directory::{AssignmentType, GroupType, MAX_DISPLAY_TEXT, UserType};

/// The longest identifier accepted (a UPN, a group or application id, a role name).
pub const MAX_ID_LEN: usize = 256;
/// The longest description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// The role given to an app assignment whose `appRole` is empty (Entra's default role).
pub const DEFAULT_APP_ROLE: &str = "Default Access";
/// The scope of a directory role assignment whose `scope` is empty: the whole tenant.
pub const TENANT_SCOPE: &str = "/";
/// How the tenant scope is named when the file gives no `scopeName`.
pub const TENANT_SCOPE_NAME: &str = "Directory";

/// A kind of file, in the order an import writes them (references point backwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// Users, keyed by userPrincipalName.
    Users,
    /// Groups, keyed by their id in the source.
    Groups,
    /// Applications, keyed by appId.
    Applications,
    /// Direct members of groups: users and nested groups.
    GroupMembers,
    /// Owners of groups.
    GroupOwners,
    /// Assignments of users and groups to applications.
    AppAssignments,
    /// Assignments of directory and resource roles to users.
    RoleAssignments,
}

/// A column of a kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Upn,
    DisplayName,
    Mail,
    UserType,
    Enabled,
    ManagerUpn,
    Department,
    JobTitle,
    EmployeeId,
    ExternalId,
    GivenName,
    Surname,
    GroupId,
    Description,
    GroupType,
    MemberUpn,
    MemberGroupId,
    OwnerUpn,
    AppId,
    AssignmentRequired,
    Homepage,
    AppRole,
    Role,
    AssignmentType,
    Start,
    End,
    Scope,
    ScopeName,
}

/// How a column is named in a header row, its other accepted names, and whether a file of
/// its kind must have it.
struct Column {
    field: Field,
    names: &'static [&'static str],
    required: bool,
}

const fn col(field: Field, names: &'static [&'static str], required: bool) -> Column {
    Column { field, names, required }
}

const USERS: &[Column] = &[
    col(Field::Upn, &["userPrincipalName", "upn"], true),
    col(Field::DisplayName, &["displayName"], true),
    col(Field::Mail, &["mail", "email"], false),
    col(Field::UserType, &["userType"], false),
    col(Field::Enabled, &["accountEnabled", "enabled"], false),
    col(Field::ManagerUpn, &["managerUserPrincipalName", "manager"], false),
    col(Field::Department, &["department"], false),
    col(Field::JobTitle, &["jobTitle"], false),
    col(Field::EmployeeId, &["employeeId", "employeeNumber"], false),
    col(Field::ExternalId, &["externalId"], false),
    col(Field::GivenName, &["givenName"], false),
    col(Field::Surname, &["surname", "familyName"], false),
];
const GROUPS: &[Column] = &[
    col(Field::GroupId, &["id", "externalId", "groupId"], true),
    col(Field::DisplayName, &["displayName"], true),
    col(Field::Description, &["description"], false),
    col(Field::GroupType, &["groupType"], false),
];
const MEMBERS: &[Column] = &[
    col(Field::GroupId, &["groupId"], true),
    col(Field::MemberUpn, &["memberUserPrincipalName"], false),
    col(Field::MemberGroupId, &["memberGroupId"], false),
];
const OWNERS: &[Column] =
    &[col(Field::GroupId, &["groupId"], true), col(Field::OwnerUpn, &["ownerUserPrincipalName"], true)];
const APPLICATIONS: &[Column] = &[
    col(Field::AppId, &["appId"], true),
    col(Field::DisplayName, &["displayName"], true),
    col(Field::AssignmentRequired, &["assignmentRequired"], false),
    col(Field::Homepage, &["homepage"], false),
];
const APP_ASSIGNMENTS: &[Column] = &[
    col(Field::AppId, &["appId"], true),
    col(Field::Upn, &["userPrincipalName"], false),
    col(Field::GroupId, &["groupId"], false),
    col(Field::AppRole, &["appRole"], true),
];
const ROLE_ASSIGNMENTS: &[Column] = &[
    col(Field::Role, &["role", "roleDefinitionId", "roleName"], true),
    col(Field::Upn, &["userPrincipalName"], true),
    col(Field::AssignmentType, &["assignmentType"], false),
    col(Field::Start, &["startDateTime", "start"], false),
    col(Field::End, &["endDateTime", "end"], false),
    col(Field::Scope, &["scope", "directoryScopeId"], false),
    col(Field::ScopeName, &["scopeName"], false),
];

impl FileKind {
    /// Every kind, in the order an import writes them.
    pub const ALL: [Self; 7] = [
        Self::Users,
        Self::Groups,
        Self::Applications,
        Self::GroupMembers,
        Self::GroupOwners,
        Self::AppAssignments,
        Self::RoleAssignments,
    ];

    /// The kind in words, plural ("group members").
    pub fn label(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Groups => "groups",
            Self::Applications => "applications",
            Self::GroupMembers => "group members",
            Self::GroupOwners => "group owners",
            Self::AppAssignments => "app assignments",
            Self::RoleAssignments => "role assignments",
        }
    }

    /// A short name for URLs and template files ("group-members").
    pub fn slug(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Groups => "groups",
            Self::Applications => "applications",
            Self::GroupMembers => "group-members",
            Self::GroupOwners => "group-owners",
            Self::AppAssignments => "app-assignments",
            Self::RoleAssignments => "role-assignments",
        }
    }

    /// The kind a slug names.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Self::Users => USERS,
            Self::Groups => GROUPS,
            Self::Applications => APPLICATIONS,
            Self::GroupMembers => MEMBERS,
            Self::GroupOwners => OWNERS,
            Self::AppAssignments => APP_ASSIGNMENTS,
            Self::RoleAssignments => ROLE_ASSIGNMENTS,
        }
    }

    /// The header names of this kind's file, as documented (the first name of each column).
    pub fn headers(self) -> Vec<&'static str> {
        self.columns().iter().filter_map(|c| c.names.first().copied()).collect()
    }

    /// The headers a file of this kind must have (one of `either` for some kinds).
    pub fn required_headers(self) -> Vec<&'static str> {
        self.columns().iter().filter(|c| c.required).filter_map(|c| c.names.first().copied()).collect()
    }

    /// A template: the header row and one example row.
    pub fn template(self) -> &'static str {
        match self {
            Self::Users => {
                "userPrincipalName,displayName,mail,userType,accountEnabled,managerUserPrincipalName,department,jobTitle,employeeId,externalId,givenName,surname\r\n\
                 ada@contoso.com,Ada Lovelace,ada@contoso.com,Member,true,grace@contoso.com,Engineering,Engineer,E1001,00u1ada,Ada,Lovelace\r\n"
            }
            Self::Groups => {
                "id,displayName,description,groupType\r\n\
                 grp-eng,Engineering,Everyone who builds the product,Security\r\n"
            }
            Self::Applications => {
                "appId,displayName,assignmentRequired,homepage\r\n\
                 app-payroll,Payroll,true,https://payroll.contoso.com\r\n"
            }
            Self::GroupMembers => {
                "groupId,memberUserPrincipalName,memberGroupId\r\n\
                 grp-eng,ada@contoso.com,\r\n\
                 grp-eng,,grp-backend\r\n"
            }
            Self::GroupOwners => {
                "groupId,ownerUserPrincipalName\r\n\
                 grp-eng,grace@contoso.com\r\n"
            }
            Self::AppAssignments => {
                "appId,userPrincipalName,groupId,appRole\r\n\
                 app-payroll,ada@contoso.com,,Reader\r\n\
                 app-payroll,,grp-eng,Default Access\r\n"
            }
            Self::RoleAssignments => {
                "role,userPrincipalName,assignmentType,startDateTime,endDateTime,scope,scopeName\r\n\
                 User Administrator,ada@contoso.com,Eligible,2026-01-01T00:00:00Z,2026-12-31T00:00:00Z,/,Directory\r\n"
            }
        }
    }

    /// Tells the kind of a file by its header names: the first rule that matches wins.
    /// `role` → role assignments; `memberUserPrincipalName` or `memberGroupId` → group
    /// members; `ownerUserPrincipalName` → group owners; `appRole` → app assignments;
    /// `userPrincipalName` → users; `appId` → applications; `id` → groups.
    pub fn detect(names: &[String]) -> Option<Self> {
        let has = |kind: Self, field: Field| {
            kind.columns()
                .iter()
                .filter(|c| c.field == field)
                .flat_map(|c| c.names.iter())
                .any(|n| names.iter().any(|h| normalise(h) == normalise(n)))
        };
        if has(Self::RoleAssignments, Field::Role) {
            Some(Self::RoleAssignments)
        } else if has(Self::GroupMembers, Field::MemberUpn) || has(Self::GroupMembers, Field::MemberGroupId) {
            Some(Self::GroupMembers)
        } else if has(Self::GroupOwners, Field::OwnerUpn) {
            Some(Self::GroupOwners)
        } else if has(Self::AppAssignments, Field::AppRole) {
            Some(Self::AppAssignments)
        } else if has(Self::Users, Field::Upn) {
            Some(Self::Users)
        } else if has(Self::Applications, Field::AppId) {
            Some(Self::Applications)
        } else if has(Self::Groups, Field::GroupId) {
            Some(Self::Groups)
        } else {
            None
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A header name as compared: lower case, without spaces, `-`, `_` and a byte-order mark.
pub fn normalise(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, ' ' | '-' | '_' | '\u{feff}')).flat_map(char::to_lowercase).collect()
}

/// What is wrong with a file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file's name as given.
    pub file: String,
    /// The line (1 is the header row); 0 for the file as a whole.
    pub line: u64,
    /// The column: its position (from 1) and header name.
    pub column: Option<(usize, String)>,
    /// What is wrong and what to fix.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        if let Some((position, name)) = &self.column {
            write!(f, ", column {position} ({name})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A user or a group, as a member or an assignee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user by userPrincipalName.
    User(String),
    /// A group by its id in the source.
    Group(String),
}

/// A user as a file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub user_type: UserType,
    pub enabled: bool,
    pub manager_upn: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub employee_id: Option<String>,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The last sign-in the directory knows (an LDAP sync's lastLogonTimestamp); a later
    /// one from sign-in events is kept.
    pub last_sign_in: Option<NaiveDateTime>,
}

/// A group as a file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
}

/// An application as a file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    pub app_id: String,
    pub display_name: String,
    pub assignment_required: bool,
    pub homepage: Option<String>,
}

/// A role assignment as a file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignmentRecord {
    /// The role's name or id.
    pub role: String,
    pub upn: String,
    pub assignment_type: AssignmentType,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
    pub scope: String,
    pub scope_name: String,
}

/// One checked record of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    User(UserRecord),
    Group(GroupRecord),
    Application(AppRecord),
    /// A direct member (user or nested group) of the group with this id.
    Member {
        group: String,
        member: Principal,
    },
    /// An owner (by UPN) of the group with this id.
    Owner {
        group: String,
        owner: String,
    },
    /// An assignment of a user or group to the application with this appId.
    AppAssignment {
        app_id: String,
        principal: Principal,
        app_role: String,
    },
    RoleAssignment(RoleAssignmentRecord),
}

impl Record {
    /// The record's key within its file and source, for duplicate checks. Identifiers that
    /// are compared whatever their case (UPNs) are lower-cased.
    pub fn key(&self) -> String {
        fn principal(p: &Principal) -> String {
            match p {
                Principal::User(upn) => format!("u:{}", upn.to_lowercase()),
                Principal::Group(id) => format!("g:{id}"),
            }
        }
        match self {
            Self::User(u) => u.upn.to_lowercase(),
            Self::Group(g) => g.id.clone(),
            Self::Application(a) => a.app_id.clone(),
            Self::Member { group, member } => format!("{group}\u{1f}{}", principal(member)),
            Self::Owner { group, owner } => format!("{group}\u{1f}{}", owner.to_lowercase()),
            Self::AppAssignment { app_id, principal: p, .. } => format!("{app_id}\u{1f}{}", principal(p)),
            Self::RoleAssignment(r) => format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}",
                r.role.to_lowercase(),
                r.upn.to_lowercase(),
                r.scope,
                r.assignment_type.as_str()
            ),
        }
    }
}

/// A record and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line: u64,
    pub record: Record,
}

/// A file being read: its kind, and its records one at a time.
pub struct Reader<R: Read> {
    file: String,
    kind: FileKind,
    inner: csv::Reader<R>,
    /// For each column of the file, the field it holds (None: ignored).
    fields: Vec<Option<Field>>,
    headers: Vec<String>,
    record: csv::ByteRecord,
}

impl<R: Read> Reader<R> {
    /// Reads the header row of `read` and tells the file's kind.
    pub fn new(file: &str, read: R) -> Result<Self, Problem> {
        let mut inner = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(read);
        let whole = |message: String| Problem { file: file.to_owned(), line: 1, column: None, message };
        let raw = inner
            .byte_headers()
            .map_err(|e| whole(format!("the header row cannot be read ({}).", csv_error(&e))))?
            .clone();
        let mut headers = Vec::with_capacity(raw.len());
        for (i, name) in raw.iter().enumerate() {
            let name = std::str::from_utf8(name).map_err(|_| Problem {
                file: file.to_owned(),
                line: 1,
                column: Some((i + 1, String::new())),
                message: "the header is not UTF-8 text: save the file as UTF-8 CSV.".into(),
            })?;
            headers.push(name.trim_start_matches('\u{feff}').trim().to_owned());
        }
        if headers.iter().all(String::is_empty) {
            return Err(whole("the file is empty: it needs a header row (see the templates).".into()));
        }
        let kind = FileKind::detect(&headers).ok_or_else(|| {
            whole(
                "the header row names no known kind of file: a users file needs userPrincipalName, a groups file \
                 id, an applications file appId, a group members file groupId and memberUserPrincipalName or \
                 memberGroupId, a group owners file ownerUserPrincipalName, an app assignments file appRole, a role \
                 assignments file role (see the templates)."
                    .into(),
            )
        })?;
        let mut fields = vec![None; headers.len()];
        for (i, header) in headers.iter().enumerate() {
            let name = normalise(header);
            let found = kind.columns().iter().find(|c| c.names.iter().any(|n| normalise(n) == name));
            if let Some(column) = found {
                if let Some(first) = fields.iter().position(|f| *f == Some(column.field)) {
                    return Err(Problem {
                        file: file.to_owned(),
                        line: 1,
                        column: Some((i + 1, header.clone())),
                        message: format!(
                            "this column repeats column {} ({}): keep one of them.",
                            first + 1,
                            headers.get(first).map_or("", String::as_str)
                        ),
                    });
                }
                fields[i] = Some(column.field);
            }
        }
        for column in kind.columns().iter().filter(|c| c.required) {
            if !fields.contains(&Some(column.field)) {
                return Err(whole(format!(
                    "a {} file needs the column {}; the header row has {}.",
                    kind.label(),
                    column.names.first().copied().unwrap_or_default(),
                    headers.join(", ")
                )));
            }
        }
        let either = |a: Field, b: Field, what: &str| {
            if fields.contains(&Some(a)) || fields.contains(&Some(b)) { Ok(()) } else { Err(whole(what.to_owned())) }
        };
        match kind {
            FileKind::AppAssignments => either(
                Field::Upn,
                Field::GroupId,
                "an app assignments file needs the column userPrincipalName or groupId (or both).",
            )?,
            FileKind::GroupMembers => either(
                Field::MemberUpn,
                Field::MemberGroupId,
                "a group members file needs the column memberUserPrincipalName or memberGroupId (or both).",
            )?,
            _ => {}
        }
        Ok(Self { file: file.to_owned(), kind, inner, fields, headers, record: csv::ByteRecord::new() })
    }

    /// The file's kind.
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// The file's name as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The position (from 1) and header name of the column holding `field`.
    pub fn column_of(&self, field: Field) -> Option<(usize, String)> {
        let i = self.fields.iter().position(|f| *f == Some(field))?;
        Some((i + 1, self.headers.get(i).cloned().unwrap_or_default()))
    }

    /// A problem at `line` in the column holding `field`.
    pub fn problem(&self, line: u64, field: Option<Field>, message: String) -> Problem {
        Problem { file: self.file.clone(), line, column: field.and_then(|f| self.column_of(f)), message }
    }

    /// The next record, or every problem of its line; `None` at the end of the file. A
    /// line that cannot be read as CSV at all ends the file.
    pub fn next_record(&mut self) -> Option<Result<Line, Vec<Problem>>> {
        loop {
            match self.inner.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    let problem = Problem {
                        file: self.file.clone(),
                        line,
                        column: None,
                        message: format!("this line cannot be read as CSV ({}).", csv_error(&e)),
                    };
                    // The reader cannot resync after a broken quote: stop here.
                    self.record.clear();
                    return Some(Err(vec![problem]));
                }
            }
            // Blank lines between records are skipped by the reader; a line of only commas too.
            if self.record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            let line = self.record.position().map_or(0, csv::Position::line);
            return Some(self.check(line));
        }
    }

    /// Every record left, for tests and small files.
    pub fn collect_all(mut self) -> (Vec<Line>, Vec<Problem>) {
        let (mut lines, mut problems) = (Vec::new(), Vec::new());
        while let Some(next) = self.next_record() {
            match next {
                Ok(line) => lines.push(line),
                Err(mut p) => problems.append(&mut p),
            }
        }
        (lines, problems)
    }

    fn check(&self, line: u64) -> Result<Line, Vec<Problem>> {
        let mut values =
            Values { fields: Vec::with_capacity(self.fields.len()), problems: Vec::new(), bad: Vec::new() };
        for (i, field) in self.fields.iter().enumerate() {
            let Some(field) = field else { continue };
            let raw = self.record.get(i).unwrap_or_default();
            match checked_text(raw, max_len(*field)) {
                Ok(text) if text.is_empty() => {}
                Ok(text) => values.fields.push((*field, text)),
                Err(message) => {
                    values.bad.push(*field);
                    values.problems.push(self.problem(line, Some(*field), message));
                }
            }
        }
        let record = self.parse(line, &mut values);
        // A line's problems in the order of its columns, as a person reads the line.
        values.problems.sort_by_key(|p| p.column.as_ref().map_or(0, |c| c.0));
        match record {
            Some(record) if values.problems.is_empty() => Ok(Line { line, record }),
            _ => Err(values.problems),
        }
    }

    fn parse(&self, line: u64, v: &mut Values) -> Option<Record> {
        let req = |v: &mut Values, field: Field, what: &str| {
            let value = v.take(field);
            if value.is_none() && !v.bad.contains(&field) {
                v.problems.push(self.problem(line, Some(field), format!("give the {what}: it cannot be empty.")));
            }
            value
        };
        match self.kind {
            FileKind::Users => {
                let upn = req(v, Field::Upn, "user's userPrincipalName");
                let display_name = req(v, Field::DisplayName, "user's display name");
                let user_type = self.parse_enum(line, v, Field::UserType, &UserType::ALL, UserType::as_str);
                let enabled = self.parse_bool(line, v, Field::Enabled);
                let manager_upn = v.take(Field::ManagerUpn);
                for (field, value) in [(Field::Upn, upn.as_deref()), (Field::ManagerUpn, manager_upn.as_deref())] {
                    if let Some(problem) = value.and_then(upn_problem) {
                        v.problems.push(self.problem(line, Some(field), problem));
                    }
                }
                Some(Record::User(UserRecord {
                    upn: upn?,
                    display_name: display_name?,
                    mail: v.take(Field::Mail),
                    user_type: user_type?.unwrap_or(UserType::Member),
                    enabled: enabled?.unwrap_or(true),
                    manager_upn,
                    department: v.take(Field::Department),
                    job_title: v.take(Field::JobTitle),
                    employee_id: v.take(Field::EmployeeId),
                    external_id: v.take(Field::ExternalId),
                    given_name: v.take(Field::GivenName),
                    family_name: v.take(Field::Surname),
                    last_sign_in: None,
                }))
            }
            FileKind::Groups => {
                let id = req(v, Field::GroupId, "group's id");
                let display_name = req(v, Field::DisplayName, "group's display name");
                let group_type = self.parse_group_type(line, v);
                Some(Record::Group(GroupRecord {
                    id: id?,
                    display_name: display_name?,
                    description: v.take(Field::Description),
                    group_type: group_type?.unwrap_or(GroupType::Security),
                }))
            }
            FileKind::Applications => {
                let app_id = req(v, Field::AppId, "application's appId");
                let display_name = req(v, Field::DisplayName, "application's display name");
                let assignment_required = self.parse_bool(line, v, Field::AssignmentRequired);
                Some(Record::Application(AppRecord {
                    app_id: app_id?,
                    display_name: display_name?,
                    assignment_required: assignment_required?.unwrap_or(true),
                    homepage: v.take(Field::Homepage),
                }))
            }
            FileKind::GroupMembers => {
                let group = req(v, Field::GroupId, "group's id");
                let member = self.principal(line, v, Field::MemberUpn, Field::MemberGroupId, "member");
                let (group, member) = (group?, member?);
                if member == Principal::Group(group.clone()) {
                    v.problems.push(self.problem(
                        line,
                        Some(Field::MemberGroupId),
                        "a group cannot be a member of itself.".into(),
                    ));
                }
                Some(Record::Member { group, member })
            }
            FileKind::GroupOwners => {
                let group = req(v, Field::GroupId, "group's id");
                let owner = req(v, Field::OwnerUpn, "owner's userPrincipalName");
                if let Some(problem) = owner.as_deref().and_then(upn_problem) {
                    v.problems.push(self.problem(line, Some(Field::OwnerUpn), problem));
                }
                Some(Record::Owner { group: group?, owner: owner? })
            }
            FileKind::AppAssignments => {
                let app_id = req(v, Field::AppId, "application's appId");
                let principal = self.principal(line, v, Field::Upn, Field::GroupId, "user or group");
                let app_role = v.take(Field::AppRole).unwrap_or_else(|| DEFAULT_APP_ROLE.to_owned());
                Some(Record::AppAssignment { app_id: app_id?, principal: principal?, app_role })
            }
            FileKind::RoleAssignments => {
                let role = req(v, Field::Role, "role's name or id");
                let upn = req(v, Field::Upn, "user's userPrincipalName");
                if let Some(problem) = upn.as_deref().and_then(upn_problem) {
                    v.problems.push(self.problem(line, Some(Field::Upn), problem));
                }
                let assignment_type =
                    self.parse_enum(line, v, Field::AssignmentType, &AssignmentType::ALL, AssignmentType::as_str);
                let start = self.parse_time(line, v, Field::Start);
                let end = self.parse_time(line, v, Field::End);
                if let (Some(Some(start)), Some(Some(end))) = (start, end)
                    && end <= start
                {
                    v.problems.push(self.problem(
                        line,
                        Some(Field::End),
                        "the assignment ends before it starts: give an end after the start.".into(),
                    ));
                }
                let scope = v.take(Field::Scope).unwrap_or_else(|| TENANT_SCOPE.to_owned());
                let scope_name = v.take(Field::ScopeName).unwrap_or_else(|| {
                    if scope == TENANT_SCOPE { TENANT_SCOPE_NAME.to_owned() } else { scope.clone() }
                });
                Some(Record::RoleAssignment(RoleAssignmentRecord {
                    role: role?,
                    upn: upn?,
                    assignment_type: assignment_type?.unwrap_or(AssignmentType::Active),
                    start: start?,
                    end: end?,
                    scope,
                    scope_name,
                }))
            }
        }
    }

    /// A user (by UPN, in `user`) or a group (by id, in `group`): exactly one of the two.
    fn principal(&self, line: u64, v: &mut Values, user: Field, group: Field, what: &str) -> Option<Principal> {
        match (v.take(user), v.take(group)) {
            (Some(upn), None) => match upn_problem(&upn) {
                Some(problem) => {
                    v.problems.push(self.problem(line, Some(user), problem));
                    None
                }
                None => Some(Principal::User(upn)),
            },
            (None, Some(id)) => Some(Principal::Group(id)),
            (Some(_), Some(_)) => {
                v.problems.push(self.problem(
                    line,
                    Some(group),
                    format!("give the {what} as a userPrincipalName or a group id, not both: one per line."),
                ));
                None
            }
            (None, None) => {
                let field = if self.column_of(user).is_some() { user } else { group };
                v.problems.push(self.problem(
                    line,
                    Some(field),
                    format!("give the {what}: a userPrincipalName or a group id."),
                ));
                None
            }
        }
    }

    /// `None` on a problem (recorded); `Some(None)` when the value is empty.
    fn parse_bool(&self, line: u64, v: &mut Values, field: Field) -> Option<Option<bool>> {
        let Some(text) = v.take(field) else { return Some(None) };
        match parse_bool(&text) {
            Some(b) => Some(Some(b)),
            None => {
                v.problems.push(self.problem(
                    line,
                    Some(field),
                    format!("{:?} is not a yes/no value: write true or false.", text),
                ));
                None
            }
        }
    }

    fn parse_enum<T: Copy>(
        &self,
        line: u64,
        v: &mut Values,
        field: Field,
        all: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Option<Option<T>> {
        let Some(text) = v.take(field) else { return Some(None) };
        if let Some(found) = all.iter().copied().find(|t| as_str(*t).eq_ignore_ascii_case(&text)) {
            return Some(Some(found));
        }
        let expected: Vec<&str> = all.iter().map(|t| as_str(*t)).collect();
        v.problems.push(self.problem(
            line,
            Some(field),
            format!("{:?} is not one of {}: write one of those.", text, expected.join(", ")),
        ));
        None
    }

    fn parse_group_type(&self, line: u64, v: &mut Values) -> Option<Option<GroupType>> {
        let Some(text) = v.take(Field::GroupType) else { return Some(None) };
        let name = normalise(&text);
        if let Some(found) = GroupType::ALL.into_iter().find(|t| normalise(t.as_str()) == name) {
            return Some(Some(found));
        }
        // Graph's `groupTypes` holds "Unified" for a Microsoft 365 group.
        if name == "unified" {
            return Some(Some(GroupType::Microsoft365));
        }
        v.problems.push(self.problem(
            line,
            Some(Field::GroupType),
            format!("{text:?} is not a group type: write Security or Microsoft365."),
        ));
        None
    }

    fn parse_time(&self, line: u64, v: &mut Values, field: Field) -> Option<Option<NaiveDateTime>> {
        let Some(text) = v.take(field) else { return Some(None) };
        match parse_time(&text) {
            Some(at) => Some(Some(at)),
            None => {
                v.problems.push(self.problem(
                    line,
                    Some(field),
                    format!("{text:?} is not a date: write it as 2026-01-31 or 2026-01-31T09:00:00Z."),
                ));
                None
            }
        }
    }
}

/// The checked values of a line, taken one by one, and the problems found so far.
struct Values {
    fields: Vec<(Field, String)>,
    problems: Vec<Problem>,
    /// Fields whose value was refused (so "it cannot be empty" is not said as well).
    bad: Vec<Field>,
}

impl Values {
    fn take(&mut self, field: Field) -> Option<String> {
        let i = self.fields.iter().position(|(f, _)| *f == field)?;
        Some(self.fields.swap_remove(i).1)
    }
}

fn max_len(field: Field) -> usize {
    match field {
        Field::Description => MAX_DESCRIPTION_LEN,
        Field::Homepage => 2048,
        Field::DisplayName
        | Field::Department
        | Field::JobTitle
        | Field::GivenName
        | Field::Surname
        | Field::AppRole
        | Field::ScopeName => MAX_DISPLAY_TEXT,
        _ => MAX_ID_LEN,
    }
}

/// A field as text, trimmed, or what is wrong with it: not UTF-8, a control character, a
/// bidirectional override or isolate (which can make text read as something else), or
/// longer than `max` characters.
pub fn checked_text(raw: &[u8], max: usize) -> Result<String, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "this value is not UTF-8 text: save the file as UTF-8 CSV.")?;
    let text = text.trim();
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!("the value holds the control character U+{:04X}: remove it.", u32::from(c)));
    }
    if let Some(c) = text.chars().find(|c| is_bidi_control(*c)) {
        return Err(format!(
            "the value holds the bidirectional control U+{:04X}, which can disguise text: remove it.",
            u32::from(c)
        ));
    }
    let count = text.chars().count();
    if count > max {
        return Err(format!("the value is {count} characters long; at most {max} are accepted: shorten it."));
    }
    Ok(text.to_owned())
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What is wrong with a userPrincipalName, or `None`: it is `name@domain`, without spaces.
pub fn upn_problem(upn: &str) -> Option<String> {
    let ok = upn.split_once('@').is_some_and(|(name, domain)| !name.is_empty() && !domain.is_empty())
        && !upn.chars().any(char::is_whitespace);
    (!ok).then(|| format!("{upn:?} is not a userPrincipalName: write it as name@domain, without spaces."))
}

/// A yes/no value: true/false, yes/no, 1/0, whatever the case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A time as exports write it, in UTC: `2026-01-31T09:00:00Z` (an offset is converted to
/// UTC; fractions of a second are dropped), `2026-01-31T09:00:00`, `2026-01-31 09:00:00`,
/// or a date alone (midnight).
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.naive_utc().with_nanosecond_zero());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at.with_nanosecond_zero());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

/// The words of a CSV reading error, without the reader's internals.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => format!("it could not be read: {io}"),
        csv::ErrorKind::Utf8 { .. } => "it is not UTF-8 text".into(),
        csv::ErrorKind::UnequalLengths { .. } => "it has another number of fields than the header".into(),
        _ => "it is not valid CSV; check its quotes".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (FileKind, Vec<Line>, Vec<Problem>) {
        let reader = Reader::new("f.csv", text.as_bytes()).unwrap();
        let kind = reader.kind();
        let (lines, problems) = reader.collect_all();
        (kind, lines, problems)
    }

    #[test]
    fn kinds_are_told_by_headers() {
        for kind in FileKind::ALL {
            let (found, lines, problems) = read(kind.template());
            assert_eq!(found, kind);
            assert!(problems.is_empty(), "{kind}: {problems:?}");
            assert!(!lines.is_empty());
        }
        let err = Reader::new("x.csv", "name,colour\nA,red\n".as_bytes()).err().unwrap();
        assert!(err.to_string().starts_with("x.csv, line 1: the header row names no known kind"));
        let err = Reader::new("u.csv", "userPrincipalName,mail\na@b,c\n".as_bytes()).err().unwrap();
        assert!(err.message.contains("needs the column displayName"), "{err}");
    }

    #[test]
    fn headers_match_loosely_and_skip_a_bom() {
        let (kind, lines, problems) = read("\u{feff}User Principal Name,DISPLAY_NAME,Colour\nada@x.io,Ada,red\n");
        assert_eq!(kind, FileKind::Users);
        assert!(problems.is_empty());
        let Record::User(u) = &lines[0].record else { panic!() };
        assert_eq!((u.upn.as_str(), u.display_name.as_str(), u.enabled), ("ada@x.io", "Ada", true));
        assert_eq!(u.user_type, UserType::Member);
    }

    #[test]
    fn hostile_values_are_named_with_line_and_column() {
        let text = "userPrincipalName,displayName,accountEnabled,userType\n\
                    a@x.io,\"A\u{202e}B\",true,Member\n\
                    b@x.io,B,maybe,Guest\n\
                    c@x.io,\"C\u{7}\",true,Alien\n\
                    not-a-upn,D,,\n\
                    e@x.io,=HYPERLINK(\"x\"),,\n";
        let (_, lines, problems) = read(text);
        let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 5, "{texts:#?}");
        assert!(texts[0].starts_with("f.csv, line 2, column 2 (displayName): the value holds the bidirectional"));
        assert!(texts[1].starts_with("f.csv, line 3, column 3 (accountEnabled): \"maybe\" is not a yes/no"));
        assert!(texts[2].starts_with("f.csv, line 4, column 2 (displayName): the value holds the control"));
        assert!(texts[3].starts_with("f.csv, line 4, column 4 (userType): \"Alien\" is not one of Member, Guest"));
        assert!(texts[4].starts_with("f.csv, line 5, column 1 (userPrincipalName)"));
        // Formula-like text is data.
        let Record::User(u) = &lines[0].record else { panic!() };
        assert_eq!(u.display_name, "=HYPERLINK(\"x\")");
        let long = format!("userPrincipalName,displayName\na@x.io,{}\n", "x".repeat(300));
        let (_, _, problems) = read(&long);
        assert!(problems[0].message.contains("300 characters long"));
    }

    #[test]
    fn members_and_assignments_take_one_principal() {
        let (_, lines, problems) =
            read("groupId,memberUserPrincipalName,memberGroupId\ng1,a@x.io,\ng1,,g2\ng1,a@x.io,g2\ng1,,\ng1,,g1\n");
        assert_eq!(lines.len(), 2);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(lines[1].record, Record::Member { group: "g1".into(), member: Principal::Group("g2".into()) });
        let (_, lines, _) = read("appId,userPrincipalName,appRole\napp,A@X.io,\n");
        assert_eq!(lines[0].record.key(), "app\u{1f}u:a@x.io");
        let Record::AppAssignment { app_role, .. } = &lines[0].record else { panic!() };
        assert_eq!(app_role, DEFAULT_APP_ROLE);
    }

    #[test]
    fn times_and_booleans() {
        assert_eq!(parse_time("2026-01-31"), NaiveDate::from_ymd_opt(2026, 1, 31).unwrap().and_hms_opt(0, 0, 0));
        let nine = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap().and_hms_opt(9, 0, 0);
        assert_eq!(parse_time("2026-01-31T09:00:00Z"), nine);
        assert_eq!(parse_time("2026-01-31T10:00:00.123+01:00"), nine);
        assert_eq!(parse_time("2026-01-31 09:00:00"), nine);
        assert_eq!(parse_time("31/01/2026"), None);
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("no"), Some(false));
        assert_eq!(parse_bool("y"), None);
        let (_, _, problems) =
            read("role,userPrincipalName,startDateTime,endDateTime\nR,a@x.io,2026-02-01,2026-01-01\n");
        assert!(problems[0].message.contains("ends before it starts"));
    }

    #[test]
    fn broken_quotes_and_bad_encoding_are_named() {
        let (_, _, problems) = read("id,displayName\ng1,\"Open\n");
        assert!(problems.is_empty() || problems[0].message.contains("CSV"));
        let reader = Reader::new("g.csv", &b"id,displayName\ng1,\xff\xfe\n"[..]).unwrap();
        let (_, problems) = reader.collect_all();
        assert!(problems[0].to_string().contains("line 2, column 2 (displayName): this value is not UTF-8"));
    }
}
