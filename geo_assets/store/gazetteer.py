"""The geocoder's lookup tables, apart from any database: postcodes and places.

Both stores keep two plain tables (migration ``0003_gazetteer``):

- ``postcodes(postcode PK, lat, lon)``: a postal code and a representative WGS84 point
  (e.g. from the ONS Postcode Directory). Codes are stored by :func:`normalise_postcode`
  (upper case, single spaces; UK codes always "OUTWARD INWARD"); nothing else assumes
  UK postcodes.
- ``places(name, norm_name, lat, lon, kind)``: a gazetteer of towns, neighbourhoods and
  landmarks (from a CSV or OpenStreetMap), searched by :func:`normalise_place_name`.

This module holds what both stores share: the normalisers, the row checks, the result
types and the ranking of place search results.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from geo_assets.errors import InvalidInputError

#: The highest code point: ``prefix + PREFIX_END`` bounds a prefix range in byte order.
PREFIX_END = "\U0010ffff"
MAX_PLACE_RESULTS = 100
# UK postcode without spaces: outward code (area, district) then inward code.
_UK_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_UK_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
# Kinds of place, most important first: ties in search results go to the bigger place.
PLACE_KIND_RANK = {
    kind: i
    for i, kind in enumerate(
        (
            "city",
            "town",
            "borough",
            "suburb",
            "village",
            "quarter",
            "neighbourhood",
            "hamlet",
            "locality",
            "station",
            "landmark",
            "park",
        )
    )
}
# Fuzzy matches (rapidfuzz WRatio, 0-100) below this are not offered.
FUZZY_MIN_RATIO = 80.0


@dataclass(frozen=True)
class PostcodePoint:
    """A postcode's point (WGS84 degrees). ``exact`` is False for the centroid of a UK
    postcode district ("BD7") answered when only the outward code was given."""

    postcode: str
    lat: float
    lon: float
    exact: bool = True


@dataclass(frozen=True)
class Place:
    """A named place or landmark at a WGS84 point (degrees)."""

    name: str
    lat: float
    lon: float
    kind: str
    norm_name: str = ""


def normalise_postcode(text: str) -> str:
    """Upper case with single spaces; a UK postcode always as "OUTWARD INWARD".

    "bd7 1aa", "BD71AA" and "BD7  1AA" all give "BD7 1AA". Codes of other countries
    ("00100", "SW-1234") are only upper-cased and their spaces collapsed.
    """
    collapsed = " ".join(str(text).upper().split())
    m = _UK_FULL.match(collapsed.replace(" ", ""))
    if m:
        return f"{m[1]} {m[2]}"
    return collapsed


def uk_outward_code(text: str) -> str | None:
    """The text as a UK outward code ("BD7"), or None when it is not one."""
    compact = "".join(str(text).upper().split())
    return compact if _UK_OUTWARD.match(compact) else None


def normalise_place_name(text: str) -> str:
    """Case-folded, accents dropped, "&" as "and", apostrophes removed, other punctuation
    as spaces, single spaces ("St. Luke's Church" -> "st lukes church")."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ")
    text = re.sub(r"['\u2019`]", "", text)
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


def check_point(lat: Any, lon: Any) -> tuple[float, float]:
    """``(lat, lon)`` as floats in range, or ``InvalidInputError`` naming the bad one."""
    out = []
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"`{name}` must be a number in degrees, not {value!r}", field=name
            ) from None
        if not math.isfinite(number) or not -limit <= number <= limit:
            raise InvalidInputError(
                f"`{name}` must be between {-limit:g} and {limit:g} degrees, not {value!r}",
                field=name,
            )
        out.append(number)
    return out[0], out[1]


def postcode_rows(rows: Iterable[tuple[str, Any, Any]]) -> Iterator[tuple[str, float, float]]:
    """Normalised, checked (postcode, lat, lon) rows; raises on the first bad one."""
    for postcode, lat, lon in rows:
        code = normalise_postcode(postcode)
        if not code:
            raise InvalidInputError("`postcode` must not be empty", field="postcode")
        yield (code, *check_point(lat, lon))


def place_rows(rows: Iterable[Place | tuple[str, Any, Any, str]]) -> Iterator[Place]:
    """Checked places with ``norm_name`` filled; raises on the first bad one."""
    for row in rows:
        name, lat, lon, kind = (
            (row.name, row.lat, row.lon, row.kind) if isinstance(row, Place) else row
        )
        name = " ".join(str(name).split())
        norm = normalise_place_name(name)
        if not norm:
            raise InvalidInputError("`name` must have a letter or digit", field="name")
        kind = (str(kind).strip().lower() if kind else "") or "place"
        yield Place(name, *check_point(lat, lon), kind=kind, norm_name=norm)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PLACE_RESULTS:
        raise InvalidInputError(f"`limit` must be between 1 and {MAX_PLACE_RESULTS}", field="limit")
    return limit


def rank_places(query: str, candidates: Iterable[Place], limit: int) -> list[Place]:
    """Order places for a search: exact name, then name prefix, then a word prefix,
    then (only when nothing matched so far) close misspellings; within each, the more
    important kind, then the shorter name, then the name."""
    norm = normalise_place_name(query)
    if not norm:
        return []
    tiers: dict[int, list[Place]] = {}
    fuzzy: list[tuple[float, Place]] = []
    for place in candidates:
        name = place.norm_name or normalise_place_name(place.name)
        if name == norm:
            tiers.setdefault(0, []).append(place)
        elif name.startswith(norm):
            tiers.setdefault(1, []).append(place)
        elif f" {norm}" in f" {name}":
            tiers.setdefault(2, []).append(place)
        else:
            ratio = fuzz.WRatio(norm, name)
            if ratio >= FUZZY_MIN_RATIO:
                fuzzy.append((ratio, place))
    out: list[Place] = []
    for tier in sorted(tiers):
        out.extend(sorted(tiers[tier], key=_place_order))
    if not out:
        fuzzy.sort(key=lambda rp: (-rp[0], *_place_order(rp[1])))
        out = [p for _, p in fuzzy]
    seen: set[tuple[str, str, float, float]] = set()
    unique = []
    for p in out:
        key = (p.norm_name, p.kind, round(p.lat, 4), round(p.lon, 4))
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique[:limit]


def _place_order(place: Place) -> tuple[int, int, str, float, float]:
    rank = PLACE_KIND_RANK.get(place.kind, len(PLACE_KIND_RANK))
    return (rank, len(place.norm_name), place.norm_name, place.lat, place.lon)


def search_terms(query: str) -> tuple[str, str, str]:
    """(normalised query, its first word, the first two letters) for the stores' SQL:
    exact/prefix on the whole name, word prefix, and the fuzzy fallback's prefix."""
    norm = normalise_place_name(query)
    first = norm.split(" ", 1)[0] if norm else ""
    return norm, first, norm[:2]
