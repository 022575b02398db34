DROP TABLE guest_deletions;
