-- Reassignments (issue 17): a reviewer, or an admin, hands some of an instance's items to
-- another person, with a note. The item's `reviewer_id` names who decides it now; this is
-- its history (from whom, to whom, by whom, when, why), shown on the item. `from_user` is
-- NULL when the item was a pool's (the owners', the fallback reviewers', the admins').
-- User ids are kept without a foreign key: the history outlives a deleted account.
CREATE TABLE review_reassignments (
    id BIGSERIAL PRIMARY KEY,
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

-- The new reviewer is told by mail: a new kind of mail.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ReviewStarted', 'SelfReviewStarted', 'Reminder', 'ReviewCompleted', 'ResultsApplied', 'Reassigned'));
