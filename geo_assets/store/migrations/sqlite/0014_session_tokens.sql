-- geo-assets SQLite schema, version 0014: what kind a token is, and which token started it.
-- A web session's token has an end (`expires_at`), and so may an API token an
-- administrator made with `--expires-days`; a session is now marked as such (`kind`),
-- along with the token that signed in to start it (`parent_id`): revoking that token ends
-- its sessions. A session lasts 12 hours and such an API token at least a day, which
-- tells the existing ones apart.
-- rewrites: tokens
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
ALTER TABLE tokens ADD COLUMN parent_id TEXT;
UPDATE tokens SET kind = 'session'
    WHERE expires_at IS NOT NULL AND julianday(expires_at) - julianday(created_at) < 1;
CREATE INDEX tokens_parent_idx ON tokens (parent_id) WHERE parent_id IS NOT NULL;
