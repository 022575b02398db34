ALTER TABLE sources DROP COLUMN write_backs;
