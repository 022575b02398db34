-- SCIM: userName is unique whatever its case (RFC 7643 §4.1.1), across the whole directory
-- (it is the sign-in name). The index also answers the `userName eq "…"` look-up that
-- provisioning clients send before every create, and decides between two clients that
-- create the same user at once.
CREATE UNIQUE INDEX users_upn_folded ON users (lower(upn));
-- `displayName eq "…"` of a source's groups (Entra looks groups up by name).
CREATE INDEX groups_source_name_folded ON groups (source_id, lower(display_name));
