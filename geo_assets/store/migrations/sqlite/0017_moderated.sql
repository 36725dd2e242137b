-- `moderated` (Asset.moderated): a listing a moderator has published stays under review
-- (geo_assets/review.py) even once taken off the directory. The store sets it with every
-- write from now on; listings stored before are marked here when they are published now,
-- have had changes held (only ever on a published listing), or their audit log shows them
-- created or updated as published. A listing published and taken off before any of that
-- was recorded (a bulk load's audit names no listing) stays unmarked.

-- rewrites: assets
UPDATE assets SET doc = json_set(doc, '$.moderated', json('true'))
WHERE coalesce(json_extract(doc, '$.moderated'), 0) = 0
  AND (status = 'published'
       OR id IN (SELECT asset_id FROM held_changes)
       OR id IN (SELECT entity_id FROM audit_log
                 WHERE entity = 'asset'
                   AND ((action = 'create' AND json_extract(changes, '$.status') = 'published')
                        OR (action <> 'create'
                            AND json_extract(changes, '$.status[1]') = 'published'))));
