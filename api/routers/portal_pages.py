"""The organisation portal: its own listings, add and edit, "still running", uploads.

The rules are the domain's, as in the JSON API: ``authorise_asset_write`` decides what
an organisation may write (its own listings; new ones start pending until an admin
publishes them), ``confirm_still_running`` records a confirmation and ``import_upload``
runs the template import; these pages gather input and show outcomes. Admins may use
every page and see every organisation's listings. Every POST needs a same-origin
``Origin`` (:data:`api.web.SameOrigin`); after a change the browser is redirected (303),
so reloading the page never repeats it.

An organisation's changes to what a moderator checked on a published listing (its name,
place, contact details...) are held for review (``geo_assets.review``): the portal says
which wait, and its form shows them as proposed, so saving again keeps them.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.deps import StoreDep
from api.listing_flags import flag
from api.listing_form import (
    ACCESS_FEATURES,
    ACCESS_LABELS,
    ATTENDANCE_LABELS,
    CONNECTION_LABELS,
    COST_CHOICES,
    GENDER_LABELS,
    KIND_LABELS,
    MAX_SESSIONS,
    PERIOD_LABELS,
    WEEKDAY_CHOICES,
    anchor_of,
    blank_values,
    category_groups,
    changes_of,
    frequency_choices,
    label_of,
    locate,
    read_form,
    values_of,
)
from api.web import PostedForm, SameOrigin, form_number, page_role, render
from geo_assets.auth import (
    User,
    authorise_asset_write,
    can_read_asset,
    owns_asset,
    readable_filters,
)
from geo_assets.errors import ConflictError, NotFoundError, PermissionDenied
from geo_assets.freshness import (
    confirm_still_running,
    confirmed_on_creation,
    stale_filters,
)
from geo_assets.geocode import Geocoder
from geo_assets.ingest.base import ImportReport
from geo_assets.ingest.organisation_upload import UPLOAD_FORMATS, import_upload
from geo_assets.ingest.spreadsheet import EXAMPLE_CSV, write_xlsx
from geo_assets.ingest.template import COLUMN_NAMES, COLUMNS
from geo_assets.model import Asset, and_list, utcnow
from geo_assets.review import (
    FIELD_LABELS,
    HeldChanges,
    needs_review,
    proposals,
    split_for_review,
    with_proposals,
)
from geo_assets.store import AssetFilters, Store
from geo_assets.taxonomy import default_taxonomy
from maps.assets import MapAssetsError, MapParts, render_parts, require_assets
from maps.directory import DEFAULT_CENTRE
from maps.picker import picker_map

router = APIRouter(include_in_schema=False, tags=["pages"])

OrganisationUser = Annotated[User, page_role("organisation")]
PageNumber = Annotated[int, Query(ge=1, le=10_000)]
PER_PAGE = 50
# What the listings page says after a change, keyed by the redirect's `done` parameter.
NOTICES = {
    "created": "“{name}” is saved. It shows as awaiting approval until an administrator "
    "publishes it.",
    "saved": "Your changes to “{name}” are saved.",
    "held": "Your changes to “{name}” are saved. Changes to its {fields} wait for a "
    "moderator to check them: until then, the listing keeps the version a moderator checked.",
    "confirmed": "Thank you: “{name}” is confirmed as still running today.",
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The spreadsheet upload page; its body limit is `max_upload_bytes` (api.limits).
UPLOAD_PATH = "/portal/upload"
# An organisation's own details (api.routers.portal_organisation).
DETAILS_PATH = "/portal/organisation"


# --- shared helpers ---------------------------------------------------------------------------


def refused(
    request: Request, exc: NotFoundError | PermissionDenied, thing: str = "listing"
) -> Response:
    """The page for a listing (or other ``thing``) that is not there (404) or not the
    user's (403)."""
    if isinstance(exc, NotFoundError):
        context = {
            "title": f"{thing.capitalize()} not found",
            "message": f"There is no such {thing}.",
        }
        return render(request, "error.html", context, status_code=404)
    context = {"title": f"Not your {thing}", "message": str(exc)}
    return render(request, "error.html", context, status_code=403)


def writable(store: Store, user: User, asset_id: str) -> Asset:
    """The stored listing when ``user`` may change it; NotFoundError when they may not even
    read it (as the API answers), PermissionDenied when it is another organisation's."""
    asset = store.get_asset(asset_id)
    if not can_read_asset(user, asset):
        raise NotFoundError("asset", asset_id)
    authorise_asset_write(user, asset, asset)
    return asset


def done_redirect(
    path: str, done: str, asset_id: str, *, keep: dict[str, str] | None = None
) -> RedirectResponse:
    """Back to a list page (with the query ``keep``, such as the list's own filter), which
    then says what happened to which listing."""
    query = {**(keep or {}), "done": done, "asset": asset_id}
    return RedirectResponse(f"{path}?{urlencode(query)}", 303)


@dataclass
class Done:
    """What a redirect after a change says happened (``done``) and to which listing (or,
    on the moderation queue, to which organisation's details)."""

    done: Annotated[str | None, Query(max_length=20)] = None
    asset: Annotated[str | None, Query(max_length=100)] = None
    organisation: Annotated[str | None, Query(max_length=100)] = None

    def notice(self, store: Store, user: User, notices: dict[str, str]) -> str | None:
        """The sentence for ``done``, naming a listing ``user`` may read (and, where the
        sentence asks, which of its changes wait for review); None for anything else (the
        parameters only ever come from our own redirects)."""
        if self.done not in notices or not self.asset:
            return None
        try:
            asset = store.get_asset(self.asset)
        except NotFoundError:
            return None
        if not can_read_asset(user, asset):
            return None
        sentence = notices[self.done]
        if "{fields}" not in sentence:
            return sentence.format(name=asset.name)
        # What waits on a listing is for its own organisation (and admins) alone.
        held = store.get_held_changes(asset.id) if owns_asset(user, asset) else None
        if held is None:  # decided on since (or not theirs): nothing waits for them
            return NOTICES["saved"].format(name=asset.name)
        return sentence.format(name=asset.name, fields=held_fields_text(held))


DoneParams = Annotated[Done, Depends()]


# --- changes held for review ------------------------------------------------------------------


def held_fields_text(held: HeldChanges) -> str:
    """The held fields in plain words: "name and contact details"."""
    return and_list([FIELD_LABELS[f] for f in held.fields()])


# --- the listings -----------------------------------------------------------------------------


def whose_listings(store: Store, org_id: str | None) -> str | None:
    """Whose listings the portal shows, for its heading: the organisation's name (None
    when it is not stored), or "all organisations" (an admin's view of every one)."""
    if org_id is None:
        return "all organisations"
    try:
        return store.get_organisation(org_id).name
    except NotFoundError:
        return None


@dataclass(frozen=True)
class ListingsView:
    """Which listings the portal's list shows, as its query says: only those that need
    confirming, and (an admin's choice) only one organisation's. Links, the pager, the
    "Still running" forms and the redirects after them all keep it."""

    needs_confirming: bool = False
    organisation: str | None = None

    def params(self) -> dict[str, str]:
        out = {"needs_confirming": "true"} if self.needs_confirming else {}
        return out | ({"organisation": self.organisation} if self.organisation else {})

    def href(self, path: str, **change: Any) -> str:
        """``path`` with this view's query, after ``change`` (``needs_confirming=False``)."""
        query = urlencode(replace(self, **change).params())
        return f"{path}?{query}" if query else path


NeedsConfirming = Annotated[bool, Query(description="only the listings that need confirming")]
OrganisationParam = Annotated[
    str | None, Query(max_length=100, description="only this organisation's (admins)")
]


def listings_page(
    request: Request,
    store: Store,
    user: User,
    page: int,
    *,
    view: ListingsView = ListingsView(),
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The organisation's listings (every status), or only those that need confirming;
    an admin's are every organisation's, or the one ``view`` names."""
    # Every status; an organisation's user only ever reads its own (PermissionDenied).
    everything = readable_filters(user, AssetFilters(organisation_id=view.organisation))
    whose = whose_listings(store, everything.organisation_id)
    if whose is None and view.organisation is not None:
        return refused(request, NotFoundError("organisation", view.organisation), "organisation")
    now = utcnow()
    # By the rule the "Needs confirming" badge follows (live and stale), over every page.
    unconfirmed = stale_filters(everything.organisation_id, now=now)
    if view.needs_confirming:
        result = store.list_assets(unconfirmed, page=page, per_page=PER_PAGE)
        listed, need_confirming = store.count_assets(everything), result.total
    else:
        result = store.list_assets(everything, page=page, per_page=PER_PAGE)
        listed, need_confirming = result.total, store.count_assets(unconfirmed)
    # One read for every listing of theirs with changes awaiting review, whichever page.
    held = store.list_held_changes(organisation_id=everything.organisation_id)
    context = {
        "title": f"Our listings — {whose}" if whose else "Our listings",
        "listings": [flag(store, asset, now) for asset in result.items],
        "listed": listed,
        "need_confirming": need_confirming,
        "view": view,
        "result": result,
        "notice": notice,
        "error": error,
        "kind_labels": KIND_LABELS,
        "held": {h.asset_id: held_fields_text(h) for h in held},
        # Where to edit the details of the organisation shown (none: every one is).
        "details_href": (
            details_href(user, everything.organisation_id)
            if everything.organisation_id is not None
            else None
        ),
    }
    return render(request, "portal_listings.html", context, status_code=status_code)


def details_href(user: User, org_id: str, **query: str) -> str:
    """The page of ``org_id``'s own details as ``user`` reaches it (an organisation user
    only ever its own; an admin names the organisation), with ``query`` added."""
    params = ({"organisation": org_id} if user.role == "admin" else {}) | query
    return f"{DETAILS_PATH}?{urlencode(params)}" if params else DETAILS_PATH


@router.get("/portal")
def portal(
    request: Request,
    store: StoreDep,
    user: OrganisationUser,
    done: DoneParams,
    page: PageNumber = 1,
    needs_confirming: NeedsConfirming = False,
    organisation: OrganisationParam = None,
) -> Response:
    """The organisation's listings, every status, by name, with their badges; with
    ``needs_confirming``, only those nobody has confirmed lately. An admin sees every
    organisation's, or with ``organisation`` one organisation's."""
    notice = done.notice(store, user, NOTICES)
    view = ListingsView(needs_confirming, organisation)
    try:
        return listings_page(request, store, user, page, view=view, notice=notice)
    except PermissionDenied as exc:  # another organisation's, asked by an organisation
        return refused(request, exc, "organisation")


@router.post("/portal/{asset_id}/confirm", dependencies=[SameOrigin])
def still_running(
    request: Request,
    store: StoreDep,
    user: OrganisationUser,
    asset_id: str,
    needs_confirming: NeedsConfirming = False,
    organisation: OrganisationParam = None,
) -> Response:
    """Record that a listing is still running (``last_verified_at`` = now, audited), then
    return to the list it was pressed on."""
    view = ListingsView(needs_confirming, organisation)
    try:
        writable(store, user, asset_id)
        confirm_still_running(store, asset_id, actor=user.id)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)
    except ConflictError as exc:
        return listings_page(
            request,
            store,
            user,
            1,
            view=view,
            error=str(exc),
            status_code=409,
        )
    return done_redirect("/portal", "confirmed", asset_id, keep=view.params())


# --- add and edit -----------------------------------------------------------------------------


def picker_parts(
    request: Request, store: Store, user: User, values: dict[str, Any]
) -> MapParts | None:
    """The point-picker map, centred on the form's point, else on one of the organisation's
    listings; None when the map files are missing (the form works without the map)."""
    from api.routers.pages import map_settings_of  # pages imports this module

    settings = map_settings_of(request)
    try:
        require_assets(settings)
    except MapAssetsError:
        return None
    try:
        centre = (float(values["lat"]), float(values["lon"]))
        if not (abs(centre[0]) <= 90 and abs(centre[1]) <= 180):
            raise ValueError(centre)
    except ValueError:
        some = store.list_assets(readable_filters(user, AssetFilters()), per_page=1).items
        centre = some[0].point if some else DEFAULT_CENTRE
    m = picker_map(centre, lat_id="lat", lon_id="lon", title="Where it happens", settings=settings)
    return render_parts(m, settings)


def form_page(
    request: Request,
    store: Store,
    user: User,
    values: dict[str, Any],
    *,
    asset: Asset | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    focus: str | None = None,
    status_code: int = 200,
) -> Response:
    """The add/edit form with ``values``; ``focus`` is the id the page puts focus on. A
    listing with changes awaiting review says which."""
    errors = errors or {}
    held = store.get_held_changes(asset.id) if asset else None
    context = {
        "title": f"Edit “{asset.name}”" if asset else "Add an activity",
        "asset": asset,
        "action": f"/portal/{asset.id}/edit" if asset else "/portal/new",
        "v": values,
        "errors": errors,
        "summary": [(anchor_of(name), label_of(name), message) for name, message in errors.items()],
        "notice": notice,
        "focus": focus,
        "map": picker_parts(request, store, user, values),
        "categories": category_groups(default_taxonomy()),
        "kinds": KIND_LABELS,
        "weekdays": WEEKDAY_CHOICES,
        "frequencies": frequency_choices(values),
        "attendances": ATTENDANCE_LABELS,
        "cost_choices": COST_CHOICES,
        "periods": PERIOD_LABELS,
        "features": [(f, ACCESS_LABELS[f]) for f in ACCESS_FEATURES],
        "genders": GENDER_LABELS,
        "connection_choices": list(CONNECTION_LABELS.items()),
        "max_sessions": MAX_SESSIONS,
        "held": held,
        "held_fields": held_fields_text(held) if held else "",
        # An organisation's form shows its proposals; an admin's, the published listing.
        "proposing": asset is not None and needs_review(user.role, asset),
    }
    return render(request, "portal_form.html", context, status_code=status_code)


def submit_form(
    request: Request, store: Store, user: User, form: FormData, before: Asset | None
) -> Response:
    """Save a posted form, or show it again: with the point found ("Find" button), one
    more session row ("Add another session"), or the problems, nothing saved (422)."""
    values = read_form(form)
    # Which held changes the form was opened on (0: none), kept if it is shown again.
    values["held_revision"] = str(form.get("held_revision") or "0")
    action = form.get("action") or "save"
    if action == "add_session":
        focus = f"s{len(values['sessions']) - 1}-day-mo"
        return form_page(request, store, user, values, asset=before, focus=focus)
    if action == "locate" and any(values[k] for k in ("postcode", "place", "address")):
        values["lat"] = values["lon"] = ""  # look it up again, whatever the point was
    found, location_errors = locate(values, Geocoder(postcodes=store, places=store))
    if action == "locate":
        notice = f"Found {found}: the pin is on the map. Check it, then save." if found else None
        status = 422 if location_errors else 200
        return form_page(
            request,
            store,
            user,
            values,
            asset=before,
            errors=location_errors,
            notice=notice,
            status_code=status,
        )
    proposing = before is not None and needs_review(user.role, before)
    held = store.get_held_changes(before.id) if before is not None and proposing else None
    base = with_proposals(before, held) if before is not None else None
    check = changes_of(values, base)
    errors = check.errors
    if location_errors:  # the point was not found: say why, not that lat/lon are empty
        errors = {k: v for k, v in errors.items() if k not in ("lat", "lon")} | location_errors
    if errors or check.asset is None:
        return form_page(request, store, user, values, asset=before, errors=errors, status_code=422)
    try:
        if before is None:
            fresh = confirmed_on_creation(check.asset)
            created = store.create_asset(authorise_asset_write(user, None, fresh), actor=user.id)
            return done_redirect("/portal", "created", created.id)
        authorise_asset_write(user, before, check.asset)
    except PermissionDenied as exc:
        return refused(request, exc)
    live, hold = split_for_review(user.role, before, check.asset, check.changes)
    try:
        # The store refuses the write if the listing moved on since the form was opened,
        # or (a proposal alone leaves the listing's version as it is) if someone proposed
        # more, or a moderator decided, since.
        store.update_asset(
            before.id,
            live,
            actor=user.id,
            expected_version=form_number(values, "version"),
            hold=proposals(before, held, hold) or None,
            held_revision=form_number(values, "held_revision") if proposing else None,
        )
    except ConflictError:
        return _changed_meanwhile(request, store, user, values, before)
    if proposing and store.get_held_changes(before.id) is not None:
        return done_redirect("/portal", "held", before.id)
    return done_redirect("/portal", "saved", before.id)


def _changed_meanwhile(
    request: Request, store: Store, user: User, values: dict[str, Any], before: Asset
) -> Response:
    message = (
        "Someone changed this listing after you opened it, so your changes were not "
        "saved. Open the listing again to see the latest version."
    )
    return form_page(
        request, store, user, values, asset=before, errors={"": message}, status_code=409
    )


@router.get("/portal/new")
def new_listing(request: Request, store: StoreDep, user: OrganisationUser) -> Response:
    return form_page(request, store, user, blank_values())


@router.post("/portal/new", dependencies=[SameOrigin])
def create_listing(
    request: Request, store: StoreDep, user: OrganisationUser, form: PostedForm
) -> Response:
    return submit_form(request, store, user, form, None)


@router.get("/portal/{asset_id}/edit")
def edit_listing(
    request: Request, store: StoreDep, user: OrganisationUser, asset_id: str
) -> Response:
    """The edit form; an organisation's shows the changes it proposed that await review."""
    try:
        asset = writable(store, user, asset_id)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)
    held = store.get_held_changes(asset.id)
    shown = with_proposals(asset, held) if needs_review(user.role, asset) else asset
    values = values_of(shown) | {"held_revision": str(held.revision if held else 0)}
    return form_page(request, store, user, values, asset=asset)


@router.post("/portal/{asset_id}/edit", dependencies=[SameOrigin])
def update_listing(
    request: Request, store: StoreDep, user: OrganisationUser, asset_id: str, form: PostedForm
) -> Response:
    try:
        before = writable(store, user, asset_id)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc)
    return submit_form(request, store, user, form, before)


# --- spreadsheet upload -----------------------------------------------------------------------


def upload_page(
    request: Request,
    *,
    report: ImportReport | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The upload form, with the last upload's report (row, column, problem) when there is one."""
    context = {
        "title": "Upload a spreadsheet",
        "report": report,
        "error": error,
        "formats": " or ".join(UPLOAD_FORMATS),
        "max_upload_bytes": request.app.state.settings.max_upload_bytes,
        "columns": COLUMNS,
    }
    return render(request, "portal_upload.html", context, status_code=status_code)


@router.get(UPLOAD_PATH)
def upload_form(request: Request, user: OrganisationUser) -> Response:
    return upload_page(request)


@router.post(UPLOAD_PATH, dependencies=[SameOrigin])
def upload(
    request: Request,
    store: StoreDep,
    user: OrganisationUser,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import an uploaded template for this organisation: all rows, or none (422 with the
    row-by-row report)."""
    raw = file.file.read() if file is not None else b""
    if file is None or not raw:
        return upload_page(request, error="Choose a CSV or Excel file to upload.", status_code=422)
    try:
        report = import_upload(store, user, file.filename or "", raw)
    except ConflictError:  # a listing it updates changed while the sheet was checked
        error = (
            "Someone changed one of these listings while your file was being checked, so "
            "nothing was saved. Upload the file again."
        )
        return upload_page(request, error=error, status_code=409)
    return upload_page(request, report=report, status_code=200 if report.ok else 422)


@router.get("/portal/template.csv")
def blank_csv(user: OrganisationUser) -> Response:
    """The template's header row alone, as UTF-8 CSV with a byte-order mark (for Excel)."""
    out = io.StringIO()
    csv.writer(out).writerow(COLUMN_NAMES)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="activities-template.csv"'},
    )


@router.get("/portal/template.xlsx")
def blank_xlsx(user: OrganisationUser) -> Response:
    """The template as an empty workbook, with its "columns" sheet explaining each column."""
    with tempfile.TemporaryDirectory(prefix="ga-template-") as folder:
        path = Path(folder) / "activities-template.xlsx"
        write_xlsx(path, [])
        body = path.read_bytes()
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="activities-template.xlsx"'},
    )


@router.get("/portal/example.csv")
def example_csv(user: OrganisationUser) -> Response:
    """The template filled in with example rows."""
    return FileResponse(
        EXAMPLE_CSV, media_type="text/csv; charset=utf-8", filename="activities-example.csv"
    )
