"""Saved connection plans: save one from the plan page, list, view and delete them.

A practitioner saves a plan only by asking to (the form under a plan made at
``/search/plan``). What is stored is a :class:`~geo_assets.plans.SavedPlan`: the
reference code the practitioner chose and, per activity, its id, name, when it meets
and the travel time, rebuilt here from the search run again (never from travel times
sent by the browser). The person's location, interests and name are not stored.

Plans are their owner's: anyone else (except an admin) gets 404, as if the plan did
not exist. Plan ids (random, opaque) appear in URLs; references never do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.calendar_view import plan_calendar_response
from api.deps import StoreDep, TravelDep
from api.plan_view import (
    PlanRefused,
    chosen_matches,
    read_plan_choice,
    refused,
    render_plan,
    retention_days,
    saved_items,
    saved_rows,
)
from api.web import FormValues, SameOrigin, first_value, page_role, render
from geo_assets.auth import User
from geo_assets.clock import local_time, local_today
from geo_assets.errors import InvalidInputError, NotFoundError
from geo_assets.ical import sessions_to_come
from geo_assets.plans import SavedPlan, kept_until, new_plan
from geo_assets.store import Store

router = APIRouter(include_in_schema=False, tags=["pages"])

Practitioner = page_role("practitioner")
PageNumber = Annotated[int, Query(ge=1, le=10_000)]
PER_PAGE = 50
NOTICES = {"deleted": "The plan was deleted."}


def own_plan(store: Store, user: User, plan_id: str) -> SavedPlan:
    """The plan when ``user`` owns it (or is an admin); NotFoundError otherwise, so that
    nobody learns that someone else's plan exists."""
    plan = store.get_plan(plan_id)
    if plan.owner_id != user.id and user.role != "admin":
        raise NotFoundError("plan", plan_id)
    return plan


def _not_found(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {"title": "Plan not found", "message": "There is no saved plan here."},
        status_code=404,
    )


@router.post("/plans", dependencies=[SameOrigin])
def save_plan(
    request: Request,
    store: StoreDep,
    travel: TravelDep,
    values: FormValues,
    user: User = Practitioner,
) -> Response:
    """Save the plan made from a search under a reference code; then show it."""
    try:
        choice = read_plan_choice(values)
    except PlanRefused as exc:
        return refused(request, exc)
    matches = chosen_matches(store, choice, travel)
    if not matches:
        return refused(
            request,
            PlanRefused(
                "Nothing left to save",
                "None of the chosen activities is still listed. Search again to make a plan.",
            ),
        )
    reference = first_value(values, "reference")
    try:
        plan = new_plan(reference, user.id, saved_items(matches))
    except InvalidInputError as exc:
        return render_plan(
            request, store, user, choice, matches, reference_error=str(exc), status_code=422
        )
    store.save_plan(plan, actor=user.id)
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


@router.get("/plans")
def list_plans(
    request: Request,
    store: StoreDep,
    user: User = Practitioner,
    page: PageNumber = 1,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The signed-in user's own saved plans, newest first."""
    result = store.list_plans(user.id, page=page, per_page=PER_PAGE)
    context = {
        "title": "Saved plans",
        "plans": result.items,
        "result": result,
        "notice": NOTICES.get(done or ""),
        "retention_days": retention_days(request),
    }
    return render(request, "plans.html", context)


@router.get("/plans/{plan_id}")
def view_plan(
    request: Request, plan_id: str, store: StoreDep, user: User = Practitioner
) -> Response:
    """A saved plan, printable; it shows the reference, never a person's name."""
    try:
        plan = own_plan(store, user, plan_id)
    except NotFoundError:
        return _not_found(request)
    try:
        made_by = user.name if plan.owner_id == user.id else store.get_user(plan.owner_id).name
    except NotFoundError:
        made_by = "a practitioner"
    rows = saved_rows(store, plan)
    listed = [row["asset"] for row in rows if row["asset"] is not None]
    context = {
        "title": f"Connection plan {plan.reference}",
        "saved": plan,
        "items": rows,
        "to_come": sessions_to_come(listed, local_today()),
        "missing": 0,
        "made_on": local_time(plan.created_at).date(),
        "made_by": made_by,
        "kept_until": local_time(kept_until(plan, retention_days(request))).date(),
    }
    return render(request, "plan.html", context)


@router.get("/plans/{plan_id}/calendar.ics")
def plan_calendar(
    request: Request, plan_id: str, store: StoreDep, user: User = Practitioner
) -> Response:
    """The plan's activities that are still listed, as a calendar file for the person's
    phone; it names neither the person nor the plan's reference."""
    try:
        plan = own_plan(store, user, plan_id)
    except NotFoundError:
        return _not_found(request)
    return plan_calendar_response(request, store, [item.asset_id for item in plan.items])


@router.post("/plans/{plan_id}/delete", dependencies=[SameOrigin])
def delete_plan(
    request: Request, plan_id: str, store: StoreDep, user: User = Practitioner
) -> Response:
    """Delete a saved plan for good, then back to the list with a notice."""
    try:
        own_plan(store, user, plan_id)
        store.delete_plan(plan_id, actor=user.id)
    except NotFoundError:
        return _not_found(request)
    return RedirectResponse("/plans?done=deleted", status_code=303)
