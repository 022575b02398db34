CREATE TABLE reminder_rounds_old (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    round TEXT NOT NULL CHECK (round = 'HalfTime' OR round GLOB 'DaysBefore[1-9]*'),
    at TIMESTAMP NOT NULL,
    recipients INTEGER NOT NULL,
    PRIMARY KEY (instance_id, round)
);
INSERT INTO reminder_rounds_old (instance_id, round, at, recipients)
SELECT instance_id, round, at, recipients FROM reminder_rounds WHERE stage = 1;
DROP TABLE reminder_rounds;
ALTER TABLE reminder_rounds_old RENAME TO reminder_rounds;

DROP INDEX review_decision_items_tally;
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, reviewer_pool, decision, recommendation);

DROP TABLE review_item_escalations;
DROP TABLE review_escalation_rounds;
DROP TABLE review_definition_escalations;

CREATE TABLE outbox_old (
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
INSERT INTO outbox_old SELECT id, created_at, kind, instance_id, recipient_id, recipient_name, recipient_address,
    subject, facts, once_key, message_id, status, attempts, next_attempt_at, claimed_at, sent_at, last_error
    FROM outbox WHERE kind <> 'Escalated';
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE UNIQUE INDEX outbox_once ON outbox (once_key);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_status_page ON outbox (status, id);
CREATE INDEX outbox_contacted ON outbox (instance_id, recipient_id);
