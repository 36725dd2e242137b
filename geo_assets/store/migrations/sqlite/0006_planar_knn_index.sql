-- geo-assets SQLite schema, version 0006: nothing to change. The PostGIS store adds a
-- planar index for its nearest-first walk; the R*Tree already is one. Kept so both
-- stores carry the same schema versions.
SELECT 1;
