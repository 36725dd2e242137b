-- Users, their bearer tokens and the audit log of writes (issue 4).
-- Tokens keep only the argon2id hash of their secret (geo_assets/auth.py); a token is
-- found by token_id and checked against that hash. Revoking a user sets users.active
-- to 0 and revoked_at on every one of their tokens, in one transaction.

CREATE TABLE users (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,          -- base.sort_name(name), compared bytewise
    role TEXT NOT NULL CHECK (role IN ('practitioner', 'organisation', 'planner', 'admin')),
    organisation_id TEXT REFERENCES organisations (id),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,         -- UTC, fixed-width ISO text
    revoked_at TEXT,
    CHECK ((role = 'organisation') = (organisation_id IS NOT NULL))
);
CREATE INDEX users_sort_idx ON users (sort_name, id);

CREATE TABLE tokens (
    token_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    secret_hash TEXT NOT NULL,        -- argon2id PHC string; never the secret
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_user_idx ON tokens (user_id);

-- One row per audited write, written in the write's own transaction. `actor` is a
-- user id (or e.g. `cli:alice`), deliberately without a foreign key; `changes` is JSON.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL
        CHECK (action IN ('create', 'update', 'archive', 'bulk_upsert', 'revoke')),
    entity TEXT NOT NULL CHECK (entity IN ('asset', 'organisation', 'user')),
    entity_id TEXT,
    changes TEXT NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_id, seq);
