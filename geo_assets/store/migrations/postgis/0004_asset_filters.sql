-- geo-assets PostGIS schema, version 0004: columns for the schedule, age and cost filters
-- of AssetFilters (issue 4), copies of document fields written with every save
-- (geo_assets.store.base.FilterColumns):
--   session_days  bit i set when a session meets on day i (mo = 1, tu = 2, ... su = 64)
--   min_age       eligibility.min_age in years, NULL = no lower bound
--   max_age       eligibility.max_age in years, NULL = no upper bound
--   is_free       cost.amount is 0 (an unstated cost is not free)
-- No indexes: each of these keeps a large share of the rows, so they are checked on the
-- rows the other conditions (GiST, GIN, sort order) already narrowed. Rows already
-- stored are filled in from their documents.

ALTER TABLE assets
    ADD COLUMN session_days integer NOT NULL DEFAULT 0,
    ADD COLUMN min_age integer,
    ADD COLUMN max_age integer,
    ADD COLUMN is_free boolean NOT NULL DEFAULT false;

-- rewrites: assets
UPDATE assets SET
    session_days = coalesce((
        SELECT sum(DISTINCT CASE d
            WHEN 'mo' THEN 1 WHEN 'tu' THEN 2 WHEN 'we' THEN 4 WHEN 'th' THEN 8
            WHEN 'fr' THEN 16 WHEN 'sa' THEN 32 WHEN 'su' THEN 64 ELSE 0 END)
        FROM json_array_elements(doc -> 'sessions') AS s,
             json_array_elements_text(s -> 'weekdays') AS d
    ), 0),
    min_age = (doc -> 'eligibility' ->> 'min_age')::integer,
    max_age = (doc -> 'eligibility' ->> 'max_age')::integer,
    is_free = coalesce((doc -> 'cost' ->> 'amount')::float8 = 0, false);
