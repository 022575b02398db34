//! The notification outbox and the reminder rounds done per instance.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Conn, batch_size, per_backend};
use crate::db::schema::{
    group_member_users, outbox, reminder_rounds, review_decision_items as items, review_definitions, review_instances,
    users,
};
use crate::domain::decision::{Decision, Pool};
use crate::domain::notify::{MailKind, MailStatus};
use crate::domain::review::InstanceStatus;
use crate::store::instances::InstanceRow;
use crate::store::reviews::DefinitionRow;

/// A mail to enqueue.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewMail {
    pub created_at: NaiveDateTime,
    pub kind: MailKind,
    pub instance_id: String,
    pub recipient_id: Option<String>,
    pub recipient_name: String,
    pub recipient_address: String,
    pub subject: String,
    pub facts: String,
    pub once_key: Option<String>,
    pub message_id: String,
    pub status: MailStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

impl NewMail {
    /// How many values a row binds.
    pub const COLUMNS: usize = 16;
}

/// A mail as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct MailRow {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub kind: MailKind,
    pub instance_id: String,
    pub recipient_id: Option<String>,
    pub recipient_name: String,
    pub recipient_address: String,
    pub subject: String,
    pub facts: String,
    pub once_key: Option<String>,
    pub message_id: String,
    pub status: MailStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// Enqueues mails; a mail whose `once_key` is already in the outbox is skipped (a second
/// scheduler got there first). Returns how many were added.
pub fn enqueue(conn: &mut Conn, mails: &[NewMail]) -> QueryResult<usize> {
    let mut added = 0;
    for chunk in mails.chunks(batch_size(conn, NewMail::COLUMNS)) {
        added += per_backend!(conn, c => diesel::insert_into(outbox::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(added)
}

/// Ids of the pending mails whose next attempt has come, oldest first.
pub fn due(conn: &mut Conn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::status.eq(MailStatus::Pending))
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::id)
        .limit(limit)
        .select(outbox::id)
        .load(conn)
}

/// Claims a pending mail for sending: true when this caller got it. The claim is
/// committed before the mail goes out, so no other sender (nor this one after a restart)
/// takes it again.
pub fn claim(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(outbox::table.find(id).filter(outbox::status.eq(MailStatus::Pending)))
        .set((
            outbox::status.eq(MailStatus::Sending),
            outbox::claimed_at.eq(Some(now)),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Marks a claimed mail sent.
pub fn mark_sent(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::status.eq(MailStatus::Sending)))
        .set((
            outbox::status.eq(MailStatus::Sent),
            outbox::sent_at.eq(Some(now)),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt of a claimed mail: pending again from `retry_at`, or failed
/// for good when `retry_at` is `None`.
pub fn mark_attempt_failed(conn: &mut Conn, id: i64, error: &str, retry_at: Option<NaiveDateTime>) -> QueryResult<()> {
    let target = outbox::table.find(id).filter(outbox::status.eq(MailStatus::Sending));
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                outbox::status.eq(MailStatus::Pending),
                outbox::next_attempt_at.eq(at),
                outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((outbox::status.eq(MailStatus::Failed), outbox::last_error.eq(Some(error))))
            .execute(conn)?,
    };
    Ok(())
}

/// Marks failed, with `error`, every mail claimed before `before` and never marked: its
/// sender stopped between claiming and recording the outcome, so it may or may not have
/// gone out. Sending it again could deliver it twice; an admin decides. Returns how many.
pub fn fail_abandoned(conn: &mut Conn, before: NaiveDateTime, error: &str) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::status.eq(MailStatus::Sending)).filter(outbox::claimed_at.lt(before)))
        .set((outbox::status.eq(MailStatus::Failed), outbox::last_error.eq(Some(error))))
        .execute(conn)
}

/// Fails a pending mail for good without trying (no address to send to).
pub fn fail_pending(conn: &mut Conn, id: i64, error: &str) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::status.eq(MailStatus::Pending)))
        .set((outbox::status.eq(MailStatus::Failed), outbox::last_error.eq(Some(error))))
        .execute(conn)?;
    Ok(())
}

/// Puts a failed mail back in the queue, due now, with its attempts counted afresh; false
/// when it is not (or no longer) failed.
pub fn requeue(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(outbox::table.find(id).filter(outbox::status.eq(MailStatus::Failed)))
        .set((
            outbox::status.eq(MailStatus::Pending),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::claimed_at.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// A mail by id.
pub fn get(conn: &mut Conn, id: i64) -> QueryResult<Option<MailRow>> {
    outbox::table.find(id).select(MailRow::as_select()).first(conn).optional()
}

/// Which mails a page of the outbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    /// Waiting to be sent (or being sent now).
    Pending,
    /// Sent.
    Sent,
    /// Given up, with the error.
    Failed,
}

impl Folder {
    fn statuses(self) -> &'static [MailStatus] {
        match self {
            Self::Pending => &[MailStatus::Pending, MailStatus::Sending],
            Self::Sent => &[MailStatus::Sent],
            Self::Failed => &[MailStatus::Failed],
        }
    }
}

/// Where a page of the outbox starts, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailCursor {
    /// The newest mails.
    Newest,
    /// Mails older than this id.
    Before(i64),
    /// Mails newer than this id (read oldest first; the caller reverses).
    After(i64),
}

/// A page of one box, newest first (for [`MailCursor::After`], oldest first), fetching
/// one row more than `limit` so the caller knows whether another page exists.
pub fn page(conn: &mut Conn, which: Folder, cursor: MailCursor, limit: usize) -> QueryResult<Vec<MailRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
    let q = outbox::table.filter(outbox::status.eq_any(which.statuses().to_vec())).select(MailRow::as_select());
    match cursor {
        MailCursor::Newest => q.order(outbox::id.desc()).limit(limit).load(conn),
        MailCursor::Before(id) => q.filter(outbox::id.lt(id)).order(outbox::id.desc()).limit(limit).load(conn),
        MailCursor::After(id) => q.filter(outbox::id.gt(id)).order(outbox::id.asc()).limit(limit).load(conn),
    }
}

/// How many mails each box holds: (pending, sent, failed).
pub fn counts(conn: &mut Conn) -> QueryResult<(i64, i64, i64)> {
    let rows: Vec<(MailStatus, i64)> =
        outbox::table.group_by(outbox::status).select((outbox::status, diesel::dsl::count_star())).load(conn)?;
    let get = |folder: Folder| rows.iter().filter(|(k, _)| folder.statuses().contains(k)).map(|(_, n)| n).sum::<i64>();
    Ok((get(Folder::Pending), get(Folder::Sent), get(Folder::Failed)))
}

/// A reviewer an instance's mails went to, as [`contacted`] reads them.
#[derive(Debug, Clone, Queryable)]
pub struct ContactedRow {
    /// The directory user (never `None` in what [`contacted`] returns).
    pub user_id: Option<String>,
    pub display_name: String,
    pub address: String,
    /// When the last mail to them was enqueued.
    pub last_notified_at: Option<NaiveDateTime>,
    /// When the last one was delivered.
    pub last_sent_at: Option<NaiveDateTime>,
}

/// The reviewers an instance's start and reminder mails went to, by name, after the
/// (name, user id) `after` when given.
pub fn contacted(
    conn: &mut Conn,
    instance: &str,
    after: Option<&(String, String)>,
    limit: i64,
) -> QueryResult<Vec<ContactedRow>> {
    use diesel::IntoSql;
    // One statement for the first page and the next ones (a grouped query cannot be boxed).
    let (name, id) = after.cloned().unwrap_or_default();
    let after_it = outbox::recipient_name
        .gt(name.clone())
        .or(outbox::recipient_name.eq(name).and(outbox::recipient_id.gt(id)).assume_not_null());
    outbox::table
        .filter(after.is_none().into_sql::<diesel::sql_types::Bool>().or(after_it))
        .filter(outbox::instance_id.eq(instance))
        .filter(outbox::kind.ne(MailKind::ReviewCompleted))
        .filter(outbox::recipient_id.is_not_null())
        .group_by((outbox::recipient_id, outbox::recipient_name, outbox::recipient_address))
        .select((
            outbox::recipient_id,
            outbox::recipient_name,
            outbox::recipient_address,
            diesel::dsl::max(outbox::created_at),
            diesel::dsl::max(outbox::sent_at),
        ))
        .order((outbox::recipient_name, outbox::recipient_id))
        .limit(limit)
        .load(conn)
}

/// A person to notify: id, display name, mail address.
pub type Recipient = (String, String, Option<String>);

/// The enabled users with a mail address who are direct members of any of `groups` (a
/// group and the groups nested in it: the members of each, once), by name. A group's
/// members are recipients of the completion mail when the group is named as one; a
/// disabled account cannot read mail, and a member without an address is simply not
/// mailed (a named recipient without one is shown as failed instead).
pub fn enabled_members_with_mail(conn: &mut Conn, groups: &[String]) -> QueryResult<Vec<Recipient>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, Option<String>)> = users::table
        .filter(users::enabled.eq(true))
        .filter(users::mail.is_not_null())
        .filter(diesel::dsl::exists(
            group_member_users::table
                .filter(group_member_users::user_id.eq(users::id))
                .filter(group_member_users::group_id.eq_any(groups)),
        ))
        .order((users::display_name, users::id))
        .select((users::id, users::display_name, users::mail))
        .load(conn)?;
    Ok(rows.into_iter().filter(|(_, _, mail)| mail.as_deref().is_some_and(|m| !m.trim().is_empty())).collect())
}

/// People with items of an instance to review, with how many: those assigned items of
/// their own (managers, self-review) and, for items assigned to nobody, the snapshotted
/// reviewers of the item's pool (the reviewers, or the fallback reviewers), never counting
/// a reviewer's own access, which is not theirs to decide. Items routed to the admins are
/// not mailed: the admins find them in their access panel. With `only_not_reviewed`, only
/// items still undecided count, so people who finished are left out. Ordered by name.
pub fn reviewers_with_items(
    conn: &mut Conn,
    instance: &str,
    stage: i32,
    only_not_reviewed: bool,
) -> QueryResult<Vec<(Recipient, i64)>> {
    // Items of earlier stages that did not move on are decided: their reviewers are done.
    let here = items::table.filter(items::instance_id.eq(instance)).filter(items::stage.eq(stage));
    let per_reviewer = (items::reviewer_id, items::reviewer_pool);
    let counted = (items::reviewer_id, items::reviewer_pool, diesel::dsl::count_star());
    let counts: Vec<(Option<String>, Pool, i64)> = if only_not_reviewed {
        here.filter(items::decision.eq(Decision::NotReviewed)).group_by(per_reviewer).select(counted).load(conn)?
    } else {
        here.group_by(per_reviewer).select(counted).load(conn)?
    };
    let mut by_user: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    let mut pools: Vec<(String, bool)> = Vec::new();
    for (reviewer, pool, n) in &counts {
        let fallback = match (reviewer, pool) {
            (Some(user), _) => {
                *by_user.entry(user.clone()).or_default() += n;
                continue;
            }
            (None, Pool::Reviewers) => false,
            (None, Pool::Fallback) => true,
            (None, Pool::Admins) => continue,
        };
        let members = super::instances::pool_members(conn, instance, fallback)?;
        for user in members {
            *by_user.entry(user.clone()).or_default() += n;
            pools.push((user, fallback));
        }
    }
    // A pool's member whose own item is in that pool does not decide it.
    let credited: Vec<String> = pools.iter().map(|(u, _)| u.clone()).collect();
    for chunk in credited.chunks(5_000) {
        let mut own = items::table
            .filter(items::instance_id.eq(instance))
            .filter(items::stage.eq(stage))
            .filter(items::reviewer_id.is_null())
            .filter(items::principal_id.eq_any(chunk))
            .into_boxed::<crate::db::MultiBackend>();
        if only_not_reviewed {
            own = own.filter(items::decision.eq(Decision::NotReviewed));
        }
        for (principal, pool) in own.select((items::principal_id, items::reviewer_pool)).load::<(String, Pool)>(conn)? {
            let in_pool = pools.iter().any(|(u, f)| *u == principal && *f == (pool == Pool::Fallback))
                && matches!(pool, Pool::Reviewers | Pool::Fallback);
            if let (true, Some(n)) = (in_pool, by_user.get_mut(&principal)) {
                *n -= 1;
            }
        }
    }
    if only_not_reviewed {
        // Under "all must approve" an item waits, not reviewed, for the reviewers who have
        // not decided it: those who have are done with it.
        use crate::db::schema::review_item_votes as votes;
        let waiting = items::table
            .filter(items::instance_id.eq(instance))
            .filter(items::stage.eq(stage))
            .filter(items::decision.eq(Decision::NotReviewed))
            .select(items::id);
        let voted: Vec<(String, i64)> = votes::table
            .filter(votes::instance_id.eq(instance))
            .filter(votes::stage.eq(stage))
            .filter(votes::item_id.eq_any(waiting))
            .group_by(votes::seat)
            .select((votes::seat, diesel::dsl::count_star()))
            .load(conn)?;
        for (seat, n) in voted {
            if let Some(left) = by_user.get_mut(&seat) {
                *left -= n;
            }
        }
    }
    by_user.retain(|_, n| *n > 0);
    let ids: Vec<String> = by_user.keys().cloned().collect();
    let mut people: Vec<(Recipient, i64)> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(String, String, Option<String>)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::display_name, users::mail))
            .load(conn)?;
        for (id, name, mail) in rows {
            let n = by_user.get(&id).copied().unwrap_or(0);
            people.push(((id, name, mail), n));
        }
    }
    people.sort_by(|a, b| (&a.0.1, &a.0.0).cmp(&(&b.0.1, &b.0.0)));
    Ok(people)
}

/// Records a reminder round of an instance; false when it was recorded already (by an
/// earlier tick or another scheduler), and then nothing is written.
pub fn record_round(
    conn: &mut Conn,
    (instance, stage): (&str, i32),
    round: &str,
    at: NaiveDateTime,
    recipients: i32,
) -> QueryResult<bool> {
    let row = (
        reminder_rounds::instance_id.eq(instance),
        reminder_rounds::stage.eq(stage),
        reminder_rounds::round.eq(round),
        reminder_rounds::at.eq(at),
        reminder_rounds::recipients.eq(recipients),
    );
    let n = per_backend!(conn, c => diesel::insert_into(reminder_rounds::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// The reminder rounds recorded for these instances: (instance, stage, round).
pub fn rounds(conn: &mut Conn, instances: &[String]) -> QueryResult<Vec<(String, i32, String)>> {
    let mut out = Vec::new();
    for chunk in instances.chunks(5_000) {
        out.extend(
            reminder_rounds::table
                .filter(reminder_rounds::instance_id.eq_any(chunk))
                .select((reminder_rounds::instance_id, reminder_rounds::stage, reminder_rounds::round))
                .load::<(String, i32, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Instances in progress, before their end, of series with mail and reminders on, with
/// their series: the ones a reminder round may be due for.
pub fn reminder_candidates(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<Vec<(InstanceRow, DefinitionRow)>> {
    review_instances::table
        .inner_join(review_definitions::table)
        .filter(review_instances::status.eq(InstanceStatus::InProgress))
        .filter(review_instances::end_at.gt(now))
        .filter(review_definitions::mail_notifications.eq(true))
        .filter(review_definitions::reminder_schedule.ne(""))
        .select((InstanceRow::as_select(), DefinitionRow::as_select()))
        .load(conn)
}
