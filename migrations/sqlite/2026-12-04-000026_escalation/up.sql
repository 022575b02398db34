-- Escalation (issue 17): N days before the end of a review (or of its current stage), the
-- items nobody has reviewed yet are also given to the manager of their reviewer, or to the
-- fallback reviewers; the original reviewer can still decide. One row per series that
-- escalates.
CREATE TABLE review_definition_escalations (
    definition_id TEXT NOT NULL PRIMARY KEY REFERENCES review_definitions (id) ON DELETE CASCADE,
    days_before INTEGER NOT NULL CHECK (days_before >= 1),
    target TEXT NOT NULL CHECK (target IN ('Managers', 'Fallback'))
);

-- Each escalation that ran: once per instance and stage.
CREATE TABLE review_escalation_rounds (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (instance_id, stage)
);

-- Who else may decide an item since it was escalated, in the stage it was escalated in. User ids without a foreign key: the
-- record outlives a deleted account.
CREATE TABLE review_item_escalations (
    item_id TEXT NOT NULL REFERENCES review_decision_items (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, stage, user_id)
);
CREATE INDEX review_item_escalations_user ON review_item_escalations (user_id, instance_id, stage);

-- The people escalated to are told by mail: a new kind of mail. SQLite cannot change a CHECK
-- constraint in place: the outbox is copied (ids kept, so AUTOINCREMENT continues).
CREATE TABLE outbox_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied', 'Reassigned', 'Escalated')),
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

-- The tally index also holds each item's stage (issue 17's stages): the counts of one
-- stage's items stay read from the index alone.
DROP INDEX review_decision_items_tally;
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, reviewer_pool, decision, recommendation, stage);

-- Reminder rounds are a stage's (issue 17): each stage of a multi-stage review reminds its
-- own reviewers on its own schedule. SQLite cannot change a primary key: a copy.
CREATE TABLE reminder_rounds_new (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL DEFAULT 1,
    round TEXT NOT NULL CHECK (round = 'HalfTime' OR round GLOB 'DaysBefore[1-9]*'),
    at TIMESTAMP NOT NULL,
    recipients INTEGER NOT NULL,
    PRIMARY KEY (instance_id, stage, round)
);
INSERT INTO reminder_rounds_new (instance_id, stage, round, at, recipients)
SELECT instance_id, 1, round, at, recipients FROM reminder_rounds;
DROP TABLE reminder_rounds;
ALTER TABLE reminder_rounds_new RENAME TO reminder_rounds;
