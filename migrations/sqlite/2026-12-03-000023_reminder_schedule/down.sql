ALTER TABLE review_definitions ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE review_definitions SET reminders = (reminder_schedule <> '');
ALTER TABLE review_definitions DROP COLUMN reminder_schedule;

CREATE TABLE reminder_rounds_old (
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    round TEXT NOT NULL CHECK (round IN ('HalfTime', 'BeforeEnd')),
    at TIMESTAMP NOT NULL,
    recipients INTEGER NOT NULL,
    PRIMARY KEY (instance_id, round)
);
INSERT INTO reminder_rounds_old (instance_id, round, at, recipients)
SELECT instance_id, CASE round WHEN 'DaysBefore2' THEN 'BeforeEnd' ELSE round END, at, recipients
FROM reminder_rounds WHERE round IN ('HalfTime', 'DaysBefore2');
DROP TABLE reminder_rounds;
ALTER TABLE reminder_rounds_old RENAME TO reminder_rounds;
