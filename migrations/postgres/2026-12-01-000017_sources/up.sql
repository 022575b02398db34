-- Sources: who owns each directory object. `local` is the built-in source (demo data and
-- objects created in attest); SCIM connections, CSV imports and (later) LDAP connections
-- are named sources. A source changes and deletes only the rows that carry its id.
CREATE TABLE sources (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('Local', 'Scim', 'Csv', 'Ldap')),
    created_at TIMESTAMP NOT NULL,
    -- When the source last changed an object (NULL: never).
    changed_at TIMESTAMP,
    -- Connector settings as JSON (LDAP connections keep theirs here).
    settings TEXT NOT NULL DEFAULT '{}'
);
-- Names are unique whatever their case: `attest import --source HR` and `--source hr` are one source.
CREATE UNIQUE INDEX sources_name ON sources (lower(name));
INSERT INTO sources (id, name, kind, created_at) VALUES ('local', 'local', 'Local', (now() AT TIME ZONE 'UTC'));

-- What went wrong with a source (a refused SCIM request, a failed import), newest last.
CREATE TABLE source_errors (
    id BIGSERIAL PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX source_errors_source ON source_errors (source_id, id);

-- Bearer tokens of push sources (SCIM provisioning, sign-in events). Only a hash is kept.
CREATE TABLE source_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by_name TEXT NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX source_tokens_hash ON source_tokens (token_hash);
CREATE INDEX source_tokens_source ON source_tokens (source_id, created_at);

-- Every directory object records its source. No foreign key (as on SQLite, which cannot add one with
-- a default): the service never deletes a source that still owns objects.
ALTER TABLE users ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN formatted_name TEXT;
ALTER TABLE users ADD COLUMN employee_number TEXT;
ALTER TABLE groups ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE groups ADD COLUMN external_id TEXT;
ALTER TABLE groups ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE group_owners ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE group_member_users ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE group_member_groups ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE applications ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE applications ADD COLUMN external_id TEXT;
ALTER TABLE app_owners ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE app_user_assignments ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE app_group_assignments ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE role_assignments ADD COLUMN source_id TEXT NOT NULL DEFAULT 'local';
-- Sign-in events are keyed so that importing the same events twice changes nothing.
ALTER TABLE sign_ins ADD COLUMN event_key TEXT;

-- A source's objects, its lists in a stable order, and a full sync's "what is no longer there".
CREATE INDEX users_source ON users (source_id, id);
CREATE INDEX users_source_external ON users (source_id, external_id);
CREATE INDEX groups_source ON groups (source_id, id);
CREATE INDEX groups_source_external ON groups (source_id, external_id);
CREATE INDEX applications_source ON applications (source_id, id);
CREATE INDEX group_owners_source ON group_owners (source_id);
CREATE INDEX group_member_users_source ON group_member_users (source_id);
CREATE INDEX group_member_groups_source ON group_member_groups (source_id);
CREATE INDEX app_owners_source ON app_owners (source_id);
CREATE INDEX app_user_assignments_source ON app_user_assignments (source_id);
CREATE INDEX app_group_assignments_source ON app_group_assignments (source_id);
CREATE INDEX role_assignments_source ON role_assignments (source_id);
CREATE UNIQUE INDEX sign_ins_event_key ON sign_ins (event_key) WHERE event_key IS NOT NULL;

-- SCIM's emails (several per user, typed); `users.mail` keeps the primary (or first work) one.
CREATE TABLE user_emails (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    kind TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_value ON user_emails (lower(value));

-- A removal that the owning source must make (SCIM, CSV): open until a later sync of that
-- source shows the access gone.
CREATE TABLE remediation_tasks (
    item_id TEXT NOT NULL PRIMARY KEY REFERENCES review_decision_items (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    removed_at_source_at TIMESTAMP
);
CREATE INDEX remediation_tasks_instance ON remediation_tasks (instance_id, item_id);
CREATE INDEX remediation_tasks_open ON remediation_tasks (source_id, removed_at_source_at);
