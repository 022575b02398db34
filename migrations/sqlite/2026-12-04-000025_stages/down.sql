DROP TABLE review_stage_decisions;
DROP TABLE review_instance_stages;
ALTER TABLE review_decision_items DROP COLUMN stage;
ALTER TABLE review_instances DROP COLUMN stage_count;
ALTER TABLE review_instances DROP COLUMN stage;
DROP TABLE review_definition_stage_reviewers;
DROP TABLE review_definition_stages;
