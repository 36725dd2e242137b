-- geo-assets PostGIS schema, version 0012: `last_verified_at`, a copy of the listing's
-- last confirmation (NULL: never confirmed), written with every save
-- (geo_assets.store.base.FilterColumns), for the `verified_before` filter of AssetFilters.
-- The filter read it from each stored document before: on 100,000 listings the admin's
-- short list of stale listings took 0.87 s, most of it spent parsing documents. Rows
-- already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN last_verified_at timestamptz;

-- rewrites: assets
UPDATE assets SET last_verified_at = (doc ->> 'last_verified_at')::timestamptz
WHERE doc ->> 'last_verified_at' IS NOT NULL;

-- A directory kept up to date has few stale listings: the index finds them without
-- reading the rest.
CREATE INDEX IF NOT EXISTS assets_verified_idx ON assets (last_verified_at);
