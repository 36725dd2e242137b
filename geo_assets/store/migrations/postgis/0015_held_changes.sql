-- geo-assets PostGIS schema, version 0015: changes an organisation proposed to a
-- published listing, held for a moderator (geo_assets/review.py): at most one row per
-- listing, its HeldChanges as JSONB. Approving applies them to the listing; approving
-- or rejecting leaves the row with nothing waiting, so the listing's next proposal takes
-- a revision never used before. The audit log records all three.
CREATE TABLE held_changes (
    asset_id text PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    proposed_at timestamptz,          -- NULL: nothing waits
    doc jsonb NOT NULL
);
CREATE INDEX held_changes_age_idx ON held_changes (proposed_at, asset_id)
    WHERE proposed_at IS NOT NULL;

ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('create', 'update', 'archive', 'bulk_upsert', 'revoke', 'delete',
                          'propose', 'approve', 'reject'));
