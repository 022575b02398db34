-- The create-review form finds groups and people by the start of their name (or UPN),
-- whatever its case: an index seek to the first match instead of a scan of the directory.
-- SQLite compares text bytewise (BINARY), so a range on lower(...) is a prefix match.
CREATE INDEX users_name_prefix ON users (lower(display_name), id);
CREATE INDEX users_upn_prefix ON users (lower(upn), id);
CREATE INDEX groups_name_prefix ON groups (lower(display_name), id);
