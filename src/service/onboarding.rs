//! Onboarding and the tenant's access review settings: access reviews stay off until a
//! Global Administrator or User Administrator turns them on; who did it and when is kept,
//! and audited, as is every change of a setting.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::store;
use crate::store::audit::NewEvent;
use crate::store::users::UserRow;

/// Directory roles allowed to onboard (Identity Governance Administrators manage reviews
/// but, as in Entra, cannot turn the feature on).
pub const ONBOARDING_ROLES: &[&str] = &["Global Administrator", "User Administrator"];

const ONBOARDED_BY: &str = "onboarded_by";
const ONBOARDED_AT: &str = "onboarded_at";
/// "Group and application owners can create and manage access reviews of their
/// resources"; off unless an admin turns it on.
const OWNERS_MANAGE_REVIEWS: &str = "owners_manage_reviews";

/// The setting holding the days after which an open remediation task is overdue.
const DAYS_KEY: &str = "remediation_days";

/// Who onboarded the directory, and when.
#[derive(Debug, Clone)]
pub struct Onboarded {
    /// Display name of the admin.
    pub by: String,
    /// When, as stored (UTC, ISO 8601).
    pub at: String,
}

/// Whether access reviews are on.
pub fn status(conn: &mut DbConnection) -> Result<Option<Onboarded>, AppError> {
    let by = store::settings::get(conn, ONBOARDED_BY)?;
    let at = store::settings::get(conn, ONBOARDED_AT)?;
    Ok(by.zip(at).map(|(by, at)| Onboarded { by, at }))
}

/// Whether and when access reviews were turned on, as the onboarding page shows it to
/// `user`; forbidden to anyone who may not onboard.
pub fn status_for(conn: &mut DbConnection, user: &str, now: NaiveDateTime) -> Result<Option<Onboarded>, AppError> {
    if !may_onboard(conn, user, now)? {
        return Err(AppError::Forbidden);
    }
    status(conn)
}

/// Whether `user` may onboard.
pub fn may_onboard(conn: &mut DbConnection, user: &str, now: NaiveDateTime) -> Result<bool, AppError> {
    Ok(store::roles::holds_active_directory_role(conn, user, ONBOARDING_ROLES, now)?)
}

/// Turns access reviews on. Doing it twice changes nothing.
pub fn onboard(conn: &mut DbConnection, actor: &UserRow, now: NaiveDateTime) -> Result<bool, AppError> {
    if !may_onboard(conn, &actor.id, now)? {
        return Err(AppError::Forbidden);
    }
    conn.write(|conn| {
        if status(conn)?.is_some() {
            return Ok(false);
        }
        store::settings::set(conn, ONBOARDED_BY, &actor.display_name)?;
        store::settings::set(conn, ONBOARDED_AT, &now.format("%Y-%m-%d %H:%M UTC").to_string())?;
        store::audit::append(
            conn,
            &NewEvent::by_user(
                actor,
                now,
                "OnboardDirectory",
                ("Directory", "directory"),
                serde_json::json!({ "accessReviews": { "old": "NotEnabled", "new": "Enabled" } }),
            ),
        )?;
        Ok(true)
    })
}

/// Whether owners of groups and applications may create and manage reviews of them.
pub fn owners_manage_reviews(conn: &mut DbConnection) -> Result<bool, AppError> {
    Ok(store::settings::get(conn, OWNERS_MANAGE_REVIEWS)?.as_deref() == Some("true"))
}

/// Changes the owners setting; returns whether it changed. Audited with the old and new
/// value, in the same transaction.
pub fn set_owners_manage_reviews(
    conn: &mut DbConnection,
    actor: &UserRow,
    on: bool,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    conn.write(|conn| {
        let old = owners_manage_reviews(conn)?;
        if old == on {
            return Ok(false);
        }
        store::settings::set(conn, OWNERS_MANAGE_REVIEWS, if on { "true" } else { "false" })?;
        store::audit::append(
            conn,
            &NewEvent::by_user(
                actor,
                now,
                "UpdateAccessReviewSettings",
                ("Directory", "directory"),
                serde_json::json!({ "ownersManageReviews": { "old": old, "new": on } }),
            ),
        )?;
        Ok(true)
    })
}

/// The days after which an open task is overdue (the admin's setting, or the default).
pub fn remediation_days(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(store::settings::get(conn, DAYS_KEY)?
        .and_then(|v| crate::domain::source::parse_remediation_days(&v).ok())
        .unwrap_or(crate::domain::source::DEFAULT_REMEDIATION_DAYS))
}

/// Sets the days from what the admin entered; `Err` says what to fix. Returns whether the
/// value changed; a change is audited with the old and new value.
pub fn set_remediation_days(
    conn: &mut DbConnection,
    actor: &UserRow,
    entered: &str,
    now: NaiveDateTime,
) -> Result<Result<bool, String>, AppError> {
    let new = match crate::domain::source::parse_remediation_days(entered) {
        Ok(days) => days,
        Err(problem) => return Ok(Err(problem)),
    };
    conn.write(|conn| {
        let old = remediation_days(conn)?;
        if old == new && store::settings::get(conn, DAYS_KEY)?.is_some() {
            return Ok(Ok(false));
        }
        store::settings::set(conn, DAYS_KEY, &new.to_string())?;
        let details = serde_json::json!({ "remediationDays": { "old": old, "new": new } });
        let event = NewEvent::by_user(actor, now, "UpdateAccessReviewSettings", ("Directory", "directory"), details);
        store::audit::append(conn, &event)?;
        Ok(Ok(old != new))
    })
}
