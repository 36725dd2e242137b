-- geo-assets PostGIS schema, version 0008: `gender`, a copy of eligibility.gender written
-- with every save (geo_assets.store.base.FilterColumns), for the `genders` filter of
-- AssetFilters: the matcher asks each candidate pool only for listings a person may go
-- to, women only included. Rows already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN gender text NOT NULL DEFAULT 'any';

-- rewrites: assets
UPDATE assets SET gender = doc -> 'eligibility' ->> 'gender'
WHERE coalesce(doc -> 'eligibility' ->> 'gender', 'any') <> 'any';
