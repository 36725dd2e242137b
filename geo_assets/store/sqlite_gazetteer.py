"""Postcodes and places for the geocoder in the SQLite store (mixed into SQLiteStore).

Tables from migration 0003 (``sqlite/0003_gazetteer.sql``); rules shared with PostGIS
in :mod:`geo_assets.store.gazetteer`. Each upsert is one transaction: when the rows
come from a generator that raises (a bad row in a file), nothing is written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from itertools import islice
from typing import TYPE_CHECKING, Any

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

# Rows per executemany call (bounds memory; the transaction spans them all).
_BATCH = 10_000
# Most rows each search step reads before ranking.
_CANDIDATES = 2000
_PLACE_COLUMNS = "name, lat, lon, kind, norm_name"


def _batches(rows: Iterable[Any]) -> Iterator[list[Any]]:
    it = iter(rows)
    while batch := list(islice(it, _BATCH)):
        yield batch


def _places(rows: Iterable[tuple[Any, ...]]) -> list[Place]:
    return [Place(name, lat, lon, kind, norm) for name, lat, lon, kind, norm in rows]


class SQLiteGazetteer:
    """The postcode/place part of :class:`~geo_assets.store.sqlite.SQLiteStore`."""

    if TYPE_CHECKING:  # provided by SQLiteStore

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def upsert_postcodes(self, rows: Iterable[tuple[str, Any, Any]]) -> int:
        """Insert or replace (postcode, lat, lon) rows, all or nothing; returns rows written.

        Postcodes are normalised; a later row for the same postcode wins.
        """
        written = 0
        with self._write() as conn:
            for batch in _batches(postcode_rows(rows)):
                conn.executemany(
                    "INSERT INTO postcodes (postcode, lat, lon) VALUES (?, ?, ?)"
                    " ON CONFLICT (postcode) DO UPDATE SET lat = excluded.lat, lon = excluded.lon",
                    batch,
                )
                written += len(batch)
        return written

    def find_postcode(self, postcode: str) -> PostcodePoint | None:
        """The point of ``postcode`` (any spacing or case); for a bare UK outward code
        ("BD7") the centroid of its postcodes, with ``exact=False``; else None."""
        code = normalise_postcode(postcode)
        with self._read() as conn:
            row = conn.execute(
                "SELECT postcode, lat, lon FROM postcodes WHERE postcode = ?", (code,)
            ).fetchone()
            if row is not None:
                return PostcodePoint(row[0], row[1], row[2])
            outward = uk_outward_code(postcode)
            if outward is None:
                return None
            low = outward + " "
            row = conn.execute(
                "SELECT avg(lat), avg(lon), count(*) FROM postcodes"
                " WHERE postcode >= ? AND postcode < ?",
                (low, low + PREFIX_END),
            ).fetchone()
        if not row or not row[2]:
            return None
        return PostcodePoint(outward, row[0], row[1], exact=False)

    def find_postcodes(self, postcodes: Iterable[str]) -> dict[str, PostcodePoint]:
        """The points of those of ``postcodes`` in the table (full codes only, no
        districts), by normalised code: one look-up for a whole import."""
        codes = sorted({normalise_postcode(p) for p in postcodes} - {""})
        found: dict[str, PostcodePoint] = {}
        with self._read() as conn:
            for batch in _batches(codes):
                rows = conn.execute(
                    "SELECT postcode, lat, lon FROM postcodes"
                    " WHERE postcode IN (SELECT value FROM json_each(?))",
                    (json.dumps(batch),),
                )
                found.update((r[0], PostcodePoint(r[0], r[1], r[2])) for r in rows)
        return found

    def upsert_places(self, rows: Iterable[Place | tuple[str, Any, Any, str]]) -> int:
        """Insert places, all or nothing; one already there (same normalised name, kind
        and point) gets the new spelling of its name. Returns rows written."""
        written = 0
        with self._write() as conn:
            for batch in _batches(place_rows(rows)):
                conn.executemany(
                    "INSERT INTO places (name, norm_name, lat, lon, kind) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (norm_name, kind, lat, lon) DO UPDATE SET name = excluded.name",
                    [(p.name, p.norm_name, p.lat, p.lon, p.kind) for p in batch],
                )
                written += len(batch)
        return written

    def search_places(self, query: str, *, limit: int = 10) -> list[Place]:
        """Places named like ``query``: exact, then prefix, then word prefix, then close
        misspellings (see ``gazetteer.rank_places``); at most ``limit`` (1-100)."""
        check_limit(limit)
        norm, _, first_two = search_terms(query)
        if not norm:
            return []
        with self._read() as conn:
            found = _places(
                conn.execute(
                    f"SELECT {_PLACE_COLUMNS} FROM places WHERE norm_name >= ? AND norm_name < ?"
                    " ORDER BY length(norm_name) LIMIT ?",
                    (norm, norm + PREFIX_END, _CANDIDATES),
                )
            )
            found += _places(
                conn.execute(
                    f"SELECT {_PLACE_COLUMNS} FROM places WHERE (' ' || norm_name) LIKE ?"
                    " AND NOT (norm_name >= ? AND norm_name < ?) LIMIT ?",
                    (f"% {norm}%", norm, norm + PREFIX_END, _CANDIDATES),
                )
            )
            if not found:
                found = _places(
                    conn.execute(
                        f"SELECT {_PLACE_COLUMNS} FROM places"
                        " WHERE norm_name >= ? AND norm_name < ? LIMIT ?",
                        (first_two, first_two + PREFIX_END, _CANDIDATES * 5),
                    )
                )
        return rank_places(query, found, limit)
