-- Reassignments (issue 17): a reviewer, or an admin, hands some of an instance's items to
-- another person, with a note. The item's `reviewer_id` names who decides it now; this is
-- its history (from whom, to whom, by whom, when, why), shown on the item. `from_user` is
-- NULL when the item was a pool's (the owners', the fallback reviewers', the admins').
-- User ids are kept without a foreign key: the history outlives a deleted account.
CREATE TABLE review_reassignments (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL REFERENCES review_decision_items (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    from_user TEXT,
    to_user TEXT NOT NULL,
    note TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX review_reassignments_item ON review_reassignments (item_id, at);
CREATE INDEX review_reassignments_from ON review_reassignments (from_user, instance_id);
CREATE INDEX review_reassignments_by ON review_reassignments (by_user, instance_id);

-- The new reviewer is told by mail: a new kind of mail. SQLite cannot change a CHECK
-- constraint in place: the outbox is copied (ids kept, so AUTOINCREMENT continues).
CREATE TABLE outbox_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied', 'Reassigned')),
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    recipient_id TEXT,
    recipient_name TEXT NOT NULL,
    recipient_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    facts TEXT NOT NULL,
    once_key TEXT,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Pending', 'Sending', 'Sent', 'Failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_at TIMESTAMP,
    sent_at TIMESTAMP,
    last_error TEXT
);
INSERT INTO outbox_new SELECT id, created_at, kind, instance_id, recipient_id, recipient_name, recipient_address,
    subject, facts, once_key, message_id, status, attempts, next_attempt_at, claimed_at, sent_at, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE UNIQUE INDEX outbox_once ON outbox (once_key);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_status_page ON outbox (status, id);
CREATE INDEX outbox_contacted ON outbox (instance_id, recipient_id);
