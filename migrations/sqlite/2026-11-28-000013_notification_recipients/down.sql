ALTER TABLE review_definitions DROP COLUMN additional_recipients;
