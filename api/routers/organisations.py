"""Organisations: who runs the assets (read by anyone; written by admins and their own users).

Admins create organisations; an organisation user may edit its own record except its
``status`` (``geo_assets.auth.authorise_organisation_write``), and its changes to what
an admin checked (name, description, e-mail, phone, web site) are held for review
(``geo_assets.review``). Every write is audited with the caller's user id.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import StoreDep, require_roles
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
from geo_assets.auth import User, authorise_organisation_write
from geo_assets.model import Organisation
from geo_assets.review import proposed_fields, split_for_review
from geo_assets.store.base import MAX_PAGE, MAX_PER_PAGE, apply_patch

router = APIRouter(tags=["organisations"])

DEFAULT_PER_PAGE = 50
# Fields the store sets; a patch naming one is refused (422).
_STORE_OWNED = frozenset({"id", "created_at", "updated_at", "version"})

OrganisationPatch = partial_model(
    Organisation,
    "OrganisationPatch",
    exclude=_STORE_OWNED,
    doc="Fields to change; those left out stay as they are.",
)
OrganisationId = Annotated[str, Path(min_length=1, max_length=100, description="organisation id")]
# Organisation users and admins; the finer rules are in authorise_organisation_write.
Writer = Annotated[User, Depends(require_roles("organisation"))]


class OrganisationPage(BaseModel):
    """One page of organisations, ordered by name then id."""

    items: list[Organisation]
    total: int = Field(description="organisations in all pages")
    page: int
    per_page: int
    pages: int = Field(description="number of pages (at least 1)")


def organisation_url(org_id: str) -> str:
    return f"/organisations/{quote(org_id, safe='')}"


@router.get(
    "/organisations",
    response_model=OrganisationPage,
    summary="All organisations, by name, a page at a time",
    responses=problems(422, 503),
)
def list_organisations(
    store: StoreDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page number, from 1")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description="organisations per page")
    ] = DEFAULT_PER_PAGE,
) -> OrganisationPage:
    result = store.list_organisations(page=page, per_page=per_page)
    return OrganisationPage(
        items=result.items,
        total=result.total,
        page=page,
        per_page=per_page,
        pages=page_count(result.total, per_page),
    )


@router.post(
    "/organisations",
    response_model=Organisation,
    status_code=201,
    summary="Create an organisation (admin)",
    responses={
        201: {
            "description": "Created; `Location` is its URL",
            "headers": location_header("the new organisation's URL"),
        },
        **problems(*WRITE_STATUSES, 409),
    },
)
def create_organisation(
    store: StoreDep,
    user: Writer,
    response: Response,
    org: Annotated[Organisation, Body(description=ID_OPTIONAL)],
) -> Organisation:
    """The store sets ``created_at``, ``updated_at`` and ``version`` whatever the body says."""
    org = authorise_organisation_write(user, None, org)
    created = store.create_organisation(org, actor=user.id)
    response.headers["Location"] = organisation_url(created.id)
    return created


@router.get(
    "/organisations/{org_id}",
    response_model=Organisation,
    summary="One organisation",
    responses=problems(404, 422, 503),
)
def get_organisation(store: StoreDep, org_id: OrganisationId) -> Organisation:
    return store.get_organisation(org_id)


@router.patch(
    "/organisations/{org_id}",
    response_model=Organisation,
    summary="Change some fields of an organisation",
    responses={
        202: held_response(Organisation, "organisation"),
        **problems(*WRITE_STATUSES, 404, 409),
    },
)
def patch_organisation(
    store: StoreDep,
    user: Writer,
    org_id: OrganisationId,
    patch: Annotated[OrganisationPatch, Body()],  # type: ignore[valid-type]
    response: Response,
) -> Organisation:
    """Admins may change anything but the store's own fields; an organisation user only
    its own organisation, and never its ``status``. An empty patch changes nothing.

    An organisation user's change to its name, description, e-mail, phone or web site is
    held for review rather than made: the answer is then 202, and the record keeps its
    checked values until an admin approves (``/organisations/{id}/held-changes``)."""
    changes = changes_of(patch)
    before = store.get_organisation(org_id)
    after = authorise_organisation_write(user, before, apply_patch(before, changes))
    if not changes:
        return before
    live, hold = split_for_review(user.role, before, after, changes)
    # The write is refused (409) if the record moved on since the read the rules above
    # were checked on (say, an admin archived it meanwhile).
    stored = store.update_organisation(
        org_id, live, actor=user.id, expected_version=before.version, hold=hold or None
    )
    mark_held(response, organisation_url(org_id), proposed_fields(before, hold))
    return stored
