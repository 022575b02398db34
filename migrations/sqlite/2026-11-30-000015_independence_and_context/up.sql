-- Issue 12: reviewer independence, context to decide, and what "Accept recommendations" does.

-- Who decides an item that is assigned to no one person (reviewer_id NULL): the instance's
-- reviewers (owners, selected reviewers), its fallback reviewers (no owner, no manager, or
-- the principal is one of the reviewers), or any portal admin (the principal is one of the
-- reviewers and there is no other fallback reviewer). Outside a self-review nobody decides
-- their own access: the scheduler routes such items when the instance starts.
ALTER TABLE review_decision_items ADD COLUMN reviewer_pool TEXT NOT NULL DEFAULT 'Reviewers'
    CHECK (reviewer_pool IN ('Reviewers', 'Fallback', 'Admins'));
-- The principal's job title, department and manager's name when the instance started (a
-- snapshot like the rest of the item): the context reviewers see on each row.
ALTER TABLE review_decision_items ADD COLUMN principal_job_title TEXT NOT NULL DEFAULT '';
ALTER TABLE review_decision_items ADD COLUMN principal_department TEXT NOT NULL DEFAULT '';
ALTER TABLE review_decision_items ADD COLUMN principal_manager TEXT NOT NULL DEFAULT '';
-- Counters kept with the decisions, so a page never counts 100k rows: the items not reviewed
-- yet whose recommendation is Approve / Deny (what "Accept recommendations" decides), and
-- how many items went to the admins at start (their access panels list those instances).
ALTER TABLE review_instances ADD COLUMN pending_approve INTEGER NOT NULL DEFAULT 0;
ALTER TABLE review_instances ADD COLUMN pending_deny INTEGER NOT NULL DEFAULT 0;
ALTER TABLE review_instances ADD COLUMN routed_to_admins INTEGER NOT NULL DEFAULT 0;

-- Instances started before: the people without a manager, and everyone in an owners review
-- of a resource without owners, were the fallback reviewers' to decide.
UPDATE review_decision_items SET reviewer_pool = 'Fallback'
WHERE reviewer_id IS NULL AND instance_id IN (
    SELECT i.id FROM review_instances i JOIN review_definitions d ON d.id = i.definition_id
    WHERE d.reviewer_kind = 'Managers'
       OR NOT EXISTS (SELECT 1 FROM review_instance_reviewers r WHERE r.instance_id = i.id AND r.fallback = FALSE));
-- A reviewer's own item, or a fallback's with no other fallback reviewer, goes to the admins.
UPDATE review_decision_items SET reviewer_pool = 'Admins'
WHERE reviewer_id IS NULL AND (
    (reviewer_pool = 'Reviewers' AND EXISTS (
        SELECT 1 FROM review_instance_reviewers r
        WHERE r.instance_id = review_decision_items.instance_id
          AND r.user_id = review_decision_items.principal_id AND r.fallback = FALSE))
    OR (reviewer_pool = 'Fallback' AND NOT EXISTS (
        SELECT 1 FROM review_instance_reviewers r
        WHERE r.instance_id = review_decision_items.instance_id
          AND r.fallback = TRUE AND r.user_id <> review_decision_items.principal_id)));
-- Context from today's directory: the best there is for instances started before.
UPDATE review_decision_items SET
    principal_job_title = COALESCE((SELECT u.job_title FROM users u WHERE u.id = review_decision_items.principal_id), ''),
    principal_department = COALESCE((SELECT u.department FROM users u WHERE u.id = review_decision_items.principal_id), ''),
    principal_manager = COALESCE((SELECT m.display_name FROM users u JOIN users m ON m.id = u.manager_id
                                  WHERE u.id = review_decision_items.principal_id), '');
UPDATE review_instances SET
    pending_approve = (SELECT COUNT(*) FROM review_decision_items t WHERE t.instance_id = review_instances.id
                       AND t.decision = 'NotReviewed' AND t.recommendation = 'Approve'),
    pending_deny = (SELECT COUNT(*) FROM review_decision_items t WHERE t.instance_id = review_instances.id
                    AND t.decision = 'NotReviewed' AND t.recommendation = 'Deny'),
    routed_to_admins = (SELECT COUNT(*) FROM review_decision_items t WHERE t.instance_id = review_instances.id
                        AND t.reviewer_id IS NULL AND t.reviewer_pool = 'Admins');

-- Counts of one reviewer's part of an instance (a manager's people, a pool's items) come
-- from this index alone: one seek per part, whatever the instance's size.
DROP INDEX review_decision_items_tally;
CREATE INDEX review_decision_items_tally
    ON review_decision_items (instance_id, reviewer_id, reviewer_pool, decision, recommendation);
