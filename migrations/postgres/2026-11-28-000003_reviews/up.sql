-- Access reviews: series (definitions) and their resources and named reviewers; instances
-- (one per occurrence and resource) with the reviewers snapshotted at start; decision items
-- (one per principal and instance, with the access path and recommendation fixed at start);
-- and the append-only, hash-chained audit trail.

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_id);
CREATE INDEX audit_events_target ON audit_events (target_id);

CREATE TABLE review_definitions (
    id TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL,
    description_for_reviewers TEXT NOT NULL,
    description_for_admins TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('Groups', 'GuestGroups', 'Applications', 'DirectoryRoles', 'ResourceRoles')),
    role_assignment_types TEXT CHECK (role_assignment_types IN ('Active', 'Eligible', 'Both')),
    resource_scope TEXT,
    user_scope TEXT NOT NULL CHECK (user_scope IN ('All', 'Guests', 'Inactive')),
    inactive_days INTEGER,
    reviewer_kind TEXT NOT NULL CHECK (reviewer_kind IN ('Owners', 'Selected', 'Self', 'Managers')),
    start_date DATE NOT NULL,
    frequency TEXT NOT NULL CHECK (frequency IN ('OneTime', 'Weekly', 'Monthly', 'Quarterly', 'SemiAnnually', 'Annually')),
    duration_days INTEGER NOT NULL,
    end_kind TEXT NOT NULL CHECK (end_kind IN ('Never', 'OnDate', 'AfterOccurrences')),
    end_date DATE,
    occurrences INTEGER,
    auto_apply BOOLEAN NOT NULL,
    default_decision TEXT NOT NULL CHECK (default_decision IN ('None', 'Approve', 'Deny', 'Recommendation')),
    guest_denied_action TEXT NOT NULL CHECK (guest_denied_action IN ('RemoveAccess', 'BlockThenDelete')),
    recommendations_enabled BOOLEAN NOT NULL,
    lookback_days INTEGER NOT NULL,
    justification_required BOOLEAN NOT NULL,
    mail_notifications BOOLEAN NOT NULL,
    reminders BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Active', 'Completed', 'Deleted')),
    -- The scheduler's place in the series: the next occurrence to create and when.
    next_occurrence INTEGER NOT NULL,
    next_start_at TIMESTAMP,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX review_definitions_due ON review_definitions (status, next_start_at);
CREATE INDEX review_definitions_name ON review_definitions (display_name, id);

-- The groups, applications or roles a definition reviews (or, for all-guest-groups
-- reviews, excludes).
CREATE TABLE review_definition_resources (
    definition_id TEXT NOT NULL REFERENCES review_definitions (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL CHECK (resource_type IN ('Group', 'Application', 'Role')),
    resource_id TEXT NOT NULL,
    excluded BOOLEAN NOT NULL,
    PRIMARY KEY (definition_id, resource_type, resource_id)
);

CREATE TABLE review_definition_reviewers (
    definition_id TEXT NOT NULL REFERENCES review_definitions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fallback BOOLEAN NOT NULL,
    PRIMARY KEY (definition_id, user_id, fallback)
);

CREATE TABLE review_instances (
    id TEXT NOT NULL PRIMARY KEY,
    definition_id TEXT NOT NULL REFERENCES review_definitions (id),
    occurrence INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_scope TEXT,
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('NotStarted', 'InProgress', 'Completed', 'Applying', 'Applied')),
    -- Counters kept in the same transaction as decisions: pages never count 100k rows.
    total_items INTEGER NOT NULL,
    not_reviewed INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    denied INTEGER NOT NULL,
    dont_know INTEGER NOT NULL,
    recommended_deny INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
-- One instance per occurrence and resource, however many schedulers race.
CREATE UNIQUE INDEX review_instances_once ON review_instances (definition_id, occurrence, resource_type, resource_id);
CREATE INDEX review_instances_due ON review_instances (status, end_at);

CREATE TABLE review_instance_reviewers (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fallback BOOLEAN NOT NULL,
    PRIMARY KEY (instance_id, user_id)
);
CREATE INDEX review_instance_reviewers_user ON review_instance_reviewers (user_id, instance_id);

CREATE TABLE review_decision_items (
    id TEXT NOT NULL PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    principal_upn TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    -- How the principal holds the access: "Direct", "Dynamic rule", "Via A › B", or for
    -- roles "Active" / "Eligible" with the scope; only direct access can be removed.
    access_path TEXT NOT NULL,
    access_direct BOOLEAN NOT NULL,
    access_detail TEXT NOT NULL,
    -- The one reviewer of this item for manager and self reviews; NULL: the instance's.
    reviewer_id TEXT,
    last_sign_in TIMESTAMP,
    recommendation TEXT NOT NULL CHECK (recommendation IN ('Approve', 'Deny', 'NoInfoAvailable')),
    recommendation_reason TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('NotReviewed', 'Approve', 'Deny', 'DontKnow')),
    justification TEXT NOT NULL,
    reviewed_by TEXT,
    reviewed_at TIMESTAMP,
    apply_result TEXT NOT NULL,
    apply_detail TEXT NOT NULL,
    applied_by TEXT,
    applied_at TIMESTAMP
);
CREATE UNIQUE INDEX review_decision_items_once ON review_decision_items (instance_id, principal_id);
CREATE INDEX review_decision_items_page ON review_decision_items (instance_id, principal_name, id);
CREATE INDEX review_decision_items_decision ON review_decision_items (instance_id, decision, principal_name, id);
CREATE INDEX review_decision_items_reviewer ON review_decision_items (reviewer_id, instance_id);
