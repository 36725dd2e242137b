-- geo-assets PostGIS schema, version 0010: `session_cost`, what one session costs
-- (model.Cost.per_session: the amount over the sessions in its period; NULL when not
-- stated), written with every save (base.FilterColumns), for the `max_session_cost`
-- filter of AssetFilters: the matcher asks each candidate pool only for listings within
-- a person's budget. Rows already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN session_cost double precision;

-- rewrites: assets
UPDATE assets SET session_cost = (doc -> 'cost' ->> 'amount')::double precision / (
    CASE coalesce(doc -> 'cost' ->> 'per', 'session')
        WHEN 'week' THEN 1.0 WHEN 'month' THEN 4.0 WHEN 'year' THEN 40.0
        WHEN 'course' THEN 8.0 ELSE 1.0 END)::double precision
WHERE doc -> 'cost' ->> 'amount' IS NOT NULL;

ANALYZE assets;
