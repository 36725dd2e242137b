"""The planner dashboard: coverage map, headline figures, worst gaps, site ideas, downloads.

``GET /planner`` takes the same four choices as the JSON API (category, mode, minutes,
measure: no personal data, so a GET form and shareable links) and draws the run that
``api.routers.coverage.run_for`` returns from the app's coverage cache. The chart and
the downloads are page routes under ``/planner/`` too, so they work with the page's
cookie session (the JSON API takes bearer tokens only).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import StoreDep
from api.routers.coverage import (
    ALL,
    EXPORTS,
    ParamsDep,
    chart_response,
    demand_of,
    export_response,
    make_params,
    run_for,
)
from api.web import map_settings_of, page_role, render
from geo_assets.auth import User
from geo_assets.coverage.analysis import CoverageParams, to_layer
from geo_assets.coverage.chart import PER_THOUSAND
from geo_assets.coverage.measures import MEASURES
from geo_assets.coverage.service import CoverageRun, gap_rows, site_rows
from geo_assets.errors import InvalidInputError
from geo_assets.taxonomy import default_taxonomy
from geo_assets.travel import MAX_MINUTES, MODE_WORDS, MODES
from maps.assets import MapParts, MapSettings, render_parts, require_assets
from maps.coverage import coverage_map

router = APIRouter(include_in_schema=False, tags=["pages"])
PlannerUser = Annotated[User, page_role("planner")]

TOP_GAPS = 10
TOP_SITES = 5
# The form's fields: an error about one of them is shown against it.
FORM_FIELDS = ("category", "mode", "minutes", "measure")
MODE_LABELS = {
    "walk": "Walking",
    "cycle": "Cycling",
    "public_transport": "Bus or train",
    "car": "Car",
    "wheelchair": "Wheelchair or mobility scooter",
}
# Each measure: its name in the form, and what its values are (legend, figures, chart text).
MEASURE_TEXT = {
    "nearest": ("Minutes to nearest", "minutes to the nearest listing"),
    "cumulative": ("Listings within reach", "listings within reach"),
    "2sfca": ("2SFCA", "2SFCA: listings per 1,000 people"),
    "e2sfca": ("E2SFCA (by distance)", "E2SFCA: listings per 1,000 people"),
    "g2sfca": ("Gaussian 2SFCA", "Gaussian 2SFCA: listings per 1,000 people"),
}
# What the page says about its travel times, per travel model.
TRAVEL_NOTES = {
    "straight_line": "travel times are straight-line estimates",
    "network": "walking, wheelchair, cycling and driving times follow the street network; "
    "public transport is a straight-line estimate",
}
VALUE_FORMATS = {"nearest": "{:.0f}", "cumulative": "{:.0f}"}
DOWNLOADS = (
    ("csv", "CSV, for Excel"),
    ("geojson", "GeoJSON"),
    ("gpkg", "GeoPackage, for QGIS"),
)


@dataclass(frozen=True)
class Choices:
    """The form's values as typed (strings), so a wrong one is shown back as it was."""

    category: str = ALL
    mode: str = "walk"
    minutes: str = "20"
    measure: str = "e2sfca"

    @classmethod
    def of(cls, request: Request) -> Choices:
        q = request.query_params
        d = cls()
        return cls(
            q.get("category", d.category).strip(),
            q.get("mode", d.mode).strip(),
            q.get("minutes", d.minutes).strip(),
            q.get("measure", d.measure).strip(),
        )

    def params(self) -> CoverageParams:
        try:
            minutes = float(self.minutes)
        except ValueError:
            raise InvalidInputError("Enter the minutes as a number", field="minutes") from None
        if not 0 < minutes <= MAX_MINUTES:  # also refuses nan and infinity
            raise InvalidInputError(
                f"Enter minutes more than 0 and at most {MAX_MINUTES}", field="minutes"
            )
        return make_params(self.category, self.mode, minutes, self.measure)


def _what(measure: str) -> str:
    return MEASURE_TEXT.get(measure, (measure, measure))[1]


def _query(params: CoverageParams) -> str:
    category = params.categories[0] if params.categories else ALL
    values = {"category": category, "mode": params.mode, "minutes": f"{params.minutes:g}"}
    return urlencode({**values, "measure": params.measure})


def _map_layer(run: CoverageRun) -> tuple[Any, str]:
    """The cells with display columns for the map, and the value column's name."""
    params = run.params
    layer = to_layer(run.result)
    scale = 1000.0 if params.measure in PER_THOUSAND else 1.0
    value = "shown"
    layer[value] = layer["access"] * scale
    # Only the gaps of the table get an outline (all units beyond T would cover the map).
    rank = layer["gap_rank"].to_numpy(dtype=float, na_value=np.nan)
    layer["worst gap"] = np.where(rank <= TOP_GAPS, rank, np.nan)
    layer["people"] = layer["population"].round()
    none = f"none within {params.minutes:g}"
    layer["minutes to nearest"] = [
        none if np.isnan(v) else f"{v:.1f}" for v in layer["nearest_min"].to_numpy(float)
    ]
    return layer, value


# Each cached run's rendered map (a tenth of a second to draw), dropped with the run.
_drawn: weakref.WeakKeyDictionary[CoverageRun, tuple[MapSettings, MapParts]] = (
    weakref.WeakKeyDictionary()
)
_drawn_lock = threading.Lock()


def _map(request: Request, run: CoverageRun) -> MapParts:
    settings = map_settings_of(request)
    require_assets(settings)
    with _drawn_lock:
        found = _drawn.get(run)
    if found is not None and found[0] == settings:
        return found[1]
    parts = _draw(run, settings)
    with _drawn_lock:
        _drawn[run] = (settings, parts)
    return parts


def _draw(run: CoverageRun, settings: MapSettings) -> MapParts:
    layer, value = _map_layer(run)
    measure = run.params.measure
    m = coverage_map(
        layer,
        value,
        label=_what(measure)[:1].upper() + _what(measure)[1:],
        gap_column="worst gap",
        value_format=VALUE_FORMATS.get(measure, "{:.2f}"),
        tooltip_columns=("people", "minutes to nearest"),
        higher_is_better=measure != "nearest",
        # No listing in reach (0) never shares a colour with some access, however little.
        zero_class=measure != "nearest",
        settings=settings,
    )
    return render_parts(m, settings)


def _choices_context(chosen: str) -> dict[str, Any]:
    """The form's options: every top-level category (and a narrower one asked for by URL)."""
    taxonomy = default_taxonomy()
    categories = [(ALL, "All categories")] + [(t.id, t.name) for t in taxonomy.roots()]
    if chosen not in dict(categories) and chosen in taxonomy:
        categories.append((chosen, taxonomy.get(chosen).name))
    return {
        "categories": categories,
        "modes": [(m, MODE_LABELS.get(m, m)) for m in MODES],
        "measures": [(m, MEASURE_TEXT.get(m, (m, m))[0]) for m in MEASURES],
        "max_minutes": MAX_MINUTES,
    }


@router.get("/planner")
def planner_page(request: Request, store: StoreDep, user: PlannerUser) -> Response:
    """The dashboard for the chosen category, mode, minutes and measure."""
    choices = Choices.of(request)
    context: dict[str, Any] = {
        "title": "Coverage",
        "choices": choices,
        "demand": demand_of(request).describe(),
        "travel_note": TRAVEL_NOTES.get(
            request.app.state.travel.name, TRAVEL_NOTES["straight_line"]
        ),
        **_choices_context(choices.category),
    }
    try:
        params = choices.params()
        run = run_for(request, store, params)
        suggestion = run.suggest(TOP_SITES)
    except InvalidInputError as exc:  # the page says what is wrong, beside the form
        field = exc.field or "category"
        context["error"] = {"field": field if field in FORM_FIELDS else None, "message": str(exc)}
        return render(request, "planner.html", context, status_code=422)
    summary = run.result.summary
    category_name = dict(context["categories"]).get(choices.category, choices.category)
    context.update(
        {
            "map": _map(request, run),
            "summary": summary,
            "category_name": f"a listing in {category_name}"
            if params.categories
            else "any listing",
            "mode_words": MODE_WORDS.get(params.mode, params.mode),
            "minutes": f"{params.minutes:g}",
            "measure_label": _what(params.measure),
            "per_thousand": params.measure in PER_THOUSAND,
            "gaps": gap_rows(run, TOP_GAPS),
            "sites": site_rows(suggestion, sample_area=run.sample_area),
            "suggestion": suggestion,
            "query": _query(params),
            "downloads": DOWNLOADS,
            "version": run.version,
        }
    )
    return render(request, "planner.html", context)


@router.get("/planner/chart.png")
def planner_chart(
    request: Request, store: StoreDep, user: PlannerUser, params: ParamsDep
) -> Response:
    return chart_response(run_for(request, store, params))


def _download_route(ext: str) -> None:
    def download(
        request: Request, store: StoreDep, user: PlannerUser, params: ParamsDep
    ) -> Response:
        return export_response(run_for(request, store, params), ext)

    router.add_api_route(
        f"/planner/export.{ext}", download, methods=["GET"], name=f"planner_export_{ext}"
    )


for _ext in EXPORTS:
    _download_route(_ext)
