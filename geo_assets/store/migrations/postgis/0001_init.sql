-- geo-assets PostGIS schema, version 0001.
-- The full documents live in `doc` (Asset/Organisation.model_dump(mode="json")); the other
-- columns are copies of the fields that queries filter or sort on. `doc` is `json`, not
-- `jsonb`: it is only ever read back whole, and json keeps the text as written, so reads
-- and bulk loads skip jsonb's parse and re-serialisation (measured at about a third of
-- the cost of a bulk load and of a 500-row radius query).
-- Ids and sort names use COLLATE "C" so ordering is byte order, as in SQLite.
-- Needs the postgis extension (created by PostGISStore.upgrade()).

CREATE TABLE organisations (
    id          text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    sort_name   text COLLATE "C" NOT NULL,
    status      text NOT NULL,
    source      text,
    source_id   text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    doc         json NOT NULL
);

CREATE INDEX organisations_sort_idx ON organisations (sort_name, id);

CREATE TABLE assets (
    id               text COLLATE "C" PRIMARY KEY,
    organisation_id  text COLLATE "C" REFERENCES organisations (id),
    kind             text NOT NULL,
    status           text NOT NULL,
    name             text NOT NULL,
    sort_name        text COLLATE "C" NOT NULL,
    categories       text[] NOT NULL,
    source           text,
    source_id        text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          integer NOT NULL CHECK (version >= 1),
    -- WGS84 point; distances on geography are geodesic metres on the spheroid.
    geog             geography(Point, 4326) NOT NULL,
    -- Words of name + description, lower-cased and split as AssetFilters.text_terms() splits
    -- a query (the store tokenises in Python), so prefix queries match SQLite FTS5's answers.
    search           tsvector NOT NULL,
    doc              json NOT NULL,
    CONSTRAINT assets_source_key UNIQUE (source, source_id)
);

-- Serves both radius (nearby) and box (within) queries; each GiST index costs bulk loads
-- about a fifth of their time, so there is no second, planar one.
CREATE INDEX assets_geog_idx ON assets USING gist (geog);
CREATE INDEX assets_categories_idx ON assets USING gin (categories);
CREATE INDEX assets_search_idx ON assets USING gin (search);
CREATE INDEX assets_sort_idx ON assets (sort_name, id);
CREATE INDEX assets_updated_idx ON assets (updated_at);
CREATE INDEX assets_organisation_idx ON assets (organisation_id)
    WHERE organisation_id IS NOT NULL;
