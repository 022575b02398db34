DROP TABLE review_item_votes;
ALTER TABLE review_instances DROP COLUMN outcome_rule;
DROP TABLE review_definition_outcomes;
