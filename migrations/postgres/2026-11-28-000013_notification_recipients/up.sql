-- Additional recipients of a series' completion mail (Entra's additionalNotificationRecipients):
-- user principal names, one per line, checked against the directory when saved.
ALTER TABLE review_definitions ADD COLUMN additional_recipients TEXT NOT NULL DEFAULT '';
