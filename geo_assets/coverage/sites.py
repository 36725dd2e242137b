"""Where would a new venue help most: greedy maximal covering location.

The maximal covering location problem (Church, R. & ReVelle, C. (1974). The maximal
covering location problem. *Papers of the Regional Science Association* 32, 101-118):
choose ``p`` sites among candidates to maximise the demand ``a_i`` within the service
standard ``S`` (here: ``minutes``) of at least one chosen site. Demand already within reach
of an existing asset counts as covered. The greedy rule adds, one at a time, the candidate
that covers the most still-uncovered demand; coverage is submodular, so greedy reaches at
least ``1 - 1/e`` (63%) of the optimum (Nemhauser, G. L., Wolsey, L. A. & Fisher, M. L.
(1978). *Mathematical Programming* 14, 265-294) and in practice nearly all of it. Each
pick reports the population it newly covers, which is what a planner asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from geo_assets.coverage.costs import Progress, Supply, build_cost_table
from geo_assets.coverage.demand import CSV_FIRST_ROW, Demand, check_coordinates, read_csv
from geo_assets.errors import InvalidInputError
from geo_assets.ingest.geo import refuse_linked_crs
from geo_assets.model import Asset
from geo_assets.taxonomy import default_taxonomy
from geo_assets.travel import TravelModel

MAX_SITES = 100


def coverage_matrix(i: np.ndarray, j: np.ndarray, n_demand: int, n_sites: int) -> csr_matrix:
    """``N`` as a sparse 0/1 matrix, sites x demand: ``N[j, i] = 1`` when site j covers unit i."""
    data = np.ones(len(i), dtype=np.float64)
    matrix = csr_matrix((data, (j, i)), shape=(n_sites, n_demand))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def greedy_max_cover(
    N: csr_matrix, a_i: np.ndarray, p: int, covered: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """Greedy MCLP: ``p`` picks of (site index, newly covered demand), best first.

    ``N`` is sites x demand (see :func:`coverage_matrix`), ``a_i`` the demand weight and
    ``covered`` the units already served. Stops early when no site adds anything; ties go
    to the lower site index.
    """
    a = np.asarray(a_i, dtype=float)
    uncovered = a.copy()
    if covered is not None:
        uncovered[np.asarray(covered, dtype=bool)] = 0.0
    picks: list[tuple[int, float]] = []
    if N.shape[0] == 0:  # no candidates (no demand units to put them at)
        return picks
    chosen = np.zeros(N.shape[0], dtype=bool)
    for _ in range(p):
        gain = N @ uncovered
        gain[chosen] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        picks.append((best, float(gain[best])))
        chosen[best] = True
        row = N.indices[N.indptr[best] : N.indptr[best + 1]]
        uncovered[row] = 0.0
    return picks


@dataclass(frozen=True)
class SiteSuggestion:
    """The chosen sites in order, and population covered before and after (people)."""

    table: Any  # pandas DataFrame: rank, id, name, lat, lon, new_population, new_need, ...
    population: float
    covered_before: float
    covered_after: float


def suggest_sites(
    demand: Demand,
    existing: Supply,
    candidates: Supply,
    *,
    mode: str,
    minutes: float,
    k: int = 5,
    travel: TravelModel | None = None,
    objective: str = "need",
    progress: Progress | None = None,
) -> SiteSuggestion:
    """The best ``k`` new sites among ``candidates`` (greedy MCLP within ``minutes``).

    ``objective`` "need" maximises population x need newly covered, "population" plain
    population. Demand already within ``minutes`` of an ``existing`` asset is not counted.
    """
    import pandas as pd

    if not 1 <= k <= MAX_SITES:
        raise InvalidInputError(f"`k` must be from 1 to {MAX_SITES}, not {k!r}", field="k")
    if objective not in ("need", "population"):
        raise InvalidInputError(
            f"`objective` must be 'need' or 'population', not {objective!r}", field="objective"
        )
    covered = np.zeros(len(demand), dtype=bool)
    if len(existing):
        now = build_cost_table(
            demand.lat,
            demand.lon,
            existing.lat,
            existing.lon,
            mode=mode,
            max_minutes=minutes,
            travel=travel,
        )
        covered[now.i] = True
    table = build_cost_table(
        demand.lat,
        demand.lon,
        candidates.lat,
        candidates.lon,
        mode=mode,
        max_minutes=minutes,
        travel=travel,
        progress=progress,
    )
    N = coverage_matrix(table.i, table.j, len(demand), len(candidates))
    a_i = demand.weight if objective == "need" else demand.population
    picks = greedy_max_cover(N, a_i, k, covered)
    rows = []
    now_covered = covered.copy()
    for rank, (site, _gain) in enumerate(picks, start=1):
        units = N.indices[N.indptr[site] : N.indptr[site + 1]]
        new = units[~now_covered[units]]
        now_covered[new] = True
        rows.append(
            {
                "rank": rank,
                "id": candidates.ids[site],
                "name": candidates.names[site],
                "lat": float(candidates.lat[site]),
                "lon": float(candidates.lon[site]),
                "new_population": float(demand.population[new].sum()),
                "new_need": float(demand.weight[new].sum()),
                "covered_population": float(demand.population[now_covered].sum()),
            }
        )
    columns = [
        "rank",
        "id",
        "name",
        "lat",
        "lon",
        "new_population",
        "new_need",
        "covered_population",
    ]
    return SiteSuggestion(
        pd.DataFrame(rows, columns=columns),
        float(demand.population.sum()),
        float(demand.population[covered].sum()),
        float(demand.population[now_covered].sum()),
    )


# --- candidate sites ----------------------------------------------------------------------


def candidates_from_cells(demand: Demand) -> Supply:
    """Every demand unit's centre as a candidate site."""
    return Supply.from_points(demand.lat, demand.lon, ids=demand.ids, names=demand.ids)


def candidates_from_venues(assets: Sequence[Asset], categories: Sequence[str]) -> Supply:
    """Published venues that offer none of ``categories`` (nor a narrower term): hosts to ask."""
    taxonomy = default_taxonomy()
    wanted = {t for c in categories for t in taxonomy.descendants(c, include_self=True)}
    venues = [
        a
        for a in assets
        if a.kind == "venue" and a.status == "published" and not wanted & set(a.categories)
    ]
    return Supply.from_assets(venues)


def read_candidates(path: str | Path) -> Supply:
    """Candidate sites from a CSV (``lat``, ``lon``, optional ``id``, ``name``) or a geo file.

    Geo files (GeoJSON, GeoPackage, ...) may hold points or polygons (their centroids).
    """
    import geopandas as gpd
    import shapely

    file = Path(path)
    if not file.exists():
        raise InvalidInputError(f"candidate file {str(file)!r} does not exist", field="candidates")
    if file.suffix.lower() in (".csv", ".txt"):
        table = read_csv(file, "candidates")
        cols = {str(c).lower(): c for c in table.columns}
        if "lat" not in cols or "lon" not in cols:
            raise InvalidInputError(
                "a candidate CSV needs `lat` and `lon` columns", field="candidates"
            )
        lat, lon = check_coordinates(
            table[cols["lat"]], table[cols["lon"]], field="candidates", first_row=CSV_FIRST_ROW
        )
    else:
        refuse_linked_crs(Path(file), "candidates")
        table = gpd.read_file(file, engine="pyogrio")
        if table.crs is not None and table.crs.to_epsg() != 4326:
            table = table.to_crs("EPSG:4326")
        cols = {str(c).lower(): c for c in table.columns}
        centre = shapely.centroid(np.asarray(table.geometry.values, dtype=object))
        lat, lon = check_coordinates(
            shapely.get_y(centre), shapely.get_x(centre), field="candidates"
        )
    ids = table[cols["id"]].astype(str).tolist() if "id" in cols else None
    names = table[cols["name"]].astype(str).tolist() if "name" in cols else ids
    return Supply.from_points(lat, lon, ids=ids, names=names)
