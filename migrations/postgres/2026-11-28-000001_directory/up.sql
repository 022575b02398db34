-- The directory that access reviews are about: users, groups, applications, roles and
-- sign-in events, mirroring Entra ID's objects. IDs are UUIDs as text; times are UTC.

CREATE TABLE settings (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    upn TEXT NOT NULL,
    display_name TEXT NOT NULL,
    mail TEXT,
    user_type TEXT NOT NULL CHECK (user_type IN ('Member', 'Guest')),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    manager_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    department TEXT,
    job_title TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_upn ON users (upn);
-- Keyset paging of lists ordered by name.
CREATE INDEX users_name ON users (display_name, id);
CREATE INDEX users_manager ON users (manager_id);

CREATE TABLE groups (
    id TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL,
    description TEXT,
    group_type TEXT NOT NULL CHECK (group_type IN ('Security', 'Microsoft365')),
    membership_rule TEXT,
    on_premises_sync BOOLEAN NOT NULL DEFAULT FALSE,
    mail_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX groups_name ON groups (display_name, id);

CREATE TABLE group_owners (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_owners_user ON group_owners (user_id);

-- Direct membership of a user. For a dynamic group these rows are the rule's result.
CREATE TABLE group_member_users (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_member_users_user ON group_member_users (user_id, group_id);

-- Direct membership of a group in a group (nesting).
CREATE TABLE group_member_groups (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_group_id),
    CHECK (group_id <> member_group_id)
);
CREATE INDEX group_member_groups_member ON group_member_groups (member_group_id, group_id);

CREATE TABLE applications (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    assignment_required BOOLEAN NOT NULL DEFAULT TRUE,
    homepage TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX applications_app_id ON applications (app_id);
CREATE INDEX applications_name ON applications (display_name, id);

CREATE TABLE app_owners (
    app_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_owners_user ON app_owners (user_id);

CREATE TABLE app_user_assignments (
    app_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_user_assignments_user ON app_user_assignments (user_id, app_id);

CREATE TABLE app_group_assignments (
    app_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    app_role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, group_id)
);
CREATE INDEX app_group_assignments_group ON app_group_assignments (group_id, app_id);

CREATE TABLE role_definitions (
    id TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    role_kind TEXT NOT NULL CHECK (role_kind IN ('Directory', 'Resource')),
    privileged BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX role_definitions_name ON role_definitions (display_name, id);

CREATE TABLE role_assignments (
    id TEXT NOT NULL PRIMARY KEY,
    role_id TEXT NOT NULL REFERENCES role_definitions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- "/" for the directory; an Azure resource path for resource roles.
    scope TEXT NOT NULL,
    scope_name TEXT NOT NULL,
    assignment_type TEXT NOT NULL CHECK (assignment_type IN ('Active', 'Eligible')),
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP
);
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (role_id, user_id, scope, assignment_type);
CREATE INDEX role_assignments_user ON role_assignments (user_id);

-- An event log: like Entra's sign-in logs it outlives the users and apps it names, so it
-- has no foreign keys (which also keeps ingesting millions of events fast).
CREATE TABLE sign_ins (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL,
    app_id TEXT,
    signed_in_at TIMESTAMP NOT NULL
);
-- "Last sign-in of U" and "last sign-in of U to A" are index look-ups, never scans.
CREATE INDEX sign_ins_user_time ON sign_ins (user_id, signed_in_at);
CREATE INDEX sign_ins_user_app_time ON sign_ins (user_id, app_id, signed_in_at);
