"""One coverage run over a store's published assets, shared by the command line and the web.

:func:`run_coverage` reads the published assets of the categories, measures access from
the demand units (by default the synthetic sample population) and returns a
:class:`CoverageRun`: the result, the dataset version it was made from, and, computed on
first request and then kept, site suggestions, the access chart and the output files.

:func:`cached_run` is what the web asks: the deployment's demand (:class:`DemandSource`:
the planners' own population file, or the sample population), straight-line travel, one run
per (dataset version, parameters, demand) in a :class:`~geo_assets.coverage.cache.CoverageCache`,
so a repeated request costs one read of the listings, and any change to them starts afresh.
The ``*_rows`` and :func:`cells_geojson` helpers turn a run into plain JSON-ready values.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from geo_assets.coverage.analysis import (
    OUTPUT_SUFFIXES,
    CoverageParams,
    CoverageResult,
    analyse,
    published_assets,
    published_filters,
    write_result,
)
from geo_assets.coverage.cache import CoverageCache, dataset_version
from geo_assets.coverage.costs import Progress, Supply
from geo_assets.coverage.demand import Demand, load_demand
from geo_assets.coverage.population import sample_population
from geo_assets.coverage.sites import (
    MAX_SITES,
    SiteSuggestion,
    candidates_from_cells,
    candidates_from_venues,
    read_candidates,
    suggest_sites,
)
from geo_assets.errors import GeoAssetsError, InvalidInputError
from geo_assets.model import Asset
from geo_assets.taxonomy import default_taxonomy
from geo_assets.travel import TravelModel

# Sites the exported GeoPackage suggests (its ``sites`` layer).
EXPORT_SITES = 5
# The cache key's note of where the web's candidate sites come from.
WEB_CANDIDATES = {"candidates": "cells"}


def check_categories(categories: Sequence[str], *, field: str = "category") -> tuple[str, ...]:
    """The ids as a tuple; an id the taxonomy does not know fails naming ``field``."""
    taxonomy = default_taxonomy()
    unknown = [c for c in categories if c not in taxonomy]
    if unknown:
        raise InvalidInputError(
            f"unknown category id(s) {unknown}; see GET /taxonomy for the ids", field=field
        )
    return tuple(categories)


@dataclass(frozen=True)
class Published:
    """The published assets of some categories and their :func:`dataset_version`."""

    assets: list[Asset]
    version: str

    @classmethod
    def read(cls, store: Any, categories: Sequence[str]) -> Published:
        assets = published_assets(store, categories)
        return cls(assets, dataset_version(assets))


@cache
def default_demand() -> Demand:
    """The sample population (built once per process: it takes a fifth of a second)."""
    return sample_population()


@dataclass(frozen=True)
class DemandSource:
    """Where the web's coverage takes its people from.

    A deployment names its planners' population file in the settings
    (``coverage_demand_file``: areas or H3 cells with a population column and optionally a
    need weight, as ``geo-assets coverage --demand`` reads them); without one the web uses
    the synthetic sample population, and says so. The file is read once and again only
    when it changes.
    """

    path: Path | None = None
    population: str | None = None
    need: str | None = None

    @classmethod
    def of(cls, settings: Any) -> DemandSource:
        return cls(
            settings.coverage_demand_file,
            settings.coverage_population_column,
            settings.coverage_need_column,
        )

    def describe(self) -> str:
        if self.path is None:
            return (
                "the sample area's synthetic population (H3 cells of about 0.7 km², "
                "weighted by a made-up need score)"
            )
        weight = f", weighted by its {self.need} column" if self.need else ""
        return f"the population in {self.path.name}{weight}"

    def key(self) -> dict[str, Any]:
        """What the cache must tell apart: the file, its columns and its current state."""
        if self.path is None:
            return {"demand": "sample_population"}
        stat = self._stat()
        return {
            "demand": str(self.path),
            "demand_state": [stat.st_mtime_ns, stat.st_size],
            "population_column": self.population,
            "need_column": self.need,
        }

    def load(self) -> Demand | None:
        """The file's units, or None for the sample (``run_coverage``'s default, which
        names its towns). The app loads a file at start-up, so a broken one stops it there.

        A file that cannot be read is the deployment's fault, not the planner's: it is a
        server error (500) naming the setting, never a 4xx."""
        if self.path is None:
            return None
        stat = self._stat()
        try:
            return _read_demand_file(
                self.path, stat.st_mtime_ns, stat.st_size, self.population, self.need
            )
        except InvalidInputError as exc:
            raise GeoAssetsError(f"coverage_demand_file {self.path}: {exc}") from exc

    def _stat(self) -> Any:
        assert self.path is not None
        try:
            return self.path.stat()
        except OSError as exc:
            raise GeoAssetsError(
                f"coverage_demand_file {self.path} cannot be read: {exc.strerror or exc}"
            ) from exc


@lru_cache(maxsize=4)
def _read_demand_file(
    path: Path, mtime_ns: int, size: int, population: str | None, need: str | None
) -> Demand:
    """A planner's demand file, read once per version of it (``mtime_ns``, ``size``)."""
    units = load_demand(path, population=population, need=need)
    assert units is not None
    return units


def candidate_pool(
    candidates: str, demand: Demand, venues: Sequence[Asset], categories: Sequence[str]
) -> Supply:
    """Candidate sites: ``cells`` (every unit's centre), ``venues`` (published venues not
    offering the categories) or a file path (see :func:`~.sites.read_candidates`).

    Cells run out only with no demand units, where no site could reach anyone: that is an
    answer (no site helps), not a fault; venues or a file with none are the caller's."""
    if candidates == "cells":
        return candidates_from_cells(demand)
    if candidates == "venues":
        pool = candidates_from_venues(venues, categories)
    else:
        pool = read_candidates(candidates)
    if len(pool) == 0:
        raise InvalidInputError("no candidate sites to choose from", field="candidates")
    return pool


class CoverageRun:
    """A coverage result and what is derived from it on request, each made once."""

    def __init__(
        self,
        result: CoverageResult,
        version: str,
        *,
        candidates: str = "cells",
        venues: Sequence[Asset] = (),
        travel: TravelModel | None = None,
        sample_area: bool = True,
    ) -> None:
        self.result = result
        # Demand from the sample population: its units can be named after the sample's
        # towns and neighbourhoods (a planner's own areas carry their own ids).
        self.sample_area = sample_area
        self.version = version
        self.candidates = candidates
        self._venues = list(venues)
        self._travel = travel
        self._lock = threading.Lock()
        self._sites: tuple[int, SiteSuggestion] | None = None
        self._chart: bytes | None = None
        self._files: dict[str, bytes] = {}

    @property
    def params(self) -> CoverageParams:
        return self.result.params

    def suggest(self, k: int, *, progress: Progress | None = None) -> SiteSuggestion:
        """The best ``k`` new sites (greedy maximal covering).

        Greedy picks do not depend on ``k`` (the first ``k`` of ``k + 1`` picks are the
        picks for ``k``), so a smaller ``k`` is cut from the longest list made so far.
        """
        if not 1 <= k <= MAX_SITES:
            raise InvalidInputError(f"`k` must be from 1 to {MAX_SITES}, not {k!r}", field="k")
        with self._lock:
            if self._sites is not None:
                asked, made = self._sites
                if k <= asked or len(made.table) < asked:  # fewer picks: nothing more helps
                    return _first_sites(made, k)
            pool = candidate_pool(
                self.candidates, self.result.demand, self._venues, self.params.categories
            )
            made = suggest_sites(
                self.result.demand,
                self.result.supply,
                pool,
                mode=self.params.mode,
                minutes=self.params.minutes,
                k=k,
                travel=self._travel,
                progress=progress,
            )
            self._sites = (k, made)
            return made

    def chart_png(self) -> bytes:
        """The access-distribution chart (see :mod:`.chart`) as PNG bytes."""
        with self._lock:
            if self._chart is None:
                from geo_assets.coverage.chart import access_chart

                with tempfile.TemporaryDirectory(prefix="geo_assets_chart_") as folder:
                    drawn = access_chart(self.result, Path(folder) / "access.png")
                    self._chart = drawn.read_bytes()
            return self._chart

    def file_bytes(self, suffix: str) -> bytes:
        """The result as a ``.gpkg`` (with :data:`EXPORT_SITES` suggested sites), ``.geojson``
        or ``.csv`` file (see :func:`~.analysis.write_result`)."""
        suffix = suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            raise InvalidInputError(
                f"the format must be one of {list(OUTPUT_SUFFIXES)}, not {suffix!r}", field="format"
            )
        sites = self.suggest(EXPORT_SITES).table if suffix == ".gpkg" else None
        with self._lock:
            if suffix not in self._files:
                with tempfile.TemporaryDirectory(prefix="geo_assets_export_") as folder:
                    target = Path(folder) / f"coverage{suffix}"
                    write_result(self.result, target, sites=sites)
                    self._files[suffix] = target.read_bytes()
            return self._files[suffix]


def _first_sites(made: SiteSuggestion, k: int) -> SiteSuggestion:
    table = made.table.head(k)
    after = float(table["covered_population"].iloc[-1]) if len(table) else made.covered_before
    return SiteSuggestion(table, made.population, made.covered_before, after)


def run_coverage(
    store: Any,
    params: CoverageParams,
    *,
    demand: Demand | None = None,
    candidates: str = "cells",
    travel: TravelModel | None = None,
    progress: Progress | None = None,
    step: Callable[[str], None] | None = None,
    published: Published | None = None,
) -> CoverageRun:
    """Access to the published assets of ``params.categories`` from every demand unit.

    ``demand`` defaults to the sample population; ``candidates`` says where
    :meth:`CoverageRun.suggest` may put new sites; ``step`` hears each stage's name
    and ``progress`` the travel-time work done. ``published`` skips reading the store.
    """
    say = step or (lambda _stage: None)
    say("reading assets")
    check_categories(params.categories)
    if published is None:
        published = Published.read(store, params.categories)
    # Every published venue, whatever its categories: a sports hall filed under sport can
    # host a music group as well as a venue filed under venues.
    venues = published_assets(store, kinds=["venue"]) if candidates == "venues" else []
    units = demand if demand is not None else default_demand()
    say("travel times")
    result = analyse(
        units, Supply.from_assets(published.assets), params, travel=travel, progress=progress
    )
    return CoverageRun(
        result,
        published.version,
        candidates=candidates,
        venues=venues,
        travel=travel,
        sample_area=demand is None,
    )


def current_version(
    cache: CoverageCache, store: Any, categories: Sequence[str]
) -> tuple[str, Published | None]:
    """The dataset version of the published assets of ``categories``, and the assets
    when they had to be read.

    Reading every asset to hash it takes seconds at tens of thousands of listings, so
    the version last seen is reused while two counts say nothing changed: as many
    published assets as then, and none modified after the newest one seen then (the
    cache's ``dataset_ttl_s`` bounds how long that cheap check alone is trusted).
    """
    from geo_assets.store.base import latest_change, unchanged_since

    scope = tuple(categories)
    seen = cache.stamp(scope)
    filters = published_filters(categories)
    if seen is not None and unchanged_since(store, filters, seen.count, seen.latest):
        return seen.version, None
    published = Published.read(store, categories)
    latest = latest_change(published.assets)
    cache.note_stamp(scope, published.version, len(published.assets), latest)
    return published.version, published


def cached_run(
    cache: CoverageCache,
    store: Any,
    params: CoverageParams,
    demand: DemandSource = DemandSource(),
    travel: TravelModel | None = None,
) -> CoverageRun:
    """The web's run for ``params`` (``demand``; ``travel``, straight lines by default),
    from ``cache`` while the published assets of the categories and the demand are
    unchanged. ``params.travel`` names the model, so runs of different models never mix."""
    check_categories(params.categories)
    version, published = current_version(cache, store, params.categories)
    key = {**params.as_dict(), **demand.key(), **WEB_CANDIDATES}

    def compute() -> CoverageRun:
        units = demand.load()
        return run_coverage(store, params, demand=units, published=published, travel=travel)

    return cache.get_or_compute(version, key, compute)


# --- plain values for JSON answers and pages ----------------------------------------------


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def nearest_places(
    lat: np.ndarray, lon: np.ndarray, *, sample_area: bool = True
) -> list[str | None]:
    """The name of the nearest sample centre (town or neighbourhood) to each point; None
    each when the demand is not the sample area's (its names would mean nothing there)."""
    if not sample_area:
        return [None] * len(lat)
    from geo_assets.synthetic import BRADFORD_CENTRES

    c_lat = np.array([c.lat for c in BRADFORD_CENTRES])
    c_lon = np.array([c.lon for c in BRADFORD_CENTRES])
    scale = np.cos(np.radians(np.mean(c_lat)))
    d2 = (np.asarray(lat)[:, None] - c_lat) ** 2 + ((np.asarray(lon)[:, None] - c_lon) * scale) ** 2
    return [BRADFORD_CENTRES[k].name for k in np.argmin(d2, axis=1)] if len(lat) else []


def gap_rows(run: CoverageRun, top: int | None = None) -> list[dict[str, Any]]:
    """The worst gaps first: rank, unit id, nearest place, population, need, access, score."""
    gaps = run.result.gaps(top)
    near = nearest_places(
        gaps["lat"].to_numpy(), gaps["lon"].to_numpy(), sample_area=run.sample_area
    )
    return [
        {
            "rank": int(row.gap_rank),
            "id": str(row.id),
            "near": place,
            "lat": float(row.lat),
            "lon": float(row.lon),
            "population": float(row.population),
            "need": float(row.need),
            "nearest_min": _finite(row.nearest_min),
            "access": _finite(row.access),
            "gap_score": float(row.gap_score),
        }
        for row, place in zip(gaps.itertuples(), near, strict=True)
    ]


def site_rows(suggestion: SiteSuggestion, *, sample_area: bool = True) -> list[dict[str, Any]]:
    """Suggested sites in pick order, with the population each newly brings within reach."""
    table = suggestion.table
    near = nearest_places(table["lat"].to_numpy(), table["lon"].to_numpy(), sample_area=sample_area)
    total = suggestion.population or 1.0
    return [
        {
            "rank": int(row.rank),
            "id": str(row.id),
            "name": str(row.name),
            "near": place,
            "lat": float(row.lat),
            "lon": float(row.lon),
            "new_population": float(row.new_population),
            "new_need": float(row.new_need),
            "covered_population": float(row.covered_population),
            "pct_covered": 100.0 * float(row.covered_population) / total,
        }
        for row, place in zip(table.itertuples(), near, strict=True)
    ]


CELL_PROPERTIES = (
    "population",
    "need",
    "nearest_min",
    "opportunities",
    "two_sfca",
    "e2sfca",
    "g2sfca",
    "access",
    "gap_score",
)


def cells_geojson(run: CoverageRun) -> dict[str, Any]:
    """Every demand unit as a GeoJSON Feature (polygon, lon/lat) with its measures;
    ``null`` where a value is missing (no asset within the threshold)."""
    import shapely

    cells = run.result.cells
    polygons = run.result.demand.polygons()
    columns = {name: cells[name].to_numpy(float) for name in CELL_PROPERTIES}
    ranks = cells["gap_rank"].to_numpy(dtype=float, na_value=np.nan)
    features = []
    for k, ident in enumerate(cells["id"].tolist()):
        properties: dict[str, Any] = {"id": str(ident)}
        properties.update({name: _finite(values[k]) for name, values in columns.items()})
        properties["gap_rank"] = None if math.isnan(ranks[k]) else int(ranks[k])
        features.append(
            {
                "type": "Feature",
                "id": str(ident),
                "geometry": shapely.geometry.mapping(polygons[k]),
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}
