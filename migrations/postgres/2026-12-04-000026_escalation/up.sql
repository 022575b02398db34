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

-- The people escalated to are told by mail: a new kind of mail.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied', 'Reassigned', 'Escalated'));

-- The tally index also holds each item's stage (issue 17's stages): the counts of one
-- stage's items stay read from the index alone.
DROP INDEX review_decision_items_tally;
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, reviewer_pool, decision, recommendation, stage);

-- Reminder rounds are a stage's (issue 17): each stage of a multi-stage review reminds its
-- own reviewers on its own schedule.
ALTER TABLE reminder_rounds ADD COLUMN stage INTEGER NOT NULL DEFAULT 1;
ALTER TABLE reminder_rounds DROP CONSTRAINT reminder_rounds_pkey;
ALTER TABLE reminder_rounds ADD PRIMARY KEY (instance_id, stage, round);
