-- geo-assets PostGIS schema, version 0002: users, their bearer tokens and the audit log.
-- Tokens keep only the argon2id hash of their secret (geo_assets/auth.py); a token is
-- found by token_id and checked against that hash. Revoking a user sets users.active
-- to false and revoked_at on every one of their tokens, in one transaction.

CREATE TABLE users (
    id               text COLLATE "C" PRIMARY KEY,
    name             text NOT NULL,
    sort_name        text COLLATE "C" NOT NULL,
    role             text NOT NULL
        CHECK (role IN ('practitioner', 'organisation', 'planner', 'admin')),
    organisation_id  text COLLATE "C" REFERENCES organisations (id),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    CHECK ((role = 'organisation') = (organisation_id IS NOT NULL))
);
CREATE INDEX users_sort_idx ON users (sort_name, id);

CREATE TABLE tokens (
    token_id     text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id),
    secret_hash  text NOT NULL,       -- argon2id PHC string; never the secret
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX tokens_user_idx ON tokens (user_id);

-- One row per audited write, written in the write's own transaction. `actor` is a
-- user id (or e.g. `cli:alice`), deliberately without a foreign key. `changes` is json
-- (read back whole, never queried inside).
CREATE TABLE audit_log (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL
        CHECK (action IN ('create', 'update', 'archive', 'bulk_upsert', 'revoke')),
    entity     text NOT NULL CHECK (entity IN ('asset', 'organisation', 'user')),
    entity_id  text COLLATE "C",
    changes    json NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_id, seq);
