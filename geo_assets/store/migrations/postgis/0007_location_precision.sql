-- geo-assets PostGIS schema, version 0007: `location_precision`, a copy of
-- location.precision written with every save (geo_assets.store.base.FilterColumns), for
-- the `precisions` filter of AssetFilters.
-- Listings whose point is only a postcode's or an area's centre are few, and the
-- duplicate check on every save looks for them kilometres round; a GiST index of their
-- points alone answers that without reading every listing in the circle. Rows already
-- stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN location_precision text NOT NULL DEFAULT 'point';

-- rewrites: assets
UPDATE assets SET location_precision = doc -> 'location' ->> 'precision'
WHERE coalesce(doc -> 'location' ->> 'precision', 'point') <> 'point';

CREATE INDEX IF NOT EXISTS assets_rough_geog_idx ON assets USING gist (geog)
    WHERE location_precision <> 'point';
