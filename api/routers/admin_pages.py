"""The moderation queue: listings awaiting approval, oldest first, to publish or archive;
organisations' changes to published listings and to their own records held for review
(``geo_assets.review``), oldest first, to approve or reject; and under them, the
organisations to remind of listings nobody has confirmed lately.

Publishing, archiving and deciding on held changes are store writes with the admin as
``actor``, so the audit log records who did what; ``authorise_asset_write`` is asked
first, as for every write. A decision names the revision of the held changes the admin
read, so nothing the organisation proposed since is approved unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import StoreDep
from api.listing_flags import flag
from api.listing_form import KIND_LABELS
from api.routers.portal_pages import (
    Done,
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
from geo_assets.review import FIELD_LABELS, AnyHeld, HeldChanges, HeldOrganisationChanges
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
    "rejected": "Rejected the changes to “{name}”: it keeps the version a moderator checked.",
}
ORGANISATION_NOTICES = {
    "approved": "Approved the changes to the details of “{name}”: its listings and the "
    "directory's feed now show them.",
    "rejected": "Rejected the changes to the details of “{name}”: they stay as they were.",
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


def checks(asset: Asset, taxonomy: Taxonomy, store: Store) -> list[str]:
    """What people will ring or write to, and who may come, in the words the held
    changes use: a new listing is checked for them as a change to one is."""
    contact = value_lines("contact", asset.contact.model_dump(mode="json"), taxonomy, store)
    who = value_lines("eligibility", asset.eligibility.model_dump(mode="json"), taxonomy, store)
    return (["No contact details"] if contact == ["None"] else contact) + who


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


@dataclass(frozen=True)
class HeldOrganisationEntry:
    """An organisation's held changes to its own record as the queue shows them."""

    held: HeldOrganisationChanges
    org: Organisation
    proposer: str
    rows: list[HeldRow]


class HeldWords:
    """Held changes in words, field by field, with their proposers named (each read once)."""

    def __init__(self, store: Store, taxonomy: Taxonomy) -> None:
        self.store = store
        self.taxonomy = taxonomy
        self.names: dict[str, str] = {}

    def proposer(self, held: AnyHeld) -> str:
        user_id = held.proposed_by
        if user_id not in self.names:
            try:
                self.names[user_id] = self.store.get_user(user_id).name
            except NotFoundError:
                self.names[user_id] = f"unknown ({user_id})"
        return self.names[user_id]

    def rows(self, held: AnyHeld, record: Asset | Organisation) -> list[HeldRow]:
        published = record.model_dump(mode="json")
        return [
            HeldRow(
                FIELD_LABELS[f].capitalize(),
                value_lines(f, published[f], self.taxonomy, self.store),
                value_lines(f, held.changes[f], self.taxonomy, self.store),
            )
            for f in held.fields()
        ]


def held_entries(
    store: Store, held: list[HeldChanges], orgs: OrganisationLookup, words: HeldWords
) -> list[HeldEntry]:
    """``held`` with the listings, organisations and proposers named, field by field."""
    out = []
    for changes in held:
        try:
            asset = store.get_asset(changes.asset_id)
        except NotFoundError:  # deleted since the list was read
            continue
        org = organisation_label(asset.organisation_id, orgs.get(asset.organisation_id))
        rows = words.rows(changes, asset)
        out.append(HeldEntry(changes, asset, org, words.proposer(changes), rows))
    return out


def held_organisation_entries(
    store: Store, orgs: OrganisationLookup, words: HeldWords
) -> list[HeldOrganisationEntry]:
    """Every organisation's held changes to its record, the longest-waiting first."""
    out = []
    for changes in store.list_held_organisation_changes():
        org = orgs.get(changes.organisation_id)
        if org is not None:
            rows = words.rows(changes, org)
            out.append(HeldOrganisationEntry(changes, org, words.proposer(changes), rows))
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
    words = HeldWords(store, taxonomy)  # proposers named once for both sections
    now = utcnow()
    rows = [
        {
            "item": flag(store, asset, now),
            "organisation": organisation_label(
                asset.organisation_id, orgs.get(asset.organisation_id)
            ),
            "categories": [taxonomy.get(c).name for c in asset.categories if c in taxonomy],
            "where": where(asset),
            "checks": checks(asset, taxonomy, store),
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
        "held": held_entries(store, held_shown, orgs, words),
        "held_organisations": held_organisation_entries(store, orgs, words),
        "held_ids": {h.asset_id for h in held},
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
    notice = done.notice(store, user, NOTICES) or organisation_notice(store, done)
    return queue_page(request, store, page, held_page=held_page, notice=notice)


def organisation_notice(store: Store, done: Done) -> str | None:
    """The sentence after a decision on an organisation's held changes, if that is what
    ``done`` says happened."""
    if done.done not in ORGANISATION_NOTICES or not done.organisation:
        return None
    try:
        org = store.get_organisation(done.organisation)
    except NotFoundError:
        return None
    return ORGANISATION_NOTICES[done.done].format(name=org.name)


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


def _decide(
    request: Request,
    store: Store,
    form: Any,
    name: str,
    resolve: Callable[[bool, int], object],
    done: Callable[[str], Response],
) -> Response:
    """Approve or reject the held changes of the record called ``name`` at the revision
    the admin read (``revision``): ``resolve(approve, revision)``, then ``done(decision)``.
    A revision no longer waiting (decided on by another moderator, or added to by the
    organisation) is answered with a 409 and the queue as it is now."""
    decision, revision = str(form.get("decision") or ""), form_number(form, "revision")
    if decision not in ("approve", "reject") or not revision:
        error = "Choose Approve or Reject on the changes you have read."
        return queue_page(request, store, 1, error=error, status_code=422)
    try:
        # The store checks, in its transaction, that the revision read is what waits.
        resolve(decision == "approve", revision)
    except NotFoundError:  # nothing waits: decided on by someone else, say
        error = (
            f"No changes to “{name}” await review now: another moderator may have "
            "decided on them already."
        )
        return queue_page(request, store, 1, error=error, status_code=409)
    except ConflictError:
        error = (
            f"The organisation proposed more changes to “{name}” after you opened the "
            "queue, so nothing was decided. Read the changes below again, then decide."
        )
        return queue_page(request, store, 1, error=error, status_code=409)
    except InvalidInputError as exc:
        error = f"The changes to “{name}” cannot be approved: {exc}"
        return queue_page(request, store, 1, error=error, status_code=422)
    return done("approved" if decision == "approve" else "rejected")


@router.post("/admin/{asset_id}/held-changes", dependencies=[SameOrigin])
def decide_held_changes(
    request: Request, store: StoreDep, user: AdminUser, asset_id: str, form: PostedForm
) -> Response:
    """Approve (apply) or reject the held changes of a published listing."""
    try:
        before = store.get_asset(asset_id)
        authorise_asset_write(user, before, before)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)

    def resolve(approve: bool, revision: int) -> object:
        return store.resolve_held_changes(
            asset_id, approve=approve, revision=revision, actor=user.id
        )

    return _decide(
        request, store, form, before.name, resolve, lambda d: done_redirect("/admin", d, asset_id)
    )


@router.post("/admin/organisations/{org_id}/held-changes", dependencies=[SameOrigin])
def decide_held_organisation_changes(
    request: Request, store: StoreDep, user: AdminUser, org_id: str, form: PostedForm
) -> Response:
    """Approve (apply) or reject the held changes to an organisation's record."""
    try:
        before = store.get_organisation(org_id)
    except NotFoundError as exc:
        return refused(request, exc, "organisation")

    def resolve(approve: bool, revision: int) -> object:
        return store.resolve_held_organisation_changes(
            org_id, approve=approve, revision=revision, actor=user.id
        )

    def done(decision: str) -> Response:
        query = urlencode({"done": decision, "organisation": org_id})
        return RedirectResponse(f"/admin?{query}#held-organisations-heading", 303)

    return _decide(request, store, form, before.name, resolve, done)
