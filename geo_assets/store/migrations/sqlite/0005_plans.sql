-- Saved connection plans (geo_assets/plans.py): pseudonymous, saved only when a
-- practitioner asks. `doc` is the SavedPlan as JSON: a reference code, the activities'
-- ids and names, when they meet and the travel time; never the person's origin,
-- interests, needs, age or name. Deleting a plan deletes its row.
-- `rid` orders plans saved within the same second.

CREATE TABLE plans (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,         -- UTC, fixed-width ISO text
    doc TEXT NOT NULL
);
CREATE INDEX plans_owner_idx ON plans (owner_id, created_at, rid);

-- The audit log also records saving ('create') and deleting ('delete') a plan, by id
-- only. SQLite cannot change a CHECK constraint in place: the table is rebuilt, keeping
-- every row and its seq.
CREATE TABLE audit_log_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL
        CHECK (action IN ('create', 'update', 'archive', 'bulk_upsert', 'revoke', 'delete')),
    entity TEXT NOT NULL CHECK (entity IN ('asset', 'organisation', 'user', 'plan')),
    entity_id TEXT,
    changes TEXT NOT NULL
);
INSERT INTO audit_log_new (seq, at, actor, action, entity, entity_id, changes)
    SELECT seq, at, actor, action, entity, entity_id, changes FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_entity_idx ON audit_log (entity_id, seq);
