"""Changes held for review: an organisation's proposed changes to what a moderator
checked on a published listing or on its own record (``geo_assets.review``), and an
admin's decision on them.

An organisation user reads its own listings' and record's held changes (to see what
waits); an admin reads all of them and approves or rejects the revision it read. Each
decision is one audited transaction; one made on a revision the organisation has since
added to is refused (409), so nothing is approved unseen.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, Field

from api.deps import StoreDep, require_roles
from api.routers.schemas import WRITE_STATUSES, problems
from geo_assets.auth import User, authorise_asset_write, authorise_organisation_write
from geo_assets.errors import NotFoundError
from geo_assets.model import Asset, Organisation
from geo_assets.review import HeldChanges, HeldOrganisationChanges

router = APIRouter(tags=["held changes"])

AssetId = Annotated[str, Path(min_length=1, max_length=100, description="asset id")]
OrganisationId = Annotated[str, Path(min_length=1, max_length=100, description="organisation id")]
DecisionName = Annotated[Literal["approve", "reject"], Path(description="approve or reject")]
Reader = Annotated[User, Depends(require_roles("organisation"))]
Moderator = Annotated[User, Depends(require_roles("admin"))]
READ_STATUSES = (401, 403, 429, 503)


class Decision(BaseModel):
    """What a moderator decides on the held changes they read."""

    revision: int = Field(ge=1, description="the `revision` of the held changes read")


@router.get(
    "/held-changes",
    response_model=list[HeldChanges],
    summary="Held changes awaiting a moderator, oldest first",
    responses=problems(*READ_STATUSES, 422),
)
def list_held_changes(
    store: StoreDep,
    user: Reader,
    organisation_id: Annotated[
        str | None, Query(max_length=100, description="only this organisation's listings")
    ] = None,
) -> list[HeldChanges]:
    """Admins see every listing's (or one organisation's); an organisation user sees its
    own organisation's, whatever ``organisation_id`` says."""
    if user.role != "admin":
        organisation_id = user.organisation_id
    return store.list_held_changes(organisation_id=organisation_id)


@router.get(
    "/assets/{asset_id}/held-changes",
    response_model=HeldChanges,
    summary="The changes to an asset that wait for a moderator",
    responses=problems(*READ_STATUSES, 404, 422),
)
def get_held_changes(store: StoreDep, user: Reader, asset_id: AssetId) -> HeldChanges:
    """404 when nothing is held. Organisation users: their own organisation's assets."""
    asset = store.get_asset(asset_id)
    authorise_asset_write(user, asset, asset)  # the same ownership rule as a change
    held = store.get_held_changes(asset_id)
    if held is None:
        raise NotFoundError("held changes for asset", asset_id)
    return held


@router.post(
    "/assets/{asset_id}/held-changes/{decision}",
    response_model=Asset,
    summary="Approve (make) or reject (drop) an asset's held changes (admins)",
    responses=problems(*WRITE_STATUSES, 404, 409),
)
def decide_held_changes(
    store: StoreDep,
    user: Moderator,
    asset_id: AssetId,
    decision: DecisionName,
    body: Annotated[Decision, Body()],
) -> Asset:
    """Returns the asset as it now stands. 409 when the organisation proposed more since
    ``revision``: read the held changes again. 422 when an approved change no longer
    passes the listing's checks (nothing is changed then)."""
    return store.resolve_held_changes(
        asset_id, approve=decision == "approve", revision=body.revision, actor=user.id
    )


@router.get(
    "/held-changes/organisations",
    response_model=list[HeldOrganisationChanges],
    summary="Held changes to organisations' records awaiting a moderator, oldest first",
    responses=problems(*READ_STATUSES),
)
def list_held_organisation_changes(store: StoreDep, user: Reader) -> list[HeldOrganisationChanges]:
    """Admins see every organisation's; an organisation user only its own."""
    if user.role == "admin":
        return store.list_held_organisation_changes()
    if user.organisation_id is None:
        return []
    held = store.get_held_organisation_changes(user.organisation_id)
    return [] if held is None else [held]


@router.get(
    "/organisations/{org_id}/held-changes",
    response_model=HeldOrganisationChanges,
    summary="The changes to an organisation's record that wait for a moderator",
    responses=problems(*READ_STATUSES, 404, 422),
)
def get_held_organisation_changes(
    store: StoreDep, user: Reader, org_id: OrganisationId
) -> HeldOrganisationChanges:
    """404 when nothing is held. Organisation users: their own organisation."""
    org = store.get_organisation(org_id)
    authorise_organisation_write(user, org, org)  # the same ownership rule as a change
    held = store.get_held_organisation_changes(org_id)
    if held is None:
        raise NotFoundError("held changes for organisation", org_id)
    return held


@router.post(
    "/organisations/{org_id}/held-changes/{decision}",
    response_model=Organisation,
    summary="Approve (make) or reject (drop) an organisation's held changes (admins)",
    responses=problems(*WRITE_STATUSES, 404, 409),
)
def decide_held_organisation_changes(
    store: StoreDep,
    user: Moderator,
    org_id: OrganisationId,
    decision: DecisionName,
    body: Annotated[Decision, Body()],
) -> Organisation:
    """Returns the organisation as it now stands; 409 when the organisation proposed more
    since ``revision``."""
    return store.resolve_held_organisation_changes(
        org_id, approve=decision == "approve", revision=body.revision, actor=user.id
    )
