ALTER TABLE remediation_tasks DROP COLUMN regranted_at;
ALTER TABLE sources DROP COLUMN synced_at;
ALTER TABLE sources DROP COLUMN sync_attempted_at;
