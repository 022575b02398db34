//! Notifications: mails enqueued in the transaction of what causes them (an instance
//! started or completed, its results applied, a reminder round, an admin's "Send
//! reminder"), and the list of
//! reviewers an instance's mails went to. The sender worker ([`crate::notify`]) delivers
//! them later.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::delegation::last_day;
use crate::domain::directory::clean_display_text;
use crate::domain::notify::{
    Delegator, Handover, MailFacts, MailKind, MailStatus, Outcome, ReminderRound, reminder_due,
};
use crate::domain::review::ReviewerKind;
use crate::error::AppError;
use crate::service::actor::Actor;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::instances::InstanceRow;
use crate::store::outbox::{Folder, MailCursor, MailRow, NewMail, Recipient};
use crate::store::reviews::DefinitionRow;
use crate::store::users::UserRow;

/// Why a mail cannot go out to someone without an address.
const NO_ADDRESS: &str = "This person has no mail address in the directory; nothing was sent.";

/// The facts of a mail about instance `i` of `d`. Names are cleaned on the way in, as
/// anything from the directory or a form: whatever the database holds, a mail never
/// carries a control or bidi override character in a name.
fn facts(d: &DefinitionRow, i: &InstanceRow, recipient_name: &str, items: i64) -> MailFacts {
    MailFacts {
        recipient_name: clean_display_text(recipient_name),
        review_name: clean_display_text(&d.display_name),
        resource_name: clean_display_text(&i.resource_name),
        resource_type: i.resource_type,
        description: d.description_for_reviewers.clone(),
        definition_id: d.id.clone(),
        instance_id: i.id.clone(),
        due: i.end_at,
        items,
        self_review: d.reviewer_kind == ReviewerKind::Self_ && i.stage == 1,
        outcome: None,
        reassigned: None,
        stage: None,
        on_behalf: None,
    }
}

/// A mail for `recipient` (their name cleaned and used in the facts), pending from `now`
/// (failed at once when they have no address).
fn mail(
    kind: MailKind,
    recipient: &Recipient,
    facts: &MailFacts,
    once_key: Option<String>,
    now: NaiveDateTime,
) -> Result<NewMail, AppError> {
    let (id, name, address) = recipient;
    let address = address.clone().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    let name = clean_display_text(name);
    let facts = MailFacts { recipient_name: name.clone(), ..facts.clone() };
    Ok(NewMail {
        created_at: now,
        kind,
        instance_id: facts.instance_id.clone(),
        recipient_id: Some(id.clone()),
        recipient_name: name,
        status: if address.is_some() { MailStatus::Pending } else { MailStatus::Failed },
        last_error: address.is_none().then(|| NO_ADDRESS.to_owned()),
        recipient_address: address.unwrap_or_default(),
        subject: facts.subject(kind),
        facts: serde_json::to_string(&facts).map_err(AppError::internal)?,
        once_key,
        message_id: format!("<{}@attest>", uuid::Uuid::new_v4().simple()),
        attempts: 0,
        next_attempt_at: now,
        claimed_at: None,
        sent_at: None,
    })
}

/// Enqueues the "review started" mails of a new instance, or of the stage it has just
/// moved on to (call in that transaction): one to each reviewer of the current stage with
/// the number of people they review, and for a self-review one to each person asked about
/// their own access. Nothing when the series' mails are off. Returns how many were
/// enqueued.
pub fn instance_started(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    instance: &InstanceRow,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    if !d.mail_notifications {
        return Ok(0);
    }
    // Only stage 1 can be a self-review.
    let kind = if d.reviewer_kind == ReviewerKind::Self_ && instance.stage == 1 {
        MailKind::SelfReviewStarted
    } else {
        MailKind::ReviewStarted
    };
    let people = store::outbox::reviewers_with_items(conn, &instance.id, instance.stage, false)?;
    let (stage, due) = stage_due(conn, instance)?;
    let each = people
        .into_iter()
        .map(|(who, n)| {
            let key = match instance.stage {
                1 => format!("started:{}:{}", instance.id, who.0),
                later => format!("started:{}:stage{later}:{}", instance.id, who.0),
            };
            let f = MailFacts { stage, due, ..facts(d, instance, &who.1, n) };
            (who, f, Some(key))
        })
        .collect();
    let mails = to_reviewers(conn, kind, each, now)?;
    Ok(store::outbox::enqueue(conn, &mails)?)
}

/// Enqueues the mails telling each person unreviewed items of `instance` were escalated to
/// (`per_person`: user id → how many) that they may decide them (call in the escalation's
/// transaction). Once per person and stage. Nothing when the series' mails are off.
pub fn escalated(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    instance: &InstanceRow,
    per_person: &std::collections::BTreeMap<String, i64>,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    if !d.mail_notifications || per_person.is_empty() {
        return Ok(0);
    }
    let (stage, due) = stage_due(conn, instance)?;
    let ids: Vec<String> = per_person.keys().cloned().collect();
    let mut each = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        for u in store::users::rows(conn, chunk)? {
            let n = per_person.get(&u.id).copied().unwrap_or(0);
            let key = format!("escalated:{}:{}:{}", instance.id, instance.stage, u.id);
            let f = MailFacts { stage, due, ..facts(d, instance, &u.display_name, n) };
            each.push(((u.id, u.display_name, u.mail), f, Some(key)));
        }
    }
    let mails = to_reviewers(conn, MailKind::Escalated, each, now)?;
    Ok(store::outbox::enqueue(conn, &mails)?)
}

/// The stage `instance` is in, of how many (`None` for one stage), and when its reviewers'
/// part is due: the stage's end, or the instance's.
fn stage_due(conn: &mut DbConnection, instance: &InstanceRow) -> Result<(Option<(i32, i32)>, NaiveDateTime), AppError> {
    Ok(match crate::service::panel::current_stage(conn, instance)? {
        Some(s) => (Some((s.stage, instance.stage_count)), s.end_at.min(instance.end_at)),
        None => (None, instance.end_at),
    })
}

/// Enqueues the mail telling `to` that `items` people of instance `i` were reassigned to
/// them by `by`, with the note (call in the transaction of the reassignment). Nothing when
/// the series' mails are off. Returns how many were enqueued.
#[expect(clippy::too_many_arguments, reason = "the facts of one mail, each named")]
pub fn reassigned(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    i: &InstanceRow,
    to: &UserRow,
    by: &UserRow,
    items: i64,
    note: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    if !d.mail_notifications {
        return Ok(0);
    }
    let who: Recipient = (to.id.clone(), to.display_name.clone(), to.mail.clone());
    // Control and bidi override characters in the note cannot reorder or break the mail.
    let note = crate::domain::notify::header_text(note);
    let handover = Handover { by: clean_display_text(&by.display_name), note };
    let (stage, due) = stage_due(conn, i)?;
    let f = MailFacts { reassigned: Some(handover), stage, due, ..facts(d, i, &to.display_name, items) };
    // Every reassignment is its own news: no once-key.
    let mails = to_reviewers(conn, MailKind::Reassigned, vec![(who, f, None)], now)?;
    Ok(store::outbox::enqueue(conn, &mails)?)
}

/// Enqueues the "review completed" mail to the series' creator (call in the transaction
/// that completes the instance). Nothing when the series' mails are off.
pub fn instance_completed(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    instance_id: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let Some((creator, f)) = outcome_mail_facts(conn, d, instance_id)? else { return Ok(0) };
    // The creator (unless their account is gone or disabled), then the additional recipients.
    let mut to: Vec<Recipient> = creator.into_iter().collect();
    to.extend(additional_recipients(conn, d)?);
    // Each person once, however many ways they are named (the creator in a named group).
    let mut seen = std::collections::HashSet::new();
    to.retain(|who| seen.insert(who.0.clone()));
    let mails = to
        .iter()
        .map(|who| {
            let key = format!("completed:{instance_id}:{}", who.0);
            mail(
                MailKind::ReviewCompleted,
                who,
                &MailFacts { recipient_name: who.1.clone(), ..f.clone() },
                Some(key),
                now,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(store::outbox::enqueue(conn, &mails)?)
}

/// The series' additional recipients of the completion mail (Entra's
/// `additionalNotificationRecipients`), as the directory holds them now: a line is a user
/// principal name, or else a group's name, whose members (nested groups included) get the
/// mail. Disabled accounts are left out; so are group members without a mail address. A
/// line that no longer names anyone is skipped.
fn additional_recipients(conn: &mut DbConnection, d: &DefinitionRow) -> Result<Vec<Recipient>, AppError> {
    let mut out = Vec::new();
    for line in d.additional_recipients.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = store::users::by_upn(conn, line)? {
            if u.enabled {
                out.push((u.id, u.display_name, u.mail));
            }
        } else if let Some(group) = store::groups::by_name(conn, line)? {
            let ids: Vec<String> = store::groups::closure(conn, &group)?.into_iter().map(|g| g.group.id).collect();
            out.extend(store::outbox::enabled_members_with_mail(conn, &ids)?);
        } else {
            tracing::warn!(series = %d.id, "an additional recipient of the completion mail is no longer in the directory");
        }
    }
    Ok(out)
}

/// The facts of a mail about how an instance ended, with the series' creator as its
/// recipient when they can read it (`None` once their account is deleted or disabled: a
/// guest blocked by a review, say); `None` when the series' mails are off or the instance
/// is gone.
fn outcome_mail_facts(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    instance_id: &str,
) -> Result<Option<(Option<Recipient>, MailFacts)>, AppError> {
    if !d.mail_notifications {
        return Ok(None);
    }
    let Some(instance) = store::instances::get(conn, instance_id)? else { return Ok(None) };
    let creator = store::users::get(conn, &d.created_by)?.filter(|u| u.enabled);
    let name = creator.as_ref().map_or(d.created_by_name.as_str(), |c| c.display_name.as_str());
    let mut f = facts(d, &instance, name, i64::from(instance.total_items));
    f.outcome = Some(Outcome {
        approved: i64::from(instance.approved),
        denied: i64::from(instance.denied),
        dont_know: i64::from(instance.dont_know),
        not_reviewed: i64::from(instance.not_reviewed),
        default_decision: d.default_decision,
        applied: Vec::new(),
    });
    Ok(Some((creator.map(|c| (c.id, c.display_name, c.mail)), f)))
}

/// Enqueues the "results applied" mail to the series' creator: the denied items by apply
/// result, with those attest could not remove called out. Call in the transaction that
/// applies the results; once per instance (a second apply of the same instance, e.g. a
/// retry, sends nothing more). Nothing when the series' mails are off.
pub fn results_applied(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    instance_id: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let Some((Some(who), mut f)) = outcome_mail_facts(conn, d, instance_id)? else { return Ok(0) };
    if let Some(outcome) = f.outcome.as_mut() {
        outcome.applied = store::apply::denied_results(conn, instance_id)?
            .into_iter()
            .map(|(result, n)| (result.label().to_owned(), n))
            .collect();
    }
    let key = format!("applied:{instance_id}:{}", who.0);
    let m = mail(MailKind::ResultsApplied, &who, &f, Some(key), now)?;
    Ok(store::outbox::enqueue(conn, &[m])?)
}

/// Reminder mails to the people of `instance` who still have undecided items (and to
/// their delegates), with the names of those people: the reviewers reminded.
fn reminders(
    conn: &mut DbConnection,
    d: &DefinitionRow,
    instance: &InstanceRow,
    key: Option<&str>,
    now: NaiveDateTime,
) -> Result<(Vec<NewMail>, Vec<String>), AppError> {
    let people = store::outbox::reviewers_with_items(conn, &instance.id, instance.stage, true)?;
    let (stage, due) = stage_due(conn, instance)?;
    let each: Vec<_> = people
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(who, n)| {
            // A round of a later stage is that stage's own: its reviewers were not reminded.
            let once = key.map(|k| match stage {
                Some((s, _)) if s > 1 => format!("reminder:{}:stage{s}:{k}:{}", instance.id, who.0),
                _ => format!("reminder:{}:{k}:{}", instance.id, who.0),
            });
            let f = MailFacts { stage, due, ..facts(d, instance, &who.1, n) };
            (who, f, once)
        })
        .collect();
    let reviewers = each.iter().map(|(_, f, _)| f.recipient_name.clone()).collect();
    Ok((to_reviewers(conn, MailKind::Reminder, each, now)?, reviewers))
}

/// The mails of `kind` to reviewers, each with its facts and once-key, and a copy of each
/// to the recipient's delegate while a delegation runs at `now` (mails go to both; the
/// copy's button opens the review on the reviewer's behalf). A self-review is each
/// person's own: its mails are not copied.
fn to_reviewers(
    conn: &mut DbConnection,
    kind: MailKind,
    each: Vec<(Recipient, MailFacts, Option<String>)>,
    now: NaiveDateTime,
) -> Result<Vec<NewMail>, AppError> {
    let ids: Vec<String> = each.iter().filter(|(_, f, _)| !f.self_review).map(|(who, _, _)| who.0.clone()).collect();
    let delegations = store::delegations::delegates_of(conn, &ids, now)?;
    let mut delegate_ids: Vec<String> = delegations.values().map(|(d, _)| d.clone()).collect();
    delegate_ids.sort();
    delegate_ids.dedup();
    let delegates: std::collections::HashMap<String, UserRow> =
        store::users::rows(conn, &delegate_ids)?.into_iter().filter(|u| u.enabled).map(|u| (u.id.clone(), u)).collect();
    let mut mails = Vec::with_capacity(each.len());
    for (who, f, key) in each {
        let copy = delegations
            .get(&who.0)
            .filter(|_| !f.self_review)
            .and_then(|(d, until)| delegates.get(d).map(|u| (u, *until)));
        if let Some((u, until)) = copy {
            let on_behalf = Delegator { id: who.0.clone(), name: clean_display_text(&who.1), until: last_day(until) };
            let facts = MailFacts { on_behalf: Some(on_behalf), ..f.clone() };
            let delegate: Recipient = (u.id.clone(), u.display_name.clone(), u.mail.clone());
            let key = key.as_ref().map(|k| format!("{k}:delegate:{}", u.id));
            mails.push(mail(kind, &delegate, &facts, key, now)?);
        }
        mails.push(mail(kind, &who, &f, key, now)?);
    }
    Ok(mails)
}

/// The scheduler's reminder step: for each instance in progress of a series with mail and
/// reminders on, runs the round of its schedule that is due (half-time, days before the end),
/// once, mailing only the reviewers who still have people to review. Each round is
/// recorded, enqueued and audited in one transaction. Returns how many mails were
/// enqueued.
pub fn remind_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let candidates = store::outbox::reminder_candidates(conn, now)?;
    let mut due: Vec<(InstanceRow, DefinitionRow, ReminderRound)> = Vec::new();
    for (i, d) in candidates {
        let Some(plan) = d.reminders() else { continue };
        // A stage of a multi-stage review reminds on its own window, from its own start.
        let (start, end, from) = match crate::service::panel::current_stage(conn, &i)? {
            Some(s) => (s.start_at, s.end_at.min(i.end_at), s.start_at.max(i.created_at)),
            None => (i.start_at, i.end_at, i.created_at),
        };
        if let Some(round) = reminder_due(&plan, start, end, from, now) {
            due.push((i, d, round));
        }
    }
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = due.iter().map(|(i, _, _)| i.id.clone()).collect();
    let done = store::outbox::rounds(conn, &ids)?;
    let mut enqueued = 0;
    for (instance, d, round) in due {
        if done.iter().any(|(i, s, r)| *i == instance.id && *s == instance.stage && *r == round.key()) {
            continue;
        }
        enqueued += conn.write(|conn| {
            let (mails, reviewers) = reminders(conn, &d, &instance, Some(&round.key()), now)?;
            let count = i32::try_from(reviewers.len()).unwrap_or(i32::MAX);
            if !store::outbox::record_round(conn, (&instance.id, instance.stage), &round.key(), now, count)? {
                return Ok::<_, AppError>(0);
            }
            let n = store::outbox::enqueue(conn, &mails)?;
            store::audit::append(
                conn,
                &NewEvent::by_system(
                    now,
                    "RemindersSent",
                    ("AccessReviewInstance", &instance.id),
                    serde_json::json!({ "round": round.key(), "reviewers": reviewers.len(), "mails": n }),
                ),
            )?;
            Ok(n)
        })?;
    }
    Ok(enqueued)
}

/// "Send reminder" (Entra's sendReminder) on an instance in progress, by `actor`: a
/// reminder mail now to every reviewer who still has people to review, audited in the
/// same transaction. Returns how many reviewers were reminded (0: everyone has finished).
/// A review that has ended answers [`AppError::Conflict`] with a message for the page.
pub fn send_reminder(
    conn: &mut DbConnection,
    instance: &InstanceRow,
    actor: Actor<'_>,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    conn.write(|conn| {
        let Some((fresh, d)) = store::instances::get_with_definition(conn, &instance.id)? else {
            return Err(AppError::NotFound("This review no longer exists.".into()));
        };
        if !fresh.status.is_open() || now >= fresh.end_at {
            return Err(AppError::Conflict("This review has ended: reminders go only to reviews in progress.".into()));
        }
        let (mails, names) = reminders(conn, &d, &fresh, None, now)?;
        let n = store::outbox::enqueue(conn, &mails)?;
        store::audit::append(
            conn,
            &actor.event(
                now,
                "RemindersSent",
                ("AccessReviewInstance", &fresh.id),
                serde_json::json!({ "round": "Manual", "reviewers": names.len(), "mails": n, "to": names }),
            ),
        )?;
        // Delegates' copies are not more reviewers.
        Ok(names.len())
    })
}

/// "Send again" on a failed mail, by an admin: back in the queue, audited in the same
/// transaction. A mail to someone without an address, or one that is not failed (any
/// more), is refused with a message for the page.
pub fn resend(conn: &mut DbConnection, id: i64, actor: &UserRow, now: NaiveDateTime) -> Result<(), AppError> {
    conn.write(|conn| {
        let Some(mail) = store::outbox::get(conn, id)? else {
            return Err(AppError::NotFound("There is no such mail in the outbox.".into()));
        };
        if mail.recipient_address.is_empty() {
            return Err(AppError::Conflict(NO_ADDRESS.into()));
        }
        if !store::outbox::requeue(conn, id, now)? {
            return Err(AppError::Conflict("Only a mail that failed can be sent again.".into()));
        }
        store::audit::append(
            conn,
            &NewEvent::by_user(
                actor,
                now,
                "MailResent",
                ("OutboxMail", &id.to_string()),
                serde_json::json!({
                    "kind": mail.kind,
                    "instanceId": mail.instance_id,
                    "to": mail.recipient_name,
                    "previousError": mail.last_error,
                }),
            ),
        )?;
        Ok(())
    })
}

/// A reviewer an instance's mails went to (Entra's contactedReviewers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactedReviewer {
    /// The directory user's id.
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// The address the mails went to (empty when the directory has none).
    pub address: String,
    /// When the last mail to them (start or reminder) was written to the outbox.
    pub last_notified_at: NaiveDateTime,
    /// When the last of those mails was delivered to the mail server, if any was.
    pub last_sent_at: Option<NaiveDateTime>,
}

/// The reviewers (and self-reviewing people) an instance's start and reminder mails went
/// to, by name, with when each was last notified; at most `limit` after the (name, user
/// id) `after` (a self-review of everyone mails everyone).
pub fn contacted_reviewers(
    conn: &mut DbConnection,
    instance: &str,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<ContactedReviewer>, AppError> {
    Ok(store::outbox::contacted(conn, instance, after, limit)?
        .into_iter()
        .filter_map(|r| {
            Some(ContactedReviewer {
                user_id: r.user_id?,
                display_name: r.display_name,
                address: r.address,
                last_notified_at: r.last_notified_at?,
                last_sent_at: r.last_sent_at,
            })
        })
        .collect())
}

/// How many mails each outbox folder holds: (queued, sent, failed).
pub type FolderCounts = (i64, i64, i64);

/// One page of an outbox folder (up to `limit + 1` mails, in the cursor's direction; the
/// extra one tells that more exist) and the number of mails in each folder (queued,
/// sent, failed).
pub fn outbox_page(
    conn: &mut DbConnection,
    folder: Folder,
    cursor: MailCursor,
    limit: usize,
) -> Result<(Vec<MailRow>, FolderCounts), AppError> {
    Ok((store::outbox::page(conn, folder, cursor, limit)?, store::outbox::counts(conn)?))
}

/// One mail of the outbox.
pub fn outbox_mail(conn: &mut DbConnection, id: i64) -> Result<Option<MailRow>, AppError> {
    Ok(store::outbox::get(conn, id)?)
}
