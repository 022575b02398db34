-- The access panel. An instance keeps the "reason required to approve" setting it started
-- with: edits of a series apply to later occurrences only.
ALTER TABLE review_instances ADD COLUMN justification_required BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE review_instances SET justification_required =
    (SELECT d.justification_required FROM review_definitions d WHERE d.id = review_instances.definition_id);
-- The "recommended deny" filter pages by name like the decision filter does.
CREATE INDEX review_decision_items_recommendation
    ON review_decision_items (instance_id, recommendation, principal_name, id);
-- Counts of one reviewer's part of an instance (a manager's people, or the people without
-- a manager for a fallback reviewer) come from this index alone, whatever the instance's size.
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, decision, recommendation);
