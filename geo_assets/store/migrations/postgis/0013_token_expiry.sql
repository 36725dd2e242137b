-- geo-assets PostGIS schema, version 0013: a token may expire (`expires_at`, NULL: never).
-- The web pages' sign-in gives each browser a token of its own that lasts as long as its
-- session cookie and is revoked at sign-out, rather than keeping the user's long-lived
-- API token in the cookie; expired ones are deleted by the retention task.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
CREATE INDEX tokens_expiry_idx ON tokens (expires_at) WHERE expires_at IS NOT NULL;
