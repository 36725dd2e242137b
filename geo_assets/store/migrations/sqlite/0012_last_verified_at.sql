-- `last_verified_at`: a copy of the listing's last confirmation as fixed-width UTC text
-- (sqlite_rows.ts_text; NULL: never confirmed), written by the store with every save
-- (base.FilterColumns), for the `verified_before` filter of AssetFilters, which read it
-- from each stored document before. Rows already stored are filled in from their
-- documents, where pydantic wrote the time in UTC with a "Z" and six digits of fraction
-- only when there is one: a whole second is padded to the fixed width.

ALTER TABLE assets ADD COLUMN last_verified_at TEXT;

-- rewrites: assets
UPDATE assets SET last_verified_at = CASE length(json_extract(doc, '$.last_verified_at'))
    WHEN 20 THEN substr(json_extract(doc, '$.last_verified_at'), 1, 19) || '.000000Z'
    ELSE json_extract(doc, '$.last_verified_at') END
WHERE json_extract(doc, '$.last_verified_at') IS NOT NULL;

-- A directory kept up to date has few stale listings: the index finds them without
-- reading the rest.
CREATE INDEX IF NOT EXISTS assets_verified_idx ON assets (last_verified_at);
