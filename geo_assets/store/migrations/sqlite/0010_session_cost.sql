-- `session_cost`: what one session costs (model.Cost.per_session; NULL when not stated),
-- written by the store with every save (base.FilterColumns), for the `max_session_cost`
-- filter of AssetFilters. Rows already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN session_cost REAL;

-- rewrites: assets
UPDATE assets SET session_cost = CAST(json_extract(doc, '$.cost.amount') AS REAL) / (
    CASE coalesce(json_extract(doc, '$.cost.per'), 'session')
        WHEN 'week' THEN 1.0 WHEN 'month' THEN 4.0 WHEN 'year' THEN 40.0
        WHEN 'course' THEN 8.0 ELSE 1.0 END)
WHERE json_extract(doc, '$.cost.amount') IS NOT NULL;
