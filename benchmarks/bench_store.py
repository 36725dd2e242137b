"""Store benchmark (issue 2): bulk load and 1 km `nearby` on the national data, both stores.

Prints bulk-load rows/s per store, then p50/p95 of `Store.nearby` at 200 origins in
random towns and at the densest town's centre, next to the same query written as
bare SQL in the same run, taking turns at going first (ratio = store p50 / bare p50).

Beside them, for reading the ratio, the bare query followed by turning each document
it returns into an ``Asset``, as the store must (no cache): where few listings are near,
that turning is most of what the store adds to the bare query.

    .venv/bin/python -m benchmarks.bench_store [--assets 100000] [--origins 200]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg

from benchmarks.common import (
    machine_speed,
    origin_sets,
    percentiles,
    sqlite_circle,
    throwaway_postgis,
    timed_in_turn,
)
from geo_assets import synthetic
from geo_assets.model import Asset
from geo_assets.store import Store, open_store
from geo_assets.store.documents import decode

RADIUS_M = 1_000.0

BARE_POSTGIS = """
SELECT id, doc::text, ST_Distance(geog, p.g) AS d
FROM assets, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g) AS p
WHERE ST_DWithin(geog, p.g, %(r)s)
ORDER BY d, id
"""

# SQLite has no geodesic function: the bare query is the R*Tree box plus an
# equirectangular distance, which is what a hand-written query would do.
BARE_SQLITE = """
SELECT a.id, a.doc,
       ((a.lat - :lat) * (a.lat - :lat) + (a.lon - :lon) * (a.lon - :lon) * :k) AS d2
FROM asset_rtree r JOIN assets a ON a.rid = r.rid
WHERE r.min_lon <= :east AND r.max_lon >= :west AND r.min_lat <= :north AND r.max_lat >= :south
  AND d2 <= :r2
ORDER BY d2, a.id
"""


def load(store: Store, n: int) -> float:
    """Bulk-load ``n`` national assets; returns rows per second (generation excluded)."""
    assets = list(synthetic.national_assets(n))
    start = time.perf_counter()
    report = store.bulk_upsert(assets)
    elapsed = time.perf_counter() - start
    assert report.inserted == n, report
    return n / elapsed


def raw_copy_rate(url: str) -> float:
    """Rows/s of a bare COPY of the loaded rows into an identical table (same indexes).

    The ceiling for any loader on this machine: no Python, no validation, no merge.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE assets_raw (LIKE assets INCLUDING ALL)")
        buf = bytearray()
        with conn.cursor().copy("COPY assets TO STDOUT") as out:
            for block in out:
                buf += block
        n = conn.execute("SELECT count(*) FROM assets").fetchone()[0]
        start = time.perf_counter()
        with conn.transaction(), conn.cursor().copy("COPY assets_raw FROM STDIN") as copy:
            copy.write(bytes(buf))
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE assets_raw")
    return n / elapsed


def bench_nearby(store: Store, bare, origins: list[tuple[float, float]]) -> dict[str, float]:
    def bare_then_models(lat: float, lon: float) -> list[Asset]:
        return [decode(Asset, row[1]) for row in bare(lat, lon)]

    ours, base, modelled = [], [], []
    for lat, lon in origins:  # warm caches once per origin set
        store.nearby(lat, lon, RADIUS_M)
        bare(lat, lon)
        break
    rows = 0
    for turn, (lat, lon) in enumerate(origins):
        mine, theirs, theirs_modelled = timed_in_turn(
            [
                lambda a=lat, b=lon: store.nearby(a, b, RADIUS_M),
                lambda a=lat, b=lon: bare(a, b),
                lambda a=lat, b=lon: bare_then_models(a, b),
            ],
            turn,
        )
        ours.append(mine)
        base.append(theirs)
        modelled.append(theirs_modelled)
        rows += len(store.nearby(lat, lon, RADIUS_M))
    p50, p95 = percentiles(ours)
    b50, b95 = percentiles(base)
    m50, _ = percentiles(modelled)
    return {
        "p50": p50,
        "p95": p95,
        "bare_p50": b50,
        "bare_p95": b95,
        "ratio": p50 / b50,
        "modelled_p50": m50,
        "modelled_ratio": p50 / m50,
        "rows": rows / len(origins),
    }


def postgis_bare(url: str):
    conn = psycopg.connect(url, autocommit=True)

    def run(lat: float, lon: float) -> list:
        return conn.execute(BARE_POSTGIS, {"lat": lat, "lon": lon, "r": RADIUS_M}).fetchall()

    return run


def sqlite_bare(path: Path):
    conn = sqlite3.connect(path)

    def run(lat: float, lon: float) -> list:
        return conn.execute(BARE_SQLITE, sqlite_circle(lat, lon, RADIUS_M)).fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--origins", type=int, default=200)
    args = parser.parse_args()
    origins = origin_sets(args.origins)
    results: dict[str, dict] = {}

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        store = open_store(f"sqlite:///{path}")
        store.upgrade()
        results["sqlite"] = {"load": load(store, args.assets)}
        bare = sqlite_bare(path)
        for label, pts in origins.items():
            results["sqlite"][label] = bench_nearby(store, bare, pts)
        store.close()

    with throwaway_postgis() as url:
        store = open_store(url, min_size=1, max_size=2)
        store.upgrade()
        results["postgis"] = {"load": load(store, args.assets), "raw_copy": raw_copy_rate(url)}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE assets")
        bare = postgis_bare(url)
        for label, pts in origins.items():
            results["postgis"][label] = bench_nearby(store, bare, pts)
        store.close()

    print(
        f"\nStore benchmark: {args.assets:,} national assets, nearby radius {RADIUS_M:.0f} m, "
        f"{args.origins} origins per set"
    )
    for name, res in results.items():
        raw = (
            f" (bare COPY into the same table: {res['raw_copy']:,.0f} rows/s)"
            if "raw_copy" in res
            else ""
        )
        print(f"\n{name}: bulk load {res['load']:,.0f} rows/s{raw}")
        print(
            f"  {'origins':<16}{'rows':>7}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'bare p50':>10}{'bare p95':>10}{'ratio p50':>11}"
            f"{'bare+models p50':>17}{'ratio to it':>13}"
        )
        for label in origins:
            r = res[label]
            print(
                f"  {label:<16}{r['rows']:>7.0f}{r['p50']:>9.2f}{r['p95']:>9.2f}"
                f"{r['bare_p50']:>10.2f}{r['bare_p95']:>10.2f}{r['ratio']:>11.2f}"
                f"{r['modelled_p50']:>17.2f}{r['modelled_ratio']:>13.2f}"
            )
    print("\nTargets: PostGIS load >= 20,000 rows/s; nearby p95 <= 10 ms; ratio <= 1.5")
    print(
        "bare+models: the bare query, then an Asset from each document it returns (no cache);"
        " not a target, a reading of the ratio"
    )
    print(machine_speed())


if __name__ == "__main__":
    main()
