-- geo-assets PostGIS schema, version 0014: what kind a token is, and which token started it.
-- A web session's token has an end (`expires_at`), and so may an API token an
-- administrator made with `--expires-days`; a session is now marked as such (`kind`),
-- along with the token that signed in to start it (`parent_id`): revoking that token ends
-- its sessions. A session lasts 12 hours and such an API token about a day or more (a
-- second less, where the clock ticked while it was made): 18 hours tells them apart.
-- rewrites: tokens
ALTER TABLE tokens ADD COLUMN kind text NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
ALTER TABLE tokens ADD COLUMN parent_id text;
UPDATE tokens SET kind = 'session'
    WHERE expires_at IS NOT NULL AND expires_at - created_at < interval '18 hours';
CREATE INDEX tokens_parent_idx ON tokens (parent_id) WHERE parent_id IS NOT NULL;
