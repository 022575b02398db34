ALTER TABLE review_stage_decisions DROP COLUMN reviewed_for;
ALTER TABLE review_decision_items DROP COLUMN reviewed_for;
DROP TABLE review_delegations;
