-- Saved plans keep journey times in bands, never to the minute (geo_assets/plans.py): the
-- listings' places are public, and exact times from one home to three of them put that
-- home within metres. Plans saved before keep their activities, dates and quickest way;
-- each one's travel is said again in bands from the minutes it kept, and the minutes go.
-- A time by another way beside a bus or car ("..., or 16 min walk") is not kept. An item
-- with no minutes keeps its travel as it is.

-- rewrites: plans
UPDATE plans SET doc = json_set(doc, '$.items', (
    SELECT json_group_array(json(item)) FROM (
        SELECT CASE WHEN minutes IS NULL THEN json_remove(value, '$.minutes')
               ELSE json_remove(json_set(value, '$.travel',
                   CASE WHEN json_extract(value, '$.travel') LIKE 'about %'
                        THEN 'about ' ELSE '' END
                   || CASE WHEN minutes < 15 THEN 'under 15 min'
                           WHEN minutes < 30 THEN '15–30 min'
                           WHEN minutes < 45 THEN '30–45 min'
                           WHEN minutes < 60 THEN '45–60 min'
                           WHEN minutes < 120 THEN '1–2 hours'
                           ELSE 'over 2 hours' END
                   || ' '
                   || CASE mode WHEN 'walk' THEN 'walk'
                                WHEN 'wheelchair' THEN 'by wheelchair'
                                WHEN 'cycle' THEN 'by bike'
                                WHEN 'car' THEN 'by car'
                                WHEN 'public_transport' THEN 'by bus or train'
                                ELSE mode END),
                   '$.minutes') END AS item
        FROM (SELECT key, value,
                     json_extract(value, '$.minutes') AS minutes,
                     json_extract(value, '$.mode') AS mode
              FROM json_each(plans.doc, '$.items'))
        ORDER BY key)))
WHERE EXISTS (SELECT 1 FROM json_each(plans.doc, '$.items')
              WHERE json_type(value, '$.minutes') IS NOT NULL);
