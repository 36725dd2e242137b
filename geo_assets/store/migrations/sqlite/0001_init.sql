-- Embedded store schema: one row per record with the full JSON document in `doc`,
-- plus the columns queries filter and sort on. The side tables (R*Tree, FTS5,
-- categories) share the asset's rid and are written by the store in the same
-- transaction as the asset (geo_assets/store/sqlite_rows.py, save_assets). Not by
-- triggers: a trigger makes SQLite keep a statement journal per row, which
-- made bulk loads about three times slower.

CREATE TABLE organisations (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,          -- base.sort_name(name), compared bytewise
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,         -- UTC, fixed-width ISO text, sorts as time
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL                 -- Organisation.model_dump_json()
);
CREATE INDEX organisations_sort_idx ON organisations (sort_name, id);

CREATE TABLE assets (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    lat REAL NOT NULL,                -- degrees, WGS84
    lon REAL NOT NULL,                -- degrees, WGS84
    organisation_id TEXT REFERENCES organisations (id),
    source TEXT,
    source_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,                -- Asset.model_dump_json()
    UNIQUE (source, source_id)
);
CREATE INDEX assets_sort_idx ON assets (sort_name, id);
CREATE INDEX assets_kind_idx ON assets (kind);
CREATE INDEX assets_status_idx ON assets (status);
CREATE INDEX assets_organisation_idx ON assets (organisation_id);
CREATE INDEX assets_updated_idx ON assets (updated_at);

-- One row per (asset, category id) for the category filter.
CREATE TABLE asset_categories (
    asset_rid INTEGER NOT NULL REFERENCES assets (rid) ON DELETE CASCADE,
    category TEXT NOT NULL,
    PRIMARY KEY (asset_rid, category)
) WITHOUT ROWID;
CREATE INDEX asset_categories_category_idx ON asset_categories (category, asset_rid);

-- Points as degenerate boxes; rid = assets.rid. Stored as 32-bit floats, so
-- it is a prefilter only: exact tests use assets.lat/lon.
CREATE VIRTUAL TABLE asset_rtree USING rtree (rid, min_lon, max_lon, min_lat, max_lat);

-- Word-prefix text search; rowid = assets.rid. `words` holds the name and
-- description already split and case-folded exactly as AssetFilters.text_terms()
-- splits a query (so "Straße" matches "strasse" and "café" does not match "cafe").
-- The table keeps its own copy of the text so a row can be removed by rowid alone.
CREATE VIRTUAL TABLE asset_fts USING fts5 (
    words,
    tokenize = 'unicode61 remove_diacritics 0'
);
