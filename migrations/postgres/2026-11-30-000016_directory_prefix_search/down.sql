DROP INDEX groups_name_prefix;
DROP INDEX users_upn_prefix;
DROP INDEX users_name_prefix;
