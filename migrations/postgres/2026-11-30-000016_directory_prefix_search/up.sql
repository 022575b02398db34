-- The create-review form finds groups and people by the start of their name (or UPN),
-- whatever its case: an index seek to the first match instead of a scan of the directory.
-- The "C" collation compares bytes, so a range on lower(...) is exactly a prefix match
-- (the database's own collation may order "a-b" between "ab" and "ac").
CREATE INDEX users_name_prefix ON users ((lower(display_name) COLLATE "C"), id);
CREATE INDEX users_upn_prefix ON users ((lower(upn) COLLATE "C"), id);
CREATE INDEX groups_name_prefix ON groups ((lower(display_name) COLLATE "C"), id);
