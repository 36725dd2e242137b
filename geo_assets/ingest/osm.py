"""Community venues from an OpenStreetMap ``.osm.pbf`` extract (via pyrosm).

Which features, and the taxonomy terms they get (kind ``venue``):

=================================================  ===========================================
OSM tag                                            categories
=================================================  ===========================================
amenity=community_centre, social_centre,           venues.community-centres
village_hall
amenity=events_venue                               venues.halls
amenity=library                                    venues.libraries
amenity=place_of_worship                           venues.places-of-worship (+ faith.* by
                                                   ``religion``: churches, mosques, ...)
amenity=arts_centre                                venues.arts-venues, arts
amenity=theatre / cinema                           venues.arts-venues, arts.drama / arts.film
leisure=sports_centre, sports_hall,                venues.leisure-centres, sport
fitness_centre, swimming_pool                      (+ sport.* by ``sport``)
leisure=pitch, stadium, track                      sport (+ sport.* by ``sport``)
leisure=park                                       venues.parks, nature.parks
leisure=garden                                     nature.parks (garden:type=community:
                                                   nature.gardening.community-gardens)
leisure=nature_reserve                             nature.wildlife
leisure=playground                                 family.childrens-activities
landuse=allotments                                 nature.gardening.allotments
=================================================  ===========================================

Provenance: ``source`` "osm", ``source_id`` "node/123", "way/456" or "relation/789";
every OSM tag of the feature is kept in ``ParsedFeed.provenance[source_id]`` (the
Asset model has no field for them). Address, postcode, place, website, phone, email
and ``wheelchair=yes`` are copied into the asset. Polygons become their representative
point, with the polygon kept as the footprint (dropped, with a warning, when OSM's
polygon is invalid). Unnamed features are named after what they are ("Park",
"Pitch (soccer)"). Imported venues are ``published``: they are mapped, public places.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo_assets.errors import RowError
from geo_assets.ingest.base import ParsedFeed

SOURCE = "osm"


@dataclass(frozen=True)
class Rule:
    key: str
    value: str
    label: str
    categories: tuple[str, ...]


RULES: tuple[Rule, ...] = (
    Rule("amenity", "community_centre", "Community centre", ("venues.community-centres",)),
    Rule("amenity", "social_centre", "Social centre", ("venues.community-centres",)),
    Rule("amenity", "village_hall", "Village hall", ("venues.community-centres",)),
    Rule("amenity", "events_venue", "Events venue", ("venues.halls",)),
    Rule("amenity", "library", "Library", ("venues.libraries",)),
    Rule("amenity", "place_of_worship", "Place of worship", ("venues.places-of-worship",)),
    Rule("amenity", "arts_centre", "Arts centre", ("venues.arts-venues", "arts")),
    Rule("amenity", "theatre", "Theatre", ("venues.arts-venues", "arts.drama")),
    Rule("amenity", "cinema", "Cinema", ("venues.arts-venues", "arts.film")),
    Rule("leisure", "sports_centre", "Sports centre", ("venues.leisure-centres", "sport")),
    Rule("leisure", "sports_hall", "Sports hall", ("venues.leisure-centres", "sport")),
    Rule("leisure", "fitness_centre", "Fitness centre", ("venues.leisure-centres", "sport")),
    Rule("leisure", "swimming_pool", "Swimming pool",
         ("venues.leisure-centres", "sport.swimming")),
    Rule("leisure", "pitch", "Pitch", ("sport",)),
    Rule("leisure", "stadium", "Stadium", ("sport",)),
    Rule("leisure", "track", "Track", ("sport",)),
    Rule("leisure", "park", "Park", ("venues.parks", "nature.parks")),
    Rule("leisure", "garden", "Garden", ("nature.parks",)),
    Rule("leisure", "nature_reserve", "Nature reserve", ("nature.wildlife",)),
    Rule("leisure", "playground", "Playground", ("family.childrens-activities",)),
    Rule("landuse", "allotments", "Allotments", ("nature.gardening.allotments",)),
)  # fmt: skip
_RELIGION = {
    "christian": "faith.churches",
    "muslim": "faith.mosques",
    "sikh": "faith.gurdwaras",
    "hindu": "faith.mandirs",
    "jewish": "faith.synagogues",
    "buddhist": "faith.buddhist",
}
_SPORT = {
    "soccer": "sport.football",
    "football": "sport.football",
    "rugby_union": "sport.rugby",
    "rugby_league": "sport.rugby",
    "rugby": "sport.rugby",
    "cricket": "sport.cricket",
    "tennis": "sport.racket-sports",
    "badminton": "sport.racket-sports",
    "table_tennis": "sport.racket-sports",
    "squash": "sport.racket-sports",
    "padel": "sport.racket-sports",
    "bowls": "sport.bowls",
    "swimming": "sport.swimming",
    "running": "sport.running",
    "athletics": "sport.running",
    "cycling": "sport.cycling",
    "yoga": "sport.exercise-classes.yoga",
    "martial_arts": "sport.martial-arts",
    "karate": "sport.martial-arts",
    "judo": "sport.martial-arts",
    "boxing": "sport.martial-arts",
}
# pyrosm columns that describe the OSM element rather than being tags.
_META_COLUMNS = frozenset(
    {"id", "lon", "lat", "tags", "visible", "version", "timestamp", "changeset", "geometry",
     "osm_type"}
)  # fmt: skip
_EXTRA_TAGS = ["religion", "denomination", "sport", "wheelchair", "garden:type", "description"]
# Footprint coordinates are rounded to this many decimals (about 1 cm).
_FOOTPRINT_DECIMALS = 7


def custom_filter() -> dict[str, list[str]]:
    """The pyrosm ``custom_filter`` selecting every feature in :data:`RULES`."""
    out: dict[str, list[str]] = {}
    for rule in RULES:
        out.setdefault(rule.key, []).append(rule.value)
    return out


def parse_osm(path: str | Path, *, source: str | None = None) -> ParsedFeed:
    """Community venues of an ``.osm.pbf`` file as asset records (see the module doc)."""
    feed = ParsedFeed()
    frame = _read(Path(path), feed)
    if frame is None:
        return feed
    records: list[tuple[int, dict[str, Any]]] = []
    unnamed = bad_footprints = 0
    for row, feature in enumerate(frame.to_dict("records"), start=1):
        tags = feature_tags(feature)
        source_id = f"{feature.get('osm_type') or 'node'}/{int(feature['id'])}"
        rule = match_rule(tags)
        if rule is None:  # pyrosm keeps features whose other tags matched; not ours
            continue
        try:
            record, footprint_ok = _record(feature, tags, rule, source or SOURCE, source_id)
        except ValueError as exc:
            feed.errors.append(RowError(row, "geometry", f"{source_id}: {exc}"))
            continue
        unnamed += "name" not in tags
        bad_footprints += not footprint_ok
        feed.provenance[source_id] = tags
        records.append((row, record))
    if unnamed:
        feed.warnings.append(f"{unnamed} feature(s) have no name; named after what they are")
    if bad_footprints:
        feed.warnings.append(f"{bad_footprints} invalid OSM polygon(s): footprint left out")
    feed.records = records
    return feed


def _read(path: Path, feed: ParsedFeed) -> Any:
    import pyrosm

    if not path.is_file():
        feed.errors.append(RowError(0, "(file)", f"no such file: {path}"))
        return None
    with open(path, "rb") as fh:
        head = fh.read(16)
    # A .pbf starts with a 4-byte header length and the "OSMHeader" blob type.
    if len(head) < 16 or b"OSMHeader" not in head:
        feed.errors.append(RowError(0, "(file)", "not an OpenStreetMap .osm.pbf file"))
        return None
    try:
        osm = pyrosm.OSM(str(path))
        frame = osm.get_pois(custom_filter=custom_filter(), extra_attributes=_EXTRA_TAGS)
    except Exception as exc:  # pyrosm fails in many ways on damaged files
        feed.errors.append(RowError(0, "(file)", f"cannot read the .osm.pbf file: {exc}"))
        return None
    if frame is None or len(frame) == 0:
        feed.warnings.append("no community venues found in this extract")
        return None
    return frame


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value).strip() != ""


def feature_tags(feature: Mapping[str, Any]) -> dict[str, str]:
    """All OSM tags of a pyrosm row: its tag columns plus the JSON ``tags`` column."""
    tags: dict[str, str] = {}
    raw = feature.get("tags")
    if isinstance(raw, str) and raw:
        with contextlib.suppress(json.JSONDecodeError, AttributeError):
            tags.update({str(k): str(v) for k, v in json.loads(raw).items()})
    elif isinstance(raw, Mapping):
        tags.update({str(k): str(v) for k, v in raw.items()})
    for key, value in feature.items():
        if key not in _META_COLUMNS and _present(value):
            tags[key] = str(value)
    return dict(sorted(tags.items()))


def match_rule(tags: Mapping[str, str]) -> Rule | None:
    """The first rule (amenity before leisure before landuse) the tags match."""
    for rule in RULES:
        if tags.get(rule.key) == rule.value:
            return rule
    return None


def categories_for(rule: Rule, tags: Mapping[str, str]) -> list[str]:
    out = list(rule.categories)
    if rule.value == "place_of_worship" and tags.get("religion") in _RELIGION:
        out.append(_RELIGION[tags["religion"]])
    if rule.value == "garden" and tags.get("garden:type") == "community":
        out = ["nature.gardening.community-gardens"]
    if rule.key == "leisure" and "sport" in tags:
        for sport in re.split(r"[;,]", tags["sport"]):
            term = _SPORT.get(sport.strip())
            if term and term not in out:
                out.append(term)
    return out


def _record(
    feature: Mapping[str, Any], tags: Mapping[str, str], rule: Rule, source: str, source_id: str
) -> tuple[dict[str, Any], bool]:
    geom = feature.get("geometry")
    if geom is None or geom.is_empty:
        raise ValueError("no geometry")
    footprint: dict[str, Any] | None = None
    footprint_ok = True
    if geom.geom_type == "Point":
        point = geom
    elif geom.geom_type in ("Polygon", "MultiPolygon"):
        point = geom.representative_point()
        if geom.is_valid:
            footprint = _geojson(geom)
        else:
            footprint_ok = False
    elif geom.geom_type in ("LineString", "MultiLineString", "GeometryCollection"):
        point = geom.representative_point()  # e.g. an unclosed way
    else:
        raise ValueError(f"unsupported geometry {geom.geom_type}")
    name = tags.get("name") or _fallback_name(rule, tags)
    street = " ".join(p for p in (tags.get("addr:housenumber"), tags.get("addr:street")) if p)
    address = ", ".join(p for p in (tags.get("addr:housename"), street) if p) or None
    url = tags.get("website") or tags.get("contact:website") or tags.get("url")
    email = tags.get("email") or tags.get("contact:email")
    record: dict[str, Any] = {
        "kind": "venue",
        "name": name[:300],
        "description": (tags.get("description") or "")[:10_000],
        "categories": categories_for(rule, tags),
        "location": {
            "lat": round(point.y, 7),
            "lon": round(point.x, 7),
            "address": address,
            "postcode": tags.get("addr:postcode"),
            "place": tags.get("addr:city") or tags.get("addr:suburb"),
            "footprint": footprint,
        },
        "accessibility": {"features": ["wheelchair"] if tags.get("wheelchair") == "yes" else []},
        "contact": {
            "phone": tags.get("phone") or tags.get("contact:phone"),
            "url": url if url and re.match(r"^https?://\S+$", url) else None,
            "email": email if email and re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email) else None,
        },
        "status": "published",
        "source": source,
        "source_id": source_id,
    }
    return record, footprint_ok


def _fallback_name(rule: Rule, tags: Mapping[str, str]) -> str:
    if "sport" in tags:
        return f"{rule.label} ({tags['sport'].replace('_', ' ').replace(';', ', ')})"
    return rule.label


def _geojson(geom: Any) -> dict[str, Any]:
    from shapely import set_precision
    from shapely.geometry import mapping

    rounded = set_precision(geom, 10**-_FOOTPRINT_DECIMALS)
    if rounded.is_empty or not rounded.is_valid:
        rounded = geom
    return json.loads(json.dumps(mapping(rounded)))


def export_osm(*_: Any, **__: Any) -> int:
    """OpenStreetMap is import-only: edits go to OSM itself, not through a file."""
    from geo_assets.errors import InvalidInputError

    raise InvalidInputError("`osm` is import-only; export to geojson or gpkg instead",
                            field="format")  # fmt: skip
