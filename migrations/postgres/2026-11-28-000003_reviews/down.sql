DROP TABLE review_decision_items;
DROP TABLE review_instance_reviewers;
DROP TABLE review_instances;
DROP TABLE review_definition_reviewers;
DROP TABLE review_definition_resources;
DROP TABLE review_definitions;
DROP TABLE audit_events;
