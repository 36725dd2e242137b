-- geo-assets PostGIS schema, version 0005: saved connection plans (geo_assets/plans.py).
-- Pseudonymous, saved only when a practitioner asks. `doc` is the SavedPlan: a reference
-- code, the activities' ids and names, when they meet and the travel time; never the
-- person's origin, interests, needs, age or name. Deleting a plan deletes its row.
-- `seq` orders plans saved within the same second.

CREATE TABLE plans (
    id          text COLLATE "C" PRIMARY KEY,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    owner_id    text COLLATE "C" NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL
);
CREATE INDEX plans_owner_idx ON plans (owner_id, created_at, seq);

-- The audit log also records saving ('create') and deleting ('delete') a plan, by id only.
ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_action_check,
    DROP CONSTRAINT audit_log_entity_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('create', 'update', 'archive', 'bulk_upsert', 'revoke', 'delete')),
    ADD CONSTRAINT audit_log_entity_check
        CHECK (entity IN ('asset', 'organisation', 'user', 'plan'));
