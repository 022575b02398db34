-- Review-history reports asked for through the API (Graph's accessReviewHistoryDefinition):
-- what to report on, never the file. attest writes the report each time it is downloaded,
-- with the same reads as the admin page's review-history download.
CREATE TABLE review_history_definitions (
    id TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    -- The period as the client sent it (UTC); the report covers its days.
    period_start TIMESTAMP NOT NULL,
    period_end TIMESTAMP NOT NULL,
    -- Graph's decision filters asked for (approve, deny, …), one a line.
    decisions TEXT NOT NULL,
    -- The kinds of resource the scopes select (group, application, role), one a line.
    kinds TEXT NOT NULL,
    -- The scopes as the client sent them (a JSON array), to give back as sent.
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- The person's or API client's id; its name and, for a person, UPN as they were then.
    created_by_id TEXT,
    created_by_name TEXT NOT NULL,
    created_by_upn TEXT
);
-- The collection pages by name.
CREATE INDEX review_history_definitions_name ON review_history_definitions (display_name, id);
