-- The geocoder's lookup tables (geo_assets/store/gazetteer.py): postal codes and a
-- gazetteer of places and landmarks. Plain tables, filled by `geo-assets import
-- postcodes|places` and `geo-assets sample load`; no foreign keys to assets.

-- Codes as geo_assets.store.gazetteer.normalise_postcode() writes them ("BD7 1AA").
CREATE TABLE postcodes (
    postcode TEXT PRIMARY KEY,
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),      -- degrees, WGS84
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180)     -- degrees, WGS84
) WITHOUT ROWID;

-- `norm_name` is normalise_place_name(name), compared bytewise; the unique key doubles
-- as the prefix index for searches and makes re-imports update rather than repeat.
CREATE TABLE places (
    rid INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    norm_name TEXT NOT NULL,
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    kind TEXT NOT NULL,                                    -- city, town, suburb, landmark...
    UNIQUE (norm_name, kind, lat, lon)
);
