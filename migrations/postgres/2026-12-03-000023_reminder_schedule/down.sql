ALTER TABLE review_definitions ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE review_definitions SET reminders = (reminder_schedule <> '');
ALTER TABLE review_definitions DROP COLUMN reminder_schedule;

ALTER TABLE reminder_rounds DROP CONSTRAINT reminder_rounds_round_check;
DELETE FROM reminder_rounds WHERE round NOT IN ('HalfTime', 'DaysBefore2');
UPDATE reminder_rounds SET round = 'BeforeEnd' WHERE round = 'DaysBefore2';
ALTER TABLE reminder_rounds ADD CONSTRAINT reminder_rounds_round_check CHECK (round IN ('HalfTime', 'BeforeEnd'));
