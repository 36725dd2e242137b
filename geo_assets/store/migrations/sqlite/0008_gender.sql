-- `gender`: a copy of eligibility.gender written by the store with every save
-- (base.FilterColumns), for the `genders` filter of AssetFilters. Rows already stored are
-- filled in from their documents.

ALTER TABLE assets ADD COLUMN gender TEXT NOT NULL DEFAULT 'any';

-- rewrites: assets
UPDATE assets SET gender = json_extract(doc, '$.eligibility.gender')
WHERE coalesce(json_extract(doc, '$.eligibility.gender'), 'any') != 'any';
