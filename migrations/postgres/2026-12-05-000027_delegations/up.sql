-- Delegation (issue 17): a person names a delegate for a period (out of office). While it
-- runs, the delegate reviews on their behalf: the person's reviews appear in the delegate's
-- panel, and their mails go to both. `ended_at` is set when the person or the delegate ends
-- it early; the row stays as history. User ids are kept without a foreign key: the
-- history outlives a deleted account.
CREATE TABLE review_delegations (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL,
    delegate_id TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    CHECK (starts_at < ends_at),
    CHECK (user_id <> delegate_id)
);
CREATE INDEX review_delegations_user ON review_delegations (user_id, ends_at);
CREATE INDEX review_delegations_delegate ON review_delegations (delegate_id, ends_at);

-- A decision a delegate made names both: `reviewed_by` the delegate who decided,
-- `reviewed_for` the reviewer on whose behalf ("by X on behalf of Y").
ALTER TABLE review_decision_items ADD COLUMN reviewed_for TEXT;
ALTER TABLE review_stage_decisions ADD COLUMN reviewed_for TEXT;
