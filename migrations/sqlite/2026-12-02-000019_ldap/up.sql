-- LDAP and Active Directory connections: when a source last tried to sync and when it last
-- synced without error (the connection's page shows both, and the scheduler's interval
-- counts from the attempt); removals applied in LDAP that someone granted again.
ALTER TABLE sources ADD COLUMN sync_attempted_at TIMESTAMP;
ALTER TABLE sources ADD COLUMN synced_at TIMESTAMP;
ALTER TABLE remediation_tasks ADD COLUMN regranted_at TIMESTAMP;
