"""Refit the walk-or-radius plan costs (``PlanCosts`` in geo_assets.store.postgis_sql).

The PostGIS store answers a limited category query (the matcher's candidate pools) with
one of two plans, chosen by ``walk_pays`` from expected work (``plan_work``) priced by
``PlanCosts``. This script measures both plans on the national data of DESIGN section 11
for a spread of queries (quiet towns and the densest centre, several radii; single
categories from rare to common at two pool sizes, and the pools the matcher itself asks
for: the categories of 2-3 interests and their parents), with EXPLAIN ANALYZE (execution
only, best of three), and fits the model the choice assumes:

    walk ms   = a0 + a  * listings walked
    radius ms = b0 + b1 * category index entries + b2 * listings kept in reach

so ``PlanCosts(index_entry=b1 / a, in_reach=b2 / a)``. It then scores the choice: how
often the current constants, the regression's and the best on a grid for these very
queries pick the faster plan (within 10 %), and the milliseconds each loses against
always picking the faster one.

    .venv/bin/python -m benchmarks.fit_plan_costs [--assets 100000 1000000] [--origins 16]
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
from scipy.optimize import nnls

from benchmarks.bench_match import RESULTS, make_profiles
from benchmarks.common import load_national, origin_sets, throwaway_postgis
from geo_assets.interests import default_resolver
from geo_assets.matching import candidate_pools, resolve_interests
from geo_assets.store.base import AssetFilters, NearQuery
from geo_assets.store.postgis import listings_in_box
from geo_assets.store.postgis_sql import (
    CATEGORY_SHARES,
    PLAN_COSTS,
    CategoryShares,
    PlanCosts,
    PlanWork,
    category_share,
    category_shares,
    nearby_sql,
    plan_work,
)

RADII_M = (1_500.0, 4_000.0, 8_000.0)
LIMITS = (40, 120)
CATEGORIES = 7  # spread from the rarest to the most common category ANALYZE counted
PEOPLE = 6  # interest sets whose matcher pools are measured too
NEAR_ENOUGH = 1.10  # a choice within 10 % of the faster plan counts as right
_EXECUTION = re.compile(r"Execution Time: ([0-9.]+) ms")


@dataclass(frozen=True)
class Case:
    """One limited category query with the work each plan was expected to do and took."""

    work: PlanWork
    walk_ms: float
    radius_ms: float
    where: str = ""  # "quiet town" or "densest centre"
    pool: bool = False  # one of the matcher's pools (several categories)


@dataclass(frozen=True)
class Fit:
    walk: tuple[float, float]  # a0 (ms), a (ms per listing walked)
    radius: tuple[float, float, float]  # b0 (ms), b1 (per index entry), b2 (per kept listing)

    @property
    def costs(self) -> PlanCosts:
        a = self.walk[1]
        return PlanCosts(index_entry=self.radius[1] / a, in_reach=self.radius[2] / a)


@dataclass(frozen=True)
class Choice:
    right: int  # cases where the chosen plan was the faster one (within NEAR_ENOUGH)
    chosen_ms: float
    lost_ms: float  # against always running the faster plan


def fit(cases: Sequence[Case]) -> Fit:
    """Least squares for the walk; non-negative least squares for the radius plan (a cost
    per index entry or kept listing below zero would mean nothing)."""
    ones = np.ones(len(cases))
    walked = np.array([c.work.walk for c in cases])
    a0, a = np.linalg.lstsq(
        np.column_stack([ones, walked]), np.array([c.walk_ms for c in cases]), rcond=None
    )[0]
    terms = np.column_stack(
        [ones, [c.work.index_entries for c in cases], [c.work.kept_in_reach for c in cases]]
    )
    (b0, b1, b2), _ = nnls(terms, np.array([c.radius_ms for c in cases]))
    return Fit(walk=(float(a0), float(a)), radius=(float(b0), float(b1), float(b2)))


def tuned(case_sets: Sequence[Sequence[Case]]) -> PlanCosts:
    """The constants (on a log grid) whose choices cost least on these very cases.

    The regression explains the times; this asks only which plan each query should
    get, so it weighs the queries where the choice matters. Each set (one table size)
    counts by its total time over the faster plan's, so a small table's queries are not
    drowned by a large one's. Being fitted to the cases it scores, its figure flatters
    it: refit on other origins before adopting it.
    """
    grid = [
        PlanCosts(index_entry=float(index_entry), in_reach=float(in_reach))
        for index_entry in (0.0, *np.geomspace(1e-4, 1.0, 41))
        for in_reach in np.geomspace(0.05, 50.0, 61)
    ]
    fastest = [sum(min(c.walk_ms, c.radius_ms) for c in cases) or 1.0 for cases in case_sets]

    def relative(costs: PlanCosts) -> float:
        return sum(
            choice(cases, lambda c: costs.prefers_walk(c.work)).chosen_ms / best
            for cases, best in zip(case_sets, fastest, strict=True)
        )

    # min() keeps the first of equal totals: the smallest constants that do as well.
    return min(grid, key=relative)


def choice(cases: Sequence[Case], pick_walk) -> Choice:
    """How a rule (``pick_walk(case) -> bool``) does against the faster plan of each case."""
    right, chosen, best = 0, 0.0, 0.0
    for case in cases:
        took = case.walk_ms if pick_walk(case) else case.radius_ms
        fastest = min(case.walk_ms, case.radius_ms)
        right += took <= fastest * NEAR_ENOUGH
        chosen += took
        best += fastest
    return Choice(right=right, chosen_ms=chosen, lost_ms=chosen - best)


def execution_ms(conn: psycopg.Connection, query: str, params: list, runs: int = 3) -> float:
    """Best of ``runs`` server execution times (planning and transfer left out)."""
    times = []
    for _ in range(runs):
        plan = conn.execute("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY) " + query, params).fetchall()
        found = [m for (line,) in plan if (m := _EXECUTION.search(line))]
        times.append(float(found[-1].group(1)))
    return min(times)


def spread_categories(stats: CategoryShares, n: int) -> list[str]:
    """``n`` categories evenly spaced in log share, rarest to most common."""
    ranked = sorted((share, cat) for cat, share in stats.share.items() if share > 0)
    logs = np.log([share for share, _ in ranked])
    targets = np.linspace(logs[0], logs[-1], n)
    picks = {ranked[int(np.abs(logs - t).argmin())][1] for t in targets}
    return sorted(picks, key=lambda c: stats.share[c])


def matcher_pools(people: int, seed: int) -> list[tuple[list[str], int]]:
    """(categories, size) of the category pools the matcher asks for, for the interests of
    ``people`` of the match benchmark's profiles."""
    resolver = default_resolver()
    pools = []
    for person in make_profiles(people, [(0.0, 0.0)], seed):  # only the interests are read
        interests = resolve_interests(person, resolver)
        for categories, size in candidate_pools(interests, resolver, RESULTS):
            if categories:
                pools.append((categories, size))
    return pools


def measure(url: str, n_origins: int, seed: int = 7) -> tuple[list[Case], list[tuple[str, float]]]:
    """Both plans' execution times for every query of the spread."""
    sets = origin_sets(n_origins, seed=seed)
    origins = [("quiet town", *o) for o in sets["random towns"]]
    origins += [("densest centre", *o) for o in sets["densest centre"][: max(2, n_origins // 3)]]
    cases: list[Case] = []
    with psycopg.connect(url, autocommit=True) as conn:
        stats = category_shares(conn.execute(CATEGORY_SHARES).fetchone())
        categories = spread_categories(stats, CATEGORIES)
        queries = [([c], limit, False) for c in categories for limit in LIMITS]
        queries += [(cats, size, True) for cats, size in matcher_pools(PEOPLE, seed)]
        for where, lat, lon in origins:
            for radius in RADII_M:
                estimate = listings_in_box(
                    conn, NearQuery(lat=lat, lon=lon, radius_m=radius), stats.listings
                )
                if estimate is None:
                    continue
                for cats, limit, pool in queries:
                    filters = AssetFilters(statuses=["published"], categories=cats)
                    share = category_share(filters, stats)
                    times = [
                        execution_ms(
                            conn, *nearby_sql(lat, lon, radius, filters, limit=limit, walk=walk)
                        )
                        for walk in (True, False)
                    ]
                    work = plan_work(limit, share, stats.listings, estimate)
                    cases.append(Case(work, *times, where=where, pool=pool))
    return cases, [(c, stats.share[c]) for c in categories]


def report(
    n: int,
    cases: Sequence[Case],
    shares: Sequence[tuple[str, float]],
    best: PlanCosts,
    tried: tuple[str, PlanCosts] | None,
) -> None:
    """The regression for one table size and how each rule chooses on its queries."""
    result = fit(cases)
    refit = result.costs
    print(f"\nPlan costs on {n:,} national assets: {len(cases)} limited category queries")
    print("  categories (share): " + ", ".join(f"{c} ({s:.4f})" for c, s in shares))
    a0, a = result.walk
    b0, b1, b2 = result.radius
    print(f"  walk:   {a0:.3f} ms + {a * 1000:.2f} us per listing walked")
    print(
        f"  radius: {b0:.3f} ms + {b1 * 1000:.3f} us per index entry"
        f" + {b2 * 1000:.2f} us per listing kept in reach"
    )
    print(f"\n  {'constants':<22}{'index_entry':>12}{'in_reach':>10}")
    print(
        f"  {'current (PLAN_COSTS)':<22}{PLAN_COSTS.index_entry:>12.4f}{PLAN_COSTS.in_reach:>10.2f}"
    )
    print(f"  {'regression':<22}{refit.index_entry:>12.4f}{refit.in_reach:>10.2f}")
    print(f"  {'best on these queries':<22}{best.index_entry:>12.4f}{best.in_reach:>10.2f}")
    rules = {
        "current constants": lambda c: PLAN_COSTS.prefers_walk(c.work),
        "regression constants": lambda c: refit.prefers_walk(c.work),
        "best on these queries": lambda c: best.prefers_walk(c.work),
        **({f"tried {tried[0]}": lambda c: tried[1].prefers_walk(c.work)} if tried else {}),
        "always walk": lambda c: True,
        "always radius": lambda c: False,
    }
    subsets = {
        "quiet town": [c for c in cases if c.where == "quiet town"],
        "densest centre": [c for c in cases if c.where == "densest centre"],
        "matcher pools": [c for c in cases if c.pool],
        "all queries": cases,
    }
    for label, subset in subsets.items():
        print(f"\n  {label:<22}{'picks faster':>14}{'total ms':>11}{'lost ms':>10}")
        for name, rule in rules.items():
            got = choice(subset, rule)
            share = f"{got.right}/{len(subset)}"
            print(f"  {name:<22}{share:>14}{got.chosen_ms:>11.1f}{got.lost_ms:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--assets",
        type=int,
        nargs="+",
        default=[100_000],
        help="table sizes; the best constants are chosen for all of them together",
    )
    parser.add_argument("--origins", type=int, default=16, help="quiet towns (densest: a third)")
    parser.add_argument(
        "--seed", type=int, default=7, help="which origins (refit on one, check on another)"
    )
    parser.add_argument(
        "--try",
        dest="candidate",
        metavar="INDEX_ENTRY,IN_REACH",
        help="also score these constants, e.g. fitted on another run",
    )
    args = parser.parse_args()
    tried = None
    if args.candidate:
        index_entry, in_reach = (float(v) for v in args.candidate.split(","))
        tried = (args.candidate, PlanCosts(index_entry=index_entry, in_reach=in_reach))
    runs = {}
    for n in args.assets:
        with throwaway_postgis("geo_assets_fit_costs") as url:
            load_national(url, n)
            runs[n] = measure(url, args.origins, args.seed)
    best = tuned([cases for cases, _ in runs.values()])
    for n, (cases, shares) in runs.items():
        report(n, cases, shares, best, tried)
    print(
        f"\n  (faster = within {NEAR_ENOUGH - 1:.0%} of the faster plan; execution only, best of 3;"
        f" best = least time over the faster plan's, each size counting alike)"
    )


if __name__ == "__main__":
    main()
