"""Public read access to assets as GeoJSON: nearest first around a point, or paged by name.

Coordinates arrive as ``near=lat,lon`` (degrees, WGS84) and leave in GeoJSON
order, ``[lon, lat]``. Public reads show published assets unless ``status`` asks
for others.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.deps import StoreDep
from api.errors import PROBLEM_JSON
from geo_assets.errors import InvalidInputError
from geo_assets.model import Asset, AssetKind, AssetStatus
from geo_assets.store import AssetFilters
from geo_assets.store.base import MAX_PER_PAGE, MAX_RADIUS_M

GEOJSON = "application/geo+json"
DEFAULT_RADIUS_M = 1_000.0
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
# Query parameter names for AssetFilters fields, so errors name what the caller typed.
_PARAM_FOR_FILTER = {
    "kinds": "kind",
    "categories": "category",
    "statuses": "status",
    "text": "text",
}

router = APIRouter(tags=["assets"])


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def parse_near(text: str) -> tuple[float, float]:
    """``"lat,lon"`` in degrees (WGS84) -> ``(lat, lon)``; errors name the `near` parameter."""
    parts = text.split(",")
    usage = "`near` must be 'lat,lon' in degrees (WGS84), e.g. near=53.795,-1.752"
    if len(parts) != 2:
        raise InvalidInputError(usage, field="near")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidInputError(usage, field="near") from None
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidInputError(
            f"`near` latitude must be between -90 and 90 degrees, got {parts[0].strip()}",
            field="near",
        )
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidInputError(
            f"`near` longitude must be between -180 and 180 degrees, got {parts[1].strip()}",
            field="near",
        )
    return lat, lon


def _filters(
    kind: list[AssetKind] | None,
    category: list[str] | None,
    status: list[AssetStatus] | None,
    text: str | None,
) -> AssetFilters:
    try:
        return AssetFilters(
            kinds=kind or None,
            categories=category or None,
            statuses=status or ["published"],
            text=text or None,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        name = _PARAM_FOR_FILTER.get(str(err["loc"][0]), str(err["loc"][0]))
        raise InvalidInputError(f"`{name}`: {err['msg']}", field=name) from exc


def _next_session(asset: Asset, now: datetime) -> str | None:
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
            "next_session": _next_session(asset, now),
            "place": asset.location.place,
            "address": asset.location.address,
            "postcode": asset.location.postcode,
        },
    }


@router.get(
    "/assets",
    response_class=GeoJSONResponse,
    summary="Assets near a point, or all published assets by page",
    responses={
        200: {"description": "A GeoJSON FeatureCollection", "content": {GEOJSON: {}}},
        422: {"description": "A parameter is invalid", "content": {PROBLEM_JSON: {}}},
        503: {"description": "The store cannot be reached", "content": {PROBLEM_JSON: {}}},
    },
)
def list_assets(
    store: StoreDep,
    near: Annotated[
        str | None,
        Query(description="centre as 'lat,lon' in degrees (WGS84), e.g. 53.795,-1.752"),
    ] = None,
    radius_m: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_RADIUS_M,
            allow_inf_nan=False,
            description=f"search radius in metres (geodesic); default {DEFAULT_RADIUS_M:g}",
        ),
    ] = None,
    kind: Annotated[list[AssetKind] | None, Query(description="repeat for several")] = None,
    category: Annotated[
        list[str] | None, Query(description="taxonomy term id; matches its descendants too")
    ] = None,
    status: Annotated[
        list[AssetStatus] | None, Query(description="default: published only")
    ] = None,
    text: Annotated[
        str | None, Query(max_length=200, description="words matched as prefixes")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="most features returned with `near`")
    ] = DEFAULT_LIMIT,
    page: Annotated[int, Query(ge=1, description="page number without `near`")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description="page size without `near`")
    ] = 50,
) -> GeoJSONResponse:
    """With ``near``: assets within ``radius_m`` metres, nearest first (ties by id), at most
    ``limit`` of them; ``truncated`` says whether more lie within the radius.

    Without it: published assets ordered by name, ``page`` by ``page`` with totals.
    """
    filters = _filters(kind, category, status, text)
    now = datetime.now()
    if near is None:
        if radius_m is not None:
            raise InvalidInputError("`radius_m` needs `near` (a 'lat,lon' centre)", field="near")
        result = store.list_assets(filters, page=page, per_page=per_page)
        return GeoJSONResponse(
            {
                "type": "FeatureCollection",
                "features": [feature(a, None, now) for a in result.items],
                "page": result.page,
                "per_page": result.per_page,
                "total": result.total,
                "pages": result.pages,
            }
        )
    lat, lon = parse_near(near)
    radius = DEFAULT_RADIUS_M if radius_m is None else radius_m
    # One extra hit tells whether `limit` cut the list short.
    hits = store.nearby(lat, lon, radius, filters, limit=limit + 1)
    shown = hits[:limit]
    return GeoJSONResponse(
        {
            "type": "FeatureCollection",
            "features": [feature(h.asset, h.distance_m, now) for h in shown],
            "numberReturned": len(shown),
            "truncated": len(hits) > limit,
            "radius_m": radius,
        }
    )
