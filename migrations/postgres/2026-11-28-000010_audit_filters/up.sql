-- The audit log filters by action, newest first: one index seek instead of a scan of
-- every event (one is written per decision).
CREATE INDEX audit_events_action ON audit_events (action, id);
