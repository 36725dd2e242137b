"""Postcodes and places for the geocoder in the PostGIS store (mixed into PostGISStore).

Tables from migration 0003 (``postgis/0003_gazetteer.sql``); rules shared with SQLite
in :mod:`geo_assets.store.gazetteer`. An upsert streams its rows through COPY into a
temporary table and merges them in the same transaction, so a generator that raises
(a bad row in a file) leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from geo_assets.store.gazetteer import (
    PREFIX_END,
    Place,
    PostcodePoint,
    check_limit,
    normalise_postcode,
    place_rows,
    postcode_rows,
    rank_places,
    search_terms,
    uk_outward_code,
)

T = TypeVar("T")
# Most rows each search step reads before ranking.
_CANDIDATES = 2000
_PLACE_COLUMNS = "name, lat, lon, kind, norm_name"
# `seq` keeps file order so that, of two rows for one key, the later one wins.
_POSTCODE_STAGE = (
    'CREATE TEMP TABLE postcode_stage (seq bigserial, postcode text COLLATE "C",'
    " lat double precision, lon double precision) ON COMMIT DROP"
)
_POSTCODE_MERGE = (
    "INSERT INTO postcodes (postcode, lat, lon)"
    " SELECT DISTINCT ON (postcode) postcode, lat, lon FROM postcode_stage"
    " ORDER BY postcode, seq DESC"
    " ON CONFLICT (postcode) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon"
)
_PLACE_STAGE = (
    'CREATE TEMP TABLE place_stage (seq bigserial, name text, norm_name text COLLATE "C",'
    " lat double precision, lon double precision, kind text) ON COMMIT DROP"
)
_PLACE_MERGE = (
    "INSERT INTO places (name, norm_name, lat, lon, kind)"
    " SELECT DISTINCT ON (norm_name, kind, lat, lon) name, norm_name, lat, lon, kind"
    " FROM place_stage ORDER BY norm_name, kind, lat, lon, seq DESC"
    " ON CONFLICT (norm_name, kind, lat, lon) DO UPDATE SET name = EXCLUDED.name"
)


def _places(rows: Iterable[tuple[Any, ...]]) -> list[Place]:
    return [Place(name, lat, lon, kind, norm) for name, lat, lon, kind, norm in rows]


class PostGISGazetteer:
    """The postcode/place part of :class:`~geo_assets.store.postgis.PostGISStore`."""

    if TYPE_CHECKING:  # provided by PostGISStore

        def _connect(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...
        def _read(self, work: Callable[[psycopg.Connection[Any]], T]) -> T: ...

    def upsert_postcodes(self, rows: Iterable[tuple[str, Any, Any]]) -> int:
        """Insert or replace (postcode, lat, lon) rows, all or nothing; returns rows read.

        Postcodes are normalised; a later row for the same postcode wins.
        """
        written = 0
        with self._connect() as conn, conn.transaction():
            conn.execute(_POSTCODE_STAGE)
            with conn.cursor() as cur:
                with cur.copy("COPY postcode_stage (postcode, lat, lon) FROM STDIN") as copy:
                    for row in postcode_rows(rows):
                        copy.write_row(row)
                        written += 1
                cur.execute(_POSTCODE_MERGE)
        return written

    def find_postcode(self, postcode: str) -> PostcodePoint | None:
        """The point of ``postcode`` (any spacing or case); for a bare UK outward code
        ("BD7") the centroid of its postcodes, with ``exact=False``; else None."""
        code = normalise_postcode(postcode)
        outward = uk_outward_code(postcode)

        def work(conn: psycopg.Connection[Any]) -> PostcodePoint | None:
            row = conn.execute(
                "SELECT postcode, lat, lon FROM postcodes WHERE postcode = %s", [code]
            ).fetchone()
            if row is not None:
                return PostcodePoint(row[0], row[1], row[2])
            if outward is None:
                return None
            low = outward + " "
            agg = conn.execute(
                "SELECT avg(lat), avg(lon), count(*) FROM postcodes"
                " WHERE postcode >= %s AND postcode < %s",
                [low, low + PREFIX_END],
            ).fetchone()
            if not agg or not agg[2]:
                return None
            return PostcodePoint(outward, float(agg[0]), float(agg[1]), exact=False)

        return self._read(work)

    def find_postcodes(self, postcodes: Iterable[str]) -> dict[str, PostcodePoint]:
        """The points of those of ``postcodes`` in the table (full codes only, no
        districts), by normalised code: one query for a whole import."""
        codes = sorted({normalise_postcode(p) for p in postcodes} - {""})

        def work(conn: psycopg.Connection[Any]) -> dict[str, PostcodePoint]:
            rows = conn.execute(
                "SELECT postcode, lat, lon FROM postcodes WHERE postcode = ANY(%s)", [codes]
            ).fetchall()
            return {r[0]: PostcodePoint(r[0], float(r[1]), float(r[2])) for r in rows}

        return self._read(work) if codes else {}

    def upsert_places(self, rows: Iterable[Place | tuple[str, Any, Any, str]]) -> int:
        """Insert places, all or nothing; one already there (same normalised name, kind
        and point) gets the new spelling of its name. Returns rows read."""
        written = 0
        with self._connect() as conn, conn.transaction():
            conn.execute(_PLACE_STAGE)
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY place_stage (name, norm_name, lat, lon, kind) FROM STDIN"
                ) as copy:
                    for p in place_rows(rows):
                        copy.write_row((p.name, p.norm_name, p.lat, p.lon, p.kind))
                        written += 1
                cur.execute(_PLACE_MERGE)
        return written

    def search_places(self, query: str, *, limit: int = 10) -> list[Place]:
        """Places named like ``query``: exact, then prefix, then word prefix, then close
        misspellings (see ``gazetteer.rank_places``); at most ``limit`` (1-100)."""
        check_limit(limit)
        norm, _, first_two = search_terms(query)
        if not norm:
            return []

        def work(conn: psycopg.Connection[Any]) -> list[Place]:
            found = _places(
                conn.execute(
                    f"SELECT {_PLACE_COLUMNS} FROM places"
                    " WHERE norm_name >= %s AND norm_name < %s"
                    " ORDER BY length(norm_name) LIMIT %s",
                    [norm, norm + PREFIX_END, _CANDIDATES],
                ).fetchall()
            )
            found += _places(
                conn.execute(
                    f"SELECT {_PLACE_COLUMNS} FROM places WHERE (' ' || norm_name) LIKE %s"
                    " AND NOT (norm_name >= %s AND norm_name < %s) LIMIT %s",
                    [f"% {norm}%", norm, norm + PREFIX_END, _CANDIDATES],
                ).fetchall()
            )
            if not found:
                found = _places(
                    conn.execute(
                        f"SELECT {_PLACE_COLUMNS} FROM places"
                        " WHERE norm_name >= %s AND norm_name < %s LIMIT %s",
                        [first_two, first_two + PREFIX_END, _CANDIDATES * 5],
                    ).fetchall()
                )
            return found

        return rank_places(query, self._read(work), limit)
