"""``GET /geocode?q=``: coordinates, postcodes and place names -> WGS84 points.

What people type here may be where someone lives: the query is never logged (the
access log drops query strings of this path, see ``api/limits.py``) nor echoed back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import StoreDep
from api.routers.schemas import problems
from geo_assets.geocode import MAX_QUERY_CHARS, MAX_RESULTS, Geocoder, GeocodeResult

router = APIRouter(tags=["geocoding"])

DEFAULT_LIMIT = 5


class GeocodeAnswer(BaseModel):
    """One candidate point and what kind of match it is."""

    lat: float = Field(description="degrees, WGS84")
    lon: float = Field(description="degrees, WGS84")
    label: str = Field(description="what to show: the place name, postcode or coordinates")
    kind: Literal["coordinates", "postcode", "postcode_district", "place"] = Field(
        description="coordinates typed in; a postcode from the postcode table; a postcode "
        "district's centre (e.g. 'BD7'); a place from the gazetteer"
    )
    match: Literal["exact", "prefix", "word", "fuzzy"] = Field(
        description="exact name or code; a name starting with the text; a name with a word "
        "starting with it; a close misspelling"
    )
    score: float = Field(ge=0, le=1, description="1 for an exact match, lower for weaker ones")
    place_type: str | None = Field(
        default=None, description="for places: city, town, suburb, station, landmark..."
    )


class GeocodeResponse(BaseModel):
    results: list[GeocodeAnswer] = Field(description="best first; empty when nothing matched")
    count: int


def answer_of(result: GeocodeResult) -> GeocodeAnswer:
    return GeocodeAnswer(
        lat=result.lat,
        lon=result.lon,
        label=result.label,
        kind=result.kind,
        match=result.match,
        score=result.score,
        place_type=result.place_type,
    )


@router.get(
    "/geocode",
    response_model=GeocodeResponse,
    summary="Find a point: 'lat,lon', a postcode or a place name",
    responses=problems(422, 503),
)
def geocode(
    store: StoreDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="'53.79,-1.75' (lat,lon in degrees), a postcode, or a place name",
        ),
    ],
    limit: Annotated[
        int, Query(ge=1, le=MAX_RESULTS, description="most answers returned")
    ] = DEFAULT_LIMIT,
) -> GeocodeResponse:
    """Coordinates first, then postcodes (from the store's postcode table), then place
    names (the demo area's centres and the store's places table), matched regardless of
    case, accents and punctuation, with close misspellings as a last resort."""
    geocoder = Geocoder(postcodes=store, places=store)
    results = [answer_of(r) for r in geocoder.geocode(q, limit=limit)]
    return GeocodeResponse(results=results, count=len(results))
