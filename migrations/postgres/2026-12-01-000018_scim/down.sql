DROP INDEX groups_source_name_folded;
DROP INDEX users_upn_folded;
