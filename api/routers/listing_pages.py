"""``/listings/{id}``: one listing as a readable page (what map popups and plans link to).

Published listings are public; others only for those who may read them through the
API (their organisation, admins), by the same rule.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import StoreDep
from api.routers.assets import AssetId
from api.web import PageUser, render
from geo_assets.auth import can_read_asset
from geo_assets.errors import NotFoundError
from geo_assets.freshness import is_stale
from geo_assets.hsds import how_to_join
from geo_assets.languages import languages_text
from geo_assets.model import utcnow
from geo_assets.taxonomy import default_taxonomy
from maps.popups import access_text, cost_text, who_text

router = APIRouter(include_in_schema=False, tags=["pages"])


@router.get("/listings/{asset_id}")
def listing(request: Request, store: StoreDep, user: PageUser, asset_id: AssetId) -> Response:
    try:
        asset = store.get_asset(asset_id)
    except NotFoundError:
        asset = None
    if asset is None or not can_read_asset(user, asset):
        context: dict[str, Any] = {
            "title": "No such listing",
            "message": "This listing does not exist or is not published (yet).",
        }
        return render(request, "error.html", context, status_code=404)
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
    }
    return render(request, "listing.html", context)
