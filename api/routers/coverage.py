"""Coverage for planners over HTTP: summary, cells, gaps, sites, downloads and the chart.

Every route takes the same four query parameters (``category``, ``mode``, ``minutes``,
``measure``: not personal data, so GET is fine) and answers from one run per (dataset
version, parameters, demand, travel model), kept in the app's
:class:`~geo_assets.coverage.CoverageCache` (``geo_assets.coverage.service.cached_run``):
the first request over the sample area takes a fraction of a second, a repeat only reads
the listings to check their version, and a change to a published listing of the category
starts a new run. The people are the deployment's ``coverage_demand_file``, else the sample
area's synthetic population; travel follows ``network_file``'s streets when it is set.
Planners and admins only (bearer token); the planner's web page uses the same helpers.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import StoreDep, require_roles
from api.routers.geojson import GEOJSON, GeoJSONResponse
from api.routers.schemas import problems
from geo_assets.auth import User
from geo_assets.coverage.analysis import CoverageParams
from geo_assets.coverage.cache import CoverageCache
from geo_assets.coverage.measures import Measure
from geo_assets.coverage.service import (
    CoverageRun,
    DemandSource,
    cached_run,
    cells_geojson,
    check_categories,
    gap_rows,
    site_rows,
)
from geo_assets.coverage.sites import MAX_SITES
from geo_assets.store import Store
from geo_assets.travel import MAX_MINUTES, Mode, TravelModel

router = APIRouter(prefix="/coverage", tags=["coverage"])

ALL = "all"
DEFAULT_TOP = 10
MAX_TOP = 1000
DEFAULT_SITES = 5
CACHE_ENTRIES = 32
# Download formats: media type of each.
EXPORTS: dict[str, str] = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": GEOJSON,
    "csv": "text/csv; charset=utf-8",
}
PNG = "image/png"
_STATUSES = (401, 403, 422, 429, 503)
_cache_lock = threading.Lock()


def coverage_cache(request: Request) -> CoverageCache:
    """The app's coverage cache, made on first use."""
    state = request.app.state
    with _cache_lock:
        cache: CoverageCache | None = getattr(state, "coverage_cache", None)
        if cache is None:
            cache = CoverageCache(max_entries=CACHE_ENTRIES)
            state.coverage_cache = cache
    return cache


Planner = Annotated[User, Depends(require_roles("planner"))]


def make_params(category: str, mode: str, minutes: float, measure: str) -> CoverageParams:
    """``CoverageParams`` from the query values; ``all`` means every category."""
    categories = () if category == ALL else check_categories([category])
    return CoverageParams(categories=categories, mode=mode, minutes=minutes, measure=measure)


def coverage_params(
    category: Annotated[
        str,
        Query(
            max_length=100,
            description="taxonomy term id (narrower terms count; see GET /taxonomy) or `all`",
        ),
    ] = ALL,
    mode: Annotated[Mode, Query(description="how people travel")] = "walk",
    minutes: Annotated[
        float,
        Query(gt=0, le=MAX_MINUTES, allow_inf_nan=False, description="travel-time threshold T"),
    ] = 20.0,
    measure: Annotated[
        Measure,
        Query(
            description="headline measure: nearest (minutes), cumulative (assets within T), "
            "2sfca, e2sfca (Luo & Qi step weights) or g2sfca (Gaussian)"
        ),
    ] = "e2sfca",
) -> CoverageParams:
    return make_params(category, mode, minutes, measure)


ParamsDep = Annotated[CoverageParams, Depends(coverage_params)]


def demand_of(request: Request) -> DemandSource:
    """The deployment's demand for coverage (``coverage_demand_file``, else the sample)."""
    return DemandSource.of(request.app.state.settings)


def run_for(request: Request, store: Store, params: CoverageParams) -> CoverageRun:
    """The cached run of ``params`` over the deployment's demand and travel model."""
    travel: TravelModel = request.app.state.travel
    measured = replace(params, travel=travel.name)
    return cached_run(coverage_cache(request), store, measured, demand_of(request), travel)


# --- response models ------------------------------------------------------------------------


class CoverageQuery(BaseModel):
    """The parameters a run was made with."""

    category: str
    mode: str
    minutes: float
    measure: str


def query_of(params: CoverageParams) -> CoverageQuery:
    return CoverageQuery(
        category=params.categories[0] if params.categories else ALL,
        mode=params.mode,
        minutes=params.minutes,
        measure=params.measure,
    )


class Band(BaseModel):
    minutes: float
    pct_population_within: float = Field(description="% of people within `minutes`")
    pct_need_within: float = Field(description="% of population x need within `minutes`")


class CoverageSummary(BaseModel):
    """The DfT journey-time style headline figures of one run."""

    query: CoverageQuery
    dataset_version: str = Field(description="changes whenever a counted listing changes")
    population: float = Field(description="people in the study area")
    population_within: float = Field(description="people with an asset within `minutes`")
    pct_population_within: float = Field(description="% of people within `minutes`")
    pct_need_within: float = Field(description="% of population x need within `minutes`")
    units: int = Field(description="demand units (H3 cells)")
    units_within: int
    bands: list[Band] = Field(description="shares within quarters of `minutes`")
    mean_access: float = Field(
        description="population-weighted mean of the headline measure (for `nearest`: "
        "among people with an asset within reach)"
    )
    assets: int = Field(description="published assets counted")
    pairs: int = Field(description="(unit, asset) pairs within `minutes`")
    gap_units: int
    gap_population: float
    params: dict[str, Any] = Field(description="every parameter of the run")


class GapRow(BaseModel):
    rank: int = Field(ge=1, description="1 is the worst gap")
    id: str = Field(description="demand unit (H3 cell id, or the id of a planner's area)")
    near: str | None = Field(
        description="the nearest town or neighbourhood centre of the sample area; null "
        "with a planner's own demand file"
    )
    lat: float
    lon: float
    population: float
    need: float = Field(description="need weight (about 1 on average)")
    nearest_min: float | None = Field(description="minutes to the nearest asset; null: none")
    access: float | None = Field(description="the headline measure")
    gap_score: float = Field(description="population x need x lack of access")


class GapTable(BaseModel):
    query: CoverageQuery
    dataset_version: str
    total: int = Field(description="units with a gap (all of them, not only those listed)")
    gaps: list[GapRow]


class SiteRow(BaseModel):
    rank: int = Field(ge=1, description="order of the greedy picks")
    id: str
    name: str
    near: str | None = Field(
        description="the nearest town or neighbourhood centre of the sample area; null "
        "with a planner's own demand file"
    )
    lat: float
    lon: float
    new_population: float = Field(description="people the site newly brings within reach")
    new_need: float = Field(description="population x need newly within reach")
    covered_population: float = Field(description="people within reach after this pick")
    pct_covered: float = Field(description="% of people within reach after this pick")


class SiteTable(BaseModel):
    query: CoverageQuery
    dataset_version: str
    population: float
    covered_before: float = Field(description="people within reach of existing assets")
    covered_after: float = Field(description="people within reach with the suggested sites")
    sites: list[SiteRow]


class CellGeometry(BaseModel):
    type: str = Field(description="Polygon (lon/lat degrees, WGS84)")
    coordinates: list[Any]


class CellProperties(BaseModel):
    id: str
    population: float | None
    need: float | None
    nearest_min: float | None = Field(description="minutes to the nearest asset; null: none")
    opportunities: float | None = Field(description="assets within `minutes`")
    two_sfca: float | None
    e2sfca: float | None
    g2sfca: float | None
    access: float | None = Field(description="the headline measure")
    gap_score: float | None
    gap_rank: int | None = Field(description="1 is the worst gap; null: no gap")


class CellFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: CellGeometry
    properties: CellProperties


class CellCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[CellFeature]
    query: CoverageQuery
    dataset_version: str


# --- routes ---------------------------------------------------------------------------------


@router.get(
    "/summary",
    response_model=CoverageSummary,
    summary="Share of people (and of need) within T minutes of a category (planner or admin)",
    responses=problems(*_STATUSES),
)
def get_summary(
    request: Request, store: StoreDep, user: Planner, params: ParamsDep
) -> CoverageSummary:
    """Population-weighted access to the published assets of ``category`` by ``mode``
    within ``minutes`` over the demand units (the deployment's, else the sample area's H3
    cells): % of people and % of need-weighted people within reach, shares for shorter
    times, the mean of the headline ``measure``."""
    run = run_for(request, store, params)
    return CoverageSummary.model_validate(
        {**run.result.summary, "query": query_of(params), "dataset_version": run.version}
    )


@router.get(
    "/cells",
    response_model=CellCollection,
    response_class=GeoJSONResponse,
    summary="Every demand cell with its access measures, as GeoJSON (planner or admin)",
    responses=problems(*_STATUSES),
)
def get_cells(request: Request, store: StoreDep, user: Planner, params: ParamsDep) -> Any:
    """A GeoJSON FeatureCollection (RFC 7946) of the H3 cells: population, need, minutes
    to the nearest asset, assets within reach, 2SFCA / E2SFCA / Gaussian 2SFCA, the
    headline ``access``, gap score and rank."""
    run = run_for(request, store, params)
    body = cells_geojson(run)
    return {**body, "query": query_of(params), "dataset_version": run.version}


@router.get(
    "/gaps",
    response_model=GapTable,
    summary="Where access is missing: cells ranked worst first (planner or admin)",
    responses=problems(*_STATUSES),
)
def get_gaps(
    request: Request,
    store: StoreDep,
    user: Planner,
    params: ParamsDep,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="rows wanted")] = DEFAULT_TOP,
) -> GapTable:
    """Cells where people in need lack access (none within ``minutes``), by gap score
    population x need x lack of access, worst first."""
    run = run_for(request, store, params)
    return GapTable(
        query=query_of(params),
        dataset_version=run.version,
        total=int(run.result.summary["gap_units"]),
        gaps=[GapRow(**row) for row in gap_rows(run, top)],
    )


@router.get(
    "/sites",
    response_model=SiteTable,
    summary="Where new venues would help most: greedy maximal covering (planner or admin)",
    responses=problems(*_STATUSES),
)
def get_sites(
    request: Request,
    store: StoreDep,
    user: Planner,
    params: ParamsDep,
    k: Annotated[int, Query(ge=1, le=MAX_SITES, description="sites wanted")] = DEFAULT_SITES,
) -> SiteTable:
    """Up to ``k`` cell centres chosen one at a time, each the one that brings the most
    population x need within ``minutes`` that no asset (nor earlier pick) reaches."""
    run = run_for(request, store, params)
    suggestion = run.suggest(k)
    return SiteTable(
        query=query_of(params),
        dataset_version=run.version,
        population=suggestion.population,
        covered_before=suggestion.covered_before,
        covered_after=suggestion.covered_after,
        sites=[SiteRow(**row) for row in site_rows(suggestion, sample_area=run.sample_area)],
    )


def download_name(params: CoverageParams, ext: str) -> str:
    """``coverage-<category>-<mode>-<minutes>min-<measure>.<ext>`` (safe characters only)."""
    category = params.categories[0] if params.categories else ALL
    return f"coverage-{category}-{params.mode}-{params.minutes:g}min-{params.measure}.{ext}"


def export_response(run: CoverageRun, ext: str) -> Response:
    """The run as a download (``Content-Disposition: attachment``)."""
    body = run.file_bytes(f".{ext}")
    name = download_name(run.params, ext)
    return Response(
        body,
        media_type=EXPORTS[ext],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def chart_response(run: CoverageRun) -> Response:
    return Response(run.chart_png(), media_type=PNG)


_EXPORT_TEXT = {
    "gpkg": "GeoPackage for QGIS: layers `coverage` (every cell), `gaps` (ranked), "
    "`assets` and `sites` (5 suggested), EPSG:4326",
    "geojson": "GeoJSON of every cell with its measures (EPSG:4326)",
    "csv": "CSV, one row per cell with lat/lon and every measure (for Excel)",
}


_FORMAT_NAMES = {"gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV"}
_EXPORT_SCHEMAS: dict[str, dict[str, Any]] = {
    "gpkg": {"type": "string", "format": "binary"},
    "geojson": {"type": "object", "description": "a GeoJSON FeatureCollection"},
    "csv": {"type": "string"},
}


def _export_route(ext: str) -> None:
    schema = _EXPORT_SCHEMAS[ext]

    def export(request: Request, store: StoreDep, user: Planner, params: ParamsDep) -> Response:
        return export_response(run_for(request, store, params), ext)

    export.__doc__ = f"Download: {_EXPORT_TEXT[ext]}."
    router.add_api_route(
        f"/export.{ext}",
        export,
        methods=["GET"],
        name=f"coverage_export_{ext}",
        summary=f"Download the coverage as {_FORMAT_NAMES[ext]} (planner or admin)",
        response_class=Response,
        responses={
            200: {
                "description": _EXPORT_TEXT[ext],
                "content": {EXPORTS[ext].split(";")[0]: {"schema": schema}},
                "headers": {
                    "Content-Disposition": {
                        "description": "attachment; filename=coverage-<category>-<mode>-"
                        "<minutes>min-<measure>." + ext,
                        "schema": {"type": "string"},
                    }
                },
            },
            **problems(*_STATUSES),
        },
    )


for _ext in EXPORTS:
    _export_route(_ext)


@router.get(
    "/chart.png",
    response_class=Response,
    summary="The access-distribution chart as a PNG (planner or admin)",
    responses={
        200: {
            "description": "journey-time curve and distribution of the headline measure",
            "content": {PNG: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problems(*_STATUSES),
    },
)
def get_chart(request: Request, store: StoreDep, user: Planner, params: ParamsDep) -> Response:
    """Left: % of people (and of need) with an asset within t minutes; right: how the
    headline measure is spread over the population."""
    return chart_response(run_for(request, store, params))
