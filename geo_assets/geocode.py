"""Turn what someone types into WGS84 points: "lat,lon", postcodes and place names.

:class:`Geocoder` answers, in this order:

1. **Coordinates**: two decimal numbers, ``"53.79,-1.75"`` (latitude first, degrees);
   separated by a comma, or by spaces when both have a decimal point.
2. **Postcodes**: looked up in the *postcode table* given as ``postcodes`` (anything with
   ``find_postcode``; both stores keep one, filled by ``geo-assets import postcodes``).
   With no table, or an empty one, there are simply no postcode answers. Nothing here
   assumes UK postcodes: the table decides what a postcode looks like.
3. **Place names**: the built-in ``gazetteer`` (by default the demo area's centres,
   :func:`sample_gazetteer`) plus any ``places`` search (the stores' places table, filled
   by ``geo-assets import places``). Matching ignores case, accents and punctuation
   ("st. luke's" = "St Lukes"); exact names come first, then names starting with the
   text, then names with a word starting with it, and only when none of those match,
   close misspellings (rapidfuzz ``WRatio``).

Every :class:`GeocodeResult` says what ``kind`` of match it is and how good (``match``,
``score`` in [0, 1]). The text typed may be personal data (a home postcode): nothing
here logs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, Protocol

from rapidfuzz import fuzz

from geo_assets.errors import InvalidInputError
from geo_assets.model import LocationPrecision, refuse_nul
from geo_assets.store.gazetteer import (
    FUZZY_MIN_RATIO,
    Place,
    PostcodePoint,
    normalise_place_name,
    rank_places,
)

GeocodeKind = Literal["coordinates", "postcode", "postcode_district", "place"]
# A postcode district's or a place's centre may be kilometres from a door in it.
_PRECISION_OF_KIND: dict[str, LocationPrecision] = {
    "coordinates": "point",
    "postcode": "postcode",
    "postcode_district": "area",
    "place": "area",
}
MatchQuality = Literal["exact", "prefix", "word", "fuzzy"]
MAX_RESULTS = 20
MAX_QUERY_CHARS = 200
# Scores per kind of match; fuzzy place matches scale FUZZY_SCORE by rapidfuzz's ratio.
EXACT_SCORE = 1.0
DISTRICT_SCORE = 0.9  # a postcode district's centroid ("BD7"), not a full postcode
PREFIX_SCORE = 0.9
WORD_SCORE = 0.8
FUZZY_SCORE = 0.7
# Texts longer than this, or without a digit, are not tried as postcodes.
_MAX_POSTCODE_CHARS = 16
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_COMMA_PAIR = re.compile(rf"^\s*({_NUMBER})\s*[,;]\s*({_NUMBER})\s*$")
_DECIMAL = r"[+-]?\d*\.\d+"
_SPACE_PAIR = re.compile(rf"^\s*({_DECIMAL})\s+({_DECIMAL})\s*$")


@dataclass(frozen=True)
class GeocodeResult:
    """One answer: a WGS84 point (degrees), a label to show, and what kind of match it is.

    ``kind`` is "coordinates", "postcode", "postcode_district" (the centroid of a postcode
    district such as "BD7") or "place"; ``match`` is "exact", "prefix", "word" or "fuzzy";
    ``score`` is 1 for exact matches and lower for weaker ones. ``place_type`` is the
    gazetteer's kind of place (city, town, suburb, station, landmark...) for places.
    """

    lat: float
    lon: float
    label: str
    kind: GeocodeKind
    score: float
    match: MatchQuality = "exact"
    place_type: str | None = None

    @property
    def precision(self) -> LocationPrecision:
        """What the point is worth as a listing's location (``Location.precision``)."""
        return _PRECISION_OF_KIND[self.kind]


class PostcodeLookup(Protocol):
    """The postcode table: a postcode's point, or None when it is not in the table."""

    def find_postcode(self, postcode: str) -> PostcodePoint | None: ...


class PlaceSearch(Protocol):
    """A searchable gazetteer (the stores' places table), best matches first."""

    def search_places(self, query: str, *, limit: int = 10) -> list[Place]: ...


@cache
def sample_gazetteer() -> tuple[Place, ...]:
    """The demo area's centres (``data/sample/vocabulary.json``) as places.

    "Bradford city centre" is also findable as "Bradford".
    """
    from geo_assets.synthetic import BRADFORD_CENTRES

    places = []
    for centre in BRADFORD_CENTRES:
        for name in dict.fromkeys((centre.name, centre.name.removesuffix(" city centre"))):
            norm = normalise_place_name(name)
            places.append(Place(name, centre.lat, centre.lon, "locality", norm_name=norm))
    return tuple(places)


def parse_coordinates(text: str, *, field: str = "q") -> tuple[float, float] | None:
    """``(lat, lon)`` in degrees when ``text`` is two numbers, else None.

    Raises ``InvalidInputError`` naming ``field`` when the numbers are out of range
    (latitude -90..90, longitude -180..180).
    """
    m = _COMMA_PAIR.match(text) or _SPACE_PAIR.match(text)
    if m is None:
        return None
    lat, lon = float(m[1]), float(m[2])
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise InvalidInputError(
            f"`{field}` looks like coordinates but is out of range: write 'lat,lon' in degrees "
            "with latitude -90..90 first and longitude -180..180 second",
            field=field,
        )
    return lat, lon


def _place_match(norm_query: str, place: Place) -> tuple[MatchQuality, float]:
    """How ``place`` matched the normalised query, and its score."""
    name = place.norm_name or normalise_place_name(place.name)
    if name == norm_query:
        return "exact", EXACT_SCORE
    if name.startswith(norm_query):
        return "prefix", PREFIX_SCORE
    if f" {norm_query}" in f" {name}":
        return "word", WORD_SCORE
    ratio = fuzz.WRatio(norm_query, name) / 100.0
    return "fuzzy", round(FUZZY_SCORE * ratio, 4)


class Geocoder:
    """Coordinates, postcodes and place names -> ranked :class:`GeocodeResult` lists.

    Parameters
    ----------
    gazetteer
        Places searched in memory (small lists: the demo area's centres by default).
    postcodes
        The postcode table (a store, or anything with ``find_postcode``); None = none.
    places
        A larger place search (a store, or anything with ``search_places``); None = none.
    """

    def __init__(
        self,
        gazetteer: Iterable[Place] | None = None,
        *,
        postcodes: PostcodeLookup | None = None,
        places: PlaceSearch | None = None,
    ) -> None:
        source = sample_gazetteer() if gazetteer is None else gazetteer
        self.gazetteer: Sequence[Place] = tuple(
            p if p.norm_name else Place(p.name, p.lat, p.lon, p.kind, normalise_place_name(p.name))
            for p in source
        )
        self.postcodes = postcodes
        self.places = places

    def geocode(self, text: str, *, limit: int = 5, field: str = "q") -> list[GeocodeResult]:
        """Up to ``limit`` answers for ``text``, best first (see the module docstring).

        Raises ``InvalidInputError`` naming ``field`` for empty or over-long text, text with
        a NUL character, and coordinates out of range.
        """
        if not 1 <= limit <= MAX_RESULTS:
            raise InvalidInputError(f"`limit` must be between 1 and {MAX_RESULTS}", field="limit")
        text = " ".join(text.split())
        if not text:
            raise InvalidInputError(f"`{field}` must not be empty", field=field)
        if len(text) > MAX_QUERY_CHARS:
            raise InvalidInputError(
                f"`{field}` must be at most {MAX_QUERY_CHARS} characters", field=field
            )
        refuse_nul(text, field)  # no place holds one, and PostgreSQL cannot be asked for it
        point = parse_coordinates(text, field=field)
        if point is not None:
            label = f"{point[0]:.6f}, {point[1]:.6f}"
            return [GeocodeResult(point[0], point[1], label, "coordinates", EXACT_SCORE)]
        results = self._postcode(text)
        results += self._places(text, limit)
        return results[:limit]

    def _postcode(self, text: str) -> list[GeocodeResult]:
        """The postcode table's answer; texts that cannot be postcodes are not looked up."""
        if self.postcodes is None or len(text) > _MAX_POSTCODE_CHARS:
            return []
        if not any(ch.isdigit() for ch in text):
            return []
        found = self.postcodes.find_postcode(text)
        if found is None:
            return []
        if found.exact:
            return [GeocodeResult(found.lat, found.lon, found.postcode, "postcode", EXACT_SCORE)]
        return [
            GeocodeResult(
                found.lat,
                found.lon,
                f"{found.postcode} (postcode district)",
                "postcode_district",
                DISTRICT_SCORE,
            )
        ]

    def _places(self, text: str, limit: int) -> list[GeocodeResult]:
        norm = normalise_place_name(text)
        if not norm:
            return []
        candidates = list(self.gazetteer)
        if self.places is not None:
            candidates += self.places.search_places(text, limit=limit)
        ranked = rank_places(text, candidates, len(candidates) or 1)
        results: list[GeocodeResult] = []
        seen: set[tuple[str, float, float]] = set()
        for place in ranked:
            key = (place.norm_name, round(place.lat, 3), round(place.lon, 3))
            if key in seen:  # the same place from the gazetteer and the places table
                continue
            seen.add(key)
            match, score = _place_match(norm, place)
            if match == "fuzzy" and score < FUZZY_SCORE * FUZZY_MIN_RATIO / 100.0:
                continue
            results.append(
                GeocodeResult(place.lat, place.lon, place.name, "place", score, match, place.kind)
            )
            if len(results) >= limit:
                break
        return results


#: A listing's fields that can place it when it has no coordinates, tried in this order.
LISTING_PLACE_FIELDS = ("postcode", "place", "address")


def place_listing(
    geocoder: Geocoder, fields: Mapping[str, str | None]
) -> tuple[str, GeocodeResult | None] | None:
    """Where a listing given no coordinates stands: the first of its postcode, place and
    address that is filled in, looked up. Returns (that field, the best answer, or None
    when nothing was found for it); None when all three are blank. Only the first filled
    field is tried: a postcode that is not found is a mistake to report, not a reason to
    fall back to a vaguer place name."""
    first = _first_filled(fields)
    if first is None:
        return None
    name, query = first
    return name, _best(geocoder, name, query)


def _first_filled(fields: Mapping[str, str | None]) -> tuple[str, str] | None:
    """(field, text) of the first of ``LISTING_PLACE_FIELDS`` that is filled in."""
    for name in LISTING_PLACE_FIELDS:
        text = (fields.get(name) or "").strip()
        if text:
            return name, text
    return None


def _best(geocoder: Geocoder, field: str, query: str) -> GeocodeResult | None:
    try:
        found = geocoder.geocode(query[:MAX_QUERY_CHARS], limit=1, field=field)
    except InvalidInputError:
        return None
    return found[0] if found else None


@dataclass(frozen=True)
class Placing:
    """What ``ListingPlacer.place`` made of a listing's fields: the field tried, its text,
    the point found (None when none was sure enough), and the best guess it set aside."""

    field: str
    text: str
    found: GeocodeResult | None
    guess: str | None = None


class ListingPlacer:
    """``place_listing`` for the many listings of one import: each postcode, place or
    address is looked up once, however many rows give it.

    Nobody sees an import's points on a map before they are saved, so a place name counts
    only when it matches a place exactly: "Shipley Glen" is not read as Shipley, nor "1
    Lumb Lane, Bradford" as Bradford's centre. The near miss comes back as ``guess``.
    """

    def __init__(self, geocoder: Geocoder) -> None:
        self.geocoder = geocoder
        self._placed: dict[tuple[str, str], Placing] = {}

    def place(self, fields: Mapping[str, str | None]) -> Placing | None:
        """The placing of the first filled field (see ``place_listing``); None when the
        postcode, place and address are all blank."""
        key = _first_filled(fields)
        if key is None:
            return None
        if key not in self._placed:
            found = _best(self.geocoder, *key)
            if found is not None and found.kind == "place" and found.match != "exact":
                self._placed[key] = Placing(*key, None, guess=found.label)
            else:
                self._placed[key] = Placing(*key, found)
        return self._placed[key]
