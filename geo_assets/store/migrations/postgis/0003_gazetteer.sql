-- The geocoder's lookup tables (geo_assets/store/gazetteer.py): postal codes and a
-- gazetteer of places and landmarks. Plain tables, filled by `geo-assets import
-- postcodes|places` and `geo-assets sample load`; no foreign keys to assets.
-- COLLATE "C": byte order, so prefix searches use the btree indexes as in SQLite.

-- Codes as geo_assets.store.gazetteer.normalise_postcode() writes them ("BD7 1AA").
CREATE TABLE postcodes (
    postcode  text COLLATE "C" PRIMARY KEY,
    lat       double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),    -- degrees, WGS84
    lon       double precision NOT NULL CHECK (lon BETWEEN -180 AND 180)   -- degrees, WGS84
);

-- `norm_name` is normalise_place_name(name); the unique key doubles as the prefix index
-- for searches and makes re-imports update rather than repeat.
CREATE TABLE places (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    norm_name  text COLLATE "C" NOT NULL,
    lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    kind       text NOT NULL,                              -- city, town, suburb, landmark...
    CONSTRAINT places_key UNIQUE (norm_name, kind, lat, lon)
);
