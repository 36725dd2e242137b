-- geo-assets SQLite schema, version 0014: what kind a token is, and which token started it.
-- Until now only a web session's token had an end (`expires_at`); an administrator may
-- now give an API token one too, so a session is marked as such (`kind`), along with the
-- token that signed in to start it (`parent_id`): revoking that token ends its sessions.
-- rewrites: tokens
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
ALTER TABLE tokens ADD COLUMN parent_id TEXT;
UPDATE tokens SET kind = 'session' WHERE expires_at IS NOT NULL;
CREATE INDEX tokens_parent_idx ON tokens (parent_id) WHERE parent_id IS NOT NULL;
