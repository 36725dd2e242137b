-- geo-assets PostGIS schema, version 0011: `with_carers`, a copy of
-- eligibility.with_carers (the ages are the children's; the parents or carers who bring
-- them join in), written with every save (geo_assets.store.base.FilterColumns), so the
-- age filter of AssetFilters lets grown-ups into parent and toddler groups. No stored
-- document can have it yet: the field is new with this version.

ALTER TABLE assets ADD COLUMN with_carers boolean NOT NULL DEFAULT false;
