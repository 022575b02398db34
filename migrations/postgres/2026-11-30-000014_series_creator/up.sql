-- A series outlives its creator's account: a guest who created a review is deleted 30 days
-- after a "block then delete" review denied them, and the history stays. `created_by` keeps
-- the creator's id, as the audit trail's actor ids do, without a foreign key to users; the
-- new `created_by_name` keeps their name for the pages once the account is gone.
ALTER TABLE review_definitions DROP CONSTRAINT review_definitions_created_by_fkey;
ALTER TABLE review_definitions ADD COLUMN created_by_name TEXT NOT NULL DEFAULT '';
UPDATE review_definitions d SET created_by_name = u.display_name FROM users u WHERE u.id = d.created_by;
