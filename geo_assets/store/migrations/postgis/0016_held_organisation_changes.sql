-- geo-assets PostGIS schema, version 0016: changes an organisation user proposed to its
-- own organisation's record (name, description, e-mail, phone, web site), held for a
-- moderator as a listing's are (0015): at most one row per organisation, its
-- HeldOrganisationChanges as JSONB, kept with nothing waiting once decided. Ids compare
-- bytewise (COLLATE "C") as the records' own do, so a join on them uses the key's index
-- and ties sort as on SQLite; 0015's held_changes.asset_id is brought into line too.
CREATE TABLE held_organisation_changes (
    organisation_id text COLLATE "C" PRIMARY KEY
        REFERENCES organisations (id) ON DELETE CASCADE,
    proposed_at timestamptz,          -- NULL: nothing waits
    doc jsonb NOT NULL
);
CREATE INDEX held_organisation_changes_age_idx
    ON held_organisation_changes (proposed_at, organisation_id)
    WHERE proposed_at IS NOT NULL;

ALTER TABLE held_changes ALTER COLUMN asset_id TYPE text COLLATE "C";
