"""Assets as GeoJSON (RFC 7946): features, collections, their schema, and choosing the format.

Geometry is ``[lon, lat]`` in degrees (WGS84), as RFC 7946 orders it; properties carry
what a map popup needs. ``wants_geojson`` decides between JSON and GeoJSON from the
``format`` parameter or, without one, the ``Accept`` header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from fastapi.responses import JSONResponse

from geo_assets.model import LOCATION_PRECISIONS, Asset, Attendance

GEOJSON = "application/geo+json"
OutputFormat = Literal["json", "geojson"]


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def wants_geojson(
    output: OutputFormat | None, accept: str | None, *, default: bool = False
) -> bool:
    """``format`` decides when given; else ``Accept`` when it prefers one of
    ``application/geo+json`` and ``application/json`` (by q-value, then specificity);
    else (no ``Accept``, ``*/*``, or a tie) ``default``."""
    if output is not None:
        return output == "geojson"
    if not accept:
        return default
    best: dict[str, tuple[float, int]] = {"geojson": (0.0, -1), "json": (0.0, -1)}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        for key, full in (("geojson", GEOJSON), ("json", "application/json")):
            specificity = {full: 2, "application/*": 1, "*/*": 0}.get(media)
            if specificity is not None and (q, specificity) > best[key]:
                best[key] = (q, specificity)
    geo, plain = best["geojson"], best["json"]
    if geo == plain:
        return default and geo[0] > 0
    return geo[0] > 0 and geo > plain


def next_session(asset: Asset, now: datetime) -> str | None:
    """The soonest start among the asset's sessions, in the venue's local time (ISO 8601)."""
    starts = [s for session in asset.sessions for s in session.occurrences(now, 1)]
    return min(starts).isoformat(timespec="minutes") if starts else None


def feature(asset: Asset, distance_m: float | None, now: datetime) -> dict[str, Any]:
    """One asset as a GeoJSON Feature; geometry is ``[lon, lat]`` (RFC 7946)."""
    cost = asset.cost.model_dump(mode="json", exclude_none=True)
    cost["free"] = asset.cost.free
    return {
        "type": "Feature",
        "id": asset.id,
        "geometry": {"type": "Point", "coordinates": [asset.location.lon, asset.location.lat]},
        "properties": {
            "name": asset.name,
            "kind": asset.kind,
            "categories": asset.categories,
            "connection_types": asset.connection_types,
            "distance_m": None if distance_m is None else round(distance_m, 1),
            "status": asset.status,
            "description": asset.description,
            "cost": cost,
            "sessions": [s.describe() for s in asset.sessions],
            "next_session": next_session(asset, now),
            "attendance": asset.attendance,
            "accessibility": asset.accessibility.features,
            "languages": asset.languages,
            "place": asset.location.place,
            "address": asset.location.address,
            "postcode": asset.location.postcode,
            "location_precision": asset.location.precision,
            "organisation_id": asset.organisation_id,
            "updated_at": asset.updated_at.isoformat() if asset.updated_at else None,
        },
    }


# --- the OpenAPI schema of what the GeoJSON answers hold (written out: no $refs) ------------

_TEXT = {"type": "string"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_TEXTS = {"type": "array", "items": _TEXT}
FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"const": "Feature"},
        "id": _TEXT,
        "geometry": {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"const": "Point"},
                "coordinates": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 2,
                    "maxItems": 2,
                    "description": "[lon, lat] in degrees (WGS84)",
                },
            },
        },
        "properties": {
            "type": "object",
            "required": ["name", "kind", "categories", "status", "cost", "sessions"],
            "properties": {
                "name": _TEXT,
                "kind": _TEXT,
                "categories": _TEXTS,
                "connection_types": _TEXTS,
                "distance_m": {**_NUMBER_OR_NULL, "description": "metres from `near`"},
                "status": _TEXT,
                "description": _TEXT,
                "cost": {"type": "object", "properties": {"free": {"type": "boolean"}}},
                "sessions": {**_TEXTS, "description": "each session in plain English"},
                "next_session": {**_TEXT_OR_NULL, "description": "local time, ISO 8601"},
                "attendance": {
                    "enum": list(get_args(Attendance)),
                    "description": "how to join: drop in, book first, or by referral",
                },
                "accessibility": {**_TEXTS, "description": "access features, e.g. wheelchair"},
                "languages": {
                    **_TEXTS,
                    "description": "ISO 639 codes of the languages it is run in",
                },
                "place": _TEXT_OR_NULL,
                "address": _TEXT_OR_NULL,
                "postcode": _TEXT_OR_NULL,
                "location_precision": {
                    "enum": list(LOCATION_PRECISIONS),
                    "description": "what the point marks: where it meets ('point'), or only "
                    "a postcode's or an area's centre",
                },
                "organisation_id": _TEXT_OR_NULL,
                "updated_at": _TEXT_OR_NULL,
            },
        },
    },
}
_COUNT = {"type": "integer", "minimum": 0}
FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features", "total", "page", "per_page", "pages"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": FEATURE_SCHEMA},
        "total": {**_COUNT, "description": "matching assets in all pages"},
        "numberMatched": _COUNT,
        "numberReturned": _COUNT,
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1},
        "truncated": {"type": "boolean", "description": "more pages follow this one"},
        "radius_m": {**_NUMBER_OR_NULL, "description": "the radius searched, with `near`"},
    },
}
