DROP INDEX review_decision_items_tally;
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, decision, recommendation);
ALTER TABLE review_instances DROP COLUMN routed_to_admins;
ALTER TABLE review_instances DROP COLUMN pending_deny;
ALTER TABLE review_instances DROP COLUMN pending_approve;
ALTER TABLE review_decision_items DROP COLUMN principal_manager;
ALTER TABLE review_decision_items DROP COLUMN principal_department;
ALTER TABLE review_decision_items DROP COLUMN principal_job_title;
ALTER TABLE review_decision_items DROP COLUMN reviewer_pool;
