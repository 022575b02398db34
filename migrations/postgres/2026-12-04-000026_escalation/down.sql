DELETE FROM reminder_rounds WHERE stage <> 1;
ALTER TABLE reminder_rounds DROP CONSTRAINT reminder_rounds_pkey;
ALTER TABLE reminder_rounds DROP COLUMN stage;
ALTER TABLE reminder_rounds ADD PRIMARY KEY (instance_id, round);

DROP INDEX review_decision_items_tally;
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, reviewer_pool, decision, recommendation);

DROP TABLE review_item_escalations;
DROP TABLE review_escalation_rounds;
DROP TABLE review_definition_escalations;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
DELETE FROM outbox WHERE kind = 'Escalated';
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied', 'Reassigned'));
