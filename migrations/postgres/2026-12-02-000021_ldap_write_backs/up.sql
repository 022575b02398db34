-- How many apply batches have written removals to a source's directory. A sync notes it
-- before reading the directory and writes nothing when it changed meanwhile: its read may
-- predate those removals, and writing it would put them back and flag them as re-granted.
ALTER TABLE sources ADD COLUMN write_backs BIGINT NOT NULL DEFAULT 0;
