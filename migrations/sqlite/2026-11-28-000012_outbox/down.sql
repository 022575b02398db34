DROP TABLE reminder_rounds;
DROP TABLE outbox;
