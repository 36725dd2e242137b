"""The organisation's own details in the portal: its name, description and how to reach it.

The name shows beside each of its listings ("Run by") and the contact details go out in
the directory's HSDS feed, so an organisation user's change to any of them is held for
a moderator (``geo_assets.review``), as its changes to a published listing are. The page
says which wait, and its form shows them as proposed, so saving again keeps them. An
admin edits any organisation's details (``?organisation=ID``), and those go live.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import StoreDep
from api.routers.portal_pages import (
    DETAILS_PATH,
    OrganisationParam,
    OrganisationUser,
    details_href,
    refused,
)
from api.web import PostedForm, SameOrigin, form_number, form_text, render
from geo_assets.auth import User, authorise_organisation_write
from geo_assets.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDenied
from geo_assets.model import Organisation, and_list
from geo_assets.review import (
    FIELD_LABELS,
    ORGANISATION_REVIEWED_FIELDS,
    HeldOrganisationChanges,
    needs_review,
    proposals,
    split_for_review,
    with_proposals,
)
from geo_assets.store import Store
from geo_assets.store.base import apply_patch

router = APIRouter(include_in_schema=False, tags=["pages"])

FIELDS = ORGANISATION_REVIEWED_FIELDS
LABELS = {
    "name": "Name",
    "description": "What your organisation does",
    "email": "E-mail address",
    "phone": "Phone number",
    "url": "Web site",
}
# What to do about a value the record's rules refuse, in the form's words.
FIX = {
    "name": "Enter your organisation's name.",
    "email": "Enter an e-mail address like name@example.org.",
    "url": "Enter a web address that starts with https:// or http://.",
}
NOTICES = {
    "saved": "Your organisation's details are saved.",
    "held": "Your changes are saved. Changes to its {fields} wait for a moderator to check "
    "them: until then, the directory shows the details as they were.",
}
Done = Annotated[str | None, Query(max_length=20)]


def _whose(user: User, organisation: str | None) -> str:
    """The organisation the page is about: the user's own, or the one an admin named."""
    org_id = organisation if user.role == "admin" else user.organisation_id
    if org_id is None:
        raise NotFoundError("organisation", organisation or "")
    return org_id


def _values(org: Organisation) -> dict[str, str]:
    return {f: getattr(org, f) or "" for f in FIELDS}


def _held_text(held: HeldOrganisationChanges) -> str:
    return and_list([FIELD_LABELS[f] for f in held.fields()])


def details_page(
    request: Request,
    store: Store,
    user: User,
    org: Organisation,
    *,
    values: dict[str, str] | None = None,
    opened: tuple[int, int] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    """The form: an organisation user's shows what it proposed, an admin's what is live.
    Shown again with the ``values`` posted, it keeps the (version, held revision) it was
    first ``opened`` at, so a change someone made meanwhile is not saved over unseen."""
    proposing = needs_review(user.role, org)
    held = store.get_held_organisation_changes(org.id)
    shown = with_proposals(org, held) if proposing else org
    version, held_revision = opened or (org.version, held.revision if held else 0)
    errors = errors or {}
    context = {
        "title": f"Details of {org.name}",
        "org": org,
        "v": values if values is not None else _values(shown),
        "labels": LABELS,
        "errors": errors,
        "summary": [
            (f or "details-form", LABELS.get(f, ""), message) for f, message in errors.items()
        ],
        "notice": notice,
        "held": held,
        "held_fields": _held_text(held) if held else "",
        "proposing": proposing,
        "version": version,
        "held_revision": held_revision,
        "action": details_href(user, org.id),
    }
    return render(request, "portal_organisation.html", context, status_code=status_code)


@router.get(DETAILS_PATH)
def organisation_details(
    request: Request,
    store: StoreDep,
    user: OrganisationUser,
    organisation: OrganisationParam = None,
    done: Done = None,
) -> Response:
    try:
        org = store.get_organisation(_whose(user, organisation))
        authorise_organisation_write(user, org, org)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc, "organisation")
    notice = None
    if done == "held":
        held = store.get_held_organisation_changes(org.id)
        fields = _held_text(held) if held else None
        notice = NOTICES["held"].format(fields=fields) if fields else NOTICES["saved"]
    elif done == "saved":
        notice = NOTICES["saved"]
    return details_page(request, store, user, org, notice=notice)


def _read(form: Any) -> dict[str, str]:
    return {f: form_text(form.get(f)) for f in FIELDS}


def _changes(shown: Organisation, values: dict[str, str]) -> dict[str, Any]:
    """The fields the form changes from what it showed; blank clears an optional one."""
    return {
        f: value or (None if f in ("email", "phone", "url") else "")
        for f, value in values.items()
        if value != form_text(getattr(shown, f))
    }


@router.post(DETAILS_PATH, dependencies=[SameOrigin])
def save_organisation_details(
    request: Request,
    store: StoreDep,
    user: OrganisationUser,
    form: PostedForm,
    organisation: OrganisationParam = None,
) -> Response:
    """Save the form: an organisation user's changes are held for review, an admin's are
    made. A form opened before someone else changed the details (or proposed more) is
    refused (409), so nobody's change is taken back unseen."""
    try:
        before = store.get_organisation(_whose(user, organisation))
        authorise_organisation_write(user, before, before)
    except (NotFoundError, PermissionDenied) as exc:
        return refused(request, exc, "organisation")
    values = _read(form)
    proposing = needs_review(user.role, before)
    held = store.get_held_organisation_changes(before.id) if proposing else None
    shown = with_proposals(before, held)
    changes = _changes(shown, values)
    opened = (form_number(form, "version"), form_number(form, "held_revision"))
    try:
        after = apply_patch(shown, changes)
    except InvalidInputError as exc:
        field = exc.field if exc.field in FIELDS else "name"
        errors = {field: FIX.get(field, str(exc))}
        return details_page(
            request,
            store,
            user,
            before,
            values=values,
            opened=opened,
            errors=errors,
            status_code=422,
        )
    live, hold = split_for_review(user.role, before, after, changes)
    proposal = proposals(before, held, hold)
    try:
        if live or proposal:  # saving the form as shown changes nothing
            store.update_organisation(
                before.id,
                live,
                actor=user.id,
                expected_version=opened[0],
                hold=proposal or None,
                held_revision=opened[1] if proposing else None,
            )
    except ConflictError:
        message = (
            "Someone changed these details after you opened this page, so your changes "
            "were not saved. Here are the details as they are now: make your changes again."
        )
        now = store.get_organisation(before.id)
        return details_page(request, store, user, now, errors={"": message}, status_code=409)
    waits = proposing and store.get_held_organisation_changes(before.id) is not None
    return RedirectResponse(details_href(user, before.id, done="held" if waits else "saved"), 303)
