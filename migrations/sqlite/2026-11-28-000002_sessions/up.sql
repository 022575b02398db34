-- Signed-in sessions. The browser holds an encrypted cookie naming a session id; the row
-- here makes sign-out and idle expiry real on the server (a copied cookie stops working).
CREATE TABLE web_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen_at);
