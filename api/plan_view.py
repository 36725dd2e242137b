"""The connection plan as pages show it: made fresh from a search, or saved.

Shared by the search pages (``/search/plan``) and the saved plans (``/plans``). A plan
is always rebuilt from the search run again on the server (the browser sends back
only the search profile and the chosen listing ids), so travel times and session
dates are never taken from the browser. Saving keeps only a :class:`SavedPlan`:
the reference code, and per activity its id, name, when and the travel time in bands
(``geo_assets.plans.journey_band``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.search_form import LIMITS, profile_from_plan
from api.web import first_value, render
from geo_assets.auth import User
from geo_assets.clock import local_today
from geo_assets.errors import InvalidInputError, NotFoundError
from geo_assets.freshness import is_stale
from geo_assets.ical import sessions_to_come
from geo_assets.matching import Match, match, travel_reason
from geo_assets.model import Asset, Organisation, Profile, utcnow
from geo_assets.plans import MAX_PLAN_ITEMS, PlanItem, SavedPlan, journey_band
from geo_assets.store import Store
from geo_assets.travel import TravelModel
from maps.popups import listing_facts, travel_text, when_text


class PlanRefused(Exception):
    """The posted plan cannot be made; answered with an error page (422)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


@dataclass(frozen=True)
class PlanChoice:
    """What the plan form posted: the search profile, the chosen ids, the printed name."""

    profile: Profile
    profile_json: str
    chosen: list[str]
    limit: int
    person: str


def read_plan_choice(values: dict[str, list[str]]) -> PlanChoice:
    """The posted plan form, or ``PlanRefused`` saying what is wrong."""
    chosen = values.get("plan_asset", [])[:MAX_PLAN_ITEMS]
    limit_text = first_value(values, "limit")
    limit = int(limit_text) if limit_text.isdigit() and int(limit_text) in LIMITS else max(LIMITS)
    if not chosen:
        raise PlanRefused(
            "Nothing chosen for the plan",
            "Tick 'Add to plan' beside at least one suggestion, then make the "
            "plan. Use your browser's Back button to return to the results.",
        )
    profile_json = first_value(values, "profile")
    try:
        profile = profile_from_plan(profile_json)
    except InvalidInputError as exc:
        raise PlanRefused("The plan could not be made", str(exc)) from exc
    person = first_value(values, "person").strip()[:100]
    return PlanChoice(profile, profile_json, chosen, limit, person)


def chosen_matches(store: Store, choice: PlanChoice, travel: TravelModel) -> list[Match]:
    """The chosen listings as the search ranks them now, in the order chosen; those no
    longer found are left out."""
    limit = max(choice.limit, len(choice.chosen))
    matches = match(store, choice.profile, travel=travel, limit=limit)
    by_id = {m.asset.id: m for m in matches}
    return [by_id[a] for a in choice.chosen if a in by_id]


def saved_items(matches: list[Match]) -> list[PlanItem]:
    """What a saved plan keeps of each match: journeys in bands, no distance, nothing
    about the person."""
    return [
        PlanItem(
            asset_id=m.asset.id,
            name=m.asset.name,
            when=when_text(m.asset, m.next_session),
            travel=travel_reason(m, journey_band),
            mode=m.mode,
        )
        for m in matches
    ]


def _organisation(store: Store, org_id: str | None) -> Organisation | None:
    if org_id is None:
        return None
    try:
        organisation: Organisation = store.get_organisation(org_id)
    except NotFoundError:  # removed since: the plan still prints without it
        return None
    return organisation


def _details(store: Store, asset: Asset) -> dict[str, Any]:
    """The listing's public details a plan prints (address, sessions, cost, who to ask)."""
    sessions = [s.describe() for s in asset.sessions]
    return {
        "asset": asset,
        "organisation": _organisation(store, asset.organisation_id),
        "sessions": [s[0].upper() + s[1:] for s in sessions],
        **listing_facts(asset),
    }


def plan_rows(store: Store, matches: list[Match]) -> list[dict[str, Any]]:
    """The rows of a plan made now, for ``plan.html``."""
    return [
        {
            **_details(store, m.asset),
            "name": m.asset.name,
            "travel": travel_text(m),
            "when": when_text(m.asset, m.next_session),
            "stale": m.stale,
        }
        for m in matches
    ]


def published_listing(store: Store, asset_id: str) -> Asset | None:
    """The listing a plan names, when it is still published."""
    try:
        asset = store.get_asset(asset_id)
    except NotFoundError:
        return None
    return asset if asset.status == "published" else None


def saved_rows(store: Store, plan: SavedPlan) -> list[dict[str, Any]]:
    """The rows of a saved plan: when and travel as saved, the listing's details as they
    are now (none when it is no longer published)."""
    now = utcnow()
    rows = []
    for item in plan.items:
        row: dict[str, Any] = {"name": item.name, "travel": item.travel, "when": item.when}
        asset = published_listing(store, item.asset_id)
        if asset is not None:
            row.update(_details(store, asset), stale=is_stale(asset, now))
        else:
            row.update(asset=None, sessions=[], stale=False)
        rows.append(row)
    return rows


def retention_days(request: Request) -> int:
    """How long a saved plan is kept (``plan_retention_days``), for the pages to say so."""
    days: int = request.app.state.settings.plan_retention_days
    return days


def render_plan(
    request: Request,
    store: Store,
    user: User,
    choice: PlanChoice,
    matches: list[Match],
    *,
    reference_error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The printable plan made from a search, with the form that saves it."""
    context = {
        "title": "Connection plan",
        "person": choice.person,
        "items": plan_rows(store, matches),
        "missing": len(choice.chosen) - len(matches),
        "made_on": local_today(),
        "made_by": user.name,
        "save": choice,
        "to_come": sessions_to_come([m.asset for m in matches], local_today()),
        "reference_error": reference_error,
        "retention_days": retention_days(request),
    }
    return render(request, "plan.html", context, status_code=status_code)


def refused(request: Request, exc: PlanRefused) -> Response:
    return render(
        request, "error.html", {"title": exc.title, "message": exc.message}, status_code=422
    )
