"""Coverage benchmark: our sparse E2SFCA against PySAL ``access``, then a region-sized run.

1. E2SFCA for 10,000 demand points x 2,000 assets, 30-minute threshold, straight-line
   cost, same inputs for both: ours (neighbour search + cost table + E2SFCA, end to end)
   against ``access.Access.enhanced_two_stage_fca`` given our cost table (its time leaves
   out building that table, which favours it). Numbers must agree to 1e-9.
2. 200,000 H3 cells (resolution 8, about 147,000 km^2) x 20,000 assets, 30 minutes: our
   full run (cost table, all five measures, gaps) with wall time and peak memory
   (tracemalloc, and the process's maximum resident set size).

Data come from the national generator of DESIGN section 11: assets in ~300 Zipf towns;
demand points drawn the same way (people live where the towns are); cells cover a
hexagon around the densest town. The mode defaults to car (30 minutes reaches ~10.5 km,
so each demand point sees many assets); walking is lighter.

Run: ``python -m benchmarks.bench_coverage [--mode car] [--minutes 30]``.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from geo_assets.coverage import measures as m
from geo_assets.coverage.analysis import CoverageParams, analyse
from geo_assets.coverage.costs import Supply, build_cost_table
from geo_assets.coverage.demand import Demand
from geo_assets.synthetic import NATIONAL_SPREAD_M, densest_town, national_assets, national_towns

M_PER_DEG_LAT = 111_320.0
GIB = 1024**3


def asset_points(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) of the first ``n`` national benchmark assets."""
    pts = np.array([a.point for a in national_assets(n)])
    return pts[:, 0], pts[:, 1]


def population_points(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` demand points spread like the assets (Zipf towns, ~4 km Gaussian) and a population."""
    towns = national_towns()
    weight = np.array([t.weight for t in towns])
    rng = np.random.default_rng([seed, 2])
    pick = rng.choice(len(towns), size=n, p=weight / weight.sum())
    lat0 = np.array([towns[k].lat for k in pick])
    lon0 = np.array([towns[k].lon for k in pick])
    lat = lat0 + rng.normal(0, NATIONAL_SPREAD_M, n) / M_PER_DEG_LAT
    lon = lon0 + rng.normal(0, NATIONAL_SPREAD_M, n) / (M_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return lat, lon, rng.integers(100, 3000, n).astype(float)


def region_cells(n: int) -> Demand:
    """``n`` resolution-8 H3 cells around the densest town, with a made-up population."""
    import h3

    town = densest_town()
    k = math.ceil((-3 + math.sqrt(9 - 12 * (1 - n))) / 6)  # a disk of radius k holds >= n
    cells = sorted(h3.grid_disk(h3.latlng_to_cell(town.lat, town.lon, 8), k))[:n]
    population = np.random.default_rng(5).integers(0, 2000, len(cells)).astype(float)
    return Demand.from_cells(cells, population)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time (seconds) of ``repeat`` runs, and the last result."""
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def versus_access(mode: str, minutes: float, n_demand: int, n_assets: int) -> None:
    from access import Access, weights

    d_lat, d_lon, pop = population_points(n_demand)
    s_lat, s_lon = asset_points(n_assets)
    S_j = np.ones(n_assets)

    def ours() -> tuple[Any, np.ndarray]:
        table = build_cost_table(d_lat, d_lon, s_lat, s_lon, mode=mode, max_minutes=minutes)
        return table, m.enhanced_two_step_fca(table.i, table.j, table.minutes, pop, S_j, minutes)

    ours_s, (table, A_ours) = timed(ours, repeat=3)
    formula_s, _ = timed(
        lambda: m.enhanced_two_step_fca(table.i, table.j, table.minutes, pop, S_j, minutes), 3
    )
    d_ids = np.array([f"d{k}" for k in range(n_demand)], dtype=object)
    s_ids = np.array([f"s{k}" for k in range(n_assets)], dtype=object)
    cost_df = table.to_frame(d_ids, s_ids)
    b = m.step_breaks(minutes)

    def theirs() -> pd.DataFrame:
        model = Access(
            demand_df=pd.DataFrame({"geoid": d_ids, "pop": pop}),
            demand_index="geoid",
            demand_value="pop",
            supply_df=pd.DataFrame({"geoid": s_ids, "cap": S_j}),
            supply_index="geoid",
            supply_value="cap",
            cost_df=cost_df,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )
        fn = weights.step_fn({b[0]: 1.00, b[1]: 0.68, b[2]: 0.22})
        return model.enhanced_two_stage_fca(name="e", max_cost=minutes, weight_fn=fn)

    access_s, frame = timed(theirs)
    A_theirs = frame["e_cap"].reindex(d_ids).fillna(0.0).to_numpy()
    diff = float(np.max(np.abs(A_ours - A_theirs)))
    print(f"E2SFCA {n_demand:,} demand points x {n_assets:,} assets, {mode} {minutes:g} min:")
    print(f"  pairs within reach        {len(table):>12,}")
    print(f"  ours, end to end          {ours_s:>12.3f} s  (best of 3)")
    print(f"  ours, formula only        {formula_s:>12.4f} s")
    print(f"  access (given our table)  {access_s:>12.3f} s")
    print(f"  speed-up                  {access_s / ours_s:>12.1f} x  (target >= 10x)")
    print(f"  max |difference|          {diff:>12.2e}  (must be <= 1e-9)")


def region_run(mode: str, minutes: float, n_cells: int, n_assets: int) -> None:
    t0 = time.perf_counter()
    cells = region_cells(n_cells)
    s_lat, s_lon = asset_points(n_assets)
    supply = Supply.from_points(s_lat, s_lon)
    setup_s = time.perf_counter() - t0
    params = CoverageParams(mode=mode, minutes=minutes, measure="e2sfca")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    wall_s, result = timed(lambda: analyse(cells, supply, params))
    tracemalloc.start()
    traced_s, _ = timed(lambda: analyse(cells, supply, params))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"Full run, {len(cells):,} H3 cells x {len(supply):,} assets, {mode} {minutes:g} min:")
    print(f"  (setup: cells and assets generated in {setup_s:.1f} s, not timed below)")
    print(f"  pairs within reach        {result.pairs:>12,}")
    print(f"  wall time                 {wall_s:>12.2f} s  (target <= 60 s)")
    print(f"  wall time under tracemalloc {traced_s:>10.2f} s")
    print(f"  peak traced memory        {peak / GIB:>12.3f} GiB  (target <= 2 GiB)")
    print(f"  max RSS before the run    {rss_before / GIB:>12.3f} GiB")
    print(f"  max RSS of the process    {rss / GIB:>12.3f} GiB  (imports and data included)")
    print(f"  population within reach   {result.summary['pct_population_within']:>12.1f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="car")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--demand", type=int, default=10_000)
    parser.add_argument("--assets", type=int, default=2_000)
    parser.add_argument("--cells", type=int, default=200_000)
    parser.add_argument("--region-assets", type=int, default=20_000)
    parser.add_argument("--skip-access", action="store_true")
    parser.add_argument("--skip-region", action="store_true")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}")
    if not args.skip_access:
        versus_access(args.mode, args.minutes, args.demand, args.assets)
    if not args.skip_region:
        region_run(args.mode, args.minutes, args.cells, args.region_assets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
