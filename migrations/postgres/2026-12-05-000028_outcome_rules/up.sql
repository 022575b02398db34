-- Outcome rules (issue 17): how several reviewers' decisions on one item make its outcome,
-- per stage of a series (stage 1 for a one-stage series): the last decision wins (the
-- default, kept by having no row), any deny denies, or all must approve.
CREATE TABLE review_definition_outcomes (
    definition_id TEXT NOT NULL REFERENCES review_definitions (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL CHECK (stage BETWEEN 1 AND 3),
    rule TEXT NOT NULL CHECK (rule IN ('LastDecisionWins', 'AnyDenyDenies', 'AllMustApprove')),
    PRIMARY KEY (definition_id, stage)
);

-- The rule of the stage an instance is in, fixed when the instance (or the stage) starts:
-- a series edited meanwhile does not change how decisions already made count.
ALTER TABLE review_instances ADD COLUMN outcome_rule TEXT NOT NULL DEFAULT 'LastDecisionWins'
    CHECK (outcome_rule IN ('LastDecisionWins', 'AnyDenyDenies', 'AllMustApprove'));

-- Under a rule other than the last-wins one, each reviewer's own decision on an item in a
-- stage (`seat`: the reviewer, or whom a delegate decided for; `decided_by`: who clicked).
-- The item's decision is the outcome.
CREATE TABLE review_item_votes (
    item_id TEXT NOT NULL REFERENCES review_decision_items (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL,
    seat TEXT NOT NULL,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    decision TEXT NOT NULL CHECK (decision IN ('Approve', 'Deny', 'DontKnow')),
    justification TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, stage, seat)
);
CREATE INDEX review_item_votes_instance ON review_item_votes (instance_id, stage);
