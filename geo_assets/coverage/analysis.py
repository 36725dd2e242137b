"""One coverage run: demand x supply -> every measure per unit, gaps, summary; and its outputs.

:func:`analyse` builds the sparse cost table once (see :mod:`.costs`) and computes all
measures from it, so switching the headline measure costs nothing. Results come as a
pandas frame (one row per demand unit), a GeoDataFrame layer (:func:`to_layer`) and
files (:func:`write_result`: GeoPackage, GeoJSON or CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geo_assets.coverage import measures as m
from geo_assets.coverage.costs import CostTable, Progress, Supply, build_cost_table
from geo_assets.coverage.demand import Demand
from geo_assets.coverage.gaps import GapDefinition, gap_scores, lack_of_access, rank_gaps
from geo_assets.errors import InvalidInputError
from geo_assets.model import AssetKind
from geo_assets.travel import TravelModel, check_minutes, check_mode

# Column of the per-unit frame that holds each measure.
MEASURE_COLUMNS = {
    "nearest": "nearest_min",
    "cumulative": "opportunities",
    "2sfca": "two_sfca",
    "e2sfca": "e2sfca",
    "g2sfca": "g2sfca",
}
OUTPUT_SUFFIXES = (".gpkg", ".geojson", ".json", ".csv")


@dataclass(frozen=True)
class CoverageParams:
    """What to measure: categories, mode, threshold ``minutes``, headline measure, gaps."""

    categories: tuple[str, ...] = ()
    mode: str = "walk"
    minutes: float = 20.0
    measure: str = "e2sfca"
    gap: GapDefinition = field(default_factory=GapDefinition)
    step_weights: tuple[float, ...] = m.LUO_QI_WEIGHTS
    travel: str = "straight_line"

    def __post_init__(self) -> None:
        check_mode(self.mode)
        check_minutes(self.minutes)
        m.check_measure(self.measure)
        if self.gap.kind == "below_percentile" and self.measure == "nearest":
            raise InvalidInputError(
                "`below_percentile` gaps need a measure where more is better "
                "(cumulative, 2sfca, e2sfca, g2sfca), not `nearest`",
                field="gap",
            )

    def as_dict(self) -> dict[str, Any]:
        """Plain values, e.g. for a cache key or a file's metadata."""
        out = asdict(self)
        out["categories"] = list(self.categories)
        out["step_weights"] = list(self.step_weights)
        return out


@dataclass(frozen=True)
class CoverageResult:
    """Per-unit measures (``cells``), the headline summary and what produced them."""

    params: CoverageParams
    demand: Demand
    supply: Supply
    cells: Any  # pandas DataFrame, one row per demand unit, in demand order
    summary: dict[str, Any]
    pairs: int

    @property
    def access_column(self) -> str:
        return MEASURE_COLUMNS[self.params.measure]

    def gaps(self, top: int | None = None) -> Any:
        """Units with a gap, worst first (see :func:`geo_assets.coverage.gaps.rank_gaps`)."""
        return rank_gaps(self.cells, top=top)


def measure_all(
    table: CostTable,
    P_k: np.ndarray,
    S_j: np.ndarray,
    d0: float,
    step_weights: Sequence[float] = m.LUO_QI_WEIGHTS,
) -> dict[str, np.ndarray]:
    """Every measure per demand unit, from one cost table, keyed by frame column."""
    i, j, d = table.i, table.j, table.minutes
    n = table.n_demand
    return {
        "nearest_min": m.nearest_minutes(i, d, n),
        "opportunities": m.cumulative_opportunities(i, j, d, n, d0),
        "two_sfca": m.two_step_fca(i, j, d, P_k, S_j, d0),
        "e2sfca": m.enhanced_two_step_fca(i, j, d, P_k, S_j, d0, step_weights),
        "g2sfca": m.gaussian_two_step_fca(i, j, d, P_k, S_j, d0),
    }


def analyse(
    demand: Demand,
    supply: Supply,
    params: CoverageParams,
    *,
    travel: TravelModel | None = None,
    progress: Progress | None = None,
) -> CoverageResult:
    """Measure access from every demand unit to ``supply`` and find the gaps."""
    import pandas as pd

    d0 = params.minutes
    table = build_cost_table(
        demand.lat,
        demand.lon,
        supply.lat,
        supply.lon,
        mode=params.mode,
        max_minutes=d0,
        travel=travel,
        progress=progress,
    )
    values = measure_all(table, demand.population, supply.capacity, d0, params.step_weights)
    cells = pd.DataFrame(
        {
            "id": demand.ids,
            "lat": demand.lat,
            "lon": demand.lon,
            "population": demand.population,
            "need": demand.need,
            **values,
        }
    )
    access = values[MEASURE_COLUMNS[params.measure]]
    lack = lack_of_access(access, values["nearest_min"], d0, demand.population, params.gap)
    cells["access"] = access
    cells["lack"] = lack
    cells["gap_score"] = gap_scores(demand.population, demand.need, lack)
    ranked = rank_gaps(cells)
    cells["gap_rank"] = (
        pd.Series(ranked["gap_rank"].to_numpy(), index=ranked.index)
        .reindex(cells.index)
        .astype("Int64")
    )
    summary = m.journey_time_summary(demand.population, demand.need, values["nearest_min"], d0)
    # Mean access per person; for nearest minutes, among those with an asset within reach.
    P = demand.population
    counted = np.isfinite(access) & (P > 0)
    mean_access = (
        float((access[counted] * P[counted]).sum() / P[counted].sum()) if counted.any() else 0.0
    )
    summary.update(
        {
            "measure": params.measure,
            "mean_access": mean_access,
            "assets": len(supply),
            "pairs": len(table),
            "gap_units": int(len(ranked)),
            "gap_population": float(ranked["population"].sum()),
            "params": params.as_dict(),
        }
    )
    return CoverageResult(params, demand, supply, cells, summary, len(table))


def to_layer(result: CoverageResult, cells: Any | None = None) -> Any:
    """A GeoDataFrame (EPSG:4326) of the units' polygons with every column of ``cells``."""
    import geopandas as gpd

    frame = result.cells if cells is None else cells
    polygons = result.demand.polygons()[frame.index.to_numpy()]
    out = frame.copy()
    # Files hold no infinities: "no asset within the threshold" is a missing value.
    out["nearest_min"] = out["nearest_min"].replace(np.inf, np.nan)
    out["access"] = out["access"].replace(np.inf, np.nan)
    return gpd.GeoDataFrame(out, geometry=list(polygons), crs="EPSG:4326")


def gaps_layer(result: CoverageResult, top: int | None = None) -> Any:
    """The ranked gaps as a GeoDataFrame (EPSG:4326), worst first."""
    return to_layer(result, result.gaps(top))


def assets_layer(supply: Supply) -> Any:
    """The supply points as a GeoDataFrame layer (id, name, capacity)."""
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"id": supply.ids, "name": supply.names, "capacity": supply.capacity},
        geometry=list(shapely.points(supply.lon, supply.lat)),
        crs="EPSG:4326",
    )


def write_result(
    result: CoverageResult, path: str | Path, *, sites: Any | None = None
) -> list[str]:
    """Write the result by file suffix; returns the layers (or tables) written.

    ``.gpkg``: layers ``coverage`` (every unit), ``gaps`` (ranked), ``assets`` and, when
    given, ``sites`` (suggested sites as points). ``.geojson``: the coverage layer.
    ``.csv``: the per-unit table with lat/lon and no geometry; its text (unit ids from a
    planner's own file) guarded against running as a spreadsheet formula.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InvalidInputError(
            f"`out` must end in one of {list(OUTPUT_SUFFIXES)}, not {target.name!r}", field="out"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        import pandas as pd

        from geo_assets.ingest.spreadsheet import guarded

        table = result.cells.replace([np.inf], np.nan)
        for column in table.columns:
            if not pd.api.types.is_numeric_dtype(table[column]):
                table[column] = table[column].map(guarded)
        table.to_csv(target, index=False)
        return ["coverage"]
    layer = to_layer(result)
    if suffix in (".geojson", ".json"):
        if target.exists():
            target.unlink()
        layer.to_file(target, driver="GeoJSON", engine="pyogrio")
        return ["coverage"]
    if target.exists():
        target.unlink()
    layer.to_file(target, layer="coverage", driver="GPKG", engine="pyogrio")
    written = ["coverage"]
    gaps = result.gaps()
    if len(gaps):
        gaps_layer(result).to_file(target, layer="gaps", driver="GPKG", engine="pyogrio")
        written.append("gaps")
    if len(result.supply):
        assets_layer(result.supply).to_file(target, layer="assets", driver="GPKG", engine="pyogrio")
        written.append("assets")
    if sites is not None and len(sites):
        import geopandas as gpd
        import shapely

        points = gpd.GeoDataFrame(
            sites, geometry=list(shapely.points(sites["lon"], sites["lat"])), crs="EPSG:4326"
        )
        points.to_file(target, layer="sites", driver="GPKG", engine="pyogrio")
        written.append("sites")
    return written


def published_filters(
    categories: Sequence[str] | None = None, kinds: Sequence[AssetKind] | None = None
) -> Any:
    """The store filters for published assets in ``categories`` (and narrower terms) and,
    when given, of these ``kinds``."""
    from geo_assets.store.base import AssetFilters

    return AssetFilters(
        categories=list(categories) if categories else None,
        kinds=list(kinds) if kinds else None,
        statuses=["published"],
    )


def published_assets(
    store: Any,
    categories: Sequence[str] | None = None,
    kinds: Sequence[AssetKind] | None = None,
) -> list[Any]:
    """Every published asset in ``categories`` (and narrower terms) and ``kinds``, read
    page by page."""
    from geo_assets.store.base import iter_assets

    return list(iter_assets(store, published_filters(categories, kinds)))
