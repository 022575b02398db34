DROP TABLE review_reassignments;

CREATE TABLE outbox_old (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied')),
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
INSERT INTO outbox_old SELECT id, created_at, kind, instance_id, recipient_id, recipient_name, recipient_address,
    subject, facts, once_key, message_id, status, attempts, next_attempt_at, claimed_at, sent_at, last_error
    FROM outbox WHERE kind <> 'Reassigned';
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE UNIQUE INDEX outbox_once ON outbox (once_key);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_status_page ON outbox (status, id);
CREATE INDEX outbox_contacted ON outbox (instance_id, recipient_id);
