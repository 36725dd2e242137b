-- `access_mask`: the access features of each listing as bits (base.ACCESS_BITS), written
-- by the store with every save (base.FilterColumns), for the `access_needs` filter of
-- AssetFilters. Rows already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN access_mask INTEGER NOT NULL DEFAULT 0;

-- rewrites: assets
UPDATE assets SET access_mask = (
    SELECT coalesce(sum(DISTINCT
        CASE j.value WHEN 'wheelchair' THEN 1 WHEN 'step_free' THEN 2 WHEN
        'accessible_toilet' THEN 4 WHEN 'changing_places' THEN 8 WHEN 'hearing_loop' THEN
        16 WHEN 'bsl' THEN 32 WHEN 'quiet_space' THEN 64 WHEN 'large_print' THEN 128 WHEN
        'easy_read' THEN 256 WHEN 'parking' THEN 512 WHEN 'assistance_dogs' THEN 1024 ELSE
        0 END
    ), 0)
    FROM json_each(assets.doc, '$.accessibility.features') AS j
)
WHERE json_array_length(doc, '$.accessibility.features') > 0;
