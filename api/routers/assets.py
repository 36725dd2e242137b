"""Assets: search with filters (JSON or GeoJSON), read one, create, change, archive.

Coordinates arrive as ``near=lat,lon`` and ``bbox=west,south,east,north`` (degrees,
WGS84) and leave as ``location.lat``/``location.lon`` in JSON and ``[lon, lat]`` in
GeoJSON. Anonymous callers see published assets only; ``status`` asks for others
where the caller's role allows (``geo_assets.auth.readable_filters``). Writes need an
organisation user (its own organisation's assets, which start ``pending``) or an admin;
each is audited with the caller's user id.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response
from pydantic import BaseModel, Field, ValidationError

from api.deps import CurrentUser, StoreDep, require_roles
from api.routers.geojson import (
    FEATURE_COLLECTION_SCHEMA,
    FEATURE_SCHEMA,
    GEOJSON,
    GeoJSONResponse,
    OutputFormat,
    feature,
    wants_geojson,
)
from api.routers.schemas import (
    ID_OPTIONAL,
    WRITE_STATUSES,
    changes_of,
    held_response,
    location_header,
    mark_held,
    page_count,
    partial_model,
    problems,
)
from geo_assets.auth import User, authorise_asset_write, can_read_asset, readable_filters
from geo_assets.clock import local_now
from geo_assets.errors import InvalidInputError, NotFoundError, error_message
from geo_assets.freshness import confirmed_on_creation
from geo_assets.model import Asset, AssetKind, AssetStatus, BBox, LocationPrecision, Weekday
from geo_assets.review import needs_review, proposed_fields, split_for_review, with_proposals
from geo_assets.store import AssetFilters, Store
from geo_assets.store.base import (
    MAX_AGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_RADIUS_M,
    NearQuery,
    apply_patch,
)
from maps.popups import asset_link

DEFAULT_RADIUS_M = 1_000.0
DEFAULT_PER_PAGE = 50
# Query parameter names for AssetFilters fields, so errors name what the caller typed.
_PARAM_FOR_FILTER = {
    "kinds": "kind",
    "categories": "category",
    "statuses": "status",
    "weekdays": "day",
    "age_min": "min_age",
    "age_max": "max_age",
    "precisions": "location_precision",
}
# Fields the store owns, and the merge history that only `geo-assets merge` writes.
_NOT_PATCHABLE = frozenset(
    {"id", "created_at", "updated_at", "version", "moderated", "merged_from"}
)

router = APIRouter(tags=["assets"])

AssetId = Annotated[str, Path(min_length=1, max_length=100, description="asset id")]
# Organisation users and admins; the finer rules are in authorise_asset_write.
Writer = Annotated[User, Depends(require_roles("organisation"))]
AcceptHeader = Annotated[
    str | None,
    Header(description="`application/geo+json` for GeoJSON (the `format` parameter wins)"),
]
FormatParam = Annotated[
    OutputFormat | None,
    Query(alias="format", description="`json` (default) or `geojson`; overrides `Accept`"),
]

AssetPatch = partial_model(
    Asset,
    "AssetPatch",
    exclude=_NOT_PATCHABLE,
    doc="Fields to change; those left out stay as they are. Nested objects are merged.",
)


class AssetListItem(Asset):
    """A stored asset as listed; ``distance_m`` is set when the search had ``near``."""

    distance_m: float | None = Field(default=None, description="geodesic metres from `near`")


class AssetPage(BaseModel):
    """One page of assets: by distance with ``near`` (then id), else by name (then id)."""

    items: list[AssetListItem]
    total: int = Field(description="matching assets in all pages")
    page: int
    per_page: int
    pages: int = Field(description="number of pages (at least 1)")
    radius_m: float | None = Field(default=None, description="the radius searched, with `near`")


class LikelyDuplicate(BaseModel):
    """A stored listing the new one may repeat (a warning: the asset was still created)."""

    asset_id: str
    name: str
    score: float = Field(ge=0, le=1)
    distance_m: float
    reasons: list[str]


class AssetCreated(Asset):
    """The stored asset, with warnings about listings it may duplicate."""

    likely_duplicates: list[LikelyDuplicate] = Field(default_factory=list)


# --- parsing -------------------------------------------------------------------------------


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


def parse_bbox(text: str) -> BBox:
    """``"west,south,east,north"`` in degrees; west > east crosses the antimeridian."""
    try:
        return BBox.parse(text)
    except ValidationError as exc:
        message = error_message(exc.errors()[0])
        raise InvalidInputError(
            f"`bbox` must be west,south,east,north in degrees (longitudes -180..180, "
            f"latitudes -90..90, south <= north): {message}",
            field="bbox",
        ) from exc


def build_filters(**values: Any) -> AssetFilters:
    """AssetFilters whose validation errors name the query parameter, not the field."""
    try:
        return AssetFilters(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = _PARAM_FOR_FILTER.get(str(err["loc"][0]), str(err["loc"][0]))
        raise InvalidInputError(f"`{name}`: {error_message(err)}", field=name) from exc


def asset_url(asset_id: str) -> str:
    return f"/assets/{quote(asset_id, safe='')}"


def _listed(asset: Asset, distance_m: float | None) -> AssetListItem:
    """The list item for a stored asset, without validating it again."""
    values = {name: getattr(asset, name) for name in Asset.model_fields}
    return AssetListItem.model_construct(**values, distance_m=distance_m)


# --- duplicates (issue 5) --------------------------------------------------------------------


def likely_duplicates(store: Store, asset: Asset) -> list[LikelyDuplicate]:
    """Stored listings ``asset`` may repeat: the create endpoint's duplicate warning.

    The hook issue 5's detector fills (``geo_assets.duplicates.duplicates_of``); it only
    warns, it never blocks the create.
    """
    from geo_assets.duplicates import duplicates_of

    out = []
    for pair in duplicates_of(store, asset):
        other = pair.b if pair.a.id == asset.id else pair.a
        out.append(
            LikelyDuplicate(
                asset_id=other.id,
                name=other.name,
                score=round(pair.score, 3),
                distance_m=round(pair.distance_m, 1),
                reasons=list(pair.reasons),
            )
        )
    return out


# --- routes --------------------------------------------------------------------------------


@router.get(
    "/assets",
    response_model=AssetPage,
    summary="Search assets: near a point, in a box, by category, day, age, cost...",
    responses={
        200: {
            "description": "A page of assets: JSON (`AssetPage`) or a GeoJSON FeatureCollection",
            "content": {GEOJSON: {"schema": FEATURE_COLLECTION_SCHEMA}},
        },
        **problems(401, 403, 422, 503),
    },
)
def list_assets(
    store: StoreDep,
    user: CurrentUser,
    response: Response,
    near: Annotated[
        str | None,
        Query(description="centre as 'lat,lon' in degrees (WGS84); results nearest first"),
    ] = None,
    radius_m: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_RADIUS_M,
            allow_inf_nan=False,
            description=f"radius around `near` in metres (geodesic); default {DEFAULT_RADIUS_M:g}",
        ),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(description="'west,south,east,north' in degrees; edges included"),
    ] = None,
    category: Annotated[
        list[str] | None,
        Query(description="taxonomy term id, matching its descendants too; repeat for any of"),
    ] = None,
    kind: Annotated[list[AssetKind] | None, Query(description="repeat for any of")] = None,
    text: Annotated[
        str | None,
        Query(max_length=200, description="every word a prefix of a word of name/description"),
    ] = None,
    day: Annotated[
        list[Weekday] | None,
        Query(description="has a session on this weekday (mo..su); repeat for any of"),
    ] = None,
    min_age: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_AGE,
            description="open to people aged this (years): the asset's minimum age is "
            "unset or at most this",
        ),
    ] = None,
    max_age: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_AGE,
            description="open to people aged this (years): the asset's maximum age is "
            "unset or at least this. With `min_age`, the asset admits the whole range; "
            "for one person aged A send min_age=A&max_age=A. Grown-ups (min_age 18 or "
            "more, or unset) are also let into groups whose ages are the children's "
            "who come with them (`eligibility.with_carers`)",
        ),
    ] = None,
    free_only: Annotated[
        bool, Query(description="only assets that cost nothing (an unstated cost is not free)")
    ] = False,
    location_precision: Annotated[
        list[LocationPrecision] | None,
        Query(
            description="how the point was found: 'point' (where it meets), 'postcode' (a "
            "postcode's centre) or 'area' (a district's or a place's centre); repeat for any "
            "of. 'postcode' and 'area' find listings whose pin needs moving to the door"
        ),
    ] = None,
    status: Annotated[
        list[AssetStatus] | None,
        Query(
            description="default published; others need a token: organisation users see "
            "their own organisation's, admins all"
        ),
    ] = None,
    organisation_id: Annotated[
        str | None, Query(max_length=100, description="assets of this organisation")
    ] = None,
    modified_after: Annotated[
        datetime | None, Query(description="changed after this time (ISO 8601; naive = UTC)")
    ] = None,
    verified_before: Annotated[
        datetime | None,
        Query(
            description="never confirmed as still running, or last confirmed before this "
            "time (ISO 8601; naive = UTC): the listings due a check"
        ),
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page number, from 1")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description="assets per page")
    ] = DEFAULT_PER_PAGE,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_PER_PAGE, deprecated=True, description="the same as `per_page`"),
    ] = None,
    output: FormatParam = None,
    accept: AcceptHeader = None,
) -> Any:
    """Assets matching every filter given, a page at a time with totals.

    With ``near``: those within ``radius_m`` metres, nearest first (ties by id), each
    with ``distance_m``. Otherwise ordered by name (then id). Ages are whole years:
    ``min_age=X`` keeps assets open to people aged X as far as their lower limit goes
    (minimum age unset or <= X), ``max_age=Y`` those whose upper limit admits Y
    (maximum age unset or >= Y); both together keep assets that admit every age from X
    to Y. A grown-up range (X at least 18, or unset) also keeps ``with_carers`` groups,
    whose ages are those of the children the grown-ups bring. With ``near``, GeoJSON by
    default (a radius search is a map layer); without, JSON. ``format`` (``json`` or
    ``geojson``) or an ``Accept`` header that prefers one of ``application/json`` and
    ``application/geo+json`` chooses instead.
    """
    per_page = limit or per_page
    filters = build_filters(
        kinds=kind,
        categories=category,
        statuses=status or ["published"],
        text=text or None,
        weekdays=day,
        age_min=min_age,
        age_max=max_age,
        free_only=free_only,
        precisions=location_precision,
        bbox=None if bbox is None else parse_bbox(bbox),
        organisation_id=organisation_id,
        modified_after=modified_after,
        verified_before=verified_before,
    )
    filters = readable_filters(user, filters)
    radius: float | None = None
    shown: list[tuple[Asset, float | None]]
    if near is None:
        if radius_m is not None:
            raise InvalidInputError("`radius_m` needs `near` (a 'lat,lon' centre)", field="near")
        result = store.list_assets(filters, page=page, per_page=per_page)
        total, shown = result.total, [(a, None) for a in result.items]
    else:
        lat, lon = parse_near(near)
        radius = DEFAULT_RADIUS_M if radius_m is None else radius_m
        total = store.count_assets(
            filters.model_copy(update={"near": NearQuery(lat=lat, lon=lon, radius_m=radius)})
        )
        offset = (page - 1) * per_page
        hits = (
            []
            if offset >= total
            else store.nearby(lat, lon, radius, filters, limit=offset + per_page)
        )
        shown = [(h.asset, h.distance_m) for h in hits[offset:]]
    pages = page_count(total, per_page)
    if wants_geojson(output, accept, default=near is not None):
        now = local_now()
        return GeoJSONResponse(
            {
                "type": "FeatureCollection",
                "features": [feature(asset, d, now) for asset, d in shown],
                "total": total,
                "numberMatched": total,
                "numberReturned": len(shown),
                "page": page,
                "per_page": per_page,
                "pages": pages,
                "truncated": page < pages,
                "radius_m": radius,
            },
            headers={"Vary": "Accept"},
        )
    response.headers["Vary"] = "Accept"
    return AssetPage(
        items=[_listed(asset, d) for asset, d in shown],
        total=total,
        page=page,
        per_page=per_page,
        pages=pages,
        radius_m=radius,
    )


def html_alternate(asset_id: str) -> str:
    """The ``Link`` header value naming an asset's web page."""
    page = asset_link(asset_id)
    return f'<{page}>; rel="alternate"; type="text/html"'


@router.get(
    "/assets/{asset_id}",
    response_model=Asset,
    summary="One asset (JSON, or a GeoJSON Feature)",
    responses={
        200: {
            "description": "The asset",
            "content": {GEOJSON: {"schema": FEATURE_SCHEMA}},
            "headers": {
                "Link": {
                    "description": 'its web page: `</listings/ID>; rel="alternate"`',
                    "schema": {"type": "string"},
                }
            },
        },
        **problems(401, 404, 422, 503),
    },
)
def get_asset(
    store: StoreDep,
    user: CurrentUser,
    response: Response,
    asset_id: AssetId,
    output: FormatParam = None,
    accept: AcceptHeader = None,
) -> Any:
    """Unpublished assets are visible to admins and to their own organisation's users
    only; to anyone else they do not exist (404). The ``Link`` header names the
    listing's web page (``rel="alternate"``, HTML), which the same people may see."""
    asset = store.get_asset(asset_id)
    if not can_read_asset(user, asset):
        raise NotFoundError("asset", asset_id)
    headers = {"Vary": "Accept", "Link": html_alternate(asset.id)}
    if wants_geojson(output, accept):
        return GeoJSONResponse(feature(asset, None, local_now()), headers=headers)
    response.headers.update(headers)
    return asset


@router.post(
    "/assets",
    response_model=AssetCreated,
    status_code=201,
    summary="Create an asset (organisation users: pending until an admin publishes it)",
    responses={
        201: {
            "description": "Created; `Location` is its URL. `likely_duplicates` warns of "
            "stored listings it may repeat",
            "headers": location_header("the new asset's URL"),
        },
        **problems(*WRITE_STATUSES, 409),
    },
)
def create_asset(
    store: StoreDep,
    user: Writer,
    response: Response,
    asset: Annotated[Asset, Body(description=ID_OPTIONAL)],
) -> AssetCreated:
    """Organisation users create assets of their own organisation only (one without
    ``organisation_id`` gets theirs), and these start ``pending`` whatever ``status``
    says; admins create anything. The store sets ``created_at``, ``updated_at`` and
    ``version``. Whoever creates a listing vouches that it runs: without a
    ``last_verified_at`` it is confirmed as of now."""
    asset = authorise_asset_write(user, None, confirmed_on_creation(asset))
    warnings = likely_duplicates(store, asset)
    created = store.create_asset(asset, actor=user.id)
    response.headers["Location"] = asset_url(created.id)
    values = {name: getattr(created, name) for name in Asset.model_fields}
    return AssetCreated.model_construct(**values, likely_duplicates=warnings)


@router.patch(
    "/assets/{asset_id}",
    response_model=Asset,
    summary="Change some fields of an asset",
    responses={
        202: held_response(Asset, "asset"),
        **problems(*WRITE_STATUSES, 404, 409),
    },
)
def patch_asset(
    store: StoreDep,
    user: Writer,
    asset_id: AssetId,
    patch: Annotated[AssetPatch, Body()],  # type: ignore[valid-type]
    response: Response,
) -> Asset:
    """Nested objects are merged one level deep (``{"location": {"lat": 53.8}}`` keeps
    the address). Organisation users may change their own organisation's assets but not
    publish them or hand them to another organisation. An empty patch changes nothing.

    An organisation's change to what a moderator checked on a listing a moderator has
    published (``moderated``: its name, kind, description, categories, place, venue,
    contact details or who it is for) is held for review rather than made, even after
    the listing was taken off the directory: the answer is then 202, and the listing
    keeps its checked values until an admin approves (``/assets/{id}/held-changes``)."""
    changes = changes_of(patch)
    before = store.get_asset(asset_id)
    proposing = needs_review(user.role, before)
    # A change to part of a held field adds to what waits, not to the published value.
    held = store.get_held_changes(asset_id) if proposing else None
    after = authorise_asset_write(user, before, apply_patch(with_proposals(before, held), changes))
    if not changes:
        return before
    live, hold = split_for_review(user.role, before, after, changes)
    # Both reads above decided what is held: the write is refused (409) if the listing
    # (say, published meanwhile) or what waits on it moved on since.
    stored = store.update_asset(
        asset_id,
        live,
        actor=user.id,
        expected_version=before.version,
        hold=hold or None,
        held_revision=(held.revision if held else 0) if proposing and hold else None,
    )
    mark_held(response, asset_url(asset_id), proposed_fields(before, hold))
    return stored


@router.delete(
    "/assets/{asset_id}",
    response_model=Asset,
    summary="Archive an asset (it is kept, with status archived)",
    responses=problems(*WRITE_STATUSES, 404),
)
def archive_asset(store: StoreDep, user: Writer, asset_id: AssetId) -> Asset:
    """Admins archive any asset; organisation users their own organisation's."""
    before = store.get_asset(asset_id)
    authorise_asset_write(user, before, before.model_copy(update={"status": "archived"}))
    return store.archive_asset(asset_id, actor=user.id)
