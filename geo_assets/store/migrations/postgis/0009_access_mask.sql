-- geo-assets PostGIS schema, version 0009: `access_mask`, the access features of each
-- listing as bits (geo_assets.store.base.ACCESS_BITS), written with every save
-- (base.FilterColumns), for the `access_needs` filter of AssetFilters: the matcher asks
-- each candidate pool only for listings that meet a person's access needs (BSL, easy
-- read...). Rows already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN access_mask integer NOT NULL DEFAULT 0;

-- rewrites: assets
UPDATE assets SET access_mask = (
    SELECT coalesce(sum(DISTINCT
        CASE f WHEN 'wheelchair' THEN 1 WHEN 'step_free' THEN 2 WHEN 'accessible_toilet'
        THEN 4 WHEN 'changing_places' THEN 8 WHEN 'hearing_loop' THEN 16 WHEN 'bsl' THEN 32
        WHEN 'quiet_space' THEN 64 WHEN 'large_print' THEN 128 WHEN 'easy_read' THEN 256
        WHEN 'parking' THEN 512 WHEN 'assistance_dogs' THEN 1024 ELSE 0 END
    ), 0)
    FROM json_array_elements_text(doc -> 'accessibility' -> 'features') AS f
)
WHERE json_array_length(doc -> 'accessibility' -> 'features') > 0;

-- The plan choice reads the new columns' statistics (geo_assets.store.postgis_sql
-- .kept_share); gather them now rather than at autovacuum's next visit.
ANALYZE assets;
