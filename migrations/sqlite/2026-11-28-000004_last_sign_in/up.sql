-- Each user's last sign-in to the tenant, kept on the user as Entra keeps signInActivity:
-- starting a review of 100k members then reads it with the population instead of
-- aggregating the sign-in log per user. Recording a sign-in updates it in the same
-- transaction; the backfill covers sign-ins recorded before this column existed.
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP NULL;
UPDATE users SET last_sign_in_at = (SELECT max(s.signed_in_at) FROM sign_ins s WHERE s.user_id = users.id);
