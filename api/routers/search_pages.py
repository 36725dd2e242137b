"""The practitioner's search, its results beside the map, and the printable connection plan.

Everything about the person arrives in POST bodies and leaves in the page itself:
nothing goes into a URL, a log or the store (``Cache-Control: no-store`` keeps it out
of caches too), except a pseudonymous plan the practitioner explicitly saves
(:mod:`api.routers.plan_pages`). The plan is made from the same search run again
(:mod:`api.plan_view`), so the page never trusts travel times or session dates sent
back by the browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.calendar_view import plan_calendar_response
from api.deps import StoreDep, TravelDep
from api.plan_view import (
    PlanRefused,
    chosen_matches,
    read_plan_choice,
    refused,
    render_plan,
)
from api.search_form import (
    GENDERS,
    GOALS,
    LIMITS,
    MODES,
    NEEDS,
    PREFERENCES,
    SearchForm,
    blank_form,
    read_search_form,
)
from api.web import FormValues, SameOrigin, map_settings_of, page_role, render
from geo_assets.auth import User
from geo_assets.geocode import Geocoder
from geo_assets.matching import Match, match
from geo_assets.plans import MAX_PLAN_ITEMS
from geo_assets.taxonomy import default_taxonomy
from geo_assets.travel import MODE_WORDS
from geo_assets.widen import ResultsNotes, WiderSearch, notes_on, reasons_under_summary
from maps.assets import render_parts, require_assets
from maps.picker import picker_map
from maps.popups import asset_link, cost_text, travel_text, when_text
from maps.results import results_map
from maps.style import category_colour

router = APIRouter(include_in_schema=False, tags=["pages"])

# Where the empty search map starts: the sample data's area (central Bradford).
DEFAULT_CENTRE = (53.7945, -1.7520)
Practitioner = page_role("practitioner")


def _form_context(request: Request, form: SearchForm) -> dict[str, Any]:
    settings = map_settings_of(request)
    require_assets(settings)
    picker = picker_map(DEFAULT_CENTRE, settings=settings, title="Where the person lives")
    return {
        "title": "Find activities",
        "form": form,
        "modes": MODES,
        "goals": GOALS,
        "needs": NEEDS,
        "genders": GENDERS,
        "preferences": PREFERENCES,
        "limits": LIMITS,
        "picker": render_parts(picker, settings),
    }


@router.get("/search")
def search_form(request: Request, user: User = Practitioner) -> Response:
    return render(request, "search.html", _form_context(request, blank_form()))


def _result_rows(matches: list[Match], *, under_summary: bool) -> list[dict[str, Any]]:
    """What the list shows of each result. ``under_summary``: a sentence above the list
    says how the results split by interest, so their own reasons need not."""
    taxonomy = default_taxonomy()
    return [
        {
            "rank": rank,
            "match": m,
            "reasons": reasons_under_summary(m) if under_summary else m.reasons,
            "colour": category_colour(m.asset.categories[0], taxonomy),
            "category": taxonomy.get(m.asset.categories[0]).name,
            "travel": travel_text(m),
            "when": when_text(m.asset, m.next_session),
            "cost": cost_text(m.asset.cost),
            "url": asset_link(m.asset.id),
        }
        for rank, m in enumerate(matches, start=1)
    ]


def wider_fields(form: SearchForm, wider: WiderSearch) -> list[tuple[str, str]]:
    """The form's own fields with the wider search's ways of travelling, to search
    again in one click. They go in the page's POST body, like the form they copy, never
    in a URL."""
    minutes = {f"minutes_{t.mode}": f"{t.max_minutes:.0f}" for t in wider.travel}
    fields = [
        (name, minutes.get(name, value)) for name, values in form.values.items() for value in values
    ]
    named = {name for name, _ in fields}
    fields += [(name, value) for name, value in minutes.items() if name not in named]
    if wider.added is not None and ("mode", wider.added) not in fields:
        fields.append(("mode", wider.added))
    return fields


def _wider_offers(form: SearchForm, notes: ResultsNotes) -> list[dict[str, Any]]:
    """Each wider search's sentence, and the fields of its one-click form when it finds
    more that fit."""
    return [
        {
            "id": "longer" if wider.added is None else "another-way",
            "text": wider.text(),
            "button": (
                "Search with longer journeys"
                if wider.added is None
                else f"Search {MODE_WORDS[wider.added]} too"
            ),
            "fields": wider_fields(form, wider) if wider.more_that_fit else [],
        }
        for wider in notes.wider
    ]


@router.post("/search", dependencies=[SameOrigin])
def search(
    request: Request,
    store: StoreDep,
    travel: TravelDep,
    values: FormValues,
    user: User = Practitioner,
) -> Response:
    """Rank and explain what the person can reach; the form stays filled in above."""
    form = read_search_form(values, Geocoder(postcodes=store, places=store))
    context = _form_context(request, form)
    if form.profile is None:
        return render(request, "search.html", context, status_code=422)
    profile = form.profile
    matches = match(store, profile, travel=travel, limit=form.limit)
    notes = notes_on(store, profile, matches, limit=form.limit, travel=travel)
    split_text = notes.split_text
    settings = map_settings_of(request)
    origin = (profile.origin.lat, profile.origin.lon)
    the_map = results_map(origin, profile.travel, matches, travel=travel, settings=settings)
    context.update(
        {
            "title": "Suggested activities",
            "results": _result_rows(matches, under_summary=split_text is not None),
            "results_map": render_parts(the_map, settings),
            "origin_label": form.origin_label,
            "split_text": split_text,
            "wider": _wider_offers(form, notes),
            "profile_json": profile.model_dump_json(exclude_defaults=True),
        }
    )
    return render(request, "search.html", context)


@router.post("/search/plan", dependencies=[SameOrigin])
def plan(
    request: Request,
    store: StoreDep,
    travel: TravelDep,
    values: FormValues,
    user: User = Practitioner,
) -> Response:
    """A one-page plan of the chosen activities: when, where, how to get there, who to ask."""
    try:
        choice = read_plan_choice(values)
    except PlanRefused as exc:
        return refused(request, exc)
    return render_plan(request, store, user, choice, chosen_matches(store, choice, travel))


@router.post("/search/plan/calendar.ics", dependencies=[SameOrigin])
def plan_calendar(
    request: Request, store: StoreDep, values: FormValues, user: User = Practitioner
) -> Response:
    """The chosen activities (``listing``, repeated) still listed, as a calendar file;
    the choice comes by POST, never in a URL."""
    chosen = values.get("listing", [])[:MAX_PLAN_ITEMS]
    return plan_calendar_response(request, store, chosen, empty_status=422)
