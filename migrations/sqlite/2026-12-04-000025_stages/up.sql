-- Multi-stage reviews (issue 17, Entra's stageSettings). A series of two or three stages
-- keeps one row per stage here; a series without rows has one stage, described by the
-- series itself. Stage 1's reviewers are the series' own (review_definition_reviewers);
-- later stages' reviewers are kept per stage. `moves` lists the decisions whose items go
-- on to the next stage (comma-separated; the last stage's is empty).
CREATE TABLE review_definition_stages (
    definition_id TEXT NOT NULL REFERENCES review_definitions (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL CHECK (stage BETWEEN 1 AND 3),
    reviewer_kind TEXT NOT NULL CHECK (reviewer_kind IN ('Owners', 'Selected', 'Self', 'Managers')),
    duration_days INTEGER NOT NULL CHECK (duration_days >= 1),
    moves TEXT NOT NULL,
    recommendations_enabled BOOLEAN NOT NULL,
    -- Its reviewers see earlier stages' decisions (Entra's decisionHistoriesForReviewersEnabled,
    -- one setting for the series; off by default).
    decision_histories BOOLEAN NOT NULL,
    PRIMARY KEY (definition_id, stage)
);

CREATE TABLE review_definition_stage_reviewers (
    definition_id TEXT NOT NULL REFERENCES review_definitions (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL CHECK (stage BETWEEN 2 AND 3),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fallback BOOLEAN NOT NULL,
    PRIMARY KEY (definition_id, stage, user_id, fallback)
);

-- The stage an instance is in, of how many. Each item is in the stage it was last open in:
-- an item whose decision does not move stays behind, its decision final.
ALTER TABLE review_instances ADD COLUMN stage INTEGER NOT NULL DEFAULT 1;
ALTER TABLE review_instances ADD COLUMN stage_count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE review_decision_items ADD COLUMN stage INTEGER NOT NULL DEFAULT 1;

-- The stages of a multi-stage instance, planned at its start: each one's window (a stage
-- stopped early ends when it was stopped, and the next starts then), who reviews it and
-- what moves on from it.
CREATE TABLE review_instance_stages (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL CHECK (stage BETWEEN 1 AND 3),
    reviewer_kind TEXT NOT NULL CHECK (reviewer_kind IN ('Owners', 'Selected', 'Self', 'Managers')),
    moves TEXT NOT NULL,
    recommendations_enabled BOOLEAN NOT NULL,
    decision_histories BOOLEAN NOT NULL,
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    items INTEGER NOT NULL,
    PRIMARY KEY (instance_id, stage)
);

-- Each stage's decision on each item it reviewed, written when the stage ends: the
-- decision histories reviewers see, the results export's column per stage, and evidence.
CREATE TABLE review_stage_decisions (
    item_id TEXT NOT NULL REFERENCES review_decision_items (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    decision TEXT NOT NULL,
    justification TEXT NOT NULL,
    reviewed_by TEXT,
    reviewed_at TIMESTAMP,
    PRIMARY KEY (item_id, stage)
);
CREATE INDEX review_stage_decisions_instance ON review_stage_decisions (instance_id, stage);
