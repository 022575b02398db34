//! CSV import and sign-in activity: `attest import`, `attest import-sign-ins`,
//! `POST /api/sign-ins` and the upload page, on an empty directory, on both backends.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::{TestApp, spawn_app};

fn attest(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env("ATTEST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "should succeed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of_failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "should fail: {}", String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Files written into a temporary folder, named as given.
struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn put(&self, name: &str, text: &str) -> String {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn dir(&self) -> &Path {
        self.0.path()
    }
}

const USERS: &str = "userPrincipalName,displayName,mail,userType,accountEnabled,managerUserPrincipalName,department,jobTitle,employeeId\n\
    grace@contoso.com,Grace Hopper,grace@contoso.com,Member,true,,Engineering,Director,E1\n\
    ada@contoso.com,Ada Lovelace,ada@contoso.com,Member,True,grace@contoso.com,Engineering,Engineer,E2\n\
    guest@fabrikam.com,Gus Guest,,Guest,false,,,,\n";
const GROUPS: &str =
    "id,displayName,description,groupType\ngrp-eng,Engineering,Builders,Security\ngrp-be,Backend,,Microsoft365\n";
const MEMBERS: &str = "groupId,memberUserPrincipalName,memberGroupId\ngrp-eng,ada@contoso.com,\ngrp-eng,,grp-be\ngrp-be,GUEST@fabrikam.com,\n";
const OWNERS: &str = "groupId,ownerUserPrincipalName\ngrp-eng,grace@contoso.com\n";
const APPS: &str = "appId,displayName,assignmentRequired\napp-payroll,Payroll,true\n";
const APP_ASSIGNMENTS: &str =
    "appId,userPrincipalName,groupId,appRole\napp-payroll,ada@contoso.com,,Reader\napp-payroll,,grp-be,\n";
const ROLES: &str = "role,userPrincipalName,assignmentType,startDateTime,endDateTime\nUser Administrator,grace@contoso.com,Eligible,2026-01-01,2027-01-01T00:00:00Z\n";

fn add_role(app: &TestApp) {
    app.exec(
        "INSERT INTO role_definitions (id, display_name, description, role_kind, privileged) \
         VALUES ('role-ua', 'User Administrator', 'Manages users', 'Directory', TRUE)",
    );
}

fn all_files(files: &Files) -> Vec<String> {
    vec![
        files.put("role-assignments.csv", ROLES),
        files.put("app-assignments.csv", APP_ASSIGNMENTS),
        files.put("members.csv", MEMBERS),
        files.put("owners.csv", OWNERS),
        files.put("groups.csv", GROUPS),
        files.put("apps.csv", APPS),
        files.put("users.csv", USERS),
    ]
}

fn import_args<'a>(source: &'a str, extra: &[&'a str], files: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["import", "--source", source];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(String::as_str));
    args
}

#[tokio::test]
async fn every_kind_is_imported_and_shown() {
    let app = spawn_app().await;
    add_role(&app);
    let files = Files::new();
    let paths = all_files(&files);
    let out = stdout(&attest(&app, &import_args("HR export", &[], &paths)));
    assert!(out.contains("users: 3 added, 0 changed, 0 removed"), "{out}");
    assert!(out.contains("group members: 3 added"), "{out}");
    assert!(out.contains("role assignments: 1 added"), "{out}");
    assert!(out.contains("into the CSV source \"HR export\""), "{out}");
    let source: String = {
        use attest::db::schema::sources;
        use diesel::prelude::*;
        sources::table.filter(sources::name.eq("HR export")).select(sources::id).first(&mut *app.conn()).unwrap()
    };
    let of = |table: &str| app.count(&format!("{table} WHERE source_id = '{source}'"));
    assert_eq!(
        [
            of("users"),
            of("groups"),
            of("group_member_users"),
            of("group_member_groups"),
            of("group_owners"),
            of("applications"),
            of("app_user_assignments"),
            of("app_group_assignments"),
            of("role_assignments")
        ],
        [3, 2, 2, 1, 1, 1, 1, 1, 1]
    );
    assert_eq!(app.count("users WHERE upn = 'ada@contoso.com' AND manager_id IS NOT NULL"), 1);
    assert_eq!(app.count("users WHERE upn = 'guest@fabrikam.com' AND user_type = 'Guest' AND enabled = FALSE"), 1);
    assert_eq!(app.count("app_group_assignments WHERE app_role = 'Default Access'"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'DirectoryImported'"), 1);
    assert_eq!(app.count(&format!("sources WHERE id = '{source}' AND kind = 'Csv' AND changed_at IS NOT NULL")), 1);

    // The same files again change nothing; a changed line is one change.
    let out = stdout(&attest(&app, &import_args("hr export", &[], &paths)));
    assert!(out.contains("users: 0 added, 0 changed, 0 removed, 3 unchanged"), "{out}");
    let changed = files.put("users.csv", &USERS.replace("Ada Lovelace", "Ada King"));
    let out = stdout(&attest(&app, &["import", "--source", "HR export", &changed]));
    assert!(out.contains("users: 0 added, 1 changed"), "{out}");
    assert!(out.contains("changed: ada@contoso.com (displayName)"), "{out}");

    // The directory pages show what came in.
    app.exec("INSERT INTO users (id, upn, display_name, user_type, enabled, created_at) VALUES ('adm', 'admin@x.io', 'Admin', 'Member', TRUE, '2026-01-01 00:00:00')");
    let listed = attest(&app, &["source", "list"]);
    assert!(stdout(&listed).contains("HR export (CSV import): 3 users, 2 groups, 3 memberships, 1 owners, 1 applications, 2 app assignments, 1 role assignments"));
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_shows_the_same_difference() {
    let app = spawn_app().await;
    add_role(&app);
    let files = Files::new();
    let paths = all_files(&files);
    let dry = stdout(&attest(&app, &import_args("HR", &["--dry-run"], &paths)));
    assert!(dry.contains("Dry run: nothing was written"), "{dry}");
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.count("sources WHERE name = 'HR'"), 0, "not even the source");
    let real = stdout(&attest(&app, &import_args("HR", &[], &paths)));
    let diff = |text: &str| {
        text.lines().filter(|l| !l.starts_with("Dry run") && !l.starts_with("Imported")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(diff(&dry), diff(&real));
}

#[tokio::test]
async fn a_full_import_removes_only_its_own_absent_objects() {
    let app = spawn_app().await;
    let files = Files::new();
    let users = files.put("users.csv", USERS);
    let groups = files.put("groups.csv", GROUPS);
    let members = files.put("members.csv", MEMBERS);
    stdout(&attest(&app, &["import", "--source", "HR", &users, &groups, &members]));
    let other = files.put("other.csv", "userPrincipalName,displayName\nbob@other.com,Bob\n");
    stdout(&attest(&app, &["import", "--source", "Contractors", &other]));
    app.exec("INSERT INTO users (id, upn, display_name, user_type, enabled, created_at) VALUES ('loc', 'local@x.io', 'Local', 'Member', TRUE, '2026-01-01 00:00:00')");

    let fewer = files.put(
        "users2.csv",
        "userPrincipalName,displayName\ngrace@contoso.com,Grace Hopper\nada@contoso.com,Ada Lovelace\n",
    );
    let fewer_members = files.put("members2.csv", "groupId,memberUserPrincipalName\ngrp-eng,ada@contoso.com\n");
    // Without --full nothing is removed.
    let out = stdout(&attest(&app, &["import", "--source", "HR", &fewer]));
    assert!(out.contains("0 removed"), "{out}");
    let out = stdout(&attest(&app, &["import", "--source", "HR", "--full", &fewer, &fewer_members]));
    assert!(out.contains("users: 0 added, 0 changed, 1 removed, 2 unchanged"), "{out}");
    assert!(out.contains("removed: guest@fabrikam.com"), "{out}");
    assert!(out.contains("group members: 0 added, 0 changed, 2 removed"), "{out}");
    assert_eq!(app.count("users"), 4, "grace, ada, bob and the local user");
    assert_eq!(app.count("users WHERE upn IN ('bob@other.com', 'local@x.io')"), 2);
    assert_eq!(app.count("groups"), 2, "groups were not in the files: kept");
    assert_eq!(app.count("group_member_groups"), 0);
}

#[tokio::test]
async fn bad_files_name_file_line_and_column_and_write_nothing() {
    let app = spawn_app().await;
    let files = Files::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "control.csv",
            "userPrincipalName,displayName\na@x.io,\"A\u{7}\"\n",
            "control.csv, line 2, column 2 (displayName): the value holds the control character U+0007",
        ),
        (
            "bidi.csv",
            "userPrincipalName,displayName\na@x.io,\"A\u{202e}gpj.exe\"\n",
            "bidi.csv, line 2, column 2 (displayName): the value holds the bidirectional control U+202E",
        ),
        (
            "long.csv",
            &format!("userPrincipalName,displayName\na@x.io,{}\n", "x".repeat(400)),
            "long.csv, line 2, column 2 (displayName): the value is 400 characters long",
        ),
        (
            "bool.csv",
            "userPrincipalName,displayName,accountEnabled\na@x.io,A,sometimes\n",
            "bool.csv, line 2, column 3 (accountEnabled): \"sometimes\" is not a yes/no value",
        ),
        (
            "enum.csv",
            "userPrincipalName,displayName,userType\na@x.io,A,Admin\n",
            "enum.csv, line 2, column 3 (userType): \"Admin\" is not one of Member, Guest",
        ),
        (
            "date.csv",
            "role,userPrincipalName,startDateTime\nR,a@x.io,31/12/2026\n",
            "date.csv, line 2, column 3 (startDateTime): \"31/12/2026\" is not a date",
        ),
        (
            "dup.csv",
            "userPrincipalName,displayName\na@x.io,A\nA@X.IO,B\n",
            "dup.csv, line 3, column 1 (userPrincipalName): this user repeats line 2",
        ),
        (
            "missing.csv",
            "userPrincipalName,mail\na@x.io,a@x.io\n",
            "missing.csv, line 1: a users file needs the column displayName",
        ),
        ("unknown.csv", "colour,shape\nred,round\n", "unknown.csv, line 1: the header row names no known kind of file"),
        (
            "ref.csv",
            "groupId,memberUserPrincipalName\nnope,a@x.io\n",
            "ref.csv, line 2, column 1 (groupId): there is no group with the id \"nope\"",
        ),
        (
            "utf8.csv",
            "userPrincipalName,displayName\na@x.io,\u{0}\n",
            "utf8.csv, line 2, column 2 (displayName): the value holds the control character U+0000",
        ),
    ];
    let good = files.put("good.csv", "userPrincipalName,displayName\ngood@x.io,Good\n");
    for (name, text, expected) in cases {
        let bad = files.put(name, text);
        let err = stderr_of_failure(&attest(&app, &["import", "--source", "HR", &good, &bad]));
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(app.count("users"), 0, "{name}: nothing written");
    }
    // Not UTF-8 at all.
    std::fs::write(files.dir().join("latin1.csv"), b"userPrincipalName,displayName\na@x.io,Jos\xe9\n").unwrap();
    let latin1 = files.dir().join("latin1.csv").display().to_string();
    let err = stderr_of_failure(&attest(&app, &["import", "--source", "HR", &latin1]));
    assert!(err.contains("line 2, column 2 (displayName): this value is not UTF-8 text"), "{err}");
    // Every problem is listed, not only the first; the source shows the failure.
    let many = files.put("many.csv", "userPrincipalName,displayName,accountEnabled\nbad upn,A,x\nb@x.io,,\n");
    let err = stderr_of_failure(&attest(&app, &["import", "--source", "HR", &many]));
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(
        err.contains("line 2, column 1") && err.contains("line 2, column 3") && err.contains("line 3, column 2"),
        "{err}"
    );
    // Formula-looking values are data, kept as written.
    let formula = files
        .put("formula.csv", "userPrincipalName,displayName,department\nf@x.io,=HYPERLINK(\"http://x\"),+1 Sales\n");
    stdout(&attest(&app, &["import", "--source", "HR", &formula]));
    assert_eq!(app.count("users WHERE display_name = '=HYPERLINK(\"http://x\")' AND department = '+1 Sales'"), 1);
    stderr_of_failure(&attest(&app, &["import", "--source", "HR", &many]));
    assert_eq!(app.count("source_errors"), 1, "a failed import of an existing source is on its page");
}

#[tokio::test]
async fn another_sources_objects_are_refused() {
    let app = spawn_app().await;
    let files = Files::new();
    let a = files.put("a.csv", "userPrincipalName,displayName\nshared@x.io,Shared\n");
    stdout(&attest(&app, &["import", "--source", "HR", &a]));
    let err = stderr_of_failure(&attest(&app, &["import", "--source", "Payroll", &a]));
    assert!(
        err.contains("a.csv, line 2, column 1 (userPrincipalName): the user shared@x.io belongs to another source"),
        "{err}"
    );
    let scim = attest(&app, &["scim-token", "create", "--source", "Entra"]);
    stdout(&scim);
    let err = stderr_of_failure(&attest(&app, &["import", "--source", "Entra", &a]));
    assert!(err.contains("is a SCIM provisioning source"), "{err}");
}

#[tokio::test]
async fn two_imports_at_once_both_land() {
    let app = spawn_app().await;
    let files = Files::new();
    let users = |prefix: &str| {
        let mut text = String::from("userPrincipalName,displayName\n");
        for i in 0..2000 {
            text.push_str(&format!("{prefix}{i}@x.io,{prefix} {i}\n"));
        }
        text
    };
    let a = files.put("a.csv", &users("a"));
    let b = files.put("b.csv", &users("b"));
    let url = app.db.url();
    let run = |source: &'static str, file: String, url: String| {
        std::thread::spawn(move || {
            Command::new(env!("CARGO_BIN_EXE_attest"))
                .args(["import", "--source", source, &file])
                .env("DATABASE_URL", url)
                .env("ATTEST_LOG", "warn")
                .output()
                .unwrap()
        })
    };
    let (one, two) = (run("A", a, url.clone()), run("B", b, url));
    for out in [one.join().unwrap(), two.join().unwrap()] {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(app.count("users"), 4000);
}

const ENTRA_SIGN_INS: &str = "Date (UTC),Request ID,User,Username,User ID,Application,Application ID,Status\n\
    2026-11-20T08:00:00Z,r1,Ada,ada@contoso.com,,Payroll,app-payroll,Success\n\
    2026-11-21T08:00:00Z,r2,Ada,ADA@contoso.com,,Payroll,app-payroll,Failure\n\
    2026-11-22T08:00:00Z,r3,Nobody,nobody@contoso.com,,Payroll,app-payroll,Success\n\
    2026-11-23T08:00:00Z,r4,Grace,grace@contoso.com,,,,Success\n";

const OKTA_SIGN_INS: &str = r#"{"uuid":"o1","published":"2026-11-25T10:00:00.000Z","eventType":"user.authentication.sso","actor":{"alternateId":"ada@contoso.com"},"outcome":{"result":"SUCCESS"},"target":[{"type":"AppInstance","alternateId":"payroll","displayName":"Payroll"}]}
{"uuid":"o2","published":"2026-11-26T10:00:00Z","eventType":"user.session.start","actor":{"alternateId":"grace@contoso.com"},"outcome":{"result":"SUCCESS"}}
{"uuid":"o3","published":"2026-11-26T11:00:00Z","eventType":"user.session.start","actor":{"alternateId":"grace@contoso.com"},"outcome":{"result":"FAILURE"}}
"#;

async fn directory_for_sign_ins(app: &TestApp, files: &Files) {
    let users = files.put("users.csv", USERS);
    let apps = files.put("apps.csv", APPS);
    stdout(&attest(app, &["import", "--source", "HR", &users, &apps]));
}

#[tokio::test]
async fn sign_ins_from_the_command_line_count_once() {
    let app = spawn_app().await;
    let files = Files::new();
    directory_for_sign_ins(&app, &files).await;
    let entra = files.put("entra.csv", ENTRA_SIGN_INS);
    let okta = files.put("okta.jsonl", OKTA_SIGN_INS);
    let out = stdout(&attest(&app, &["import-sign-ins", &entra, &okta]));
    assert!(out.contains("7 line(s) read: 4 sign-in(s) imported, 0 already imported, 2 skipped"), "{out}");
    assert!(out.contains("1 of unknown users (such as nobody@contoso.com)"), "{out}");
    let again = stdout(&attest(&app, &["import-sign-ins", &entra, &okta]));
    assert!(again.contains("0 sign-in(s) imported, 4 already imported"), "{again}");
    assert_eq!(app.count("sign_ins"), 4);
    assert_eq!(app.count("users WHERE upn = 'ada@contoso.com' AND last_sign_in_at = '2026-11-25 10:00:00'"), 1);
    assert_eq!(app.count("users WHERE upn = 'grace@contoso.com' AND last_sign_in_at = '2026-11-26 10:00:00'"), 1);
    assert_eq!(app.count("sign_ins WHERE app_id IS NOT NULL"), 2, "Entra's and Okta's sign-ins to Payroll");
    // Without ids, the same user, application and time is the same event.
    let plain =
        files.put("plain.csv", "time,userPrincipalName,appId\n2026-11-27T00:00:00Z,ada@contoso.com,app-payroll\n");
    stdout(&attest(&app, &["import-sign-ins", &plain]));
    let again = stdout(&attest(&app, &["import-sign-ins", &plain]));
    assert!(again.contains("0 sign-in(s) imported, 1 already imported"), "{again}");
    // A line that cannot be read is named and nothing of the file is written.
    let bad = files
        .put("bad.csv", "time,userPrincipalName\n2026-11-28T00:00:00Z,ada@contoso.com\nyesterday,ada@contoso.com\n");
    let err = stderr_of_failure(&attest(&app, &["import-sign-ins", &bad]));
    assert!(err.contains("bad.csv, line 3: \"yesterday\" is not a time"), "{err}");
    assert_eq!(app.count("sign_ins"), 5);
}

#[tokio::test]
async fn sign_ins_by_the_api_need_a_token_and_count_once() {
    let app = spawn_app().await;
    let files = Files::new();
    directory_for_sign_ins(&app, &files).await;
    let url = format!("{}/api/sign-ins", app.address);
    let post = |token: Option<&str>, ct: &str, body: &str| {
        let mut req = app.client.post(&url).header("Content-Type", ct).body(body.to_owned());
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    let res = post(None, "text/csv", ENTRA_SIGN_INS).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(post(Some("not-a-token"), "text/csv", ENTRA_SIGN_INS).await.unwrap().status(), 401);

    let token =
        stdout(&attest(&app, &["scim-token", "create", "--source", "Okta", "--name", "logs"])).trim().to_owned();
    let res = post(Some(&token), "text/csv", ENTRA_SIGN_INS).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!((body["imported"].as_u64(), body["unknown_users"].as_u64()), (Some(2), Some(1)));
    assert_eq!(body["unknown_user_examples"][0], "nobody@contoso.com");
    let res = post(Some(&token), "application/x-ndjson", OKTA_SIGN_INS).await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["imported"].as_u64(), Some(2));
    let res = post(Some(&token), "text/csv", ENTRA_SIGN_INS).await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!((body["imported"].as_u64(), body["already_imported"].as_u64()), (Some(0), Some(2)));
    assert_eq!(app.count("sign_ins"), 4);

    let res = post(Some(&token), "application/xml", "<x/>").await.unwrap();
    assert_eq!(res.status(), 415);
    let res = post(Some(&token), "text/csv", "Username\nada@contoso.com\n").await.unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"]["details"][0].as_str().unwrap().contains("no time column"), "{body}");
    let revoked = attest(&app, &["scim-token", "revoke", "--source", "Okta", "logs"]);
    stdout(&revoked);
    assert_eq!(post(Some(&token), "text/csv", ENTRA_SIGN_INS).await.unwrap().status(), 401);
}

/// A multipart body: text fields, then files, in this order.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----attest-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (file, text) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n{text}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, fields: &[(&str, &str)], files: &[(&str, &str)]) -> crate::helpers::Page {
    let (content_type, body) = multipart(fields, files);
    let res = app
        .client
        .post(format!("{}/admin/directory/import", app.address))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    crate::helpers::Page { status, headers, body: res.text().await.unwrap() }
}

#[tokio::test]
async fn the_upload_page_shows_the_difference_then_imports() {
    let app = crate::helpers::spawn_admin_app().await;
    let page = app.get("/admin/directory/import").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("nav.tabs [aria-current=page]"), "Import");
    assert_eq!(page.attrs("form[enctype='multipart/form-data'] input[name=csrf_token]", "value").len(), 1);
    let templates = page.attrs(".import-templates a", "href");
    assert_eq!(templates.len(), 7);
    let template = app.get(&templates[0]).await;
    assert_eq!(template.status, 200);
    assert!(template.header("content-type").starts_with("text/csv"));
    assert!(template.body.starts_with("userPrincipalName,displayName"));
    assert_eq!(app.get("/admin/directory/import/templates/nope.csv").await.status, 404);

    let users_before = app.count("users");
    let token = app.csrf_token().await;
    let users = "userPrincipalName,displayName\nnew.person@contoso.com,New Person\n";
    let groups = "id,displayName\ng-new,New group\n";
    let preview = upload(
        &app,
        &[("csrf_token", &token), ("source", "HR upload")],
        &[("users.csv", users), ("groups.csv", groups)],
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let rows = preview.texts("tr.import-kind");
    assert!(rows[0].starts_with("users 1 0 0 0 Added: new.person@contoso.com"), "{rows:?}");
    assert!(rows[1].starts_with("groups 1 0 0 0"), "{rows:?}");
    assert_eq!(app.count("users"), users_before, "the first step writes nothing");
    let upload_id = preview.attrs("input[name=upload]", "value").remove(0);

    // The second step needs the CSRF token too.
    let refused = app.post_form("/admin/directory/import/confirm", &[("upload", &upload_id)]).await;
    assert_eq!(refused.status, 403);
    let done = app.post("/admin/directory/import/confirm", &[("upload", &upload_id)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.count("users"), users_before + 1);
    let after = app.get("/admin/directory/import").await;
    assert!(
        after.body.contains("Imported into “HR upload”")
            || after.body.contains("Imported into &quot;HR upload&quot;")
            || after.body.contains("Imported into &#34;HR upload&#34;"),
        "{}",
        after.body
    );
    // The kept files are gone once imported.
    let again = app.post("/admin/directory/import/confirm", &[("upload", &upload_id)]).await;
    assert!(again.text(".error-summary").contains("no longer kept"), "{}", again.body);
}

#[tokio::test]
async fn the_upload_page_lists_every_problem_and_refuses_without_a_token() {
    let app = crate::helpers::spawn_admin_app().await;
    let token = app.csrf_token().await;
    let bad = "userPrincipalName,displayName,accountEnabled\nbad upn,A,x\nb@x.io,\"B\u{202e}\",\n";
    let page = upload(&app, &[("csrf_token", &token), ("source", "HR")], &[("bad.csv", bad)]).await;
    let problems = page.texts(".error-summary li");
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("bad.csv, line 2, column 1 (userPrincipalName)"), "{problems:?}");
    assert!(problems[2].starts_with("bad.csv, line 3, column 2 (displayName)"), "{problems:?}");
    assert!(page.attrs("input[name=upload]", "value").is_empty());

    let no_token =
        upload(&app, &[("source", "HR")], &[("users.csv", "userPrincipalName,displayName\na@x.io,A\n")]).await;
    assert!(no_token.text(".error-summary").contains("expired"), "{}", no_token.body);
    let wrong = upload(
        &app,
        &[("csrf_token", "forged"), ("source", "HR")],
        &[("u.csv", "userPrincipalName,displayName\na@x.io,A\n")],
    )
    .await;
    assert!(wrong.text(".error-summary").contains("expired"));
    assert_eq!(app.count("users WHERE upn = 'a@x.io'"), 0);
    assert_eq!(app.count("sources WHERE name = 'HR'"), 0);
}

#[tokio::test]
async fn the_upload_page_is_for_admins_only() {
    let app = crate::helpers::spawn_demo_app().await;
    app.sign_in("user").await;
    assert_eq!(app.get("/admin/directory/import").await.status, 403);
    assert_eq!(app.get("/admin/directory/import/templates/users.csv").await.status, 403);
    let token = app.csrf_token().await;
    let res = upload(
        &app,
        &[("csrf_token", &token), ("source", "HR")],
        &[("u.csv", "userPrincipalName,displayName\na@x.io,A\n")],
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(app.post("/admin/directory/import/confirm", &[("upload", "x")]).await.status, 403);
    assert_eq!(app.count("users WHERE upn = 'a@x.io'"), 0);
}

#[tokio::test]
async fn multipart_or_bearer_requests_elsewhere_still_need_the_form_token() {
    let app = crate::helpers::spawn_admin_app().await;
    // Sign-out reads no body: a cross-site multipart form (a "simple" request a browser
    // sends with the cookie) must not reach it.
    let (content_type, body) = multipart(&[("x", "y")], &[]);
    let res = app
        .client
        .post(format!("{}/auth/sign-out", app.address))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = app
        .client
        .post(format!("{}/auth/sign-out", app.address))
        .header("Authorization", "Bearer anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(app.get("/admin/directory/import").await.status, 200, "still signed in");
}
