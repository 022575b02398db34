-- Applying results. A denied guest of a "block then delete" review is disabled at once and
-- deleted by the scheduler when `delete_at` comes; the row goes with the user.
CREATE TABLE guest_deletions (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    disabled_at TIMESTAMP NOT NULL,
    delete_at TIMESTAMP NOT NULL
);
CREATE INDEX guest_deletions_due ON guest_deletions (delete_at);
