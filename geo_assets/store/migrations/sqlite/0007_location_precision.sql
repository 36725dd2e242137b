-- `location_precision`: a copy of location.precision written by the store with every
-- save (base.FilterColumns), for the `precisions` filter of AssetFilters. Rows already
-- stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN location_precision TEXT NOT NULL DEFAULT 'point';

-- rewrites: assets
UPDATE assets SET location_precision = json_extract(doc, '$.location.precision')
WHERE coalesce(json_extract(doc, '$.location.precision'), 'point') != 'point';

-- Listings whose point is only a centre are few: a radius query for them alone reads them
-- through this index instead of every listing in the R*Tree box (sqlite._box_from).
CREATE INDEX IF NOT EXISTS assets_rough_idx ON assets (location_precision)
    WHERE location_precision != 'point';
