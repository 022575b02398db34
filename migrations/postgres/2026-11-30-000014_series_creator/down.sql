-- Back to a foreign key from a series to its creator (fails while a series names a
-- deleted account).
ALTER TABLE review_definitions DROP COLUMN created_by_name;
ALTER TABLE review_definitions ADD CONSTRAINT review_definitions_created_by_fkey
    FOREIGN KEY (created_by) REFERENCES users (id);
