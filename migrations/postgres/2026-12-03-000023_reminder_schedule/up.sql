-- When a series reminds its reviewers who have not finished: at half-time and/or on chosen
-- days before the end ("HalfTime,7,3,1"), or never (empty). It replaces the on/off
-- `reminders`: series made before keep Entra's fixed rounds (half-time and two days before
-- the end), whose second round is now named by its days.
ALTER TABLE review_definitions ADD COLUMN reminder_schedule TEXT NOT NULL DEFAULT '';
UPDATE review_definitions SET reminder_schedule = CASE WHEN reminders THEN 'HalfTime,2' ELSE '' END;
ALTER TABLE review_definitions DROP COLUMN reminders;

-- A round is half-time or a number of days before the end.
ALTER TABLE reminder_rounds DROP CONSTRAINT reminder_rounds_round_check;
UPDATE reminder_rounds SET round = 'DaysBefore2' WHERE round = 'BeforeEnd';
ALTER TABLE reminder_rounds ADD CONSTRAINT reminder_rounds_round_check
    CHECK (round = 'HalfTime' OR round ~ '^DaysBefore[1-9][0-9]*$');
