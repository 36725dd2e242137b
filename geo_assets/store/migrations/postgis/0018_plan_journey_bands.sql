-- Saved plans keep journey times in bands, never to the minute (geo_assets/plans.py): the
-- listings' places are public, and exact times from one home to three of them put that
-- home within metres. Plans saved before keep their activities, dates and quickest way;
-- each one's travel is said again in bands from the minutes it kept, and the minutes go.
-- A time by another way beside a bus or car ("..., or 16 min walk") is not kept. An item
-- with no minutes keeps its travel as it is.

-- rewrites: plans
UPDATE plans SET doc = jsonb_set(doc, '{items}', (
    SELECT jsonb_agg(
               (value - 'minutes')
               || CASE WHEN value ->> 'minutes' IS NULL THEN '{}'::jsonb
                  ELSE jsonb_build_object('travel',
                      CASE WHEN value ->> 'travel' LIKE 'about %' THEN 'about ' ELSE '' END
                      || CASE WHEN (value ->> 'minutes')::float8 < 15 THEN 'under 15 min'
                              WHEN (value ->> 'minutes')::float8 < 30 THEN '15–30 min'
                              WHEN (value ->> 'minutes')::float8 < 45 THEN '30–45 min'
                              WHEN (value ->> 'minutes')::float8 < 60 THEN '45–60 min'
                              WHEN (value ->> 'minutes')::float8 < 120 THEN '1–2 hours'
                              ELSE 'over 2 hours' END
                      || ' '
                      || CASE value ->> 'mode' WHEN 'walk' THEN 'walk'
                                               WHEN 'wheelchair' THEN 'by wheelchair'
                                               WHEN 'cycle' THEN 'by bike'
                                               WHEN 'car' THEN 'by car'
                                               WHEN 'public_transport' THEN 'by bus or train'
                                               ELSE value ->> 'mode' END) END
               ORDER BY ord)
    FROM jsonb_array_elements(doc -> 'items') WITH ORDINALITY AS items (value, ord)))
WHERE jsonb_path_exists(doc, '$.items[*].minutes');
