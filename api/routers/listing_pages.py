"""``/listings/{id}``: one listing as a readable page (what map popups and plans link to).

Published listings are public; others only for those who may read them through the
API (their organisation, admins), by the same rule.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.calendar_view import calendar_response
from api.deps import StoreDep
from api.routers.assets import AssetId
from api.web import PageUser, render
from geo_assets.auth import User, can_read_asset
from geo_assets.clock import local_today
from geo_assets.errors import NotFoundError
from geo_assets.freshness import is_stale
from geo_assets.hsds import how_to_join
from geo_assets.ical import sessions_to_come
from geo_assets.languages import languages_text
from geo_assets.model import Asset, utcnow
from geo_assets.store import Store
from geo_assets.taxonomy import default_taxonomy
from maps.popups import access_text, cost_text, who_text

router = APIRouter(include_in_schema=False, tags=["pages"])


def _readable(store: Store, user: User | None, asset_id: str) -> Asset | None:
    try:
        asset = store.get_asset(asset_id)
    except NotFoundError:
        return None
    return asset if can_read_asset(user, asset) else None


def _no_such_listing(request: Request) -> Response:
    context: dict[str, Any] = {
        "title": "No such listing",
        "message": "This listing does not exist or is not published (yet).",
    }
    return render(request, "error.html", context, status_code=404)


@router.get("/listings/{asset_id}")
def listing(request: Request, store: StoreDep, user: PageUser, asset_id: AssetId) -> Response:
    asset = _readable(store, user, asset_id)
    if asset is None:
        return _no_such_listing(request)
    taxonomy = default_taxonomy()
    organisation = None
    if asset.organisation_id:
        try:
            organisation = store.get_organisation(asset.organisation_id)
        except NotFoundError:
            organisation = None
    sessions = [s.describe() for s in asset.sessions]
    context = {
        "title": asset.name,
        "asset": asset,
        "organisation": organisation,
        "categories": [taxonomy.get(c).name for c in asset.categories if c in taxonomy],
        "sessions": [s[0].upper() + s[1:] for s in sessions],
        "cost": cost_text(asset.cost),
        "access": access_text(asset),
        "who": who_text(asset.eligibility),
        "joining": how_to_join(asset),
        "languages": languages_text(asset.languages),
        "stale": is_stale(asset, utcnow()),
        "to_come": sessions_to_come([asset], local_today()),
    }
    return render(request, "listing.html", context)


@router.get("/listings/{asset_id}/calendar.ics")
def listing_calendar(
    request: Request, store: StoreDep, user: PageUser, asset_id: AssetId
) -> Response:
    """The listing's sessions still to come, for a calendar (iCalendar, floating times)."""
    asset = _readable(store, user, asset_id)
    if asset is None:
        return _no_such_listing(request)
    return calendar_response(request, [asset], name=asset.name, file_name=asset.name)
