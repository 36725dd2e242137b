-- Changes an organisation proposed to a published listing, held for a moderator
-- (geo_assets/review.py): at most one row per listing, its HeldChanges as JSON.
-- Approving applies them to the listing; approving or rejecting leaves the row with
-- nothing waiting, so the listing's next proposal takes a revision never used before.
CREATE TABLE held_changes (
    asset_id TEXT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    proposed_at TEXT,                 -- UTC, fixed-width ISO text; NULL: nothing waits
    doc TEXT NOT NULL
);
CREATE INDEX held_changes_age_idx ON held_changes (proposed_at, asset_id)
    WHERE proposed_at IS NOT NULL;

-- The audit log records proposing, approving and rejecting them. SQLite cannot change a
-- CHECK constraint in place: the table is rebuilt, keeping every row and its seq.
CREATE TABLE audit_log_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL
        CHECK (action IN ('create', 'update', 'archive', 'bulk_upsert', 'revoke', 'delete',
                          'propose', 'approve', 'reject')),
    entity TEXT NOT NULL CHECK (entity IN ('asset', 'organisation', 'user', 'plan')),
    entity_id TEXT,
    changes TEXT NOT NULL
);
INSERT INTO audit_log_new (seq, at, actor, action, entity, entity_id, changes)
    SELECT seq, at, actor, action, entity, entity_id, changes FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_entity_idx ON audit_log (entity_id, seq);
