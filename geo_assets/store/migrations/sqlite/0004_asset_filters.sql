-- Columns for the schedule, age and cost filters of AssetFilters (issue 4): copies of
-- document fields, written by the store with every save (base.FilterColumns).
--   session_days  bit i set when a session meets on day i (mo = 1, tu = 2, ... su = 64)
--   min_age       eligibility.min_age in years, NULL = no lower bound
--   max_age       eligibility.max_age in years, NULL = no upper bound
--   is_free       1 when cost.amount is 0 (an unstated cost is not free)
-- Rows already stored are filled in from their documents.

ALTER TABLE assets ADD COLUMN session_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN min_age INTEGER;
ALTER TABLE assets ADD COLUMN max_age INTEGER;
ALTER TABLE assets ADD COLUMN is_free INTEGER NOT NULL DEFAULT 0;

-- rewrites: assets
UPDATE assets SET
    session_days = coalesce((
        SELECT sum(DISTINCT CASE d.value
            WHEN 'mo' THEN 1 WHEN 'tu' THEN 2 WHEN 'we' THEN 4 WHEN 'th' THEN 8
            WHEN 'fr' THEN 16 WHEN 'sa' THEN 32 WHEN 'su' THEN 64 ELSE 0 END)
        FROM json_each(assets.doc, '$.sessions') AS s, json_each(s.value, '$.weekdays') AS d
    ), 0),
    min_age = json_extract(doc, '$.eligibility.min_age'),
    max_age = json_extract(doc, '$.eligibility.max_age'),
    is_free = coalesce(json_extract(doc, '$.cost.amount') = 0, 0);
