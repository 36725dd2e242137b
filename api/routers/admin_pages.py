"""The moderation queue: listings awaiting approval, oldest first, to publish or archive;
organisations' changes to published listings held for review (``geo_assets.review``),
oldest first, to approve or reject; and under them, the organisations to remind of
listings nobody has confirmed lately.

Publishing, archiving and deciding on held changes are store writes with the admin as
``actor``, so the audit log records who did what; ``authorise_asset_write`` is asked
first, as for every write. A decision names the revision of the held changes the admin
read, so nothing the organisation proposed since is approved unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import StoreDep
from api.listing_flags import flag
from api.listing_form import KIND_LABELS
from api.routers.portal_pages import (
    DoneParams,
    ListingsView,
    PageNumber,
    done_redirect,
    refused,
)
from api.routers.schemas import page_count
from api.web import PostedForm, SameOrigin, form_number, page_role, render
from geo_assets.auth import User, authorise_asset_write
from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDenied
from geo_assets.freshness import stale_days, stale_filters
from geo_assets.model import Asset, Eligibility, Organisation, utcnow
from geo_assets.review import FIELD_LABELS, HeldChanges
from geo_assets.store import AssetFilters, Store
from geo_assets.store.base import OrganisationLookup, iter_assets
from geo_assets.taxonomy import Taxonomy, default_taxonomy
from maps.popups import who_text

router = APIRouter(include_in_schema=False, tags=["pages"])

AdminUser = Annotated[User, page_role("admin")]
PER_PAGE = 50
#: Organisations shown in the "need confirming" table, those with the most first.
CHASE_ROWS = 20
NOTICES = {
    "published": "Published “{name}”: it now shows in searches and on the map.",
    "archived": "Archived “{name}”: it is kept, but no longer shown to anyone.",
    "approved": "Approved the changes to “{name}”: the directory now shows them.",
    "rejected": "Rejected the changes to “{name}”: the directory goes on showing it as published.",
}
_EARLIEST = datetime.min.replace(tzinfo=UTC)
HeldPage = Annotated[int, Query(ge=1, le=10_000, description="page of the held changes")]
# Where a listing's pin stands, as a moderator checks it.
PIN_WORDS = {
    "point": "where it meets",
    "postcode": "at the postcode's centre",
    "area": "at the area's centre",
}


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


# --- changes held for review -----------------------------------------------------------------


def _lines(pairs: list[tuple[str, Any]]) -> list[str]:
    """Each part that has a value, as "Label: value"; ["None"] when none has."""
    return [f"{label}: {value}" for label, value in pairs if value not in (None, "")] or ["None"]


def _point(lat: Any, lon: Any) -> str | None:
    """A point to about a metre (five decimal places of a degree)."""
    numbers = all(isinstance(x, int | float) for x in (lat, lon))
    return f"{lat:.5f}, {lon:.5f}" if numbers else None


def value_lines(field: str, value: Any, taxonomy: Taxonomy, store: Store) -> list[str]:
    """A reviewed field's value (as stored, in JSON) in words, a line per part, so that a
    moderator can read the published and proposed versions side by side."""
    if value in (None, "", [], {}):
        return ["None"]
    if field == "kind":
        return [KIND_LABELS.get(value, str(value))]
    if field == "categories":
        return [taxonomy.get(c).name if c in taxonomy else str(c) for c in value]
    if field == "venue_id":
        try:
            return [store.get_asset(value).name]
        except NotFoundError:
            return [f"Unknown ({value})"]
    if field == "location":
        return _lines(
            [
                ("Address", value.get("address")),
                ("Town, village or neighbourhood", value.get("place")),
                ("Postcode", value.get("postcode")),
                ("Latitude, longitude", _point(value.get("lat"), value.get("lon"))),
                ("Pin", PIN_WORDS.get(value.get("precision", "point"))),
                ("Outline", "drawn on the map" if value.get("footprint") else None),
            ]
        )
    if field == "contact":
        return _lines(
            [
                ("Who to ask", value.get("name")),
                ("Email", value.get("email")),
                ("Phone", value.get("phone")),
                ("Web page", value.get("url")),
            ]
        )
    if field == "eligibility":
        try:
            who = who_text(Eligibility.model_validate(value))
        except ValidationError:
            who = None
        return _lines([("Who can come", who), ("Notes", value.get("notes"))])
    return [str(value)]


@dataclass(frozen=True)
class HeldRow:
    """One held field: its plain name, and its published and proposed values in words."""

    label: str
    published: list[str]
    proposed: list[str]


@dataclass(frozen=True)
class HeldEntry:
    """A listing's held changes as the queue shows them."""

    held: HeldChanges
    asset: Asset
    organisation: str
    proposer: str
    rows: list[HeldRow]


def held_entries(
    store: Store, held: list[HeldChanges], orgs: OrganisationLookup, taxonomy: Taxonomy
) -> list[HeldEntry]:
    """``held`` with the listings, organisations and proposers named, field by field."""
    names: dict[str, str] = {}
    out = []
    for changes in held:
        try:
            asset = store.get_asset(changes.asset_id)
        except NotFoundError:  # deleted since the list was read
            continue
        if changes.proposed_by not in names:
            try:
                names[changes.proposed_by] = store.get_user(changes.proposed_by).name
            except NotFoundError:
                names[changes.proposed_by] = f"unknown ({changes.proposed_by})"
        published = asset.model_dump(mode="json")
        rows = [
            HeldRow(
                FIELD_LABELS[f].capitalize(),
                value_lines(f, published[f], taxonomy, store),
                value_lines(f, changes.changes[f], taxonomy, store),
            )
            for f in changes.fields()
        ]
        org = organisation_label(asset.organisation_id, orgs.get(asset.organisation_id))
        out.append(HeldEntry(changes, asset, org, names[changes.proposed_by], rows))
    return out


def queue_page(
    request: Request,
    store: Store,
    page: int,
    *,
    held_page: int = 1,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    pending = pending_oldest_first(store)
    pages = page_count(len(pending), PER_PAGE)
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
    held = store.list_held_changes()  # the longest-waiting first
    held_pages = page_count(len(held), PER_PAGE)
    held_shown = held[(held_page - 1) * PER_PAGE : held_page * PER_PAGE]
    context = {
        "title": "Moderation",
        "rows": rows,
        "total": len(pending),
        "page": page,
        "pages": pages,
        "held": held_entries(store, held_shown, orgs, taxonomy),
        "held_total": len(held),
        "held_page": held_page,
        "held_pages": held_pages,
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
    held_page: HeldPage = 1,
) -> Response:
    notice = done.notice(store, user, NOTICES)
    return queue_page(request, store, page, held_page=held_page, notice=notice)


@router.post("/admin/{asset_id}/publish", dependencies=[SameOrigin])
def publish(
    request: Request, store: StoreDep, user: AdminUser, asset_id: str, form: PostedForm
) -> Response:
    """Publish a listing that awaits approval; anything else is answered with a 409. The
    queue's button sends the version it showed: a listing its organisation changed since
    is not published unseen (409), nor one posted without a version."""
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
        store.update_asset(
            asset_id,
            {"status": "published"},
            actor=user.id,
            expected_version=form_number(form, "version"),
        )
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)
    except ConflictError:
        error = (
            f"“{before.name}” was changed after this page was shown, so it was not "
            "published: check it again below."
        )
        return queue_page(request, store, 1, error=error, status_code=409)
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


@router.post("/admin/{asset_id}/held-changes", dependencies=[SameOrigin])
def decide_held_changes(
    request: Request, store: StoreDep, user: AdminUser, asset_id: str, form: PostedForm
) -> Response:
    """Approve (apply) or reject the held changes of a published listing, at the revision
    the admin read (``revision``); a newer one (the organisation proposed more since) is
    answered with a 409 and the queue as it is now."""
    decision, revision = str(form.get("decision") or ""), form_number(form, "revision")
    if decision not in ("approve", "reject") or not revision:
        error = "Choose Approve or Reject on the changes you have read."
        return queue_page(request, store, 1, error=error, status_code=422)
    try:
        before = store.get_asset(asset_id)
    except NotFoundError as exc:
        return refused(request, exc)
    gone = (
        f"No changes to “{before.name}” await review now: another moderator may have "
        "decided on them already."
    )
    proposed_more = (
        f"The organisation proposed more changes to “{before.name}” after you opened the "
        "queue, so nothing was decided. Read the changes below again, then decide."
    )
    approve = decision == "approve"
    try:
        authorise_asset_write(user, before, before)
        # The store checks, in its transaction, that the revision read is what waits.
        store.resolve_held_changes(asset_id, approve=approve, revision=revision, actor=user.id)
    except PermissionDenied as exc:
        return refused(request, exc)
    except NotFoundError:  # nothing waits: decided on by someone else, say
        return queue_page(request, store, 1, error=gone, status_code=409)
    except ConflictError:
        return queue_page(request, store, 1, error=proposed_more, status_code=409)
    except InvalidInputError as exc:
        error = f"The changes to “{before.name}” cannot be approved: {exc}"
        return queue_page(request, store, 1, error=error, status_code=422)
    return done_redirect("/admin", "approved" if approve else "rejected", asset_id)
