//! Notifications end to end, with an SMTP sink in the test: start, reminder and
//! completion mails arrive once each with links that work; no reminder for who finished;
//! a mail server that is down is retried and the mail delivered once; the outbox survives
//! a restart and never sends twice; admins read the outbox; "Send reminder" and the
//! contacted reviewers.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attest::config::{AuthSettings, MailSettings, SmtpSettings, TlsMode};
use attest::demo::personas;
use attest::scheduler;
use chrono::TimeDelta;

use crate::helpers::{Spawn, TestApp, TestDb};

const FALCON: &str = "Project Falcon guests";
const VPN: &str = "VPN Users: confirm your access";
const PUBLIC: &str = "http://attest.test";

/// A message the sink received.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

impl Received {
    fn header(&self, name: &str) -> String {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
            .unwrap_or_default()
    }

    /// A header as a mail client shows it: unfolded, with RFC 2047 encoded words decoded
    /// and runs of spaces made one.
    fn decoded(&self, name: &str) -> String {
        use base64::Engine;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = self
            .data
            .lines()
            .take_while(|l| !l.is_empty())
            .skip_while(|l| !l.to_ascii_lowercase().starts_with(&prefix));
        let Some(first) = lines.next() else { return String::new() };
        let mut value = first[prefix.len()..].to_owned();
        for line in lines.take_while(|l| l.starts_with([' ', '\t'])) {
            value.push_str(line);
        }
        let mut out = String::new();
        let mut after_encoded = false;
        for word in value.split_whitespace() {
            match word.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?=")) {
                // Spaces between two encoded words are not part of the text.
                Some(encoded) => {
                    if !after_encoded {
                        out.push(' ');
                    }
                    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
                    out.push_str(&String::from_utf8(bytes).unwrap());
                    after_encoded = true;
                }
                None => {
                    out.push(' ');
                    out.push_str(word);
                    after_encoded = false;
                }
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The body with quoted-printable soft breaks undone (enough to find links).
    fn body(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The first link under the public URL.
    fn link(&self) -> String {
        let body = self.body();
        let start = body.find(PUBLIC).unwrap_or_else(|| panic!("no link in {body}"));
        body[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_owned()
    }
}

/// A small SMTP server: accepts every mail and keeps it; "down" answers 421 to every
/// connection, as a server in maintenance does.
#[derive(Clone)]
struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

impl Sink {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sink = Sink { port: listener.local_addr().unwrap().port(), received: Arc::default(), down: Arc::default() };
        let s = sink.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || s.serve(stream));
            }
        });
        sink
    }

    fn serve(&self, stream: TcpStream) {
        let mut out = stream.try_clone().unwrap();
        let mut say = |line: &str| out.write_all(format!("{line}\r\n").as_bytes());
        if self.down.load(Ordering::SeqCst) {
            let _ = say("421 4.3.2 Service not available, try again later");
            return;
        }
        let _ = say("220 sink ESMTP");
        let mut reader = BufReader::new(stream);
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let upper = line.trim_end().to_ascii_uppercase();
            let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                "250 sink"
            } else if upper.starts_with("MAIL FROM") {
                to.clear();
                "250 OK"
            } else if upper.starts_with("RCPT TO") {
                to.push(line.trim_end()[8..].trim().trim_matches(['<', '>']).to_owned());
                "250 OK"
            } else if upper == "DATA" {
                let _ = say("354 go ahead");
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                self.received.lock().unwrap().push(Received { to: to.clone(), data });
                "250 OK queued"
            } else if upper == "QUIT" {
                let _ = say("221 bye");
                return;
            } else if upper == "RSET" || upper == "NOOP" {
                "250 OK"
            } else {
                "500 unknown command"
            };
            if say(reply).is_err() {
                return;
            }
        }
    }

    fn settings(&self) -> MailSettings {
        MailSettings {
            smtp: Some(SmtpSettings {
                host: "127.0.0.1".into(),
                port: self.port,
                tls: TlsMode::None,
                user: None,
                password: None,
                from: "Access reviews <reviews@attest.test>".into(),
            }),
            interval: Duration::from_millis(50),
        }
    }

    /// Messages received with this Message-ID.
    fn with_id(&self, message_id: &str) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|r| r.header("Message-ID") == message_id).cloned().collect()
    }
}

/// An outbox row as the tests look at it.
#[derive(Debug, diesel::QueryableByName)]
struct Mail {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    recipient_address: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    message_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    last_error: Option<String>,
}

fn mails(app: &TestApp, filter: &str) -> Vec<Mail> {
    use diesel::RunQueryDsl;
    let sql = format!(
        "SELECT id, kind, recipient_address, message_id, status, attempts, last_error FROM outbox WHERE {filter} ORDER BY id"
    );
    diesel::sql_query(sql).load::<Mail>(&mut *app.conn()).unwrap()
}

/// Waits until no mail matching `filter` is pending any more (the sender works every 50 ms).
async fn settled(app: &TestApp, filter: &str) -> Vec<Mail> {
    for _ in 0..400 {
        let all = mails(app, filter);
        if all.iter().all(|m| m.status == "Sent" || m.status == "Failed") {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mails still pending: {:?}", mails(app, filter));
}

/// Asserts each mail was received exactly once, and returns what was received.
fn received_once(sink: &Sink, sent: &[Mail]) -> Vec<Received> {
    sent.iter()
        .map(|m| {
            assert_eq!(m.status, "Sent", "{m:?}");
            let got = sink.with_id(&m.message_id);
            assert_eq!(got.len(), 1, "{} received {} times", m.message_id, got.len());
            assert_eq!(got[0].to, vec![m.recipient_address.clone()]);
            got[0].clone()
        })
        .collect()
}

async fn spawn(db: Option<TestDb>, mail: Option<MailSettings>) -> TestApp {
    Spawn { demo: true, db, mail, auth: Some(AuthSettings::new(PUBLIC)), ..Spawn::default() }.start().await
}

async fn as_persona(app: &TestApp, persona: &str) -> TestApp {
    let viewer = TestApp { client: Spawn::client(), ..app.share() };
    viewer.sign_in(persona).await;
    viewer
}

fn tick(app: &TestApp) -> scheduler::TickReport {
    scheduler::tick(&mut app.conn(), app.clock_now()).unwrap()
}

/// Follows a mail's link as `persona`, on the test server.
async fn follow(app: &TestApp, persona: &str, link: &str) -> u16 {
    let path = link.strip_prefix(PUBLIC).unwrap_or_else(|| panic!("{link} is not under {PUBLIC}"));
    as_persona(app, persona).await.get(path).await.status
}

fn end_of(app: &TestApp, instance: &str) -> chrono::NaiveDateTime {
    use attest::db::schema::review_instances::dsl::*;
    use diesel::prelude::*;
    review_instances.find(instance).select(end_at).first(&mut *app.conn()).unwrap()
}

#[tokio::test]
async fn started_reminder_and_completed_mails_arrive_once_with_working_links() {
    let sink = Sink::start();
    let app = spawn(None, Some(sink.settings())).await;
    let falcon = app.instance_of(FALCON);
    let omar = attest::demo::personas::OWNER;

    // The demo's reviews started with the server: the owner of Project Falcon is told.
    let started = settled(&app, &format!("instance_id = '{falcon}'")).await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!((started[0].kind.as_str(), started[0].recipient_address.as_str()), ("ReviewStarted", omar));
    let mail = &received_once(&sink, &started)[0];
    assert!(mail.decoded("Subject").contains("\u{2068}Project Falcon\u{2069}"), "{}", mail.decoded("Subject"));
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    let link = mail.link();
    assert_eq!(link, format!("{PUBLIC}/reviews/{falcon}"));
    assert_eq!(follow(&app, "owner", &link).await, 200);

    // Half-time: one reminder, however often the scheduler ticks.
    let end = end_of(&app, &falcon);
    let start = app.clock_now();
    app.clock.set(start + (end - start) / 2 + TimeDelta::minutes(1));
    tick(&app);
    tick(&app);
    let filter = format!("instance_id = '{falcon}' AND kind = 'Reminder'");
    let reminders = settled(&app, &filter).await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let reminder = &received_once(&sink, &reminders)[0];
    assert!(reminder.header("Subject").starts_with("Reminder:"), "{}", reminder.header("Subject"));
    assert_eq!(follow(&app, "owner", &reminder.link()).await, 200);

    // The end: the series' creator gets the completion mail with a link to the results.
    app.clock.set(end + TimeDelta::minutes(1));
    tick(&app);
    let completed = settled(&app, &format!("instance_id = '{falcon}' AND kind = 'ReviewCompleted'")).await;
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(completed[0].recipient_address, personas::ADMIN);
    let done = &received_once(&sink, &completed)[0];
    assert!(done.link().contains(&format!("/instances/{falcon}")), "{}", done.link());
    assert_eq!(follow(&app, "admin", &done.link()).await, 200);
    tick(&app);
    assert_eq!(mails(&app, &format!("instance_id = '{falcon}'")).len(), 3, "start, reminder, completed");
}

#[tokio::test]
async fn no_reminder_goes_to_someone_who_has_finished() {
    let app = spawn(None, None).await;
    let vpn = app.instance_of(VPN);
    let tom_mail = personas::USER;
    let people = mails(&app, &format!("instance_id = '{vpn}' AND kind = 'SelfReviewStarted'"));
    assert!(people.len() > 2, "each person of a self-review is asked: {people:?}");
    assert!(people.iter().any(|m| m.recipient_address == tom_mail));

    // Tom answers; at half-time everybody else is reminded, Tom is not.
    let tom = as_persona(&app, "user").await;
    let url = format!("/reviews/{vpn}");
    let own = tom.get(&url).await.attrs("input[name=item]", "value")[0].clone();
    assert_eq!(tom.post(&url, &[("item", &own), ("action", "Approve"), ("reason", "On call")]).await.status, 303);
    let end = end_of(&app, &vpn);
    let start = app.clock_now();
    app.clock.set(start + (end - start) / 2 + TimeDelta::hours(1));
    tick(&app);
    let reminded = mails(&app, &format!("instance_id = '{vpn}' AND kind = 'Reminder'"));
    assert_eq!(reminded.len(), people.len() - 1, "{reminded:?}");
    assert!(reminded.iter().all(|m| m.recipient_address != tom_mail));

    // Two days before the end, the second round; then nothing more.
    app.clock.set(end - TimeDelta::days(2) + TimeDelta::hours(1));
    tick(&app);
    tick(&app);
    let again = mails(&app, &format!("instance_id = '{vpn}' AND kind = 'Reminder'"));
    assert_eq!(again.len(), 2 * reminded.len());
    assert!(again.iter().all(|m| m.recipient_address != tom_mail));
    // Without an SMTP server the mails wait in the outbox.
    assert!(again.iter().all(|m| m.status == "Pending" && m.attempts == 0));
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried_and_the_mail_delivered_once() {
    let sink = Sink::start();
    sink.down.store(true, Ordering::SeqCst);
    let app = spawn(None, Some(sink.settings())).await;
    let falcon = app.instance_of(FALCON);
    let filter = format!("instance_id = '{falcon}'");
    // The first attempt fails and is recorded, with the server's answer.
    let mut failed = Vec::new();
    for _ in 0..600 {
        failed = mails(&app, &filter);
        if failed[0].attempts >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed[0].status, "Pending", "{failed:?}");
    assert!(failed[0].last_error.as_deref().unwrap_or_default().contains("421"), "{failed:?}");
    let admin = as_persona(&app, "admin").await;
    let page = admin.get(&format!("/admin/outbox/{}", failed[0].id)).await;
    assert_eq!(page.status, 200);
    assert!(page.text("dl.facts").contains("421"), "{}", page.text("dl.facts"));

    // Back up: not before the back-off, then delivered exactly once.
    sink.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sink.with_id(&failed[0].message_id).is_empty(), "retried before its back-off");
    app.clock.advance(TimeDelta::hours(3));
    let sent = settled(&app, &filter).await;
    received_once(&sink, &sent);
    assert!(sent[0].attempts >= 2, "{sent:?}");
    let page = admin.get(&format!("/admin/outbox/{}", sent[0].id)).await;
    assert!(page.text("dl.facts").contains("Sent"), "{}", page.text("dl.facts"));
    assert!(!admin.get("/admin/outbox?box=sent").await.texts("table.outbox tbody tr").is_empty());
}

#[tokio::test]
async fn the_outbox_survives_a_restart_and_never_sends_twice() {
    // First run: no mail server; the demo's start mails wait.
    let first = spawn(None, None).await;
    let falcon = first.instance_of(FALCON);
    let pending = mails(&first, "status = 'Pending'");
    assert!(pending.len() > 3, "{pending:?}");
    // One mail was being handed to the server when attest stopped: it may have gone out.
    let vpn = first.instance_of(VPN);
    first.exec(&format!(
        "UPDATE outbox SET status = 'Sending', attempts = 1, claimed_at = '2026-11-28 08:00:00' \
         WHERE id = (SELECT MIN(id) FROM outbox WHERE instance_id = '{vpn}')"
    ));

    // Second run on the same database, with a mail server.
    let sink = Sink::start();
    let second = spawn(Some(TestDb::reuse(&first.db)), Some(sink.settings())).await;
    let all = settled(&second, "1 = 1").await;
    let interrupted: Vec<&Mail> = all.iter().filter(|m| m.status == "Failed").collect();
    assert_eq!(interrupted.len(), 1, "{interrupted:?}");
    assert!(interrupted[0].last_error.as_deref().unwrap_or_default().contains("may or may not have been delivered"));
    assert!(sink.with_id(&interrupted[0].message_id).is_empty());
    let id = interrupted[0].id;
    let sent: Vec<Mail> = all.into_iter().filter(|m| m.status == "Sent").collect();
    assert_eq!(sent.len(), pending.len() - 1);
    received_once(&sink, &sent);
    assert_eq!(sink.received.lock().unwrap().len(), sent.len());
    let falcon_mail = mails(&second, &format!("instance_id = '{falcon}'"));
    assert_eq!(falcon_mail[0].status, "Sent");

    // An admin who knows it did not go out sends it again, once.
    let admin = as_persona(&second, "admin").await;
    let page = admin.get(&format!("/admin/outbox/{id}")).await;
    assert!(page.text("dl.facts").contains("may or may not have been delivered"));
    assert_eq!(page.texts("form button"), vec!["Sign out", "Send again"]);
    assert_eq!(admin.post(&format!("/admin/outbox/{id}/resend"), &[]).await.status, 303);
    let resent = settled(&second, &format!("id = {id}")).await;
    received_once(&sink, &resent);
    assert_eq!(second.count(&format!("audit_events WHERE action = 'MailResent' AND target_id = '{id}'")), 1);
    assert_eq!(admin.post(&format!("/admin/outbox/{id}/resend"), &[]).await.status, 303);
    let page = admin.get(&format!("/admin/outbox/{id}")).await;
    assert_eq!(page.text(".banner-error"), "Only a mail that failed can be sent again.");
    assert_eq!(page.texts("form button"), vec!["Sign out"]);
    let omar = as_persona(&second, "owner").await;
    assert_eq!(omar.post(&format!("/admin/outbox/{id}/resend"), &[]).await.status, 403);
}

#[tokio::test]
async fn admins_read_the_outbox_escaped_and_paged() {
    let app = spawn(None, None).await;
    let omar = as_persona(&app, "owner").await;
    assert_eq!(omar.get("/admin/outbox").await.status, 403);
    let admin = as_persona(&app, "admin").await;
    let page = admin.get("/admin/outbox").await;
    assert_eq!(page.status, 200);
    assert!(page.text(".notice").contains("No mail server is configured"));
    assert_eq!(page.attrs("nav.main-nav a[aria-current=page]", "href"), vec!["/admin/outbox"]);
    let pending = app.count("outbox WHERE status = 'Pending'");
    let rows = page.texts("table.outbox tbody tr");
    assert_eq!(rows.len() as i64, pending.min(50));
    if pending > 50 {
        let next = admin.get(&page.link("Older mails")).await;
        assert_eq!(next.texts("table.outbox tbody tr").len() as i64, (pending - 50).min(50));
        let back = admin.get(&next.link("Newer mails")).await;
        assert_eq!(back.texts("table.outbox tbody tr"), rows);
    }
    assert_eq!(admin.get("/admin/outbox?box=nonsense").await.status, 400);
    assert_eq!(admin.get("/admin/outbox?after=x").await.status, 400);
    assert_eq!(admin.get("/admin/outbox/999999").await.status, 404);

    // A description with markup is shown as text, in the list and the mail.
    let falcon = app.instance_of(FALCON);
    app.exec(&format!(
        "UPDATE outbox SET facts = REPLACE(facts, 'Confirm which', '<script>alert(1)</script> Confirm which') \
         WHERE instance_id = '{falcon}'"
    ));
    let id = mails(&app, &format!("instance_id = '{falcon}'"))[0].id;
    let mail = admin.get(&format!("/admin/outbox/{id}")).await;
    assert_eq!(mail.status, 200);
    assert!(!mail.body.contains("<script>alert"), "markup must be escaped");
    assert!(mail.text("pre.mail-text").contains("<script>alert(1)</script> Confirm which"));
    assert!(mail.text("pre.mail-text").contains(&format!("{PUBLIC}/reviews/{falcon}")));
}

#[tokio::test]
async fn send_reminder_mails_who_has_not_finished_and_lists_the_contacted() {
    use attest::service::notify::{contacted_reviewers, send_reminder};
    let app = spawn(None, None).await;
    let falcon = app.instance_of(FALCON);
    let mut conn = app.conn();
    let instance = attest::store::instances::get(&mut conn, &falcon).unwrap().unwrap();
    let admin = attest::store::users::by_upn(&mut conn, personas::ADMIN).unwrap().unwrap();
    let now = app.clock_now() + TimeDelta::hours(2);
    assert_eq!(send_reminder(&mut conn, &instance, attest::service::actor::Actor::Person(&admin), now).unwrap(), 1);
    let contacted = contacted_reviewers(&mut conn, &falcon, None, 50).unwrap();
    assert_eq!(contacted.len(), 1, "{contacted:?}");
    assert_eq!(contacted[0].address, personas::OWNER);
    assert_eq!(contacted[0].last_notified_at, now);
    assert_eq!(contacted[0].last_sent_at, None);
    assert_eq!(app.count(&format!("audit_events WHERE target_id = '{falcon}' AND action = 'RemindersSent'")), 1);
    drop(conn);

    // Everyone decided: nobody to remind. Ended: refused.
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{falcon}");
    omar.post(&url, &[("action", "Approve"), ("apply_to", "matching"), ("reason", "Still on it")]).await;
    let mut conn = app.conn();
    assert_eq!(send_reminder(&mut conn, &instance, attest::service::actor::Actor::Person(&admin), now).unwrap(), 0);
    let end = end_of(&app, &falcon);
    let err = send_reminder(&mut conn, &instance, attest::service::actor::Actor::Person(&admin), end).unwrap_err();
    assert!(err.to_string().contains("has ended"), "{err}");
}

#[tokio::test]
async fn the_results_applied_mail_says_what_was_removed_and_what_was_not() {
    let app = spawn(None, None).await;
    let falcon = app.instance_of(FALCON);
    let omar = as_persona(&app, "owner").await;
    let url = format!("/reviews/{falcon}");
    let items = omar.get(&url).await.attrs("input[name=item]", "value");
    for item in &items[..2] {
        omar.post(&url, &[("item", item), ("action", "Deny"), ("reason", "Left the project")]).await;
    }
    app.clock.set(end_of(&app, &falcon) + TimeDelta::minutes(1));
    tick(&app);
    // What applying did, as the apply step records it on the items.
    app.exec(&format!(
        "UPDATE review_decision_items SET apply_result = 'AppliedSuccessfully' WHERE id = '{}'",
        items[0]
    ));
    app.exec(&format!("UPDATE review_decision_items SET apply_result = 'ApplyNotSupported' WHERE id = '{}'", items[1]));
    let mut conn = app.conn();
    let instance = attest::store::instances::get(&mut conn, &falcon).unwrap().unwrap();
    let series = attest::store::reviews::get(&mut conn, &instance.definition_id).unwrap().unwrap();
    let now = app.clock_now();
    assert_eq!(attest::service::notify::results_applied(&mut conn, &series, &falcon, now).unwrap(), 1);
    assert_eq!(attest::service::notify::results_applied(&mut conn, &series, &falcon, now).unwrap(), 0, "once");
    drop(conn);
    let applied = mails(&app, &format!("instance_id = '{falcon}' AND kind = 'ResultsApplied'"));
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].recipient_address, personas::ADMIN);
    let admin = as_persona(&app, "admin").await;
    let page = admin.get(&format!("/admin/outbox/{}", applied[0].id)).await;
    assert_eq!(page.status, 200);
    let text = page.text("pre.mail-text");
    assert!(text.contains("Denied: 2"), "{text}");
    assert!(text.contains("- Removed: 1"), "{text}");
    assert!(text.contains("- Not applied: remove it where it is granted: 1"), "{text}");
    assert!(text.contains(&format!("/instances/{falcon}")), "{text}");
}

#[tokio::test]
async fn a_name_with_a_line_break_adds_no_header_and_stops_no_other_mail() {
    use attest::db::schema::{outbox, users};
    use diesel::prelude::*;
    const HOSTILE: &str = "Omar Haddad\r\nBcc: x@evil.example";
    // First run without a mail server: the demo's start mails wait in the outbox.
    let first = spawn(None, None).await;
    let falcon = first.instance_of(FALCON);
    // Hostile data already in the database: a line break in a directory name, and in the
    // name of a mail that waits.
    diesel::update(users::table.filter(users::upn.eq(personas::OWNER)))
        .set(users::display_name.eq(HOSTILE))
        .execute(&mut *first.conn())
        .unwrap();
    diesel::update(outbox::table.filter(outbox::instance_id.eq(&falcon)))
        .set(outbox::recipient_name.eq(HOSTILE))
        .execute(&mut *first.conn())
        .unwrap();
    // A review that starts now mails its reviewer, whose name holds the line break: the
    // name is cleaned on its way into the outbox.
    let admin = as_persona(&first, "admin").await;
    // Guests only: the owner is a member, and his own access would also bring in a fallback.
    let extra = [
        ("name", "Falcon members"),
        ("groups", "Project Falcon"),
        ("user_scope", "Guests"),
        ("mail_notifications", "on"),
    ];
    crate::scheduler::create(&admin, &extra).await;
    tick(&first);
    let members = first.instance_of("Falcon members");
    let stored: Vec<String> = outbox::table
        .filter(outbox::instance_id.eq(&members))
        .select(outbox::recipient_name)
        .load(&mut *first.conn())
        .unwrap();
    assert_eq!(stored, vec!["Omar Haddad Bcc: x@evil.example".to_owned()]);

    // Second run, with a mail server: every mail goes out and none is left sending.
    let sink = Sink::start();
    let second = spawn(Some(TestDb::reuse(&first.db)), Some(sink.settings())).await;
    let all = settled(&second, "1 = 1").await;
    assert!(all.len() > 3, "{all:?}");
    assert!(
        all.iter().all(|m| m.status == "Sent"),
        "{:?}",
        all.iter().filter(|m| m.status != "Sent").collect::<Vec<_>>()
    );
    received_once(&sink, &all);
    for instance in [&falcon, &members] {
        let mails = mails(&second, &format!("instance_id = '{instance}'"));
        assert_eq!(mails.len(), 1, "{mails:?}");
        let got = &received_once(&sink, &mails)[0];
        assert_eq!(got.to, vec![personas::OWNER.to_owned()], "the only recipient is the reviewer");
        let headers: Vec<&str> = got.data.lines().take_while(|l| !l.is_empty()).collect();
        assert!(!headers.iter().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "{headers:?}");
        assert!(got.header("To").ends_with(&format!("<{}>", personas::OWNER)), "{}", got.header("To"));
    }
    assert!(sink.received.lock().unwrap().iter().all(|r| !r.to.iter().any(|t| t.contains("evil"))));
}

#[tokio::test]
async fn names_in_mails_are_isolated_so_they_cannot_reverse_the_text_around_them() {
    use attest::db::schema::{groups, outbox, review_definitions, users};
    use diesel::prelude::*;
    // Names holding U+202E RIGHT-TO-LEFT OVERRIDE, already in the directory and the series.
    let first = spawn(None, None).await;
    let admin = as_persona(&first, "admin").await;
    diesel::update(users::table.filter(users::upn.eq(personas::OWNER)))
        .set(users::display_name.eq("Omar \u{202e}raddaH"))
        .execute(&mut *first.conn())
        .unwrap();
    // Guests only: the owner is a member, and his own access would also bring in a fallback.
    let extra = [
        ("name", "Falcon members"),
        ("groups", "Project Falcon"),
        ("user_scope", "Guests"),
        ("mail_notifications", "on"),
    ];
    crate::scheduler::create(&admin, &extra).await;
    diesel::update(groups::table.filter(groups::display_name.eq("Project Falcon")))
        .set(groups::display_name.eq("Project \u{202e}noclaF"))
        .execute(&mut *first.conn())
        .unwrap();
    diesel::update(review_definitions::table.filter(review_definitions::display_name.eq("Falcon members")))
        .set(review_definitions::display_name.eq("Falcon \u{202e}srebmem"))
        .execute(&mut *first.conn())
        .unwrap();
    tick(&first);
    let instance = first.instance_of("Falcon \u{202e}srebmem");
    let id: i64 =
        outbox::table.filter(outbox::instance_id.eq(&instance)).select(outbox::id).first(&mut *first.conn()).unwrap();

    // The mail as it is sent: the subject and the text part isolate each name, the HTML
    // part puts it in <bdi>; no override is left anywhere.
    let subject = "Review access to \u{2068}Project noclaF\u{2069}: \u{2068}Falcon srebmem\u{2069} (due 2026-12-05)";
    let page = admin.get(&format!("/admin/outbox/{id}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("h1"), subject);
    let parts = page.texts("pre.mail-text");
    let (text, html) = (&parts[0], &parts[1]);
    assert!(text.starts_with("Hello \u{2068}Omar raddaH\u{2069},"), "{text}");
    assert!(
        text.contains(
            "the group \u{2068}Project noclaF\u{2069}, as part of the access review \"\u{2068}Falcon srebmem\u{2069}\""
        ),
        "{text}"
    );
    assert!(html.contains("Hello <bdi>Omar raddaH</bdi>,"), "{html}");
    assert!(html.contains("<strong><bdi>Project noclaF</bdi></strong>"), "{html}");
    assert!(html.contains("“<bdi>Falcon srebmem</bdi>”"), "{html}");
    assert!(!page.body.contains('\u{202e}'), "no override reaches the mail");

    // A mail written before names were cleaned is isolated when it is read or sent.
    let falcon = first.instance_of(FALCON);
    first.exec(&format!(
        "UPDATE outbox SET facts = REPLACE(facts, 'Project Falcon', 'Project \u{202e}noclaF') WHERE instance_id = '{falcon}'"
    ));
    let old = mails(&first, &format!("instance_id = '{falcon}'"))[0].id;
    let text = admin.get(&format!("/admin/outbox/{old}")).await.texts("pre.mail-text")[0].clone();
    assert!(text.contains("the group \u{2068}Project noclaF\u{2069},"), "{text}");

    // What the reviewer's mail client shows as the subject.
    let sink = Sink::start();
    let second = spawn(Some(TestDb::reuse(&first.db)), Some(sink.settings())).await;
    let sent = settled(&second, &format!("id = {id}")).await;
    assert_eq!(received_once(&sink, &sent)[0].decoded("Subject"), subject);
}

#[tokio::test]
async fn reminders_go_on_the_days_the_admin_chose_and_the_form_says_what_is_wrong_with_others() {
    let app = spawn(None, None).await;
    app.sign_in("admin").await;
    let base = [
        ("name", "Chosen days"),
        ("duration_days", "14"),
        ("mail_notifications", "on"),
        ("reminders", "on"),
        ("reminder_days", "1, 5"),
    ];
    // Days that are not days, or as far from the end as the review is long, are refused.
    for (days, says) in [("5, soon", "“soon” is not a number of days"), ("14, 20", "at most 13 days before its end")]
    {
        let mut fields: Vec<(&str, &str)> = crate::scheduler::FORM.to_vec();
        fields.retain(|(k, _)| !base.iter().any(|(b, _)| b == k));
        fields.extend(base.iter().filter(|(k, _)| *k != "reminder_days"));
        fields.push(("reminder_days", days));
        let page = app.post("/admin/access-reviews/new", &fields).await;
        assert_eq!(page.status, 400, "{days}");
        assert!(page.text(".error-summary").contains(says), "{days}: {}", page.text(".error-summary"));
    }
    let series = crate::scheduler::create(&app, &base).await;
    assert!(app.get(&series).await.text("main").contains("reminders: 5 and 1 days before the end"));
    crate::scheduler::tick(&app);
    let instance = app.instance_of("Chosen days");
    let end = end_of(&app, &instance);
    let reminders = |app: &TestApp| mails(app, &format!("instance_id = '{instance}' AND kind = 'Reminder'")).len();

    // Half-time is not chosen: nothing then. Five days before the end, every reviewer who
    // has not finished; one day before, again; nothing after.
    let start = app.clock_now();
    app.clock.set(start + (end - start) / 2 + TimeDelta::hours(1));
    crate::scheduler::tick(&app);
    assert_eq!(reminders(&app), 0);
    app.clock.set(end - TimeDelta::days(5) + TimeDelta::hours(1));
    crate::scheduler::tick(&app);
    crate::scheduler::tick(&app);
    let first = reminders(&app);
    assert!(first > 0);
    app.clock.set(end - TimeDelta::days(1) + TimeDelta::hours(1));
    crate::scheduler::tick(&app);
    assert_eq!(reminders(&app), 2 * first);
    app.clock.set(end + TimeDelta::hours(1));
    crate::scheduler::tick(&app);
    assert_eq!(reminders(&app), 2 * first);
    let rounds = app.count(&format!("reminder_rounds WHERE instance_id = '{instance}'"));
    assert_eq!(rounds, 2);
    assert_eq!(app.count("audit_events WHERE action = 'RemindersSent' AND details LIKE '%DaysBefore5%'"), 1);
    // The audit page says the round in words (signed in again: two weeks have passed).
    app.sign_in("admin").await;
    assert!(app.get("/admin/audit?action=RemindersSent").await.text("main").contains("5 days before the end"));
}
