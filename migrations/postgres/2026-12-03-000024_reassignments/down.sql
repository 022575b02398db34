DROP TABLE review_reassignments;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
DELETE FROM outbox WHERE kind = 'Reassigned';
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied'));
