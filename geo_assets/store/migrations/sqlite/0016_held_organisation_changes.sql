-- Changes an organisation user proposed to its own organisation's record (name,
-- description, e-mail, phone, web site), held for a moderator as a listing's are (0015):
-- at most one row per organisation, its HeldOrganisationChanges as JSON, kept with
-- nothing waiting once decided.
CREATE TABLE held_organisation_changes (
    organisation_id TEXT PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    proposed_at TEXT,                 -- UTC, fixed-width ISO text; NULL: nothing waits
    doc TEXT NOT NULL
);
CREATE INDEX held_organisation_changes_age_idx
    ON held_organisation_changes (proposed_at, organisation_id)
    WHERE proposed_at IS NOT NULL;
