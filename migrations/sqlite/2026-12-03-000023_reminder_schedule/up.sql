-- When a series reminds its reviewers who have not finished: at half-time and/or on chosen
-- days before the end ("HalfTime,7,3,1"), or never (empty). It replaces the on/off
-- `reminders`: series made before keep Entra's fixed rounds (half-time and two days before
-- the end), whose second round is now named by its days.
ALTER TABLE review_definitions ADD COLUMN reminder_schedule TEXT NOT NULL DEFAULT '';
UPDATE review_definitions SET reminder_schedule = CASE WHEN reminders THEN 'HalfTime,2' ELSE '' END;
ALTER TABLE review_definitions DROP COLUMN reminders;

-- A round is half-time or a number of days before the end. SQLite cannot change a CHECK
-- constraint in place: the table is copied.
CREATE TABLE reminder_rounds_new (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    round TEXT NOT NULL CHECK (round = 'HalfTime' OR round GLOB 'DaysBefore[1-9]*'),
    at TIMESTAMP NOT NULL,
    recipients INTEGER NOT NULL,
    PRIMARY KEY (instance_id, round)
);
INSERT INTO reminder_rounds_new (instance_id, round, at, recipients)
SELECT instance_id, CASE round WHEN 'BeforeEnd' THEN 'DaysBefore2' ELSE round END, at, recipients
FROM reminder_rounds;
DROP TABLE reminder_rounds;
ALTER TABLE reminder_rounds_new RENAME TO reminder_rounds;
