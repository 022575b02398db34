-- A series outlives its creator's account: a guest who created a review is deleted 30 days
-- after a "block then delete" review denied them, and the history stays. `created_by` keeps
-- the creator's id, as the audit trail's actor ids do, without a foreign key to users; the
-- new `created_by_name` keeps their name for the pages once the account is gone.
--
-- SQLite cannot drop a foreign key in place: the table is rebuilt (the twelve steps of
-- https://sqlite.org/lang_altertable.html#otheralter) with foreign keys off, which SQLite
-- allows only outside a transaction: hence metadata.toml, and the transaction opened here.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE review_definitions_new (
    id TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL,
    description_for_reviewers TEXT NOT NULL,
    description_for_admins TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('Groups', 'GuestGroups', 'Applications', 'DirectoryRoles', 'ResourceRoles')),
    role_assignment_types TEXT CHECK (role_assignment_types IN ('Active', 'Eligible', 'Both')),
    resource_scope TEXT,
    user_scope TEXT NOT NULL CHECK (user_scope IN ('All', 'Guests', 'Inactive')),
    inactive_days INTEGER,
    reviewer_kind TEXT NOT NULL CHECK (reviewer_kind IN ('Owners', 'Selected', 'Self', 'Managers')),
    start_date DATE NOT NULL,
    frequency TEXT NOT NULL CHECK (frequency IN ('OneTime', 'Weekly', 'Monthly', 'Quarterly', 'SemiAnnually', 'Annually')),
    duration_days INTEGER NOT NULL,
    end_kind TEXT NOT NULL CHECK (end_kind IN ('Never', 'OnDate', 'AfterOccurrences')),
    end_date DATE,
    occurrences INTEGER,
    auto_apply BOOLEAN NOT NULL,
    default_decision TEXT NOT NULL CHECK (default_decision IN ('None', 'Approve', 'Deny', 'Recommendation')),
    guest_denied_action TEXT NOT NULL CHECK (guest_denied_action IN ('RemoveAccess', 'BlockThenDelete')),
    recommendations_enabled BOOLEAN NOT NULL,
    lookback_days INTEGER NOT NULL,
    justification_required BOOLEAN NOT NULL,
    mail_notifications BOOLEAN NOT NULL,
    reminders BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Active', 'Completed', 'Deleted')),
    -- The scheduler's place in the series: the next occurrence to create and when.
    next_occurrence INTEGER NOT NULL,
    next_start_at TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    additional_recipients TEXT NOT NULL DEFAULT '',
    created_by_name TEXT NOT NULL DEFAULT ''
);
INSERT INTO review_definitions_new (
    id,
    display_name,
    description_for_reviewers,
    description_for_admins,
    scope_kind,
    role_assignment_types,
    resource_scope,
    user_scope,
    inactive_days,
    reviewer_kind,
    start_date,
    frequency,
    duration_days,
    end_kind,
    end_date,
    occurrences,
    auto_apply,
    default_decision,
    guest_denied_action,
    recommendations_enabled,
    lookback_days,
    justification_required,
    mail_notifications,
    reminders,
    status,
    next_occurrence,
    next_start_at,
    created_by,
    created_at,
    updated_at,
    additional_recipients,
    created_by_name
)
SELECT
    d.id,
    d.display_name,
    d.description_for_reviewers,
    d.description_for_admins,
    d.scope_kind,
    d.role_assignment_types,
    d.resource_scope,
    d.user_scope,
    d.inactive_days,
    d.reviewer_kind,
    d.start_date,
    d.frequency,
    d.duration_days,
    d.end_kind,
    d.end_date,
    d.occurrences,
    d.auto_apply,
    d.default_decision,
    d.guest_denied_action,
    d.recommendations_enabled,
    d.lookback_days,
    d.justification_required,
    d.mail_notifications,
    d.reminders,
    d.status,
    d.next_occurrence,
    d.next_start_at,
    d.created_by,
    d.created_at,
    d.updated_at,
    d.additional_recipients,
    COALESCE((SELECT u.display_name FROM users u WHERE u.id = d.created_by), '')
FROM review_definitions d;
DROP TABLE review_definitions;
ALTER TABLE review_definitions_new RENAME TO review_definitions;
CREATE INDEX review_definitions_due ON review_definitions (status, next_start_at);
CREATE INDEX review_definitions_name ON review_definitions (display_name, id);
COMMIT;
PRAGMA foreign_keys = ON;
