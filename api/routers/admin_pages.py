"""The moderation queue: listings awaiting approval, oldest first, to publish or archive;
and under it, the organisations to remind of listings nobody has confirmed lately.

Publishing and archiving are store writes with the admin as ``actor``, so the audit log
records who did what; ``authorise_asset_write`` is asked first, as for every write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import StoreDep
from api.listing_flags import flag
from api.routers.portal_pages import (
    DoneParams,
    ListingsView,
    PageNumber,
    done_redirect,
    refused,
)
from api.web import SameOrigin, page_role, render
from geo_assets.auth import User, authorise_asset_write
from geo_assets.errors import NotFoundError, PermissionDenied
from geo_assets.freshness import stale_days, stale_filters
from geo_assets.model import Asset, Organisation, utcnow
from geo_assets.store import AssetFilters, Store
from geo_assets.store.base import OrganisationLookup, iter_assets
from geo_assets.taxonomy import default_taxonomy

router = APIRouter(include_in_schema=False, tags=["pages"])

AdminUser = Annotated[User, page_role("admin")]
PER_PAGE = 50
#: Organisations shown in the "need confirming" table, those with the most first.
CHASE_ROWS = 20
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


def organisation_label(org_id: str | None, org: Organisation | None) -> str:
    if org_id is None:
        return "No organisation"
    return org.name if org is not None else f"unknown ({org_id})"


@dataclass(frozen=True)
class ToChase:
    """One organisation's listings that need confirming; ``org`` for its name and contact
    details (None: an organisation no longer stored)."""

    org_id: str
    org: Organisation | None
    count: int

    @property
    def organisation(self) -> str:
        return organisation_label(self.org_id, self.org)

    @property
    def href(self) -> str:
        """Its own short list."""
        return ListingsView(needs_confirming=True, organisation=self.org_id).href("/portal")


def to_chase(store: Store, now: datetime) -> dict[str, Any]:
    """The live listings nobody has confirmed lately: how many, how many of them belong
    to no organisation (the administrators' own to check), and the organisations with
    the most (then by name) with their contact details: whom to remind.

    One grouped count; then the organisations that can make the table (the first
    ``CHASE_ROWS`` and any tied with the last of them) are read, for their names."""
    counts = store.count_assets_by_organisation(stale_filters(now=now))
    unowned = counts.get(None, 0)
    owned = {org_id: n for org_id, n in counts.items() if org_id is not None}
    ranked = sorted(owned.items(), key=lambda item: -item[1])
    if len(ranked) > CHASE_ROWS:
        last = ranked[CHASE_ROWS - 1][1]
        ranked = [item for item in ranked if item[1] >= last]
    orgs = OrganisationLookup(store)
    rows = sorted(
        (ToChase(org_id, orgs.get(org_id), n) for org_id, n in ranked),
        key=lambda row: (-row.count, row.organisation.casefold()),
    )
    return {
        "total": sum(counts.values()),
        "unowned": unowned,
        "days": stale_days(),
        "rows": rows[:CHASE_ROWS],
        "all_href": ListingsView(needs_confirming=True).href("/portal"),
        "more": len(owned) - min(len(rows), CHASE_ROWS),
    }


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
    orgs = OrganisationLookup(store)
    now = utcnow()
    rows = [
        {
            "item": flag(store, asset, now),
            "organisation": organisation_label(
                asset.organisation_id, orgs.get(asset.organisation_id)
            ),
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
        "chase": to_chase(store, now),
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
