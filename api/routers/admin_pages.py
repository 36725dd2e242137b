"""The moderation queue: listings awaiting approval, oldest first, to publish or archive.

Publishing and archiving are store writes with the admin as ``actor``, so the audit log
records who did what; ``authorise_asset_write`` is asked first, as for every write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import StoreDep
from api.listing_flags import flag
from api.routers.portal_pages import DoneParams, PageNumber, done_redirect, refused
from api.web import SameOrigin, page_role, render
from geo_assets.auth import User, authorise_asset_write
from geo_assets.errors import NotFoundError, PermissionDenied
from geo_assets.model import Asset, utcnow
from geo_assets.store import AssetFilters, Store
from geo_assets.store.base import iter_assets
from geo_assets.taxonomy import default_taxonomy

router = APIRouter(include_in_schema=False, tags=["pages"])

AdminUser = Annotated[User, page_role("admin")]
PER_PAGE = 50
NOTICES = {
    "published": "Published “{name}”: it now shows in searches and on the map.",
    "archived": "Archived “{name}”: it is kept, but no longer shown to anyone.",
}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def pending_oldest_first(store: Store) -> list[Asset]:
    """Every listing awaiting approval, the longest-waiting first (then by id)."""
    pending = iter_assets(store, AssetFilters(statuses=["pending"]))
    return sorted(pending, key=lambda a: (a.created_at or _EARLIEST, a.id))


def where(asset: Asset) -> str:
    """Where a listing is, in words a moderator recognises."""
    loc = asset.location
    words = ", ".join(part for part in (loc.place, loc.postcode) if part)
    return words or loc.address or f"{loc.lat:.4f}, {loc.lon:.4f}"


def queue_page(
    request: Request,
    store: Store,
    page: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    pending = pending_oldest_first(store)
    pages = max(1, -(-len(pending) // PER_PAGE))
    shown = pending[(page - 1) * PER_PAGE : page * PER_PAGE]
    taxonomy = default_taxonomy()
    organisations: dict[str, str] = {}
    for asset in shown:
        org_id = asset.organisation_id
        if org_id and org_id not in organisations:
            try:
                organisations[org_id] = store.get_organisation(org_id).name
            except NotFoundError:
                organisations[org_id] = f"unknown ({org_id})"
    now = utcnow()
    rows = [
        {
            "item": flag(store, asset, now),
            "organisation": organisations.get(asset.organisation_id or "", "No organisation"),
            "categories": [taxonomy.get(c).name for c in asset.categories if c in taxonomy],
            "where": where(asset),
        }
        for asset in shown
    ]
    context = {
        "title": "Moderation",
        "rows": rows,
        "total": len(pending),
        "page": page,
        "pages": pages,
        "notice": notice,
        "error": error,
    }
    return render(request, "admin_queue.html", context, status_code=status_code)


@router.get("/admin")
def moderation_queue(
    request: Request,
    store: StoreDep,
    user: AdminUser,
    done: DoneParams,
    page: PageNumber = 1,
) -> Response:
    return queue_page(request, store, page, notice=done.notice(store, user, NOTICES))


@router.post("/admin/{asset_id}/publish", dependencies=[SameOrigin])
def publish(request: Request, store: StoreDep, user: AdminUser, asset_id: str) -> Response:
    """Publish a listing that awaits approval; anything else is answered with a 409."""
    try:
        before = store.get_asset(asset_id)
        if before.status == "published":
            return done_redirect("/admin", "published", asset_id)
        if before.status not in ("pending", "draft"):
            error = (
                f"“{before.name}” is {before.status}, not awaiting approval: it was not published."
            )
            return queue_page(request, store, 1, error=error, status_code=409)
        authorise_asset_write(user, before, before.model_copy(update={"status": "published"}))
        store.update_asset(asset_id, {"status": "published"}, actor=user.id)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)
    return done_redirect("/admin", "published", asset_id)


@router.post("/admin/{asset_id}/archive", dependencies=[SameOrigin])
def archive(request: Request, store: StoreDep, user: AdminUser, asset_id: str) -> Response:
    """Archive a listing (it is kept with status archived, as ``DELETE /assets/{id}`` does)."""
    try:
        before = store.get_asset(asset_id)
        if before.status != "archived":
            authorise_asset_write(user, before, before.model_copy(update={"status": "archived"}))
            store.archive_asset(asset_id, actor=user.id)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)
    return done_redirect("/admin", "archived", asset_id)
