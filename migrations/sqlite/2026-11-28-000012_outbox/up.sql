-- The notification outbox. A mail is written in the transaction of what causes it (an
-- instance started, a reminder round, an instance completed, its results applied) and sent later by the sender
-- worker, so a notification is never lost with a rolled-back change nor sent for one.
CREATE TABLE outbox (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied')),
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    recipient_id TEXT,
    recipient_name TEXT NOT NULL,
    recipient_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- What the mail says, as JSON; the text and HTML parts are rendered from it with the
    -- public URL of the moment, so a changed address does not leave dead links behind.
    facts TEXT NOT NULL,
    -- The same notification is enqueued once however many schedulers race; NULL for
    -- reminders an admin sends by hand.
    once_key TEXT,
    -- Fixed at enqueue: a mail sent again by hand carries the same id, so mail clients
    -- can tell it is the same message.
    message_id TEXT NOT NULL,
    -- Pending -> Sending (claimed by one sender) -> Sent, or back to Pending with the
    -- error and a later attempt, or Failed for good.
    status TEXT NOT NULL CHECK (status IN ('Pending', 'Sending', 'Sent', 'Failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_at TIMESTAMP,
    sent_at TIMESTAMP,
    last_error TEXT
);
CREATE UNIQUE INDEX outbox_once ON outbox (once_key);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_status_page ON outbox (status, id);
CREATE INDEX outbox_contacted ON outbox (instance_id, recipient_id);

-- Reminder rounds done per instance (half-time, two days before the end): a round runs
-- once, whichever scheduler gets there first.
CREATE TABLE reminder_rounds (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    round TEXT NOT NULL CHECK (round IN ('HalfTime', 'BeforeEnd')),
    at TIMESTAMP NOT NULL,
    recipients INTEGER NOT NULL,
    PRIMARY KEY (instance_id, round)
);
